"""Reading ``observatory.yaml`` and the files it references (the IO edge of the spec)."""

from __future__ import annotations

import glob
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from beast_observatory.errors import SpecError
from beast_observatory.spec.models import Spec
from beast_observatory.spec.resolve import Stack, resolve
from beast_observatory.yamlio import YamlError, find_scalar, load_yaml, locate

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
            raise SpecError(
                [f"{self.path}: no environment named {env_name!r}"],
                hint=f"use one of: {known}",
            )
        return self.stacks[env_name]


def _format_loc(loc: tuple[int | str, ...]) -> str:
    out = ""
    for part in loc:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out


def validation_problems(
    exc: ValidationError, text: str, source: str, prefix: tuple[str | int, ...] = ()
) -> list[str]:
    """Turn pydantic errors into 'file:line:col: path: what (fix)' lines."""
    problems = []
    for err in exc.errors():
        loc = prefix + tuple(p for p in err["loc"] if p not in _UNION_TAGS)
        pos = locate(text, [str(p) if isinstance(p, str) else p for p in loc])
        where = f"{source}:{pos}" if pos else source
        problems.append(f"{where}: {_format_loc(loc) or '<root>'}: {_explain(err)}")
    return problems


_UNION_TAGS = {"function-after[_exactly_one(), SecretRef]"}


def _explain(err: Any) -> str:
    kind = err["type"]
    msg = str(err["msg"])
    if kind == "extra_forbidden":
        return "unknown key (check its spelling against `observatory schema`)"
    if kind == "missing":
        return "required key is missing"
    if kind.startswith("value_error"):
        return msg.removeprefix("Value error, ")
    return f"{msg} (got {err.get('input')!r})" if "input" in err else msg


def parse_spec(text: str | bytes, source: str) -> Spec:
    """Parse and validate spec text (no file access)."""
    try:
        data = load_yaml(text, source)
    except YamlError as exc:
        raise SpecError([exc.render().removeprefix("error: ")]) from None
    if data is None:
        raise SpecError(
            [f"{source}: the spec is empty"], hint="run `observatory init` to write a starter spec"
        )
    if not isinstance(data, dict):
        raise SpecError([f"{source}:1:1: the spec must be a mapping, got {type(data).__name__}"])
    decoded = text if isinstance(text, str) else text.decode("utf-8-sig")
    try:
        return Spec.model_validate(data)
    except ValidationError as exc:
        raise SpecError(validation_problems(exc, decoded, source)) from None


def resolve_all(spec: Spec, text: str, source: str) -> dict[str, Stack]:
    stacks: dict[str, Stack] = {}
    problems: list[str] = []
    for env_name in sorted(spec.environments):
        try:
            stacks[env_name] = resolve(spec, env_name)
        except ValidationError as exc:
            problems += _override_problems(exc, spec, env_name, text, source)
    if problems:
        raise SpecError(problems)
    return stacks


def _override_problems(
    exc: ValidationError, spec: Spec, env_name: str, text: str, source: str
) -> list[str]:
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
        out += validation_problems(single, text, source, prefix)
    return out


def asset_paths(stacks: Mapping[str, Stack]) -> set[str]:
    """Relative paths, globs and folders of every file the stacks reference."""
    from beast_observatory.bundle.render import asset_refs  # noqa: PLC0415 - render imports spec

    return {ref for stack in stacks.values() for ref in asset_refs(stack)}


def read_assets(
    base: Path, refs: set[str], where: Callable[[str], str] = str
) -> tuple[dict[str, bytes], dict[str, tuple[str, ...]]]:
    """Read referenced files; a glob matching nothing or a missing file is a SpecError.

    ``where(ref)`` names the place in the spec that holds the reference, for the message.
    Returns the content by relative path and, for each reference, the paths it matched."""
    assets: dict[str, bytes] = {}
    matches: dict[str, tuple[str, ...]] = {}
    problems = []
    for ref in sorted(refs):
        if Path(ref).is_absolute() or ".." in Path(ref).parts:
            problems.append(
                f"{where(ref)}: paths must be relative to the spec and stay inside its folder"
            )
            continue
        # glob.glob, not Path.glob: root_dir keeps the matches relative to the spec.
        found = sorted(glob.glob(ref, root_dir=base, recursive=True))  # noqa: PTH207
        if (base / ref).is_dir():  # a folder a service mounts: every file below it
            found = sorted(glob.glob(f"{ref}/**", root_dir=base, recursive=True))  # noqa: PTH207
        files = [m for m in found if (base / m).is_file()]
        if not files and not glob.has_magic(ref):  # an empty glob is the checks' warning
            problems.append(f"{where(ref)}: {base / ref}: no such file")
        matches[ref] = tuple(Path(rel).as_posix() for rel in files)
        for rel in matches[ref]:
            assets[rel] = (base / rel).read_bytes()
    if problems:
        raise SpecError(problems, hint="fix the path or create the file next to the spec")
    return assets, matches


def reference_location(text: str, source: str, ref: str) -> str:
    """'file:line:col: services.grafana.dashboards[0].files[0]' of the spec entry holding ref."""
    found = find_scalar(text, ref)
    if found is None:  # a default of the models, not written in the spec
        return source
    path, pos = found
    return f"{source}:{pos}: {_format_loc(path)}"


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
    raise SpecError(
        [f"no {DEFAULT_SPEC} here and {len(candidates)} under stacks/ ({found})"],
        hint="pass -f PATH, or run `observatory init` to write a starter spec",
    )


def load_project(path: Path | None) -> Project:
    """Load a spec file, resolve every environment and read what it references."""
    path = find_spec(path)
    if not path.is_file():
        raise SpecError(
            [f"{path}: no such spec file"],
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
