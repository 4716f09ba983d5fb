"""``observatory plan`` and ``apply``: compare the host with the spec, then converge it safely.

apply: lock the host -> probe -> plan -> confirm -> stage the release (only changed files
cross the network) -> validate it on the host with the real tools (promtool from the
Prometheus image, docker compose config) -> switch the live files (atomic per file, completes
on the host even if the connection dies) -> ``compose up -d`` (recreates exactly the services
whose definition changed) -> SIGHUP Prometheus/Alertmanager for config changes -> verify ->
on failure, switch back to the previous release and verify again.
"""

from __future__ import annotations

import contextlib
import os
import posixpath
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

from beast_observatory.bundle.bundle import Bundle
from beast_observatory.deploy.operations import StackView
from beast_observatory.deploy.releases import (
    Release,
    SwitchFailedError,
    list_releases,
    prune_releases,
    stage_release,
    sweep_staging,
    switch_to,
    write_state,
)
from beast_observatory.deploy.target import Placement
from beast_observatory.deploy.verify import Verification, down_targets, verify_stack
from beast_observatory.errors import ObservatoryError, RuntimeFailure, TransportError
from beast_observatory.host.compose import ComposeProject, detect_compose
from beast_observatory.host.lock import HostLock
from beast_observatory.names import MANIFEST, STATE_FILE
from beast_observatory.host.probe.inventory import Inventory
from beast_observatory.host.transport.base import Transport
from beast_observatory.plan.compute import make_plan
from beast_observatory.plan.model import Plan, format_plan
from beast_observatory.yamlio import load_yaml

Echo = Callable[[str], object]


def observe(transport: Transport, directory: str) -> Inventory:
    """What runs on the host and what its deploy directory holds (one probe round trip)."""
    from beast_observatory.host.probe.run import probe_host  # noqa: PLC0415

    return probe_host(transport, dirs=[directory])


def compute_plan(transport: Transport, placement: Placement, bundle: Bundle) -> Plan:
    inventory = observe(transport, placement.directory)
    return make_plan(bundle, inventory, deploy_dir=placement.directory, host=placement.where)


@dataclass(frozen=True)
class ApplyOptions:
    auto_approve: bool
    allow_remove: bool
    allow_data_move: bool
    timeout: float
    scrape_wait: float


# The checker each service's own image carries, and the file it checks in the release.
CHECKERS = {
    "prometheus": (
        "/bin/promtool",
        "prometheus",
        ["check", "config", "/etc/prometheus/prometheus.yml"],
    ),
    "alertmanager": (
        "/bin/amtool",
        "alertmanager",
        ["check-config", "/etc/alertmanager/alertmanager.yml"],
    ),
}


def _check_with_image(transport: Transport, release: Release, name: str, image: str) -> None:
    tool, folder, args = CHECKERS[name]
    mount = f"{posixpath.join(release.path, folder)}:/etc/{folder}:ro"
    argv = ["docker", "run", "--rm", "--network", "none", "--entrypoint", tool, "-v", mount]
    result = transport.run([*argv, image, *args])
    if not result.ok:
        output = (result.stdout + result.stderr).decode("utf-8", "replace").strip()
        raise RuntimeFailure(
            f"{tool.rsplit('/', 1)[-1]} (from {image}) rejects the new configuration:\n    "
            + output.replace("\n", "\n    "),
            hint="fix the spec; the host was not changed",
        )


def validate_on_host(
    transport: Transport, project: ComposeProject, release: Release, bundle: Bundle
) -> None:
    """The host's own tools judge the release before anything live changes: promtool and
    amtool from the images that will run it, and docker compose itself."""
    compose: dict[str, Any] = load_yaml(bundle.files["docker-compose.yml"], "docker-compose.yml")
    services = compose.get("services") or {}
    for name in CHECKERS:
        if name in services:
            _check_with_image(transport, release, name, services[name]["image"])
    args = [
        "-p",
        project.name,
        "--project-directory",
        project.directory,
        "-f",
        posixpath.join(release.path, "docker-compose.yml"),
        "config",
        "-q",
    ]
    result = transport.run([*project.flavour.argv, *args])
    if not result.ok:
        raise RuntimeFailure(
            "docker compose rejects the new docker-compose.yml: "
            + result.stderr.decode("utf-8", "replace").strip()[-500:],
            hint="fix the spec (or the .env on the host); the host was not changed",
        )


def reload_services(project: ComposeProject, plan: Plan) -> list[str]:
    """SIGHUP through the engine: Prometheus and Alertmanager re-read their config, no restart."""
    done = []
    for name in plan.actions("reload"):
        if name in ("prometheus", "alertmanager"):
            project.check("kill", "-s", "SIGHUP", name, doing=f"reloading {name}")
            done.append(name)
    return done


def _converge(project: ComposeProject, plan: Plan, *, allow_remove: bool) -> None:
    args = ["up", "-d"] + (["--remove-orphans"] if allow_remove else [])
    project.check(*args, doing="docker compose up")
    reload_services(project, plan)


def _live_release(directory: str, live_hashes: dict[str, Any]) -> Release | None:
    """The release the live files came from: the newest one whose manifest is the live one.

    Not simply the newest release: a release promtool rejected, or one that failed
    verification and was rolled back, is newer than what runs and must never be rolled back to.
    """
    live = live_hashes.get("manifest.json")
    names = sorted(
        rel.split("/")[1]
        for rel, digest in live_hashes.items()
        if live and digest == live and re.fullmatch(r"releases/[^./][^/]*/manifest\.json", rel)
    )
    return Release(names[-1], posixpath.join(directory, "releases", names[-1])) if names else None


@contextlib.contextmanager
def _explain_lost_connection() -> Iterator[None]:
    """A dropped connection mid-apply: say what state the host is in and what to do."""
    try:
        yield
    except TransportError as exc:
        ours = (
            "the live files are the old release or the new one, never a mix (a switch, once "
            "begun, completes on the host); run `observatory apply` again to converge"
        )
        hint = f"{exc.hint}; {ours}" if exc.hint else ours
        raise TransportError(exc.message, where=exc.where, hint=hint) from exc


def apply(
    transport: Transport,
    placement: Placement,
    bundle: Bundle,
    options: ApplyOptions,
    *,
    confirm: Callable[[Plan], bool],
    echo: Echo,
) -> int:
    view = StackView.of(bundle)
    with HostLock(transport, placement.lock_path), _explain_lost_connection():
        flavour = detect_compose(transport)
        inventory = observe(transport, placement.directory)
        plan = make_plan(bundle, inventory, deploy_dir=placement.directory, host=placement.where)
        echo(format_plan(plan))
        if not plan.changed:
            return 0
        missing = [s for s in plan.missing_secrets if placement.remote or s not in os.environ]
        if missing:
            raise ObservatoryError(
                f"secrets missing in {placement.directory}/.env on {placement.where}: "
                + ", ".join(missing),
                hint="set each with `observatory secrets set NAME`; nothing was changed",
            )
        if plan.blockers and not options.allow_data_move:
            raise ObservatoryError(
                "the plan moves or loses data: " + "; ".join(plan.blockers),
                hint="give the data a volume in the spec, or pass --allow-data-move once you "
                "have a backup (`observatory backup`)",
            )
        removing = plan.actions("remove")
        if removing and not options.allow_remove:
            raise ObservatoryError(
                f"the plan removes service(s) {', '.join(removing)}",
                hint="pass --allow-remove to remove them (named volumes are kept either way)",
            )
        if not options.auto_approve and not confirm(plan):
            echo("apply cancelled; nothing changed")
            return 1
        project = ComposeProject(
            transport, flavour, bundle.project, placement.directory, view.secret_variables
        )
        live_hashes = {
            p: r.sha256 for p, r in inventory.deploy_files(placement.directory).items() if r.sha256
        }
        numbers = [
            int(n.split("-")[0])
            for n in list_releases(transport, placement.directory)
            if re.match(r"^\d{4,}-", n)
        ]
        number = max(numbers) + 1 if numbers else 1
        sweep_staging(transport, placement.directory)
        release = stage_release(transport, placement.directory, bundle, live_hashes, number)
        echo(f"staged release {release.name}")
        try:
            validate_on_host(transport, project, release, bundle)
        except RuntimeFailure:
            transport.run(["rm", "-rf", release.path])  # a rejected release is never live
            raise
        echo("validated on the host: promtool/amtool from the images, docker compose config")
        previous = _live_release(placement.directory, live_hashes)
        _switch_or_back(transport, placement.directory, release, previous, echo)
        try:
            _converge(project, plan, allow_remove=options.allow_remove)
        except RuntimeFailure as exc:  # e.g. a port taken meanwhile: back to what ran before
            failed = Verification(problems=[exc.message])
            return _rollback(
                transport,
                placement,
                project,
                plan,
                previous,
                failed,
                options,
                echo,
                what="docker compose up",
            )
        result = verify_stack(
            transport,
            view,
            dict(bundle.files),
            timeout=options.timeout,
            scrape_wait=options.scrape_wait,
            already_down=down_targets(inventory, bundle.project),
        )
        if result.ok:
            write_state(transport, placement.directory, bundle, release)
            prune_releases(transport, placement.directory)
            echo("verified: " + "; ".join(result.checks))
            echo(f"apply complete: release {release.name} is live on {placement.where}")
            return 0
        return _rollback(transport, placement, project, plan, previous, result, options, echo)


def _switch_or_back(
    transport: Transport, directory: str, release: Release, previous: Release | None, echo: Echo
) -> None:
    """Switch to release; if the switch stops midway, put the previous release back whole."""
    try:
        switch_to(transport, directory, release)
    except SwitchFailedError as exc:
        if previous is None:
            raise RuntimeFailure(
                f"{exc.message}; the live files may be a mix and there is no earlier release",
                hint="fix the cause (disk space?) and run `observatory apply` again",
            ) from None
        echo(f"switch failed: {exc.message}; switching back to release {previous.name}")
        switch_to(transport, directory, previous)
        raise RuntimeFailure(
            f"{exc.message}; the host was switched back to release {previous.name}",
            hint="fix the cause (disk space?) and run `observatory apply` again",
        ) from None


def _restore_hand_made(
    transport: Transport,
    placement: Placement,
    project: ComposeProject,
    plan: Plan,
    echo: Echo,
    what: str,
) -> int:
    """A takeover that failed: the stack made by hand comes back from its own compose files
    (still where its author left them), and the tool's files step aside, so the host reads
    as not taken over again."""
    argv = [*project.flavour.argv, *plan.restore, "up", "-d"]
    echo(f"rolling back to the stack made by hand: {' '.join(argv)}")
    directory = placement.directory
    transport.run(["rm", "-f", posixpath.join(directory, MANIFEST), posixpath.join(directory, STATE_FILE)])
    result = transport.run(argv)
    status = "back up" if result.ok else "NOT back up: " + result.stderr.decode("utf-8", "replace")[-300:]
    echo(f"the stack made by hand is {status}")
    raise RuntimeFailure(
        f"apply failed ({what}); the stack made by hand was brought back from its own files",
        hint="see the problems above; fix the spec and run `observatory plan` again",
    )


def _rollback(
    transport: Transport,
    placement: Placement,
    project: ComposeProject,
    plan: Plan,
    previous: Release | None,
    failed: Verification,
    options: ApplyOptions,
    echo: Echo,
    *,
    what: str = "verification",
) -> int:
    echo(f"{what} FAILED:\n" + "\n".join(f"  - {p}" for p in failed.problems))
    if previous is None and plan.restore:
        return _restore_hand_made(transport, placement, project, plan, echo, what)
    if previous is None:
        echo("no previous release on the host to roll back to; the new release stays in place")
        return 1
    echo(f"rolling back to release {previous.name}")
    switch_to(transport, placement.directory, previous)
    project.check("up", "-d", doing="docker compose up (rollback)")
    for name in ("prometheus", "alertmanager"):
        if plan.service(name) is not None:
            project.run("kill", "-s", "SIGHUP", name)
    manifest = transport.read_file(posixpath.join(previous.path, "manifest.json")) or b"{}"
    files = {}
    import json  # noqa: PLC0415

    for rel in json.loads(manifest).get("files", {}):
        data = transport.read_file(posixpath.join(previous.path, rel))
        if data is not None:
            files[rel] = data
    view = (
        StackView.of(Bundle(project.name, plan.environment, "", files))
        if "docker-compose.yml" in files
        else None
    )
    if view is not None:
        again = verify_stack(
            transport, view, files, timeout=options.timeout, scrape_wait=options.scrape_wait
        )
        status = "verified" if again.ok else "NOT healthy either: " + "; ".join(again.problems)
        echo(f"rolled back to release {previous.name}: {status}")
    raise RuntimeFailure(
        f"apply failed ({what}) and was rolled back to release {previous.name}",
        hint="see the problems above; `observatory logs SERVICE` shows why a service failed",
    )
