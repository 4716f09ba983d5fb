"""The manifest of a backup archive (pure): what it holds, where it came from, and the size and
sha256 of every member. It is the archive's first member, ``manifest.json``:

    {
      "format": "beast-observatory-backup", "format_version": 1,
      "tool_version": "0.1.0", "created": "2026-12-01T11:15:00+00:00",
      "source": {"project", "environment", "host", "directory"},
      "release": {"name": "0007-3f9c2a1b4d5e" or null, "spec_sha256": str or null},
      "files": {"docker-compose.yml": {"size", "sha256"}, ...},   members release/<path>
      "parts": [{"id", "member", "type", "source", "kind", "volume", "services",
                 "size", "sha256"}, ...],                           members data/<id>.tar
      "notes": [str, ...],
      "checksum": "sha256:..."                      of the rest of the manifest
    }

``release`` is what the deploy directory's state.json and manifest.json said; ``files`` are the
deploy directory's generated files as they were on the host (never ``.env``).
"""

from __future__ import annotations

import hashlib
import json
import posixpath
import re
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from typing import Any

from beast_observatory.errors import ObservatoryError
from beast_observatory.names import ENV_FILE, MANIFEST, STATE_FILE

FORMAT = "beast-observatory-backup"
FORMAT_VERSION = 1
MANIFEST_MEMBER = "manifest.json"
RELEASE_PREFIX = "release/"
_SHA256 = re.compile(r"^[0-9a-f]{64}$")
_PART_ID = re.compile(r"^[a-z_]+$|^volume/[A-Za-z0-9][A-Za-z0-9_.-]*$")
# Room for the digests the manifest gets once the parts are copied: the largest size there is.
_BIG = 10**19 - 1


class ArchiveError(ObservatoryError):
    """A file that is not a backup archive of ours, or one that is damaged."""


@dataclass(frozen=True)
class Digest:
    size: int
    sha256: str


@dataclass(frozen=True)
class PartRecord:
    """A data part as the manifest records it."""

    id: str
    type: str  # volume or path
    source: str  # the volume's name or the host directory it was copied from
    services: tuple[str, ...] = ()
    kind: str | None = None
    volume: str | None = None
    digest: Digest = Digest(0, "0" * 64)

    @property
    def member(self) -> str:
        return f"data/{self.id}.tar"


@dataclass(frozen=True)
class BackupManifest:
    project: str
    environment: str
    host: str
    directory: str
    created: str
    tool_version: str
    release_name: str | None = None
    spec_sha256: str | None = None
    files: Mapping[str, Digest] = field(default_factory=dict)  # relative path in the release
    parts: tuple[PartRecord, ...] = ()
    notes: tuple[str, ...] = ()

    def members(self) -> dict[str, Digest]:
        """Every member but the manifest, with what it must hold."""
        out = {f"{RELEASE_PREFIX}{rel}": d for rel, d in sorted(self.files.items())}
        out.update({p.member: p.digest for p in self.parts})
        return out

    def to_json(self) -> dict[str, Any]:
        return {
            "format": FORMAT,
            "format_version": FORMAT_VERSION,
            "tool_version": self.tool_version,
            "created": self.created,
            "source": {
                "project": self.project,
                "environment": self.environment,
                "host": self.host,
                "directory": self.directory,
            },
            "release": {"name": self.release_name, "spec_sha256": self.spec_sha256},
            "files": {rel: _digest_json(d) for rel, d in sorted(self.files.items())},
            "parts": [
                {
                    "id": p.id,
                    "member": p.member,
                    "type": p.type,
                    "source": p.source,
                    "kind": p.kind,
                    "volume": p.volume,
                    "services": list(p.services),
                    **_digest_json(p.digest),
                }
                for p in self.parts
            ],
            "notes": list(self.notes),
        }

    def to_bytes(self, room: int | None = None) -> bytes:
        """The JSON document; with room, padded with spaces to exactly room bytes (JSON allows
        trailing white space), so that it fills the place kept for it at the archive's start."""
        doc = self.to_json()
        doc["checksum"] = checksum(doc)
        data = (json.dumps(doc, indent=2) + "\n").encode()
        if room is None:
            return data
        if len(data) > room:
            raise ValueError(f"the manifest needs {len(data)} bytes, {room} were kept for it")
        return data + b" " * (room - len(data))

    def room(self) -> int:
        """The most bytes this manifest can need once every part has its digest."""
        biggest = replace(
            self, parts=tuple(replace(p, digest=Digest(_BIG, "f" * 64)) for p in self.parts)
        )
        return len(biggest.to_bytes())


def checksum(doc: Mapping[str, Any]) -> str:
    """The sha256 of the manifest itself (its canonical JSON, less this field): a damaged
    manifest is refused like a damaged part, even where it only describes."""
    rest = {k: v for k, v in doc.items() if k != "checksum"}
    canonical = json.dumps(rest, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return "sha256:" + hashlib.sha256(canonical.encode()).hexdigest()


def digest_of(data: bytes) -> Digest:
    return Digest(len(data), hashlib.sha256(data).hexdigest())


def _digest_json(d: Digest) -> dict[str, Any]:
    return {"size": d.size, "sha256": d.sha256}


def release_paths(live_manifest: Mapping[str, Any]) -> list[str]:
    """The deploy directory's generated files (its manifest.json's list), the manifest and
    state.json: what a backup keeps of the release. Never .env, whatever a manifest says."""
    files = live_manifest.get("files")
    listed = [str(rel) for rel in files] if isinstance(files, Mapping) else []
    paths = {rel for rel in listed if safe_path(rel)} | {MANIFEST, STATE_FILE}
    return sorted(rel for rel in paths if posixpath.basename(rel) != ENV_FILE)


def safe_path(rel: str) -> bool:
    parts = rel.split("/")
    return bool(rel) and not rel.startswith("/") and ".." not in parts and "" not in parts


def parse_manifest(data: bytes, where: str) -> BackupManifest:
    """The manifest of an archive, or ArchiveError saying why it is not one of ours."""
    try:
        doc = json.loads(data)
    except (ValueError, UnicodeDecodeError):
        raise _damaged(where, "its manifest.json is not JSON") from None
    if not isinstance(doc, dict) or doc.get("format") != FORMAT:
        raise ArchiveError(
            f"{where}: not a backup of beast-observatory (its manifest.json says no format "
            f"{FORMAT!r})",
            hint="give the file `observatory backup --output` wrote",
        )
    version = doc.get("format_version")
    if version != FORMAT_VERSION:
        raise ArchiveError(
            f"{where}: a backup of format {version!r}; this beast-observatory reads format "
            f"{FORMAT_VERSION}",
            hint=f"restore it with the beast-observatory that made it ({doc.get('tool_version')})",
        )
    if doc.get("checksum") != checksum(doc):
        raise _damaged(where, "its manifest.json does not match its own checksum")
    try:
        return _manifest(doc)
    except (KeyError, TypeError, ValueError) as exc:
        raise _damaged(where, f"its manifest.json is not one a backup writes ({exc})") from None


def _damaged(where: str, why: str) -> ArchiveError:
    return ArchiveError(
        f"{where}: the archive is damaged: {why}",
        hint="nothing was restored; use another copy of the backup",
    )


def _manifest(doc: dict[str, Any]) -> BackupManifest:
    source, release = doc["source"], doc["release"]
    files = {}
    for rel, d in dict(doc["files"]).items():
        if not safe_path(rel) or posixpath.basename(rel) == ENV_FILE:
            raise ValueError(f"file {rel!r}")
        files[rel] = _digest(d)
    parts = tuple(_part(p) for p in doc["parts"])
    if len({p.id for p in parts}) != len(parts):
        raise ValueError("a part twice")
    return BackupManifest(
        project=_text(source["project"]),
        environment=_text(source["environment"]),
        host=_text(source["host"]),
        directory=_text(source["directory"]),
        created=_text(doc["created"]),
        tool_version=_text(doc["tool_version"]),
        release_name=_optional(release["name"]),
        spec_sha256=_optional(release["spec_sha256"]),
        files=files,
        parts=parts,
        notes=tuple(_text(n) for n in doc["notes"]),
    )


def _part(raw: dict[str, Any]) -> PartRecord:
    part = PartRecord(
        id=_text(raw["id"]),
        type=_text(raw["type"]),
        source=_text(raw["source"]),
        services=tuple(_text(s) for s in raw["services"]),
        kind=_optional(raw["kind"]),
        volume=_optional(raw["volume"]),
        digest=_digest(raw),
    )
    if not _PART_ID.match(part.id) or raw["member"] != part.member:
        raise ValueError(f"part {part.id!r}")
    if part.type not in ("volume", "path"):
        raise ValueError(f"part type {part.type!r}")
    return part


def _digest(raw: dict[str, Any]) -> Digest:
    size, sha = raw["size"], raw["sha256"]
    if not isinstance(size, int) or size < 0 or not isinstance(sha, str) or not _SHA256.match(sha):
        raise ValueError(f"size {size!r} or sha256 {sha!r}")
    return Digest(size, sha)


def _text(value: Any) -> str:
    if not isinstance(value, str):
        raise TypeError(f"{value!r} is not text")
    return value


def _optional(value: Any) -> str | None:
    return None if value is None else _text(value)
