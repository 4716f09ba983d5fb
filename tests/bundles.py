"""Specs rendered in memory, and specs written to tmp_path with the files they reference."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

from beast_observatory.bundle.bundle import Bundle
from beast_observatory.bundle.compile import compile_project
from beast_observatory.bundle.render import asset_refs, render_stack
from beast_observatory.plan.adopt import glob_regex
from beast_observatory.spec.load import Project, load_project, parse_spec
from beast_observatory.spec.resolve import Stack, resolve
from beast_observatory.yamlio import dump_yaml


def spec_data(services: Mapping[str, Any] | None = None, **top: Any) -> dict[str, Any]:
    """A spec as data: project beast, environments local and remote (on vonnegut)."""
    return {
        "version": 1,
        "project": "beast",
        "environments": {"local": {}, "remote": {"ssh": {"host": "vonnegut"}}},
        "services": dict(services or {}),
        **top,
    }


def stack_of(data: Mapping[str, Any], env: str = "local") -> Stack:
    return resolve(parse_spec(dump_yaml(dict(data)), "observatory.yaml"), env)


def matches_of(stack: Stack, assets: Mapping[str, bytes]) -> dict[str, tuple[str, ...]]:
    """What each reference of the stack matches among assets, as load_project finds it."""
    return {
        ref: tuple(
            sorted(p for p in assets if glob_regex(ref).fullmatch(p) or p.startswith(ref + "/"))
        )
        for ref in asset_refs(stack)
    }


def render(
    data: Mapping[str, Any], assets: Mapping[str, bytes] | None = None, env: str = "local"
) -> Bundle:
    """The bundle of one environment, rendered without checks and without touching disk."""
    files = dict(assets or {})
    stack = stack_of(data, env)
    return render_stack(stack, files, matches_of(stack, files))


def write_project(
    root: Path, data: Mapping[str, Any] | str, files: Mapping[str, str | bytes] | None = None
) -> Path:
    """observatory.yaml and the files it references, under root; the spec's path."""
    root.mkdir(parents=True, exist_ok=True)
    for rel, content in (files or {}).items():
        target = root / rel
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(content.encode() if isinstance(content, str) else content)
    spec = root / "observatory.yaml"
    spec.write_text(data if isinstance(data, str) else dump_yaml(dict(data)))
    return spec


def load(
    root: Path, data: Mapping[str, Any] | str, files: Mapping[str, str | bytes] | None = None
) -> Project:
    return load_project(write_project(root, data, files))


def compiled(
    root: Path,
    data: Mapping[str, Any] | str,
    files: Mapping[str, str | bytes] | None = None,
    env: str = "remote",
) -> Bundle:
    """The checked and rendered bundle of env (a SpecError when the spec has errors)."""
    return compile_project(load(root, data, files), [env])[env]
