#!/usr/bin/env bash
# The main job on a fresh machine, in one command: a venv with beast-observatory, the
# embedded Beast observatory spec written into a fresh folder (`observatory init`), its
# files compiled for every environment (`observatory build`), and, where a Docker engine
# answers and the images are there or can be pulled, the local stack brought up
# (`observatory up`, then `observatory status`). Needs Python >= 3.11 with venv; no root.
#
# Without Docker, or when an image can be neither found nor pulled, it says so and stops
# after the build (exit 0): the generated files are the result.
#
# The first run writes a generated Grafana admin password into the local deploy folder's
# .env (0600, beside the deployed compose file) and shows it once; a later run keeps it.
#
# Usage: bash scripts/quickstart.sh [FOLDER]      (default: ./observatory-quickstart,
#        relative to the directory it is run from)
#
# FOLDER is created. If it already holds an observatory.yaml, that spec is reused (your
# edits are kept) and rebuilt; a folder with other files in it is refused.
# Environment: VENV (default .venv), BOOTSTRAP_PYTHON (python that creates it, default python3),
# SKIP_INSTALL=1 (use VENV as it is: it already holds beast-observatory), PULL_TIMEOUT
# (seconds for each image pull, default 300).
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
if [ "${SKIP_INSTALL:-}" = 1 ]; then
    [ -x "$VENV/bin/observatory" ] || die "SKIP_INSTALL=1 but $VENV/bin/observatory does not exist"
elif ! "$VENV/bin/python" -c 'import sys; sys.exit(sys.version_info < (3, 11))' 2>/dev/null; then
    command -v "$BOOTSTRAP_PYTHON" >/dev/null \
        || die "$BOOTSTRAP_PYTHON not found: install Python 3.11 or newer (or set BOOTSTRAP_PYTHON)"
    "$BOOTSTRAP_PYTHON" -c 'import sys; sys.exit(sys.version_info < (3, 11))' \
        || die "$BOOTSTRAP_PYTHON is $("$BOOTSTRAP_PYTHON" -V 2>&1): beast-observatory needs 3.11 or newer (set BOOTSTRAP_PYTHON)"
    rm -rf "$VENV"
    "$BOOTSTRAP_PYTHON" -m venv "$VENV" \
        || die "cannot create a venv (on Debian/Ubuntu: apt-get install python3-venv)"
fi
if [ "${SKIP_INSTALL:-}" != 1 ]; then
    "$VENV/bin/python" -m pip install -q --disable-pip-version-check -e . 2>&1 \
        | { grep -v "^WARNING: Location 'file:" || true; }  # a pip config's missing local mirrors
fi
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
step "built: the files went to $DEST_ABS/generated/"
find generated -type f | sort | sed "s|^|  $DEST_ABS/|"

next_steps() {
    cat <<NEXT

The spec is $DEST_ABS/observatory.yaml (dashboards/ and rules/ beside it).
Next steps:
  source $VENV_ABS/bin/activate && cd $DEST_ABS
  observatory config diff local remote     # how herbert and vonnegut differ
  $1
  bash scripts/test.sh                     # from $REPO: the whole test suite
NEXT
}

# Stop after the build, exit 0: the generated files are what this machine can have.
stop_after_build() {
    printf '\nThe local stack was not started: %s\n' "$1"
    next_steps "observatory up                           # run the local stack once Docker can (docs/LOCAL_SETUP.md)"
    exit 0
}

step "local stack (Docker)"
command -v docker >/dev/null \
    || stop_after_build "Docker is not installed here (no docker command on PATH)."
docker info >/dev/null 2>&1 \
    || stop_after_build "no Docker engine answers ('docker info' failed: start dockerd, or check that this user may use its socket)."
if ! docker compose version >/dev/null 2>&1 && ! command -v docker-compose >/dev/null; then
    stop_after_build "Docker has no Compose (neither 'docker compose' nor docker-compose is installed)."
fi

# Every image the local stack runs must be here or pullable; a machine without a
# registry gets a plain message instead of a failing 'up'.
mapfile -t IMAGES < <("$VENV_ABS/bin/python" - generated/local/docker-compose.yml <<'PY'
import sys
import yaml
services = yaml.safe_load(open(sys.argv[1], encoding="utf-8"))["services"]
print("\n".join(sorted({s["image"] for s in services.values() if s.get("image")})))
PY
)
PULL_ERR="$(mktemp)"
trap 'rm -f "$PULL_ERR"' EXIT
for image in "${IMAGES[@]}"; do
    docker image inspect "$image" >/dev/null 2>&1 && continue
    echo "pulling $image"
    if ! timeout "${PULL_TIMEOUT:-300}" docker pull -q "$image" >/dev/null 2>"$PULL_ERR"; then
        reason="$(tail -n 1 "$PULL_ERR")"
        stop_after_build "image $image is not on this machine and cannot be pulled (${reason:-no registry reachable?}). Pull or build it, or point the local environment at images you have: observatory config set environments.local.services.<service>.image IMAGE (docs/LOCAL_SETUP.md)."
    fi
done

# Grafana's admin password: generated once into the local deploy folder's .env (0600).
# One exported in this shell wins over the .env (compose reads the environment first).
listed="$("$OBSERVATORY" secrets list --environment local 2>/dev/null || true)"  # 1: one is missing
if [ -n "${GRAFANA_ADMIN_PASSWORD:-}" ]; then
    echo "GRAFANA_ADMIN_PASSWORD is set in this shell: Grafana's admin password is that one"
elif grep -Eq '^GRAFANA_ADMIN_PASSWORD +MISSING$' <<<"$listed"; then
    password="$("$VENV_ABS/bin/python" -c 'import secrets; print(secrets.token_urlsafe(18))')"
    printf '%s\n' "$password" | "$OBSERVATORY" secrets set GRAFANA_ADMIN_PASSWORD --environment local
    cat <<SHOWN

  Grafana admin password (shown this once; it is kept in the .env above):
      $password

SHOWN
fi

step "observatory up"
"$OBSERVATORY" up --environment local
step "observatory status"
"$OBSERVATORY" status --environment local
next_steps "observatory down                         # stop the local stack (the data volumes stay)"
