"""The rest of a container's compose service, read back from docker inspect (pure): its
name and host name, user, capabilities, logging, limits, labels... what the spec carries in
a kind's ``compose`` pass-through or an extra service's fragment.

Docker's defaults (and the image's own settings) are left out: only what the author set.
"""

from __future__ import annotations

import re
from typing import Any

from beast_observatory.discover.context import ExportContext
from beast_observatory.host.probe.inventory import Container
from beast_observatory.names import COMPOSE_LABEL_PREFIX, LABEL

DEFAULT_SHM = 64 * 1024 * 1024
# Keys only the compose file knows (inspect cannot say them): taken from it as written.
FROM_COMPOSE_FILE = (
    "depends_on", "profiles", "links", "external_links", "platform", "deploy", "scale",
)  # fmt: skip
_MIB = 1024 * 1024


def default_names(project: str | None, service: str) -> set[str]:
    """Container names compose v2 and v1 give a service's containers by themselves."""
    if not project:
        return set()
    return {f"{project}-{service}-1", f"{project}_{service}_1"}


def _ulimits(raw: Any) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for item in raw or []:
        if not isinstance(item, dict) or "Name" not in item:
            continue
        soft, hard = item.get("Soft"), item.get("Hard")
        out[str(item["Name"])] = soft if soft == hard else {"soft": soft, "hard": hard}
    return out


def _devices(raw: Any) -> list[str]:
    out = []
    for d in raw or []:
        if isinstance(d, dict) and d.get("PathOnHost"):
            perms = d.get("CgroupPermissions") or "rwm"
            tail = "" if perms == "rwm" else f":{perms}"
            out.append(f"{d['PathOnHost']}:{d.get('PathInContainer') or d['PathOnHost']}{tail}")
    return out


def _tmpfs(raw: Any) -> list[str]:
    return [f"{p}:{o}" if o else str(p) for p, o in sorted((raw or {}).items())]


def memory(value: int) -> str:
    for unit, size in (("g", 1024 * _MIB), ("m", _MIB), ("k", 1024)):
        if value % size == 0:
            return f"{value // size}{unit}"
    return f"{value}b"


def resources(c: Container) -> dict[str, Any]:
    hc = c.host_config
    out: dict[str, Any] = {}
    if hc.get("nano_cpus"):
        out["cpus"] = round(int(hc["nano_cpus"]) / 1e9, 3)
    if hc.get("memory"):
        out["memory"] = memory(int(hc["memory"]))
    return out


# docker inspect's HostConfig lists and the compose keys that say them
_LIST_HOST_CONFIG = (
    ("cap_add", "cap_add"),
    ("cap_drop", "cap_drop"),
    ("extra_hosts", "extra_hosts"),
    ("dns", "dns"),
    ("dns_search", "dns_search"),
    ("dns_options", "dns_opt"),
    ("security_opt", "security_opt"),
    ("group_add", "group_add"),
)


def _host_config(c: Container) -> dict[str, Any]:
    hc = c.host_config
    out: dict[str, Any] = {}
    for key, name in _LIST_HOST_CONFIG:
        if hc.get(key):
            out[name] = list(hc[key])
    if hc.get("privileged"):
        out["privileged"] = True
    if str(hc.get("pid_mode") or "") not in ("", "private"):
        out["pid"] = hc["pid_mode"]
    if str(hc.get("ipc_mode") or "") not in ("", "private", "shareable"):
        out["ipc"] = hc["ipc_mode"]
    return out | _host_limits(hc)


def _host_limits(hc: dict[str, Any]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    if hc.get("sysctls"):
        out["sysctls"] = dict(sorted(hc["sysctls"].items()))
    if hc.get("tmpfs"):
        out["tmpfs"] = _tmpfs(hc["tmpfs"])
    if hc.get("shm_size") and int(hc["shm_size"]) != DEFAULT_SHM:
        out["shm_size"] = memory(int(hc["shm_size"]))
    if hc.get("read_only"):
        out["read_only"] = True
    if hc.get("init") is not None:
        out["init"] = bool(hc["init"])
    if devices := _devices(hc.get("devices")):
        out["devices"] = devices
    if ulimits := _ulimits(hc.get("ulimits")):
        out["ulimits"] = ulimits
    if hc.get("pids_limit") and int(hc["pids_limit"]) > 0:
        out["pids_limit"] = int(hc["pids_limit"])
    return out


def _logging(c: Container) -> dict[str, Any] | None:
    driver = str(c.host_config.get("log_type") or "json-file")
    if driver == "json-file" and not c.log_options:
        return None
    out: dict[str, Any] = {"driver": driver}
    if c.log_options:
        out["options"] = dict(sorted(c.log_options.items()))
    return out


def labels(ctx: ExportContext, c: Container) -> dict[str, str]:
    """The author's labels: not compose's, not the tool's, not the image's."""
    image = ctx.inventory.image_of(c).labels
    return {
        k: v
        for k, v in sorted(c.labels.items())
        if not k.startswith((COMPOSE_LABEL_PREFIX, f"{LABEL}.")) and image.get(k) != v
    }


def expose(ctx: ExportContext, c: Container) -> list[str]:
    """Ports the service exposes without publishing them (compose's expose)."""
    image = set(ctx.inventory.image_of(c).exposed)
    exposed = c.config.get("exposed") or {}
    out = []
    for port in sorted(exposed):
        if port in image or port in c.ports:
            continue
        number, _, proto = str(port).partition("/")
        out.append(number if proto in ("", "tcp") else f"{number}/{proto}")
    return out


def identity(ctx: ExportContext, c: Container, *, entrypoint: bool) -> dict[str, Any]:
    """Compose keys of the service beyond image, command, ports, environment, mounts,
    networks, healthcheck and restart."""
    service = ctx.service_name(c)
    out: dict[str, Any] = {}
    if c.name not in default_names(ctx.project, service) and c.project:
        out["container_name"] = c.name
    out.update(_process(ctx, c, entrypoint=entrypoint))
    out.update(_host_config(c))
    if (log := _logging(c)) is not None:
        out["logging"] = log
    if own := labels(ctx, c):
        out["labels"] = own
    if exposed := expose(ctx, c):
        out["expose"] = exposed
    fragment = ctx.fragment(c) or {}
    for key in FROM_COMPOSE_FILE:
        if key in fragment:
            out[key] = ctx.interpolated(fragment[key])
    out.update({k: v for k, v in fragment.items() if re.match(r"^x-", str(k))})
    return out


def _process(ctx: ExportContext, c: Container, *, entrypoint: bool) -> dict[str, Any]:
    """What the container's process runs as: host name, user, directory, signals, terminal."""
    image = ctx.inventory.image_of(c)
    cfg = c.config
    out: dict[str, Any] = {}
    if cfg.get("hostname") and cfg["hostname"] != c.id[:12]:
        out["hostname"] = cfg["hostname"]
    if cfg.get("domainname"):
        out["domainname"] = cfg["domainname"]
    if c.user != image.user:
        out["user"] = c.user
    if cfg.get("working_dir") and cfg["working_dir"] != image.working_dir:
        out["working_dir"] = cfg["working_dir"]
    if entrypoint and tuple(c.entrypoint) != image.entrypoint:
        out["entrypoint"] = list(c.entrypoint)
    if cfg.get("stop_signal") and cfg["stop_signal"] != (image.stop_signal or "SIGTERM"):
        out["stop_signal"] = cfg["stop_signal"]
    if cfg.get("stop_timeout") is not None:
        out["stop_grace_period"] = f"{int(cfg['stop_timeout'])}s"
    if cfg.get("tty"):
        out["tty"] = True
    if cfg.get("open_stdin"):
        out["stdin_open"] = True
    return out
