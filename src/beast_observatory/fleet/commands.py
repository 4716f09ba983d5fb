"""``observatory fleet plan`` and ``fleet apply``: load the spec, pick the hosts, run them,
say what happened (the CLI in fleet/cli.py only parses options)."""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

from beast_observatory.deploy.apply import ApplyOptions
from beast_observatory.deploy.target import ConnectOptions
from beast_observatory.errors import EXIT_CHANGES
from beast_observatory.fleet.bundles import compile_fleet
from beast_observatory.fleet.deploy import (
    Connect,
    FleetApply,
    HostJob,
    apply_fleet,
    host_jobs,
    open_host,
)
from beast_observatory.fleet.deploy import plan_fleet as run_plans
from beast_observatory.fleet.report import grouped_plans, progress, summary, verdict
from beast_observatory.fleet.resolve import FleetMember, select
from beast_observatory.fleet.run import Echo, HostOutcome
from beast_observatory.plan.model import PLAN_FORMAT
from beast_observatory.spec.load import load_project


@dataclass(frozen=True)
class FleetRun:
    """Which hosts, how to reach them, how many at once."""

    spec: Path | None
    environment: str
    limit: Sequence[str]
    connect: ConnectOptions
    concurrency: int = 5
    fail_fast: bool = False
    verbose: bool = False
    transport: Connect = open_host  # tests: a fake host per placement

    def jobs(self) -> tuple[list[HostJob], dict[str, FleetMember]]:
        project = load_project(self.spec)
        hosts = compile_fleet(project, self.environment)
        chosen = {m.name for m in select([h.member for h in hosts], self.limit)}
        picked = [h for h in hosts if h.member.name in chosen]
        return host_jobs(picked, self.connect), {h.member.name: h.member for h in picked}

    def heading(self, command: str, jobs: Sequence[HostJob]) -> str:
        at_once = max(1, min(self.concurrency, len(jobs)))
        return (
            f"fleet {command}: {len(jobs)} host(s) of environment {self.environment}, "
            f"{at_once} at a time"
        )

    def plans(self, jobs: Sequence[HostJob], echo: Echo) -> list[HostOutcome]:
        return run_plans(
            jobs,
            concurrency=self.concurrency,
            fail_fast=self.fail_fast,
            done=self.progress(echo),
            connect=self.transport,
        )

    def progress(self, echo: Echo) -> Callable[[HostOutcome, int, int], object]:
        return lambda o, n, total: echo(progress(o, n, total, verbose=self.verbose))


def plan_command(run: FleetRun, *, output: str, echo: Echo) -> int:
    """Exit 0: no host has changes; 2: some have; 1 (raised): a host could not be planned."""
    jobs, members = run.jobs()
    text = output != "json"
    if text:
        echo(run.heading("plan", jobs))
    outcomes = run.plans(jobs, echo if text else lambda _: None)
    if text:
        if plans := grouped_plans(outcomes, diffs=run.verbose):
            echo("\n" + plans)
        echo("\n" + summary(outcomes, members))
    else:
        echo(json.dumps(plan_json(run.environment, outcomes), indent=2, sort_keys=True))
    if (error := verdict(outcomes, "plan")) is not None:
        raise error
    return EXIT_CHANGES if any(o.status == "changes" for o in outcomes) else 0


def plan_json(environment: str, outcomes: Sequence[HostOutcome]) -> dict[str, object]:
    return {
        "format_version": PLAN_FORMAT,
        "environment": environment,
        "changed": any(o.status == "changes" for o in outcomes),
        "hosts": {
            o.host: {
                "status": o.status,
                "plan": o.plan.to_json() if o.plan is not None else None,
                "error": o.error,
                "hint": o.hint,
            }
            for o in outcomes
        },
    }


@dataclass(frozen=True)
class ApplySettings:
    auto_approve: bool = False
    allow_remove: bool = False
    timeout: float = 180.0


def apply_command(
    run: FleetRun, settings: ApplySettings, *, confirm: Callable[[str], bool], echo: Echo
) -> int:
    """Exit 0: every host applied (or had nothing to do); 1 (raised): a host failed."""
    jobs, members = run.jobs()
    options = ApplyOptions(
        auto_approve=False,  # fleet/deploy.py confirms each host's plan itself
        allow_remove=settings.allow_remove,
        allow_data_move=False,
        timeout=settings.timeout,
        scrape_wait=0.0,
    )
    how = FleetApply(options, None, run.transport)
    before: list[HostOutcome] = []
    if not settings.auto_approve:
        before, go = _approved_plans(run, jobs, confirm=confirm, echo=echo)
        if go is None:
            echo("apply cancelled; nothing changed")
            return 1
        if not go:
            return _finish(run, before, members, echo)
        approved = {o.host: o.plan for o in before if o.status == "changes" and o.plan}
        how = FleetApply(options, approved, how.connect)
        jobs = [j for j in jobs if j.name in approved]
        echo("")
    echo(run.heading("apply", jobs))
    outcomes = apply_fleet(
        jobs, how, concurrency=run.concurrency, fail_fast=run.fail_fast, done=run.progress(echo)
    )
    applied = {o.host: o for o in outcomes}
    final = [applied.get(o.host, o) for o in before] or outcomes
    return _finish(run, final, members, echo)


def _approved_plans(
    run: FleetRun, jobs: Sequence[HostJob], *, confirm: Callable[[str], bool], echo: Echo
) -> tuple[list[HostOutcome], bool | None]:
    """Every host's plan, shown, then asked about once for the hosts that have changes; and
    whether to go on (None: the user said no)."""
    echo(run.heading("plan", jobs))
    outcomes = run.plans(jobs, echo)
    if plans := grouped_plans(outcomes, diffs=run.verbose):
        echo("\n" + plans)
    changed = sum(o.status == "changes" for o in outcomes)
    failed = sum(o.failed for o in outcomes)
    if not changed or (failed and run.fail_fast):
        return outcomes, False
    question = f"Apply these changes to {changed} host(s)?"
    if failed:
        question = f"{failed} host(s) could not be planned (see above). {question}"
    return outcomes, True if confirm(question) else None


def _finish(
    run: FleetRun, outcomes: Sequence[HostOutcome], members: dict[str, FleetMember], echo: Echo
) -> int:
    echo("\n" + summary(outcomes, members))
    if any(o.status == "applied" for o in outcomes):
        echo(
            f"The Prometheus of environment {run.environment} finds these hosts in its "
            "prometheus/fleet/*.json: when hosts came or went, `observatory apply "
            f"--environment {run.environment}` brings it up to date."
        )
    if (error := verdict(outcomes, "apply")) is not None:
        raise error
    return 0
