"""Alertmanager: alertmanager.yml, its other files, the web config and the compose service
(pure). ``read.py`` is the inverse."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from beast_observatory.bundle.bundle import key_ordered, yaml_file
from beast_observatory.kinds.alertmanager.model import DATA_DIR
from beast_observatory.kinds.alertmanager.versions import flags_for
from beast_observatory.kinds.entrypoint import runtime_entrypoint
from beast_observatory.kinds.prometheus.render import route_prefix
from beast_observatory.kinds.secretfiles import secret_mounts
from beast_observatory.kinds.service import KindParts
from beast_observatory.kinds.webauth import web_config, web_config_flag
from beast_observatory.names import HEADER
from beast_observatory.spec.resolve import Stack

FOLDER = "alertmanager"
# alertmanager.yml's sections and a route's keys in the order of Alertmanager's documentation.
KEY_ORDER = (
    "global",
    "templates",
    "route",
    "receivers",
    "inhibit_rules",
    "time_intervals",
    "name",
    "receiver",
    "group_by",
    "matchers",
    "continue",
)
DEFAULT_CONFIG: dict[str, Any] = {
    "route": {"receiver": "default", "group_by": ["alertname", "job"]},
    "receivers": [{"name": "default"}],
}


def alertmanager_flags(stack: Stack) -> list[str]:
    am = stack.services.alertmanager
    target = am.data.target if am.data is not None and am.data.target else DATA_DIR
    flags = [
        f"--config.file={am.config_dir}/alertmanager.yml",
        f"--storage.path={target}",
        f"--web.listen-address=:{am.container_port}",
    ]
    if am.cluster_listen_address is not None:
        # "": a single instance, no gossip port to expose or secure.
        flags.append(f"--cluster.listen-address={am.cluster_listen_address}")
    flags += web_config_flag(am.web_auth, am.config_dir)
    # extra_flags as the image's release reads them (kinds/alertmanager/versions.py).
    return flags + flags_for(am)[0]


def render_files(stack: Stack, assets: Mapping[str, bytes]) -> dict[str, bytes]:
    am = stack.services.alertmanager
    if am.config_path is not None:
        config = assets[am.config_path]
    else:
        config = yaml_file(key_ordered(am.config or DEFAULT_CONFIG, KEY_ORDER), HEADER)
    files = {f"{FOLDER}/alertmanager.yml": config}
    for relative, source in sorted(am.files.items()):
        files[f"{FOLDER}/{relative}"] = assets[source]
    if am.web_auth and (web := web_config(am.web_auth)):
        files[f"{FOLDER}/web.yml"] = web
    return files


def compose_parts(stack: Stack) -> KindParts:
    am = stack.services.alertmanager
    extra, env = runtime_entrypoint("alertmanager", am.web_auth, am.secrets)
    flags = alertmanager_flags(stack)
    return KindParts(
        command=flags,
        ready_path=f"{route_prefix(flags)}/-/ready",
        config_mount=(FOLDER, am.config_dir),
        data_dir=DATA_DIR,
        behind_auth=am.web_auth is not None,
        environment=env,
        extra=extra,
        mounts=secret_mounts(am.secrets),
    )
