"""What the spec says about Swarm: the engine's settings of an environment, and how Swarm
places each service (pure models)."""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from beast_observatory.spec.types import Duration, Model, Port

Engine = Literal["compose", "swarm"]


class SwarmSettings(Model):
    """How an environment with ``engine: swarm`` runs (ignored with ``engine: compose``)."""

    discovery: Literal["dns_sd", "dockerswarm_sd"] = "dns_sd"
    """How Prometheus finds every task of a global exporter: ``dns_sd`` asks the overlay
    network's DNS for ``tasks.<service>``; ``dockerswarm_sd`` asks the Swarm API through the
    Docker socket, which is then mounted into Prometheus (so it must run on a manager)."""
    refresh_interval: Duration = "30s"
    """How often discovery looks again: a node that joins is scraped within this time."""
    resolve_image: Literal["never", "changed", "always"] = "never"
    """``docker stack deploy --resolve-image``: ``never`` lets each node use the tag as it
    has it (hosts without a registry); ``always``/``changed`` pin the digest from the registry."""


class SwarmPlacement(Model):
    """Where and how many tasks Swarm runs of a service (the stack file's ``deploy``)."""

    mode: Literal["replicated", "global"] | None = None
    """``global``: one task on every node (default for exporters); ``replicated``: ``replicas``
    tasks (default for the rest)."""
    replicas: int | None = Field(None, ge=0)
    """Tasks of a replicated service (default 1)."""
    constraints: list[str] | None = None
    """Placement constraints such as ``node.role == manager`` or ``node.labels.disk == ssd``.
    Default: none for stateless services and exporters; ``node.role == manager`` for a
    service that keeps data in a named volume (a volume lives on one node: a task moved to
    another node would start empty). With several managers, pin it to one node
    (``node.hostname == ...`` or a node label)."""
    preferences: list[str] = Field(default_factory=list)
    """Spread descriptors (``node.labels.zone``): tasks are spread evenly over their values."""


class ExporterPort(Model):
    """An extra service Prometheus scrapes on every task (``x-swarm.exporter``)."""

    port: Port
    """The port the exporter listens on inside its container."""
    path: str = "/metrics"
    """HTTP path of its metrics."""
    job: str | None = None
    """The scrape job's name (default: the service's name)."""


class ExtraSwarm(SwarmPlacement):
    """``x-swarm`` of an extra service: its placement, and whether it is an exporter (then it
    runs on every node by default and Prometheus discovers each of its tasks)."""

    exporter: ExporterPort | None = None


EXTRA_KEY = "x-swarm"

__all__ = ["EXTRA_KEY", "Engine", "ExporterPort", "ExtraSwarm", "SwarmPlacement", "SwarmSettings"]
