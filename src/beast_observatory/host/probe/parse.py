"""The probe's output -> the typed Inventory (pure: text in, values out).

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
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, replace
from typing import Any

from beast_observatory.host.probe.inventory import (
    PROBE_VERSION,
    ApiAnswer,
    ComposeProject,
    Container,
    Docker,
    FileRecord,
    Host,
    Inventory,
    Network,
    Volume,
)
from beast_observatory.host.probe.records import container_of, image_of


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
    others: list[str] = field(default_factory=list)
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
    elif kind in ("arg", "env", "label", "net", "logopt", "ienv", "iarg"):
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
    elif kind == "other":
        decoder = _Decoder(parts.meta.get("encoding", "base64"))
        parts.others.append(decoder.text(record.get("name_b")) or "")
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


def _file_record(record: Mapping[str, Any], dec: _Decoder) -> FileRecord:
    error = dec.text(record.get("error_b"))
    content: str | None = None
    raw = dec.raw(record.get("content_b"))
    if raw is not None:
        try:
            content = raw.decode("utf-8")
        except UnicodeDecodeError as exc:
            error = f"not UTF-8 text (invalid byte at offset {exc.start}): content not kept"
    return FileRecord(
        host_path=dec.text(record.get("host_path_b")) or "",
        sha256=record.get("sha256"),
        size=record.get("size"),
        content=content,
        error=error,
        copied=bool(record.get("copied")),
        expected=record.get("expected") is True,
    )


def _api_body(raw: bytes | None) -> Any:
    if raw is None:
        return None
    text = raw.decode("utf-8", "replace")
    try:
        return json.loads(text)
    except ValueError:
        return text


def _apis(parts: _Parts, dec: _Decoder) -> dict[str, dict[str, ApiAnswer]]:
    out: dict[str, dict[str, ApiAnswer]] = {}
    for rec in parts.apis:
        owner = dec.text(rec.get("owner_b")) or "?"
        path = str(rec.get("path") or "")
        status = int(rec.get("status") or 0)
        out.setdefault(owner, {})[path] = ApiAnswer(status, _api_body(dec.raw(rec.get("body_b"))))
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
) -> tuple[ComposeProject, ...]:
    merged: dict[str, dict[str, Any]] = {}
    for rec in parts.projects:
        name = dec.text(rec.get("name_b")) or ""
        entry = merged.setdefault(name, {"working_dir": None, "config_files": []})
        entry["working_dir"] = entry["working_dir"] or dec.text(rec.get("working_dir_b"))
        for path in (dec.text(rec.get("config_files_b")) or "").split(","):
            if path and path not in entry["config_files"]:
                entry["config_files"].append(path)
    return tuple(
        ComposeProject(
            name=name,
            working_dir=merged[name]["working_dir"],
            config_files=tuple(merged[name]["config_files"]),
            files=dict(sorted(files.get(name, {}).items())),
        )
        for name in sorted(merged)
    )


def _files_by(parts: _Parts, dec: _Decoder, scope: str) -> dict[str, dict[str, FileRecord]]:
    out: dict[str, dict[str, FileRecord]] = {}
    for rec in parts.files:
        if rec.get("scope") != scope:
            continue
        owner = dec.text(rec.get("owner_b")) or ""
        path = dec.text(rec.get("path_b")) or ""
        out.setdefault(owner, {})[path] = _file_record(rec, dec)
    return out


def _docker(parts: _Parts, dec: _Decoder) -> Docker:
    d = parts.docker
    available = bool(d.get("available"))
    error = dec.text(d.get("error_b"))
    if not d:
        error = "the probe did not report on Docker"
    if not available:
        parts.problems.append(f"Docker is not available: {error}")
    return Docker(
        available=available,
        server_version=dec.text(d.get("server_version_b")),
        compose_plugin=dec.text(d.get("compose_plugin_b")),
        compose_standalone=dec.text(d.get("compose_standalone_b")),
        error=error,
    )


def _volumes(records: list[dict[str, Any]]) -> tuple[Volume, ...]:
    out = {
        str(r.get("name")): Volume(
            name=str(r.get("name")),
            driver=r.get("driver"),
            labels=dict(sorted((r.get("labels") or {}).items())),
            mountpoint=r.get("mountpoint"),
        )
        for r in records
    }
    return tuple(out[k] for k in sorted(out))


def _networks(records: list[dict[str, Any]]) -> tuple[Network, ...]:
    out = {
        str(r.get("name")): Network(
            name=str(r.get("name")),
            driver=r.get("driver"),
            labels=dict(sorted((r.get("labels") or {}).items())),
            internal=r.get("internal"),
        )
        for r in records
    }
    return tuple(out[k] for k in sorted(out))


def _with_host_paths(
    files: dict[str, dict[str, FileRecord]], containers: list[Container]
) -> dict[str, dict[str, FileRecord]]:
    """Files copied out of a container get the host path of the bind mount they came
    through, if any (a file of the image or edited inside the container has none)."""
    by_name = {c.name: c for c in containers}
    out: dict[str, dict[str, FileRecord]] = {}
    for owner, records in sorted(files.items()):
        container = by_name.get(owner)
        out[owner] = {
            path: replace(record, host_path=container.host_path(path) or "")
            if record.copied and container is not None
            else record
            for path, record in sorted(records.items())
        }
    return out


def parse_probe_output(stdout: str, stderr: str = "", exit_code: int = 0) -> Inventory:
    """The inventory, from what the probe printed."""
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
    images = {
        iid: image_of(rec, parts.details.get(iid, [])) for iid, rec in sorted(parts.images.items())
    }
    containers = [
        container_of(rec, parts.details.get(cid, []), images)
        for cid, rec in parts.containers.items()
    ]
    project_files = _files_by(parts, dec, "project")
    dirs: dict[str, dict[str, FileRecord]] = {
        dec.text(r.get("path_b")) or "": {} for r in parts.dirs
    }
    for owner, records in _files_by(parts, dec, "dir").items():
        dirs.setdefault(owner, {}).update(records)
    return Inventory(
        probe_version=int(parts.meta.get("probe_version") or PROBE_VERSION),
        managed=parts.meta.get("managed") is True,
        host=Host(
            hostname=dec.text(parts.host.get("hostname_b")) or "",
            kernel=dec.text(parts.host.get("kernel_b")) or "",
        ),
        docker=_docker(parts, dec),
        containers=tuple(sorted(containers, key=lambda c: (c.name, c.id))),
        images=images,
        volumes=_volumes(parts.volumes),
        networks=_networks(parts.networks),
        compose_projects=_projects(parts, dec, project_files),
        config_files=_with_host_paths(_files_by(parts, dec, "container"), containers),
        directories={d: dict(sorted(files.items())) for d, files in sorted(dirs.items())},
        apis=_apis(parts, dec),
        problems=tuple(sorted(set(parts.problems))),
        other_containers=tuple(sorted(set(parts.others) - {""})),
    )
