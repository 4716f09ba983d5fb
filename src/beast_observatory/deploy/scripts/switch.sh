# Make the live files those of a release. Runs on the host under nohup (switch-detached.sh), so
# it completes even when the SSH connection dies. Each file of the release's files.list is
# copied to a temporary name beside its target and renamed over it; the files named as
# arguments (deployed before, not in this release) are removed; the manifest goes last.
# .observatory-switch.list in LIVE_DIR says a switch is under way (and what it installs).
#
# Usage: sh switch.sh LIVE_DIR RELEASE_DIR [REMOVE...]
set -eu
live=$1 release=$2
shift 2
list=$live/.observatory-switch.list
if [ -f "$release/files.list" ]; then
    cp -- "$release/files.list" "$list"
else  # a release staged before releases carried their list
    (cd "$release" && find . -type f ! -name manifest.json | sed 's|^\./||' | sort) >"$list"
fi
while IFS= read -r rel; do
    mkdir -p -- "$live/$(dirname -- "$rel")"
    tmp="$live/$(dirname -- "$rel")/.$(basename -- "$rel").switch-$$"
    cp -p -- "$release/$rel" "$tmp"
    mv -f -- "$tmp" "$live/$rel"
done <"$list"
for rel do
    if [ ! -f "$release/$rel" ]; then rm -f -- "${live:?}/$rel"; fi
done
cp -p -- "$release/manifest.json" "$live/.manifest.json.switch-$$"
mv -f -- "$live/.manifest.json.switch-$$" "$live/manifest.json"
rm -f -- "$list"
echo switched
