"""The compose service of a known kind, from its typed fields (pure).

Each kind says what it adds (its command, its config folder, its data directory, its readiness
path); this module writes what every kind shares: image, ports, environment, mounts,
networks, healthcheck, restart, limits, labels and the ``compose`` pass-through.

Configuration is mounted as directories, never single files: a file replaced by rename stays
stale inside a single-file bind mount (moby/moby#22627). Files the spec ships for a service's
own ``volumes`` may be single files: a change of their content changes the service's
restart-hash label, so compose recreates the container and it sees the new file.
"""

from __future__ import annotations

import posixpath
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from beast_observatory.bundle.bundle import canonical_json, key_ordered, sha256
from beast_observatory.kinds.model import Healthcheck, ServiceBase
from beast_observatory.names import (
    ENVIRONMENT_LABEL,
    KIND_LABEL,
    PROJECT_LABEL,
    READY_LABEL,
    RESTART_HASH_LABEL,
    SERVICE_LABEL,
    SHIPPED_DIR,
)
from beast_observatory.spec.resolve import Stack

Service = dict[str, Any]

# The kind's own readiness check, when the spec gives no test of its own.
DEFAULT_CHECK = {"interval": "15s", "timeout": "5s", "retries": 5, "start_period": "20s"}


@dataclass(frozen=True)
class KindParts:
    """What a kind adds to the compose service every kind shares."""

    command: list[str]
    ready_path: str
    config_mount: tuple[str, str] | None = None  # (bundle folder, directory in the container)
    data_dir: str | None = None  # the kind's data directory, when it keeps data
    behind_auth: bool = False
    environment: Mapping[str, str] = field(default_factory=dict)
    mounts: Sequence[str] = ()
    extra: Mapping[str, Any] = field(default_factory=dict)  # pid: host, entrypoint...
    restart_files: Mapping[str, bytes] = field(default_factory=dict)


def is_shipped(source: str) -> bool:
    """A bind source relative to the spec: a file beside it, shipped with every release."""
    return source.startswith(("./", "../")) or source in (".", "..")


def shipped_path(source: str) -> str:
    """The spec-relative path of a shipped bind source (``./nginx/nginx.conf`` ->
    ``nginx/nginx.conf``)."""
    return posixpath.normpath(source)


def bundle_path(source: str) -> str:
    """Where a shipped file lives in the bundle (and the deploy directory)."""
    return f"{SHIPPED_DIR}/{shipped_path(source)}"


def _split_short(entry: str) -> tuple[str, str]:
    """`SOURCE:TARGET[:MODE]` -> (SOURCE, rest); no source: ("", entry)."""
    source, sep, rest = entry.partition(":")
    return (source, rest) if sep else ("", entry)


def shipped_sources(volumes: Sequence[str | Mapping[str, Any]]) -> list[str]:
    """The spec-relative sources of the shipped bind mounts among volumes."""
    out = []
    for entry in volumes:
        if isinstance(entry, str):
            source, _ = _split_short(entry)
        else:
            source = str(entry.get("source") or "") if entry.get("type") == "bind" else ""
        if source and is_shipped(source):
            out.append(shipped_path(source))
    return out


def rendered_volumes(volumes: Sequence[str | Mapping[str, Any]]) -> list[str | dict[str, Any]]:
    """Compose volumes with shipped sources pointing into the release's files/ folder."""
    out: list[str | dict[str, Any]] = []
    for entry in volumes:
        if isinstance(entry, str):
            source, rest = _split_short(entry)
            out.append(
                f"./{bundle_path(source)}:{rest}" if source and is_shipped(source) else entry
            )
        else:
            item = key_ordered(dict(entry))
            source = str(item.get("source") or "")
            if item.get("type") == "bind" and is_shipped(source):
                item["source"] = f"./{bundle_path(source)}"
            out.append(item)
    return out


def shipped_files(
    sources: Sequence[str], assets: Mapping[str, bytes], matches: Mapping[str, tuple[str, ...]]
) -> dict[str, bytes]:
    """Bundle files of shipped sources (a folder ships every file below it)."""
    files: dict[str, bytes] = {}
    for source in sources:
        for path in matches.get(source, (source,)):
            if path in assets:
                files[f"{SHIPPED_DIR}/{path}"] = assets[path]
    return files


def restart_hash(files: Mapping[str, bytes]) -> str:
    return sha256(canonical_json({k: sha256(v) for k, v in sorted(files.items())}))


def tool_labels(stack: Stack, service: str, restart_files: Mapping[str, bytes]) -> dict[str, str]:
    labels = {
        ENVIRONMENT_LABEL: stack.env_name,
        PROJECT_LABEL: stack.project,
        SERVICE_LABEL: service,
    }
    if restart_files:
        labels[RESTART_HASH_LABEL] = restart_hash(restart_files)
    return labels


def merged_labels(own: Any, tool: Mapping[str, str]) -> dict[str, str]:
    """The author's labels (mapping or compose's list form) with the tool's on top."""
    labels = own or {}
    if isinstance(labels, list):  # ["key=value", ...]
        labels = dict(str(item).partition("=")[::2] for item in labels)
    out = {str(k): "" if v is None else str(v) for k, v in dict(labels).items()}
    out.update(tool)
    return dict(sorted(out.items()))


def _healthcheck(check: Healthcheck, url: str, *, auth: bool) -> dict[str, Any]:
    if check.disable:
        return {"disable": True}
    out: dict[str, Any] = {}
    if check.test is None:
        if auth:
            # Behind basic auth /-/ready answers 401 without credentials, which proves the
            # server is up; the healthcheck never holds a password. `$$` is compose's escape
            # for `$`: Compose v1 rejects a bare `$|` as bad interpolation.
            out["test"] = ["CMD-SHELL", f"wget -q -O /dev/null {url} 2>&1 | grep -qE '^$$|401'"]
        else:
            out["test"] = ["CMD", "wget", "-q", "-O", "/dev/null", url]
        defaults: Mapping[str, Any] = DEFAULT_CHECK
    else:
        out["test"] = check.test if isinstance(check.test, str) else list(check.test)
        defaults = {}
    for key in ("interval", "timeout", "retries", "start_period", "start_interval"):
        value = getattr(check, key)
        if value is None:
            value = defaults.get(key)
        if value is not None:
            out[key] = value
    return out


def published_ports(stack: Stack, svc: ServiceBase) -> list[str | dict[str, Any]]:
    if svc.ports is not None:
        return [p if isinstance(p, str) else key_ordered(dict(p)) for p in svc.ports]
    if not svc.publish or svc.port is None:
        return []
    address = svc.bind_address or stack.environment.bind_address
    return [f"{address}:{svc.port}:{svc.container_port}"]


def data_mount(
    name: str, svc: ServiceBase, default_dir: str | None, volumes: dict[str, Any]
) -> str | None:
    """The data mount (registering its named volume in volumes), or None."""
    if svc.data is None or default_dir is None:
        return None
    target = svc.data.target or default_dir
    if svc.data.path:
        return f"{svc.data.path}:{target}"
    volume = svc.data.volume or f"{name}-data"
    volumes.setdefault(volume, {})
    return f"{volume}:{target}"


def _networks(svc: ServiceBase) -> list[str] | dict[str, Any]:
    if isinstance(svc.networks, list):
        return sorted(svc.networks)
    return {k: key_ordered(v) if v else None for k, v in sorted(svc.networks.items())}


def compose_service(
    stack: Stack,
    key: str,
    svc: ServiceBase,
    parts: KindParts,
    volumes: dict[str, Any],
    shipped: Mapping[str, bytes],
) -> Service:
    """The kind's compose service; named volumes it mounts are added to volumes. shipped
    holds the bundle files of its shipped mounts (their content is in its restart hash)."""
    name = stack.service_name(key)
    out: Service = {"image": svc.image, "restart": svc.restart}
    if parts.command:
        out["command"] = list(parts.command)
    out.update(key_ordered(dict(parts.extra)))
    if ports := published_ports(stack, svc):
        out["ports"] = ports
    env = {**parts.environment, **svc.environment}
    if env:
        out["environment"] = dict(sorted(env.items()))
    mounts: list[str | dict[str, Any]] = []
    if parts.config_mount is not None:
        folder, directory = parts.config_mount
        mounts.append(f"./{folder}:{directory}:ro")
    if data := data_mount(name, svc, parts.data_dir, volumes):
        mounts.append(data)
    mounts += list(parts.mounts)
    mounts += rendered_volumes(svc.volumes)
    if mounts:
        out["volumes"] = mounts
    out["networks"] = _networks(svc)
    if svc.resources.cpus is not None:
        out["cpus"] = svc.resources.cpus
    if svc.resources.memory is not None:
        out["mem_limit"] = svc.resources.memory
    if svc.healthcheck is not None:
        url = f"http://127.0.0.1:{svc.container_port}{parts.ready_path}"
        out["healthcheck"] = _healthcheck(svc.healthcheck, url, auth=parts.behind_auth)
    compose = key_ordered(dict(svc.compose))
    restart_files = {**parts.restart_files, **shipped}
    out.update({k: v for k, v in compose.items() if k != "labels"})
    labels = {
        **tool_labels(stack, name, restart_files),
        KIND_LABEL: key,
        READY_LABEL: f"http://127.0.0.1:{svc.container_port}{parts.ready_path}",
    }
    out["labels"] = merged_labels(compose.get("labels"), labels)
    return ordered(out)


KEY_ORDER = (
    "image",
    "container_name",
    "hostname",
    "entrypoint",
    "command",
    "restart",
    "user",
    "pid",
    "ports",
    "expose",
    "environment",
    "env_file",
    "volumes",
    "networks",
    "depends_on",
    "cpus",
    "mem_limit",
    "healthcheck",
    "logging",
    "labels",
)


def ordered(service: Service) -> Service:
    """Reviewer-friendly key order: what runs first, labels last."""
    known = [k for k in KEY_ORDER if k in service]
    return {k: service[k] for k in known + sorted(set(service) - set(known))}
