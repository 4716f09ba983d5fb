"""pydantic v2 models of ``observatory.yaml``; the JSON Schema is generated from these.

Each kind of service keeps its model beside its renderer and reader (``kinds/*/model.py``);
this module assembles them into the spec: environments, services, networks and volumes.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import Field, StringConstraints, field_validator, model_validator

from beast_observatory.fleet.model import Fleet
from beast_observatory.kinds.alertmanager.model import Alertmanager
from beast_observatory.kinds.grafana.model import (
    DashboardProvider,
    Datasource,
    DeletedDatasource,
    Grafana,
)
from beast_observatory.kinds.model import COMPOSE_SERVICE_KEYS, DataStore, Healthcheck, Resources
from beast_observatory.kinds.node_exporter.model import NodeExporter
from beast_observatory.kinds.prometheus.model import (
    Alerting,
    GlobalConfig,
    Prometheus,
    Retention,
    RuleFile,
    ScrapeJob,
)
from beast_observatory.kinds.pushgateway.model import Persistence, Pushgateway
from beast_observatory.spec.types import (
    BCRYPT_RE,
    ByteSize,
    Choice,
    Config,
    Duration,
    EnvVarName,
    LabelName,
    Model,
    Name,
    Port,
    SecretRef,
    WebAuth,
)
from beast_observatory.swarm.model import Engine, SwarmSettings

SPEC_VERSION = 1

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
    extra: dict[Name, Config] = Field(
        default_factory=dict,
        description="Other services, as docker compose service fragments. Relative bind "
        "sources are files beside the spec, shipped with every release.",
    )

    @field_validator("extra")
    @classmethod
    def _fragment_shapes(cls, extra: dict[str, Config]) -> dict[str, Config]:
        """Compose's keys, with compose's shapes where the tool reads them itself."""
        for name, fragment in extra.items():
            unknown = sorted(
                k for k in fragment if k not in COMPOSE_SERVICE_KEYS and not k.startswith("x-")
            )
            if unknown:
                raise ValueError(f"{name}: {', '.join(unknown)}: not a compose service key")
            for key, shapes, words in _FRAGMENT_SHAPES:
                if key in fragment and not isinstance(fragment[key], shapes):
                    raise ValueError(f"{name}.{key} must be {words}, as in a compose file")
        return extra


class Network(Model):
    """A network of the stack, as compose declares it."""

    driver: str | None = "bridge"
    external: bool = False
    name: str | None = Field(None, description="Real name (default: <project>_<key>).")
    internal: bool | None = None
    attachable: bool | None = None
    enable_ipv6: bool | None = None
    driver_opts: dict[str, str] = Field(default_factory=dict)
    ipam: Config = Field(default_factory=dict)
    labels: dict[str, str] = Field(default_factory=dict)


class Volume(Model):
    """A named volume of the stack, as compose declares it."""

    driver: str | None = None
    external: bool = False
    name: str | None = Field(None, description="Real name (default: <project>_<key>).")
    driver_opts: dict[str, str] = Field(default_factory=dict)
    labels: dict[str, str] = Field(default_factory=dict)


class SshSettings(Model):
    host: str = Field(description="Host name or ~/.ssh/config alias.")
    user: str | None = None
    port: Port | None = None
    identity_file: str | None = None


class Environment(Model):
    description: str = ""
    engine: Engine = "compose"
    """What runs the stack: ``compose`` (one host) or ``swarm`` (a stack deployed on a Swarm
    manager, see docs/SWARM.md)."""
    swarm: SwarmSettings = SwarmSettings()
    ssh: SshSettings | None = Field(None, description="Absent: this machine.")
    deploy_dir: str | None = Field(
        None, description="Deploy directory on the host (default /opt/observatory/<project>)."
    )
    bind_address: str = Field("127.0.0.1", description="Address published ports listen on.")
    services: dict[str, dict[str, Any]] = Field(
        default_factory=dict,
        description="Overrides deep-merged onto `services` for this environment.",
    )
    networks: dict[str, dict[str, Any]] = Field(
        default_factory=dict,
        description="Overrides deep-merged onto `networks` for this environment.",
    )
    volumes: dict[str, dict[str, Any]] = Field(
        default_factory=dict,
        description="Overrides deep-merged onto `volumes` for this environment.",
    )
    fleet: Fleet | None = None
    """Hosts this environment's Prometheus monitors, with the exporters each runs
    (`observatory fleet plan` and `fleet apply`)."""


class Spec(Model):
    version: Literal[1] = 1
    project: Annotated[str, StringConstraints(pattern=r"^[a-z0-9][a-z0-9_-]*$", max_length=40)]
    environments: dict[Annotated[str, StringConstraints(pattern=r"^[a-z][a-z0-9-]*$")], Environment]
    services: Services = Services()
    networks: dict[Name, Network] = Field(default_factory=lambda: {"observatory": Network()})
    volumes: dict[Name, Volume] = Field(default_factory=dict)
    """Named volumes; a service's data volume needs no entry unless it has options."""

    @model_validator(mode="after")
    def _has_environments(self) -> Spec:
        if not self.environments:
            raise ValueError("define at least one environment (e.g. 'local')")
        return self


__all__ = [
    "BCRYPT_RE",
    "SPEC_VERSION",
    "Alerting",
    "Alertmanager",
    "ByteSize",
    "Choice",
    "DashboardProvider",
    "DataStore",
    "Datasource",
    "DeletedDatasource",
    "Duration",
    "EnvVarName",
    "Environment",
    "GlobalConfig",
    "Grafana",
    "Healthcheck",
    "LabelName",
    "Model",
    "Name",
    "Network",
    "NodeExporter",
    "Persistence",
    "Port",
    "Prometheus",
    "Pushgateway",
    "Resources",
    "Retention",
    "RuleFile",
    "ScrapeJob",
    "SecretRef",
    "Services",
    "Spec",
    "SshSettings",
    "Volume",
    "WebAuth",
]
