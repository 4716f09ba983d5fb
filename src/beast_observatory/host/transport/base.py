"""The one interface every host operation goes through."""

from __future__ import annotations

import shlex
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol


@dataclass(frozen=True)
class HostTarget:
    """Where commands run: this machine (``host=None``) or a host reached over SSH.

    ``host`` may be an alias of the ssh config; the explicit settings here win over the
    config's. ``known_hosts_path`` replaces the user's ``~/.ssh/known_hosts`` (as ssh's
    UserKnownHostsFile does); the system-wide file is read as well.
    """

    host: str | None = None
    user: str | None = None
    port: int | None = None
    identity_file: Path | None = None
    ssh_config_path: Path | None = None
    known_hosts_path: Path | None = None
    accept_new_host_key: bool = False
    connect_timeout: float = 10.0


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


class RunningCommand(Protocol):
    """A command that keeps running while we talk to it (see ``Transport.start``)."""

    def read_line(self, timeout: float) -> bytes:
        """The next line of its stdout, newline included; b"" once stdout is closed.

        Raises TransportError when no whole line arrives within timeout seconds."""
        ...

    def close(self, timeout: float = 10.0) -> CommandResult:
        """Close its stdin and wait for it to end (killing it after timeout seconds: exit
        code -1). The result holds what it printed after the lines already read."""
        ...


class Transport(Protocol):
    """A host we can run commands on and write files to.

    ``round_trips`` counts the sessions opened on the host: one per ``run`` or ``start``,
    plus one for the file session of a remote host when first used (SSH opens one SFTP
    session and reuses it). It equals the "Starting session" lines of the host's sshd, so
    callers and tests can keep remote chatter low.
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

    def start(self, argv: Sequence[str], *, env: dict[str, str] | None = None) -> RunningCommand:
        """Start argv (quoted like ``run``) and return at once; it runs until it exits or
        its stdin is closed by ``RunningCommand.close``, or our connection ends."""
        ...

    def read_file(self, path: str) -> bytes | None:
        """The content of path, or None when it does not exist."""
        ...

    def write_file_atomic(self, path: str, data: bytes, *, mode: int = 0o644) -> None:
        """Write a temporary file in path's directory, give it mode, then rename it over
        path: a reader sees the old content or the new one, never a truncated file."""
        ...

    def makedirs(self, path: str, *, mode: int = 0o755) -> None: ...

    def remove(self, path: str) -> None:
        """Remove a file; a missing file is not an error."""
        ...

    def close(self) -> None: ...


def shown(argv: Sequence[str], limit: int = 100) -> str:
    """A command as error messages show it: quoted like a shell would need, on one line, short."""
    text = " ".join(shlex.join(argv).split())
    return text if len(text) <= limit else text[: limit - 3] + "..."


class LineBuffer:
    """Splits the chunks a running command prints into lines.

    ``recv(timeout)`` returns the next chunk, b"" at end of stream, and raises TimeoutError
    when nothing arrives in time; local and SSH commands each supply their own.
    """

    def __init__(self, recv: Callable[[float], bytes]) -> None:
        self._recv = recv
        self._pending = b""

    def read_line(self, timeout: float) -> bytes:
        deadline = time.monotonic() + timeout
        while b"\n" not in self._pending:
            chunk = self._recv(max(deadline - time.monotonic(), 0.0))
            if not chunk:
                line, self._pending = self._pending, b""
                return line
            self._pending += chunk
        line, _, self._pending = self._pending.partition(b"\n")
        return line + b"\n"

    def take(self) -> bytes:
        """What was received but not returned as a line yet."""
        rest, self._pending = self._pending, b""
        return rest
