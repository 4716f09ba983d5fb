#!/usr/bin/env bash
# The main job on a fresh machine, in one command: a venv with beast-observatory, the
# embedded Beast observatory spec written into a fresh folder (`observatory init`), and
# its files compiled for every environment (`observatory build`). Needs Python >= 3.11
# with venv; no Docker, no root.
#
# Usage: bash scripts/quickstart.sh [FOLDER]      (default: ./observatory-quickstart,
#        relative to the directory it is run from)
#
# FOLDER is created. If it already holds an observatory.yaml, that spec is reused (your
# edits are kept) and rebuilt; a folder with other files in it is refused.
# Environment: VENV (default .venv), BOOTSTRAP_PYTHON (python that creates it, default python3).
set -euo pipefail

DEST="${1:-observatory-quickstart}"
case "$DEST" in /*) ;; *) DEST="$PWD/$DEST" ;; esac  # relative to where it was run
cd "$(dirname "${BASH_SOURCE[0]}")/.."
REPO="$PWD"
VENV="${VENV:-.venv}"
BOOTSTRAP_PYTHON="${BOOTSTRAP_PYTHON:-python3}"

step() { printf '\n==> %s\n' "$*"; }
die() { printf 'quickstart: error: %s\n' "$*" >&2; exit 1; }

step "python environment ($VENV)"
if ! "$VENV/bin/python" -c 'import sys; sys.exit(sys.version_info < (3, 11))' 2>/dev/null; then
    command -v "$BOOTSTRAP_PYTHON" >/dev/null \
        || die "$BOOTSTRAP_PYTHON not found: install Python 3.11 or newer (or set BOOTSTRAP_PYTHON)"
    "$BOOTSTRAP_PYTHON" -c 'import sys; sys.exit(sys.version_info < (3, 11))' \
        || die "$BOOTSTRAP_PYTHON is $("$BOOTSTRAP_PYTHON" -V 2>&1): beast-observatory needs 3.11 or newer (set BOOTSTRAP_PYTHON)"
    rm -rf "$VENV"
    "$BOOTSTRAP_PYTHON" -m venv "$VENV" \
        || die "cannot create a venv (on Debian/Ubuntu: apt-get install python3-venv)"
fi
"$VENV/bin/python" -m pip install -q --disable-pip-version-check -e . 2>&1 \
    | { grep -v "^WARNING: Location 'file:" || true; }  # a pip config's missing local mirrors
VENV_ABS="$(cd "$VENV" && pwd)"
OBSERVATORY="$VENV_ABS/bin/observatory"
"$OBSERVATORY" --version

step "spec ($DEST)"
if [ -f "$DEST/observatory.yaml" ]; then
    echo "reusing $DEST/observatory.yaml (remove $DEST for a fresh start)"
elif [ -e "$DEST" ] && [ -n "$(ls -A "$DEST" 2>/dev/null)" ]; then
    die "$DEST exists and is not an observatory folder (no observatory.yaml): choose another folder, e.g. bash scripts/quickstart.sh my-observatory"
else
    "$OBSERVATORY" init "$DEST"
    # Scratch output inside this checkout: keep it out of `git status`.
    case "$(cd "$DEST" && pwd)/" in
        "$REPO"/*) printf '# scratch output of scripts/quickstart.sh\n*\n' >"$DEST/.gitignore" ;;
    esac
fi

step "validate and build"
cd "$DEST"
"$OBSERVATORY" validate
"$OBSERVATORY" build

DEST_ABS="$PWD"
step "done: the files went to $DEST_ABS/generated/"
find generated -type f | sort | sed "s|^|  $DEST_ABS/|"
cat <<NEXT

The spec is $DEST_ABS/observatory.yaml (dashboards/ and rules/ beside it).
Next steps:
  source $VENV_ABS/bin/activate && cd $DEST_ABS
  observatory config diff local remote     # how herbert and vonnegut differ
  observatory up                           # run the local stack (needs Docker; see docs/LOCAL_SETUP.md)
  bash scripts/test.sh                     # from $REPO: the whole test suite
NEXT
