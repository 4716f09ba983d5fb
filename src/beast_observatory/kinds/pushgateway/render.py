"""The Pushgateway: its web config and compose service (pure). ``read.py`` is the inverse."""

from __future__ import annotations

from beast_observatory.kinds.entrypoint import runtime_entrypoint
from beast_observatory.kinds.prometheus.render import route_prefix
from beast_observatory.kinds.pushgateway.model import DATA_DIR, Pushgateway
from beast_observatory.kinds.service import KindParts
from beast_observatory.kinds.webauth import web_config, web_config_flag
from beast_observatory.spec.resolve import Stack

FOLDER = "pushgateway"
CONFIG_DIR = "/etc/pushgateway"


def pushgateway_flags(pg: Pushgateway) -> list[str]:
    flags = [f"--web.listen-address=:{pg.container_port}"]
    if pg.persistence.enabled:
        flags += [
            f"--persistence.file={pg.persistence.file}",
            f"--persistence.interval={pg.persistence.interval}",
        ]
    if pg.admin_api:
        flags.append("--web.enable-admin-api")
    flags += web_config_flag(pg.web_auth, CONFIG_DIR)
    return flags + list(pg.extra_flags)


def render_files(stack: Stack) -> dict[str, bytes]:
    pg = stack.services.pushgateway
    if pg.web_auth and (web := web_config(pg.web_auth)):
        return {f"{FOLDER}/web.yml": web}
    return {}


def compose_parts(stack: Stack) -> KindParts:
    pg = stack.services.pushgateway
    extra, env = runtime_entrypoint("pushgateway", pg.web_auth, {})
    with_file = pg.web_auth is not None and pg.web_auth.password_hash is not None
    flags = pushgateway_flags(pg)
    return KindParts(
        command=flags,
        ready_path=f"{route_prefix(flags)}/-/ready",
        config_mount=(FOLDER, CONFIG_DIR) if with_file else None,
        data_dir=DATA_DIR,
        behind_auth=pg.web_auth is not None,
        environment=env,
        extra=extra,
    )
