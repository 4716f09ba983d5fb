"""Checks of Grafana's part of the spec (pure): dashboards, data sources, providers, secrets.

Grafana provisions what these accept: old dashboards (rows, no uid, data sources by name,
${DS_...} inputs, no gridPos) are warnings with a hint, not errors.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from functools import lru_cache
from typing import Any

from beast_observatory.kinds.grafana.dashboards import (
    check_dashboard,
    check_dashboard_datasources,
    dashboard_errors,
)
from beast_observatory.kinds.grafana.render import (
    PROMETHEUS_UID,
    datasource_uids,
    has_auto_datasource,
    provider_dir,
)
from beast_observatory.kinds.grafana.versions import (
    dashboard_notes,
    grafana_version,
    version_problems,
)
from beast_observatory.secret_rules import is_reference, is_secret_name
from beast_observatory.spec.checks import (
    Problem,
    SpecPath,
    config_secrets,
    duplicates,
    secret_problem,
    warning,
)
from beast_observatory.spec.resolve import Stack

GRAFANA_FIX = "use a reference such as $__env{VAR}, $__file{/path} or ${VAR}"
BASE: SpecPath = ("services", "grafana")


SHOWN = 3  # dashboard problems named in one warning; the rest are counted


def _dashboard_sources(stack: Stack, matches: Mapping[str, tuple[str, ...]]) -> dict[str, SpecPath]:
    """Every dashboard file the stack provisions -> the spec entry that selects it."""
    out: dict[str, SpecPath] = {}
    for p, provider in enumerate(stack.services.grafana.dashboards):
        for f, ref in enumerate(provider.files):
            for source in matches.get(ref, ()):
                out.setdefault(source, (*BASE, "dashboards", p, "files", f))
    return out


@lru_cache(maxsize=4096)
def _dashboard_checked(raw: bytes) -> tuple[Any, tuple[str, ...], tuple[str, ...]]:
    doc = json.loads(raw)
    return doc, tuple(dashboard_errors(doc)), tuple(check_dashboard(doc))


DASHBOARD_HINT = (
    "Grafana loads it as it is; re-saving it in Grafana 11+ and exporting it (without "
    "'export for sharing externally') gives it a uid, gridPos and data sources by uid"
)


def check_dashboards(
    stack: Stack, assets: Mapping[str, bytes], matches: Mapping[str, tuple[str, ...]]
) -> list[Problem]:
    known = datasource_uids(stack)
    version = grafana_version(stack.services.grafana)
    problems = []
    uids: dict[tuple[object, str], str] = {}
    orgs = {i: p.org_id or 1 for i, p in enumerate(stack.services.grafana.dashboards)}
    for source, where in sorted(_dashboard_sources(stack, matches).items()):
        try:
            doc, errors, warnings = _dashboard_checked(assets[source])
        except (ValueError, UnicodeDecodeError) as exc:
            problems.append(Problem(where, f"{source}: not valid JSON: {exc}"))
            continue
        problems += [Problem(where, f"{source}: {e}") for e in errors]
        found = [*warnings, *check_dashboard_datasources(doc, known)]
        found += dashboard_notes(doc, version)
        if found:
            shown = "; ".join(found[:SHOWN]) + (
                f"; and {len(found) - SHOWN} more" if len(found) > SHOWN else ""
            )
            problems.append(warning(where, f"{source}: {shown}", hint=DASHBOARD_HINT))
        uid = doc.get("uid") if isinstance(doc, dict) else None
        if isinstance(uid, str) and uid:
            key = (orgs.get(int(where[3]), 1), uid)
            if key in uids:
                problems.append(
                    Problem(
                        where,
                        f"{source}: dashboard uid {uid!r} is also used by {uids[key]} "
                        "(Grafana would provision only one of them)",
                    )
                )
            uids.setdefault(key, source)
    return problems


def check_empty_globs(stack: Stack, matches: Mapping[str, tuple[str, ...]]) -> list[Problem]:
    return [
        warning(
            (*BASE, "dashboards", p, "files", f),
            f"{ref}: the glob matches no file: the provider provisions no dashboard",
            hint="check the path; Grafana accepts an empty dashboard folder",
        )
        for p, provider in enumerate(stack.services.grafana.dashboards)
        for f, ref in enumerate(provider.files)
        if not matches.get(ref)
    ]


def check_names(stack: Stack) -> list[Problem]:
    """Names and uids Grafana wants unique: a repeat loses one of them."""
    g = stack.services.grafana
    auto = has_auto_datasource(stack)
    builtin_uid = {PROMETHEUS_UID: "the built-in Prometheus data source"} if auto else {}
    builtin_name = {"Prometheus": "the built-in Prometheus data source"} if auto else {}
    # Names are unique per organization: a name in another org is another name.
    names = [
        d.name if (d.org_id or 1) == 1 else f"{d.name} (org {d.org_id})" for d in g.datasources
    ]
    uids = [d.uid or "" for d in g.datasources]
    problems = [
        p
        for p in duplicates((*BASE, "datasources"), "uid", uids, builtin_uid)
        if "uid ''" not in p.message
    ]
    problems += duplicates((*BASE, "datasources"), "name", names, builtin_name)
    problems += duplicates((*BASE, "dashboards"), "name", [d.name for d in g.dashboards], {})
    problems += duplicates(
        (*BASE, "dashboards"), "folder", [provider_dir(d) for d in g.dashboards], {}
    )
    # Grafana logs "the same folder UID is used more than once" and mixes the folders up.
    problems += [
        warning(p.path, f"{p.message}: Grafana mixes their dashboards up")
        for p in duplicates(
            (*BASE, "dashboards"), "folder_uid", [d.folder_uid or "" for d in g.dashboards], {}
        )
        if "folder_uid ''" not in p.message
    ]
    return problems + _defaults(stack) + _folder_structures(stack)


def _defaults(stack: Stack) -> list[Problem]:
    """Grafana refuses to provision two default data sources of one organization."""
    first: dict[int, int] = {}
    problems = []
    for i, d in enumerate(stack.services.grafana.datasources):
        if d.is_default:
            org = d.org_id or 1
            if org in first:
                problems.append(
                    Problem(
                        (*BASE, "datasources", i, "is_default"),
                        f"datasources[{first[org]}] is already the default data source of "
                        f"organization {org}: Grafana refuses to provision both",
                    )
                )
            first.setdefault(org, i)
    return problems


def _folder_structures(stack: Stack) -> list[Problem]:
    """foldersFromFilesStructure makes the folders: Grafana refuses a provider that also has
    folder and folderUid, and ignores either one alone."""
    problems = []
    for i, p in enumerate(stack.services.grafana.dashboards):
        given = [k for k in ("folder", "folder_uid") if getattr(p, k)]
        if p.folders_from_files_structure and given:
            where: SpecPath = (*BASE, "dashboards", i, "folders_from_files_structure")
            message = "folders come from the files' folders: Grafana " + (
                "refuses a provider that also has folder and folder_uid"
                if len(given) == 2  # noqa: PLR2004
                else f"ignores {given[0]}"
            )
            hint = "leave folder and folder_uid out"
            refused = len(given) == 2  # noqa: PLR2004 - both folder and folder_uid
            problems.append(
                Problem(where, message, hint=hint) if refused else warning(where, message, hint)
            )
    return problems


def _points_at_stack(stack: Stack, url: str | None) -> bool:
    p = stack.services.prometheus
    return bool(url) and f"//{stack.service_name('prometheus')}:{p.container_port}" in str(url)


def check_auto_datasource(stack: Stack) -> list[Problem]:
    g = stack.services.grafana
    if not has_auto_datasource(stack):
        return []
    return [
        warning(
            (*BASE, "datasources", i),
            f"data source {d.name!r} is the stack's Prometheus too: Grafana gets two data "
            "sources for one Prometheus",
            hint="set services.grafana.prometheus_datasource: false to keep only this one",
        )
        for i, d in enumerate(g.datasources)
        if d.type == "prometheus" and _points_at_stack(stack, d.url)
    ]


def check_secrets(stack: Stack) -> list[Problem]:
    g = stack.services.grafana
    problems = []
    for section, values in g.ini.items():
        for key, value in values.items():
            if is_secret_name(key) and not is_reference(value):
                problems.append(secret_problem((*BASE, "ini", section, key), fix=GRAFANA_FIX))
    for d, source in enumerate(g.datasources):
        where: SpecPath = (*BASE, "datasources", d)
        tree = {"json_data": source.json_data, **source.extras()}
        problems += [Problem(at, why, hint=GRAFANA_FIX) for at, why in config_secrets(tree, where)]
        for key, value in source.secure_json_data.items():
            if not is_reference(value):
                problems.append(secret_problem((*where, "secure_json_data", key), fix=GRAFANA_FIX))
    return problems


def check_grafana(
    stack: Stack, assets: Mapping[str, bytes], matches: Mapping[str, tuple[str, ...]]
) -> list[Problem]:
    problems = check_secrets(stack)  # a secret in the spec is in git whether Grafana runs or not
    if not stack.services.grafana.enabled:
        return problems
    return [
        *problems,
        *check_dashboards(stack, assets, matches),
        *check_empty_globs(stack, matches),
        *check_names(stack),
        *check_auto_datasource(stack),
        *version_problems(stack.services.grafana),
    ]
