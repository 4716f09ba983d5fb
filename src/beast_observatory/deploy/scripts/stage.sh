# Stage a release beside the live files: releases/NNNN-SUFFIX, complete, or nothing at all.
#
# Usage: stage.sh LIVE_DIR STAGING SUFFIX   (a tar on stdin)
#
# The tar holds the files that differ from the live ones, the release's manifest.json and its
# files.list (every file of the release, one relative path a line). Files of the list that are
# not in the tar did not change: they are copied from LIVE_DIR. All of it goes into
# releases/STAGING (a name starting with ".staging-"), which is renamed to the next number;
# staging directories an interrupted apply left behind are removed first (this runs under the
# host lock, so nobody still writes them). Prints the release's name.
set -eu
live=$1 staging=$2 suffix=$3
root=$live/releases
mkdir -p -- "$root"
for old in "$root"/.staging-*; do
    if [ -e "$old" ] && [ "$old" != "$root/$staging" ]; then rm -rf -- "$old"; fi
done
dir=$root/$staging
mkdir -- "$dir"
umask 022  # the modes in the tar: 0600 for secret files, 0644 for the rest
tar -x -f - -C "$dir"
while IFS= read -r rel; do
    [ -e "$dir/$rel" ] && continue
    if [ ! -f "$live/$rel" ]; then
        echo "$rel: not in the live files, and not sent" >&2
        exit 1
    fi
    mkdir -p -- "$(dirname -- "$dir/$rel")"
    cp -p -- "$live/$rel" "$dir/$rel"
done <"$dir/files.list"
last=0
for release in "$root"/[0-9][0-9][0-9][0-9]*-*; do
    number=${release##*/}
    number=${number%%-*}
    case $number in *[!0-9]*) continue ;; esac
    number=$(printf '%s\n' "$number" | sed 's/^0*//')
    if [ "${number:-0}" -gt "$last" ]; then last=$number; fi
done
name=$(printf '%04d-%s' $((last + 1)) "$suffix")
mv -- "$dir" "$root/$name"
echo "$name"
