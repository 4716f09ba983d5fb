"""Services of no known kind: compose fragments written as they are, with the tool's labels
and shipped files (pure). ``read.py`` is the inverse."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from beast_observatory.bundle.bundle import key_ordered
from beast_observatory.kinds.service import (
    Service,
    bundle_path,
    is_shipped,
    merged_labels,
    ordered,
    rendered_volumes,
    shipped_files,
    shipped_path,
    shipped_sources,
    tool_labels,
)
from beast_observatory.spec.resolve import Stack


def env_files(fragment: Mapping[str, Any]) -> list[str]:
    """The fragment's env_file entries that are files beside the spec."""
    raw = fragment.get("env_file")
    entries = raw if isinstance(raw, list) else [raw] if raw is not None else []
    paths = [e.get("path") if isinstance(e, dict) else e for e in entries]
    return [shipped_path(p) for p in paths if isinstance(p, str) and is_shipped(p)]


def shipped(fragment: Mapping[str, Any]) -> list[str]:
    """Every spec-relative source an extra service ships: bind mounts and env files."""
    volumes = fragment.get("volumes") if isinstance(fragment.get("volumes"), list) else []
    return shipped_sources(volumes or []) + env_files(fragment)


def _env_file(raw: Any) -> Any:
    def one(entry: Any) -> Any:
        if isinstance(entry, str) and is_shipped(entry):
            return f"./{bundle_path(entry)}"
        if isinstance(entry, dict) and is_shipped(str(entry.get("path") or "")):
            return {**entry, "path": f"./{bundle_path(str(entry['path']))}"}
        return entry

    return [one(e) for e in raw] if isinstance(raw, list) else one(raw)


def render_extra(
    stack: Stack,
    name: str,
    fragment: Mapping[str, Any],
    assets: Mapping[str, bytes],
    matches: Mapping[str, tuple[str, ...]],
) -> tuple[Service, dict[str, bytes]]:
    """The compose service of an extra and the files it ships."""
    out: Service = key_ordered(dict(fragment))
    if isinstance(out.get("volumes"), list):
        out["volumes"] = rendered_volumes(out["volumes"])
    if "env_file" in out:
        out["env_file"] = _env_file(out["env_file"])
    files = shipped_files(shipped(fragment), assets, matches)
    out["labels"] = merged_labels(out.get("labels"), tool_labels(stack, name, files))
    return ordered(out), files
