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
`expect.exec_checks`. Finally `docker compose down -v` and the `teardown` commands, whatever
happened. Commands run with COMPOSE_PROJECT_NAME set to the project name, so
`docker compose exec -T SERVICE ...` in them reaches this run's containers.

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
from pathlib import Path
from typing import Any

import yaml

HERE = Path(__file__).resolve().parent
PREFIX = "corpus-manual-"
TAGS = {
    "relabel", "file_sd", "docker_sd", "dns_sd", "basic_auth_file", "remote_write",
    "alertmanager_secret", "alerting_relabel", "legacy_dashboards", "grafana_datasources",
    "grafana_providers", "networks", "reverse_proxy", "env_file_secret", "container_name",
    "hostname", "data_bind", "lifecycle", "baked_config", "edited_in_container",
    "single_files", "var_default", "anchors",
}
FAILED = 0


def report(ok: bool, stack: str, what: str, detail: str = "") -> bool:
    global FAILED
    if not ok:
        FAILED += 1
    line = f"{'ok  ' if ok else 'FAIL'}  {stack:<24} {what}"
    if detail:
        line += f"  ({detail})"
    print(line, flush=True)
    return ok


def run(cmd: str | list[str], cwd: Path, env: dict[str, str] | None = None,
        timeout: int = 300) -> subprocess.CompletedProcess[str]:
    return subprocess.run(cmd, cwd=cwd, shell=isinstance(cmd, str), capture_output=True,
                          text=True, env=env, timeout=timeout, check=False)


def last_line(proc: subprocess.CompletedProcess[str]) -> str:
    text = (proc.stderr.strip() or proc.stdout.strip()).splitlines()
    return text[-1][:200] if text else f"exit {proc.returncode}"


def load(stack: Path) -> dict[str, Any]:
    return yaml.safe_load((stack / "corpus.yaml").read_text())


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
    for key in ("description", "inspired_by", "covers", "ports", "setup", "after_up",
                "teardown", "expect"):
        if key not in meta:
            report(False, name, f"corpus.yaml has {key}")
    unknown = sorted(set(meta.get("covers") or []) - TAGS)
    report(not unknown, name, "covers: known tags", ", ".join(unknown))
    compose = meta.get("compose_file", "docker-compose.yml")
    proc = run(["docker", "compose", "-f", compose, "config", "-q"], stack)
    report(proc.returncode == 0, name, f"docker compose config -q {compose}",
           "" if proc.returncode == 0 else last_line(proc))
    checks = meta.get("checks") or {}
    for path in checks.get("prometheus") or []:
        proc = run(["promtool", "check", "config", "--syntax-only", path], stack)
        report(proc.returncode == 0, name, f"promtool check config --syntax-only {path}",
               "" if proc.returncode == 0 else last_line(proc))
    for path in checks.get("rules") or []:
        proc = run(["promtool", "check", "rules", path], stack)
        report(proc.returncode == 0, name, f"promtool check rules {path}",
               "" if proc.returncode == 0 else last_line(proc))
    for path in checks.get("alertmanager") or []:
        proc = run(["amtool", "check-config", path], stack)
        report(proc.returncode == 0, name, f"amtool check-config {path}",
               "" if proc.returncode == 0 else last_line(proc))
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


# ---------------------------------------------------------------- live

def api_base(meta: dict[str, Any], what: str) -> tuple[str, tuple[str, str] | None] | None:
    api = (meta.get("api") or {}).get(what) or {}
    auth = tuple(api["basic_auth"]) if api.get("basic_auth") else None
    if api.get("url"):
        return api["url"].rstrip("/"), auth  # type: ignore[return-value]
    port = (meta.get("ports") or {}).get(what)
    if port is None:
        return None
    return f"http://127.0.0.1:{port}", auth  # type: ignore[return-value]


def http(url: str, auth: tuple[str, str] | None = None) -> tuple[int, str]:
    host = urllib.parse.urlsplit(url).hostname
    if host not in ("127.0.0.1", "localhost", "::1"):
        raise ValueError(f"refusing to query {url}: loopback only")
    req = urllib.request.Request(url)
    if auth:
        token = base64.b64encode(f"{auth[0]}:{auth[1]}".encode()).decode()
        req.add_header("Authorization", f"Basic {token}")
    try:
        with urllib.request.urlopen(req, timeout=5) as resp:  # noqa: S310 - loopback only
            return resp.status, resp.read().decode(errors="replace")
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read().decode(errors="replace")
    except (urllib.error.URLError, OSError) as exc:
        return 0, str(exc)


def containers(project: str) -> list[dict[str, Any]]:
    proc = run(["docker", "ps", "-a", "--filter", f"label=com.docker.compose.project={project}",
                "--format", "{{.ID}}"], HERE)
    ids = proc.stdout.split()
    if not ids:
        return []
    proc = run(["docker", "inspect", *ids], HERE)
    return json.loads(proc.stdout or "[]")


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
    active = [(t["labels"].get("job"), t["labels"].get("instance"), t["health"],
               t.get("lastError", "")) for t in json.loads(body)["data"]["activeTargets"]]
    problems, used = [], set()
    for job, instance in want:
        for i, (j, inst, health, _err) in enumerate(active):
            if i in used or j != job:
                continue
            if (instance.startswith("~") and re.fullmatch(instance[1:], inst or "")) or inst == instance:
                if health == "up":
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


def check_live(stack: Path, meta: dict[str, Any], timeout: int, keep: bool) -> None:
    name = stack.name
    project = PREFIX + name
    compose = meta.get("compose_file", "docker-compose.yml")
    env = dict(os.environ, COMPOSE_PROJECT_NAME=project)
    expect = meta.get("expect") or {}
    dc = ["docker", "compose", "-p", project, "-f", compose]
    try:
        for cmd in meta.get("setup") or []:
            proc = run(cmd, stack, env)
            if not report(proc.returncode == 0, name, f"setup: {cmd}",
                          "" if proc.returncode == 0 else last_line(proc)):
                return
        proc = run([*dc, "up", "-d"], stack, env)
        if not report(proc.returncode == 0, name, f"docker compose -p {project} up -d",
                      "" if proc.returncode == 0 else last_line(proc)):
            return
        for cmd in meta.get("after_up") or []:
            proc = run(cmd, stack, env)
            report(proc.returncode == 0, name, f"after_up: {cmd}",
                   "" if proc.returncode == 0 else last_line(proc))
        checks: list[tuple[str, Any]] = [
            ("containers running/healthy", lambda: state_problems(project, expect.get("containers"))),
        ]
        if expect.get("targets_up"):
            checks.append((f"targets up: {len(expect['targets_up'])}", lambda: target_problems(meta)))
        if expect.get("rule_groups"):
            checks.append((f"rule groups: {', '.join(expect['rule_groups'])}", lambda: rule_problems(meta)))
        am = api_base(meta, "alertmanager")
        if am is not None:
            checks.append(("alertmanager /-/ready", lambda: [] if http(f"{am[0]}/-/ready", am[1])[0] == 200
                           else [f"answered {http(f'{am[0]}/-/ready', am[1])[0]}"]))
        rw = expect.get("remote_write")
        if rw:
            vm = api_base(meta, "victoria_metrics")

            def vm_problems(vm: Any = vm, rw: Any = rw) -> list[str]:
                q = urllib.parse.quote(rw.get("query", "up"))
                status, body = http(f"{vm[0]}/api/v1/query?query={q}", vm[1])
                if status != 200:
                    return [f"answered {status}"]
                n = len(json.loads(body)["data"]["result"])
                return [] if n >= rw.get("min_series", 1) else [f"{n} series"]
            checks.append((f"remote_write receiver answers {rw.get('query', 'up')}", vm_problems))
        for item in expect.get("http") or []:
            def http_problems(item: Any = item) -> list[str]:
                auth = tuple(item["basic_auth"]) if item.get("basic_auth") else None
                status, body = http(item["url"], auth)  # type: ignore[arg-type]
                if status != item.get("status", 200):
                    return [f"answered {status}"]
                if item.get("contains") and item["contains"] not in body:
                    return [f"body lacks {item['contains']!r}"]
                return []
            checks.append((f"GET {item['url']} -> {item.get('status', 200)}"
                           + (" (basic auth)" if item.get("basic_auth") else ""), http_problems))
        for cmd in expect.get("commands") or []:
            def cmd_problems(cmd: str = cmd) -> list[str]:
                proc = run(cmd, stack, env, timeout=60)
                return [] if proc.returncode == 0 else [last_line(proc)]
            checks.append((f"command: {cmd}", cmd_problems))
        for item in expect.get("exec_checks") or []:
            def exec_problems(item: Any = item) -> list[str]:
                proc = run([*dc, "exec", "-T", item["service"], *item["command"]], stack, env, timeout=60)
                return [] if proc.returncode == 0 else [last_line(proc)]
            checks.append((f"in {item['service']}: {' '.join(item['command'])}", exec_problems))

        deadline = time.monotonic() + timeout
        pending = dict(enumerate(checks))
        last: dict[int, list[str]] = {}
        while pending and time.monotonic() < deadline:
            for i, (_what, fn) in list(pending.items()):
                try:
                    last[i] = fn()
                except Exception as exc:  # noqa: BLE001 - any error is a problem to report
                    last[i] = [f"{type(exc).__name__}: {exc}"]
                if not last[i]:
                    report(True, name, checks[i][0])
                    del pending[i]
            if pending:
                time.sleep(3)
        for i in pending:
            report(False, name, checks[i][0], "; ".join(last.get(i, ["not run"]))[:400])
        if pending:
            logs = run([*dc, "logs", "--tail", "15"], stack, env)
            print(logs.stdout[-3000:], file=sys.stderr)
    finally:
        if keep:
            print(f"note  {name:<24} left running: docker compose -p {project} down -v")
        else:
            proc = run([*dc, "down", "-v", "--remove-orphans"], stack, env)
            report(proc.returncode == 0, name, "docker compose down -v",
                   "" if proc.returncode == 0 else last_line(proc))
            for cmd in meta.get("teardown") or []:
                proc = run(cmd, stack, env)
                report(proc.returncode == 0, name, f"teardown: {cmd}",
                       "" if proc.returncode == 0 else last_line(proc))


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
            check_live(stack, meta, args.timeout, args.keep)
    if not args.stacks:
        missing = sorted(TAGS - covered)
        report(not missing, "(corpus)", f"every feature tag covered ({len(covered)}/{len(TAGS)})",
               ", ".join(missing))
    print(f"{FAILED} failed" if FAILED else "all checks passed")
    return 1 if FAILED else 0


if __name__ == "__main__":
    sys.exit(main())
