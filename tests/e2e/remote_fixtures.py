"""Fixtures for the remote end-to-end tests: a real sshd reached as ``vonnegut``, and specs
whose ``remote`` environment deploys through it onto this machine's Docker engine.

The sshd is ``tests/host/sshd.py``'s TestSshd (keys, an ssh config with ``Host vonnegut``
and a known_hosts file, all generated for the test). Its sessions run as root on this machine,
so ``docker compose`` there drives the same engine that the local tests use.

Each stack gets a compose project ``obstest-e2e-r-<pid>-<random>`` (a prefix the local suite's
leftover cleanup does not match, so neither suite removes the other's stacks), free ports on
127.0.0.1, the locally built test images, and a deploy directory under the test's tmp path; it
is taken down with ``down --volumes --yes`` through SSH whatever the test did. Leftovers of
earlier runs whose pytest process is gone are removed before the first stack starts.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import secrets
import signal
import subprocess
import time
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
import yaml

from host.sshd import ALIAS, TestSshd

from .conftest import (
    GRAFANA_PASSWORD,
    SPEC_KEYS,
    CliResult,
    StackSpec,
    deep_merge,
    observatory_argv,
)
from .docker_env import TEST_IMAGES, cleanup_test_leftovers, free_port

REMOTE_PREFIX = "obstest-e2e-r-"
_OWN_PROJECT = re.compile(rf"^{re.escape(REMOTE_PREFIX)}(\d+)-[0-9a-f]+")
_CLI_TIMEOUT = 240.0

# bcrypt of "e2e" (cost 10): web_auth stores only a hash, and makes web.yml a secret file.
WEB_AUTH = {
    "username": "e2e",
    "password_hash": "$2b$10$rDsVqzQQovpxejME4Q8dV.fBZLdZ.R7WSPEUevhixHNREQFOGABr6",
}


def sha256_file(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def temp_leftovers(directory: Path) -> list[Path]:
    """Temporary files of an atomic write (``.<name>.tmp-<random>``) anywhere under directory."""
    return sorted(p for p in directory.rglob(".*.tmp-*") if p.is_file())


@dataclass
class RemoteStack:
    """A spec whose ``remote`` environment deploys over SSH into ``deploy_dir``."""

    spec: StackSpec
    sshd: TestSshd
    deploy_dir: Path
    known_hosts: Path
    started: list[subprocess.Popen[str]] = field(default_factory=list)

    @property
    def project(self) -> str:
        return self.spec.project

    def url(self, service: str) -> str:
        return self.spec.url(service)

    def argv(self, command: str, *args: str, known_hosts: Path | None = None) -> list[str]:
        """``observatory COMMAND --environment remote --host vonnegut`` with the test's ssh
        config and known_hosts (the options a user would put in OBSERVATORY_SSH_CONFIG etc.)."""
        return [
            command,
            "--environment",
            "remote",
            "--host",
            ALIAS,
            "--ssh-config",
            str(self.sshd.ssh_config),
            "--known-hosts",
            str(known_hosts or self.known_hosts),
            *args,
        ]

    def cli(
        self,
        command: str,
        *args: str,
        known_hosts: Path | None = None,
        timeout: float = _CLI_TIMEOUT,
    ) -> CliResult:
        return self.spec.cli(*self.argv(command, *args, known_hosts=known_hosts), timeout=timeout)

    def measured(self, command: str, *args: str) -> tuple[CliResult, int]:
        """Run a command and count the sessions sshd started for it (its round trips)."""
        before = self.sshd.count_sessions()
        result = self.cli(command, *args)
        time.sleep(0.2)  # sshd writes its log lines asynchronously to our reading them
        return result, self.sshd.count_sessions() - before

    def start(self, command: str, *args: str) -> subprocess.Popen[str]:
        """Start a command in the background (stdout and stderr are pipes)."""
        process = subprocess.Popen(
            [*observatory_argv(), *self.argv(command, *args)],
            cwd=self.spec.directory,
            env=self.spec.env,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        self.started.append(process)
        return process

    def build(self) -> dict[str, str]:
        """``observatory build``; the remote environment's manifest (path -> sha256)."""
        result = self.spec.cli("build")
        assert result.exit_code == 0, result.explain()
        return manifest_files(self.spec.directory / "generated" / "remote" / "manifest.json")

    def host_manifest(self) -> dict[str, str]:
        return manifest_files(self.deploy_dir / "manifest.json")

    def edit_spec(self, change: Mapping[str, Any]) -> None:
        """Deep-merge change into the spec file."""
        spec = yaml.safe_load(self.spec.spec_path.read_text())
        self.spec.spec_path.write_text(yaml.safe_dump(deep_merge(spec, change), sort_keys=False))

    def containers(self) -> dict[str, str]:
        return self.spec.containers()

    def volumes(self) -> list[str]:
        return self.spec.volumes()


def manifest_files(path: Path) -> dict[str, str]:
    files: dict[str, str] = json.loads(path.read_text())["files"]
    return files


def _write_operator_env(deploy_dir: Path) -> None:
    """What an operator does once on the host: put the stack's secrets in ``.env`` next to
    docker-compose.yml (see the generated .env.example). The tool never writes or uploads it,
    and compose reads it from the project directory, so ``up`` over SSH finds the password."""
    deploy_dir.mkdir(parents=True, exist_ok=True)
    env_file = deploy_dir / ".env"
    env_file.write_text(f"GRAFANA_ADMIN_PASSWORD={GRAFANA_PASSWORD}\n")
    env_file.chmod(0o600)


def write_remote_spec(
    directory: Path, sshd: TestSshd, deploy_dir: Path, overrides: Mapping[str, Any]
) -> RemoteStack:
    """``observatory init``, then point the ``remote`` environment at vonnegut (the test
    sshd), deploy_dir, the test images and free ports, with short intervals."""
    directory.mkdir(parents=True, exist_ok=True)
    project = f"{REMOTE_PREFIX}{os.getpid()}-{secrets.token_hex(3)}"
    ports = {service: free_port() for service in SPEC_KEYS}
    # Without GRAFANA_ADMIN_PASSWORD: a remote stack gets it from the host's .env, not from us.
    env = {k: v for k, v in os.environ.items() if not k.startswith("OBSERVATORY_")}
    env.pop("GRAFANA_ADMIN_PASSWORD", None)
    spec_stack = StackSpec(directory, project, ports, env)
    init = spec_stack.cli("init", ".")
    assert init.exit_code == 0, init.explain()

    spec = yaml.safe_load(spec_stack.spec_path.read_text())
    spec["project"] = project
    services: dict[str, Any] = {}
    for service, key in SPEC_KEYS.items():
        services[key] = {
            "image": TEST_IMAGES[service],
            "port": ports[service],
            "healthcheck": {"interval": "1s", "timeout": "3s", "start_period": "30s"},
        }
    services["prometheus"]["global"] = {"scrape_interval": "1s", "evaluation_interval": "1s"}
    remote = spec["environments"]["remote"]
    remote["ssh"] = {"host": ALIAS}
    remote["deploy_dir"] = str(deploy_dir)
    remote["bind_address"] = "127.0.0.1"
    remote["services"] = deep_merge(deep_merge(remote.get("services") or {}, services), overrides)
    spec_stack.spec_path.write_text(yaml.safe_dump(spec, sort_keys=False))
    _write_operator_env(deploy_dir)
    return RemoteStack(spec_stack, sshd, deploy_dir, sshd.known_hosts)


def tear_down(stack: RemoteStack) -> None:
    for process in stack.started:
        if process.poll() is None:
            process.send_signal(signal.SIGKILL)
        process.communicate()
    result = stack.cli("down", "--volumes", "--yes", timeout=120)
    if result.exit_code != 0 or stack.containers() or stack.volumes():
        cleanup_test_leftovers(stack.project)


def remove_dead_leftovers() -> None:
    """Remove stacks of earlier runs of this module whose pytest process is gone."""
    fmt = '{{.Label "com.docker.compose.project"}}'
    projects: set[str] = set()
    for kind in (["ps", "-a"], ["network", "ls"], ["volume", "ls"]):
        done = subprocess.run(
            ["docker", *kind, "--format", fmt], capture_output=True, text=True, check=True
        )
        projects.update(done.stdout.split())
    for project in sorted(projects):
        match = _OWN_PROJECT.match(project)
        if match and not Path(f"/proc/{match.group(1)}").exists():
            cleanup_test_leftovers(project)


@pytest.fixture(scope="module")
def sshd(tmp_path_factory: pytest.TempPathFactory) -> Iterator[TestSshd]:
    """vonnegut: a real sshd on 127.0.0.1, shared by the tests of a module."""
    remove_dead_leftovers()
    with TestSshd(tmp_path_factory.mktemp("sshd")) as server:
        yield server


class RemoteStackFactory:
    def __init__(self, tmp: pytest.TempPathFactory, sshd: TestSshd) -> None:
        self._tmp = tmp
        self._sshd = sshd
        self.made: list[RemoteStack] = []

    def __call__(
        self,
        services: Mapping[str, Any] | None = None,
        name: str = "stack",
        deploy_name: str = "deploy",
    ) -> RemoteStack:
        """A spec in its own directory; ``services`` are extra overrides of
        environments.remote.services; the deploy directory is ``<tmp>/<deploy_name>``."""
        root = self._tmp.mktemp(name)
        stack = write_remote_spec(root / "spec", self._sshd, root / deploy_name, services or {})
        self.made.append(stack)
        return stack


def _factory(tmp: pytest.TempPathFactory, sshd: TestSshd) -> Iterator[RemoteStackFactory]:
    factory = RemoteStackFactory(tmp, sshd)
    try:
        yield factory
    finally:
        for stack in factory.made:
            tear_down(stack)


@pytest.fixture
def make_remote_stack(
    tmp_path_factory: pytest.TempPathFactory, sshd: TestSshd
) -> Iterator[RemoteStackFactory]:
    """Factory of remote stacks for one test, each taken down with its volumes after it."""
    yield from _factory(tmp_path_factory, sshd)


@pytest.fixture(scope="module")
def make_module_remote_stack(
    tmp_path_factory: pytest.TempPathFactory, sshd: TestSshd
) -> Iterator[RemoteStackFactory]:
    """Like ``make_remote_stack``, for a stack that several tests of a module share."""
    yield from _factory(tmp_path_factory, sshd)


def big_dashboard(uid: str, size: int, fill: str) -> str:
    """A valid dashboard of about ``size`` bytes (a long description), so that uploading it
    takes a moment."""
    doc = {
        "uid": uid,
        "title": f"Big {uid}",
        "description": fill * (size // len(fill)),
        "panels": [],
        "schemaVersion": 39,
        "templating": {"list": []},
    }
    return json.dumps(doc)


def sshd_session_pids(sshd: TestSshd) -> list[int]:
    """The sshd processes serving connections (children of the listener, and theirs)."""
    processes: dict[int, tuple[int, str]] = {}  # pid -> (parent pid, command line)
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
            cmdline = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode()
        except OSError:  # gone meanwhile
            continue
        processes[int(entry.name)] = (int(fields[1]), cmdline)
    listeners = [  # a connection being set up runs a re-executed copy, with -R
        pid for pid, (_, cmd) in processes.items() if f"-E {sshd.log}" in cmd and " -R" not in cmd
    ]
    assert len(listeners) == 1, f"cannot tell the test sshd's listener: {listeners}"
    found, frontier = [], set(listeners)
    while frontier:
        children = {pid for pid, (ppid, _) in processes.items() if ppid in frontier}
        found += [pid for pid in children if processes[pid][1].startswith("sshd")]
        frontier = children
    return sorted(found)


def wait_for(condition: Any, timeout: float, what: str) -> Any:
    deadline = time.monotonic() + timeout
    while not (value := condition()):
        if time.monotonic() > deadline:
            pytest.fail(f"{what}: not within {timeout:g}s")
        time.sleep(0.005)
    return value
