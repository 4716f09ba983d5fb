"""A running Pushgateway read back as its spec section (pure): the inverse of ``render.py``."""

from __future__ import annotations

import posixpath
import re
from typing import Any

from beast_observatory.discover.context import ExportContext, flag_value, other_flags, parse_flags
from beast_observatory.host.probe.inventory import Container
from beast_observatory.kinds.prometheus.read import listen_port
from beast_observatory.kinds.pushgateway.model import DATA_DIR
from beast_observatory.kinds.read import KindFacts
from beast_observatory.kinds.webauth import read_web_auth

DURATION = re.compile(r"^(\d+y)?(\d+w)?(\d+d)?(\d+h)?(\d+m)?(\d+s)?(\d+ms)?$")
OWNED_FLAGS = {
    "persistence.file",
    "persistence.interval",
    "web.enable-admin-api",
    "web.listen-address",
    "web.config.file",
}


def _data_dir(c: Container) -> str:
    """Where its persistence file lives: the mount holding it, else /pushgateway."""
    file = flag_value(parse_flags(c.cmd), "persistence.file") or ""
    holders = [m for m in c.mounts if file.startswith(m.destination.rstrip("/") + "/")]
    if holders:
        return max(holders, key=lambda m: len(m.destination)).destination.rstrip("/")
    return posixpath.dirname(file) if file.startswith("/") else DATA_DIR


def facts(c: Container) -> KindFacts:
    flags = parse_flags(c.cmd)
    web = flag_value(flags, "web.config.file")
    return KindFacts(
        key="pushgateway",
        default_name="pushgateway",
        container_port=listen_port(flags, 9091),
        data_dir=_data_dir(c),
        default_data_dir=DATA_DIR,
        consumed=(web,) if web else (),
    )


def read_pushgateway(ctx: ExportContext, c: Container) -> dict[str, Any]:
    flags = parse_flags(c.cmd)
    file = flag_value(flags, "persistence.file")
    interval = flag_value(flags, "persistence.interval")
    persistence: dict[str, Any] = {"enabled": bool(file)}
    if file:
        persistence["file"] = file if file.startswith("/") else posixpath.join("/", file)
    if interval and DURATION.match(interval):
        persistence["interval"] = interval
    out: dict[str, Any] = {"persistence": persistence}
    admin = flag_value(flags, "web.enable-admin-api")
    if admin is not None:
        out["admin_api"] = admin in ("", "true")
    if auth := read_web_auth(ctx, c, flag_value(flags, "web.config.file")):
        out["web_auth"] = auth
    if extra := other_flags(flags, OWNED_FLAGS):
        out["extra_flags"] = extra
    if not file:
        ctx.note(
            f"{c.name}: the Pushgateway keeps pushed metrics in memory only: they are lost "
            "when its container is recreated (persistence.enabled keeps them)"
        )
    return out
