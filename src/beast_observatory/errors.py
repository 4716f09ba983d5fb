"""One error path: every user-facing failure is an ObservatoryError with an exit code.

The CLI (``cli/app.py``) is the only place that turns these into output and exit codes.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

EXIT_OK = 0
EXIT_USER_ERROR = 1
EXIT_CHANGES = 2  # plan: changes present (Terraform's -detailed-exitcode)
EXIT_BUG = 3
EXIT_INTERRUPTED = 130


class ObservatoryError(Exception):
    """A failure the user can act on: says what, where and how to fix it."""

    exit_code = EXIT_USER_ERROR

    def __init__(self, message: str, *, hint: str | None = None, where: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.hint = hint
        self.where = where

    def render(self) -> str:
        head = f"{self.where}: {self.message}" if self.where else self.message
        return f"error: {head}\n  hint: {self.hint}" if self.hint else f"error: {head}"


class SpecError(ObservatoryError):
    """The spec cannot be loaded or fails validation; carries every problem found (and, from
    the cross-file checks, each as a structured diagnostic for --output json/github)."""

    def __init__(
        self, problems: list[str], *, hint: str | None = None, diagnostics: Sequence[Any] = ()
    ) -> None:
        self.problems = problems
        self.diagnostics = list(diagnostics)
        joined = "\n".join(f"  - {p}" for p in problems)
        super().__init__(
            f"the spec is not valid ({len(problems)} problem(s)):\n{joined}", hint=hint
        )


class TransportError(ObservatoryError):
    """A host could not be reached or a command on it failed to run."""


class HostLockedError(ObservatoryError):
    """Another operation holds the host lock."""


class RuntimeFailure(ObservatoryError):  # noqa: N818 - a name the runtime code already uses
    """docker / compose failed, or the stack did not become healthy."""
