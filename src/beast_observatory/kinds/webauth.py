"""Basic auth of Prometheus, the Pushgateway and Alertmanager: exporter-toolkit's web config
file (https://prometheus.io/docs/prometheus/latest/configuration/https/), rendered or, with
the hash in the host's .env, written inside the container at start (pure)."""

from __future__ import annotations

from typing import Any

from beast_observatory.bundle.bundle import key_ordered, yaml_file
from beast_observatory.names import HEADER
from beast_observatory.spec.types import WebAuth

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


# The web config written at container start from the host's .env (a bcrypt hash has `$` in
# it: `$$` below is compose's escape for a literal `$` reaching the shell).
_WRITE_WEB_CONFIG = (
    'printf \'basic_auth_users:\\n  %s: "%s"\\n\' "$$OBSERVATORY_WEB_USER" '
    f'"$$OBSERVATORY_WEB_PASSWORD_HASH" > {RUNTIME_WEB_CONFIG} && exec /bin/{{binary}} "$$@"'
)


def runtime_web_config(auth: WebAuth | None, binary: str) -> tuple[dict[str, Any], dict[str, str]]:
    """(compose keys, environment) of a service whose hash comes from the host's .env: a
    small shell entrypoint writes the web config, then execs the server with the compose
    command as its arguments (upstream images carry busybox sh)."""
    if auth is None or auth.password_hash_env is None:
        return {}, {}
    variable = auth.password_hash_env
    env = {
        "OBSERVATORY_WEB_USER": auth.username,
        "OBSERVATORY_WEB_PASSWORD_HASH": (
            f"${{{variable}:?set {variable} (the bcrypt hash, in single quotes) in .env}}"
        ),
    }
    script = _WRITE_WEB_CONFIG.replace("{binary}", binary)
    return {"entrypoint": ["/bin/sh", "-c", script, binary]}, env
