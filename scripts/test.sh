#!/usr/bin/env bash
# The whole check, as CI runs it (bash .ci/run -> here) and as a developer can run it:
# a venv with the project and its dev tools, the Docker engine and local test images
# (scripts/ci-setup.sh), then ruff, mypy, zizmor (the GitHub Actions workflows, offline) and
# pytest with branch coverage.
#
# Environment: VENV (default .venv), BOOTSTRAP_PYTHON (python that creates it, default python3),
# PYTEST_WORKERS (pytest-xdist workers, default 2; 0 runs the tests in one process).
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."
VENV="${VENV:-.venv}"
BOOTSTRAP_PYTHON="${BOOTSTRAP_PYTHON:-python3}"
# CI's environment is stripped down: make sure HOME (docker's cli-plugins dir) is set.
export HOME="${HOME:-$(getent passwd "$(id -u)" | cut -d: -f6)}"

step() { printf '\n==> %s\n' "$*"; }

step "python environment ($VENV)"
if ! "$VENV/bin/python" -c 'import sys; sys.exit(sys.version_info < (3, 11))' 2>/dev/null; then
    rm -rf "$VENV"
    "$BOOTSTRAP_PYTHON" -m venv "$VENV"
fi
"$VENV/bin/python" -m pip install -q --disable-pip-version-check -e '.[dev]' 2>&1 \
    | { grep -v "^WARNING: Location 'file:" || true; }  # a pip config's missing local mirrors
export PATH="$PWD/$VENV/bin:$PATH"

step "machine setup (Docker engine, compose, test images)"
PYTHON="$PWD/$VENV/bin/python" bash scripts/ci-setup.sh

step "ruff"
ruff check src tests

step "mypy"
mypy

step "zizmor (GitHub Actions workflows)"
# Offline: no GitHub API is reached. Fails on any finding and on a workflow it cannot parse.
zizmor --offline --strict-collection .github/workflows

step "pytest"
status=0
# Two workers, a test file each at a time (module fixtures stay in one process): the
# end-to-end tests spend most of their time waiting on containers. PYTEST_WORKERS=0: one process.
pytest -n "${PYTEST_WORKERS:-2}" --dist loadfile \
    --cov --cov-branch --cov-report=term --cov-report=xml </dev/null || status=$?
if [ "$status" -eq 5 ]; then
    echo "pytest collected no tests: that is a failure here" >&2
    exit 1
fi
exit "$status"
