# Which Docker engine and Docker Compose the host has: the engine's version, then the compose
# plugin's and the standalone docker-compose's, each answer followed by a line "@@rc EXIT".
# The standalone one is asked only without a plugin (compose v1, a Python program, takes half
# a second to say its version); its answer is then empty.
# Usage: detect-compose.sh
docker version --format '{{.Server.Version}}' 2>&1
echo "@@rc $?"
docker compose version --short 2>/dev/null
plugin=$?
echo "@@rc $plugin"
if [ "$plugin" -ne 0 ]; then
    docker-compose version --short 2>/dev/null
    echo "@@rc $?"
else
    echo "@@rc 0"
fi
