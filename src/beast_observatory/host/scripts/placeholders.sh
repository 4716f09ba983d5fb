# Run a compose command with a placeholder value for each secret variable the environment does
# not set: compose interpolates the whole file even for `down`, `kill` and `logs`, which never
# use them (only `up` needs the real values, from the project's .env).
# Usage: placeholders.sh COUNT NAME... COMMAND [ARG...]
n=$1
shift
while [ "$n" -gt 0 ]; do
    case $1 in
    '' | [0-9]* | *[!A-Za-z0-9_]*) echo "placeholders: not a variable name: $1" >&2; exit 2 ;;
    esac
    eval "export $1=\"\${$1:-unused}\""
    shift
    n=$((n - 1))
done
exec "$@"
