"""Helpers for the plan/apply end-to-end tests: what a user can look at on the host.

Containers are told apart by their id and by what `docker inspect` says of their process (pid
and start time): a container that was restarted keeps its id but not its pid; one that was
recreated gets a new id. Objects the tests create outside any spec ("foreign" ones, which
plan must list and apply must leave alone) carry :data:`FOREIGN_LABEL` with the pid of the
pytest process that made them, so leftovers of a run that died can be told from those of a
run going on right now.
"""

from __future__ import annotations

import contextlib
import json
import os
import subprocess
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from .conftest import CliResult, observatory_argv
from .docker_env import TEST_IMAGES
from .remote_fixtures import REMOTE_PREFIX, RemoteStack, manifest_files, sha256_file

FOREIGN_LABEL = "org.beast-observatory.e2e-foreign"


def docker(*args: str, check: bool = True) -> str:
    done = subprocess.run(
        ["docker", *args], capture_output=True, text=True, timeout=60, check=False
    )
    if check and done.returncode != 0:
        raise RuntimeError(f"docker {' '.join(args)} failed: {done.stderr.strip()}")
    return done.stdout


def inspect(container: str) -> dict[str, Any]:
    found: list[dict[str, Any]] = json.loads(docker("inspect", container))
    return found[0]


@dataclass(frozen=True)
class Process:
    """A container as a user tells it apart: id, and its main process (pid, start time)."""

    id: str
    pid: int
    started_at: str

    @classmethod
    def of(cls, container: str) -> Process:
        found = inspect(container)
        return cls(found["Id"], found["State"]["Pid"], found["State"]["StartedAt"])


def processes(stack: RemoteStack) -> dict[str, Process]:
    return {svc: Process.of(cid) for svc, cid in stack.containers().items()}


def health(container: str) -> str:
    state = inspect(container)["State"]
    return str((state.get("Health") or {}).get("Status") or state["Status"])


def live_files(stack: RemoteStack) -> dict[str, str | None]:
    """sha256 of every file the live manifest names, as it is on the host (None: missing)."""
    return {rel: file_digest(stack.deploy_dir / rel) for rel in stack.host_manifest()}


def file_digest(path: Path) -> str | None:
    return sha256_file(path) if path.is_file() else None


def state_release(stack: RemoteStack) -> str:
    """The release the last verified apply recorded in state.json."""
    state: dict[str, str] = json.loads((stack.deploy_dir / "state.json").read_text())
    return state["release"]


def release_manifest(stack: RemoteStack, release: str) -> dict[str, str]:
    return manifest_files(stack.deploy_dir / "releases" / release / "manifest.json")


def releases(stack: RemoteStack) -> list[str]:
    root = stack.deploy_dir / "releases"
    return sorted(p.name for p in root.iterdir() if not p.name.startswith("."))


def plan_json(result: CliResult) -> dict[str, Any]:
    assert result.exit_code in (0, 2), result.explain()
    plan: dict[str, Any] = json.loads(result.stdout)
    return plan


def actions(plan: dict[str, Any]) -> dict[str, str]:
    return {s["service"]: s["action"] for s in plan["services"]}


# ------------------------------------------------------------------ foreign objects


@dataclass(frozen=True)
class Foreign:
    """A container, a volume and a network that no spec manages."""

    container: str
    volume: str
    network: str

    def names(self) -> tuple[str, str, str]:
        return self.container, self.volume, self.network


def _dead_foreign_leftovers() -> None:
    """Remove foreign objects of earlier runs whose pytest process is gone."""
    pid = '{{.Label "' + FOREIGN_LABEL + '"}}'
    listings = {
        "container": (["ps", "-a", "--no-trunc"], "{{.ID}}"),
        "volume": (["volume", "ls"], "{{.Name}}"),
        "network": (["network", "ls", "--no-trunc"], "{{.ID}}"),
    }
    for kind, (listing, ref) in listings.items():
        out = docker(*listing, "--filter", f"label={FOREIGN_LABEL}", "--format", f"{ref}\t{pid}")
        for line in out.splitlines():
            name, _, owner = line.partition("\t")
            if owner.isdigit() and not Path(f"/proc/{owner}").exists():
                docker(kind, "rm", *(["-f"] if kind == "container" else []), name, check=False)


@contextlib.contextmanager
def foreign_objects() -> Iterator[Foreign]:
    """A running labelled busybox container, a volume and a network of our own."""
    _dead_foreign_leftovers()
    base = f"{REMOTE_PREFIX}foreign-{os.getpid()}"
    label = f"{FOREIGN_LABEL}={os.getpid()}"
    made = Foreign(f"{base}-sleeper", f"{base}-vol", f"{base}-net")
    try:
        docker("volume", "create", "--label", label, made.volume)
        docker("network", "create", "--label", label, made.network)
        docker(
            "run", "-d", "--name", made.container, "--label", label,
            "--network", made.network, "-v", f"{made.volume}:/data",
            TEST_IMAGES["busybox"], "sh", "-c", "trap 'exit 0' TERM; sleep 3600 & wait",
        )  # fmt: skip
        yield made
    finally:
        docker("rm", "-f", made.container, check=False)
        docker("network", "rm", made.network, check=False)
        docker("volume", "rm", made.volume, check=False)


@contextlib.contextmanager
def retagged(image: str, tag: str) -> Iterator[str]:
    """``image`` under a second tag (no registry here: `docker tag` is how an image changes)."""
    repository = image.rsplit(":", 1)[0]
    second = f"{repository}:{tag}"
    docker("tag", image, second)
    try:
        yield second
    finally:
        docker("rmi", second, check=False)


def wait_until(condition: Any, timeout: float, what: str, interval: float = 0.2) -> Any:
    deadline = time.monotonic() + timeout
    while not (value := condition()):
        if time.monotonic() > deadline:
            pytest.fail(f"{what}: not within {timeout:g}s")
        time.sleep(interval)
    return value


@dataclass
class Background:
    """A CLI command running in the background, its output going to a file (a pipe nobody
    reads would block it once the plan it prints fills the pipe)."""

    process: subprocess.Popen[str]
    output: Path

    def finish(self, timeout: float) -> tuple[int, str]:
        self.process.wait(timeout=timeout)
        return self.process.returncode, self.output.read_text()


def start_logged(stack: RemoteStack, output: Path, command: str, *args: str) -> Background:
    with output.open("w") as sink:
        process = subprocess.Popen(
            [*observatory_argv(), *stack.argv(command, *args)],
            cwd=stack.spec.directory,
            env=stack.spec.env,
            stdin=subprocess.DEVNULL,
            stdout=sink,
            stderr=subprocess.STDOUT,
            text=True,
        )
    stack.started.append(process)  # killed at tear-down if still running
    return Background(process, output)
