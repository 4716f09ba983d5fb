"""Prometheus: prometheus.yml, rule files, other config files, the web config and the compose
service (pure). ``read.py`` beside this is the inverse."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from beast_observatory.bundle.bundle import key_ordered, yaml_file
from beast_observatory.kinds.entrypoint import runtime_entrypoint
from beast_observatory.kinds.model import ServiceBase
from beast_observatory.kinds.prometheus.model import DATA_DIR, Prometheus, ScrapeJob
from beast_observatory.kinds.prometheus.versions import (
    flags_for,
    prometheus_version,
    scrape_keys_for,
)
from beast_observatory.kinds.secretfiles import secret_mounts
from beast_observatory.kinds.service import KindParts
from beast_observatory.kinds.webauth import web_config, web_config_flag
from beast_observatory.names import HEADER
from beast_observatory.spec.resolve import Stack

FOLDER = "prometheus"
# Keys of rule groups and rules in the order promtool's and the docs' examples use.
RULE_KEY_ORDER = (
    "name",
    "interval",
    "limit",
    "query_offset",
    "record",
    "alert",
    "expr",
    "for",
    "keep_firing_for",
    "labels",
    "annotations",
    "rules",
)
# prometheus.yml's sections and a scrape config's keys in the documentation's order.
CONFIG_ORDER = (
    "global",
    "runtime",
    "alerting",
    "rule_files",
    "scrape_config_files",
    "scrape_configs",
    "remote_write",
    "remote_read",
    "storage",
    "tracing",
    "otlp",
)
GLOBAL_ORDER = ("scrape_interval", "scrape_timeout", "evaluation_interval", "external_labels")
JOB_ORDER = (
    "job_name",
    "honor_labels",
    "honor_timestamps",
    "scrape_interval",
    "scrape_timeout",
    "metrics_path",
    "scheme",
    "params",
    "basic_auth",
    "authorization",
    "oauth2",
    "tls_config",
    "static_configs",
    "relabel_configs",
    "metric_relabel_configs",
)


def _target(stack: Stack, key: str) -> str:
    return f"{stack.service_name(key)}:{stack.kind(key).container_port}"


def auto_scrape_jobs(stack: Stack) -> list[ScrapeJob]:
    """Jobs the stack scrapes by itself: its own services, by compose service name."""
    s = stack.services
    p = s.prometheus
    jobs = []
    # A service behind basic auth is not scraped: prometheus.yml would need its password.
    if p.scrape_self and p.web_auth is None:
        jobs.append(ScrapeJob(name="prometheus", targets=[f"localhost:{p.container_port}"]))
    if not p.scrape_stack:
        return jobs
    if s.pushgateway.enabled and s.pushgateway.web_auth is None:
        # Pushed series carry their own job/instance labels: keep them (honor_labels).
        jobs.append(
            ScrapeJob(
                name="pushgateway", targets=[_target(stack, "pushgateway")], honor_labels=True
            )
        )
    if s.alertmanager.enabled and s.alertmanager.web_auth is None:
        jobs.append(ScrapeJob(name="alertmanager", targets=[_target(stack, "alertmanager")]))
    if s.node_exporter.enabled:
        jobs.append(ScrapeJob(name="node", targets=[_target(stack, "node_exporter")]))
    if s.grafana.enabled:
        jobs.append(ScrapeJob(name="grafana", targets=[_target(stack, "grafana")]))
    return jobs


def scrape_jobs(stack: Stack) -> list[ScrapeJob]:
    """Automatic jobs first, then the spec's; a spec job replaces the automatic one of its name."""
    own = {job.name for job in stack.services.prometheus.scrape_jobs}
    return [j for j in auto_scrape_jobs(stack) if j.name not in own] + list(
        stack.services.prometheus.scrape_jobs
    )


def _static_configs(job: ScrapeJob) -> list[dict[str, Any]]:
    groups = []
    for group in job.target_groups():
        static: dict[str, Any] = {"targets": list(group.targets)}
        if group.labels:
            static["labels"] = dict(sorted(group.labels.items()))
        static.update(key_ordered(group.extras()))
        groups.append(static)
    return groups


def scrape_config(job: ScrapeJob) -> dict[str, Any]:
    """A spec job as prometheus.yml writes it."""
    out: dict[str, Any] = {"job_name": job.name}
    if job.honor_labels:
        out["honor_labels"] = True
    if job.scrape_interval:
        out["scrape_interval"] = job.scrape_interval
    if job.scrape_timeout:
        out["scrape_timeout"] = job.scrape_timeout
    if job.metrics_path != "/metrics":
        out["metrics_path"] = job.metrics_path
    if job.scheme != "http":
        out["scheme"] = job.scheme
    if job.params:
        out["params"] = {k: list(v) for k, v in sorted(job.params.items())}
    if groups := _static_configs(job):
        out["static_configs"] = groups
    if job.relabel_configs:
        out["relabel_configs"] = key_ordered(job.relabel_configs)
    if job.metric_relabel_configs:
        out["metric_relabel_configs"] = key_ordered(job.metric_relabel_configs)
    out.update(key_ordered(job.extras()))
    return _in_order(out, JOB_ORDER)


def _in_order(value: dict[str, Any], order: tuple[str, ...]) -> dict[str, Any]:
    keys = [k for k in order if k in value] + sorted(k for k in value if k not in order)
    return {k: value[k] for k in keys}


def auto_alerting(stack: Stack) -> dict[str, Any] | None:
    p, am = stack.services.prometheus, stack.services.alertmanager
    if p.alerting is not None:
        if not p.alerting.alertmanagers and not p.alerting.alert_relabel_configs:
            return None  # alerting off, as Prometheus reads a file without the section
        alerting: dict[str, Any] = {"alertmanagers": key_ordered(p.alerting.alertmanagers)}
        if p.alerting.alert_relabel_configs:
            alerting["alert_relabel_configs"] = key_ordered(p.alerting.alert_relabel_configs)
        return alerting
    if am.enabled:
        targets = [_target(stack, "alertmanager")]
        return {"alertmanagers": [{"static_configs": [{"targets": targets}]}]}
    return None


def global_config(p: Prometheus) -> dict[str, Any]:
    g = p.global_
    out: dict[str, Any] = {"scrape_interval": g.scrape_interval}
    if g.scrape_timeout:
        out["scrape_timeout"] = g.scrape_timeout
    out["evaluation_interval"] = g.evaluation_interval
    if g.external_labels:
        out["external_labels"] = dict(sorted(g.external_labels.items()))
    out.update(key_ordered(g.extras()))
    return _in_order(out, GLOBAL_ORDER)


def prometheus_config(stack: Stack) -> dict[str, Any]:
    p = stack.services.prometheus
    config: dict[str, Any] = {"global": global_config(p)}
    if (alerting := auto_alerting(stack)) is not None:
        config["alerting"] = alerting
    if p.rule_files:
        config["rule_files"] = [f"{p.config_dir}/rules/*.yml"]
    if p.scrape_config_files:
        config["scrape_config_files"] = list(p.scrape_config_files)
    version = prometheus_version(p)
    config["scrape_configs"] = [
        scrape_keys_for(scrape_config(job), version) for job in scrape_jobs(stack)
    ]
    for key in ("remote_write", "remote_read"):
        if value := getattr(p, key):
            config[key] = key_ordered(value)
    for key in ("storage", "tracing", "otlp", "runtime"):
        if (value := getattr(p, key)) is not None:
            config[key] = key_ordered(value)
    return _in_order(config, CONFIG_ORDER)


def data_dir(svc: ServiceBase) -> str:
    return svc.data.target if svc.data is not None and svc.data.target else DATA_DIR


def prometheus_flags(stack: Stack) -> list[str]:
    p = stack.services.prometheus
    # Replacing the image's CMD drops its defaults, so config and storage paths are repeated.
    flags = [
        f"--config.file={p.config_dir}/prometheus.yml",
        f"--storage.tsdb.path={data_dir(p)}",
        f"--web.listen-address=:{p.container_port}",
    ]
    if p.retention.time:
        flags.append(f"--storage.tsdb.retention.time={p.retention.time}")
    if p.retention.size:
        flags.append(f"--storage.tsdb.retention.size={p.retention.size}")
    flags += web_config_flag(p.web_auth, p.config_dir)
    # extra_flags as the image's release reads them (kinds/prometheus/versions.py).
    return flags + flags_for(p)[0]


def route_prefix(flags: list[str]) -> str:
    """The path Prometheus serves under (--web.route-prefix, else --web.external-url's path)."""
    values: dict[str, str] = {}
    for arg in flags:
        name, _, value = arg.partition("=")
        values[name.lstrip("-")] = value
    prefix = values.get("web.route-prefix")
    if prefix is None and values.get("web.external-url"):
        rest = values["web.external-url"].split("://", 1)[-1]
        prefix = "/" + rest.split("/", 1)[1] if "/" in rest else ""
    return (prefix or "").rstrip("/")


def render_files(stack: Stack, assets: Mapping[str, bytes]) -> dict[str, bytes]:
    """Files under prometheus/ (mounted as a directory at config_dir)."""
    p = stack.services.prometheus
    files = {f"{FOLDER}/prometheus.yml": yaml_file(prometheus_config(stack), HEADER)}
    for rule in p.rule_files:
        target = f"{FOLDER}/rules/{rule.name}.yml"
        if rule.path is not None:
            files[target] = assets[rule.path]
        else:
            files[target] = yaml_file({"groups": key_ordered(rule.groups, RULE_KEY_ORDER)}, HEADER)
    for relative, source in sorted(p.files.items()):
        files[f"{FOLDER}/{relative}"] = assets[source]
    if p.web_auth and (web := web_config(p.web_auth)):
        files[f"{FOLDER}/web.yml"] = web
    return files


def compose_parts(stack: Stack) -> KindParts:
    p = stack.services.prometheus
    flags = prometheus_flags(stack)
    extra, env = runtime_entrypoint("prometheus", p.web_auth, p.secrets)
    return KindParts(
        command=flags,
        ready_path=f"{route_prefix(flags)}/-/ready",
        config_mount=(FOLDER, p.config_dir),
        data_dir=DATA_DIR,
        behind_auth=p.web_auth is not None,
        environment=env,
        extra=extra,
        mounts=secret_mounts(p.secrets),
    )
