"""Checks of Prometheus' part of the spec (pure): rules, scrape jobs, secrets, flags.

Prometheus itself is the arbiter (promtool of the image's version judges every release on
the host before it goes live); these checks catch early what it would reject, name what
would lose data, and warn about the rest.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from beast_observatory.kinds.prometheus.model import GLOBAL_KEYS, known_scrape_key
from beast_observatory.kinds.prometheus.render import FOLDER
from beast_observatory.kinds.prometheus.rule_tests import check_rule_tests, rule_test_path
from beast_observatory.kinds.prometheus.versions import (
    prometheus_version,
    rule_problems,
    version_problems,
)
from beast_observatory.spec.checks import (
    Problem,
    SpecPath,
    config_secrets,
    duplicates,
    warning,
)
from beast_observatory.spec.resolve import Stack
from beast_observatory.yamlio import YamlError, load_yaml

FILE_FIX = (
    "Prometheus reads secrets from files: use the *_file form (password_file, "
    "credentials_file, client_secret_file, key_file) with a path inside the container, "
    "and mount that file from the host"
)
# Flags the tool writes itself: given again in extra_flags, Prometheus refuses to start.
OWNED_FLAGS = ("--config.file", "--storage.tsdb.path", "--web.listen-address")


def check_rules(stack: Stack, assets: Mapping[str, bytes]) -> list[Problem]:
    problems = []
    version = prometheus_version(stack.services.prometheus)
    for i, rule in enumerate(stack.services.prometheus.rule_files):
        where: SpecPath = ("services", "prometheus", "rule_files", i)
        label = f"{rule.path}: " if rule.path else ""
        try:
            doc = load_yaml(assets[rule.path], rule.path) if rule.path else {"groups": rule.groups}
        except YamlError as exc:
            problems.append(Problem(where, exc.render().removeprefix("error: ")))
            continue
        if not isinstance(doc, dict) or not isinstance(doc.get("groups"), list):
            problems.append(Problem(where, f"{label}a rule file needs a top-level 'groups' list"))
            continue
        problems += [Problem(where, label + p) for p in group_problems(doc["groups"])]
        problems += rule_problems(where, label, doc["groups"], version)
    return problems


def group_problems(groups: list[Any]) -> list[str]:
    problems = []
    names: set[str] = set()
    for g, group in enumerate(groups):
        if (
            not isinstance(group, dict)
            or not group.get("name")
            or not isinstance(group.get("rules"), list)
        ):
            problems.append(f"groups[{g}] needs a 'name' and a 'rules' list")
            continue
        if group["name"] in names:
            problems.append(f"groups[{g}]: duplicate group name {group['name']!r}")
        names.add(group["name"])
        for r, rule in enumerate(group["rules"]):
            ok = (
                isinstance(rule, dict)
                and bool(rule.get("expr"))
                and (("alert" in rule) != ("record" in rule))
            )
            if not ok:
                problems.append(
                    f"groups[{g}].rules[{r}] needs 'expr' and exactly one of 'alert'/'record'"
                )
    return problems


def check_jobs(stack: Stack) -> list[Problem]:
    p = stack.services.prometheus
    at: SpecPath = ("services", "prometheus", "scrape_jobs")
    problems = duplicates(at, "name", [j.name for j in p.scrape_jobs], {})
    pushgateway = f"{stack.service_name('pushgateway')}:{stack.services.pushgateway.container_port}"
    for i, job in enumerate(p.scrape_jobs):
        if (pushgateway in job.all_targets() or "pushgateway" in job.name) and not job.honor_labels:
            problems.append(
                warning(
                    (*at, i),
                    f"job {job.name!r} scrapes the Pushgateway without honor_labels: true, so "
                    "pushed job/instance labels are overwritten",
                    hint="set honor_labels: true",
                )
            )
        for key in sorted(job.extras()):
            if not known_scrape_key(key):
                problems.append(
                    warning(
                        (*at, i, key),
                        f"{key!r} is not a scrape_config key Prometheus documents",
                        hint="check its spelling; promtool of the image judges it on apply",
                    )
                )
    for key in sorted(p.global_.extras()):
        if key not in GLOBAL_KEYS:
            problems.append(
                warning(
                    ("services", "prometheus", "global", key),
                    f"{key!r} is not a global key Prometheus documents",
                    hint="check its spelling; promtool of the image judges it on apply",
                )
            )
    return problems


def check_secrets(stack: Stack) -> list[Problem]:
    p = stack.services.prometheus
    base: SpecPath = ("services", "prometheus")
    trees: list[tuple[SpecPath, Any]] = [
        ((*base, "scrape_jobs", i), job.model_dump(exclude_unset=True))
        for i, job in enumerate(p.scrape_jobs)
    ]
    trees += [((*base, "remote_write"), p.remote_write), ((*base, "remote_read"), p.remote_read)]
    if p.alerting is not None:
        trees.append(((*base, "alerting"), p.alerting.model_dump()))
    trees.append(((*base, "global"), p.global_.extras()))
    for key in ("storage", "tracing", "otlp", "runtime"):
        trees.append(((*base, key), getattr(p, key)))
    return [
        Problem(path, why, hint=FILE_FIX)
        for at, tree in trees
        for path, why in config_secrets(tree, at)
    ]


def check_files_and_flags(stack: Stack) -> list[Problem]:
    p = stack.services.prometheus
    problems = []
    rendered = {"prometheus.yml", "web.yml", *(rule_test_path(t.name) for t in p.rule_tests)}
    for relative in sorted(p.files):
        if relative in rendered or relative.startswith(("rules/", "/")):
            problems.append(
                Problem(
                    ("services", "prometheus", "files", relative),
                    f"{FOLDER}/{relative} is written by the tool itself",
                    hint="give the file another path inside the config directory",
                )
            )
    for i, flag in enumerate(p.extra_flags):
        name = flag.split("=", 1)[0]
        if name in OWNED_FLAGS:
            problems.append(
                Problem(
                    ("services", "prometheus", "extra_flags", i),
                    f"{name} is set by the tool (Prometheus refuses a flag given twice)",
                    hint="use config_dir, data.target or container_port instead",
                )
            )
    return problems


def check_pushgateway(stack: Stack) -> list[Problem]:
    pg = stack.services.pushgateway
    if not pg.enabled or not pg.persistence.enabled:
        return []
    target = pg.data.target if pg.data is not None and pg.data.target else "/pushgateway"
    if pg.data is None or not pg.persistence.file.startswith(target.rstrip("/") + "/"):
        return [
            warning(
                ("services", "pushgateway", "persistence", "file"),
                f"{pg.persistence.file} is not on the data volume ({target}): pushed metrics "
                "are lost when the container is recreated",
                hint="put the file under data.target",
            )
        ]
    return []


def check_prometheus(stack: Stack, assets: Mapping[str, bytes]) -> list[Problem]:
    return [
        *check_rules(stack, assets),
        *check_rule_tests(stack, assets),
        *check_jobs(stack),
        *check_secrets(stack),
        *check_files_and_flags(stack),
        *check_pushgateway(stack),
        *version_problems(stack.services.prometheus),
        *duplicates(
            ("services", "prometheus", "rule_files"),
            "name",
            [r.name for r in stack.services.prometheus.rule_files],
            {},
        ),
    ]
