"""Views and edits of a spec for ``observatory config`` (pure: text and values in, out)."""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

from beast_observatory.errors import ObservatoryError
from beast_observatory.spec.resolve import Stack
from beast_observatory.yamlio import RoundTrip, YamlError, load_yaml

MISSING = object()


def effective_config(stack: Stack) -> dict[str, Any]:
    """What one environment runs, merged, as plain data."""
    return {
        "project": stack.project,
        "environment": stack.env_name,
        "host": stack.environment.ssh.host if stack.environment.ssh else "local",
        "deploy_dir": stack.deploy_dir if stack.is_remote else None,
        "bind_address": stack.environment.bind_address,
        "services": stack.services.model_dump(mode="json", by_alias=True),
        "networks": {k: v.model_dump(mode="json") for k, v in stack.networks.items()},
    }


def split_path(path: str) -> list[str | int]:
    """`services.prometheus.scrape_jobs[0].name` -> [services, prometheus, scrape_jobs, 0, name]."""
    parts: list[str | int] = []
    for token in re.findall(r"[^.\[\]]+|\[\d+\]", path):
        parts.append(int(token[1:-1]) if token.startswith("[") else token)
    if not parts:
        raise ObservatoryError(f"empty config path {path!r}", hint="e.g. services.grafana.port")
    return parts


def get_path(data: Any, path: str) -> Any:
    node = data
    for part in split_path(path):
        in_mapping = isinstance(node, dict) and part in node
        in_list = isinstance(node, list) and isinstance(part, int) and part < len(node)
        if not (in_mapping or in_list):
            raise ObservatoryError(
                f"{path}: not set in the spec (no {part!r})",
                hint="`observatory config show` prints every effective value",
            )
        node = node[part]
    return node


def parse_value(raw: str) -> Any:
    """A CLI value is read as YAML: `30d` stays a string, `9090` is an int, `[a, b]` a list."""
    try:
        return load_yaml(raw, "<value>")
    except YamlError:
        return raw


def set_path(text: str, path: str, value: Any) -> str:
    """The spec text with path set to value, comments and layout kept (ruamel round-trip)."""
    doc = RoundTrip(text)
    parts = split_path(path)
    node = doc.data
    for part in parts[:-1]:
        if isinstance(node, dict):
            if part not in node or node[part] is None:
                node[part] = {}
            node = node[part]
        elif isinstance(node, list) and isinstance(part, int) and part < len(node):
            node = node[part]
        else:
            raise ObservatoryError(f"{path}: cannot descend into {part!r}", hint="check the path")
    last = parts[-1]
    in_list = isinstance(node, list) and isinstance(last, int) and last < len(node)
    if not (isinstance(node, dict) or in_list):
        raise ObservatoryError(f"{path}: cannot set {last!r} here", hint="check the path")
    node[last] = value
    return doc.dumps()


def flatten(value: Any, prefix: str = "") -> Iterator[tuple[str, Any]]:
    if isinstance(value, dict) and value:
        for key in sorted(value, key=str):
            yield from flatten(value[key], f"{prefix}.{key}" if prefix else str(key))
    elif isinstance(value, list) and value and any(isinstance(v, (dict, list)) for v in value):
        for i, item in enumerate(value):
            yield from flatten(item, f"{prefix}[{i}]")
    else:
        yield prefix, value


def diff_configs(a: dict[str, Any], b: dict[str, Any]) -> list[tuple[str, Any, Any]]:
    """(path, value in a, value in b) for every leaf that differs; missing is `MISSING`."""
    fa, fb = dict(flatten(a)), dict(flatten(b))
    out = []
    for key in sorted(set(fa) | set(fb)):
        va, vb = fa.get(key, MISSING), fb.get(key, MISSING)
        if va != vb:
            out.append((key, va, vb))
    return out


def format_diff(rows: list[tuple[str, Any, Any]], a: str, b: str) -> str:
    def show(v: Any) -> str:
        return "(unset)" if v is MISSING else repr(v) if isinstance(v, str) else str(v)

    if not rows:
        return f"{a} and {b} are identical\n"
    width = max(len(r[0]) for r in rows)
    lines = [f"{'path':<{width}}  {a} -> {b}"]
    lines += [f"{path:<{width}}  {show(va)} -> {show(vb)}" for path, va, vb in rows]
    return "\n".join(lines) + "\n"
