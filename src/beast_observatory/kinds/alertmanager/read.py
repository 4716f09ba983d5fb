"""A running Alertmanager read back as its spec section (pure): the inverse of ``render.py``."""

from __future__ import annotations

import posixpath
from typing import Any

from beast_observatory.discover.context import (
    ExportContext,
    env_mapping,
    flag_value,
    glob_segments,
    other_flags,
    parse_flags,
)
from beast_observatory.host.probe.inventory import Container
from beast_observatory.kinds.alertmanager.model import CONFIG_DIR, DATA_DIR
from beast_observatory.kinds.prometheus.read import listen_port
from beast_observatory.kinds.read import KindFacts
from beast_observatory.kinds.secretfiles import carry_text, runtime_secrets
from beast_observatory.kinds.webauth import read_web_auth
from beast_observatory.yamlio import YamlError, load_yaml

OWNED_FLAGS = {
    "config.file",
    "storage.path",
    "cluster.listen-address",
    "web.listen-address",
    "web.config.file",
}


def config_path(c: Container) -> str:
    path = flag_value(parse_flags(c.cmd), "config.file") or f"{CONFIG_DIR}/alertmanager.yml"
    return path if path.startswith("/") else posixpath.join("/alertmanager", path)


def _absolute(path: str) -> str:
    return path.rstrip("/") if path.startswith("/") else posixpath.join("/alertmanager", path)


def facts(c: Container) -> KindFacts:
    flags = parse_flags(c.cmd)
    return KindFacts(
        key="alertmanager",
        default_name="alertmanager",
        container_port=listen_port(flags, 9093),
        data_dir=_absolute(flag_value(flags, "storage.path") or DATA_DIR),
        default_data_dir=DATA_DIR,
        consumed=(posixpath.dirname(config_path(c)),),
    )


def _templates(ctx: ExportContext, c: Container, text: str, config_dir: str) -> dict[str, str]:
    """Notification templates in the config directory that alertmanager.yml loads."""
    try:
        doc = load_yaml(text, "alertmanager.yml")
    except YamlError:
        return {}
    patterns = doc.get("templates") if isinstance(doc, dict) else None
    out = {}
    for pattern in patterns if isinstance(patterns, list) else []:
        full = posixpath.normpath(posixpath.join(config_dir, str(pattern)))
        for path, record in sorted(ctx.files_of(c).items()):
            if glob_segments(full, path) and path.startswith(config_dir + "/"):
                if record.content is None:
                    ctx.note(f"{c.name}: template {path} could not be read ({record.error})")
                    continue
                relative = path[len(config_dir) + 1 :]
                out[relative] = ctx.add_file(f"alertmanager/{relative}", record.content)
    return out


def read_alertmanager(ctx: ExportContext, c: Container) -> dict[str, Any]:
    flags = parse_flags(c.cmd)
    path = config_path(c)
    config_dir = posixpath.dirname(path)
    out: dict[str, Any] = {"cluster_listen_address": flag_value(flags, "cluster.listen-address")}
    if config_dir != CONFIG_DIR:
        out["config_dir"] = config_dir
    text = ctx.config_text(c, path, "Alertmanager config")
    if text is not None:
        secrets: dict[str, str] = {}
        text = carry_text(text, secrets, "ALERTMANAGER")
        written = env_mapping((ctx.fragment(c) or {}).get("environment"))
        secrets.update(runtime_secrets(c.entrypoint, written))  # written at start from .env
        out["config_path"] = ctx.add_file("alertmanager/alertmanager.yml", text)
        if secrets:
            out["secrets"] = {
                n: {"env": ctx.secret_env(v, f"alertmanager.yml: {n}")[2:-1]}
                for n, v in secrets.items()
            }
        if files := _templates(ctx, c, text, config_dir):
            out["files"] = files
    if auth := read_web_auth(ctx, c, flag_value(flags, "web.config.file")):
        out["web_auth"] = auth
    if extra := other_flags(flags, OWNED_FLAGS):
        out["extra_flags"] = extra
    return out
