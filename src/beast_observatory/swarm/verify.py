"""After ``docker stack deploy``: has Swarm converged, and is the stack doing its job?

Two commands on the manager, sent in the batch of the deploy: converge.sh waits on the host
until every service runs its tasks from its current spec (healthy where it has a
healthcheck), then prometheus.sh asks Prometheus for its targets and rules (on its published
host-mode port, else inside its task's container on the manager). Then, as for compose:
every static target up, every rule group loaded; and a job that discovers the tasks of a
service has one target up per running task (a node that joined is scraped too).
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from beast_observatory.deploy.verify import (
    Verification,
    declared_groups,
    declared_targets,
    parse_api,
    rule_problems,
    target_problems,
)
from beast_observatory.host.transport.base import Command, CommandResult, Transport
from beast_observatory.kinds.prometheus.render import route_prefix
from beast_observatory.names import KIND_LABEL, READY_LABEL
from beast_observatory.swarm.discovery import discovered_jobs
from beast_observatory.swarm.names import STACK_FILE, service_name
from beast_observatory.swarm.probe import swarm_script
from beast_observatory.yamlio import load_yaml

CONVERGE = swarm_script("converge.sh")
PROMETHEUS = swarm_script("prometheus.sh")
_LOOK_EVERY = 2.0
_PROMETHEUS_YML = "prometheus/prometheus.yml"


@dataclass(frozen=True)
class ServiceTasks:
    name: str  # <project>_<service>
    desired: int
    running: int
    update: str  # none, updating, completed, paused, rollback_...


@dataclass(frozen=True)
class Convergence:
    services: list[ServiceTasks]
    errors: list[str]
    code: int  # converge.sh: 0 converged, 1 timed out, 2 an update failed

    def running(self, name: str) -> int:
        return next((s.running for s in self.services if s.name == name), 0)


def parse_convergence(result: CommandResult | None) -> Convergence:
    if result is None:
        return Convergence([], ["the wait for Swarm did not run"], 1)
    services, errors = [], []
    for line in result.text.splitlines():
        parts = line.split(" ")
        if parts[0] == "service" and len(parts) == 5:  # noqa: PLR2004
            services.append(ServiceTasks(parts[1], int(parts[2]), int(parts[3]), parts[4]))
        elif parts[0] == "error":
            errors.append(" ".join(parts[1:]))
    return Convergence(services, errors, result.exit_code)


def convergence_problems(c: Convergence, timeout: float) -> list[str]:
    if c.code == 0:
        return []
    problems = []
    for s in c.services:
        if s.update in ("paused", "rollback_started", "rollback_paused", "rollback_completed"):
            problems.append(f"service {s.name}: its update {s.update.replace('_', ' ')}")
        elif s.running != s.desired:
            problems.append(f"service {s.name}: {s.running}/{s.desired} tasks running")
        elif s.update == "updating":
            problems.append(f"service {s.name}: still updating after {timeout:g}s")
    problems += [f"task {e}" for e in c.errors]
    return problems or [f"Swarm did not converge within {timeout:g}s"]


def _stack(files: Mapping[str, bytes]) -> dict[str, Any]:
    return load_yaml(files[STACK_FILE], STACK_FILE) or {}


def prometheus_entry(files: Mapping[str, bytes]) -> tuple[str, dict[str, Any]] | None:
    for name, svc in (_stack(files).get("services") or {}).items():
        if ((svc or {}).get("labels") or {}).get(KIND_LABEL) == "prometheus":
            return str(name), svc
    return None


@dataclass(frozen=True)
class Checks:
    project: str
    files: Mapping[str, bytes]

    def prometheus_command(self) -> Command | None:
        """Prometheus' API, unless there is none or it needs a password the tool never holds."""
        found = prometheus_entry(self.files)
        if found is None or _PROMETHEUS_YML not in self.files:
            return None
        name, svc = found
        command = [str(a) for a in svc.get("command") or []]
        if any(a.startswith("--web.config.file=") for a in command):
            return None
        ready = str((svc.get("labels") or {}).get(READY_LABEL) or "http://127.0.0.1:9090/-/ready")
        inner = ready.split("/-/ready", maxsplit=1)[0]
        port = int(inner.rsplit(":", 1)[-1].split("/")[0])
        prefix = route_prefix(command)
        published = [
            p.get("published")
            for p in svc.get("ports") or []
            if isinstance(p, dict) and p.get("target") == port and p.get("published")
        ]
        url = f"http://127.0.0.1:{published[0]}{prefix}" if published else ""
        return PROMETHEUS.command(service_name(self.project, name), url, inner, stops=False)

    def commands(self, timeout: float) -> list[Command]:
        out = [CONVERGE.command(self.project, str(int(timeout)), stops=False)]
        if (api := self.prometheus_command()) is not None:
            out.append(api)
        return out


def _target_state(target: Mapping[str, Any]) -> str:
    instance = (target.get("labels") or {}).get("instance")
    error = target.get("lastError") or "not scraped yet"
    return f"{instance} {target.get('health')} ({error})"


def discovery_problems(targets: Any, jobs: Mapping[str, int]) -> list[str]:
    """Each discovering job: as many targets up as its services run tasks."""
    active = (targets or {}).get("data", {}).get("activeTargets") or []
    problems = []
    for job, expected in sorted(jobs.items()):
        pool = [
            t for t in active if (t.get("scrapePool") or (t.get("labels") or {}).get("job")) == job
        ]
        up = [t for t in pool if t.get("health") == "up"]
        if len(up) < expected:
            down = [_target_state(t) for t in pool if t.get("health") != "up"]
            detail = f": {'; '.join(down)}" if down else ""
            problems.append(f"scrape job {job}: {len(up)} of {expected} tasks up{detail}")
    return problems


def verify_swarm(
    transport: Transport,
    checks: Checks,
    answers: list[CommandResult | None],
    *,
    timeout: float,
    scrape_wait: float,
) -> Verification:
    result = Verification()
    convergence = parse_convergence(answers[0] if answers else None)
    result.problems += convergence_problems(convergence, timeout)
    tasks = sum(s.running for s in convergence.services)
    result.checks.append(f"{len(convergence.services)} services converged ({tasks} tasks running)")
    if result.problems:
        return result
    api = checks.prometheus_command()
    if api is None:
        if _PROMETHEUS_YML in checks.files:
            result.checks.append("Prometheus is behind basic auth: targets and rules not checked")
        return result
    config = load_yaml(checks.files[_PROMETHEUS_YML], "prometheus.yml") or {}
    wanted = declared_targets(checks.files[_PROMETHEUS_YML])
    jobs = {
        job: sum(convergence.running(_full(checks.project, s)) for s in services)
        for job, services in discovered_jobs(config).items()
    }
    groups = declared_groups(
        [d for p, d in checks.files.items() if p.startswith("prometheus/rules/")]
    )
    answer = answers[1] if len(answers) > 1 else None
    deadline = time.monotonic() + scrape_wait
    while True:
        targets, rules = parse_api(answer.text if answer is not None else "")
        if targets is None:
            problems = [
                "Prometheus' API did not answer on the manager (is its task on another node?)"
            ]
        else:
            problems = (
                target_problems(targets, wanted)
                + discovery_problems(targets, jobs)
                + rule_problems(rules, groups)
            )
        if not problems or time.monotonic() >= deadline:
            break
        time.sleep(_LOOK_EVERY)
        answer = transport.run(api.argv)
    result.problems += problems
    found = sum(jobs.values())
    result.checks.append(
        f"{len(wanted)} static and {found} discovered scrape targets up, "
        f"{len(groups)} rule groups loaded"
    )
    return result


def _full(project: str, service: str) -> str:
    return service if service.startswith(f"{project}_") else service_name(project, service)
