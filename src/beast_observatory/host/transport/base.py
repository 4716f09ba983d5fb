"""The one interface every host operation goes through."""

from __future__ import annotations

import shlex
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Protocol

if TYPE_CHECKING:
    from beast_observatory.errors import TransportError


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


@dataclass(frozen=True)
class Command:
    """One command of a batch (``Transport.run_batch``): what ``Transport.run`` takes.

    ``stops``: a failure (non-zero exit) of this command skips the rest of the batch.
    """

    argv: tuple[str, ...]
    stdin: bytes | None = None
    env: dict[str, str] | None = None
    stops: bool = True

    @classmethod
    def of(cls, argv: Sequence[str], stdin: bytes | None = None, *, stops: bool = True) -> Command:
        return cls(tuple(argv), stdin, stops=stops)


class RunningCommand(Protocol):
    """A command that keeps running while we talk to it (see ``Transport.start``)."""

    def send(self, data: bytes) -> None:
        """Write data to its stdin (raises TransportError when the command is gone)."""
        ...

    def failure(self, doing: str) -> TransportError:
        """The error that says its output ended early, while we were trying to do ``doing``."""
        ...

    def read_line(self, timeout: float) -> bytes:
        """The next line of its stdout, newline included; b"" once stdout is closed.

        Raises TransportError when no whole line arrives within timeout seconds."""
        ...

    def read(self, timeout: float) -> bytes:
        """The next bytes of its stdout, as many as have arrived (a chunk at most); b"" once
        stdout is closed. For a binary stream (a tar, say): nothing waits for a line break,
        so a long run without one is never held in memory whole.

        Raises TransportError when nothing arrives within timeout seconds."""
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
    callers and tests can keep remote chatter low. Commands run under the host lock go through
    the lock's own session and open none (host/transport/served.py).
    """

    description: str

    @property
    def round_trips(self) -> int: ...

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

    def run_batch(
        self, commands: Sequence[Command], *, timeout: float | None = None
    ) -> list[CommandResult | None]:
        """Run commands in order, in one round trip where the transport can; a failed command
        whose ``stops`` is set skips the ones after it (None in their place)."""
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


def run_each(
    run: Callable[..., CommandResult], commands: Sequence[Command], timeout: float | None
) -> list[CommandResult | None]:
    """run_batch for a transport whose every command is a round trip of its own."""
    deadline = None if timeout is None else time.monotonic() + timeout
    results: list[CommandResult | None] = []
    stopped = False
    for command in commands:
        if stopped:
            results.append(None)
            continue
        left = None if deadline is None else max(deadline - time.monotonic(), 0.001)
        result = run(command.argv, stdin=command.stdin, env=command.env, timeout=left)
        results.append(result)
        stopped = command.stops and not result.ok
    return results


def shown(argv: Sequence[str], limit: int = 100) -> str:
    """A command as error messages show it: quoted like a shell would need, on one line, short;
    a shipped script (``sh -c SCRIPT NAME ARGS...``) by its name and arguments."""
    if len(argv) >= 4 and argv[0] == "sh" and argv[1] == "-c":  # noqa: PLR2004 - sh -c S NAME
        argv = argv[3:]
    text = " ".join(shlex.join(argv).split())
    return text if len(text) <= limit else text[: limit - 3] + "..."


class LineBuffer:
    """Splits the chunks a running command prints into lines.

    ``recv(timeout)`` returns the next chunk, b"" at end of stream, and raises TimeoutError
    when nothing arrives in time; local and SSH commands each supply their own.
    """

    def __init__(self, recv: Callable[[float], bytes]) -> None:
        self._recv = recv
        self._pending = bytearray()
        self._scanned = 0  # no newline in _pending before this offset: long lines stay linear

    def read_line(self, timeout: float) -> bytes:
        deadline = time.monotonic() + timeout
        while (end := self._pending.find(b"\n", self._scanned)) < 0:
            self._scanned = len(self._pending)
            chunk = self._recv(max(deadline - time.monotonic(), 0.0))
            if not chunk:
                return self.take()
            self._pending += chunk
        line = bytes(self._pending[: end + 1])
        del self._pending[: end + 1]
        self._scanned = 0
        return line

    def read(self, timeout: float) -> bytes:
        """What was received but not returned yet, else the next chunk (b"" at its end)."""
        return self.take() if self._pending else self._recv(timeout)

    def take(self) -> bytes:
        """What was received but not returned as a line yet."""
        rest = bytes(self._pending)
        self._pending.clear()
        self._scanned = 0
        return rest
