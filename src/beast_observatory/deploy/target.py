"""Where an environment runs: the host to reach and the directory holding its files."""

from __future__ import annotations

import os
from dataclasses import dataclass, replace
from pathlib import Path

from beast_observatory.host.transport.base import HostTarget
from beast_observatory.spec.resolve import Stack

LOCK_NAME = ".observatory.lock"


@dataclass(frozen=True)
class ConnectOptions:
    """Command-line settings that override the spec's for reaching a host."""

    host: str | None = None
    ssh_config: Path | None = None
    known_hosts: Path | None = None
    accept_new_host_key: bool = False
    identity_file: Path | None = None


@dataclass(frozen=True)
class Placement:
    target: HostTarget
    directory: str  # absolute directory on the host holding docker-compose.yml
    lock_path: str
    remote: bool

    @property
    def where(self) -> str:
        return self.target.host or "this machine"


def _env_path(name: str) -> Path | None:
    value = os.environ.get(name)
    return Path(value) if value else None


LOCAL_DEPLOY_ROOT = Path(".observatory") / "deploy"


def placement(stack: Stack, options: ConnectOptions) -> Placement:
    """Remote environments (or any with --host) run in deploy_dir over SSH. Local ones run
    from .observatory/deploy/<env>/ (or their deploy_dir), never from generated/<env>/
    itself: a build swaps that whole directory, and a running container would keep the old
    one mounted (the directory-level form of moby/moby#22627)."""
    ssh = stack.environment.ssh
    host = options.host or (ssh.host if ssh else None)
    if host is None:
        local = stack.environment.deploy_dir or str((LOCAL_DEPLOY_ROOT / stack.env_name).absolute())
        return Placement(HostTarget(), local, f"{local}/{LOCK_NAME}", remote=False)
    target = HostTarget(
        host=host,
        user=ssh.user if ssh else None,
        port=ssh.port if ssh else None,
        identity_file=options.identity_file
        or (Path(ssh.identity_file) if ssh and ssh.identity_file else None),
        ssh_config_path=options.ssh_config or _env_path("OBSERVATORY_SSH_CONFIG"),
        known_hosts_path=options.known_hosts or _env_path("OBSERVATORY_KNOWN_HOSTS"),
        accept_new_host_key=options.accept_new_host_key,
    )
    if options.host and ssh and options.host != ssh.host:
        target = replace(target, user=None, port=None)
    directory = stack.deploy_dir
    return Placement(target, directory, f"{directory}/{LOCK_NAME}", remote=True)
