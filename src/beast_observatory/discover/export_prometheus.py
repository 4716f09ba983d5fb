"""Prometheus, Pushgateway, Alertmanager and node-exporter as discovered -> spec sections (pure).

Flags come from the container's command; the live prometheus.yml from the file its
``--config.file`` names (read through the mounts), else from Prometheus' own
``/api/v1/status/config``. What the spec cannot say is left out with a note.
"""

from __future__ import annotations

import posixpath
import re
from collections.abc import Mapping
from typing import Any

from beast_observatory.discover.mapping import (
    DURATION,
    ExportContext,
    Flags,
    flag_text,
    flag_value,
    glob_segments,
    parse_flags,
    sanitize_name,
)
from beast_observatory.spec.models import BCRYPT_RE
from beast_observatory.yamlio import YamlError, load_yaml

LABEL_NAME = re.compile(r"^[a-zA-Z_][a-zA-Z0-9_]*$")
BYTE_SIZE = re.compile(r"^\d+(B|KB|MB|GB|TB|PB|EB)$")
JOB_KEYS = {
    "job_name",
    "static_configs",
    "honor_labels",
    "metrics_path",
    "scheme",
    "scrape_interval",
    "scrape_timeout",
    "params",
}
GLOBAL_KEYS = {"scrape_interval", "scrape_timeout", "evaluation_interval", "external_labels"}
# Prometheus' own defaults, which a spec must write out (its defaults differ).
PROMETHEUS_GLOBAL_DEFAULTS = {"scrape_interval": "1m", "evaluation_interval": "1m"}


def extra_flags(flags: Flags, owned: set[str]) -> list[str]:
    return [flag_text(n, v) for n, v in flags if n not in owned]


def web_auth(
    ctx: ExportContext, container: Mapping[str, Any], path: str | None
) -> dict[str, str] | None:
    """The first basic-auth user of an exporter-toolkit web config (bcrypt hash kept)."""
    if path is None:
        return None
    text = ctx.config_text(container, path, "web config")
    try:
        doc = load_yaml(text, path) if text is not None else None
    except YamlError:
        doc = None
    users = (doc or {}).get("basic_auth_users") if isinstance(doc, dict) else None
    if isinstance(doc, dict) and set(doc) - {"basic_auth_users"}:
        ctx.note(
            f"{container['name']}: {path}: "
            "only basic_auth_users is carried over (not TLS or headers)"
        )
    if not isinstance(users, dict) or not users:
        ctx.note(f"{container['name']}: no basic-auth user in {path}: web_auth left out")
        return None
    user, digest = sorted(users.items())[0]
    if len(users) > 1:
        ctx.note(f"{container['name']}: {path} has {len(users)} users; the spec keeps one ({user})")
    if not BCRYPT_RE.match(str(digest)):
        ctx.note(
            f"{container['name']}: the password of {user} in {path} "
            "is not a bcrypt hash: web_auth left out"
        )
        return None
    return {"username": str(user), "password_hash": str(digest)}


def live_config(
    ctx: ExportContext, container: Mapping[str, Any], path: str
) -> dict[str, Any] | None:
    """The prometheus.yml Prometheus runs: the file, else what its API says it loaded."""
    text = ctx.config_text(container, path, "Prometheus config")
    source = path
    if text is None:
        answer = (ctx.inventory.get("apis") or {}).get(container["name"], {}).get(
            "/api/v1/status/config"
        ) or {}
        body = answer.get("body")
        data = body.get("data") if isinstance(body, dict) else None
        text = data.get("yaml") if isinstance(data, dict) else None
        source = "/api/v1/status/config"
        if text is not None:
            ctx.note(
                f"{container['name']}: prometheus.yml taken from the API "
                "(Prometheus' normalised form)"
            )
    if text is None:
        ctx.note(
            f"{container['name']}: no prometheus.yml could be read: "
            "global and scrape jobs are defaults"
        )
        return None
    try:
        doc = load_yaml(text, source)
    except YamlError as exc:
        ctx.note(f"{container['name']}: {source}: {exc.message}")
        return None
    return doc if isinstance(doc, dict) else None


def _rename_target(ctx: ExportContext, target: str) -> str:
    host, sep, port = target.rpartition(":")
    if sep and host in ctx.renames:
        ctx.note(
            f"target {target}: the spec names that service {ctx.renames[host]}: "
            f"{ctx.renames[host]}:{port}"
        )
        return f"{ctx.renames[host]}:{port}"
    return target


def _job_groups(
    ctx: ExportContext, job: Mapping[str, Any], name: str
) -> list[tuple[list[str], dict[str, str]]]:
    groups: list[tuple[list[str], dict[str, str]]] = []
    for group in job.get("static_configs") or []:
        targets = [_rename_target(ctx, str(t)) for t in group.get("targets") or []]
        labels = {str(k): str(v) for k, v in (group.get("labels") or {}).items()}
        for other in groups:
            if other[1] == labels:
                other[0].extend(targets)
                break
        else:
            groups.append((targets, labels))
    bad = [k for _, labels in groups for k in labels if not LABEL_NAME.match(k)]
    if bad:
        ctx.note(f"scrape job {name}: label names {bad} are not valid: left out")
    return [
        (t, {k: v for k, v in labels.items() if LABEL_NAME.match(k)}) for t, labels in groups if t
    ]


JOB_FIELDS = (
    "honor_labels",
    "metrics_path",
    "scheme",
    "scrape_interval",
    "scrape_timeout",
    "params",
)


def _jobs_of(ctx: ExportContext, raw: Mapping[str, Any]) -> list[dict[str, Any]]:
    """One live scrape config -> spec jobs (one per target group when their labels differ)."""
    name = str(raw.get("job_name"))
    dropped = sorted(set(raw) - JOB_KEYS)
    if dropped:
        ctx.note(f"scrape job {name}: {', '.join(dropped)} cannot be said in the spec: left out")
    groups = _job_groups(ctx, raw, name)
    if not groups:
        ctx.note(
            f"scrape job {name}: no static targets (service discovery is not in the spec): left out"
        )
        return []
    base: dict[str, Any] = {"name": sanitize_name(name)}
    base |= {key: raw[key] for key in JOB_FIELDS if key in raw}
    if base["name"] != name:
        ctx.note(f"scrape job {name!r} is named {base['name']!r} in the spec")
    if len(groups) == 1:
        targets, labels = groups[0]
        return [{**base, "targets": targets, **({"labels": labels} if labels else {})}]
    ctx.note(
        f"scrape job {name}: {len(groups)} target groups with different labels become "
        f'{len(groups)} jobs that keep job="{name}"'
    )
    return [
        {
            **base,
            "name": f"{base['name']}-{i + 1}",
            "targets": targets,
            "labels": {"job": name, **labels},
        }
        for i, (targets, labels) in enumerate(groups)
    ]


def scrape_jobs(ctx: ExportContext, config: Mapping[str, Any]) -> list[dict[str, Any]]:
    jobs = [
        job
        for raw in config.get("scrape_configs") or []
        if isinstance(raw, dict)
        for job in _jobs_of(ctx, raw)
    ]
    for job in jobs:
        pushgateway = "pushgateway:9091" in job["targets"] or "pushgateway" in job["name"]
        if pushgateway and not job.get("honor_labels"):
            job["honor_labels"] = True
            ctx.note(
                f"scrape job {job['name']}: honor_labels set to true "
                "(the spec requires it for the Pushgateway)"
            )
    return jobs


def global_section(ctx: ExportContext, config: Mapping[str, Any]) -> dict[str, Any]:
    raw = config.get("global") or {}
    out: dict[str, Any] = dict(PROMETHEUS_GLOBAL_DEFAULTS)
    for key in GLOBAL_KEYS:
        if key in raw:
            out[key] = raw[key]
    dropped = sorted(set(raw) - GLOBAL_KEYS)
    if dropped:
        ctx.note(f"prometheus.yml global: {', '.join(dropped)} left out (not in the spec)")
    for other in sorted(set(config) - {"global", "scrape_configs", "rule_files", "alerting"}):
        ctx.note(f"prometheus.yml: section {other} left out (not in the spec)")
    return out


def rule_files(
    ctx: ExportContext, container: Mapping[str, Any], config: Mapping[str, Any], config_path: str
) -> list[dict[str, str]]:
    """Every rule file prometheus.yml loads, written beside the spec as rules/<name>.yml."""
    files = ctx.config_files(container)
    out: list[dict[str, str]] = []
    for pattern in config.get("rule_files") or []:
        full = posixpath.normpath(posixpath.join(posixpath.dirname(config_path), str(pattern)))
        matched = sorted(p for p in files if glob_segments(full, p))
        if not matched:
            ctx.note(
                f"{container['name']}: rule files {pattern} matched no file the probe could read"
            )
        for path in matched:
            record = files[path]
            if record.get("content") is None:
                ctx.note(
                    f"{container['name']}: rule file {path} "
                    f"could not be read: {record.get('error')}"
                )
                continue
            stem = sanitize_name(posixpath.splitext(posixpath.basename(path))[0])
            written = ctx.add_file(f"rules/{stem}.yml", str(record["content"]))
            name = posixpath.splitext(posixpath.basename(written))[0]
            out.append({"name": name, "path": written})
    return out


def _retention(ctx: ExportContext, container: Mapping[str, Any], flags: Flags) -> dict[str, Any]:
    time_ = flag_value(flags, "storage.tsdb.retention.time", "storage.tsdb.retention")
    size = flag_value(flags, "storage.tsdb.retention.size")
    retention: dict[str, Any] = {}
    if time_ and DURATION.match(time_):
        retention["time"] = time_
    elif size:
        retention["time"] = None  # only a size limit: Prometheus then keeps no time limit
    if size and BYTE_SIZE.match(size):
        retention["size"] = size
    elif size:
        ctx.note(
            f"{container['name']}: retention size {size!r} "
            "is not in the spec's form (e.g. 20GB): left out"
        )
    return retention


PROMETHEUS_OWNED = {
    "config.file",
    "storage.tsdb.path",
    "web.listen-address",
    "storage.tsdb.retention.time",
    "storage.tsdb.retention",
    "storage.tsdb.retention.size",
    "web.config.file",
}


def prometheus_section(ctx: ExportContext, container: Mapping[str, Any]) -> dict[str, Any]:
    flags = parse_flags(container.get("cmd") or [])
    out: dict[str, Any] = {}
    if retention := _retention(ctx, container, flags):
        out["retention"] = retention
    if auth := web_auth(ctx, container, flag_value(flags, "web.config.file")):
        out["web_auth"] = auth
    if extra := extra_flags(flags, PROMETHEUS_OWNED):
        out["extra_flags"] = extra
    config_path = flag_value(flags, "config.file") or "/etc/prometheus/prometheus.yml"
    if not config_path.startswith("/"):
        config_path = posixpath.join("/prometheus", config_path)
    config = live_config(ctx, container, config_path)
    if config is None:
        return out
    out["global"] = global_section(ctx, config)
    jobs = scrape_jobs(ctx, config)
    out["scrape_jobs"] = jobs
    out["scrape_self"] = any(j["name"] == "prometheus" for j in jobs)
    if rules := rule_files(ctx, container, config, config_path):
        out["rule_files"] = rules
    return out


def pushgateway_section(ctx: ExportContext, container: Mapping[str, Any]) -> dict[str, Any]:
    flags = parse_flags(container.get("cmd") or [])
    out: dict[str, Any] = {}
    persistence_file = flag_value(flags, "persistence.file")
    interval = flag_value(flags, "persistence.interval")
    persistence: dict[str, Any] = {"enabled": bool(persistence_file)}
    if interval and DURATION.match(interval):
        persistence["interval"] = interval
    out["persistence"] = persistence
    if persistence_file and re.fullmatch(r"/pushgateway/[^/]+", persistence_file):
        persistence["file"] = persistence_file  # the same file: pushed metrics survive a takeover
    elif persistence_file:
        ctx.note(
            f"{container['name']}: the spec keeps Pushgateway's data under /pushgateway/ "
            f"(live: {persistence_file}); move the file there to keep the pushed metrics"
        )
    if flag_value(flags, "web.enable-admin-api") is not None:
        out["admin_api"] = flag_value(flags, "web.enable-admin-api") in ("", "true")
    owned = {"persistence.file", "persistence.interval", "web.enable-admin-api"}
    return _with_auth_and_flags(ctx, container, flags, owned, out)


def _with_auth_and_flags(
    ctx: ExportContext,
    container: Mapping[str, Any],
    flags: Flags,
    owned: set[str],
    out: dict[str, Any],
) -> dict[str, Any]:
    """Basic auth from the web config, and the flags the section does not map (extra_flags)."""
    auth = web_auth(ctx, container, flag_value(flags, "web.config.file"))
    if auth:
        out["web_auth"] = auth
    if extra := extra_flags(flags, owned | {"web.listen-address", "web.config.file"}):
        out["extra_flags"] = extra
    return out


def alertmanager_section(ctx: ExportContext, container: Mapping[str, Any]) -> dict[str, Any]:
    flags = parse_flags(container.get("cmd") or [])
    out: dict[str, Any] = {}
    path = flag_value(flags, "config.file") or "/etc/alertmanager/alertmanager.yml"
    text = ctx.config_text(container, path, "Alertmanager config")
    if text is not None:
        out["config_path"] = ctx.add_file("alertmanager/alertmanager.yml", text)
    if flag_value(flags, "cluster.listen-address") not in (None, ""):
        ctx.note(f"{container['name']}: clustering is on; the spec runs a single Alertmanager")
    owned = {"config.file", "storage.path", "cluster.listen-address"}
    return _with_auth_and_flags(ctx, container, flags, owned, out)


def node_exporter_section(ctx: ExportContext, container: Mapping[str, Any]) -> dict[str, Any]:
    flags = parse_flags(container.get("cmd") or [])
    ctx.note(f"{container['name']}: the spec runs node-exporter with pid: host and / at /host")
    extra = extra_flags(flags, {"path.rootfs", "web.listen-address"})
    return {"extra_flags": extra} if extra else {}
