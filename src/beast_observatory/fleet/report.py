"""What fleet plan and apply print (pure): a progress line as each host finishes, the plans
(hosts with the same plan under one heading), a summary table, and the verdict."""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping, Sequence

from beast_observatory.errors import ObservatoryError
from beast_observatory.fleet.resolve import FleetMember
from beast_observatory.fleet.run import HostOutcome
from beast_observatory.plan.model import format_plan

_WORDS = {
    "unchanged": "no changes",
    "changes": "changes",
    "applied": "applied",
    "failed": "FAILED",
    "skipped": "skipped",
}


def seconds(value: float) -> str:
    return f"{value:.1f}s"


def progress(outcome: HostOutcome, n: int, total: int, *, verbose: bool = False) -> str:
    """``[2/3] fleet-b: applied release 0004-... (create node-exporter; 3 files) in 6.1s``,
    with the reason and what the host's operation said when it failed."""
    took = seconds(outcome.seconds)
    head = f"[{n}/{total}] {outcome.host}: "
    if outcome.status == "applied":
        line = f"applied release {outcome.release or '?'} ({outcome.changes}) in {took}"
    elif outcome.status == "changes":
        line = f"{outcome.changes} ({took})"
    elif outcome.status == "unchanged":
        line = f"no changes ({took})"
    else:
        line = f"{_WORDS[outcome.status]} after {took}: {outcome.error}"
    lines = [head + line]
    if outcome.failed and outcome.hint:
        lines.append(f"    hint: {outcome.hint}")
    if verbose or (outcome.status == "failed" and outcome.log):
        lines += [f"    | {text}" for text in said(outcome, whole=verbose)]
    return "\n".join(lines)


def said(outcome: HostOutcome, *, whole: bool) -> list[str]:
    """The lines of the host's log; without whole, not its plan (shown before, or in the
    summary): what happened after it."""
    entries = [e for e in outcome.log if whole or not e.startswith("Plan for ")]
    return [line for entry in entries for line in entry.rstrip("\n").splitlines()]


def grouped_plans(outcomes: Sequence[HostOutcome], *, diffs: bool = False) -> str:
    """Each host's plan (the files' diffs with diffs); hosts whose plans are the same share
    one."""
    groups: dict[str, list[HostOutcome]] = {}
    for outcome in outcomes:
        if outcome.plan is not None and outcome.plan.changed:
            key = format_plan(dataclasses.replace(outcome.plan, host="*"), diffs=diffs)
            groups.setdefault(key, []).append(outcome)
    out = []
    for key, members in groups.items():
        names = ", ".join(o.host for o in members)
        same = f" (the same on {len(members)} hosts)" if len(members) > 1 else ""
        body = key.split("\n", 1)[1]
        out.append(f"Plan for {names}{same}:\n{body}")
    return "\n".join(out)


def summary(outcomes: Sequence[HostOutcome], members: Mapping[str, FleetMember]) -> str:
    """One row per host: what happened there."""
    header = ("HOST", "ADDRESS", "RESULT", "RELEASE", "CHANGES", "TIME")
    rows = [header]
    for o in outcomes:
        member = members.get(o.host)
        rows.append(
            (
                o.host,
                member.address if member else "-",
                _WORDS[o.status].lower(),
                o.release or "-",
                o.changes or "-",
                seconds(o.seconds),
            )
        )
    widths = [max(len(row[i]) for row in rows) for i in range(len(header))]
    lines = [
        "  ".join(c.ljust(w) for c, w in zip(row, widths, strict=True)).rstrip() for row in rows
    ]
    lines += [f"  {o.host}: {o.error}" for o in outcomes if o.failed and o.error]
    return "\n".join(lines) + "\n"


def verdict(outcomes: Sequence[HostOutcome], command: str) -> ObservatoryError | None:
    """The error that ends the command when any host failed (exit 1, or 3 for a bug)."""
    failed = [o for o in outcomes if o.failed]
    if not failed:
        return None
    names = ", ".join(o.host for o in failed)
    done = len(outcomes) - len(failed)
    error = ObservatoryError(
        f"fleet {command}: {len(failed)} of {len(outcomes)} host(s) failed: {names}",
        hint=f"the reasons are above; {done} other host(s) went through. Once fixed, "
        f"`observatory fleet {command} --limit {','.join(o.host for o in failed)}` retries them",
    )
    if any(o.bug for o in failed):
        error.exit_code = 3
        error.hint = (
            "an internal error is a bug in beast-observatory: please report it with the "
            "command you ran"
        )
    return error
