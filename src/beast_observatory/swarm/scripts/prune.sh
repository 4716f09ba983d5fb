# Remove the stack's configs and secrets that no service uses any more: each file's content
# had a name of its own, so every change left the old one behind. Those still in use (by a
# task that is still shutting down, say) are left for the next apply.
#
# Usage: prune.sh PROJECT [NAME_TO_KEEP]...
project=$1
shift
label="label=com.docker.stack.namespace=$project"
for kind in config secret; do
    docker "$kind" ls --filter "$label" --format '{{.Name}}' | while IFS= read -r name; do
        for keep in "$@"; do
            [ "$name" = "$keep" ] && continue 2
        done
        docker "$kind" rm "$name" >/dev/null 2>&1 && echo "removed $kind $name"
    done
done
exit 0
