"""The fleet in the spec: ``environments.<env>.fleet`` (pure).

The hosts to monitor (reached over SSH, each with the address Prometheus scrapes and its
labels), the exporters every host runs (node-exporter, and any other exporter as a compose
fragment with its scrape settings), and per-host overrides of those.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import Field, ValidationError, field_validator, model_validator

from beast_observatory.kinds.model import COMPOSE_SERVICE_KEYS
from beast_observatory.kinds.node_exporter.model import NodeExporter
from beast_observatory.kinds.prometheus.model import SCRAPE_CONFIG_KEYS
from beast_observatory.spec.types import Config, LabelName, Model, Name, Port

# Scrape-config keys the fleet writes itself (each job reads its hosts from a file_sd file).
OWNED_SCRAPE_KEYS = frozenset(
    {"job_name", "static_configs", "file_sd_configs", "metrics_path", "scheme"}
)
# Labels a target group cannot set: the tool's own and Prometheus' reserved ones.
RESERVED_LABELS = frozenset({"host", "job"})


def _scrape_keys(value: Config) -> Config:
    unknown = sorted(
        k for k in value if (k not in SCRAPE_CONFIG_KEYS and not k.endswith("_sd_configs"))
    )
    owned = sorted(set(value) & OWNED_SCRAPE_KEYS)
    if unknown:
        raise ValueError(f"{', '.join(unknown)}: not a Prometheus scrape_config key")
    if owned:
        raise ValueError(
            f"{', '.join(owned)}: written by the fleet itself (job, metrics_path, scheme are "
            "fields of the exporter; the targets come from the fleet's hosts)"
        )
    return value


class FleetNodeExporter(NodeExporter):
    """node-exporter on every host of the fleet (every field of services.node_exporter), and
    how Prometheus scrapes it: at the host's address and ``port``."""

    enabled: bool = True
    job: Name | None = None
    """Scrape job name (default: fleet-node-exporter)."""
    scrape: Config = Field(default_factory=dict)
    """More keys of the scrape job, as prometheus.yml writes them (scrape_interval,
    scrape_timeout, relabel_configs, metric_relabel_configs, tls_config...)."""

    scrape_keys = field_validator("scrape")(_scrape_keys)


class ExtraExporter(Model):
    """Any other exporter (cAdvisor, a blackbox or postgres exporter...): its compose service,
    and where Prometheus scrapes it."""

    enabled: bool = True
    service: Config
    """The compose service, as services.extra takes it. Relative bind sources are files
    beside the spec, shipped to every host. Without ``ports`` (and without network_mode),
    ``port`` is published on the fleet's bind address; without ``restart``, unless-stopped."""
    port: Port
    """The host port Prometheus scrapes (at the host's address)."""
    container_port: Port | None = None
    """Where the exporter listens inside its container (default: port)."""
    metrics_path: str = "/metrics"
    """HTTP path of the metrics (also what apply asks to verify that the exporter answers)."""
    scheme: Literal["http", "https"] = "http"
    job: Name | None = None
    """Scrape job name (default: fleet-<name>)."""
    scrape: Config = Field(default_factory=dict)
    """More keys of the scrape job, as prometheus.yml writes them."""

    scrape_keys = field_validator("scrape")(_scrape_keys)

    @field_validator("service")
    @classmethod
    def _compose_keys(cls, value: Config) -> Config:
        unknown = sorted(
            k for k in value if k not in COMPOSE_SERVICE_KEYS and not k.startswith("x-")
        )
        if unknown:
            raise ValueError(f"{', '.join(unknown)}: not a compose service key")
        if "image" not in value and "build" not in value:
            raise ValueError("the compose service needs an image")
        return value

    @property
    def inner_port(self) -> int:
        return self.container_port or self.port


class FleetExporters(Model):
    """The exporters of a host: node-exporter and the others by name."""

    node_exporter: FleetNodeExporter = FleetNodeExporter()
    extra: dict[Name, ExtraExporter] = Field(default_factory=dict)


class HostExporters(Model):
    """A host's overrides of the fleet's exporters, deep-merged onto them (an extra exporter
    the fleet does not have is added whole to this host)."""

    node_exporter: dict[str, Any] = Field(default_factory=dict)
    extra: dict[Name, dict[str, Any]] = Field(default_factory=dict)


class HostSsh(Model):
    """How to reach a host; what is not said here comes from ~/.ssh/config."""

    host: str | None = None
    """Host name or ~/.ssh/config alias (default: the host's name in the fleet)."""
    user: str | None = None
    port: Port | None = None
    identity_file: str | None = None


class FleetHost(Model):
    """One monitored host."""

    ssh: HostSsh = HostSsh()
    address: str | None = None
    """Where Prometheus reaches the host's exporters (default: the ssh host name, which must
    then resolve for Prometheus too: give the address when it is an ssh config alias)."""
    labels: dict[LabelName, str] = Field(default_factory=dict)
    """Labels of this host's targets (site, role...), on top of the fleet's labels; the label
    ``host`` is always the host's name."""
    bind_address: str | None = None
    """Address the exporters publish their ports on (default: the fleet's)."""
    deploy_dir: str | None = None
    """Deploy directory on this host (default: the fleet's)."""
    exporters: HostExporters = HostExporters()
    """Overrides of the fleet's exporters on this host."""

    @field_validator("labels")
    @classmethod
    def _labels(cls, labels: dict[str, str]) -> dict[str, str]:
        return _unreserved(labels)


class Fleet(Model):
    """Hosts this environment monitors: each runs the exporters below in a compose project
    of its own (``<project>-exporters``), deployed over SSH with ``observatory fleet apply``;
    the environment's Prometheus scrapes them, finding them through file_sd files."""

    deploy_dir: str | None = None
    """Deploy directory on every host (default /opt/observatory/<project>-exporters)."""
    bind_address: str = "0.0.0.0"  # noqa: S104 - Prometheus scrapes from another host
    """Address the exporters publish their ports on, on every host (restrict it to the
    interface Prometheus comes in on, or firewall the ports)."""
    labels: dict[LabelName, str] = Field(default_factory=dict)
    """Labels of every host's targets (a host's own labels win)."""
    exporters: FleetExporters = FleetExporters()
    hosts: dict[Name, FleetHost] = Field(default_factory=dict)
    """The hosts, by name: the ``host`` label of their targets, and their ssh alias unless
    ``ssh.host`` says otherwise."""

    @field_validator("labels")
    @classmethod
    def _labels(cls, labels: dict[str, str]) -> dict[str, str]:
        return _unreserved(labels)

    @model_validator(mode="after")
    def _hosts(self) -> Fleet:
        for name, host in self.hosts.items():
            shared = _fleet_wide(self, host.exporters)
            if shared:
                raise ValueError(
                    f"hosts.{name}.exporters: {', '.join(shared)}: the same for every host "
                    "(one scrape job per exporter); set it in fleet.exporters"
                )
            try:
                resolved = host_exporters(self, name)
            except (ValueError, ValidationError) as exc:
                raise ValueError(f"hosts.{name}: {_said(exc)}") from None
            if not resolved.node_exporter.enabled and not any(
                e.enabled for e in resolved.extra.values()
            ):
                raise ValueError(f"hosts.{name}: no exporter is enabled on this host")
        return self


def _fleet_wide(fleet: Fleet, overrides: HostExporters) -> list[str]:
    """Settings of a shared scrape job that a host's overrides try to change."""
    keys = ("job", "scrape")
    found = [f"node_exporter.{k}" for k in keys if k in overrides.node_exporter]
    for name, override in sorted(overrides.extra.items()):
        if name in fleet.exporters.extra:
            found += [f"extra.{name}.{k}" for k in keys if k in override]
    return found


def _unreserved(labels: dict[str, str]) -> dict[str, str]:
    bad = sorted(k for k in labels if k in RESERVED_LABELS or k.startswith("__"))
    if bad:
        raise ValueError(
            f"label {', '.join(bad)}: set by the fleet itself (host is the host's name, job "
            "the exporter's scrape job; __* are Prometheus' own)"
        )
    return labels


def _said(exc: ValueError | ValidationError) -> str:
    if not isinstance(exc, ValidationError):
        return str(exc)
    parts = []
    for err in exc.errors():
        where = ".".join(str(p) for p in err["loc"])
        parts.append(f"exporters.{where}: {str(err['msg']).removeprefix('Value error, ')}")
    return "; ".join(parts)


def host_exporters(fleet: Fleet, name: str) -> FleetExporters:
    """The fleet's exporters with the host's overrides deep-merged onto them (pure)."""
    # spec.resolve imports the spec's models, which import this module.
    from beast_observatory.spec.resolve import choice_paths, deep_merge  # noqa: PLC0415

    overrides = fleet.hosts[name].exporters.model_dump(exclude_defaults=True)
    if not overrides:
        return fleet.exporters
    base = fleet.exporters.model_dump(by_alias=True)
    merged = deep_merge(base, overrides, choice_paths(fleet.exporters))
    return FleetExporters.model_validate(merged)
