"""The one interface every host operation goes through."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol


@dataclass(frozen=True)
class CommandResult:
    """What a command printed and how it ended."""

    argv: tuple[str, ...]
    exit_code: int
    stdout: bytes
    stderr: bytes

    @property
    def ok(self) -> bool:
        return self.exit_code == 0

    @property
    def text(self) -> str:
        return self.stdout.decode("utf-8", "replace")


class Transport(Protocol):
    """A host we can run commands on and write files to.

    ``round_trips`` counts command executions (one per ``run``), so callers and tests can
    keep remote chatter low.
    """

    description: str
    round_trips: int

    def run(
        self,
        argv: Sequence[str],
        *,
        stdin: bytes | None = None,
        timeout: float | None = None,
        env: dict[str, str] | None = None,
    ) -> CommandResult:
        """Run argv (quoted safely for a remote shell) and return its result; never raises
        for a non-zero exit, only for a transport failure (TransportError)."""
        ...

    def read_file(self, path: str) -> bytes | None:
        """The content of path, or None when it does not exist."""
        ...

    def write_file_atomic(self, path: str, data: bytes, *, mode: int = 0o644) -> None:
        """Write a temporary file in path's directory, then rename it over path."""
        ...

    def makedirs(self, path: str, *, mode: int = 0o755) -> None: ...

    def remove(self, path: str) -> None:
        """Remove a file; a missing file is not an error."""
        ...

    def close(self) -> None: ...
