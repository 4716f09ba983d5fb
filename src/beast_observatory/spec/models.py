"""pydantic v2 models of ``observatory.yaml``; the JSON Schema is generated from these."""

from __future__ import annotations

import re
from typing import Annotated, Any, Literal

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    StringConstraints,
    field_validator,
    model_validator,
)

SPEC_VERSION = 1

Duration = Annotated[
    str,
    StringConstraints(
        pattern=r"^(\d+y)?(\d+w)?(\d+d)?(\d+h)?(\d+m)?(\d+s)?(\d+ms)?$", min_length=2
    ),
    Field(description="A Prometheus duration such as 15s, 5m, 1h30m or 30d."),
]
ByteSize = Annotated[
    str,
    StringConstraints(pattern=r"^\d+(B|KB|MB|GB|TB|PB|EB)$"),
    Field(description="A size with unit, such as 512MB or 50GB."),
]
Name = Annotated[str, StringConstraints(pattern=r"^[a-zA-Z0-9][a-zA-Z0-9_.-]*$", max_length=63)]
EnvVarName = Annotated[str, StringConstraints(pattern=r"^[A-Z_][A-Z0-9_]*$")]
Port = Annotated[int, Field(ge=1, le=65535)]
LabelName = Annotated[str, StringConstraints(pattern=r"^[a-zA-Z_][a-zA-Z0-9_]*$")]
BCRYPT_RE = re.compile(r"^\$2[aby]?\$\d\d\$[./A-Za-z0-9]{53}$")


class Model(BaseModel):
    model_config = ConfigDict(
        extra="forbid", frozen=True, populate_by_name=True, use_attribute_docstrings=True
    )


class Choice(Model):
    """A choice between alternatives (``env`` or ``file``): an environment override of it
    replaces it whole instead of being merged key by key, or both alternatives would be set."""


class SecretRef(Choice):
    """Where a secret comes from at deploy time: never its value."""

    env: EnvVarName | None = Field(None, description="Environment variable holding the secret.")
    file: str | None = Field(None, description="Path on the host of a file holding the secret.")

    @model_validator(mode="after")
    def _exactly_one(self) -> SecretRef:
        if (self.env is None) == (self.file is None):
            raise ValueError("give exactly one of 'env' or 'file'")
        return self


class WebAuth(Model):
    """Basic auth through the exporter-toolkit web config file (Prometheus, Pushgateway,
    Alertmanager): a bcrypt hash in the spec, or the name of a variable of the host's .env
    that holds it. Never a password."""

    username: Name
    password_hash: str | None = Field(
        None, description="bcrypt hash, e.g. from `htpasswd -nBC 10 '' | tr -d ':'`."
    )
    password_hash_env: EnvVarName | None = Field(
        None,
        description="Variable of the host's .env holding the bcrypt hash (single-quoted there, "
        "as it contains `$`); the web config is then written inside the container at start.",
    )

    @model_validator(mode="after")
    def _is_bcrypt(self) -> WebAuth:
        if (self.password_hash is None) == (self.password_hash_env is None):
            raise ValueError("give exactly one of 'password_hash' or 'password_hash_env'")
        if self.password_hash is not None and not BCRYPT_RE.match(self.password_hash):
            raise ValueError(
                "password_hash must be a bcrypt hash ($2b$...), never a clear password"
            )
        return self


class Healthcheck(Model):
    interval: Duration = "15s"
    """Time between health checks."""
    timeout: Duration = "5s"
    """Time one check may take."""
    retries: int = Field(5, ge=1, le=100)
    """Failed checks before the container counts as unhealthy."""
    start_period: Duration = "20s"
    """Grace period after start during which failures do not count."""


class Resources(Model):
    cpus: float | None = Field(None, gt=0, description="CPU limit, e.g. 1.5")
    memory: Annotated[str, StringConstraints(pattern=r"^\d+[bkmg]$")] | None = Field(
        None, description="Memory limit, e.g. 512m or 2g"
    )


class DataStore(Choice):
    """Where a service keeps its data: a named volume (default) or a bind path on the host."""

    volume: Name | None = None
    """Named volume (default: <service>-data, prefixed by compose with the project)."""
    path: str | None = Field(None, description="Absolute host path for a bind mount.")

    @model_validator(mode="after")
    def _one(self) -> DataStore:
        if self.volume is not None and self.path is not None:
            raise ValueError("give either 'volume' or 'path', not both")
        if self.path is not None and not self.path.startswith("/"):
            raise ValueError("'path' must be absolute")
        return self


class ServiceBase(Model):
    enabled: bool = True
    """Run this service in the environment."""
    image: str
    port: Port = Field(description="Host port the service is published on.")
    publish: bool = Field(True, description="Publish the port on the environment's bind address.")
    bind_address: str | None = Field(None, description="Overrides the environment's bind address.")
    restart: Literal["no", "always", "on-failure", "unless-stopped"] = "unless-stopped"
    """Docker restart policy."""
    healthcheck: Healthcheck = Healthcheck()
    """Timing of the container healthcheck (an HTTP readiness check)."""
    resources: Resources = Resources()
    """CPU and memory limits."""
    environment: dict[EnvVarName, str] = Field(
        default_factory=dict, description="Extra non-secret environment variables."
    )
    data: DataStore = DataStore()
    """Where the service keeps its data."""
    extra_flags: list[str] = Field(default_factory=list, description="Extra command-line flags.")
    networks: list[Name] = Field(default_factory=lambda: ["observatory"])


class ScrapeJob(Model):
    name: Name
    """job_name in prometheus.yml."""
    targets: list[str] = Field(min_length=1, description="host:port targets.")
    labels: dict[LabelName, str] = Field(default_factory=dict)
    """Labels added to every target of the job."""
    honor_labels: bool = False
    """Keep the scraped job/instance labels (required for a Pushgateway)."""
    metrics_path: str = "/metrics"
    """HTTP path of the metrics."""
    scheme: Literal["http", "https"] = "http"
    """http or https."""
    scrape_interval: Duration | None = None
    """Overrides the global scrape interval."""
    scrape_timeout: Duration | None = None
    """Overrides the global scrape timeout."""
    params: dict[str, list[str]] = Field(default_factory=dict)
    """URL parameters of the scrape request."""


class RuleFile(Model):
    """Alerting and recording rules: a file by path (relative to the spec) or inline groups."""

    name: Name = Field(description="Rendered as prometheus/rules/<name>.yml.")
    path: str | None = None
    """Rule file relative to the spec."""
    groups: list[dict[str, Any]] | None = None
    """Inline rule groups, as in a Prometheus rule file."""

    @model_validator(mode="after")
    def _one(self) -> RuleFile:
        if (self.path is None) == (self.groups is None):
            raise ValueError("give exactly one of 'path' or 'groups'")
        return self


class Retention(Model):
    time: Duration | None = "15d"
    """--storage.tsdb.retention.time (a restart, data kept)."""
    size: ByteSize | None = None
    """--storage.tsdb.retention.size."""


class GlobalConfig(Model):
    scrape_interval: Duration = "15s"
    """Default scrape interval."""
    scrape_timeout: Duration | None = None
    """Default scrape timeout."""
    evaluation_interval: Duration = "15s"
    """How often rules are evaluated."""
    external_labels: dict[LabelName, str] = Field(default_factory=dict)
    """Labels added to every series sent outside (federation, remote write, alerts)."""


class Prometheus(ServiceBase):
    image: str = "prom/prometheus:v2.53.2"
    port: Port = 9090
    retention: Retention = Retention()
    """How long and how much data Prometheus keeps."""
    global_: GlobalConfig = Field(GlobalConfig(), alias="global")
    scrape_self: bool = Field(True, description="Scrape Prometheus itself (job 'prometheus').")
    scrape_jobs: list[ScrapeJob] = Field(default_factory=list)
    """Scrape jobs besides the automatic ones for the stack's own services."""
    rule_files: list[RuleFile] = Field(default_factory=list)
    """Alerting and recording rules, rendered to prometheus/rules/<name>.yml."""
    web_auth: WebAuth | None = None
    """Basic auth on Prometheus' web endpoints."""


class Persistence(Model):
    enabled: bool = True
    """Keep pushed metrics across restarts (--persistence.file)."""
    interval: Duration = "5m"
    """How often the persistence file is written."""
    file: Annotated[str, StringConstraints(pattern=r"^/pushgateway/[^/]+$")] = (
        "/pushgateway/pushgateway.db"
    )
    """The persistence file, inside the data volume mounted at /pushgateway."""


class Pushgateway(ServiceBase):
    image: str = "prom/pushgateway:v1.9.0"
    port: Port = 9091
    persistence: Persistence = Persistence()
    """Persistence of pushed metrics."""
    admin_api: bool = Field(False, description="Enable the admin API (wipe all metrics).")
    web_auth: WebAuth | None = None
    """Basic auth on the Pushgateway (note: Prometheus then does not scrape it)."""


class Datasource(Model):
    name: str
    """Name shown in Grafana."""
    type: str
    """Datasource plugin type, e.g. prometheus, loki."""
    uid: Annotated[str, StringConstraints(pattern=r"^[a-zA-Z0-9_-]{1,40}$")]
    """Stable uid that dashboards reference."""
    url: str
    """URL Grafana (or the browser, for access: direct) reaches it at."""
    access: Literal["proxy", "direct"] = "proxy"
    """proxy (through Grafana) or direct (from the browser)."""
    is_default: bool = False
    """Make it the default datasource instead of Prometheus."""
    json_data: dict[str, Any] = Field(default_factory=dict)
    """jsonData of the datasource; secrets only as $VAR references."""


class DashboardProvider(Model):
    name: Name
    """Provider name; dashboards land in grafana/dashboards/<name>/."""
    folder: str = ""
    """Grafana folder the dashboards appear in."""
    files: list[str] = Field(min_length=1, description="Paths or globs relative to the spec.")
    allow_ui_updates: bool = False
    """Let users save changes in the UI (they are lost on the next provisioning)."""
    update_interval_seconds: int = Field(30, ge=10)
    """How often Grafana re-reads the dashboard files."""


def _default_providers() -> list[DashboardProvider]:
    return [
        DashboardProvider(name="observatory", folder="Observatory", files=["dashboards/*.json"])
    ]


class Grafana(ServiceBase):
    image: str = "grafana/grafana-oss:11.2.0"
    port: Port = 3000
    admin_user: str = "admin"
    """Grafana admin login."""
    admin_password: SecretRef = SecretRef(env="GRAFANA_ADMIN_PASSWORD")
    """Where the admin password comes from: an env variable or a host file, never a literal."""
    ini: dict[Name, dict[Name, str | int | bool]] = Field(
        default_factory=dict, description="grafana.ini sections; secrets only as $__env{VAR}."
    )
    datasources: list[Datasource] = Field(default_factory=list)
    """Datasources besides the automatic Prometheus one (uid `prometheus`)."""
    dashboards: list[DashboardProvider] = Field(default_factory=_default_providers)
    plugins: list[str] = Field(default_factory=list)


class Alertmanager(ServiceBase):
    enabled: bool = False
    image: str = "prom/alertmanager:v0.27.0"
    port: Port = 9093
    config_path: str | None = Field(None, description="alertmanager.yml relative to the spec.")
    config: dict[str, Any] | None = Field(None, description="Inline alertmanager.yml.")
    web_auth: WebAuth | None = None


class NodeExporter(ServiceBase):
    enabled: bool = False
    image: str = "prom/node-exporter:v1.8.2"
    port: Port = 9100


_FRAGMENT_SHAPES: tuple[tuple[str, type | tuple[type, ...], str], ...] = (
    ("ports", list, "a list such as ['127.0.0.1:5432:5432']"),
    ("environment", (dict, list), "a mapping or a list of NAME=value"),
    ("labels", (dict, list), "a mapping or a list of name=value"),
    ("volumes", list, "a list"),
    ("networks", (dict, list), "a list or a mapping"),
    ("image", str, "a string"),
)


class Services(Model):
    prometheus: Prometheus = Prometheus()
    pushgateway: Pushgateway = Pushgateway()
    grafana: Grafana = Grafana()
    alertmanager: Alertmanager = Alertmanager()
    node_exporter: NodeExporter = NodeExporter()
    extra: dict[Name, dict[str, Any]] = Field(
        default_factory=dict, description="Other services, as docker compose service fragments."
    )

    @field_validator("extra")
    @classmethod
    def _fragment_shapes(cls, extra: dict[str, dict[str, Any]]) -> dict[str, dict[str, Any]]:
        """The keys the tool reads itself must have compose's shapes (the rest is compose's)."""
        for name, fragment in extra.items():
            for key, shapes, words in _FRAGMENT_SHAPES:
                if key in fragment and not isinstance(fragment[key], shapes):
                    raise ValueError(f"{name}.{key} must be {words}, as in a compose file")
        return extra


class Network(Model):
    driver: str = "bridge"
    external: bool = False
    name: str | None = Field(None, description="Real name of an external network.")


class SshSettings(Model):
    host: str = Field(description="Host name or ~/.ssh/config alias.")
    user: str | None = None
    port: Port | None = None
    identity_file: str | None = None


class Environment(Model):
    description: str = ""
    ssh: SshSettings | None = Field(None, description="Absent: this machine.")
    deploy_dir: str | None = Field(
        None, description="Deploy directory on the host (default /opt/observatory/<project>)."
    )
    bind_address: str = Field("127.0.0.1", description="Address published ports listen on.")
    services: dict[str, dict[str, Any]] = Field(
        default_factory=dict,
        description="Overrides deep-merged onto `services` for this environment.",
    )


class Spec(Model):
    version: Literal[1] = 1
    project: Annotated[str, StringConstraints(pattern=r"^[a-z0-9][a-z0-9_-]*$", max_length=40)]
    environments: dict[Annotated[str, StringConstraints(pattern=r"^[a-z][a-z0-9-]*$")], Environment]
    services: Services = Services()
    networks: dict[Name, Network] = Field(default_factory=lambda: {"observatory": Network()})

    @model_validator(mode="after")
    def _has_environments(self) -> Spec:
        if not self.environments:
            raise ValueError("define at least one environment (e.g. 'local')")
        return self
