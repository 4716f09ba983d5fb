"""Each host of a fleet as the renderers and the deployer need it (pure): its ssh settings,
the address Prometheus scrapes, its labels and its exporters (the fleet's, with its own
overrides), and each exporter as a scrape target.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from fnmatch import fnmatchcase

from beast_observatory.errors import ObservatoryError
from beast_observatory.fleet.model import Fleet, FleetExporters, HostSsh, host_exporters
from beast_observatory.kinds.model import KIND_NAMES
from beast_observatory.spec.types import Config

NODE_EXPORTER = KIND_NAMES["node_exporter"]  # "node-exporter": its compose service and file


@dataclass(frozen=True)
class Scraped:
    """One exporter of a host as Prometheus scrapes it."""

    name: str  # node-exporter, or the extra exporter's name: its compose service
    job: str
    port: int
    metrics_path: str
    scheme: str
    scrape: Config = field(default_factory=dict)
    enabled: bool = True


def scraped(exporters: FleetExporters) -> list[Scraped]:
    """Every exporter as Prometheus scrapes it, node-exporter first, the others by name."""
    ne = exporters.node_exporter
    out = []
    if ne.port is not None:
        job = ne.job or f"fleet-{NODE_EXPORTER}"
        out.append(Scraped(NODE_EXPORTER, job, ne.port, "/metrics", "http", ne.scrape, ne.enabled))
    for name, extra in sorted(exporters.extra.items()):
        out.append(
            Scraped(
                name,
                extra.job or f"fleet-{name}",
                extra.port,
                extra.metrics_path,
                extra.scheme,
                extra.scrape,
                extra.enabled,
            )
        )
    return out


@dataclass(frozen=True)
class FleetMember:
    """One host of the fleet, resolved."""

    name: str
    ssh: HostSsh  # ssh.host is set
    address: str
    labels: Mapping[str, str]  # host, the fleet's, the host's own (sorted)
    bind_address: str
    exporters: FleetExporters
    deploy_dir: str | None = None  # None: the fleet's

    def scraped(self) -> list[Scraped]:
        """The exporters enabled on this host, node-exporter first, the others by name."""
        return [e for e in scraped(self.exporters) if e.enabled]


def target(address: str, port: int) -> str:
    """host:port as Prometheus writes a target ([v6]:port for an IPv6 address)."""
    host = f"[{address}]" if ":" in address and not address.startswith("[") else address
    return f"{host}:{port}"


def members(fleet: Fleet | None) -> list[FleetMember]:
    """Every host of the fleet, by name."""
    if fleet is None:
        return []
    out = []
    for name, host in sorted(fleet.hosts.items()):
        ssh = host.ssh.model_copy(update={"host": host.ssh.host or name})
        labels = {**fleet.labels, **host.labels, "host": name}
        out.append(
            FleetMember(
                name=name,
                ssh=ssh,
                address=host.address or str(ssh.host),
                labels=dict(sorted(labels.items())),
                bind_address=host.bind_address or fleet.bind_address,
                exporters=host_exporters(fleet, name),
                deploy_dir=host.deploy_dir,
            )
        )
    return out


def select(found: Iterable[FleetMember], patterns: Iterable[str]) -> list[FleetMember]:
    """The hosts that --limit names, as Ansible's --limit does: a name, a glob on the names
    (``web-*``) or a label (``site=ams``); none given: every host."""
    hosts = list(found)
    wanted = [p for text in patterns for p in text.split(",") if p.strip()]
    if not wanted:
        return hosts
    chosen: dict[str, FleetMember] = {}
    for pattern in (p.strip() for p in wanted):
        key, sep, value = pattern.partition("=")
        hits = [
            m
            for m in hosts
            if (m.labels.get(key) == value if sep else fnmatchcase(m.name, pattern))
        ]
        if not hits:
            known = ", ".join(m.name for m in hosts) or "none"
            raise ObservatoryError(
                f"--limit {pattern}: matches no host of the fleet",
                hint=f"the hosts are: {known} (a name, a glob such as 'web-*', or label=value)",
            )
        chosen.update((m.name, m) for m in hits)
    return [m for m in hosts if m.name in chosen]
