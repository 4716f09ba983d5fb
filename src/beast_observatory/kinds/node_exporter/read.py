"""A running node-exporter read back as its spec section (pure): the inverse of ``render.py``."""

from __future__ import annotations

from typing import Any

from beast_observatory.discover.context import ExportContext, flag_value, other_flags, parse_flags
from beast_observatory.host.probe.inventory import Container
from beast_observatory.kinds.prometheus.read import listen_port
from beast_observatory.kinds.read import KindFacts


def facts(c: Container) -> KindFacts:
    return KindFacts(
        key="node_exporter",
        default_name="node-exporter",
        container_port=listen_port(parse_flags(c.cmd), 9100),
    )


def read_node_exporter(ctx: ExportContext, c: Container) -> dict[str, Any]:
    """Its flags as they are; the spec's own layout (host_root) is off, so the mounts and
    pid mode the host had are carried by volumes and compose."""
    flags = parse_flags(c.cmd)
    out: dict[str, Any] = {"enabled": True, "host_root": None}
    if extra := other_flags(flags, {"web.listen-address"}):
        out["extra_flags"] = extra
    if flag_value(flags, "path.rootfs") and not c.mount_at(str(flag_value(flags, "path.rootfs"))):
        ctx.note(f"{c.name}: --path.rootfs names a path with no mount")
    return out
