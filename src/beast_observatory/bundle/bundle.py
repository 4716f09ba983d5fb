"""A Bundle is the generated tree of one environment as values: relative path -> bytes."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from beast_observatory.yamlio import dump_yaml

MANIFEST = "manifest.json"
MANIFEST_FORMAT = 1


def sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def yaml_file(value: Any, header: str | None = None) -> bytes:
    text = dump_yaml(value)
    return ((f"# {header}\n" if header else "") + text).encode()


def json_file(value: Any) -> bytes:
    return (json.dumps(value, indent=2, ensure_ascii=False) + "\n").encode()


def key_ordered(value: Any, first: tuple[str, ...] = ()) -> Any:
    """Mappings with sorted keys (those in first ahead, in that order), all the way down.

    Free-form data from the spec (inline rules, compose fragments) renders the same
    whatever order its keys were written in."""
    if isinstance(value, dict):
        keys = [k for k in first if k in value] + sorted(
            (k for k in value if k not in first), key=str
        )
        return {k: key_ordered(value[k], first) for k in keys}
    if isinstance(value, list):
        return [key_ordered(v, first) for v in value]
    return value


def canonical_json(value: Any) -> bytes:
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()


@dataclass(frozen=True)
class Bundle:
    """Files of one environment; ``secret_files`` get mode 0600 when written to a host."""

    project: str
    environment: str
    spec_sha256: str
    files: Mapping[str, bytes]
    secret_files: frozenset[str] = field(default_factory=frozenset)

    def manifest(self) -> dict[str, Any]:
        return {
            "format_version": MANIFEST_FORMAT,
            "project": self.project,
            "environment": self.environment,
            "spec_sha256": self.spec_sha256,
            "files": {path: sha256(data) for path, data in sorted(self.files.items())},
        }

    def with_manifest(self) -> dict[str, bytes]:
        """All files including ``manifest.json``, sorted by path."""
        out = dict(sorted(self.files.items()))
        out[MANIFEST] = json_file(self.manifest())
        return out
