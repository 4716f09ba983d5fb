"""The probe's output -> the inventory of docs/ARCHITECTURE.md (pure: values in, values out).

The probe (``probe.sh``) prints one JSON record per line; strings that may hold any byte come
base64- (or hex-) encoded in fields ending in ``_b``. This module decodes them and assembles the
inventory: sorted where order means nothing, so two probes of an unchanged host give the same
``inventory.json``. A line that is not JSON, or output that stops before the end record, is
recorded in ``problems``; everything read before it is kept.
"""

from __future__ import annotations

import base64
import binascii
import json
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

PROBE_VERSION = 1
REDACTED = re.compile(r"^<redacted(?: sha256:([0-9a-f]{12}))?>$")
# Mirrors secret_name() in probe.sh: the host decides what to redact, this decides what to
# call a secret when exporting (tests/discover/test_redaction.py keeps the two in step).
_SECRET = re.compile(r"(PASSWORD|PASSWD|SECRET|TOKEN|KEY|CREDENTIAL|PRIVATE)")
_ALWAYS_SECRET = re.compile(r"(WEBHOOK_URL|API_URL)$")
_NOT_SECRET = re.compile(
    r"(FILE|PATH|DIR|_URL|_NAME|_USER|_MINUTES|_SECONDS|_DAYS|_INTERVAL|_ENABLED|_TTL|_LENGTH|_HEADER|_TYPE)$"
)
_NS_PER_S = 1_000_000_000

Inventory = dict[str, Any]
FileRecord = dict[str, Any]


def is_secret_name(name: str) -> bool:
    """Whether the probe redacts a variable, label, flag or config key of this name."""
    upper = name.upper()
    if _ALWAYS_SECRET.search(upper):
        return True
    if _NOT_SECRET.search(upper):
        return False
    return bool(_SECRET.search(upper))


def is_redacted(value: object) -> bool:
    return isinstance(value, str) and bool(REDACTED.match(value))


def service_kind(image: str, entrypoint: Iterable[str] = ()) -> str | None:
    """prometheus, pushgateway, grafana, alertmanager or node_exporter; None for anything
    else. By the image's repository name or the entrypoint's program, as probe.sh decides."""
    base = image.split("@", 1)[0].rsplit("/", 1)[-1].split(":", 1)[0].lower()
    args = list(entrypoint)
    prog = args[0].rsplit("/", 1)[-1].lower() if args else ""
    if base.endswith("pushgateway") or prog.endswith("pushgateway"):
        return "pushgateway"
    if base.endswith("alertmanager") or prog.endswith("alertmanager"):
        return "alertmanager"
    if re.search(r"node[-_]exporter$", base) or re.search(r"node[-_]exporter$", prog):
        return "node_exporter"
    if re.fullmatch(r"grafana(-oss|-enterprise|-standin)?", base) or re.fullmatch(
        r"grafana(-server)?", prog
    ):
        return "grafana"
    if "prometheus" in (base, prog):
        return "prometheus"
    return None


def duration(ns: object) -> str | None:
    """Docker's nanoseconds as a Prometheus/compose duration (90s -> 1m30s); None for 0."""
    if not isinstance(ns, int) or ns <= 0:
        return None
    seconds, rest = divmod(ns, _NS_PER_S)
    if rest:
        return f"{ns // 1_000_000}ms"
    out = ""
    for unit, size in (("h", 3600), ("m", 60), ("s", 1)):
        count, seconds = divmod(seconds, size)
        out += f"{count}{unit}" if count else ""
    return out


@dataclass
class _Decoder:
    encoding: str = "base64"

    def raw(self, value: object) -> bytes | None:
        if not isinstance(value, str):
            return None
        try:
            return (
                bytes.fromhex(value)
                if self.encoding == "hex"
                else base64.b64decode(value, validate=True)
            )
        except (ValueError, binascii.Error):
            return None

    def text(self, value: object) -> str | None:
        data = self.raw(value)
        return None if data is None else data.decode("utf-8", "replace")


@dataclass
class _Parts:
    """Records gathered from the probe's lines, before assembly."""

    meta: dict[str, Any] = field(default_factory=dict)
    host: dict[str, Any] = field(default_factory=dict)
    docker: dict[str, Any] = field(default_factory=dict)
    containers: dict[str, dict[str, Any]] = field(default_factory=dict)
    details: dict[str, list[dict[str, Any]]] = field(default_factory=dict)
    images: dict[str, dict[str, Any]] = field(default_factory=dict)
    volumes: list[dict[str, Any]] = field(default_factory=list)
    networks: list[dict[str, Any]] = field(default_factory=list)
    projects: list[dict[str, Any]] = field(default_factory=list)
    files: list[dict[str, Any]] = field(default_factory=list)
    dirs: list[dict[str, Any]] = field(default_factory=list)
    apis: list[dict[str, Any]] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)
    ended: bool = False


def _add(parts: _Parts, kind: object, record: dict[str, Any]) -> bool:
    """File one record where it belongs; False for a kind this parser does not know."""
    simple: dict[object, list[dict[str, Any]]] = {
        "volume": parts.volumes,
        "network": parts.networks,
        "project": parts.projects,
        "file": parts.files,
        "dir": parts.dirs,
        "api": parts.apis,
    }
    if kind in ("meta", "host", "docker"):
        setattr(parts, str(kind), {**getattr(parts, str(kind)), **record})
    elif kind == "compose":  # the compose versions come last: asked in the background
        parts.docker.update(
            compose_plugin_b=record.get("plugin_b"), compose_standalone_b=record.get("standalone_b")
        )
    elif kind == "container":
        parts.containers[str(record.get("id"))] = record
    elif kind in ("arg", "env", "label", "net"):
        parts.details.setdefault(str(record.get("c")), []).append(record)
    elif kind == "image":
        parts.images[str(record.get("id"))] = record
    elif kind in simple:
        simple[kind].append(record)
    elif kind == "problem":
        decoder = _Decoder(parts.meta.get("encoding", "base64"))
        parts.problems.append(decoder.text(record.get("msg_b")) or "?")
    elif kind == "end":
        parts.ended = True
    else:
        return False
    return True


def _collect(lines: Iterable[str], problems: list[str]) -> _Parts:
    parts = _Parts(problems=problems)
    for number, line in enumerate(lines, 1):
        if not line.strip():
            continue
        try:
            record = json.loads(line)
        except ValueError:
            problems.append(f"probe output line {number} is not JSON: {line[:120]!r}")
            continue
        kind = record.get("k") if isinstance(record, dict) else None
        if not _add(parts, kind, record if isinstance(record, dict) else {}):
            problems.append(f"probe output line {number}: unknown record {kind!r}")
    return parts


def _split_pair(value: str) -> tuple[str, str]:
    name, _, rest = value.partition("=")
    return name, rest


def _ports(record: Mapping[str, Any]) -> dict[str, list[dict[str, str]]]:
    """Published ports: what the running container got, else what it asks for."""
    live = record.get("ports") or {}
    configured = record.get("port_bindings") or {}
    out: dict[str, list[dict[str, str]]] = {}
    for port in sorted(set(live) | set(configured)):
        binds = live.get(port) or configured.get(port) or []
        rows = {
            (str(b.get("HostIp") or ""), str(b.get("HostPort") or ""))
            for b in binds
            if isinstance(b, dict)
        }
        if rows:
            out[port] = [{"host_ip": ip, "host_port": hp} for ip, hp in sorted(rows)]
    return out


def _healthcheck(raw: object, test: list[str]) -> dict[str, Any] | None:
    """The healthcheck; its test command comes one argument per record (redacted on the host
    like any argument), or inside the record from an older probe."""
    if not isinstance(raw, dict):
        return None
    test = test or list(raw.get("Test") or [])
    if not test:
        return None
    return {
        "test": test,
        "interval": duration(raw.get("Interval")),
        "timeout": duration(raw.get("Timeout")),
        "start_period": duration(raw.get("StartPeriod")),
        "retries": raw.get("Retries") or None,
    }


def _mount(raw: Mapping[str, Any]) -> dict[str, Any]:
    return {
        "type": str(raw.get("Type") or ""),
        "source": str(raw.get("Source") or ""),
        "destination": str(raw.get("Destination") or ""),
        "rw": bool(raw.get("RW")),
        "name": raw.get("Name") or None,
    }


def _container(
    record: Mapping[str, Any], details: list[dict[str, Any]], images: Mapping[str, Any]
) -> dict[str, Any]:
    args: dict[str, list[tuple[int, str]]] = {"cmd": [], "entrypoint": [], "healthcheck": []}
    env: dict[str, str] = {}
    labels: dict[str, str] = {}
    networks: set[str] = set()
    for d in details:
        value = str(d.get("v", ""))
        if d.get("k") == "arg" and d.get("f") in args:
            args[str(d["f"])].append((int(d.get("i") or 0), value))
        elif d.get("k") == "env":
            name, rest = _split_pair(value)
            env[name] = rest
        elif d.get("k") == "label":
            name, rest = _split_pair(value)
            labels[name] = rest
        elif d.get("k") == "net":
            networks.add(value)
    state = record.get("state") or {}
    image_id = str(record.get("image_id") or "")
    return {
        "id": str(record.get("id") or ""),
        "name": str(record.get("name") or "").lstrip("/"),
        "image": str(record.get("image") or ""),
        "image_id": image_id,
        "repo_digests": sorted((images.get(image_id) or {}).get("repo_digests") or []),
        "cmd": [v for _, v in sorted(args["cmd"])],
        "entrypoint": [v for _, v in sorted(args["entrypoint"])],
        "env": dict(sorted(env.items())),
        "labels": dict(sorted(labels.items())),
        "mounts": sorted(
            (_mount(m) for m in record.get("mounts") or []),
            key=lambda m: (m["destination"], m["source"]),
        ),
        "ports": _ports(record),
        "networks": sorted(networks),
        "restart_policy": str(record.get("restart_policy") or "no"),
        "healthcheck": _healthcheck(
            record.get("healthcheck"), [v for _, v in sorted(args["healthcheck"])]
        ),
        "user": str(record.get("user") or ""),
        "state": {
            "status": state.get("status"),
            "health": state.get("health"),
            "started_at": state.get("started_at"),
            "pid": state.get("pid"),
            "exit_code": state.get("exit_code"),
        },
    }


def _file_record(record: Mapping[str, Any], dec: _Decoder) -> FileRecord:
    error = dec.text(record.get("error_b"))
    content: str | None = None
    raw = dec.raw(record.get("content_b"))
    if raw is not None:
        try:
            content = raw.decode("utf-8")
        except UnicodeDecodeError as exc:
            error = f"not UTF-8 text (invalid byte at offset {exc.start}): content not kept"
    return {
        "host_path": dec.text(record.get("host_path_b")) or "",
        "sha256": record.get("sha256"),
        "size": record.get("size"),
        "content": content,
        "error": error,
    }


def _api_body(raw: bytes | None) -> Any:
    if raw is None:
        return None
    text = raw.decode("utf-8", "replace")
    try:
        return json.loads(text)
    except ValueError:
        return text


def _apis(parts: _Parts, dec: _Decoder) -> dict[str, dict[str, dict[str, Any]]]:
    out: dict[str, dict[str, dict[str, Any]]] = {}
    for rec in parts.apis:
        owner = dec.text(rec.get("owner_b")) or "?"
        path = str(rec.get("path") or "")
        status = int(rec.get("status") or 0)
        out.setdefault(owner, {})[path] = {
            "status": status,
            "body": _api_body(dec.raw(rec.get("body_b"))),
        }
        error = dec.text(rec.get("error_b"))
        if rec.get("too_large"):
            parts.problems.append(f"{owner}: {path}: the answer was too large to keep")
        elif status == 0:
            parts.problems.append(f"{owner}: {path} did not answer ({error or 'no answer'})")
        elif status >= 400:  # noqa: PLR2004 - HTTP client and server errors
            parts.problems.append(f"{owner}: {path} answered HTTP {status}")
    return {k: dict(sorted(v.items())) for k, v in sorted(out.items())}


def _projects(
    parts: _Parts, dec: _Decoder, files: Mapping[str, dict[str, FileRecord]]
) -> list[dict[str, Any]]:
    merged: dict[str, dict[str, Any]] = {}
    for rec in parts.projects:
        name = dec.text(rec.get("name_b")) or ""
        entry = merged.setdefault(
            name, {"name": name, "working_dir": None, "config_files": [], "files": {}}
        )
        entry["working_dir"] = entry["working_dir"] or dec.text(rec.get("working_dir_b"))
        for path in (dec.text(rec.get("config_files_b")) or "").split(","):
            if path and path not in entry["config_files"]:
                entry["config_files"].append(path)
    for name, entry in merged.items():
        entry["files"] = dict(sorted(files.get(name, {}).items()))
    return [merged[k] for k in sorted(merged)]


def _files_by(parts: _Parts, dec: _Decoder, scope: str) -> dict[str, dict[str, FileRecord]]:
    out: dict[str, dict[str, FileRecord]] = {}
    for rec in parts.files:
        if rec.get("scope") != scope:
            continue
        owner = dec.text(rec.get("owner_b")) or ""
        path = dec.text(rec.get("path_b")) or ""
        out.setdefault(owner, {})[path] = _file_record(rec, dec)
    return out


def _docker(parts: _Parts, dec: _Decoder) -> dict[str, Any]:
    d = parts.docker
    available = bool(d.get("available"))
    error = dec.text(d.get("error_b"))
    if not d:
        error = "the probe did not report on Docker"
    if not available:
        parts.problems.append(f"Docker is not available: {error}")
    return {
        "available": available,
        "server_version": dec.text(d.get("server_version_b")),
        "compose_plugin": dec.text(d.get("compose_plugin_b")),
        "compose_standalone": dec.text(d.get("compose_standalone_b")),
        "error": error,
    }


def _named(records: list[dict[str, Any]], extra: str) -> list[dict[str, Any]]:
    out = {
        str(r.get("name")): {
            "name": str(r.get("name")),
            "driver": r.get("driver"),
            "labels": dict(sorted((r.get("labels") or {}).items())),
            extra: r.get(extra),
        }
        for r in records
    }
    return [out[k] for k in sorted(out)]


def parse_probe_output(stdout: str, stderr: str = "", exit_code: int = 0) -> Inventory:
    """The inventory described in docs/ARCHITECTURE.md, from what the probe printed."""
    problems: list[str] = []
    parts = _collect(stdout.splitlines(), problems)
    dec = _Decoder(str(parts.meta.get("encoding") or "base64"))
    if not parts.meta:
        problems.append("the probe printed no header: it did not run (see its stderr below)")
    elif parts.meta.get("probe_version") != PROBE_VERSION:
        problems.append(f"probe version {parts.meta.get('probe_version')} is not {PROBE_VERSION}")
    if not parts.ended:
        problems.append(
            f"the probe's output ended early (exit code {exit_code}): "
            "what follows may be incomplete"
        )
    if stderr.strip() and (exit_code != 0 or not parts.ended):
        problems.append(f"probe stderr: {stderr.strip()[-500:]}")
    containers = [
        _container(rec, parts.details.get(cid, []), parts.images)
        for cid, rec in parts.containers.items()
    ]
    project_files = _files_by(parts, dec, "project")
    dirs: dict[str, dict[str, FileRecord]] = {
        dec.text(r.get("path_b")) or "": {} for r in parts.dirs
    }
    for owner, records in _files_by(parts, dec, "dir").items():
        dirs.setdefault(owner, {}).update(records)
    inventory: Inventory = {
        "probe_version": parts.meta.get("probe_version", PROBE_VERSION),
        "host": {
            "hostname": dec.text(parts.host.get("hostname_b")) or "",
            "kernel": dec.text(parts.host.get("kernel_b")) or "",
        },
        "docker": _docker(parts, dec),
        "containers": sorted(containers, key=lambda c: (c["name"], c["id"])),
        "volumes": _named(parts.volumes, "mountpoint"),
        "networks": _named(parts.networks, "internal"),
        "compose_projects": _projects(parts, dec, project_files),
        "config_files": {
            owner: dict(sorted(files.items()))
            for owner, files in sorted(_files_by(parts, dec, "container").items())
        },
        "directories": {d: dict(sorted(files.items())) for d, files in sorted(dirs.items())},
        "apis": _apis(parts, dec),
    }
    inventory["problems"] = sorted(set(parts.problems))
    return inventory


def file_errors(inventory: Mapping[str, Any]) -> list[tuple[str, str, str]]:
    """(where, path, why) of every file the probe could not read."""
    out = []
    for owner, files in (inventory.get("config_files") or {}).items():
        out += [(f"container {owner}", p, r["error"]) for p, r in files.items() if r.get("error")]
    for project in inventory.get("compose_projects") or []:
        out += [
            (f"compose project {project['name']}", p, r["error"])
            for p, r in project["files"].items()
            if r.get("error")
        ]
    for directory, files in (inventory.get("directories") or {}).items():
        out += [
            (f"directory {directory}", p, r["error"]) for p, r in files.items() if r.get("error")
        ]
    return sorted(out)
