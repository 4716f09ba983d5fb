"""``plan`` and ``apply`` of an environment with ``engine: swarm``, on a Swarm manager.

apply, in the host lock's session on the manager, as for compose: probe (one round trip) ->
plan -> confirm -> stage the release under releases/ (only changed files travel) -> one batch:
promtool from the Prometheus image and the Docker client (docker stack config) judge the
release, the live files switch to it, ``docker stack deploy`` (secrets made from .env first,
named by their values' hashes), the wait until Swarm has converged, Prometheus' targets and
rules -> verify -> on success record the state and remove the configs and secrets no service
uses any more; on failure switch back to the previous release's stack file, deploy it again
and verify that.
"""

from __future__ import annotations

import posixpath
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from beast_observatory.bundle.bundle import MANIFEST, Bundle
from beast_observatory.deploy.apply import ApplyOptions, checker_command, refuse
from beast_observatory.deploy.observed import Deployed, manifest_files
from beast_observatory.deploy.releases import (
    Release,
    discard_command,
    prune_command,
    stage_release,
    switch_command,
    switched,
)
from beast_observatory.deploy.state import DeployState, state_command, state_path
from beast_observatory.deploy.target import Placement
from beast_observatory.deploy.verify import Verification
from beast_observatory.errors import ObservatoryError, RuntimeFailure
from beast_observatory.host.files import check_done, read_answer, read_command, read_files
from beast_observatory.host.lock import HostLock
from beast_observatory.host.transport.base import Command, CommandResult, Transport
from beast_observatory.names import KIND_LABEL
from beast_observatory.plan.model import Plan, format_plan
from beast_observatory.swarm.names import STACK_FILE
from beast_observatory.swarm.plan import swarm_plan
from beast_observatory.swarm.probe import (
    SECRETS,
    Observed,
    parse_probe,
    probe_command,
    swarm_script,
)
from beast_observatory.swarm.secrets import host_arguments
from beast_observatory.swarm.verify import Checks, verify_swarm
from beast_observatory.yamlio import load_yaml

Echo = Callable[[str], object]
VALIDATE = swarm_script("validate.sh")
PRUNE_OBJECTS = swarm_script("prune.sh")
SETTINGS_KEY = "x-observatory"


def stack_file(files: dict[str, bytes] | Any) -> dict[str, Any]:
    return load_yaml(files[STACK_FILE], STACK_FILE) or {}


def observe(transport: Transport, placement: Placement, bundle: Bundle) -> Observed:
    args = host_arguments(bundle.project, stack_file(bundle.files))
    result = transport.run_batch([probe_command(bundle.project, placement.directory, args)])[0]
    observed = parse_probe(result, transport.description)
    if not observed.is_manager:
        state = observed.swarm.get("LocalNodeState") or "inactive"
        raise RuntimeFailure(
            f"the Docker engine on {placement.where} is not a Swarm manager (swarm: {state})",
            hint="point the environment's ssh.host at a manager of the swarm, or make this "
            "host one (`docker swarm init --advertise-addr ADDRESS`)",
        )
    return observed


def _notes(observed: Observed, bundle: Bundle) -> tuple[str, ...]:
    notes = [
        f"node {n.get('Hostname')} ({n.get('ID')}) is {n.get('Status')}"
        for n in observed.nodes
        if n.get("Status") != "Ready"
    ]
    for data in observed.services:
        spec = data.get("Spec") or {}
        name = str(spec.get("Name", ""))
        replicas = ((spec.get("Mode") or {}).get("Replicated") or {}).get("Replicas")
        running = observed.running_tasks(name)
        if replicas is not None and running < replicas:
            notes.append(f"{name}: {running}/{replicas} tasks running (`docker service ps {name}`)")
    if any(f.startswith("grafana/dashboards/") for f in bundle.files):
        notes.append("on Swarm a changed dashboard is a new config: Grafana's task is replaced")
    return tuple(notes)


def plan_from(observed: Observed, placement: Placement, bundle: Bundle) -> Plan:
    return swarm_plan(
        bundle,
        observed.services,
        files=observed.files,
        secret_names=observed.secret_names,
        env_names=observed.env_names,
        deploy_dir=placement.directory,
        host=f"{placement.where} (Swarm manager)",
        notes=_notes(observed, bundle),
    )


def compute_plan(transport: Transport, placement: Placement, bundle: Bundle) -> Plan:
    return plan_from(observe(transport, placement, bundle), placement, bundle)


def deploy_command(
    directory: str, project: str, files: dict[str, bytes] | Any, *, prune: bool
) -> Command:
    """docker stack deploy of the live stack file, its secrets made from .env first."""
    doc = stack_file(files)
    resolve = str((doc.get(SETTINGS_KEY) or {}).get("resolve-image") or "never")
    deploy = ["docker", "stack", "deploy", "--resolve-image", resolve]
    deploy += ["--prune"] if prune else []
    deploy += ["-c", STACK_FILE, project]
    return SECRETS.command("run", directory, *host_arguments(project, doc), "--", *deploy)


def validation_commands(
    directory: str, release: Release, bundle: Bundle
) -> list[tuple[str, Command]]:
    doc = stack_file(bundle.files)
    steps = []
    for svc in (doc.get("services") or {}).values():
        if (svc.get("labels") or {}).get(KIND_LABEL) == "prometheus":
            steps.append(("check:prometheus", checker_command(release, "prometheus", svc["image"])))
    path = posixpath.join(release.path, STACK_FILE)
    args = host_arguments(bundle.project, doc)
    validate = SECRETS.command("run", directory, *args, "--", *VALIDATE.argv(path))
    return [*steps, ("validate", validate)]


def validation_problem(step: str, result: CommandResult) -> RuntimeFailure:
    output = (result.stdout + result.stderr).decode("utf-8", "replace").strip()
    if step == "check:prometheus":
        return RuntimeFailure(
            "promtool rejects the new configuration:\n    " + output.replace("\n", "\n    "),
            hint="fix the spec; the swarm was not changed",
        )
    return RuntimeFailure(
        f"the Docker client rejects the new {STACK_FILE}: {output[-500:]}",
        hint="fix the spec (or the .env on the manager); the swarm was not changed",
    )


def apply(
    transport: Transport,
    placement: Placement,
    bundle: Bundle,
    options: ApplyOptions,
    *,
    confirm: Callable[[Plan], bool],
    echo: Echo,
) -> int:
    with HostLock(transport, placement.lock_path) as host:
        observed = observe(host, placement, bundle)
        plan = plan_from(observed, placement, bundle)
        echo(format_plan(plan))
        if not plan.changed:
            return 0
        refuse(plan, placement, options)
        if not options.auto_approve and not confirm(plan):
            echo("apply cancelled; nothing changed")
            return 1
        deployed = observed.deployed(placement.directory)
        release = stage_release(host, placement.directory, bundle, deployed.hashes)
        echo(f"staged release {release.name}")
        return Rollout(host, placement, bundle, options, deployed, echo).run(release)


def rollout_steps(
    directory: str, release: Release, bundle: Bundle, gone: set[str], *, prune: bool
) -> list[tuple[str, Command]]:
    """The release judged, switched to and deployed (the checks follow in the same batch)."""
    steps = validation_commands(directory, release, bundle)
    steps.append(("switch", switch_command(directory, release, gone)))
    deploy = deploy_command(directory, bundle.project, bundle.files, prune=prune)
    return [*steps, ("deploy", deploy)]


def finish_commands(directory: str, bundle: Bundle, release: Release) -> list[Command]:
    """After a verified deploy: old releases, configs no service uses, the state recorded."""
    keep = sorted(_config_names(stack_file(bundle.files)))
    return [
        prune_command(directory),
        PRUNE_OBJECTS.command(bundle.project, *keep, stops=False),
        state_command(directory, DeployState(bundle.spec_sha256, release.name)),  # stdin: last
    ]


@dataclass(frozen=True)
class Rollout:
    host: Transport
    placement: Placement
    bundle: Bundle
    options: ApplyOptions
    deployed: Deployed
    echo: Echo

    def run(self, release: Release) -> int:
        directory = self.placement.directory
        gone = set(self.deployed.files) - set(self.bundle.files)
        steps = rollout_steps(
            directory, release, self.bundle, gone, prune=self.options.allow_remove
        )
        checks = Checks(self.bundle.project, self.bundle.files)
        answers = self.host.run_batch([c for _, c in steps] + checks.commands(self.options.timeout))
        done = dict(zip((n for n, _ in steps), answers, strict=False))
        for name, _ in steps[:-2]:
            answer = done.get(name)
            if answer is not None and not answer.ok:
                self.host.run_batch([discard_command(release)])
                raise validation_problem(name, answer)
        self.echo("validated on the manager: promtool from the image, docker stack config")
        switched(done["switch"], release, self.host.description)
        deploy = done["deploy"]
        if deploy is None or not deploy.ok:
            said = deploy.stderr.decode("utf-8", "replace").strip()[-500:] if deploy else ""
            failed = Verification(problems=[f"docker stack deploy failed: {said}"])
            return self._rollback(failed, "docker stack deploy")
        result = verify_swarm(
            self.host,
            checks,
            answers[len(steps) :],
            timeout=self.options.timeout,
            scrape_wait=self.options.scrape_wait,
        )
        if not result.ok:
            return self._rollback(result, "verification")
        finish = self.host.run_batch(finish_commands(directory, self.bundle, release))
        check_done(finish[-1], self.host, "write", state_path(directory))
        self.echo("verified: " + "; ".join(result.checks))
        self.echo(f"apply complete: release {release.name} is deployed on {self.placement.where}")
        return 0

    def _previous_files(self, release: Release) -> dict[str, bytes]:
        """What of release the rollback deploys and verifies (one round trip)."""
        manifest = posixpath.join(release.path, MANIFEST)
        listed = manifest_files(
            read_answer(
                self.host.run_batch([read_command(manifest)])[0], self.host.description, manifest
            )
        )
        paths = sorted(p for p in listed if p == STACK_FILE or p.startswith("prometheus/"))
        return read_files(self.host, release.path, paths)

    def _rollback(self, failed: Verification, what: str) -> int:
        self.echo(f"{what} FAILED:\n" + "\n".join(f"  - {p}" for p in failed.problems))
        previous = self.deployed.previous
        if previous is None:
            self.echo(
                "no previous release on the manager to roll back to; the new stack stays deployed"
            )
            raise RuntimeFailure(
                f"apply failed ({what})",
                hint="see the problems above; `docker service ps --no-trunc SERVICE` on the "
                "manager says why a task failed",
            )
        self.echo(f"rolling back to release {previous.name}")
        files = self._previous_files(previous)
        if STACK_FILE not in files:
            raise ObservatoryError(f"release {previous.name} has no {STACK_FILE}: cannot roll back")
        gone = set(self.bundle.files) - set(self.deployed.files)
        checks = Checks(self.bundle.project, files)
        steps = [
            switch_command(self.placement.directory, previous, gone),
            deploy_command(self.placement.directory, self.bundle.project, files, prune=False),
        ]
        answers = self.host.run_batch(steps + checks.commands(self.options.timeout))
        switched(answers[0], previous, self.host.description)
        again = verify_swarm(
            self.host,
            checks,
            answers[len(steps) :],
            timeout=self.options.timeout,
            scrape_wait=self.options.scrape_wait,
        )
        status = "verified" if again.ok else "NOT healthy either: " + "; ".join(again.problems)
        self.echo(f"rolled back to release {previous.name}: {status}")
        raise RuntimeFailure(
            f"apply failed ({what}) and was rolled back to release {previous.name}",
            hint="see the problems above; `docker service ps --no-trunc SERVICE` on the manager "
            "says why a task failed",
        )


def _config_names(doc: dict[str, Any]) -> set[str]:
    return {str((c or {}).get("name") or k) for k, c in (doc.get("configs") or {}).items()}
