# Runs on the host under nohup: survives the SSH connection. Files are copied to a temporary
# name beside their target and renamed over it; files the release drops are removed; the
# manifest goes last.
# Usage: sh switch.sh LIVE_DIR RELEASE_DIR
set -eu
live=$1; release=$2
cd "$release"
find . -type f ! -name manifest.json | sed 's|^\./||' | sort > "$live/.observatory-switch.list"
while IFS= read -r rel; do
  mkdir -p "$live/$(dirname "$rel")"
  tmp="$live/$(dirname "$rel")/.$(basename "$rel").switch-$$"
  cp -p "$release/$rel" "$tmp"
  mv -f "$tmp" "$live/$rel"
done < "$live/.observatory-switch.list"
if [ -f "$live/manifest.json" ]; then
  sed -n 's/^    "\(.*\)": "[0-9a-f]\{64\}",\{0,1\}$/\1/p' "$live/manifest.json" | while IFS= read -r rel; do
    [ -f "$release/$rel" ] || rm -f "$live/$rel"
  done
fi
cp -p "$release/manifest.json" "$live/.manifest.json.switch-$$"
mv -f "$live/.manifest.json.switch-$$" "$live/manifest.json"
rm -f "$live/.observatory-switch.list"
echo switched
