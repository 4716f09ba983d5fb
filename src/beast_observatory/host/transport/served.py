"""Commands run through the host lock's own session: no new session, one round trip each.

The lock (host/lock.py) is a shell on the host that holds an flock for as long as its stdin
stays open (host/scripts/lock.sh). Once it holds the lock it reads commands from that stdin,
runs them one after the other and answers each on its stdout, so that everything an operation
does under the lock travels over the one session the lock opened: a command costs a round trip
on an open channel instead of a new session (over SSH: a channel open, an exec request and the
host's session set-up each time). A batch of commands is sent at once and answered at once.

The framing is in lock.sh's header comment; ``encode_request`` and ``decode_requests`` are its
two directions, ``encode_answer`` the host's side of an answer (for fakes and tests).
"""

from __future__ import annotations

import contextlib
import re
import secrets
import threading
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass

from beast_observatory.errors import TransportError
from beast_observatory.host.files import (
    check_done,
    mkdir_command,
    read_answer,
    read_command,
    remove_command,
    write_command,
)
from beast_observatory.host.transport.base import (
    Command,
    CommandResult,
    RunningCommand,
    Transport,
    shown,
)

_ESCAPES = str.maketrans({"\\": "\\\\", "\n": "\\n"})
_UNESCAPE = re.compile(r"\\(\\|n)")
# Stdin bigger than this is sent from a thread while the answer is read, so that a command
# printing much before it has read all its input cannot stall both ends.
_SEND_INLINE = 1 << 16
_FOREVER = 7 * 86400.0


def new_mark() -> str:
    """A line no command prints by chance: the end of one answer."""
    return f"@@observatory-{secrets.token_hex(16)}@@"


def encode_request(command: Command, *, first: bool) -> bytes:
    argv = list(command.argv)
    if command.env:
        for name in command.env:
            if not name.isidentifier():
                raise ValueError(f"not an environment variable name: {name!r}")
        argv = ["env", *(f"{k}={v}" for k, v in command.env.items()), *argv]
    if not argv:
        raise ValueError("an empty command has nothing to run")
    if any("\0" in arg for arg in argv):
        raise ValueError("an argument cannot hold a NUL byte")
    stdin = command.stdin or b""
    flags = ("n" if first else "c") + ("s" if command.stops else "k")
    lines = [f"{len(argv)} {len(stdin)} {flags}", *(arg.translate(_ESCAPES) for arg in argv)]
    return "\n".join(lines).encode("utf-8", "surrogateescape") + b"\n" + stdin


def encode_batch(commands: Sequence[Command]) -> bytes:
    for command in commands[:-1]:
        if command.stdin:  # see lock.sh: `head -c` may read ahead of its stdin
            raise ValueError("only the last command of a batch may have stdin")
    return b"".join(encode_request(c, first=i == 0) for i, c in enumerate(commands))


@dataclass(frozen=True)
class Request:
    """A request as the host reads it (the inverse of encode_request)."""

    argv: tuple[str, ...]
    stdin: bytes
    first: bool
    stops: bool


def decode_requests(data: bytes) -> tuple[list[Request], bytes]:
    """The whole requests at the start of data, and what is left of it."""
    out: list[Request] = []
    while True:
        header, sep, rest = data.partition(b"\n")
        if not sep:
            return out, data
        argc, size, flags = header.decode().split(" ")
        lines = rest.split(b"\n", int(argc))
        if len(lines) <= int(argc) or len(lines[-1]) < int(size):
            return out, data
        args = tuple(
            _UNESCAPE.sub(lambda m: "\\" if m.group(1) == "\\" else "\n", a.decode())
            for a in lines[: int(argc)]
        )
        stdin, data = lines[-1][: int(size)], lines[-1][int(size) :]
        out.append(Request(args, stdin, flags[0] == "n", flags[1] == "s"))


def encode_answer(mark: str, result: CommandResult | None) -> bytes:
    """What lock.sh prints for one command (None: skipped)."""
    if result is None:
        return f"\n{mark} skipped\n".encode()
    return (
        result.stdout
        + f"\n{mark} rc {result.exit_code}\n".encode()
        + result.stderr
        + f"\n{mark} end\n".encode()
    )


class ServedTransport:
    """A Transport whose commands run in the session of a held host lock.

    ``start`` opens a session of its own on the transport underneath (nothing under the lock
    streams a command's output for long). After a command timed out or the session ended,
    every call raises TransportError: what the host still runs is unknown.
    """

    def __init__(self, running: RunningCommand, transport: Transport, mark: str) -> None:
        self._running = running
        self._transport = transport
        self._mark = mark.encode()
        self.description = transport.description
        self.requests = 0  # round trips on the lock's session
        self._broken: str | None = None

    @property
    def round_trips(self) -> int:
        return self._transport.round_trips

    def run(
        self,
        argv: Sequence[str],
        *,
        stdin: bytes | None = None,
        timeout: float | None = None,
        env: dict[str, str] | None = None,
    ) -> CommandResult:
        result = self.run_batch([Command(tuple(argv), stdin, env)], timeout=timeout)[0]
        assert result is not None  # noqa: S101 - a batch of one is never skipped
        return result

    def run_batch(
        self, commands: Sequence[Command], *, timeout: float | None = None
    ) -> list[CommandResult | None]:
        if not commands:
            return []
        if self._broken:
            raise TransportError(
                f"{self.description}: {self._broken}", hint="run the command again"
            )
        data = encode_batch(commands)
        doing = f"run `{shown(commands[0].argv)}`"
        self.requests += 1
        deadline = time.monotonic() + (_FOREVER if timeout is None else timeout)
        with self._sending(data):
            try:
                return [self._answer(c, deadline, timeout, doing) for c in commands]
            except TransportError as exc:
                self._broken = exc.message
                raise

    @contextlib.contextmanager
    def _sending(self, data: bytes) -> Iterator[None]:
        if len(data) <= _SEND_INLINE:
            self._running.send(data)
            yield
            return
        failed: list[TransportError] = []

        def feed() -> None:
            try:
                self._running.send(data)
            except TransportError as exc:
                failed.append(exc)

        feeder = threading.Thread(target=feed, daemon=True)
        feeder.start()
        try:
            yield
        finally:
            feeder.join(timeout=1.0)
        if failed:
            raise failed[0]

    def _answer(
        self, command: Command, deadline: float, timeout: float | None, doing: str
    ) -> CommandResult | None:
        stdout, said = self._read_until_mark(deadline, timeout, doing)
        if said == b"skipped":
            return None
        code = int(said.removeprefix(b"rc "))
        stderr, said = self._read_until_mark(deadline, timeout, doing)
        if said != b"end":
            raise TransportError(f"{self.description}: the host lock's session is confused")
        return CommandResult(command.argv, code, stdout, stderr)

    def _read_until_mark(
        self, deadline: float, timeout: float | None, doing: str
    ) -> tuple[bytes, bytes]:
        """What came before the next mark line (less the newline lock.sh puts before it),
        and what that line says after the mark."""
        lines: list[bytes] = []
        prefix = self._mark + b" "
        while True:
            left = deadline - time.monotonic()
            if left <= 0:
                raise self._timed_out(doing, timeout)
            try:
                line = self._running.read_line(left)
            except TransportError:
                raise self._timed_out(doing, timeout) from None
            if not line.endswith(b"\n"):  # the session ended
                raise self._running.failure(doing)
            if line.startswith(prefix):
                return b"".join(lines)[:-1], line[len(prefix) : -1]
            lines.append(line)

    def _timed_out(self, doing: str, timeout: float | None) -> TransportError:
        return TransportError(
            f"{self.description}: could not {doing} within {timeout or _FOREVER:g}s",
            hint="the command was abandoned, and the host lock with it; check the host's load "
            "or raise the timeout",
        )

    # Files: host/scripts/files.sh through this session.

    def read_file(self, path: str) -> bytes | None:
        result = self.run_batch([read_command(path)])[0]
        return read_answer(result, self.description, path)

    def write_file_atomic(self, path: str, data: bytes, *, mode: int = 0o644) -> None:
        check_done(self.run_batch([write_command(path, data, mode)])[0], self, "write", path)

    def makedirs(self, path: str, *, mode: int = 0o755) -> None:
        check_done(self.run_batch([mkdir_command(path, mode)])[0], self, "create directory", path)

    def remove(self, path: str) -> None:
        check_done(self.run_batch([remove_command(path)])[0], self, "remove", path)

    def start(self, argv: Sequence[str], *, env: dict[str, str] | None = None) -> RunningCommand:
        return self._transport.start(argv, env=env)

    def close(self) -> None:
        """Nothing to close: the lock ends the session."""
