# Copy the files of the live release that did not change into a staging directory.
# Usage: sh stage.sh LIVE_DIR STAGE_DIR REL_PATH...
set -eu
live=$1; stage=$2; shift 2
mkdir -p "$stage"
for rel in "$@"; do
  if [ -f "$live/$rel" ]; then mkdir -p "$stage/$(dirname "$rel")"; cp -p "$live/$rel" "$stage/$rel"; fi
done
