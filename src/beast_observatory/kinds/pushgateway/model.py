"""The Pushgateway in the spec."""

from __future__ import annotations

from pydantic import Field

from beast_observatory.kinds.model import ServiceBase
from beast_observatory.spec.types import ContainerPath, Duration, Model, Port, WebAuth

DATA_DIR = "/pushgateway"


class Persistence(Model):
    enabled: bool = True
    """Keep pushed metrics across restarts (--persistence.file)."""
    interval: Duration = "5m"
    """How often the persistence file is written."""
    file: ContainerPath = "/pushgateway/pushgateway.db"
    """The persistence file inside the container; keep it on the data volume (data.target,
    /pushgateway by default), or pushed metrics are lost when the container is recreated."""


class Pushgateway(ServiceBase):
    image: str = "prom/pushgateway:v1.11.3"
    container_port: Port = 9091
    port: Port | None = 9091
    persistence: Persistence = Persistence()
    """Persistence of pushed metrics."""
    admin_api: bool = Field(False, description="Enable the admin API (wipe all metrics).")
    web_auth: WebAuth | None = None
    """Basic auth on the Pushgateway (note: Prometheus then does not scrape it)."""
