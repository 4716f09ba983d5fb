"""up, down, status and logs of one environment on its host (local or over SSH)."""

from __future__ import annotations

import json
import re
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from beast_observatory.bundle.bundle import Bundle
from beast_observatory.deploy.sync import sync_bundle
from beast_observatory.deploy.target import Placement
from beast_observatory.errors import ObservatoryError, RuntimeFailure
from beast_observatory.host.compose import ComposeProject, detect_compose
from beast_observatory.host.lock import HostLock
from beast_observatory.host.status import (
    Endpoint,
    ServiceStatus,
    endpoints_from_compose,
    parse_status,
    status_script,
)
from beast_observatory.host.transport.base import Transport
from beast_observatory.yamlio import load_yaml

Echo = Callable[[str], object]


@dataclass(frozen=True)
class StackView:
    """What the operations need to know of a bundle: project, services, endpoints."""

    project: str
    services: list[str]
    endpoints: list[Endpoint]
    secret_variables: tuple[str, ...] = ()
    images: dict[str, str] = field(default_factory=dict)  # service -> image

    @classmethod
    def of(cls, bundle: Bundle) -> StackView:
        compose: dict[str, Any] = load_yaml(
            bundle.files["docker-compose.yml"], "docker-compose.yml"
        )
        example = bundle.files.get(".env.example", b"").decode()
        secrets = tuple(
            line.split("=", 1)[0]
            for line in example.splitlines()
            if "=" in line and not line.startswith("#")
        )
        services = compose.get("services") or {}
        images = {name: str(svc.get("image", "")) for name, svc in sorted(services.items())}
        endpoints = endpoints_from_compose(compose)
        return cls(bundle.project, sorted(services), endpoints, secrets, images)


def gather_status(transport: Transport, view: StackView) -> list[ServiceStatus]:
    """One round trip: inspect every container of the project and probe each endpoint."""
    result = transport.run(["sh", "-c", status_script(view.project, view.endpoints, view.images)])
    if result.exit_code == 70:  # noqa: PLR2004 - the script's "docker failed" code
        from beast_observatory.host.compose import docker_problem  # noqa: PLC0415

        message = result.stderr.decode("utf-8", "replace")
        raise docker_problem(message, transport.description) or RuntimeFailure(message.strip())
    return parse_status(result.text, view.services, view.endpoints, view.images)


def wait_healthy(
    transport: Transport, view: StackView, timeout: float, interval: float = 2.0
) -> list[ServiceStatus]:
    deadline = time.monotonic() + timeout
    while True:
        rows = gather_status(transport, view)
        if all(r.ok for r in rows) or time.monotonic() >= deadline:
            return rows
        time.sleep(interval)


_PORT_RE = re.compile(r"(?:\d+\.\d+\.\d+\.\d+|\[[0-9a-f:]*\]|0\.0\.0\.0):(\d+)")


def blame_port(error: RuntimeFailure, view: StackView) -> RuntimeFailure:
    """Name the service whose published port is busy."""
    if "port" not in error.message:
        return error
    ports = {int(p) for p in _PORT_RE.findall(error.message)}
    names = [ep.service for ep in view.endpoints if ep.port in ports]
    if names:
        error.message = (
            f"service {', '.join(names)}: host port {sorted(ports)[0]} is busy. {error.message}"
        )
        error.hint = (
            "stop what holds the port, or give the service another port in "
            f"environments.<env>.services.{names[0].replace('-', '_')}.port"
        )
    return error


# Which pull failed: Compose v2 prints "<service> Error <why>" for each (it pulls in
# parallel); v1 pulls one by one, "Pulling <service> (<image>)...", and stops at the first error.
_V2_PULL_ERROR_RE = re.compile(r"^\s*([\w.-]+)\s+Error\b", re.MULTILINE)
_V1_PULLING_RE = re.compile(r"^\s*Pulling ([\w.-]+) \(", re.MULTILINE)


def blame_image(error: RuntimeFailure, view: StackView) -> RuntimeFailure:
    """Name the service and the image that could not be found or pulled."""
    if "image could not be found" not in error.message:
        return error
    v2 = [n for n in dict.fromkeys(_V2_PULL_ERROR_RE.findall(error.message)) if n in view.images]
    v1 = [n for n in _V1_PULLING_RE.findall(error.message) if n in view.images][-1:]
    by_image = [name for name, image in view.images.items() if image and image in error.message]
    names = v2 or v1 or by_image
    if names:
        which = ", ".join(f"{n} (image {view.images[n]})" for n in names)
        error.message = f"service {which}: not on this host, could not be pulled. {error.message}"
        error.hint = (
            "check the image name in "
            f"environments.<env>.services.{names[0].replace('-', '_')}.image; a host "
            "without a registry needs the image built or `docker load`ed there first"
        )
    return error


def up(
    transport: Transport,
    placement: Placement,
    bundle: Bundle,
    *,
    timeout: float,
    echo: Echo,
) -> list[ServiceStatus]:
    view = StackView.of(bundle)
    with HostLock(transport, placement.lock_path):
        flavour = detect_compose(transport)
        echo(f"using {flavour.describe()} on {placement.where}")
        result = sync_bundle(transport, bundle, placement.directory)
        if result.swept:
            echo(
                f"removed {len(result.swept)} temporary file(s) left by an interrupted upload "
                f"in {placement.directory} on {placement.where}"
            )
        if result.uploaded or result.removed:
            echo(
                f"synced {placement.directory} on {placement.where}: "
                f"{len(result.uploaded)} uploaded, "
                f"{len(result.removed)} removed, {result.unchanged} unchanged"
            )
        project = ComposeProject(transport, flavour, bundle.project, placement.directory)
        try:
            # No --remove-orphans: containers of the project that the spec no longer has are
            # removed only by `apply --allow-remove`, never as a side effect of `up`.
            project.check("up", "-d", doing="docker compose up")
        except RuntimeFailure as exc:
            raise blame_image(blame_port(exc, view), view) from None
        # compose recreates a service only when its definition changed; a new prometheus.yml
        # or rule file needs a reload (SIGHUP through the engine, no restart).
        for service in sorted({p.split("/", 1)[0] for p in result.uploaded} & RELOADABLE):
            project.run("kill", "-s", "SIGHUP", service)
        rows = wait_healthy(transport, view, timeout)
        if all(r.ok for r in rows):
            mark_applied(transport, placement.directory, bundle)
        return rows


RELOADABLE = frozenset({"prometheus", "alertmanager"})


def mark_applied(transport: Transport, directory: str, bundle: Bundle) -> None:
    """Record that the host runs this bundle, healthy (plan compares against it)."""
    state = (json.dumps({"spec_sha256": bundle.spec_sha256}, indent=2) + "\n").encode()
    path = f"{directory}/state.json"
    if transport.read_file(path) != state:  # an unchanged host is not written to
        transport.write_file_atomic(path, state)


def down(transport: Transport, placement: Placement, bundle: Bundle, *, volumes: bool) -> None:
    with HostLock(transport, placement.lock_path):
        flavour = detect_compose(transport)
        if transport.read_file(f"{placement.directory}/docker-compose.yml") is None:
            raise ObservatoryError(
                f"nothing is deployed in {placement.directory} on {placement.where}",
                hint="check --environment/--host, or the deploy_dir of the environment",
            )
        project = ComposeProject(
            transport,
            flavour,
            bundle.project,
            placement.directory,
            StackView.of(bundle).secret_variables,
        )
        args = ["down", "--remove-orphans"] + (["--volumes"] if volumes else [])
        project.check(*args, doing="docker compose down")


def logs(
    transport: Transport,
    placement: Placement,
    bundle: Bundle,
    *,
    service: str | None,
    tail: int | None,
    follow: bool,
    write: Callable[[bytes], object],
) -> int:
    view = StackView.of(bundle)
    if service is not None and service not in view.services:
        raise ObservatoryError(
            f"no service named {service!r} in environment {bundle.environment}",
            hint=f"use one of: {', '.join(view.services)}",
        )
    flavour = detect_compose(transport)
    project = ComposeProject(
        transport, flavour, bundle.project, placement.directory, view.secret_variables
    )
    args = ["logs", "--no-color"]
    if tail is not None:
        args += ["--tail", str(tail)]
    if follow:
        args.append("--follow")
    if service:
        args.append(service)
    running = transport.start(project.argv(*args))
    try:
        while line := running.read_line(timeout=86400.0 if follow else 120.0):
            write(line)
    finally:
        result = running.close(timeout=5.0)
    write(result.stdout)
    if result.exit_code not in (0, -1) and not follow:
        raise RuntimeFailure(
            f"docker compose logs failed on {transport.description}: "
            + result.stderr.decode("utf-8", "replace").strip()[-500:]
        )
    return 0


def format_status(rows: list[ServiceStatus], now: float | None = None) -> str:
    header = ("SERVICE", "STATE", "HEALTH", "READY", "UPTIME", "IMAGE", "PORTS", "URL")
    table = [header]
    for r in rows:
        table.append(
            (
                r.service,
                r.state,
                r.health,
                r.ready,
                uptime(r.started_at, now) if r.state == "running" else "-",
                r.image or "-",
                ",".join(r.ports) or "-",
                r.url or "-",
            )
        )
    widths = [max(len(row[i]) for row in table) for i in range(len(header))]
    lines = [
        "  ".join(cell.ljust(w) for cell, w in zip(row, widths, strict=True)).rstrip()
        for row in table
    ]
    lines += [f"  {r.service}: {r.detail}" for r in rows if not r.ok and r.detail]
    return "\n".join(lines) + "\n"


def uptime(started_at: str, now: float | None = None) -> str:
    from datetime import datetime  # noqa: PLC0415

    try:
        start = datetime.fromisoformat(started_at[:19] + "+00:00")
    except ValueError:
        return "-"
    seconds = int((now if now is not None else time.time()) - start.timestamp())
    if seconds < 120:  # noqa: PLR2004
        return f"{max(seconds, 0)}s"
    if seconds < 7200:  # noqa: PLR2004
        return f"{seconds // 60}m"
    return f"{seconds // 3600}h{(seconds % 3600) // 60:02d}m"
