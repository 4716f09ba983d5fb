# Remove the oldest releases, keeping the KEEP newest (by number: releases/NNNN-*).
#
# Usage: prune.sh RELEASES_DIR KEEP
root=$1 keep=$2
for release in "$root"/[0-9][0-9][0-9][0-9]*-*; do
    [ -d "$release" ] || continue
    name=${release##*/}
    case ${name%%-*} in *[!0-9]*) continue ;; esac
    printf '%s\n' "$name"
done | sort -n | awk -v keep="$keep" '{ name[NR] = $0 } END { for (i = 1; i <= NR - keep; i++) print name[i] }' \
    | while IFS= read -r name; do rm -rf -- "${root:?}/$name"; done
