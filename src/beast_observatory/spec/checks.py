"""Checks across files and environments, beyond what the schema can say (pure)."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator, Mapping
from typing import Any

from beast_observatory.errors import SpecError
from beast_observatory.grafana_format import check_dashboard, dashboard_datasource_uids
from beast_observatory.render.grafana import dashboard_files, datasource_uids
from beast_observatory.render.prometheus import CONTAINER_PORTS, scrape_jobs
from beast_observatory.spec.resolve import Stack
from beast_observatory.yamlio import YamlError, load_yaml

SECRET_NAME = re.compile(r"(PASSWORD|PASSWD|SECRET|TOKEN|API_?KEY|PRIVATE_?KEY|CREDENTIAL)", re.I)
# Values that point at a secret instead of holding it.
SECRET_REFERENCE = re.compile(r"^(\$\{?[A-Za-z_][A-Za-z0-9_]*(:?[-?][^}]*)?\}?|\$__(env|file)\{[^}]+\})$")


def looks_secret(name: str) -> bool:
    return bool(SECRET_NAME.search(name))


def is_reference(value: object) -> bool:
    return isinstance(value, str) and (value == "" or bool(SECRET_REFERENCE.match(value)))


def _published_ports(stack: Stack) -> Iterator[tuple[str, int]]:
    s = stack.services
    for name in ("prometheus", "pushgateway", "grafana", "alertmanager", "node_exporter"):
        svc = getattr(s, name)
        if svc.enabled and svc.publish:
            yield f"services.{name}.port", svc.port
    for name, fragment in sorted(s.extra.items()):
        for i, port in enumerate(fragment.get("ports") or []):
            host = _host_port(port)
            if host is not None:
                yield f"services.extra.{name}.ports[{i}]", host


def _host_port(entry: Any) -> int | None:
    if isinstance(entry, dict):
        published = entry.get("published")
        return int(published) if published is not None and str(published).isdigit() else None
    parts = str(entry).split("/")[0].split(":")
    if len(parts) >= 2 and parts[-2].isdigit():  # noqa: PLR2004 - HOST:CONTAINER
        return int(parts[-2])
    return None


def check_ports(stack: Stack) -> list[str]:
    seen: dict[int, str] = {}
    problems = []
    for where, port in _published_ports(stack):
        if port in seen:
            problems.append(
                f"environment {stack.env_name}: {where}: host port {port} is already used by "
                f"{seen[port]}; give one of them another port in environments.{stack.env_name}.services"
            )
        seen.setdefault(port, where)
    return problems


def check_rules(stack: Stack, assets: Mapping[str, bytes]) -> list[str]:
    problems = []
    for i, rule in enumerate(stack.services.prometheus.rule_files):
        where = f"services.prometheus.rule_files[{i}] ({rule.path or rule.name})"
        try:
            doc = load_yaml(assets[rule.path], rule.path) if rule.path else {"groups": rule.groups}
        except YamlError as exc:
            problems.append(f"{where}: {exc.render().removeprefix('error: ')}")
            continue
        if not isinstance(doc, dict) or not isinstance(doc.get("groups"), list):
            problems.append(f"{where}: a rule file needs a top-level 'groups' list")
            continue
        problems += _check_groups(where, doc["groups"])
    return problems


def _check_groups(where: str, groups: list[Any]) -> list[str]:
    problems = []
    names: set[str] = set()
    for g, group in enumerate(groups):
        if not isinstance(group, dict) or not group.get("name") or not isinstance(group.get("rules"), list):
            problems.append(f"{where}: groups[{g}] needs a 'name' and a 'rules' list")
            continue
        if group["name"] in names:
            problems.append(f"{where}: groups[{g}]: duplicate group name {group['name']!r}")
        names.add(group["name"])
        for r, rule in enumerate(group["rules"]):
            ok = isinstance(rule, dict) and bool(rule.get("expr")) and (("alert" in rule) != ("record" in rule))
            if not ok:
                problems.append(
                    f"{where}: groups[{g}].rules[{r}] needs 'expr' and exactly one of 'alert'/'record'"
                )
    return problems


def check_dashboards(stack: Stack, assets: Mapping[str, bytes], matches: Mapping[str, tuple[str, ...]]) -> list[str]:
    grafana = stack.services.grafana
    if not grafana.enabled:
        return []
    known = datasource_uids(stack)
    problems = []
    uids: dict[str, str] = {}
    for _target, source in sorted(dashboard_files(grafana, matches).items()):
        try:
            doc = json.loads(assets[source])
        except (ValueError, UnicodeDecodeError) as exc:
            problems.append(f"{source}: not valid JSON: {exc}")
            continue
        problems += [f"{source}: {p}" for p in check_dashboard(doc)]
        for uid in sorted(dashboard_datasource_uids(doc) - known):
            problems.append(
                f"{source}: references datasource uid {uid!r}, which the stack does not provision "
                f"(known: {', '.join(sorted(known))})"
            )
        uid = doc.get("uid") if isinstance(doc, dict) else None
        if isinstance(uid, str):
            if uid in uids:
                problems.append(f"{source}: dashboard uid {uid!r} is also used by {uids[uid]}")
            uids.setdefault(uid, source)
    return problems


def check_pushgateway_jobs(stack: Stack) -> list[str]:
    problems = []
    target = f"pushgateway:{CONTAINER_PORTS['pushgateway']}"
    for job in scrape_jobs(stack):
        if (target in job.targets or "pushgateway" in job.name) and not job.honor_labels:
            problems.append(
                f"services.prometheus.scrape_jobs: job {job.name!r} scrapes the Pushgateway without "
                "honor_labels: true, so pushed job/instance labels would be overwritten; set it"
            )
    return problems


def check_secrets(stack: Stack) -> list[str]:
    s = stack.services
    problems = []
    for name in ("prometheus", "pushgateway", "grafana", "alertmanager", "node_exporter"):
        for key, value in getattr(s, name).environment.items():
            if looks_secret(key) and not is_reference(value):
                problems.append(_secret_problem(f"services.{name}.environment.{key}"))
    for section, values in s.grafana.ini.items():
        for key, value in values.items():
            if looks_secret(key) and not is_reference(value):
                problems.append(_secret_problem(f"services.grafana.ini.{section}.{key}", grafana=True))
    for name, fragment in s.extra.items():
        env = fragment.get("environment") or {}
        items = env.items() if isinstance(env, dict) else (str(e).partition("=")[::2] for e in env)
        for key, value in items:
            if looks_secret(str(key)) and not is_reference(value):
                problems.append(_secret_problem(f"services.extra.{name}.environment.{key}"))
    return problems


def _secret_problem(where: str, *, grafana: bool = False) -> str:
    ref = "$__env{VAR} or $__file{/path}" if grafana else "${VAR} (set in .env on the host)"
    return f"{where}: holds a literal secret; use a reference such as {ref} instead"


def check_stack(stack: Stack, assets: Mapping[str, bytes], matches: Mapping[str, tuple[str, ...]]) -> list[str]:
    prefix = f"environment {stack.env_name}: "
    problems = check_ports(stack)
    for found in (
        check_rules(stack, assets),
        check_dashboards(stack, assets, matches),
        check_pushgateway_jobs(stack),
        check_secrets(stack),
    ):
        problems += [p if p.startswith("environment ") else prefix + p for p in found]
    return problems


def check_all(stacks: Mapping[str, Stack], assets: Mapping[str, bytes], matches: Mapping[str, tuple[str, ...]]) -> None:
    problems: list[str] = []
    for name in sorted(stacks):
        for p in check_stack(stacks[name], assets, matches):
            if p not in problems:
                problems.append(p)
    if problems:
        raise SpecError(problems)
