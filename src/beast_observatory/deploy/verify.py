"""After an apply: is the stack really doing its job? Health, scrape targets, rules, pushes.

What verification asks the host is one batch (``verification_commands``): the stack's status,
waiting on the host until every service is ready (host/scripts/status.sh), what Prometheus
loaded (deploy/scripts/prometheus-api.sh) and a push probe of the Pushgateway
(deploy/scripts/push-probe.sh). apply sends it in the same batch as the switch; only scrape
targets still coming up cost further round trips (one per look, every two seconds).
"""

from __future__ import annotations

import json
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from beast_observatory.deploy.operations import (
    StackView,
    status_rows,
    wait_healthy,
    with_log_tails,
)
from beast_observatory.host.compose import ComposeProject
from beast_observatory.host.shell import deploy_script
from beast_observatory.host.status import status_command
from beast_observatory.host.transport.base import Command, CommandResult, Transport
from beast_observatory.names import KIND_LABEL
from beast_observatory.yamlio import load_yaml

MARK = "@@observatory-verify@@"
PROMETHEUS_API = deploy_script("prometheus-api.sh")
PUSH_PROBE = deploy_script("push-probe.sh")
_SCRAPE_LOOK_EVERY = 2.0
_READY = "/-/ready"
PROMETHEUS_INSIDE = "http://127.0.0.1:9090"  # without a ready label: its usual listen address


@dataclass
class Verification:
    problems: list[str] = field(default_factory=list)
    checks: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.problems


def parse_api(output: str) -> tuple[Any, Any]:
    parts = {}
    for chunk in output.split(MARK)[1:]:
        name, _, body = chunk.partition("\n")
        try:
            parts[name.strip()] = json.loads(body.strip() or "null")
        except ValueError:
            parts[name.strip()] = None
    return parts.get("targets"), parts.get("rules")


def declared_targets(prometheus_yml: bytes) -> set[tuple[str, str]]:
    config = load_yaml(prometheus_yml, "prometheus.yml") or {}
    out: set[tuple[str, str]] = set()
    for job in config.get("scrape_configs") or []:
        for sc in job.get("static_configs") or []:
            out.update((job["job_name"], t) for t in sc.get("targets") or [])
    return out


def declared_groups(rule_files: list[bytes]) -> set[str]:
    names: set[str] = set()
    for data in rule_files:
        doc = load_yaml(data, "rules") or {}
        names.update(
            g["name"] for g in doc.get("groups") or [] if isinstance(g, dict) and "name" in g
        )
    return names


def prometheus_service(bundle_files: Mapping[str, bytes]) -> str:
    """The compose service of the stack's Prometheus (by the tool's kind label)."""
    compose = load_yaml(bundle_files["docker-compose.yml"], "docker-compose.yml") or {}
    for name, svc in (compose.get("services") or {}).items():
        if ((svc or {}).get("labels") or {}).get(KIND_LABEL) == "prometheus":
            return str(name)
    return "prometheus"


def behind_auth(bundle_files: Mapping[str, bytes], service: str) -> bool:
    """The service's API then needs a password the tool never holds."""
    compose = load_yaml(bundle_files["docker-compose.yml"], "docker-compose.yml") or {}
    command = ((compose.get("services") or {}).get(service) or {}).get("command") or []
    return any(str(arg).startswith("--web.config.file=") for arg in command)


def target_key(t: dict[str, Any]) -> tuple[str, str]:
    """A target as prometheus.yml declares it: its scrape pool (job_name) and the address it
    was given (relabelling may change its job and instance labels, not these)."""
    discovered = t.get("discoveredLabels") or {}
    labels = t.get("labels") or {}
    return (
        str(t.get("scrapePool") or labels.get("job")),
        str(discovered.get("__address__") or labels.get("instance")),
    )


def target_problems(targets: Any, wanted: set[tuple[str, str]]) -> list[str]:
    data = (targets or {}).get("data", {})
    health = {target_key(t): t for t in data.get("activeTargets") or []}
    dropped = {target_key(t) for t in data.get("droppedTargets") or []}
    problems = []
    for job, instance in sorted(wanted):
        t = health.get((job, instance))
        if t is None and (job, instance) in dropped:
            continue  # its relabelling drops it, as written
        if t is None:
            problems.append(f"scrape target {job}/{instance}: not loaded by Prometheus")
        elif t.get("health") != "up":
            problems.append(
                f"scrape target {job}/{instance}: {t.get('health')} "
                f"({t.get('lastError') or 'not scraped yet'})"
            )
    return problems


def rule_problems(rules: Any, wanted: set[str]) -> list[str]:
    loaded = {g.get("name") for g in (rules or {}).get("data", {}).get("groups") or []}
    return [f"rule group {g}: not loaded by Prometheus" for g in sorted(wanted - loaded)]


@dataclass(frozen=True)
class Checks:
    """What verification of a stack asks the host, and how to read the answers."""

    view: StackView
    files: Mapping[str, bytes]
    already_down: frozenset[tuple[str, str]] = frozenset()

    @property
    def prometheus(self) -> bool:
        return "prometheus/prometheus.yml" in self.files and not behind_auth(
            self.files, prometheus_service(self.files)
        )

    @property
    def pushgateway_url(self) -> str | None:
        pg = next(
            (ep for ep in self.view.endpoints if ep.service == "pushgateway" and ep.port), None
        )
        return None if pg is None or behind_auth(self.files, "pushgateway") else pg.url

    def prometheus_api(self) -> Command:
        """Prometheus' targets and rules at its own port and route prefix: on its published
        URL, else inside its container (found by the tool's kind label)."""
        name = prometheus_service(self.files)
        ep = next(
            (e for e in self.view.endpoints if e.service == name and e.path.endswith(_READY)),
            None,
        )
        prefix = ep.path.removesuffix(_READY) if ep else ""
        url = ep.url + prefix if ep and ep.port else ""
        inner = ep.inner_url.removesuffix(_READY) if ep else PROMETHEUS_INSIDE
        label = f"{KIND_LABEL}=prometheus"
        return PROMETHEUS_API.command(self.view.project, label, url, inner, stops=False)

    def commands(self, timeout: float) -> list[Command]:
        view = self.view
        out = [
            status_command(view.project, view.services, view.endpoints, view.images, wait=timeout)
        ]
        if self.prometheus:
            out.append(self.prometheus_api())
        if (url := self.pushgateway_url) is not None:
            out.append(PUSH_PROBE.command(url, stops=False))
        return out


def verification_commands(
    view: StackView, files: Mapping[str, bytes], *, timeout: float
) -> list[Command]:
    return Checks(view, files).commands(timeout)


def verify_stack(
    transport: Transport,
    view: StackView,
    bundle_files: Mapping[str, bytes],
    *,
    timeout: float,
    scrape_wait: float,
    already_down: frozenset[tuple[str, str]] = frozenset(),
    answers: Sequence[CommandResult | None] | None = None,
    since: float | None = None,
    project: ComposeProject | None = None,
) -> Verification:
    """Health, scrape targets, rules and a push probe. Targets that were down before the
    apply started are reported, not failed: rolling back would not bring them up.

    ``answers``: what ``verification_commands`` got when they ran in an earlier batch, sent
    at ``since`` (time.monotonic()): the time to wait for health counts from then. With the
    ``project``, a service that did not come up is reported with the last lines of its log."""
    checks = Checks(view, bundle_files, already_down)
    started = time.monotonic() if since is None else since
    if answers is None:
        answers = transport.run_batch(checks.commands(timeout))
    answers = list(answers)
    result = Verification()
    rows = status_rows(answers.pop(0), view, transport.description)
    if not all(r.ok for r in rows) and (left := timeout - (time.monotonic() - started)) > 0:
        rows = wait_healthy(transport, view, left)
    if project is not None and not all(r.ok for r in rows):
        rows = with_log_tails(transport, project, rows)
    for r in rows:
        if not r.ok:
            said = f"service {r.service}: {r.state}/{r.health} {r.detail}".strip()
            result.problems.append("\n      | ".join([said, *r.log_tail]))
    result.checks.append(f"{sum(r.ok for r in rows)}/{len(rows)} services healthy")
    if result.problems:
        return result
    if "prometheus/prometheus.yml" in bundle_files:
        if checks.prometheus:
            _check_prometheus(transport, checks, answers.pop(0), scrape_wait, result)
        else:
            result.checks.append("Prometheus is behind basic auth: targets and rules not checked")
    _check_pushgateway(checks, answers.pop(0) if answers else None, result)
    return result


def _check_prometheus(
    transport: Transport,
    checks: Checks,
    answer: CommandResult | None,
    scrape_wait: float,
    result: Verification,
) -> None:
    declared = declared_targets(checks.files["prometheus/prometheus.yml"])
    wanted = declared - checks.already_down
    groups = declared_groups(
        [d for p, d in checks.files.items() if p.startswith("prometheus/rules/")]
    )
    deadline = time.monotonic() + scrape_wait
    while True:
        targets, rules = parse_api(answer.text if answer is not None else "")
        problems = target_problems(targets, wanted) + rule_problems(rules, groups)
        if not problems or time.monotonic() >= deadline:
            break
        time.sleep(_SCRAPE_LOOK_EVERY)
        answer = transport.run(checks.prometheus_api().argv)
    result.problems += problems
    result.checks.append(f"{len(wanted)} scrape targets up, {len(groups)} rule groups loaded")
    for job, instance in sorted(declared & checks.already_down):
        result.checks.append(f"scrape target {job}/{instance} was not up before this apply either")


def _check_pushgateway(checks: Checks, out: CommandResult | None, result: Verification) -> None:
    pg = next((ep for ep in checks.view.endpoints if ep.service == "pushgateway" and ep.port), None)
    if pg is None:
        return
    if behind_auth(checks.files, "pushgateway"):
        result.checks.append("Pushgateway is behind basic auth: push probe skipped")
        return
    if out is not None and out.ok and "no-curl" in out.text:
        result.checks.append("no curl on the host: Pushgateway push probe skipped")
    elif out is not None and out.ok and "ok" in out.text:
        result.checks.append("pushgateway push/read/delete probe passed")
    else:
        said = out.stderr.decode("utf-8", "replace").strip()[-200:] if out is not None else ""
        result.problems.append(f"pushgateway: push-and-delete probe failed: {said}")
