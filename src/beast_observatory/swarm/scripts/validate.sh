# Let the Docker client judge a stack file before anything changes: its schema, the values
# docker stack deploy would interpolate, the files its configs and secrets are made of.
# Clients older than `docker stack config` (Docker 20.10) skip this check.
#
# Usage: validate.sh STACK_FILE
if docker stack config --help >/dev/null 2>&1; then
    exec docker stack config -c "$1" >/dev/null
fi
exit 0
