"""The Plan value: printable, serialisable, testable before anything runs."""

from __future__ import annotations

import re
from dataclasses import asdict, dataclass, field
from typing import Any, Literal

PLAN_FORMAT = 1

FileAction = Literal["add", "change", "remove"]
# update: a Swarm service whose tasks Swarm replaces (engine: swarm)
ServiceAction = Literal["create", "recreate", "reload", "update", "remove", "unchanged"]


@dataclass(frozen=True)
class FileChange:
    path: str
    action: FileAction
    diff: str = ""


@dataclass(frozen=True)
class ServiceChange:
    service: str
    action: ServiceAction
    reasons: tuple[str, ...] = ()


@dataclass(frozen=True)
class Plan:
    environment: str
    host: str
    deploy_dir: str
    files: tuple[FileChange, ...]
    services: tuple[ServiceChange, ...]
    unmanaged: dict[str, tuple[str, ...]] = field(default_factory=dict)
    notes: tuple[str, ...] = ()
    # Where data would move or be lost: apply refuses these without --allow-data-move.
    blockers: tuple[str, ...] = ()
    takeover: bool = False  # the first apply on a host made by hand
    # compose arguments that bring the hand-made stack back (-p, --project-directory, -f...):
    # what a failed takeover rolls back to.
    restore: tuple[str, ...] = ()
    # Variables the stack reads from the host's .env that it does not set.
    missing_secrets: tuple[str, ...] = ()

    @property
    def changed(self) -> bool:
        return bool(self.files) or any(s.action != "unchanged" for s in self.services)

    def service(self, name: str) -> ServiceChange | None:
        return next((s for s in self.services if s.service == name), None)

    def actions(self, action: ServiceAction) -> list[str]:
        return [s.service for s in self.services if s.action == action]

    def to_json(self) -> dict[str, Any]:
        return {
            "format_version": PLAN_FORMAT,
            "changed": self.changed,
            **asdict(self),
            "files": [asdict(f) for f in self.files],
            "services": [{**asdict(s), "reasons": list(s.reasons)} for s in self.services],
            "unmanaged": {k: list(v) for k, v in sorted(self.unmanaged.items())},
            "notes": list(self.notes),
            "blockers": list(self.blockers),
            "missing_secrets": list(self.missing_secrets),
        }


def format_plan(plan: Plan, *, diffs: bool = True) -> str:
    lines = [f"Plan for environment {plan.environment} on {plan.host} ({plan.deploy_dir}):", ""]
    if not plan.changed:
        lines.append("No changes. The host matches the spec.")
    for s in plan.services:
        if s.action == "unchanged":
            continue
        lines.append(f"  {_SIGN[s.action]} {s.service}: {s.action}")
        lines.extend(f"      - {r}" for r in s.reasons)
    if plan.files:
        lines += ["", "Files:"]
        for f in plan.files:
            lines.append(f"  {_FILE_SIGN[f.action]} {f.path} ({f.action})")
    if diffs and any(f.diff for f in plan.files):
        lines.append("")
        lines += [_shorten(f.diff) for f in plan.files if f.diff]
    lines += _footnotes(plan)
    lines.append(_summary(plan))
    return "\n".join(lines) + "\n"


_ANONYMOUS = re.compile(r"^[0-9a-f]{64}$")  # docker's name of a volume nobody named


def _named(names: tuple[str, ...]) -> str:
    """Names as the text plan shows them: anonymous volumes counted, not listed."""
    named = [n for n in names if not _ANONYMOUS.match(n)]
    anonymous = len(names) - len(named)
    return ", ".join(named + ([f"{anonymous} anonymous"] if anonymous else []))


def _footnotes(plan: Plan) -> list[str]:
    """What the plan leaves alone, its notes, and what stops apply."""
    lines = [
        f"\nNot managed by this spec (left alone): {kind}: {_named(names)}"
        for kind, names in sorted(plan.unmanaged.items())
        if names
    ]
    lines += [f"\nNote: {n}" for n in plan.notes]
    if plan.missing_secrets:
        lines.append(
            f"\nSecrets missing in {plan.deploy_dir}/.env (apply refuses until they are set): "
            + ", ".join(plan.missing_secrets)
            + " (`observatory secrets set NAME`)"
        )
    if plan.blockers:
        lines.append("\nData would move or be lost (apply refuses this without --allow-data-move):")
        lines.extend(f"  ! {b}" for b in plan.blockers)
    return lines


def _summary(plan: Plan) -> str:
    changed = [s for s in plan.services if s.action != "unchanged"]
    counts = ", ".join(
        f"{len(plan.actions(a))} to {a}"
        for a in ("create", "recreate", "reload", "update", "remove")
        if a != "update" or plan.actions(a)  # update: only Swarm services have it
    )
    affected = f" ({len(changed)} service(s) affected)." if plan.changed else "."
    return f"\nPlan: {len(plan.files)} file(s) to change, {counts}{affected}"


MAX_DIFF_LINES = 60
MAX_LINE_CHARS = 200


def _shorten(diff: str) -> str:
    """Long diffs (a new dashboard) are cut in the text output; --output json has them whole.

    Lines too: a minified dashboard is one line of megabytes."""
    lines = [
        f"{line[:MAX_LINE_CHARS]}... ({len(line) - MAX_LINE_CHARS} more characters)"
        if len(line) > MAX_LINE_CHARS
        else line
        for line in diff.rstrip("\n").splitlines()
    ]
    if len(lines) <= MAX_DIFF_LINES:
        return "\n".join(lines)
    cut = len(lines) - MAX_DIFF_LINES
    return "\n".join([*lines[:MAX_DIFF_LINES], f"... ({cut} more lines: see --output json)"])


_SIGN = {
    "create": "+",
    "recreate": "-/+",
    "reload": "~",
    "update": "-/+",
    "remove": "-",
    "unchanged": " ",
}
_FILE_SIGN = {"add": "+", "change": "~", "remove": "-"}
