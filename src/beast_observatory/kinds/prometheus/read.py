"""A running Prometheus read back as its spec section (pure): the inverse of ``render.py``.

Flags come from the container's command; prometheus.yml from the file its ``--config.file``
names, as the container sees it (copied out of it by the probe: mounted, baked into the
image or edited inside it), else from Prometheus' own ``/api/v1/status/config``.
"""

from __future__ import annotations

import posixpath
import re
from typing import Any

from pydantic import ValidationError

from beast_observatory.discover.context import (
    ExportContext,
    Flags,
    env_mapping,
    flag_value,
    glob_segments,
    other_flags,
    parse_flags,
    sanitize_name,
)
from beast_observatory.host.probe.inventory import Container
from beast_observatory.kinds.prometheus.model import CONFIG_DIR, DATA_DIR
from beast_observatory.kinds.prometheus.rule_tests import (
    TESTS,
    parse_test_file,
    test_file_document,
)
from beast_observatory.kinds.read import KindFacts
from beast_observatory.kinds.secretfiles import carry, runtime_secrets
from beast_observatory.kinds.webauth import read_web_auth as web_auth
from beast_observatory.yamlio import YamlError, dump_yaml, load_yaml

DURATION = re.compile(r"^(\d+y)?(\d+w)?(\d+d)?(\d+h)?(\d+m)?(\d+s)?(\d+ms)?$")
BYTE_SIZE = re.compile(r"^\d+(B|KB|MB|GB|TB|PB|EB)$")
# Prometheus' own defaults, which a spec writes out (the spec's defaults differ).
PROMETHEUS_DEFAULTS = {"scrape_interval": "1m", "evaluation_interval": "1m"}
OWNED_FLAGS = {
    "config.file",
    "storage.tsdb.path",
    "web.listen-address",
    "storage.tsdb.retention.time",
    "storage.tsdb.retention",
    "storage.tsdb.retention.size",
    "web.config.file",
}
SECTIONS = ("remote_write", "remote_read")
BLOCKS = ("storage", "tracing", "otlp", "runtime")


def listen_port(flags: Flags, default: int) -> int:
    address = flag_value(flags, "web.listen-address") or ""
    port = address.rsplit(":", 1)[-1]
    return int(port) if port.isdigit() else default


def config_path(flags: Flags) -> str:
    path = flag_value(flags, "config.file") or f"{CONFIG_DIR}/prometheus.yml"
    return path if path.startswith("/") else posixpath.join("/prometheus", path)


def data_dir(flags: Flags) -> str:
    path = flag_value(flags, "storage.tsdb.path") or DATA_DIR
    return path if path.startswith("/") else posixpath.join("/prometheus", path)


def facts(c: Container) -> KindFacts:
    flags = parse_flags(c.cmd)
    return KindFacts(
        key="prometheus",
        default_name="prometheus",
        container_port=listen_port(flags, 9090),
        data_dir=data_dir(flags),
        default_data_dir=DATA_DIR,
        consumed=(posixpath.dirname(config_path(flags)),),
    )


def live_config(ctx: ExportContext, c: Container, path: str) -> dict[str, Any] | None:
    """The prometheus.yml Prometheus runs: the file, else what its API says it loaded."""
    record = ctx.files_of(c).get(path)
    text, source = (record.content if record else None), path
    if text is None:
        answer = ctx.inventory.api(c, "/api/v1/status/config")
        body = answer.body if answer else None
        data = body.get("data") if isinstance(body, dict) else None
        text = data.get("yaml") if isinstance(data, dict) else None
        source = "/api/v1/status/config"
        if text is not None:
            ctx.note(f"{c.name}: prometheus.yml taken from the API (Prometheus' normalised form)")
    if text is None:
        ctx.note(f"{c.name}: no prometheus.yml could be read: global and jobs are defaults")
        return None
    try:
        doc = load_yaml(text, source)
    except YamlError as exc:
        ctx.note(f"{c.name}: {source}: {exc.message}")
        return None
    return doc if isinstance(doc, dict) else None


def job_section(raw: dict[str, Any]) -> dict[str, Any]:
    """A scrape_config as the spec writes it: job_name as name, one static group in short form."""
    job = dict(raw)
    out: dict[str, Any] = {"name": str(job.pop("job_name", ""))}
    groups = job.pop("static_configs", None) or []
    if groups and isinstance(groups[0], dict):
        first = dict(groups[0])
        if first.get("targets"):
            out["targets"] = [str(t) for t in first.pop("targets")]
        if first.get("labels"):
            out["labels"] = {str(k): str(v) for k, v in first.pop("labels").items()}
        rest = groups[1:]
        if first:  # a key the short form cannot hold: keep the group whole
            out.pop("targets", None)
            out.pop("labels", None)
            rest = groups
        if rest:
            out["static_configs"] = rest
    out.update(job)
    return out


def global_section(config: dict[str, Any]) -> dict[str, Any]:
    return {**PROMETHEUS_DEFAULTS, **dict(config.get("global") or {})}


def rule_files(
    ctx: ExportContext,
    c: Container,
    config: dict[str, Any],
    config_file: str,
    written_as: dict[str, str] | None = None,
) -> list[dict[str, str]]:
    """Every rule file prometheus.yml loads, written beside the spec as rules/<name>.yml
    (``written_as``: the path beside the spec of each, by its path in the container)."""
    files = ctx.files_of(c)
    written_as = {} if written_as is None else written_as
    out: list[dict[str, str]] = []
    for pattern in config.get("rule_files") or []:
        full = posixpath.normpath(posixpath.join(posixpath.dirname(config_file), str(pattern)))
        matched = sorted(p for p in files if glob_segments(full, p))
        if not matched:
            ctx.note(f"{c.name}: rule files {pattern} matched no file the probe could read")
        for path in matched:
            record = files[path]
            if record.content is None:
                ctx.note(f"{c.name}: rule file {path} could not be read: {record.error}")
                continue
            stem = sanitize_name(posixpath.splitext(posixpath.basename(path))[0])
            written = ctx.add_file(f"rules/{posixpath.basename(path)}", record.content)
            written_as[path] = written
            out.append({"name": stem, "path": written})
    names: dict[str, int] = {}
    for rule in out:  # two files of one stem (a.rules, a.yml) keep both
        n = names[rule["name"]] = names.get(rule["name"], 0) + 1
        if n > 1:
            rule["name"] = f"{rule['name']}-{n}"
    return out


def rule_tests(
    ctx: ExportContext, c: Container, config_dir: str, written_as: dict[str, str]
) -> tuple[list[dict[str, str]], set[str]]:
    """The promtool test files in the config folder's tests/ whose rule_files are rule files
    Prometheus loads (those the tool renders), written beside the spec as tests/<name>.yml
    naming the rule files written there; and their paths in the container. Anything else
    there stays a file of the config folder."""
    folder = f"{config_dir}/{TESTS}/"
    out, used = [], set()
    for path, record in sorted(ctx.files_of(c).items()):
        rel = path.removeprefix(folder)
        if rel == path or "/" in rel or not rel.endswith(".yml") or record.content is None:
            continue
        try:
            content = parse_test_file(record.content.encode(), path)
        except (YamlError, ValidationError):
            continue
        live = [posixpath.normpath(posixpath.join(folder, e)) for e in content.rule_files]
        if not live or not all(p in written_as for p in live):
            continue
        target = f"{TESTS}/{rel}"
        entries = [posixpath.relpath(written_as[p], TESTS) for p in live]
        text = dump_yaml(test_file_document(content, entries))
        written = ctx.add_file(target, text)
        out.append({"name": sanitize_name(rel.removesuffix(".yml")), "path": written})
        used.add(path)
    return out, used


def other_files(
    ctx: ExportContext, c: Container, config_dir: str, used: set[str]
) -> dict[str, str]:
    """Files in the config directory besides prometheus.yml and the rules (file_sd targets,
    scrape config files), shipped with the release at the same place."""
    out = {}
    for path, record in sorted(ctx.files_of(c).items()):
        if not path.startswith(config_dir + "/") or path in used:
            continue
        relative = path[len(config_dir) + 1 :]
        if relative in ("web.yml",) or record.content is None:
            if record.content is None:
                ctx.note(f"{c.name}: {path} could not be read ({record.error}): not carried over")
            continue
        out[relative] = ctx.add_file(f"prometheus/{relative}", record.content)
    return out


def _retention(ctx: ExportContext, c: Container, flags: Flags) -> dict[str, Any]:
    time_ = flag_value(flags, "storage.tsdb.retention.time", "storage.tsdb.retention")
    size = flag_value(flags, "storage.tsdb.retention.size")
    out: dict[str, Any] = {"time": time_ if time_ and DURATION.match(time_) else None}
    if time_ is None and size is None:
        out["time"] = "15d"  # Prometheus' default
    if size and BYTE_SIZE.match(size):
        out["size"] = size
    elif size:
        ctx.note(f"{c.name}: retention size {size!r} is not in the spec's form (e.g. 20GB)")
    return out


def _config_sections(
    ctx: ExportContext,
    c: Container,
    config: dict[str, Any],
    config_file: str,
    out: dict[str, Any],
    written_as: dict[str, str],
) -> dict[str, Any]:
    """The loaded config's sections into ``out``; returns the config with secrets carried
    (``written_as``: where each rule file is written beside the spec, by its live path)."""
    secrets: dict[str, str] = {}
    config = carry(config, secrets, "PROMETHEUS")
    written = env_mapping((ctx.fragment(c) or {}).get("environment"))
    secrets.update(runtime_secrets(c.entrypoint, written))  # written at start from .env
    if secrets:
        out["secrets"] = {
            n: {"env": ctx.secret_env(v, f"prometheus.yml: {n}")[2:-1]} for n, v in secrets.items()
        }
    out["global"] = global_section(config)
    out["scrape_jobs"] = [
        job_section(raw) for raw in config.get("scrape_configs") or [] if isinstance(raw, dict)
    ]
    alerting = config.get("alerting") or {}
    out["alerting"] = {
        "alertmanagers": list(alerting.get("alertmanagers") or []),
        "alert_relabel_configs": list(alerting.get("alert_relabel_configs") or []),
    }
    rules = rule_files(ctx, c, config, config_file, written_as)
    if rules:
        out["rule_files"] = rules
    for key in SECTIONS:
        if config.get(key):
            out[key] = list(config[key])
    for key in BLOCKS:
        if config.get(key) is not None:
            out[key] = config[key]
    if config.get("scrape_config_files"):
        out["scrape_config_files"] = list(config["scrape_config_files"])
    return config


def read_prometheus(ctx: ExportContext, c: Container) -> dict[str, Any]:
    flags = parse_flags(c.cmd)
    config_file = config_path(flags)
    config_dir = posixpath.dirname(config_file)
    out: dict[str, Any] = {
        "retention": _retention(ctx, c, flags),
        "scrape_self": False,
        "scrape_stack": False,
    }
    if config_dir != CONFIG_DIR:
        out["config_dir"] = config_dir
    if posixpath.basename(config_file) != "prometheus.yml":
        ctx.note(f"{c.name}: its config file {config_file} is rendered as prometheus.yml")
    web_path = flag_value(flags, "web.config.file")
    if auth := web_auth(ctx, c, web_path):
        out["web_auth"] = auth
    if extra := other_flags(flags, OWNED_FLAGS):
        out["extra_flags"] = extra
    config = live_config(ctx, c, config_file)
    if config is None:
        return out
    written_as: dict[str, str] = {}
    config = _config_sections(ctx, c, config, config_file, out, written_as)
    tests, test_sources = rule_tests(ctx, c, config_dir, written_as)
    if tests:
        out["rule_tests"] = tests
    rule_sources = {
        p
        for pattern in config.get("rule_files") or []
        for p in ctx.files_of(c)
        if glob_segments(posixpath.normpath(posixpath.join(config_dir, str(pattern))), p)
    }
    used = {config_file, *rule_sources, *test_sources}
    if web_path:
        used.add(web_path)
    if files := other_files(ctx, c, config_dir, used):
        out["files"] = files
    return out
