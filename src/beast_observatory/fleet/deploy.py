"""plan and apply on the hosts of a fleet: on each, exactly what ``observatory plan`` and
``apply`` do on one host (deploy/apply.py: host lock, probe, staged release, validation on
the host, atomic switch, ``compose up``, verification that the exporters answer, rollback),
several hosts at once (fleet/run.py).

An apply after a shown plan applies on each host only the plan that was shown: the host's
plan is computed again under its lock, and a host whose plan is no longer the one approved
is left as it is (like applying a saved Terraform plan that went stale).
"""

from __future__ import annotations

import contextlib
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass

from beast_observatory.deploy.apply import ApplyOptions, apply, compute_plan
from beast_observatory.deploy.target import ConnectOptions, Placement, placement
from beast_observatory.fleet.bundles import HostBundle
from beast_observatory.fleet.run import Echo, HostOutcome, HostWork, Status, run_hosts
from beast_observatory.host.transport.base import Transport
from beast_observatory.plan.model import Plan

Connect = Callable[[Placement], Transport]
# apply's own words when it has staged a release: "staged release 0003-3f9c2a1b4d5e".
_STAGED = re.compile(r"^staged release (\S+)")


def open_host(target: Placement) -> Transport:
    from beast_observatory.host.transport import open_transport  # noqa: PLC0415 - fabric

    return open_transport(target.target)


@dataclass(frozen=True)
class HostJob:
    """One host to plan or apply: its bundle and where it goes."""

    host: HostBundle
    placement: Placement

    @property
    def name(self) -> str:
        return self.host.member.name


def host_jobs(hosts: Sequence[HostBundle], options: ConnectOptions) -> list[HostJob]:
    """Where each host's bundle goes: its ssh settings (the ssh config's where they say
    nothing), the fleet's deploy directory and its lock."""
    return [HostJob(h, placement(h.stack, options)) for h in hosts]


def changes(plan: Plan) -> str:
    """What a plan does, in a few words: ``create node-exporter; 3 files``."""
    parts = [
        f"{action} {', '.join(names)}"
        for action in ("create", "recreate", "reload", "remove")
        if (names := plan.actions(action))
    ]
    if plan.files:
        parts.append(f"{len(plan.files)} file{'s' if len(plan.files) != 1 else ''}")
    return "; ".join(parts) or "no changes"


def same_changes(a: Plan, b: Plan) -> bool:
    """Two plans of a host change the same (what else runs there may differ)."""
    return (a.files, a.services, a.blockers, a.missing_secrets) == (
        b.files,
        b.services,
        b.blockers,
        b.missing_secrets,
    )


def plan_host(job: HostJob, connect: Connect) -> HostOutcome:
    with contextlib.closing(connect(job.placement)) as transport:
        plan = compute_plan(transport, job.placement, job.host.bundle)
    status: Status = "changes" if plan.changed else "unchanged"
    return HostOutcome(job.name, status, changes=changes(plan), plan=plan)


@dataclass(frozen=True)
class FleetApply:
    """How to apply on every host; ``approved``: the plan shown for each host (none: apply
    whatever each host's plan is, as --auto-approve does)."""

    options: ApplyOptions
    approved: Mapping[str, Plan] | None = None
    connect: Connect = open_host

    def host(self, job: HostJob, echo: Echo) -> HostOutcome:
        planned: list[Plan] = []
        staged: list[str] = []
        shown = None if self.approved is None else self.approved.get(job.name)

        def confirm(plan: Plan) -> bool:
            planned.append(plan)
            return shown is None or same_changes(plan, shown)

        def said(line: str) -> None:
            if found := _STAGED.match(line):
                staged.append(found.group(1))
            echo(line)

        with contextlib.closing(self.connect(job.placement)) as transport:
            code = apply(
                transport, job.placement, job.host.bundle, self.options, confirm=confirm, echo=said
            )
        if not planned:
            return HostOutcome(job.name, "unchanged", changes="no changes")
        if code != 0:
            return HostOutcome(
                job.name,
                "failed",
                changes=changes(planned[0]),
                error=f"{job.name}: its plan changed since it was shown; nothing was changed there",
                hint="run `observatory fleet plan` again, then apply",
            )
        release = staged[-1] if staged else None
        return HostOutcome(job.name, "applied", changes=changes(planned[0]), release=release)


def plan_fleet(
    jobs: Sequence[HostJob],
    *,
    concurrency: int,
    fail_fast: bool,
    done: Callable[[HostOutcome, int, int], object],
    connect: Connect = open_host,
) -> list[HostOutcome]:
    work = HostWork[HostJob](lambda job, _echo: plan_host(job, connect), lambda job: job.name)
    return run_hosts(jobs, work, concurrency=concurrency, fail_fast=fail_fast, done=done)


def apply_fleet(
    jobs: Sequence[HostJob],
    how: FleetApply,
    *,
    concurrency: int,
    fail_fast: bool,
    done: Callable[[HostOutcome, int, int], object],
) -> list[HostOutcome]:
    work = HostWork[HostJob](how.host, lambda job: job.name)
    return run_hosts(jobs, work, concurrency=concurrency, fail_fast=fail_fast, done=done)
