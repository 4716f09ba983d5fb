"""Pieces of a Swarm service in the stack file (pure): ports, mounts, ``deploy``, key order.

Reference: the Compose file format's ``deploy`` section (version 3) and the keys
``docker stack deploy`` ignores ("Ignoring unsupported options: ...") or refuses (keys of
the Compose specification that its version 3 schema does not know, such as ``mem_limit``).
"""

from __future__ import annotations

import posixpath
from collections.abc import Mapping, Sequence
from typing import Any

from beast_observatory.kinds.model import COMPOSE_SERVICE_KEYS
from beast_observatory.swarm.model import SwarmPlacement

Files = Mapping[str, bytes]

# Keys docker stack deploy ignores: they are left out of the stack file.
IGNORED_KEYS = frozenset(
    {
        "build", "cgroup_parent", "container_name", "depends_on", "devices", "external_links",
        "ipc", "links", "mac_address", "network_mode", "pid", "privileged", "restart",
        "security_opt", "userns_mode",
    }
)  # fmt: skip
# Keys of a service in the version 3.8 schema of docker stack deploy.
STACK_KEYS = frozenset(
    {
        "cap_add", "cap_drop", "command", "configs", "credential_spec", "deploy", "dns",
        "dns_search", "domainname", "entrypoint", "env_file", "environment", "expose",
        "extra_hosts", "healthcheck", "hostname", "image", "init", "isolation", "labels",
        "logging", "networks", "ports", "read_only", "secrets", "shm_size", "stdin_open",
        "stop_grace_period", "stop_signal", "sysctls", "tmpfs", "tty", "ulimits", "user",
        "volumes", "working_dir",
    }
    | IGNORED_KEYS
)  # fmt: skip
# Compose keys the stack file says otherwise (deploy.resources, deploy.replicas).
CONVERTED_KEYS = frozenset({"cpus", "mem_limit", "mem_reservation", "scale"})
# Compose keys a stack file cannot carry: docker stack deploy refuses the file.
REFUSED_KEYS = COMPOSE_SERVICE_KEYS - STACK_KEYS - CONVERTED_KEYS

KEY_ORDER = (
    "image",
    "hostname",
    "entrypoint",
    "command",
    "user",
    "ports",
    "expose",
    "environment",
    "env_file",
    "volumes",
    "configs",
    "secrets",
    "networks",
    "healthcheck",
    "logging",
    "labels",
    "deploy",
)


def ordered_service(service: Mapping[str, Any]) -> dict[str, Any]:
    known = [k for k in KEY_ORDER if k in service]
    return {k: service[k] for k in known + sorted(set(service) - set(known))}


def host_port(entry: str | Mapping[str, Any]) -> str | dict[str, Any]:
    """A published port in the long syntax, ``mode: host`` (a range stays as written)."""
    if isinstance(entry, Mapping):
        out = {k: v for k, v in entry.items() if k != "host_ip"}
        out.setdefault("mode", "host")
        out.setdefault("protocol", "tcp")
        return dict(sorted(out.items()))
    spec, _, protocol = entry.partition("/")
    parts = spec.rsplit(":", 2)
    if any("-" in p for p in parts):
        return entry
    target = int(parts[-1])
    published = int(parts[-2]) if len(parts) >= 2 else target  # noqa: PLR2004
    return {"mode": "host", "protocol": protocol or "tcp", "published": published, "target": target}


def host_ports(ports: Sequence[str | Mapping[str, Any]]) -> list[str | dict[str, Any]]:
    return [host_port(p) for p in ports]


def _source_target(entry: str | Mapping[str, Any]) -> tuple[str, str]:
    if isinstance(entry, Mapping):
        if entry.get("type") != "bind":
            return "", ""
        return str(entry.get("source") or ""), str(entry.get("target") or "")
    parts = entry.split(":")
    return (parts[0], parts[1]) if len(parts) >= 2 else ("", "")  # noqa: PLR2004


def split_volumes(
    volumes: Sequence[str | Mapping[str, Any]], files: Files
) -> tuple[list[str | dict[str, Any]], dict[str, str]]:
    """(the mounts a Swarm task keeps: named volumes and host paths, the config files to
    mount instead of the release's files: target in the container -> bundle path)."""
    mounts: list[str | dict[str, Any]] = []
    configs: dict[str, str] = {}
    for entry in volumes:
        source, target = _source_target(entry)
        if not source.startswith("./"):
            mounts.append(entry if isinstance(entry, str) else dict(entry))
            continue
        path = posixpath.normpath(source)
        if path in files:
            configs[target] = path
            continue
        for rel in sorted(f for f in files if f.startswith(path + "/")):
            configs[posixpath.join(target, rel[len(path) + 1 :])] = rel
    return mounts, configs


def restart_policy(restart: str) -> dict[str, Any]:
    """Compose's restart as Swarm's restart_policy (unless-stopped: Swarm has no stopping)."""
    if restart == "no":
        return {"condition": "none"}
    if restart.startswith("on-failure"):
        _, _, attempts = restart.partition(":")
        out: dict[str, Any] = {"condition": "on-failure"}
        if attempts:
            out["max_attempts"] = int(attempts)
        return out
    return {"condition": "any"}


def _resources(cpus: Any, memory: Any, reservation: Any) -> dict[str, Any]:
    resources: dict[str, Any] = {}
    limits = {k: str(v) for k, v in (("cpus", cpus), ("memory", memory)) if v is not None}
    if limits:
        resources["limits"] = limits
    if reservation is not None:
        resources["reservations"] = {"memory": str(reservation)}
    return resources


def deploy_section(
    placement: SwarmPlacement,
    constraints: Sequence[str],
    *,
    exporter: bool,
    restart: str,
    cpus: Any = None,
    memory: Any = None,
    reservation: Any = None,
    replicas: Any = None,
    labels: Mapping[str, str] | None = None,
) -> dict[str, Any]:
    mode = placement.mode or ("global" if exporter else "replicated")
    out: dict[str, Any] = {"mode": mode}
    if mode == "replicated":
        count = placement.replicas if placement.replicas is not None else replicas
        out["replicas"] = int(count) if count is not None else 1
    where: dict[str, Any] = {}
    if constraints:
        where["constraints"] = list(constraints)
    if placement.preferences:
        where["preferences"] = [{"spread": p} for p in placement.preferences]
    if where:
        out["placement"] = where
    out["restart_policy"] = restart_policy(restart)
    if resources := _resources(cpus, memory, reservation):
        out["resources"] = resources
    if labels:
        out["labels"] = dict(sorted(labels.items()))
    return out
