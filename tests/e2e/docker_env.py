"""Helpers for the end-to-end tests that run against a real Docker engine.

The engine, Compose v2 and the local test images are prepared by ``scripts/ci-setup.sh``
(``scripts/build-test-images.sh`` builds the images from Debian's packages, since no
container registry can be reached here). These helpers only look at what is there.

The engine's state outlives a test session: containers with a restart policy come back
when dockerd starts again and hold their ports. Every test therefore uses its own compose
project name starting with :data:`PROJECT_PREFIX`, free ports from :func:`free_port`, and
the suite calls :func:`cleanup_test_leftovers` before it starts.
"""

from __future__ import annotations

import functools
import http.client
import shutil
import socket
import subprocess
import time
import urllib.error
import urllib.parse
import urllib.request

PROJECT_PREFIX = "obstest"
"""Compose project names (and container names) of the test suite start with this."""

TEST_IMAGE_LABEL = "org.beast-observatory.test=1"
"""Label carried by every image that scripts/build-test-images.sh builds."""

TEST_IMAGES: dict[str, str] = {
    "prometheus": "observatory-test/prometheus:debian",
    "pushgateway": "observatory-test/pushgateway:debian",
    "alertmanager": "observatory-test/alertmanager:debian",
    "node_exporter": "observatory-test/node-exporter:debian",
    # NOT Grafana: no Grafana binary can be had here. A busybox httpd stand-in that answers
    # /api/health like Grafana and accepts Grafana's mounts and GF_* variables.
    "grafana": "observatory-test/grafana-standin:debian",
    "busybox": "observatory-test/busybox:debian",
}
"""Service name -> locally built image tag, for the spec's per-environment image overrides."""

GRAFANA_IS_STANDIN = True
"""The ``grafana`` image above is a stand-in: tests must not assert Grafana behaviour on it."""

_PROJECT_LABEL = "com.docker.compose.project"
_DOCKER_TIMEOUT = 60.0


def _run(args: list[str], timeout: float = _DOCKER_TIMEOUT) -> subprocess.CompletedProcess[str]:
    return subprocess.run(args, capture_output=True, text=True, timeout=timeout, check=False)


def docker_available() -> bool:
    """True when a ``docker`` client is on PATH and its daemon answers."""
    if shutil.which("docker") is None:
        return False
    try:
        return _run(["docker", "info"], timeout=20).returncode == 0
    except (OSError, subprocess.TimeoutExpired):
        return False


@functools.cache
def compose_command() -> list[str]:
    """The Compose command to use: ``docker compose`` (v2 plugin), else ``docker-compose``.

    Raises RuntimeError when neither works (run scripts/ci-setup.sh).
    """
    candidates: list[list[str]] = []
    if shutil.which("docker") is not None:
        candidates.append(["docker", "compose"])
    if shutil.which("docker-compose") is not None:
        candidates.append(["docker-compose"])
    for command in candidates:
        try:
            if _run([*command, "version"], timeout=30).returncode == 0:
                return command
        except (OSError, subprocess.TimeoutExpired):
            continue
    raise RuntimeError(
        "neither 'docker compose' nor 'docker-compose' works; run scripts/ci-setup.sh"
    )


def missing_test_images() -> list[str]:
    """Tags from :data:`TEST_IMAGES` that the engine does not have (build them first)."""
    return [
        image
        for image in TEST_IMAGES.values()
        if _run(["docker", "image", "inspect", image]).returncode != 0
    ]


def free_port() -> int:
    """A TCP port on 127.0.0.1 that is free right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


_LIST_COMMANDS: dict[str, tuple[list[str], str, str]] = {
    # kind: (list command, Go template of the reference to remove, of the name)
    "container": (["docker", "ps", "-a", "--no-trunc"], "{{.ID}}", "{{.Names}}"),
    "network": (["docker", "network", "ls", "--no-trunc"], "{{.ID}}", "{{.Name}}"),
    "volume": (["docker", "volume", "ls"], "{{.Name}}", "{{.Name}}"),
}


def _list_objects(kind: str) -> list[tuple[str, str, str]]:
    """(reference, name, compose project) of every object of a kind."""
    command, ref, name = _LIST_COMMANDS[kind]
    fmt = "\t".join([ref, name, '{{.Label "' + _PROJECT_LABEL + '"}}'])
    result = _run([*command, "--format", fmt])
    if result.returncode != 0:
        raise RuntimeError(f"{' '.join(command)} failed: {result.stderr.strip()}")
    rows: list[tuple[str, str, str]] = []
    for line in result.stdout.splitlines():
        parts = line.split("\t")
        if len(parts) == len(("ref", "name", "project")):
            rows.append((parts[0], parts[1], parts[2]))
    return rows


def cleanup_test_leftovers(prefix: str = PROJECT_PREFIX) -> list[str]:
    """Remove containers, networks and volumes left by earlier test runs.

    Matches objects whose compose project (label com.docker.compose.project) or whose own
    name starts with ``prefix``; nothing else is touched. Containers go first (``rm -f``
    also stops those with a restart policy, ``-v`` drops their anonymous volumes), then
    networks and volumes. Returns what was removed, as ``kind:name`` strings.
    """
    if not prefix:
        raise ValueError("an empty prefix would match everything")
    removed: list[str] = []
    for kind in ("container", "network", "volume"):
        ours = [
            (ref, name)
            for ref, name, project in _list_objects(kind)
            if project.startswith(prefix) or name.startswith(prefix)
        ]
        if not ours:
            continue
        remove = ["docker", kind, "rm"] + (["-f", "-v"] if kind == "container" else [])
        result = _run([*remove, *(ref for ref, _ in ours)])
        if result.returncode != 0:
            raise RuntimeError(f"removing test leftovers failed: {result.stderr.strip()}")
        removed += [f"{kind}:{name}" for _, name in ours]
    return removed


def wait_http(url: str, timeout: float = 60.0) -> bytes:
    """GET ``url`` until it answers 2xx; return the body.

    Raises TimeoutError naming the URL and the last failure when ``timeout`` seconds pass.
    """
    if urllib.parse.urlsplit(url).scheme not in {"http", "https"}:
        raise ValueError(f"not an http(s) URL: {url}")
    deadline = time.monotonic() + timeout
    last = "no attempt"
    while True:
        remaining = deadline - time.monotonic()
        try:
            with urllib.request.urlopen(url, timeout=max(1.0, min(5.0, remaining))) as response:  # noqa: S310 - scheme checked above
                body: bytes = response.read()
                return body
        except urllib.error.HTTPError as exc:
            last = f"HTTP {exc.code}"
        except (urllib.error.URLError, http.client.HTTPException, OSError) as exc:
            last = f"{type(exc).__name__}: {exc}"
        if time.monotonic() >= deadline:
            raise TimeoutError(f"{url} did not answer 2xx within {timeout:g}s (last: {last})")
        time.sleep(0.5)
