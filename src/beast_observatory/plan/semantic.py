"""What a change of the generated files does, in the words of the services (pure).

Two trees of files (the host's and the spec's, as the same renderer writes them) are compared
the way each service reads them: prometheus.yml job by job, rule groups by name, Grafana's
data sources, providers and dashboards by what Grafana keys them on, alertmanager.yml and
grafana.ini key by key, each compose service field by field. Where files merely live is
not a change of behaviour; the tool's own labels are not either (the plan says those apart).
"""

from __future__ import annotations

import json
import posixpath
import re
from collections.abc import Iterator, Mapping
from typing import Any

from beast_observatory.kinds.grafana.read import parse_ini
from beast_observatory.names import COMPOSE_FILE, LABEL
from beast_observatory.plan.files import mask_secrets
from beast_observatory.secret_rules import is_reference
from beast_observatory.secret_rules import is_secret_name as secret_key
from beast_observatory.spec.config_view import flatten
from beast_observatory.yamlio import YamlError, load_yaml

Files = Mapping[str, bytes]
Changes = dict[str, list[str]]  # service -> what changes
UNSET = "(unset)"


def _yaml(files: Files, path: str) -> Any:
    data = files.get(path)
    if data is None:
        return None
    try:
        return load_yaml(data, path)
    except YamlError:
        return data.decode("utf-8", "replace")


def _short(value: Any) -> str:
    if value is None:
        return UNSET
    text = value if isinstance(value, str) else json.dumps(value, sort_keys=True, default=str)
    text = mask_secrets(text).strip()
    return text if len(text) <= 80 else text[:77] + "..."  # noqa: PLR2004


def leaf_changes(before: Any, after: Any, prefix: str = "") -> Iterator[str]:
    """`path: old -> new` for every leaf that differs (lists of scalars compared whole)."""
    fb = _leaves(before) if isinstance(before, dict | list) else {prefix: before}
    fa = _leaves(after) if isinstance(after, dict | list) else {prefix: after}
    if not isinstance(before, dict | list) or not isinstance(after, dict | list):
        if before != after:
            yield f"{prefix}: {_short(before)} -> {_short(after)}"
        return
    for key in sorted(set(fb) | set(fa)):
        if fb.get(key) != fa.get(key):
            where = f"{prefix}.{key}" if prefix and key else prefix or key
            yield f"{where}: {_shown(where, fb.get(key))} -> {_shown(where, fa.get(key))}"


def _leaves(value: dict[str, Any] | list[Any]) -> dict[str, Any]:
    return dict(flatten(value)) if value else {}  # an empty file has no settings


def _shown(where: str, value: Any) -> str:
    """A value as a plan shows it: a secret's value masked (its key says it is one)."""
    name = re.sub(r"\[\d+\]$", "", where).rsplit(".", 1)[-1]
    if value is not None and secret_key(name) and not is_reference(value):
        return "<masked>"
    return _short(value)


def _by(items: Any, key: str) -> dict[str, Any]:
    return {str(i.get(key)): i for i in items or [] if isinstance(i, dict)}


def prometheus_changes(before: Files, after: Files) -> list[str]:
    old = _yaml(before, "prometheus/prometheus.yml")
    new = _yaml(after, "prometheus/prometheus.yml")
    if old is None and new is None:
        return []
    if not isinstance(old, dict) or not isinstance(new, dict):
        return ["prometheus.yml is new" if old is None else "prometheus.yml replaced"]
    out = []
    for section in sorted((set(old) | set(new)) - {"scrape_configs", "rule_files"}):
        out += [
            f"prometheus.yml {c}" for c in leaf_changes(old.get(section), new.get(section), section)
        ]
    ljobs, djobs = (
        _by(old.get("scrape_configs"), "job_name"),
        _by(new.get("scrape_configs"), "job_name"),
    )
    for name in sorted(set(djobs) - set(ljobs)):
        out.append(f"adds scrape job {name}")
    for name in sorted(set(ljobs) - set(djobs)):
        out.append(f"removes scrape job {name}")
    for name in sorted(set(ljobs) & set(djobs)):
        changed = list(leaf_changes(ljobs[name], djobs[name]))
        if changed:
            out.append(f"changes scrape job {name}: " + "; ".join(changed))
    return out + rule_changes(before, after)


def _groups(files: Files) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for path in sorted(files):
        if path.startswith("prometheus/rules/"):
            doc = _yaml(files, path)
            for group in (doc or {}).get("groups") or [] if isinstance(doc, dict) else []:
                if isinstance(group, dict):
                    out[str(group.get("name"))] = group
    return out


def rule_changes(before: Files, after: Files) -> list[str]:
    old, new = _groups(before), _groups(after)
    out = [f"adds rule group {g}" for g in sorted(set(new) - set(old))]
    out += [f"removes rule group {g}" for g in sorted(set(old) - set(new))]
    out += [f"changes rule group {g}" for g in sorted(set(old) & set(new)) if old[g] != new[g]]
    return out


def _grafana_docs(files: Files, folder: str, key: str) -> list[Any]:
    items: list[Any] = []
    for path in sorted(files):
        if path.startswith(f"grafana/provisioning/{folder}/"):
            doc = _yaml(files, path)
            items += (doc or {}).get(key) or [] if isinstance(doc, dict) else []
    return items


def _datasource_key(ds: Mapping[str, Any]) -> str:
    return f"{ds.get('name')}" + (f" (org {ds['orgId']})" if ds.get("orgId", 1) != 1 else "")


def _dashboards(files: Files) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for path, data in sorted(files.items()):
        if path.startswith("grafana/dashboards/") and path.endswith(".json"):
            try:
                doc = json.loads(data)
            except ValueError:
                doc = data.decode("utf-8", "replace")
            if isinstance(doc, dict):
                doc = {k: v for k, v in doc.items() if k not in ("id", "version")}
            out[path.removeprefix("grafana/dashboards/")] = doc
    return out


def grafana_changes(before: Files, after: Files) -> list[str]:
    out = []
    old_ds = {
        _datasource_key(d): d
        for d in _grafana_docs(before, "datasources", "datasources")
        if isinstance(d, dict)
    }
    new_ds = {
        _datasource_key(d): d
        for d in _grafana_docs(after, "datasources", "datasources")
        if isinstance(d, dict)
    }
    out += [f"adds data source {n}" for n in sorted(set(new_ds) - set(old_ds))]
    out += [f"removes data source {n}" for n in sorted(set(old_ds) - set(new_ds))]
    for n in sorted(set(old_ds) & set(new_ds)):
        out += [f"data source {n}: {c}" for c in leaf_changes(old_ds[n], new_ds[n])]
    old_del = _grafana_docs(before, "datasources", "deleteDatasources")
    new_del = _grafana_docs(after, "datasources", "deleteDatasources")
    if old_del != new_del:
        out.append(f"deleteDatasources: {_short(old_del)} -> {_short(new_del)}")
    strip = ("options",)
    old_p = {
        str(p.get("name")): {k: v for k, v in p.items() if k not in strip}
        | {"options": {k: v for k, v in (p.get("options") or {}).items() if k != "path"}}
        for p in _grafana_docs(before, "dashboards", "providers")
        if isinstance(p, dict)
    }
    new_p = {
        str(p.get("name")): {k: v for k, v in p.items() if k not in strip}
        | {"options": {k: v for k, v in (p.get("options") or {}).items() if k != "path"}}
        for p in _grafana_docs(after, "dashboards", "providers")
        if isinstance(p, dict)
    }
    out += [f"adds dashboard provider {n}" for n in sorted(set(new_p) - set(old_p))]
    out += [f"removes dashboard provider {n}" for n in sorted(set(old_p) - set(new_p))]
    for n in sorted(set(old_p) & set(new_p)):
        out += [f"dashboard provider {n}: {c}" for c in leaf_changes(old_p[n], new_p[n])]
    old_d, new_d = _dashboards(before), _dashboards(after)
    out += [f"adds dashboard {n}" for n in sorted(set(new_d) - set(old_d))]
    out += [f"removes dashboard {n}" for n in sorted(set(old_d) - set(new_d))]
    out += [
        f"changes dashboard {n}" for n in sorted(set(old_d) & set(new_d)) if old_d[n] != new_d[n]
    ]
    old_ini = parse_ini(before.get("grafana/grafana.ini", b"").decode("utf-8", "replace"))
    new_ini = parse_ini(after.get("grafana/grafana.ini", b"").decode("utf-8", "replace"))
    out += [f"grafana.ini {c}" for c in leaf_changes(_no_layout(old_ini), _no_layout(new_ini))]
    return out


def _no_layout(ini: dict[str, dict[str, str]]) -> dict[str, dict[str, str]]:
    """grafana.ini without the tool's provisioning path (where files live, not what they do)."""
    out = {k: dict(v) for k, v in ini.items()}
    (out.get("paths") or {}).pop("provisioning", None)
    return {k: v for k, v in out.items() if v}


def alertmanager_changes(before: Files, after: Files) -> list[str]:
    old = _yaml(before, "alertmanager/alertmanager.yml")
    new = _yaml(after, "alertmanager/alertmanager.yml")
    if old == new:
        return []
    return [f"alertmanager.yml {c}" for c in leaf_changes(old, new)] or ["alertmanager.yml changed"]


def _tool_free(service: Mapping[str, Any]) -> dict[str, Any]:
    out = dict(service)
    for key in ("volumes", "ports"):  # docker mounts and publishes them in any order
        if isinstance(out.get(key), list):
            out[key] = sorted(out[key], key=lambda e: json.dumps(e, sort_keys=True))
    networks = out.get("networks")
    if isinstance(networks, dict) and not any(networks.values()):
        out["networks"] = sorted(networks)  # compose reads {a: null} as [a]
    labels = {
        k: v for k, v in (out.get("labels") or {}).items() if not str(k).startswith(f"{LABEL}.")
    }
    if labels:
        out["labels"] = labels
    else:
        out.pop("labels", None)
    return out


def _flags(args: list[Any]) -> dict[str, str | None] | None:
    """``--name=value`` / ``--name`` arguments by name; None when any argument is not a flag
    (or a flag repeats), so the list is compared whole."""
    out: dict[str, str | None] = {}
    for arg in map(str, args):
        if not arg.startswith("-"):
            return None
        name, eq, value = arg.partition("=")
        if name in out:
            return None
        out[name] = value if eq else None
    return out


def argument_changes(key: str, before: Any, after: Any) -> list[str]:
    """A command's changes flag by flag (``command --storage.tsdb.retention.time: 21d -> 30d``)
    where both are lists of flags; otherwise the whole value."""
    if before == after:
        return []
    old = _flags(before) if isinstance(before, list) else None
    new = _flags(after) if isinstance(after, list) else None
    if old is None or new is None:
        return [f"{key}: {_short(before)} -> {_short(after)}"]
    out = []
    for flag in sorted(set(old) | set(new)):
        if flag not in new:
            out.append(f"{key}: drops {flag}")
        elif flag not in old:
            out.append(f"{key}: adds {flag}" + (f"={_shown(flag, new[flag])}" if new[flag] else ""))
        elif old[flag] != new[flag]:
            out.append(f"{key} {flag}: {_shown(flag, old[flag])} -> {_shown(flag, new[flag])}")
    return out or [f"{key}: the same arguments in another order"]


def compose_changes(before: Files, after: Files) -> Changes:
    """Per compose service: what changes in its definition (the tool's labels aside)."""
    old = (_yaml(before, COMPOSE_FILE) or {}).get("services") or {}
    new = (_yaml(after, COMPOSE_FILE) or {}).get("services") or {}
    out: Changes = {}
    for name in sorted(set(old) | set(new)):
        if name not in old:
            out[name] = ["a new service"]
        elif name not in new:
            out[name] = ["not in the spec"]
        else:
            was, will = _tool_free(old[name]), _tool_free(new[name])
            changed = []
            for key in ("command", "entrypoint"):
                changed += argument_changes(key, was.pop(key, None), will.pop(key, None))
            changed += leaf_changes(was, will)
            if changed:
                out[name] = changed
    for section in ("volumes", "networks"):
        ov = (_yaml(before, COMPOSE_FILE) or {}).get(section) or {}
        nv = (_yaml(after, COMPOSE_FILE) or {}).get(section) or {}
        for c in leaf_changes(ov, nv, section):
            out.setdefault("stack", []).append(c)
    return out


def shipped_changes(before: Files, after: Files) -> list[str]:
    old = {p: d for p, d in before.items() if p.startswith("files/")}
    new = {p: d for p, d in after.items() if p.startswith("files/")}
    out = [f"adds file {posixpath.relpath(p, 'files')}" for p in sorted(set(new) - set(old))]
    out += [f"removes file {posixpath.relpath(p, 'files')}" for p in sorted(set(old) - set(new))]
    out += [
        f"changes file {posixpath.relpath(p, 'files')}"
        for p in sorted(set(old) & set(new))
        if old[p] != new[p]
    ]
    return out


def config_changes(before: Files, after: Files, names: Mapping[str, str] | None = None) -> Changes:
    """What the services' own configuration files change, by compose service (names: kind ->
    its service name) and 'stack' (files shipped for the services)."""
    names = dict(names or {})
    out: Changes = {}
    for kind, found in (
        ("prometheus", prometheus_changes(before, after)),
        ("grafana", grafana_changes(before, after)),
        ("alertmanager", alertmanager_changes(before, after)),
    ):
        if found:
            out.setdefault(names.get(kind, kind), []).extend(found)
    if shipped := shipped_changes(before, after):
        out.setdefault("stack", []).extend(shipped)
    return out


def bundle_changes(before: Files, after: Files, names: Mapping[str, str] | None = None) -> Changes:
    """Everything that changes, by compose service and 'stack'."""
    out = compose_changes(before, after)
    for name, found in config_changes(before, after, names).items():
        out.setdefault(name, []).extend(found)
    return out
