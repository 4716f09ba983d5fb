# Remove the stack's configs and secrets that no service uses any more: each file's content
# had a name of its own, so every change left the old one behind. Those still in use (by a
# task that is still shutting down, say) are left for the next apply.
#
# Usage: prune.sh PROJECT   (the names to keep on stdin, one a line)
project=$1
keep=$(cat)
label="label=com.docker.stack.namespace=$project"
for kind in config secret; do
    docker "$kind" ls --filter "$label" --format '{{.Name}}' | while IFS= read -r name; do
        printf '%s\n' "$keep" | grep -qxF -- "$name" && continue
        docker "$kind" rm "$name" >/dev/null 2>&1 && echo "removed $kind $name"
    done
done
exit 0
