"""Basic auth of Prometheus, the Pushgateway and Alertmanager: exporter-toolkit's web config
file (https://prometheus.io/docs/prometheus/latest/configuration/https/), rendered or, with
the hash in the host's .env, written inside the container at start; and read back (pure)."""

from __future__ import annotations

from typing import Any

from beast_observatory.bundle.bundle import key_ordered, yaml_file
from beast_observatory.discover.context import ExportContext
from beast_observatory.host.probe.inventory import Container
from beast_observatory.names import HEADER
from beast_observatory.spec.types import BCRYPT_RE, WebAuth

# Where the web config is written inside the container when its hash comes from .env.
RUNTIME_WEB_CONFIG = "/tmp/observatory-web.yml"  # noqa: S108 - inside the container, per start


def web_config_data(auth: WebAuth) -> dict[str, Any]:
    users = {auth.username: auth.password_hash, **auth.users}
    return {**key_ordered(auth.extra), "basic_auth_users": dict(sorted(users.items()))}


def web_config(auth: WebAuth) -> bytes | None:
    """exporter-toolkit web config (re-read on every request: no restart), or None when the
    hash comes from the host's .env and is written inside the container instead."""
    if auth.password_hash is None:
        return None
    return yaml_file(web_config_data(auth), HEADER)


def web_config_flag(auth: WebAuth | None, config_dir: str) -> list[str]:
    if auth is None:
        return []
    path = f"{config_dir}/web.yml" if auth.password_hash else RUNTIME_WEB_CONFIG
    return [f"--web.config.file={path}"]


def read_web_auth(ctx: ExportContext, c: Container, path: str | None) -> dict[str, Any] | None:
    """The web config a container runs with, as the spec's web_auth: the inverse of
    web_config (every user's bcrypt hash, TLS and HTTP settings kept)."""
    if path is None:
        return None
    if path == RUNTIME_WEB_CONFIG and (written := _runtime_web_auth(ctx, c)):
        return written
    doc = ctx.config_yaml(c, path, "web config")
    users = doc.get("basic_auth_users") if isinstance(doc, dict) else None
    if not isinstance(users, dict) or not users:
        ctx.note(f"{c.name}: no basic-auth user in {path}: web_auth left out")
        return None
    hashes = {str(k): str(v) for k, v in sorted(users.items())}
    bad = [user for user, digest in hashes.items() if not BCRYPT_RE.match(digest)]
    if bad:
        ctx.note(f"{c.name}: the passwords of {', '.join(bad)} in {path} are no bcrypt hashes")
        return None
    first = next(iter(hashes))
    out: dict[str, Any] = {"username": first, "password_hash": hashes.pop(first)}
    if hashes:
        out["users"] = hashes
    extra = (
        {k: v for k, v in doc.items() if k != "basic_auth_users"} if isinstance(doc, dict) else {}
    )
    if extra:
        out["extra"] = extra
    return out


def _runtime_web_auth(ctx: ExportContext, c: Container) -> dict[str, Any] | None:
    """The web_auth whose hash the tool's entrypoint writes from the host's .env."""
    from beast_observatory.discover.context import env_mapping, reference_name  # noqa: PLC0415

    written = env_mapping((ctx.fragment(c) or {}).get("environment"))
    variable = reference_name(written.get("OBSERVATORY_WEB_PASSWORD_HASH"))
    user = c.env.get("OBSERVATORY_WEB_USER")
    if variable is None or not user:
        return None
    ctx.secrets.add(variable)
    return {"username": user, "password_hash_env": variable}
