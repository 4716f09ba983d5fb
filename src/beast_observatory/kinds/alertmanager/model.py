"""Alertmanager in the spec."""

from __future__ import annotations

from typing import Any

from pydantic import Field

from beast_observatory.kinds.model import ServiceBase
from beast_observatory.spec.types import ContainerPath, Name, Port, SecretRef, WebAuth

DATA_DIR = "/alertmanager"
CONFIG_DIR = "/etc/alertmanager"


class Alertmanager(ServiceBase):
    enabled: bool = False
    image: str = "prom/alertmanager:v0.34.1"
    container_port: Port = 9093
    port: Port | None = 9093
    config_dir: ContainerPath = CONFIG_DIR
    """Where the rendered configuration is mounted (alertmanager.yml, files)."""
    config_path: str | None = Field(None, description="alertmanager.yml relative to the spec.")
    config: dict[str, Any] | None = Field(None, description="Inline alertmanager.yml.")
    files: dict[str, str] = Field(default_factory=dict)
    """More files in the config directory (notification templates): path relative to
    config_dir -> file beside the spec."""
    cluster_listen_address: str | None = ""
    """--cluster.listen-address: "" turns clustering off (a single Alertmanager); null leaves
    Alertmanager's default (0.0.0.0:9094)."""
    secrets: dict[Name, SecretRef] = Field(default_factory=dict)
    """Secrets the configuration reads from files: name -> its variable in the host's .env
    (or a file on the host). The configuration names them as
    /tmp/observatory-secrets/<name> (password_file, api_url_file, credentials_file...)."""
    web_auth: WebAuth | None = None
