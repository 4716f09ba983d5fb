# The stack's secrets on the manager: each one's name (<project>_<key>_<sha12 of its value>),
# from the deploy directory's .env or from a file on the host. The values never leave the host.
#
# Usage: secrets.sh names DIR [KEY PREFIX VARIABLE KIND SOURCE]...
#        secrets.sh run DIR [KEY PREFIX VARIABLE KIND SOURCE]... -- COMMAND [ARG]...
#   KIND env: SOURCE is a variable of DIR/.env; KIND file: SOURCE is a file on the host.
# names: prints "name KEY NAME" or "missing KEY SOURCE" for each secret.
# run: exports every variable of DIR/.env (for the stack file's ${VAR} references), writes each
#   secret from .env to DIR/.secrets/KEY (mode 0600, what the stack file's secret is made
#   of), sets VARIABLE to its name, then runs COMMAND in DIR. A missing secret stops it.
set -eu
mode=$1 dir=$2
shift 2
cd -- "$dir"
if [ -f .env ]; then
    while IFS= read -r line || [ -n "$line" ]; do
        case $line in '' | '#'*) continue ;; esac
        line=${line#export }
        name=${line%%=*}
        value=${line#*=}
        case $name in '' | *[!A-Za-z0-9_]* | [0-9]*) continue ;; esac
        case $value in
            \'*\') value=${value#\'} value=${value%\'} ;;
            \"*\") value=${value#\"} value=${value%\"} ;;
        esac
        export "$name=$value"
    done <.env
fi
while [ $# -ge 5 ] && [ "$1" != "--" ]; do
    key=$1 prefix=$2 variable=$3 kind=$4 source=$5
    shift 5
    if [ "$kind" = env ]; then
        eval "value=\${$source:-}"
        if [ -z "$value" ]; then
            echo "missing $key $source"
            if [ "$mode" = run ]; then
                echo "$source is not set in $dir/.env (secret $key)" >&2
                exit 1
            fi
            continue
        fi
        sum=$(printf '%s' "$value" | sha256sum | cut -c1-12)
        if [ "$mode" = run ]; then
            (umask 077 && mkdir -p .secrets && printf '%s' "$value" >".secrets/$key")
        fi
    else
        if [ ! -r "$source" ]; then
            echo "missing $key $source"
            if [ "$mode" = run ]; then
                echo "$source cannot be read on this host (secret $key)" >&2
                exit 1
            fi
            continue
        fi
        sum=$(sha256sum <"$source" | cut -c1-12)
    fi
    if [ "$mode" = run ]; then
        export "$variable=$prefix$sum"
    else
        echo "name $key $prefix$sum"
    fi
done
if [ "$mode" = run ]; then
    [ "${1:-}" = "--" ] && shift
    exec "$@"
fi
