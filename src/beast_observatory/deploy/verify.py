"""After an apply: is the stack really doing its job? Health, scrape targets, rules, pushes."""

from __future__ import annotations

import json
import shlex
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from beast_observatory.deploy.operations import StackView, wait_healthy
from beast_observatory.host.probe.inventory import Inventory
from beast_observatory.names import KIND_LABEL
from beast_observatory.host.transport.base import Transport
from beast_observatory.yamlio import load_yaml

MARK = "@@observatory-verify@@"


@dataclass
class Verification:
    problems: list[str] = field(default_factory=list)
    checks: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.problems


def _container(project: str, kind: str) -> str:
    return (
        f"docker ps -q --filter label=com.docker.compose.project={shlex.quote(project)} "
        f"--filter label={KIND_LABEL}={shlex.quote(kind)} | head -n 1"
    )


# No `wget -T` inside containers: Debian's busybox-static wget crashes with it (SIGSEGV);
# the transport's own timeout bounds these calls instead.
def api_script(project: str, base: str = "http://127.0.0.1:9090") -> str:
    """Prometheus' targets and rules, asked inside its container at base (its port and
    route prefix)."""
    prom = _container(project, "prometheus")
    return "\n".join(
        [
            f"c=$({prom})",
            f"echo {MARK}targets",
            f'docker exec "$c" wget -q -O - {shlex.quote(base + "/api/v1/targets")} 2>/dev/null',
            f"echo; echo {MARK}rules",
            f'docker exec "$c" wget -q -O - {shlex.quote(base + "/api/v1/rules")} 2>/dev/null',
            "echo",
        ]
    )


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


def _prometheus_service(bundle_files: Mapping[str, bytes]) -> str:
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


def down_targets(inventory: Inventory, project: str) -> frozenset[tuple[str, str]]:
    """(job, instance) of the targets the project's Prometheus did not report up in the
    probe before the apply (down, or not scraped yet)."""
    down = set()
    for c in inventory.project(project):
        if c.labels.get(KIND_LABEL, c.service) != "prometheus":
            continue
        answer = inventory.api(c, "/api/v1/targets")
        body = answer.body if answer else None
        data = body.get("data") if isinstance(body, dict) else None
        for t in (data or {}).get("activeTargets") or [] if isinstance(data, dict) else []:
            if t.get("health") != "up":
                down.add(_target_key(t))
    return frozenset(down)


def _target_key(t: dict[str, Any]) -> tuple[str, str]:
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
    health = {_target_key(t): t for t in data.get("activeTargets") or []}
    dropped = {_target_key(t) for t in data.get("droppedTargets") or []}
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


def push_probe_script(url: str | None) -> str:
    """Push a probe metric to the Pushgateway, read it back, delete it."""
    job = "observatory_apply_probe"
    if url is None:
        return "echo skipped"
    metric = f"{url}/metrics/job/{job}"
    return "\n".join(
        [
            "set -e",
            "command -v curl >/dev/null 2>&1 || { echo no-curl; exit 0; }",
            "printf 'observatory_apply_probe 1\\n' | "
            f"curl -fsS -m 5 --data-binary @- {shlex.quote(metric)}",
            f"curl -fsS -m 5 {shlex.quote(url + '/api/v1/metrics')} | grep -q {job}",
            f"curl -fsS -m 5 -X DELETE {shlex.quote(metric)}",
            "echo ok",
        ]
    )


def verify_stack(
    transport: Transport,
    view: StackView,
    bundle_files: dict[str, bytes],
    *,
    timeout: float,
    scrape_wait: float,
    already_down: frozenset[tuple[str, str]] = frozenset(),
) -> Verification:
    """Health, scrape targets, rules and a push probe. Targets that were down before the
    apply started are reported, not failed: rolling back would not bring them up."""
    result = Verification()
    rows = wait_healthy(transport, view, timeout)
    for r in rows:
        if not r.ok:
            result.problems.append(f"service {r.service}: {r.state}/{r.health} {r.detail}".strip())
    result.checks.append(f"{sum(r.ok for r in rows)}/{len(rows)} services healthy")
    if result.problems:
        return result
    if "prometheus/prometheus.yml" in bundle_files:
        _check_prometheus(transport, view, bundle_files, scrape_wait, already_down, result)
    _check_pushgateway(transport, view, bundle_files, result)
    return result


def _check_prometheus(
    transport: Transport,
    view: StackView,
    bundle_files: dict[str, bytes],
    scrape_wait: float,
    already_down: frozenset[tuple[str, str]],
    result: Verification,
) -> None:
    if behind_auth(bundle_files, _prometheus_service(bundle_files)):
        result.checks.append("Prometheus is behind basic auth: targets and rules not checked")
        return
    declared = declared_targets(bundle_files["prometheus/prometheus.yml"])
    wanted = declared - already_down
    groups = declared_groups(
        [d for p, d in bundle_files.items() if p.startswith("prometheus/rules/")]
    )
    ep = next((e for e in view.endpoints if e.inner_url.endswith("/-/ready") and e.service == _prometheus_service(bundle_files)), None)
    base = ep.inner_url.removesuffix("/-/ready") if ep else "http://127.0.0.1:9090"
    deadline = time.monotonic() + scrape_wait
    while True:
        targets, rules = parse_api(transport.run(["sh", "-c", api_script(view.project, base)]).text)
        problems = target_problems(targets, wanted) + rule_problems(rules, groups)
        if not problems or time.monotonic() >= deadline:
            break
        time.sleep(2.0)
    result.problems += problems
    result.checks.append(f"{len(wanted)} scrape targets up, {len(groups)} rule groups loaded")
    for job, instance in sorted(declared & already_down):
        result.checks.append(f"scrape target {job}/{instance} was not up before this apply either")


def _check_pushgateway(
    transport: Transport, view: StackView, bundle_files: dict[str, bytes], result: Verification
) -> None:
    pg = next((ep for ep in view.endpoints if ep.service == "pushgateway" and ep.port), None)
    if pg is None:
        return
    if behind_auth(bundle_files, "pushgateway"):
        result.checks.append("Pushgateway is behind basic auth: push probe skipped")
        return
    out = transport.run(["sh", "-c", push_probe_script(pg.url)])
    if out.ok and "no-curl" in out.text:
        result.checks.append("no curl on the host: Pushgateway push probe skipped")
    elif out.ok and "ok" in out.text:
        result.checks.append("pushgateway push/read/delete probe passed")
    else:
        result.problems.append(
            "pushgateway: push-and-delete probe failed: "
            + out.stderr.decode("utf-8", "replace").strip()[-200:]
        )
