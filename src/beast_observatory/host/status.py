"""What the stack's services are and how to tell they are ready (pure).

The status of a whole stack is gathered by ONE shell script run on the host
(host/scripts/status.sh): it inspects the project's containers and probes each service over
HTTP (curl or wget on the host, falling back to wget inside the container), so ``status``
costs one round trip, locally or over SSH. Given a time to wait, it looks again on the host
until every service is ready, so waiting costs no further round trips either.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from beast_observatory.host.shell import host_script
from beast_observatory.host.transport.base import Command
from beast_observatory.names import COMPOSE_SERVICE, READY_LABEL, SERVICE_LABEL

STATUS = host_script("status.sh")
MARK = "@@observatory@@"


@dataclass(frozen=True)
class Endpoint:
    """A service the stack publishes: where a person and a probe reach it."""

    service: str
    address: str  # published on the host ("" when not published)
    port: int  # host port (0 when not published)
    path: str
    container_port: int = 0  # where it listens inside its container

    @property
    def url(self) -> str:
        host = "127.0.0.1" if self.address in ("0.0.0.0", "") else self.address  # noqa: S104 - wildcard means reachable on loopback
        return f"http://{host}:{self.port}"

    @property
    def inner_url(self) -> str:
        return f"http://127.0.0.1:{self.container_port}{self.path}"


def _publishing(ports: list[Any], container_port: int) -> tuple[str, int] | None:
    """(host address, host port) of the entry publishing container_port."""
    for entry in ports:
        if isinstance(entry, dict):
            if int(entry.get("target") or 0) == container_port and entry.get("published"):
                return str(entry.get("host_ip") or ""), int(entry["published"])
            continue
        spec = str(entry).split("/")[0]
        parts = spec.rsplit(":", 2)
        if len(parts) >= 2 and parts[-1].isdigit() and int(parts[-1]) == container_port:  # noqa: PLR2004
            address = parts[0] if len(parts) == 3 else ""  # noqa: PLR2004
            if parts[-2].isdigit():
                return address, int(parts[-2])
    return None


def endpoints_from_compose(compose: dict[str, Any]) -> list[Endpoint]:
    """Probe-able services of a rendered docker-compose.yml: those whose label says which URL
    inside the container answers when they are ready."""
    out = []
    for name, svc in sorted((compose.get("services") or {}).items()):
        labels = svc.get("labels") or {}
        ready = str(labels.get(READY_LABEL) or "") if isinstance(labels, dict) else ""
        if not ready.startswith("http://127.0.0.1:"):
            continue
        port_text, _, rest = ready.removeprefix("http://127.0.0.1:").partition("/")
        container_port, path = int(port_text), "/" + rest
        binding = _publishing(list(svc.get("ports") or []), container_port)
        address, host_port = binding if binding else ("", 0)
        out.append(Endpoint(name, address, host_port, path, container_port))
    return out


def status_command(
    project: str,
    services: Sequence[str],
    endpoints: Sequence[Endpoint],
    images: Mapping[str, str] | None = None,
    *,
    wait: float = 0.0,
) -> Command:
    """The status of the project's services (status.sh), waiting up to ``wait`` seconds on
    the host for all of them to be ready; also names the service images the host does not
    have (why a service has no container)."""
    args = [project, str(max(int(wait), 0)), " ".join(services)]
    for ep in endpoints:
        url = ep.url + ep.path if ep.port else ""
        args += ["endpoint", ep.service, url, ep.inner_url]
    for image in sorted({i for i in (images or {}).values() if i}):
        args += ["image", image]
    return STATUS.command(*args, stops=False)


@dataclass(frozen=True)
class ServiceStatus:
    service: str
    container: str
    state: str  # running, exited, restarting, created, missing
    health: str  # healthy, unhealthy, starting, none
    started_at: str
    image: str
    ports: tuple[str, ...]
    ready: str  # HTTP status code of the readiness probe, or "-" when not probed
    url: str
    detail: str = ""
    log_tail: tuple[str, ...] = ()  # last lines of its log, read when it failed to come up

    @property
    def ok(self) -> bool:
        ready_ok = self.ready in ("-", "200", "401")  # 401: answering, behind basic auth
        return self.state == "running" and self.health in ("healthy", "none") and ready_ok


def _ports(container: dict[str, Any]) -> tuple[str, ...]:
    out = []
    for cport, binds in sorted((container.get("NetworkSettings", {}).get("Ports") or {}).items()):
        for b in binds or []:
            host_ip = b.get("HostIp") or "0.0.0.0"  # noqa: S104 - docker's own notation
            out.append(f"{host_ip}:{b.get('HostPort')}->{cport}")
    return tuple(out)


def _detail(state: dict[str, Any], restarts: int = 0) -> str:
    if state.get("Error"):
        return str(state["Error"])
    # A crash loop shows as "restarting" (restart policy) or "exited": the exit code is the
    # cause, whatever the healthcheck log of an earlier run says.
    if state.get("Status") in ("exited", "restarting", "dead"):
        again = f", restarted {restarts} time(s)" if restarts else ""
        return f"exited with code {state.get('ExitCode')}{again}"
    logs = (state.get("Health") or {}).get("Log") or []
    if logs and state.get("Health", {}).get("Status") != "healthy":
        last = logs[-1]
        return (
            f"healthcheck exit {last.get('ExitCode')}: {str(last.get('Output', '')).strip()[:200]}"
        )
    if restarts:  # caught between two crashes of a loop, or recovered from one
        return f"restarted {restarts} time(s)"
    return ""


def parse_status(
    output: str,
    services: list[str],
    endpoints: list[Endpoint],
    images: Mapping[str, str] | None = None,
) -> list[ServiceStatus]:
    """Parse the status script's output into one row per expected service (pure)."""
    images = images or {}
    lines = output.splitlines()
    absent = {line.split(" ", 1)[1] for line in lines if line.startswith(f"{MARK}noimage ")}
    output = "\n".join(line for line in lines if not line.startswith(f"{MARK}noimage "))
    inspect_text, _, probe_text = output.partition(f"{MARK}probe")
    inspect_json = inspect_text.split(f"{MARK}inspect", 1)[-1]
    containers = json.loads(inspect_json or "[]")
    probes = {}
    for line in (f"{MARK}probe" + probe_text).splitlines():
        if line.startswith(f"{MARK}probe "):
            _, name, code = [*line.split(), "000"][:3]
            probes[name] = code
    by_service: dict[str, dict[str, Any]] = {}
    for c in containers:
        labels = c.get("Config", {}).get("Labels") or {}
        name = labels.get(COMPOSE_SERVICE) or labels.get(SERVICE_LABEL, "")
        by_service.setdefault(name, c)
    urls = {ep.service: ep.url if ep.port else "" for ep in endpoints}
    rows = []
    for name in services:
        c = by_service.get(name)
        if c is None:
            image = images.get(name, "")
            detail = "no container"
            if image in absent:
                detail += f": image {image} is not on this host (check its name, or load it there)"
            url = urls.get(name, "")
            rows.append(ServiceStatus(name, "", "missing", "none", "", image, (), "-", url, detail))
            continue
        state = c.get("State", {})
        rows.append(
            ServiceStatus(
                service=name,
                container=str(c.get("Name", "")).lstrip("/"),
                state=str(state.get("Status", "unknown")),
                health=str((state.get("Health") or {}).get("Status", "none")),
                started_at=str(state.get("StartedAt", "")),
                image=str(c.get("Config", {}).get("Image", "")),
                ports=_ports(c),
                ready=probes.get(name, "-"),
                url=urls.get(name, ""),
                detail=_detail(state, int(c.get("RestartCount") or 0)),
            )
        )
    return rows
