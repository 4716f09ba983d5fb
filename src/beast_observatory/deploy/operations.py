"""up, down, status and logs of one environment on its host (local or over SSH)."""

from __future__ import annotations

import posixpath
import re
import time
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from typing import Any

from beast_observatory.bundle.bundle import MANIFEST, Bundle
from beast_observatory.deploy.state import DeployState, record_state, state_path
from beast_observatory.deploy.sync import SyncResult, sweep_command, swept, sync_bundle
from beast_observatory.deploy.target import Placement
from beast_observatory.errors import ObservatoryError, RuntimeFailure
from beast_observatory.host.compose import (
    ComposeProject,
    detect_command,
    detect_compose,
    detected,
    docker_problem,
)
from beast_observatory.host.files import read_answer, read_command
from beast_observatory.host.lock import HostLock
from beast_observatory.host.shell import deploy_script
from beast_observatory.host.status import (
    Endpoint,
    ServiceStatus,
    endpoints_from_compose,
    parse_status,
    status_command,
)
from beast_observatory.host.transport.base import Command, CommandResult, Transport
from beast_observatory.names import COMPOSE_PROJECT, COMPOSE_SERVICE
from beast_observatory.plan.files import mask_secrets
from beast_observatory.yamlio import load_yaml

Echo = Callable[[str], object]
RELOAD = deploy_script("reload.sh")


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
        if "docker-compose.yml" not in bundle.files:  # engine: swarm
            raise ObservatoryError(
                f"environment {bundle.environment} runs on Docker Swarm (engine: swarm): "
                "up, down, status and logs drive a compose project",
                hint="use `observatory plan` and `observatory apply`; on the manager, "
                f"`docker stack ps {bundle.project}` shows the tasks",
            )
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


_DOCKER_FAILED = 70  # status.sh: docker itself failed


def status_of(view: StackView, *, wait: float = 0.0) -> Command:
    """The command that gathers the stack's status (see host/status.py)."""
    return status_command(view.project, view.services, view.endpoints, view.images, wait=wait)


def status_rows(result: CommandResult | None, view: StackView, where: str) -> list[ServiceStatus]:
    """The status command's answer, one row per service of the view."""
    if result is None:
        raise RuntimeFailure(f"the status of the stack on {where} was not gathered")
    if result.exit_code == _DOCKER_FAILED:
        message = result.stderr.decode("utf-8", "replace")
        raise docker_problem(message, where) or RuntimeFailure(message.strip())
    return parse_status(result.text, view.services, view.endpoints, view.images)


def gather_status(
    transport: Transport, view: StackView, *, wait: float = 0.0
) -> list[ServiceStatus]:
    """One round trip: inspect every container of the project and probe each endpoint; with
    wait, the host looks again until all are ready or wait seconds have passed."""
    result = transport.run(status_of(view, wait=wait).argv)
    return status_rows(result, view, transport.description)


def wait_healthy(
    transport: Transport, view: StackView, timeout: float, interval: float = 1.0
) -> list[ServiceStatus]:
    """The rows once every service is healthy, or at the deadline. The host does the waiting;
    we look again only if it found the stack ready and these rows do not."""
    deadline = time.monotonic() + timeout
    while True:
        rows = gather_status(transport, view, wait=max(deadline - time.monotonic(), 0.0))
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
    """Sync the live files, ``compose up -d``, reload what needs it, wait until healthy.

    Under the host lock, in its session: one batch finds the compose flavour, sweeps what an
    interrupted upload left and reads the manifest and state; each changed file is one more
    round trip; one batch starts the stack and waits for it. Nothing to do writes nothing."""
    view = StackView.of(bundle)
    directory = placement.directory
    with HostLock(transport, placement.lock_path) as host:
        found = host.run_batch(
            [
                detect_command(),
                sweep_command(bundle, directory),
                read_command(posixpath.join(directory, MANIFEST)),
                read_command(state_path(directory)),
                running_command(bundle.project),
            ]
        )
        flavour = detected(found[0], host.description)
        echo(f"using {flavour.describe()} on {placement.where}")
        manifest = read_answer(found[2], host.description, posixpath.join(directory, MANIFEST))
        state = read_answer(found[3], host.description, state_path(directory))
        result = sync_bundle(
            host, bundle, directory, old_manifest=manifest, leftovers=swept(found[1])
        )
        _say_synced(result, placement, echo)
        project = ComposeProject(host, flavour, bundle.project, directory)
        # No --remove-orphans: containers of the project that the spec no longer has are
        # removed only by `apply --allow-remove`, never as a side effect of `up`.
        # compose recreates a service only when its definition changed; a new prometheus.yml
        # or rule file needs a reload (SIGHUP, no restart) of the containers that ran before.
        reloads = sorted({p.split("/", 1)[0] for p in result.uploaded} & RELOADABLE)
        running = running_ids(found[4])
        started = time.monotonic()
        answers = host.run_batch(
            [
                project.command("up", "-d"),
                *(RELOAD.command(s, *running[s], stops=False) for s in reloads if running.get(s)),
                status_of(view, wait=timeout),
            ]
        )
        try:
            project.checked(answers[0], doing="docker compose up")
        except RuntimeFailure as exc:
            raise blame_image(blame_port(exc, view), view) from None
        rows = status_rows(answers[-1], view, host.description)
        if not all(r.ok for r in rows) and (left := timeout - (time.monotonic() - started)) > 0:
            rows = wait_healthy(host, view, left)
        if all(r.ok for r in rows):
            before = DeployState.parse(state)
            release = before.release if before and not result.wrote_manifest else None
            record_state(host, directory, DeployState(bundle.spec_sha256, release), state)
            return rows
        return with_log_tails(host, project, rows)


# compose prefixes each line with the container's name and a bar (v1 and v2 alike).
_LOG_PREFIX = re.compile(r"^\S+\s+\|\s?")
# Terminal escapes and other control characters a log line may carry (tabs and newlines stay).
_UNPRINTABLE = re.compile(r"\x1b\[[0-9;?]*[A-Za-z]|[\x00-\x08\x0b-\x1f\x7f]")
LOG_TAIL = 12  # lines of a failed service's log that `up` shows, as `docker compose up` does


def with_log_tails(
    transport: Transport, project: ComposeProject, rows: list[ServiceStatus]
) -> list[ServiceStatus]:
    """rows, each failed one with the last lines of its log (one batch for all of them): the
    cause of a crash is there, and the container may be gone before anyone looks. Secret
    values and passwords of URLs are masked as in plans; terminal escapes are dropped."""
    bad = [r for r in rows if not r.ok and r.state != "missing"]
    if not bad:
        return rows
    answers = transport.run_batch(
        [
            project.command("logs", "--no-color", "--tail", str(LOG_TAIL), r.service, stops=False)
            for r in bad
        ]
    )
    tails: dict[str, tuple[str, ...]] = {}
    for r, answer in zip(bad, answers, strict=True):
        if answer is not None and answer.ok:  # the log is on stdout, compose's own words not
            text = _UNPRINTABLE.sub("", answer.stdout.decode("utf-8", "replace"))
            lines = (_LOG_PREFIX.sub("", line) for line in mask_secrets(text).splitlines())
            tails[r.service] = tuple(line for line in lines if line.strip())
    return [replace(r, log_tail=tails.get(r.service, ())) for r in rows]


def running_command(project: str) -> Command:
    """The running containers of a compose project: one "ID SERVICE" line each."""
    service = '{{.Label "' + COMPOSE_SERVICE + '"}}'
    return Command(
        (
            "docker",
            "ps",
            "--no-trunc",
            "--filter",
            f"label={COMPOSE_PROJECT}={project}",
            "--filter",
            "status=running",
            "--format",
            "{{.ID}} " + service,
        ),
        stops=False,
    )


def running_ids(answer: CommandResult | None) -> dict[str, list[str]]:
    """service -> ids of its running containers, from running_command's answer."""
    out: dict[str, list[str]] = {}
    for line in (answer.text if answer is not None and answer.ok else "").splitlines():
        cid, _, service = line.strip().partition(" ")
        if cid and service:
            out.setdefault(service, []).append(cid)
    return out


def _say_synced(result: SyncResult, placement: Placement, echo: Echo) -> None:
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


RELOADABLE = frozenset({"prometheus", "alertmanager"})


def down(transport: Transport, placement: Placement, bundle: Bundle, *, volumes: bool) -> None:
    compose_file = posixpath.join(placement.directory, "docker-compose.yml")
    with HostLock(transport, placement.lock_path) as host:
        found = host.run_batch([detect_command(), read_command(compose_file)])
        flavour = detected(found[0], host.description)
        if read_answer(found[1], host.description, compose_file) is None:
            raise ObservatoryError(
                f"nothing is deployed in {placement.directory} on {placement.where}",
                hint="check --environment/--host, or the deploy_dir of the environment",
            )
        project = ComposeProject(
            host,
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
    for r in rows:
        if not r.ok and (r.detail or r.log_tail):
            lines.append(f"  {r.service}: {r.detail or 'not ready'}")
            if r.log_tail:
                lines.append(f"    last {len(r.log_tail)} line(s) of its log:")
                lines += [f"    | {line}" for line in r.log_tail]
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
