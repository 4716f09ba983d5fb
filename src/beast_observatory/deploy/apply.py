"""``observatory plan`` and ``apply``: compare the host with the spec, then converge it safely.

apply: lock the host -> probe -> plan -> confirm -> stage the release (only changed files
cross the network) -> validate it on the host with the real tools (promtool/amtool from the
images, the rule tests with the image's promtool, docker compose config) -> switch the live
files (atomic per file, completes on the host even if the connection dies) -> ``compose up
-d`` (recreates exactly the services whose definition changed) -> SIGHUP Prometheus and
Alertmanager for config changes -> verify -> on failure, switch back to the release that was
live and verify again.

Everything runs in the host lock's session (host/transport/served.py), in few round trips:
the probe; the staging (the changed files travel with it); one batch from validation through
the switch, ``up`` and the reloads to the verification, which stops at the first step that
fails, so that each failure is handled as its own step; the state record.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import posixpath
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any

from beast_observatory.bundle.bundle import MANIFEST, Bundle
from beast_observatory.deploy.observed import Deployed, down_targets, manifest_files
from beast_observatory.deploy.operations import StackView
from beast_observatory.deploy.releases import (
    Release,
    SwitchFailedError,
    discard_command,
    prune_command,
    stage_release,
    switch_command,
    switched,
)
from beast_observatory.deploy.state import DeployState, forget_command, state_command, state_path
from beast_observatory.deploy.target import Placement
from beast_observatory.deploy.verify import Verification, verification_commands, verify_stack
from beast_observatory.errors import ObservatoryError, RuntimeFailure, TransportError
from beast_observatory.host.compose import ComposeProject, detect_compose, reported_flavour
from beast_observatory.host.files import check_done, read_answer, read_command, read_files
from beast_observatory.host.lock import HostLock
from beast_observatory.host.probe.inventory import Inventory
from beast_observatory.host.transport.base import Command, CommandResult, Transport
from beast_observatory.kinds.prometheus.rule_tests import failure_message
from beast_observatory.plan.compute import make_plan
from beast_observatory.plan.model import Plan, format_plan
from beast_observatory.swarm.names import STACK_FILE as SWARM_STACK_FILE
from beast_observatory.yamlio import load_yaml

Echo = Callable[[str], object]
TESTS = "prometheus/tests/"  # the rule tests of a release (kinds/prometheus/rule_tests.py)


def observe(transport: Transport, directory: str, bundle: Bundle) -> Inventory:
    """What runs on the host and what its deploy directory holds (one probe round trip): the
    bundle's project's containers in full, the directory's files; a file that is the bundle's
    own comes without its content over the wire and gets it from the bundle here."""
    from beast_observatory.host.probe.run import probe_host  # noqa: PLC0415

    files = bundle.with_manifest()
    expect = {path: hashlib.sha256(data).hexdigest() for path, data in files.items()}
    inventory = probe_host(transport, dirs=[directory], project=bundle.project, expect=expect)
    return inventory.with_expected_content(directory, files)


def compute_plan(transport: Transport, placement: Placement, bundle: Bundle) -> Plan:
    if SWARM_STACK_FILE in bundle.files:  # engine: swarm
        from beast_observatory.swarm import deploy as swarm  # noqa: PLC0415

        return swarm.compute_plan(transport, placement, bundle)
    inventory = observe(transport, placement.directory, bundle)
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


def checker_command(
    release: Release, name: str, image: str, args: Sequence[str] | None = None
) -> Command:
    """The checker of service name, from the image that will run it, on the release's files."""
    tool, folder, default = CHECKERS[name]
    mount = f"{posixpath.join(release.path, folder)}:/etc/{folder}:ro"
    argv = ["docker", "run", "--rm", "--network", "none", "--log-driver", "none"]
    return Command.of([*argv, "--entrypoint", tool, "-v", mount, image, *(args or default)])


def rule_test_steps(release: Release, image: str, bundle: Bundle) -> list[tuple[str, Command]]:
    """``promtool test rules`` of the image, one test file a step: a failing test is named
    and stops the batch before the switch."""
    # The release's prometheus/ is the image's /etc/prometheus (checker_command).
    tests = sorted(rel for rel in bundle.files if rel.startswith(TESTS))
    return [
        (
            f"test:{posixpath.basename(rel).removesuffix('.yml')}",
            checker_command(release, "prometheus", image, ["test", "rules", f"/etc/{rel}"]),
        )
        for rel in tests
    ]


def service_image(bundle: Bundle, name: str) -> str:
    return str(load_yaml(bundle.files["docker-compose.yml"], "c")["services"][name]["image"])


def validation_commands(
    project: ComposeProject, release: Release, bundle: Bundle
) -> list[tuple[str, Command]]:
    """The host's own tools judge the release before anything live changes: promtool and
    amtool from the images that will run it, and docker compose itself."""
    compose: dict[str, Any] = load_yaml(bundle.files["docker-compose.yml"], "docker-compose.yml")
    services = compose.get("services") or {}
    steps = [
        (f"check:{name}", checker_command(release, name, services[name]["image"]))
        for name in CHECKERS
        if name in services
    ]
    if "prometheus" in services:
        steps += rule_test_steps(release, services["prometheus"]["image"], bundle)
    config = [
        *project.flavour.argv,
        *("-p", project.name, "--project-directory", project.directory),
        *("-f", posixpath.join(release.path, "docker-compose.yml"), "config", "-q"),
    ]
    return [*steps, ("config", Command.of(config))]


def validation_problem(step: str, result: CommandResult, bundle: Bundle) -> RuntimeFailure:
    if step.startswith("test:"):
        image = service_image(bundle, "prometheus")
        output = (result.stdout + result.stderr).decode("utf-8", "replace")
        return RuntimeFailure(
            f"promtool (from {image}) refuses the release: "
            + failure_message(step.removeprefix("test:"), output),
            hint="fix the rule, or what the test expects (`observatory validate` runs the "
            "tests here too); the host was not changed",
        )
    if step.startswith("check:"):
        name = step.removeprefix("check:")
        tool = CHECKERS[name][0].rsplit("/", 1)[-1]
        image = service_image(bundle, name)
        output = (result.stdout + result.stderr).decode("utf-8", "replace").strip()
        return RuntimeFailure(
            f"{tool} (from {image}) rejects the new configuration:\n    "
            + output.replace("\n", "\n    "),
            hint="fix the spec; the host was not changed",
        )
    return RuntimeFailure(
        "docker compose rejects the new docker-compose.yml: "
        + result.stderr.decode("utf-8", "replace").strip()[-500:],
        hint="fix the spec (or the .env on the host); the host was not changed",
    )


RELOADABLE = ("prometheus", "alertmanager")


def reload_commands(
    project: ComposeProject, services: Sequence[str], *, stops: bool
) -> list[tuple[str, Command]]:
    """SIGHUP through the engine: Prometheus and Alertmanager re-read their config, no restart."""
    return [
        (f"reload:{name}", project.command("kill", "-s", "SIGHUP", name, stops=stops))
        for name in services
        if name in RELOADABLE
    ]


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
    if SWARM_STACK_FILE in bundle.files:  # engine: swarm
        from beast_observatory.swarm import deploy as swarm  # noqa: PLC0415

        return swarm.apply(transport, placement, bundle, options, confirm=confirm, echo=echo)
    with HostLock(transport, placement.lock_path) as host, _explain_lost_connection():
        inventory = observe(host, placement.directory, bundle)
        plan = make_plan(bundle, inventory, deploy_dir=placement.directory, host=placement.where)
        echo(format_plan(plan))
        if not plan.changed:
            return 0
        refuse(plan, placement, options)
        if not options.auto_approve and not confirm(plan):
            echo("apply cancelled; nothing changed")
            return 1
        deployed = Deployed.of(inventory, placement.directory)
        view = StackView.of(bundle)
        flavour = reported_flavour(deployed.docker) or detect_compose(host)
        project = ComposeProject(
            host, flavour, bundle.project, placement.directory, view.secret_variables
        )
        release = stage_release(host, placement.directory, bundle, deployed.hashes)
        echo(f"staged release {release.name}")
        rollout = Rollout(host, project, placement, bundle, view, plan, options, deployed, echo)
        return rollout.run(release, down_targets(inventory, bundle.project))


def refuse(plan: Plan, placement: Placement, options: ApplyOptions) -> None:
    """Raise when the plan must not be applied as it is: secrets the host lacks, data it
    would move or lose, services it would remove, unless allowed."""
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


@dataclass(frozen=True)
class Rollout:
    """A staged release made live, verified, and kept or rolled back."""

    host: Transport
    project: ComposeProject
    placement: Placement
    bundle: Bundle
    view: StackView
    plan: Plan
    options: ApplyOptions
    deployed: Deployed
    echo: Echo

    def run(self, release: Release, already_down: frozenset[tuple[str, str]]) -> int:
        directory, view = self.placement.directory, self.view
        steps = validation_commands(self.project, release, self.bundle)
        steps.append(("switch", switch_command(directory, release, self._dropped())))
        up = ["up", "-d"] + (["--remove-orphans"] if self.options.allow_remove else [])
        steps.append(("up", self.project.command(*up)))
        steps += reload_commands(self.project, self.plan.actions("reload"), stops=True)
        checks = verification_commands(view, self.bundle.files, timeout=self.options.timeout)
        sent = time.monotonic()
        answers = self.host.run_batch([c for _, c in steps] + checks)
        done = dict(zip((name for name, _ in steps), answers, strict=False))
        self._validated(release, steps, done)
        self._switched(release, done["switch"])
        try:
            self.project.checked(done["up"], doing="docker compose up")
            for name, _ in steps:
                if name.startswith("reload:"):
                    doing = f"reloading {name.removeprefix('reload:')}"
                    self.project.checked(done[name], doing=doing)
        except RuntimeFailure as exc:  # e.g. a port taken meanwhile: back to what ran before
            return self._rollback(Verification(problems=[exc.message]), "docker compose up")
        result = verify_stack(
            self.host,
            view,
            self.bundle.files,
            timeout=self.options.timeout,
            scrape_wait=self.options.scrape_wait,
            already_down=already_down,
            answers=answers[len(steps) :],
            since=sent,
            project=self.project,
        )
        if not result.ok:
            return self._rollback(result, "verification")
        state = DeployState(self.bundle.spec_sha256, release.name)
        finish = self.host.run_batch([prune_command(directory), state_command(directory, state)])
        check_done(finish[1], self.host, "write", state_path(directory))
        self.echo("verified: " + "; ".join(result.checks))
        self.echo(f"apply complete: release {release.name} is live on {self.placement.where}")
        return 0

    def _dropped(self) -> set[str]:
        """Files this tool deployed that the new release no longer has."""
        return set(self.deployed.files) - set(self.bundle.files)

    def _validated(
        self,
        release: Release,
        steps: list[tuple[str, Command]],
        done: dict[str, CommandResult | None],
    ) -> None:
        for name, _ in steps:
            if name == "switch":
                break
            result = done.get(name)
            if result is not None and not result.ok:
                self.host.run_batch([discard_command(release)])  # a rejected release is never live
                raise validation_problem(name, result, self.bundle)
        tests = [name.removeprefix("test:") for name, _ in steps if name.startswith("test:")]
        passed = f", rule tests ({', '.join(tests)})" if tests else ""
        self.echo(
            f"validated on the host: promtool/amtool from the images{passed}, docker compose config"
        )

    def _switched(self, release: Release, result: CommandResult | None) -> None:
        """The switch went through; if it stopped midway, put the previous release back whole."""
        try:
            switched(result, release, self.host.description)
        except SwitchFailedError as exc:
            previous = self.deployed.previous
            if previous is None:
                raise RuntimeFailure(
                    f"{exc.message}; the live files may be a mix and there is no earlier release",
                    hint="fix the cause (disk space?) and run `observatory apply` again",
                ) from None
            self.echo(f"switch failed: {exc.message}; switching back to release {previous.name}")
            gone = (set(self.bundle.files) | self.deployed.files) - self._files_of(previous)
            back = self.host.run_batch([switch_command(self.placement.directory, previous, gone)])
            switched(back[0], previous, self.host.description)
            raise RuntimeFailure(
                f"{exc.message}; the host was switched back to release {previous.name}",
                hint="fix the cause (disk space?) and run `observatory apply` again",
            ) from None

    def _files_of(self, release: Release) -> set[str]:
        path = posixpath.join(release.path, MANIFEST)
        data = read_answer(
            self.host.run_batch([read_command(path)])[0], self.host.description, path
        )
        return set(manifest_files(data))

    def _release_files(self, release: Release, listed: set[str]) -> dict[str, bytes]:
        """The files of release that verification reads (one round trip for all of them)."""
        paths = sorted(
            rel
            for rel in listed
            if rel in ("docker-compose.yml", ".env.example") or rel.startswith("prometheus/")
        )
        return read_files(self.host, release.path, paths)

    def _rollback(self, failed: Verification, what: str) -> int:
        echo = self.echo
        echo(f"{what} FAILED:\n" + "\n".join(f"  - {p}" for p in failed.problems))
        previous = self.deployed.previous
        if previous is None and self.plan.restore:
            return self._restore_hand_made(what)
        if previous is None:
            echo("no previous release on the host to roll back to; the new release stays in place")
            return 1
        echo(f"rolling back to release {previous.name}")
        listed = self._files_of(previous)
        files = self._release_files(previous, listed)
        gone = set(self.bundle.files) - listed
        steps = [
            ("switch", switch_command(self.placement.directory, previous, gone)),
            ("up", self.project.command("up", "-d")),
            # The containers that kept running through both `up`s re-read the old files; the
            # ones the failed release recreated are recreated again and read them as they
            # start (a SIGHUP before their handler is set would end them).
            *reload_commands(self.project, self.plan.actions("reload"), stops=False),
        ]
        view = None
        if "docker-compose.yml" in files:
            view = StackView.of(Bundle(self.project.name, self.plan.environment, "", files))
        checks = verification_commands(view, files, timeout=self.options.timeout) if view else []
        sent = time.monotonic()
        answers = self.host.run_batch([c for _, c in steps] + checks)
        switched(answers[0], previous, self.host.description)
        self.project.checked(answers[1], doing="docker compose up (rollback)")
        if view is not None:
            again = verify_stack(
                self.host,
                view,
                files,
                timeout=self.options.timeout,
                scrape_wait=self.options.scrape_wait,
                answers=answers[len(steps) :],
                since=sent,
            )
            status = "verified" if again.ok else "NOT healthy either: " + "; ".join(again.problems)
            echo(f"rolled back to release {previous.name}: {status}")
        raise RuntimeFailure(
            f"apply failed ({what}) and was rolled back to release {previous.name}",
            hint="see the problems above; `observatory logs SERVICE` shows why a service failed",
        )

    def _restore_hand_made(self, what: str) -> int:
        """A takeover that failed: the stack made by hand comes back from its own compose files
        (still where its author left them), and the tool's files step aside, so the host reads
        as not taken over again."""
        argv = [*self.project.flavour.argv, *self.plan.restore, "up", "-d"]
        self.echo(f"rolling back to the stack made by hand: {' '.join(argv)}")
        directory = self.placement.directory
        manifest = Command.of(["rm", "-f", "--", posixpath.join(directory, MANIFEST)])
        answers = self.host.run_batch(
            [manifest, forget_command(directory), Command.of(argv, stops=False)]
        )
        result = answers[-1]
        if result is not None and result.ok:
            status = "back up"
        else:
            said = result.stderr.decode("utf-8", "replace")[-300:] if result else "not started"
            status = "NOT back up: " + said
        self.echo(f"the stack made by hand is {status}")
        raise RuntimeFailure(
            f"apply failed ({what}); the stack made by hand was brought back from its own files",
            hint="see the problems above; fix the spec and run `observatory plan` again",
        )
