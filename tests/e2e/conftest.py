"""Fixtures for the end-to-end tests: a real Docker engine, real stacks, the real CLI.

The engine and the local test images are prepared by ``scripts/ci-setup.sh``; a machine
without them FAILS these tests (they are never skipped: CI runs them for real).

Every stack gets its own compose project ``obstest-e2e-<pid>-<random>`` (the pid of the
pytest process that made it), free ports on 127.0.0.1 and the locally built test images
through the spec's per-environment image overrides, and is torn down with
``down --volumes --yes`` whatever the test did. Before the session starts, leftovers of
earlier runs are removed: projects ``obstest-e2e-<pid>-*`` whose pytest process is gone.
Stacks of a suite running right now in another process, and stacks people run by hand
(``obstest-manual*``), are left alone.
"""

from __future__ import annotations

import os
import re
import secrets
import subprocess
import sys
import time
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
import yaml

from beast_observatory.plan.mounts import ANONYMOUS

from .docker_env import (
    PROJECT_PREFIX,
    TEST_IMAGES,
    cleanup_test_leftovers,
    compose_command,
    docker_available,
    free_port,
    missing_test_images,
)

E2E_PREFIX = "obstest-e2e-"
"""Compose projects of this suite; a distinct prefix from the hand-run ``obstest-manual*``."""

SETUP_HINT = "run scripts/ci-setup.sh (as root) to start dockerd and build the test images"
GRAFANA_PASSWORD = "e2e-not-a-secret"
_CLI_TIMEOUT = 240.0
_OWN_PROJECT = re.compile(rf"^{re.escape(E2E_PREFIX)}(\d+)-[0-9a-f]+")

# The spec's service keys (environments.<env>.services.<key>) and their compose names.
SPEC_KEYS = {"prometheus": "prometheus", "pushgateway": "pushgateway", "grafana": "grafana"}


def observatory_argv() -> list[str]:
    """The installed ``observatory`` script next to this python, else ``python -m``."""
    script = Path(sys.executable).with_name("observatory")
    return [str(script)] if script.exists() else [sys.executable, "-m", "beast_observatory"]


@dataclass(frozen=True)
class CliResult:
    args: tuple[str, ...]
    exit_code: int
    stdout: str
    stderr: str

    @property
    def output(self) -> str:
        return self.stdout + self.stderr

    def explain(self) -> str:
        return (
            f"observatory {' '.join(self.args)} -> exit {self.exit_code}\n"
            f"--- stdout\n{self.stdout}--- stderr\n{self.stderr}"
        )


@dataclass
class StackSpec:
    """A spec written by ``observatory init`` into its own directory, pointed at test images."""

    directory: Path
    project: str
    ports: dict[str, int]
    env: dict[str, str] = field(default_factory=dict)

    @property
    def spec_path(self) -> Path:
        return self.directory / "observatory.yaml"

    def url(self, service: str) -> str:
        return f"http://127.0.0.1:{self.ports[service]}"

    def cli(
        self, *args: str, env: Mapping[str, str] | None = None, timeout: float = _CLI_TIMEOUT
    ) -> CliResult:
        """Run the real CLI in the spec's directory, without a tty (stdin is /dev/null)."""
        done = subprocess.run(
            [*observatory_argv(), *args],
            cwd=self.directory,
            env={**self.env, **(env or {})},
            stdin=subprocess.DEVNULL,
            capture_output=True,
            text=True,
            timeout=timeout,
            check=False,
        )
        return CliResult(tuple(args), done.returncode, done.stdout, done.stderr)

    def containers(self) -> dict[str, str]:
        """Running and stopped containers of the project: service -> full container id."""
        fmt = '{{.ID}}\t{{.Label "com.docker.compose.service"}}'
        out = _docker("ps", "-a", "--no-trunc", "--filter", self._label(), "--format", fmt)
        return {svc: cid for cid, svc in (line.split("\t") for line in out.splitlines())}

    def volumes(self) -> list[str]:
        out = _docker("volume", "ls", "--filter", self._label(), "--format", "{{.Name}}")
        return sorted(out.split())

    def _label(self) -> str:
        return f"label=com.docker.compose.project={self.project}"


def _docker(*args: str) -> str:
    done = subprocess.run(
        ["docker", *args], capture_output=True, text=True, timeout=60, check=False
    )
    if done.returncode != 0:
        raise RuntimeError(f"docker {' '.join(args)} failed: {done.stderr.strip()}")
    return done.stdout


def deep_merge(base: dict[str, Any], override: Mapping[str, Any]) -> dict[str, Any]:
    merged = dict(base)
    for key, value in override.items():
        if isinstance(value, Mapping) and isinstance(merged.get(key), dict):
            merged[key] = deep_merge(merged[key], value)
        else:
            merged[key] = value
    return merged


def _pid_alive(pid: int) -> bool:
    return Path(f"/proc/{pid}").exists()


def _leftover_projects() -> set[str]:
    """Compose projects of this suite whose pytest process is gone."""
    fmt = '{{.Label "com.docker.compose.project"}}'
    projects: set[str] = set()
    for kind in (["ps", "-a"], ["network", "ls"], ["volume", "ls"]):
        projects.update(_docker(*kind, "--format", fmt).split())
    dead = set()
    for project in projects:
        match = _OWN_PROJECT.match(project)
        if match and int(match.group(1)) != os.getpid() and not _pid_alive(int(match.group(1))):
            dead.add(project)
    return dead


@pytest.fixture(scope="session", autouse=True)
def docker_engine() -> None:
    """A running engine, Compose and the test images, or a FAILURE saying how to get them."""
    if not docker_available():
        pytest.fail(f"no Docker engine answers `docker info`: {SETUP_HINT}", pytrace=False)
    try:
        compose_command()
    except RuntimeError as exc:
        pytest.fail(f"{exc}: {SETUP_HINT}", pytrace=False)
    missing = missing_test_images()
    if missing:
        pytest.fail(f"test images missing: {', '.join(missing)}: {SETUP_HINT}", pytrace=False)
    for project in sorted(_leftover_projects()):
        cleanup_test_leftovers(project)


# Containers of the tests: compose projects and names of this suite, the probe's own test.
_TEST_CONTAINER = re.compile(rf"^({re.escape(PROJECT_PREFIX)}|probe-split-test-)")


# What the engine says as it happens (its own log keeps only the last 256 events): containers
# created, with their name and compose project, and volumes mounted, with the container.
_EVENTS = (
    '{{.Type}}\t{{.Actor.ID}}\t{{index .Actor.Attributes "name"}}'
    '\t{{index .Actor.Attributes "com.docker.compose.project"}}'
    '\t{{index .Actor.Attributes "container"}}'
)


def _anonymous_volumes_of_tests(events: str) -> set[str]:
    """Anonymous volumes that the tests' own containers mounted, from the engine's events."""
    rows = [line.split("\t") for line in events.splitlines()]
    ours = {
        r[1]
        for r in rows
        if len(r) == 5 and r[0] == "container" and any(_TEST_CONTAINER.match(x) for x in r[2:4])
    }
    return {
        r[1]
        for r in rows
        if len(r) == 5 and r[0] == "volume" and r[4] in ours and ANONYMOUS.match(r[1])
    }


@pytest.fixture(scope="session", autouse=True)
def no_anonymous_volumes_left(
    docker_engine: None, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[None]:
    """Anonymous volumes (an image's VOLUME) that the tests' containers left behind when they
    were removed without -v, as `docker compose down` and `rm -f` do: deleted at the end.
    Only volumes the tests' own containers mounted, and only once nothing uses them."""
    log = tmp_path_factory.mktemp("engine-events") / "events.tsv"
    filters = ["type=container", "event=create", "type=volume", "event=mount"]
    with log.open("w") as out:
        watcher = subprocess.Popen(
            [
                "docker",
                "events",
                *(a for f in filters for a in ("--filter", f)),
                "--format",
                _EVENTS,
            ],
            stdout=out,
            stderr=subprocess.DEVNULL,
        )
    try:
        yield
    finally:
        time.sleep(0.5)  # the engine's last events
        watcher.terminate()
        watcher.wait(timeout=10)
    dangling = set(_docker("volume", "ls", "-q", "--filter", "dangling=true").split())
    for name in sorted(_anonymous_volumes_of_tests(log.read_text()) & dangling):
        subprocess.run(["docker", "volume", "rm", name], capture_output=True, check=False)


def _write_spec(directory: Path, overrides: Mapping[str, Any]) -> StackSpec:
    """``observatory init`` into ``directory``, then point the local environment at the
    test images on free ports, with short intervals so the tests run fast."""
    directory.mkdir(parents=True, exist_ok=True)
    project = f"{E2E_PREFIX}{os.getpid()}-{secrets.token_hex(3)}"
    ports = {service: free_port() for service in SPEC_KEYS}
    env = {k: v for k, v in os.environ.items() if not k.startswith("OBSERVATORY_")}
    env["GRAFANA_ADMIN_PASSWORD"] = GRAFANA_PASSWORD
    stack = StackSpec(directory, project, ports, env)
    init = stack.cli("init", ".")
    assert init.exit_code == 0, init.explain()

    spec = yaml.safe_load(stack.spec_path.read_text())
    spec["project"] = project
    local: dict[str, Any] = {}
    for service, key in SPEC_KEYS.items():
        local[key] = {
            "image": TEST_IMAGES[service],
            "port": ports[service],
            # Docker runs the first healthcheck one interval after the start: keep it short.
            "healthcheck": {"interval": "1s", "timeout": "3s", "start_period": "30s"},
        }
    local["prometheus"]["global"] = {"scrape_interval": "1s", "evaluation_interval": "1s"}
    environment = spec["environments"]["local"]
    environment["bind_address"] = "127.0.0.1"
    environment["services"] = deep_merge(
        deep_merge(environment.get("services") or {}, local), overrides
    )
    stack.spec_path.write_text(yaml.safe_dump(spec, sort_keys=False))
    return stack


def _tear_down(stack: StackSpec) -> None:
    result = stack.cli("down", "--volumes", "--yes")
    # `down` itself is tested; here it only must not leave anything behind. A stack that
    # never got deployed (missing docker, say) has nothing to take down.
    if result.exit_code != 0 or stack.containers() or stack.volumes():
        cleanup_test_leftovers(stack.project)


StackFactory = Callable[..., StackSpec]


def _factory(tmp: pytest.TempPathFactory) -> Iterator[StackFactory]:
    made: list[StackSpec] = []

    def make(services: Mapping[str, Any] | None = None, name: str = "stack") -> StackSpec:
        """A spec in its own directory; ``services`` are extra per-environment overrides
        (keys of environments.local.services), deep-merged over the test settings."""
        stack = _write_spec(tmp.mktemp(name), services or {})
        made.append(stack)
        return stack

    try:
        yield make
    finally:
        for stack in made:
            _tear_down(stack)


@pytest.fixture
def make_stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[StackFactory]:
    """Factory of specs for one test; each stack is taken down with its volumes after it."""
    yield from _factory(tmp_path_factory)


@pytest.fixture(scope="module")
def make_module_stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[StackFactory]:
    """Like ``make_stack``, for a stack that several tests of a module share."""
    yield from _factory(tmp_path_factory)
