#!/usr/bin/env python3
"""Check the hand-made stacks of tests/corpus against their corpus.yaml: statically, and live.

Plain Python (stdlib + PyYAML), no pytest. One line per check, "ok" or "FAIL", and an exit
code of 0 only when every check passed.

    python3 tests/corpus/check_corpus.py                 # every stack, static + live
    python3 tests/corpus/check_corpus.py dockprom-style  # one stack (or several)
    python3 tests/corpus/check_corpus.py --static        # validators only, nothing started
    python3 tests/corpus/check_corpus.py --list          # the stacks and their tags

Static checks (nothing started): `docker compose config -q` of the compose file, `promtool
check config --syntax-only` on each file of `checks.prometheus` (syntax only: its rule files,
password files and targets files use the paths inside the container) plus `promtool check
rules` on each of `checks.rules`, `amtool check-config` on each of `checks.alertmanager`,
JSON/YAML parsing of each of `checks.json` / `checks.yaml`, and that every tag in `covers` is
a known one.

Live checks: the `setup` commands (cwd = the stack folder), `docker compose -p
corpus-manual-<stack> up -d`, the `after_up` commands, then, polled until `--timeout`:
every container of the project running (and healthy where it has a healthcheck); every
[job, instance] of `expect.targets_up` up in Prometheus' /api/v1/targets (an instance
written "~REGEX" matches by regular expression, and a pair listed twice needs two targets);
every group of `expect.rule_groups` in /api/v1/rules; Alertmanager's /-/ready; a non-empty
answer of VictoriaMetrics to `expect.remote_write.query`; each `expect.http` URL answering
its status; each `expect.commands` command exiting 0; and, in the running Prometheus and
Alertmanager containers, the full `promtool check config` / `amtool check-config` of
`expect.exec_checks`. Once all of these passed, each `expect.final_commands` command runs
once and must exit 0 (checks that something never arrives, e.g. a dropped series).
Finally `docker compose down -v` and the `teardown` commands, whatever happened. Commands
run with COMPOSE_PROJECT_NAME set to the project name, so `docker compose exec -T SERVICE
...` in them reaches this run's containers.

How Prometheus, Alertmanager and VictoriaMetrics are reached: `api.prometheus.url` (and the
like) with an optional `basic_auth: [user, password]`; without it,
http://127.0.0.1:<ports.prometheus> (<ports.alertmanager>, <ports.victoria_metrics>).
Only loopback is ever queried.
"""

from __future__ import annotations

import argparse
import base64
import json
import os
import re
import subprocess
import sys
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Callable
from functools import partial
from pathlib import Path
from typing import Any

import yaml

HERE = Path(__file__).resolve().parent
PREFIX = "corpus-manual-"
TAGS = {
    "relabel",
    "file_sd",
    "docker_sd",
    "dns_sd",
    "basic_auth_file",
    "remote_write",
    "alertmanager_secret",
    "alerting_relabel",
    "legacy_dashboards",
    "grafana_datasources",
    "grafana_providers",
    "networks",
    "reverse_proxy",
    "env_file_secret",
    "container_name",
    "hostname",
    "data_bind",
    "lifecycle",
    "baked_config",
    "edited_in_container",
    "single_files",
    "var_default",
    "anchors",
}
FAILURES: list[str] = []


def report(ok: bool, stack: str, what: str, detail: str = "") -> bool:
    if not ok:
        FAILURES.append(f"{stack}: {what}")
    line = f"{'ok  ' if ok else 'FAIL'}  {stack:<24} {what}"
    if detail:
        line += f"  ({detail})"
    print(line, flush=True)
    return ok


def run(
    cmd: str | list[str], cwd: Path, env: dict[str, str] | None = None, timeout: int = 300
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        cmd,
        cwd=cwd,
        shell=isinstance(cmd, str),
        capture_output=True,
        text=True,
        env=env,
        timeout=timeout,
        check=False,
    )


def last_line(proc: subprocess.CompletedProcess[str]) -> str:
    text = (proc.stderr.strip() or proc.stdout.strip()).splitlines()
    return text[-1][:200] if text else f"exit {proc.returncode}"


def load(stack: Path) -> dict[str, Any]:
    meta: dict[str, Any] = yaml.safe_load((stack / "corpus.yaml").read_text())
    return meta


def stacks(names: list[str]) -> list[Path]:
    found = sorted(p.parent for p in HERE.glob("*/corpus.yaml"))
    if not names:
        return found
    by_name = {p.name: p for p in found}
    missing = [n for n in names if n not in by_name]
    if missing:
        sys.exit(f"no such stack: {', '.join(missing)} (have: {', '.join(by_name)})")
    return [by_name[n] for n in names]


# ---------------------------------------------------------------- static


def check_static(stack: Path, meta: dict[str, Any]) -> None:
    name = stack.name
    for key in (
        "description",
        "inspired_by",
        "covers",
        "ports",
        "setup",
        "after_up",
        "teardown",
        "expect",
    ):
        if key not in meta:
            report(False, name, f"corpus.yaml has {key}")
    unknown = sorted(set(meta.get("covers") or []) - TAGS)
    report(not unknown, name, "covers: known tags", ", ".join(unknown))
    compose = meta.get("compose_file", "docker-compose.yml")
    proc = run(["docker", "compose", "-f", compose, "config", "-q"], stack)
    report(
        proc.returncode == 0,
        name,
        f"docker compose config -q {compose}",
        "" if proc.returncode == 0 else last_line(proc),
    )
    check_ports(stack, meta, compose)
    checks = meta.get("checks") or {}
    for path in checks.get("prometheus") or []:
        proc = run(["promtool", "check", "config", "--syntax-only", path], stack)
        report(
            proc.returncode == 0,
            name,
            f"promtool check config --syntax-only {path}",
            "" if proc.returncode == 0 else last_line(proc),
        )
    for path in checks.get("rules") or []:
        proc = run(["promtool", "check", "rules", path], stack)
        report(
            proc.returncode == 0,
            name,
            f"promtool check rules {path}",
            "" if proc.returncode == 0 else last_line(proc),
        )
    for path in checks.get("alertmanager") or []:
        proc = run(["amtool", "check-config", path], stack)
        report(
            proc.returncode == 0,
            name,
            f"amtool check-config {path}",
            "" if proc.returncode == 0 else last_line(proc),
        )
    for path in checks.get("json") or []:
        try:
            json.loads((stack / path).read_text())
            report(True, name, f"json parses {path}")
        except (OSError, ValueError) as exc:
            report(False, name, f"json parses {path}", str(exc))
    for path in checks.get("yaml") or []:
        try:
            yaml.safe_load((stack / path).read_text())
            report(True, name, f"yaml parses {path}")
        except (OSError, yaml.YAMLError) as exc:
            report(False, name, f"yaml parses {path}", str(exc).splitlines()[0])


def published_ports(stack: Path, compose: str) -> list[tuple[str, str, int]]:
    """(service, host_ip, published port) of every published port, as compose resolves them."""
    proc = run(["docker", "compose", "-f", compose, "config", "--format", "json"], stack)
    if proc.returncode != 0:
        return []
    out = []
    for service, spec in (json.loads(proc.stdout).get("services") or {}).items():
        for port in spec.get("ports") or []:
            out.append((service, port.get("host_ip", ""), int(port.get("published", 0))))
    return out


def check_ports(stack: Path, meta: dict[str, Any], compose: str) -> None:
    found = published_ports(stack, compose)
    wild = [
        f"{svc}:{port} on {ip or 'every address'}" for svc, ip, port in found if ip != "127.0.0.1"
    ]
    report(not wild, stack.name, "every published port bound to 127.0.0.1", ", ".join(wild))
    have = sorted(port for _svc, _ip, port in found)
    want = sorted(int(p) for p in (meta.get("ports") or {}).values())
    report(
        have == want,
        stack.name,
        f"published ports = corpus.yaml ports {want}",
        "" if have == want else f"compose: {have}",
    )


def check_distinct_ports(selected: list[Path]) -> None:
    seen: dict[int, str] = {}
    clashes = []
    for stack in selected:
        for port in (load(stack).get("ports") or {}).values():
            if int(port) in seen:
                clashes.append(f"{port} in {seen[int(port)]} and {stack.name}")
            seen[int(port)] = stack.name
    report(
        not clashes,
        "(corpus)",
        f"host ports distinct across stacks ({len(seen)})",
        ", ".join(clashes),
    )


# ---------------------------------------------------------------- live


def api_base(meta: dict[str, Any], what: str) -> tuple[str, tuple[str, ...] | None] | None:
    api = (meta.get("api") or {}).get(what) or {}
    auth = tuple(api["basic_auth"]) if api.get("basic_auth") else None
    if api.get("url"):
        return str(api["url"]).rstrip("/"), auth
    port = (meta.get("ports") or {}).get(what)
    if port is None:
        return None
    return f"http://127.0.0.1:{port}", auth


def http(url: str, auth: tuple[str, ...] | None = None) -> tuple[int, str]:
    host = urllib.parse.urlsplit(url).hostname
    if host not in ("127.0.0.1", "localhost", "::1"):
        raise ValueError(f"refusing to query {url}: loopback only")
    req = urllib.request.Request(url)  # noqa: S310 - http to loopback only (checked above)
    if auth:
        token = base64.b64encode(f"{auth[0]}:{auth[1]}".encode()).decode()
        req.add_header("Authorization", f"Basic {token}")
    try:
        with urllib.request.urlopen(req, timeout=5) as resp:  # noqa: S310 - http to loopback only
            return resp.status, resp.read().decode(errors="replace")
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read().decode(errors="replace")
    except (urllib.error.URLError, OSError) as exc:
        return 0, str(exc)


def containers(project: str) -> list[dict[str, Any]]:
    proc = run(
        [
            "docker",
            "ps",
            "-a",
            "--filter",
            f"label=com.docker.compose.project={project}",
            "--format",
            "{{.ID}}",
        ],
        HERE,
    )
    ids = proc.stdout.split()
    if not ids:
        return []
    proc = run(["docker", "inspect", *ids], HERE)
    found: list[dict[str, Any]] = json.loads(proc.stdout or "[]")
    return found


def state_problems(project: str, expected: int | None) -> list[str]:
    found = containers(project)
    problems = []
    if expected is not None and len(found) != expected:
        problems.append(f"{len(found)} containers, expected {expected}")
    for c in found:
        st = c["State"]
        label = c["Name"].lstrip("/")
        if st["Status"] != "running":
            problems.append(f"{label} {st['Status']} (exit {st.get('ExitCode')})")
        elif st.get("Health") and st["Health"]["Status"] != "healthy":
            problems.append(f"{label} {st['Health']['Status']}")
    if not found:
        problems.append("no containers")
    return problems


def instance_matches(want: str, have: str) -> bool:
    """An instance written "~REGEX" matches by regular expression, any other exactly."""
    if want.startswith("~"):
        return re.fullmatch(want[1:], have) is not None
    return want == have


def target_problems(meta: dict[str, Any]) -> list[str]:
    want = (meta.get("expect") or {}).get("targets_up") or []
    base = api_base(meta, "prometheus")
    if not want:
        return []
    if base is None:
        return ["no way to reach Prometheus (api.prometheus or ports.prometheus)"]
    status, body = http(f"{base[0]}/api/v1/targets?state=active", base[1])
    if status != 200:
        return [f"/api/v1/targets answered {status}: {body[:120]}"]
    active = [
        (t["labels"].get("job"), t["labels"].get("instance"), t["health"], t.get("lastError", ""))
        for t in json.loads(body)["data"]["activeTargets"]
    ]
    problems, used = [], set()
    for job, instance in want:
        for i, (j, inst, health, _err) in enumerate(active):
            if i in used or j != job or health != "up":
                continue
            if instance_matches(instance, inst or ""):
                used.add(i)
                break
        else:
            seen = [f"{inst} {health} {err}".strip() for j, inst, health, err in active if j == job]
            problems.append(f"{job}/{instance} not up (seen: {'; '.join(seen) or 'none'})")
    return problems


def rule_problems(meta: dict[str, Any]) -> list[str]:
    want = (meta.get("expect") or {}).get("rule_groups") or []
    base = api_base(meta, "prometheus")
    if not want or base is None:
        return []
    status, body = http(f"{base[0]}/api/v1/rules", base[1])
    if status != 200:
        return [f"/api/v1/rules answered {status}"]
    have = {g["name"] for g in json.loads(body)["data"]["groups"]}
    return [f"rule group {g} missing (have {sorted(have)})" for g in want if g not in have]


Check = tuple[str, Callable[[], list[str]]]


class Live:
    """One live run of a stack: its project, compose command line and environment."""

    def __init__(self, stack: Path, meta: dict[str, Any]) -> None:
        self.stack, self.meta, self.name = stack, meta, stack.name
        self.project = PREFIX + stack.name
        self.env = dict(os.environ, COMPOSE_PROJECT_NAME=self.project)
        self.expect: dict[str, Any] = meta.get("expect") or {}
        self.dc = [
            "docker",
            "compose",
            "-p",
            self.project,
            "-f",
            meta.get("compose_file", "docker-compose.yml"),
        ]

    def step(self, what: str, cmd: str | list[str]) -> bool:
        proc = run(cmd, self.stack, self.env)
        return report(
            proc.returncode == 0, self.name, what, "" if proc.returncode == 0 else last_line(proc)
        )

    def command_ok(self, cmd: str | list[str]) -> list[str]:
        proc = run(cmd, self.stack, self.env, timeout=60)
        return [] if proc.returncode == 0 else [last_line(proc)]

    def checks(self) -> list[Check]:
        meta, expect = self.meta, self.expect
        checks: list[Check] = [
            (
                "containers running/healthy",
                lambda: state_problems(self.project, expect.get("containers")),
            )
        ]
        if expect.get("targets_up"):
            checks.append(
                (f"targets up: {len(expect['targets_up'])}", lambda: target_problems(meta))
            )
        if expect.get("rule_groups"):
            checks.append(
                (f"rule groups: {', '.join(expect['rule_groups'])}", lambda: rule_problems(meta))
            )
        am = api_base(meta, "alertmanager")
        if am is not None:
            checks.append(
                ("alertmanager /-/ready", lambda: status_problems(f"{am[0]}/-/ready", am[1], 200))
            )
        rw = expect.get("remote_write")
        if rw:
            checks.append(
                (
                    f"remote_write receiver answers {rw.get('query', 'up')}",
                    lambda: remote_write_problems(meta, rw),
                )
            )
        for item in expect.get("http") or []:
            auth = tuple(item["basic_auth"]) if item.get("basic_auth") else None
            checks.append(
                (
                    f"GET {item['url']} -> {item.get('status', 200)}"
                    + (" (basic auth)" if auth else ""),
                    partial(
                        status_problems,
                        item["url"],
                        auth,
                        item.get("status", 200),
                        item.get("contains"),
                    ),
                )
            )
        for cmd in expect.get("commands") or []:
            checks.append((f"command: {cmd}", partial(self.command_ok, cmd)))
        for item in expect.get("exec_checks") or []:
            argv = [*self.dc, "exec", "-T", item["service"], *item["command"]]
            checks.append(
                (
                    f"in {item['service']}: {' '.join(item['command'])}",
                    partial(self.command_ok, argv),
                )
            )
        return checks

    def poll(self, checks: list[Check], timeout: int) -> bool:
        deadline = time.monotonic() + timeout
        pending = dict(enumerate(checks))
        last: dict[int, list[str]] = {}
        while pending and time.monotonic() < deadline:
            for i, (what, fn) in list(pending.items()):
                try:
                    last[i] = fn()
                except Exception as exc:  # noqa: BLE001 - any error is a problem to report
                    last[i] = [f"{type(exc).__name__}: {exc}"]
                if not last[i]:
                    report(True, self.name, what)
                    del pending[i]
            if pending:
                time.sleep(3)
        for i, (what, _fn) in pending.items():
            report(False, self.name, what, "; ".join(last.get(i, ["not run"]))[:400])
        return not pending

    def run(self, timeout: int, keep: bool) -> None:
        try:
            for cmd in self.meta.get("setup") or []:
                if not self.step(f"setup: {cmd}", cmd):
                    return
            if not self.step(f"docker compose -p {self.project} up -d", [*self.dc, "up", "-d"]):
                return
            for cmd in self.meta.get("after_up") or []:
                self.step(f"after_up: {cmd}", cmd)
            if not self.poll(self.checks(), timeout):
                logs = run([*self.dc, "logs", "--tail", "15"], self.stack, self.env)
                print(logs.stdout[-3000:], file=sys.stderr)
                return
            # "X never arrives" checks: only meaningful once everything else has arrived
            for cmd in self.expect.get("final_commands") or []:
                problems = self.command_ok(cmd)
                report(not problems, self.name, f"final command: {cmd}", "; ".join(problems))
        finally:
            self.finish(keep)

    def finish(self, keep: bool) -> None:
        if keep:
            print(f"note  {self.name:<24} left running: docker compose -p {self.project} down -v")
            return
        self.step("docker compose down -v", [*self.dc, "down", "-v", "--remove-orphans"])
        for cmd in self.meta.get("teardown") or []:
            self.step(f"teardown: {cmd}", cmd)


def status_problems(
    url: str, auth: tuple[str, ...] | None, want: int, contains: str | None = None
) -> list[str]:
    status, body = http(url, auth)
    if status != want:
        return [f"answered {status}"]
    if contains and contains not in body:
        return [f"body lacks {contains!r}"]
    return []


def remote_write_problems(meta: dict[str, Any], rw: dict[str, Any]) -> list[str]:
    vm = api_base(meta, "victoria_metrics")
    if vm is None:
        return ["no way to reach VictoriaMetrics (api.victoria_metrics or ports.victoria_metrics)"]
    query = urllib.parse.quote(rw.get("query", "up"))
    status, body = http(f"{vm[0]}/api/v1/query?query={query}", vm[1])
    if status != 200:
        return [f"answered {status}"]
    found = len(json.loads(body)["data"]["result"])
    return [] if found >= rw.get("min_series", 1) else [f"{found} series"]


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("stacks", nargs="*", help="stack folder names (default: all)")
    ap.add_argument("--static", action="store_true", help="validators only, start nothing")
    ap.add_argument("--timeout", type=int, default=150, help="seconds to wait for a stack's checks")
    ap.add_argument("--keep", action="store_true", help="leave the stack running (no down -v)")
    ap.add_argument("--list", action="store_true", help="list the stacks and their tags")
    args = ap.parse_args()
    selected = stacks(args.stacks)
    if args.list:
        for stack in selected:
            meta = load(stack)
            print(f"{stack.name:<24} {', '.join(meta.get('covers') or [])}")
        return 0
    covered: set[str] = set()
    for stack in selected:
        meta = load(stack)
        covered |= set(meta.get("covers") or [])
        check_static(stack, meta)
        if not args.static:
            Live(stack, meta).run(args.timeout, args.keep)
    if not args.stacks:
        check_distinct_ports(selected)
        missing = sorted(TAGS - covered)
        report(
            not missing,
            "(corpus)",
            f"every feature tag covered ({len(covered)}/{len(TAGS)})",
            ", ".join(missing),
        )
    print(f"{len(FAILURES)} failed" if FAILURES else "all checks passed")
    return 1 if FAILURES else 0


if __name__ == "__main__":
    sys.exit(main())
