# Everything plan and apply need to know of a stack on a Swarm manager, in one round trip:
# the engine's swarm state, the nodes, the stack's services (docker service inspect), its
# configs and secrets, the names the secrets would have, the variables .env sets (names only)
# and the deploy directory's files (sha256 each; the content of the live ones, base64).
#
# Usage: probe.sh PROJECT DIR SECRETS_SCRIPT [KEY PREFIX VARIABLE KIND SOURCE]...
# Prints sections, each after a line "@@observatory-swarm@@ NAME".
project=$1 dir=$2 secrets=$3
shift 3
mark=@@observatory-swarm@@
label="label=com.docker.stack.namespace=$project"
echo "$mark swarm"
docker info --format '{{json .Swarm}}' 2>&1
echo "$mark nodes"
docker node ls --format '{{json .}}' 2>/dev/null
echo "$mark services"
ids=$(docker service ls -q --filter "$label" 2>/dev/null)
if [ -n "$ids" ]; then
    # shellcheck disable=SC2086 # one id a word
    docker service inspect $ids
    echo "$mark tasks"
    # shellcheck disable=SC2086
    docker service ps --no-trunc --filter desired-state=running --format '{{json .}}' $ids
fi
echo "$mark configs"
docker config ls --filter "$label" --format '{{.Name}}' 2>/dev/null
echo "$mark secrets"
docker secret ls --filter "$label" --format '{{.Name}}' 2>/dev/null
echo "$mark secret-names"
if [ -d "$dir" ]; then sh -c "$secrets" secrets names "$dir" "$@"; fi
echo "$mark env"
if [ -f "$dir/.env" ]; then
    sed -n 's/^\(export \)\{0,1\}\([A-Za-z_][A-Za-z0-9_]*\)=.\{1,\}$/\2/p' "$dir/.env"
fi
echo "$mark files"
cd -- "$dir" 2>/dev/null || exit 0
find . -type f ! -name .env ! -path './.secrets/*' ! -path './releases/.staging-*' | sort |
    while IFS= read -r file; do
        rel=${file#./}
        case $rel in
            releases/*/manifest.json) ;;
            releases/* | .observatory*) continue ;;
        esac
        sum=$(sha256sum <"$file" | cut -d' ' -f1)
        size=$(($(wc -c <"$file")))
        echo "$mark file $sum $size $rel"
        case $rel in releases/*) continue ;; esac
        if [ "$size" -le 262144 ]; then base64 <"$file"; fi
    done
exit 0
