"""Reading ``observatory.yaml`` and the files it references (the IO edge of the spec)."""

from __future__ import annotations

import glob
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from beast_observatory.errors import SpecError
from beast_observatory.spec.checks import dotted
from beast_observatory.spec.diagnostics import (
    Diagnostic,
    error_at,
    schema_diagnostics,
    schema_problems,
    yaml_diagnostic,
)
from beast_observatory.spec.models import Spec
from beast_observatory.spec.resolve import Stack, resolve
from beast_observatory.yamlio import Position, YamlError, find_scalar, load_yaml

DEFAULT_SPEC = "observatory.yaml"


@dataclass(frozen=True)
class Project:
    """A loaded spec with the content of every file it references (path relative to the spec)."""

    path: Path
    text: str
    spec: Spec
    assets: Mapping[str, bytes] = field(default_factory=dict)
    matches: Mapping[str, tuple[str, ...]] = field(default_factory=dict)
    stacks: Mapping[str, Stack] = field(default_factory=dict)

    def stack(self, env_name: str) -> Stack:
        if env_name not in self.stacks:
            known = ", ".join(sorted(self.stacks))
            raise unlocated_error(
                str(self.path), f"no environment named {env_name!r}", hint=f"use one of: {known}"
            )
        return self.stacks[env_name]


def schema_error(exc: ValidationError, text: str, source: str) -> SpecError:
    found = schema_diagnostics(exc, text, source)
    return SpecError(schema_problems(found), diagnostics=found)


def yaml_error(exc: YamlError) -> SpecError:
    return SpecError([exc.render().removeprefix("error: ")], diagnostics=[yaml_diagnostic(exc)])


def unlocated_error(source: str | None, message: str, hint: str | None = None) -> SpecError:
    """A problem of the spec file as a whole (or of finding it)."""
    text = f"{source}: {message}" if source else message
    return SpecError([text], hint=hint, diagnostics=[error_at(source, None, "", message, hint)])


def parse_spec(text: str | bytes, source: str) -> Spec:
    """Parse and validate spec text (no file access)."""
    try:
        data = load_yaml(text, source)
    except YamlError as exc:
        raise yaml_error(exc) from None
    if data is None:
        raise unlocated_error(
            source, "the spec is empty", hint="run `observatory init` to write a starter spec"
        )
    if not isinstance(data, dict):
        message = f"the spec must be a mapping, got {type(data).__name__}"
        raise SpecError(
            [f"{source}:1:1: {message}"],
            diagnostics=[error_at(source, Position(1, 1), "", message)],
        )
    decoded = text if isinstance(text, str) else text.decode("utf-8-sig")
    try:
        return Spec.model_validate(data)
    except ValidationError as exc:
        raise schema_error(exc, decoded, source) from None


def resolve_all(spec: Spec, text: str, source: str) -> dict[str, Stack]:
    stacks: dict[str, Stack] = {}
    found: list[Diagnostic] = []
    for env_name in sorted(spec.environments):
        try:
            stacks[env_name] = resolve(spec, env_name)
        except ValidationError as exc:
            found += _override_problems(exc, spec, env_name, text, source)
    if found:
        raise SpecError(schema_problems(found), diagnostics=found)
    return stacks


def _override_problems(
    exc: ValidationError, spec: Spec, env_name: str, text: str, source: str
) -> list[Diagnostic]:
    """Blame the override when the bad key came from it, else the base services section."""
    overrides = spec.environments[env_name].services
    out = []
    for err in exc.errors():
        loc = err["loc"]
        node: Any = overrides
        from_override = True
        for part in loc:
            if isinstance(node, dict) and part in node:
                node = node[part]
            else:
                from_override = False
                break
        prefix: tuple[str | int, ...] = (
            ("environments", env_name, "services") if from_override else ("services",)
        )
        single = ValidationError.from_exception_data(exc.title, [err])  # type: ignore[list-item]
        out += schema_diagnostics(single, text, source, prefix)
    return out


def asset_paths(stacks: Mapping[str, Stack]) -> set[str]:
    """Relative paths, globs and folders of every file the stacks reference."""
    from beast_observatory.bundle.render import asset_refs  # noqa: PLC0415 - render imports spec

    return {ref for stack in stacks.values() for ref in asset_refs(stack)}


@dataclass(frozen=True)
class Reference:
    """Where the spec names a file: the spec, the entry's position and path (when found)."""

    source: str
    position: Position | None = None
    path: tuple[str | int, ...] = ()

    def __str__(self) -> str:
        if self.position is None:  # a default of the models, not written in the spec
            return self.source
        return f"{self.source}:{self.position}: {dotted(self.path)}"

    def diagnostic(self, message: str, hint: str) -> Diagnostic:
        return error_at(self.source, self.position, self.path, message, hint)


ASSET_HINT = "fix the path or create the file next to the spec"


def read_assets(
    base: Path, refs: set[str], where: Callable[[str], Reference] = Reference
) -> tuple[dict[str, bytes], dict[str, tuple[str, ...]]]:
    """Read referenced files; a glob matching nothing or a missing file is a SpecError.

    ``where(ref)`` names the place in the spec that holds the reference, for the message.
    Returns the content by relative path and, for each reference, the paths it matched."""
    assets: dict[str, bytes] = {}
    matches: dict[str, tuple[str, ...]] = {}
    problems: list[str] = []
    located: list[Diagnostic] = []

    def problem(ref: str, message: str) -> None:
        problems.append(f"{where(ref)}: {message}")
        located.append(where(ref).diagnostic(message, ASSET_HINT))

    for ref in sorted(refs):
        if Path(ref).is_absolute() or ".." in Path(ref).parts:
            problem(ref, "paths must be relative to the spec and stay inside its folder")
            continue
        # glob.glob, not Path.glob: root_dir keeps the matches relative to the spec.
        found = sorted(glob.glob(ref, root_dir=base, recursive=True))  # noqa: PTH207
        if (base / ref).is_dir():  # a folder a service mounts: every file below it
            found = sorted(glob.glob(f"{ref}/**", root_dir=base, recursive=True))  # noqa: PTH207
        files = [m for m in found if (base / m).is_file()]
        if not files and not glob.has_magic(ref):  # an empty glob is the checks' warning
            problem(ref, f"{base / ref}: no such file")
        matches[ref] = tuple(Path(rel).as_posix() for rel in files)
        for rel in matches[ref]:
            assets[rel] = (base / rel).read_bytes()
    if problems:
        raise SpecError(problems, hint=ASSET_HINT, diagnostics=located)
    return assets, matches


def reference_location(text: str, source: str, ref: str) -> Reference:
    """The spec entry holding ref: 'file:line:col: services.grafana.dashboards[0].files[0]'."""
    found = find_scalar(text, ref)
    if found is None:  # a default of the models, not written in the spec
        return Reference(source)
    path, pos = found
    return Reference(source, pos, path)


def blame(spec: Spec, env_name: str, path: tuple[str | int, ...]) -> tuple[str | int, ...]:
    """The spec path a value of env_name's services came from: its override, else the base."""
    node: Any = {"services": spec.environments[env_name].services}
    for part in path:
        if not (isinstance(node, dict) and part in node):
            return path
        node = node[part]
    return ("environments", env_name, *path)


def find_spec(path: Path | None, cwd: Path | None = None) -> Path:
    """The given spec, else ./observatory.yaml, else the one stacks/*/observatory.yaml."""
    if path is not None:
        return path
    here = cwd or Path()
    if (here / DEFAULT_SPEC).is_file():
        return here / DEFAULT_SPEC
    candidates = sorted(here.glob(f"stacks/*/{DEFAULT_SPEC}"))
    if len(candidates) == 1:
        return candidates[0]
    found = ", ".join(str(c) for c in candidates) or "none"
    raise unlocated_error(
        None,
        f"no {DEFAULT_SPEC} here and {len(candidates)} under stacks/ ({found})",
        hint="pass -f PATH, or run `observatory init` to write a starter spec",
    )


def load_project(path: Path | None) -> Project:
    """Load a spec file, resolve every environment and read what it references."""
    path = find_spec(path)
    if not path.is_file():
        raise unlocated_error(
            str(path),
            "no such spec file",
            hint="pass -f PATH, or run `observatory init` to write a starter spec",
        )
    data = path.read_bytes()
    source = str(path)
    spec = parse_spec(data, source)
    text = data.decode("utf-8-sig")
    stacks = resolve_all(spec, text, source)
    assets, matches = read_assets(
        path.parent, asset_paths(stacks), lambda ref: reference_location(text, source, ref)
    )
    return Project(path=path, text=text, spec=spec, assets=assets, matches=matches, stacks=stacks)
