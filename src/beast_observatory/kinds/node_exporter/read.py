"""A running node-exporter read back as its spec section (pure): the inverse of ``render.py``."""

from __future__ import annotations

from typing import Any

from beast_observatory.discover.context import ExportContext, flag_value, other_flags, parse_flags
from beast_observatory.host.probe.inventory import Container
from beast_observatory.kinds.prometheus.read import listen_port
from beast_observatory.kinds.read import KindFacts


def host_root(c: Container) -> str | None:
    """The spec's own layout, when the container has exactly it: --path.rootfs=X with the
    host's / mounted read-only at X and the host's pid namespace."""
    rootfs = flag_value(parse_flags(c.cmd), "path.rootfs")
    mount = c.mount_at(rootfs) if rootfs else None
    layout = mount is not None and mount.type == "bind" and mount.source == "/" and not mount.rw
    return rootfs if layout and c.host_config.get("pid_mode") == "host" else None


def facts(c: Container) -> KindFacts:
    root = host_root(c)
    return KindFacts(
        key="node_exporter",
        default_name="node-exporter",
        container_port=listen_port(parse_flags(c.cmd), 9100),
        consumed=(root,) if root else (),
    )


def read_node_exporter(ctx: ExportContext, c: Container) -> dict[str, Any]:
    """Its flags as they are; without the spec's own layout (host_root), the mounts and pid
    mode the host had are carried by volumes and compose."""
    flags = parse_flags(c.cmd)
    root = host_root(c)
    owned = {"web.listen-address", *(["path.rootfs"] if root else [])}
    out: dict[str, Any] = {"enabled": True, "host_root": root}
    if extra := other_flags(flags, owned):
        out["extra_flags"] = extra
    if flag_value(flags, "path.rootfs") and not c.mount_at(str(flag_value(flags, "path.rootfs"))):
        ctx.note(f"{c.name}: --path.rootfs names a path with no mount")
    return out
