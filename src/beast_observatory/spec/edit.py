"""``config get`` / ``config set`` on the spec file (reads and writes it)."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path
from typing import Any

from beast_observatory.errors import ObservatoryError, SpecError
from beast_observatory.spec.config_view import effective_config, get_path, parse_value, set_path
from beast_observatory.spec.load import find_spec, load_project, parse_spec
from beast_observatory.yamlio import dump_yaml, load_yaml


def _show(value: Any) -> str:
    if isinstance(value, (dict, list)):
        return dump_yaml(value).rstrip("\n")
    if isinstance(value, bool):
        return "true" if value else "false"
    return "null" if value is None else str(value)


def get_value(spec: Path | None, path: str, environment: str | None) -> str:
    spec = find_spec(spec)
    if environment is not None:
        data = effective_config(load_project(spec).stack(environment))
    else:
        if not spec.is_file():
            raise ObservatoryError(f"{spec}: no such spec file", hint="pass -f PATH")
        data = load_yaml(spec.read_bytes(), str(spec))
    return _show(get_path(data, path))


def set_value(spec: Path | None, path: str, raw: str) -> Path:
    """Edit in place, keeping comments; the file is replaced only if the result validates."""
    spec = find_spec(spec)
    from beast_observatory.bundle.compile import validate_project  # noqa: PLC0415

    if not spec.is_file():
        raise ObservatoryError(f"{spec}: no such spec file", hint="pass -f PATH")
    text = spec.read_text(encoding="utf-8")
    parse_spec(text, str(spec))  # refuse to edit a spec that is already broken
    new_text = set_path(text, path, parse_value(raw))
    fd, tmp_name = tempfile.mkstemp(prefix=f".{spec.name}.", dir=spec.parent)
    tmp = Path(tmp_name)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            fh.write(new_text)
        try:
            project = load_project(tmp)
            validate_project(project)
        except SpecError as exc:
            problems = [p.replace(str(tmp), str(spec)) for p in exc.problems]
            raise SpecError(problems, hint=f"{spec} was not changed") from None
        tmp.chmod(spec.stat().st_mode & 0o777)
        tmp.replace(spec)
    finally:
        tmp.unlink(missing_ok=True)
    return spec
