"""Grafana in the spec: grafana.ini, provisioned data sources and dashboard providers, with
every field Grafana's provisioning reads.

Formats: https://grafana.com/docs/grafana/latest/administration/provisioning/
"""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import AliasChoices, Field, StringConstraints

from beast_observatory.kinds.model import ServiceBase
from beast_observatory.spec.types import (
    Config,
    ContainerPath,
    Model,
    PassThrough,
    Port,
    SecretRef,
)

CONFIG_DIR = "/etc/grafana"
DATA_DIR = "/var/lib/grafana"
Uid = Annotated[str, StringConstraints(pattern=r"^[a-zA-Z0-9_.-]{1,40}$")]
IniValue = str | int | float | bool


def _alias(snake: str, camel: str) -> AliasChoices:
    return AliasChoices(snake, camel)


class Datasource(PassThrough):
    """A provisioned data source. Absent fields stay absent (Grafana's defaults apply); keys
    besides these are written as they are. Secrets only in secure_json_data, as references
    ($__env{VAR}, $__file{/path})."""

    name: str
    """Name shown in Grafana (dashboards may refer to it)."""
    type: str
    """Data source plugin type, e.g. prometheus, loki."""
    uid: Uid | None = None
    """Stable uid that dashboards reference (absent: Grafana makes one)."""
    url: str | None = None
    """URL Grafana (or the browser, for access: direct) reaches it at."""
    access: Literal["proxy", "direct"] | None = None
    """proxy (through Grafana, the default) or direct (from the browser)."""
    org_id: int | None = Field(None, validation_alias=_alias("org_id", "orgId"))
    is_default: bool | None = Field(None, validation_alias=_alias("is_default", "isDefault"))
    """Make it the default data source."""
    editable: bool | None = None
    basic_auth: bool | None = Field(None, validation_alias=_alias("basic_auth", "basicAuth"))
    basic_auth_user: str | None = Field(
        None, validation_alias=_alias("basic_auth_user", "basicAuthUser")
    )
    user: str | None = None
    database: str | None = None
    with_credentials: bool | None = Field(
        None, validation_alias=_alias("with_credentials", "withCredentials")
    )
    version: int | None = None
    json_data: Config = Field(
        default_factory=dict, validation_alias=_alias("json_data", "jsonData")
    )
    """jsonData of the data source; secrets only as references."""
    secure_json_data: dict[str, str] = Field(
        default_factory=dict, validation_alias=_alias("secure_json_data", "secureJsonData")
    )
    """secureJsonData: each value a reference ($__env{VAR}, $__file{/path}), never a secret."""


class DeletedDatasource(Model):
    """A data source Grafana deletes at start (deleteDatasources)."""

    name: str
    org_id: int | None = Field(None, validation_alias=_alias("org_id", "orgId"))


class DashboardProvider(PassThrough):
    """A dashboard provider and the dashboard files it provisions. Absent fields stay absent
    (Grafana's defaults apply); keys besides these are written as they are."""

    name: str
    """Provider name; its dashboards land in grafana/dashboards/<name>/."""
    files: list[str] = Field(min_length=1)
    """Paths or globs relative to the spec. Below a glob's fixed folder the layout is kept
    (dashboards/infra/**/*.json keeps infra's sub-folders)."""
    org_id: int | None = Field(None, validation_alias=_alias("org_id", "orgId"))
    folder: str | None = None
    """Grafana folder the dashboards appear in."""
    folder_uid: str | None = Field(None, validation_alias=_alias("folder_uid", "folderUid"))
    type: str | None = None
    disable_deletion: bool | None = Field(
        None, validation_alias=_alias("disable_deletion", "disableDeletion")
    )
    editable: bool | None = None
    allow_ui_updates: bool | None = Field(
        None, validation_alias=_alias("allow_ui_updates", "allowUiUpdates")
    )
    """Let users save changes in the UI (they are lost on the next provisioning)."""
    update_interval_seconds: int | None = Field(
        None, ge=1, validation_alias=_alias("update_interval_seconds", "updateIntervalSeconds")
    )
    """How often Grafana re-reads the dashboard files."""
    folders_from_files_structure: bool | None = Field(
        None, validation_alias=_alias("folders_from_files_structure", "foldersFromFilesStructure")
    )
    """Make a Grafana folder of every sub-folder of the files."""
    options: Config = Field(default_factory=dict)
    """Other provider options, as Grafana reads them (path is the tool's)."""


def _default_providers() -> list[DashboardProvider]:
    return [
        DashboardProvider(
            name="observatory",
            folder="Observatory",
            files=["dashboards/*.json"],
            disable_deletion=True,
            update_interval_seconds=30,
        )
    ]


class Grafana(ServiceBase):
    image: str = "grafana/grafana:12.4.11"
    container_port: Port = 3000
    port: Port | None = 3000
    config_dir: ContainerPath = CONFIG_DIR
    """Where grafana.ini, provisioning/ and dashboards/ are mounted."""
    admin_user: str | None = "admin"
    """Grafana admin login (GF_SECURITY_ADMIN_USER; null: not set)."""
    admin_password: SecretRef | None = SecretRef(env="GRAFANA_ADMIN_PASSWORD")
    """Where the admin password comes from: an env variable or a host file, never a literal
    (null: not set, Grafana's default)."""
    base_ini: bool = True
    """Start grafana.ini from the tool's settings (no update checks or analytics, no sign-up,
    no gravatar); `ini` overrides them key by key. false: only `ini`."""
    ini: dict[str, dict[str, IniValue]] = Field(default_factory=dict)
    """grafana.ini sections ("" for the keys before the first section); secrets only as
    $__env{VAR} or $__file{/path}."""
    prometheus_datasource: bool = True
    """Provision the stack's own Prometheus as data source (uid prometheus)."""
    datasources: list[Datasource] = Field(default_factory=list)
    """Data sources besides the automatic Prometheus one."""
    delete_datasources: list[DeletedDatasource] = Field(default_factory=list)
    """Data sources Grafana deletes at start (deleteDatasources)."""
    dashboards: list[DashboardProvider] = Field(default_factory=_default_providers)
    plugins: list[str] = Field(default_factory=list)
    """Plugins installed at start (GF_INSTALL_PLUGINS)."""
