"""node-exporter in the spec."""

from __future__ import annotations

from beast_observatory.kinds.model import DataStore, ServiceBase
from beast_observatory.spec.types import ContainerPath, Port


class NodeExporter(ServiceBase):
    enabled: bool = False
    image: str = "prom/node-exporter:v1.12.1"
    container_port: Port = 9100
    port: Port | None = 9100
    data: DataStore | None = None
    host_root: ContainerPath | None = "/host"
    """Mount the host's / read-only here, with --path.rootfs and pid: host (null: none of
    these; say what the exporter sees with volumes, extra_flags and compose)."""
