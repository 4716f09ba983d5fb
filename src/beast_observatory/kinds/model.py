"""What every kind of service has in the spec: image, ports, data, mounts, networks, and the
rest of its compose service (the ``compose`` pass-through)."""

from __future__ import annotations

from typing import Annotated, Any

from pydantic import Field, StringConstraints, field_validator, model_validator

from beast_observatory.spec.types import (
    Choice,
    Config,
    ContainerPath,
    Duration,
    EnvVarName,
    Model,
    Name,
    Port,
)
from beast_observatory.swarm.model import SwarmPlacement

# The spec key of each known kind and its compose service name by default.
KIND_NAMES = {
    "prometheus": "prometheus",
    "pushgateway": "pushgateway",
    "grafana": "grafana",
    "alertmanager": "alertmanager",
    "node_exporter": "node-exporter",
}

ImageVersion = Annotated[str, StringConstraints(pattern=r"^\d+(\.\d+){0,2}$")]
RestartPolicy = Annotated[
    str, StringConstraints(pattern=r"^(no|always|unless-stopped|on-failure(:\d+)?)$")
]

# Every key of a compose service (compose-spec, services.*): a key outside this list is an
# error there too. x-* extension keys are allowed as compose allows them.
COMPOSE_SERVICE_KEYS = frozenset(
    {
        "annotations", "attach", "blkio_config", "build", "cap_add", "cap_drop", "cgroup",
        "cgroup_parent", "command", "configs", "container_name", "cpu_count", "cpu_percent",
        "cpu_period", "cpu_quota", "cpu_rt_period", "cpu_rt_runtime", "cpu_shares", "cpus",
        "cpuset", "credential_spec", "depends_on", "deploy", "develop", "device_cgroup_rules",
        "devices", "dns", "dns_opt", "dns_search", "domainname", "entrypoint", "env_file",
        "environment", "expose", "extends", "external_links", "extra_hosts", "gpus",
        "group_add", "healthcheck", "hostname", "image", "init", "ipc", "isolation",
        "label_file", "labels", "links", "logging", "mac_address", "mem_limit",
        "mem_reservation", "mem_swappiness", "memswap_limit", "network_mode", "networks",
        "oom_kill_disable", "oom_score_adj", "pid", "pids_limit", "platform", "ports",
        "post_start", "pre_stop", "privileged", "profiles", "provider", "pull_policy",
        "read_only", "restart", "runtime", "scale", "secrets", "security_opt", "shm_size",
        "stdin_open", "stop_grace_period", "stop_signal", "storage_opt", "sysctls", "tmpfs",
        "tty", "ulimits", "use_api_socket", "user", "userns_mode", "uts", "volumes",
        "volumes_from", "working_dir",
    }
)  # fmt: skip
# Keys of a known kind's compose service that its typed fields own.
OWNED_KEYS = frozenset(
    {"image", "command", "environment", "volumes", "networks", "healthcheck", "restart", "ports"}
)


class Healthcheck(Model):
    """The container's healthcheck. Without ``test``, the kind's own readiness check (an HTTP
    request) with the timings below; with ``test``, exactly what is given (a check the host
    had, say), docker's defaults for the timings left out."""

    test: list[str] | str | None = None
    """The check, as in compose: ["CMD", ...], ["CMD-SHELL", "..."] or a shell string."""
    interval: Duration | None = None
    """Time between checks (the kind's check: 15s)."""
    timeout: Duration | None = None
    """Time one check may take (the kind's check: 5s)."""
    retries: int | None = Field(None, ge=1, le=100)
    """Failed checks before the container counts as unhealthy (the kind's check: 5)."""
    start_period: Duration | None = None
    """Grace period after start (the kind's check: 20s)."""
    start_interval: Duration | None = None
    """Time between checks during the start period."""
    disable: bool = False
    """Turn off a healthcheck the image defines."""


class Resources(Model):
    cpus: float | None = Field(None, gt=0, description="CPU limit, e.g. 1.5")
    memory: Annotated[str, StringConstraints(pattern=r"^\d+[bkmg]$")] | None = Field(
        None, description="Memory limit, e.g. 512m or 2g"
    )


class DataStore(Choice):
    """Where a service keeps its data: a named volume (default) or a bind path on the host."""

    volume: Name | None = None
    """Named volume (default: <service>-data, prefixed by compose with the project); declare
    it under the top-level ``volumes`` to give it a real name, a driver or ``external``."""
    path: str | None = Field(None, description="Absolute host path for a bind mount.")
    target: ContainerPath | None = None
    """Where the data is inside the container (default: the kind's data directory)."""

    @model_validator(mode="after")
    def _one(self) -> DataStore:
        if self.volume is not None and self.path is not None:
            raise ValueError("give either 'volume' or 'path', not both")
        if self.path is not None and not self.path.startswith("/"):
            raise ValueError("'path' must be absolute")
        return self


NetworkAttachment = dict[str, Any]
"""A service's settings on one network, as in compose: aliases, ipv4_address, priority..."""


class ServiceBase(Model):
    """The compose service of a known kind. The kind renders image, command, volumes (its
    config and data), healthcheck, ports and networks from the typed fields; ``compose``
    carries every other compose key as it is (container_name, hostname, user, logging...)."""

    enabled: bool = True
    """Run this service in the environment."""
    service_name: Name | None = None
    """The compose service name, which is also its host name on the stack's networks
    (default: the kind's name: prometheus, grafana, node-exporter...)."""
    image: str
    image_version: ImageVersion | None = None
    """The release the image runs when its tag does not say it (latest, a local build):
    3, 3.13 or 2.53.2. The renderer writes for that release (flags and keys it renamed or
    removed); default: the tag's version. With neither, flags and keys are written as given."""
    container_port: Port
    """The port the service listens on inside the container."""
    port: Port | None = Field(None, description="Host port the container port is published on.")
    publish: bool = Field(True, description="Publish `port` on the environment's bind address.")
    bind_address: str | None = Field(None, description="Overrides the environment's bind address.")
    ports: list[str | Config] | None = None
    """The published ports as compose writes them (replaces port/publish/bind_address)."""
    restart: RestartPolicy = "unless-stopped"
    """Docker restart policy: no, always, on-failure[:N] or unless-stopped."""
    healthcheck: Healthcheck | None = Healthcheck()
    """The container healthcheck (null: none, whatever the image says)."""
    resources: Resources = Resources()
    """CPU and memory limits."""
    environment: dict[EnvVarName, str] = Field(
        default_factory=dict, description="Extra non-secret environment variables."
    )
    data: DataStore | None = DataStore()
    """Where the service keeps its data (null: no mount; the image's own volume or the
    container's layer, lost when the container is recreated)."""
    volumes: list[str | Config] = Field(default_factory=list)
    """More mounts, as compose writes them. A relative source is a file or folder beside the
    spec, shipped with every release; an absolute one is a path on the host, left there."""
    extra_flags: list[str] = Field(default_factory=list, description="Extra command-line flags.")
    networks: list[Name] | dict[Name, NetworkAttachment | None] = Field(
        default_factory=lambda: ["observatory"]
    )
    """Networks the service joins: a list of names, or compose's mapping with aliases."""
    compose: Config = Field(default_factory=dict)
    """Every other key of the compose service, as compose reads it."""
    swarm: SwarmPlacement = SwarmPlacement()
    """Where and how many tasks Swarm runs (environments with ``engine: swarm``)."""

    @field_validator("compose")
    @classmethod
    def _compose_keys(cls, value: Config) -> Config:
        unknown = sorted(
            k for k in value if k not in COMPOSE_SERVICE_KEYS and not k.startswith("x-")
        )
        if unknown:
            raise ValueError(f"{', '.join(unknown)}: not a compose service key")
        owned = sorted(set(value) & OWNED_KEYS)
        if owned:
            raise ValueError(
                f"{', '.join(owned)}: set by the service's own fields "
                "(image, port/ports, environment, volumes, networks, healthcheck, restart, "
                "extra_flags), not in compose"
            )
        return value

    def network_names(self) -> list[str]:
        return sorted(self.networks)


__all__ = [
    "COMPOSE_SERVICE_KEYS",
    "KIND_NAMES",
    "OWNED_KEYS",
    "DataStore",
    "EnvVarName",
    "Healthcheck",
    "NetworkAttachment",
    "Resources",
    "ServiceBase",
]
