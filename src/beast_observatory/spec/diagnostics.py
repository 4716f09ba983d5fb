"""Problems as a person or a CI reads them: file, line, column, spec path, what, how to fix it,
and how bad (pure).

Every kind of problem becomes a ``Diagnostic``: YAML that cannot be read, the schema's
(pydantic's) errors, files the spec references that are missing, the cross-file checks
(``bundle/compile.py``) and the rule tests (``bundle/validate.py``), so that
``validate --output json|github`` says each on the line that has it.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from pydantic import ValidationError

from beast_observatory.spec.checks import Severity, SpecPath, dotted
from beast_observatory.yamlio import Position, YamlError, locate


@dataclass(frozen=True)
class Diagnostic:
    """One problem: where (file, line, column, spec path), what, how to fix it, how bad."""

    file: str | None
    line: int | None
    column: int | None
    path: str
    message: str
    hint: str | None
    severity: Severity
    environments: tuple[str, ...] = ()  # empty: every environment

    def text(self) -> str:
        where = f"{self.file}:{self.line}:{self.column}" if self.line else (self.file or "")
        scope = f" (environment {', '.join(self.environments)})" if self.environments else ""
        head = ": ".join(part for part in (where, self.path) if part)
        head = f"{head}: {self.message}{scope}" if head else f"{self.message}{scope}"
        return head + (f" (hint: {self.hint})" if self.hint else "")

    def as_dict(self) -> dict[str, Any]:
        return {
            "file": self.file,
            "line": self.line,
            "column": self.column,
            "path": self.path,
            "message": self.message,
            "hint": self.hint,
            "severity": self.severity,
            "environments": list(self.environments),
        }


def error_at(
    file: str | None,
    position: Position | None,
    path: SpecPath | str,
    message: str,
    hint: str | None = None,
) -> Diagnostic:
    """An error at a place of a file (position and path when known)."""
    return Diagnostic(
        file=file,
        line=position.line if position else None,
        column=position.column if position else None,
        path=path if isinstance(path, str) else dotted(path),
        message=message,
        hint=hint,
        severity="error",
    )


def yaml_diagnostic(exc: YamlError) -> Diagnostic:
    """A document that could not be read, at the position the parser stopped."""
    return error_at(exc.source or exc.where, exc.position, "", exc.message, exc.hint)


# The tag pydantic puts in an error's location for a union member: not a key of the spec.
UNION_TAGS = {"function-after[_exactly_one(), SecretRef]"}


def explain(err: Any) -> str:
    """What a pydantic error means, in the spec's words."""
    kind = err["type"]
    msg = str(err["msg"])
    if kind == "extra_forbidden":
        return "unknown key (check its spelling against `observatory schema`)"
    if kind == "missing":
        return "required key is missing"
    if kind.startswith("value_error"):
        return msg.removeprefix("Value error, ")
    return f"{msg} (got {err.get('input')!r})" if "input" in err else msg


def schema_diagnostics(
    exc: ValidationError, text: str, source: str, prefix: SpecPath = ()
) -> list[Diagnostic]:
    """One diagnostic per pydantic error, located in text (the document that was validated)."""
    out = []
    for err in exc.errors():
        loc: SpecPath = prefix + tuple(p for p in err["loc"] if p not in UNION_TAGS)
        pos = locate(text, list(loc))
        out.append(error_at(source, pos, dotted(loc) or "<root>", explain(err)))
    return out


def schema_problems(diagnostics: Sequence[Diagnostic]) -> list[str]:
    """The schema's diagnostics as the text lines 'file:line:col: path: what'."""
    return [
        f"{d.file}:{d.line}:{d.column}: {d.path}: {d.message}"
        if d.line
        else f"{d.file}: {d.path}: {d.message}"
        for d in diagnostics
    ]
