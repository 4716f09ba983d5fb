"""This machine as a host: subprocesses with argument lists (never a shell) and local files."""

from __future__ import annotations

import contextlib
import os
import select
import signal
import subprocess
import tempfile
import threading
import time
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import IO, cast

from beast_observatory.errors import TransportError
from beast_observatory.host.transport.base import (
    Command,
    CommandResult,
    LineBuffer,
    run_each,
    shown,
)

_CHUNK = 65536
# What a POSIX shell answers for a missing or non-executable command: the SSH transport gets
# these from the remote shell, so the local one gives the same instead of raising.
_EXIT_NOT_FOUND = 127
_EXIT_NOT_EXECUTABLE = 126


class LocalTransport:
    """Runs commands and writes files on this machine."""

    def __init__(self) -> None:
        self.description = "this machine"
        self.round_trips = 0

    def run(
        self,
        argv: Sequence[str],
        *,
        stdin: bytes | None = None,
        timeout: float | None = None,
        env: dict[str, str] | None = None,
    ) -> CommandResult:
        argv = _checked(argv)
        self.round_trips += 1
        try:
            done = subprocess.run(
                argv,
                input=stdin if stdin is not None else b"",
                capture_output=True,
                timeout=timeout,
                env=_merged_env(env),
                check=False,
            )
        except subprocess.TimeoutExpired:
            raise TransportError(
                f"`{shown(argv)}` did not finish within {timeout:g}s on {self.description}"
            ) from None
        except FileNotFoundError:
            return _not_runnable(argv, _EXIT_NOT_FOUND, "command not found")
        except PermissionError:
            return _not_runnable(argv, _EXIT_NOT_EXECUTABLE, "permission denied")
        return CommandResult(argv, done.returncode, done.stdout, done.stderr)

    def run_batch(
        self, commands: Sequence[Command], *, timeout: float | None = None
    ) -> list[CommandResult | None]:
        return run_each(self.run, commands, timeout)

    def start(self, argv: Sequence[str], *, env: dict[str, str] | None = None) -> LocalCommand:
        argv = _checked(argv)
        self.round_trips += 1
        try:
            process = subprocess.Popen(
                argv,
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
                env=_merged_env(env),
                # Its own process group: Ctrl-C reaches us, not it, and a timeout kills all of it.
                start_new_session=True,
            )
        except OSError as exc:
            raise TransportError(f"cannot start `{shown(argv)}`: {exc.strerror}") from exc
        return LocalCommand(argv, process)

    def read_file(self, path: str) -> bytes | None:
        with _file_errors("read", path):
            try:
                return Path(path).read_bytes()
            except FileNotFoundError:
                return None

    def write_file_atomic(self, path: str, data: bytes, *, mode: int = 0o644) -> None:
        target = Path(path)
        with _file_errors("write", path):
            fd, temporary = tempfile.mkstemp(prefix=f".{target.name}.tmp-", dir=target.parent)
            try:
                with os.fdopen(fd, "wb") as handle:
                    os.fchmod(handle.fileno(), mode)
                    handle.write(data)
                    handle.flush()
                    os.fsync(handle.fileno())
                Path(temporary).replace(target)
            except BaseException:
                Path(temporary).unlink(missing_ok=True)
                raise
            _fsync_directory(target.parent)

    def makedirs(self, path: str, *, mode: int = 0o755) -> None:
        with _file_errors("create directory", path):
            Path(path).mkdir(mode=mode, parents=True, exist_ok=True)

    def remove(self, path: str) -> None:
        with _file_errors("remove", path):
            Path(path).unlink(missing_ok=True)

    def close(self) -> None:
        """Nothing to close: each command is its own process."""


class LocalCommand:
    """A local subprocess started by ``LocalTransport.start``."""

    def __init__(self, argv: tuple[str, ...], process: subprocess.Popen[bytes]) -> None:
        self.argv = argv
        self._process = process
        self._lines = LineBuffer(self._recv)
        # Collected in the background: a full stderr pipe would stall a long-running command
        # while we wait for lines on its stdout.
        self._stderr = bytearray()
        self._stderr_reader = threading.Thread(target=self._collect_stderr, daemon=True)
        self._stderr_reader.start()

    def _recv(self, timeout: float) -> bytes:
        fd = cast("IO[bytes]", self._process.stdout).fileno()  # Popen(stdout=PIPE) sets it
        readable, _, _ = select.select([fd], [], [], timeout)
        if not readable:
            raise TimeoutError
        return os.read(fd, _CHUNK)

    def _collect_stderr(self) -> None:
        fd = cast("IO[bytes]", self._process.stderr).fileno()
        while chunk := os.read(fd, _CHUNK):
            self._stderr += chunk

    def send(self, data: bytes) -> None:
        stdin = cast("IO[bytes]", self._process.stdin)
        try:
            stdin.write(data)
            stdin.flush()
        except (BrokenPipeError, ValueError):  # it exited; ValueError: we closed its stdin
            raise self.failure("send it input") from None

    def failure(self, doing: str) -> TransportError:
        return TransportError(
            f"this machine: `{shown(self.argv)}` ended while trying to {doing}",
            hint="see its message above, then run the command again",
        )

    def read_line(self, timeout: float) -> bytes:
        try:
            return self._lines.read_line(timeout)
        except TimeoutError:
            raise TransportError(
                f"`{shown(self.argv)}` printed no line within {timeout:g}s on this machine"
            ) from None

    def read(self, timeout: float) -> bytes:
        try:
            return self._lines.read(timeout)
        except TimeoutError:
            raise TransportError(
                f"`{shown(self.argv)}` printed nothing within {timeout:g}s on this machine"
            ) from None

    def close(self, timeout: float = 10.0) -> CommandResult:
        deadline = time.monotonic() + timeout
        with contextlib.suppress(OSError):  # it may have exited and closed its end already
            cast("IO[bytes]", self._process.stdin).close()
        stdout = bytearray(self._lines.take())
        try:
            while chunk := self._recv(max(deadline - time.monotonic(), 0.0)):
                stdout += chunk
            exit_code = self._process.wait(max(deadline - time.monotonic(), 0.0))
        except (TimeoutError, subprocess.TimeoutExpired):
            os.killpg(self._process.pid, signal.SIGKILL)
            self._process.wait()
            exit_code = -1
        self._stderr_reader.join(timeout=1.0)
        for stream in (self._process.stdout, self._process.stderr):
            cast("IO[bytes]", stream).close()
        return CommandResult(self.argv, exit_code, bytes(stdout), bytes(self._stderr))


def _checked(argv: Sequence[str]) -> tuple[str, ...]:
    if not argv:
        raise ValueError("an empty command has nothing to run")
    return tuple(argv)


def _merged_env(env: dict[str, str] | None) -> dict[str, str] | None:
    return None if env is None else {**os.environ, **env}


def _not_runnable(argv: tuple[str, ...], exit_code: int, why: str) -> CommandResult:
    return CommandResult(argv, exit_code, b"", f"{argv[0]}: {why}\n".encode())


def _fsync_directory(directory: Path) -> None:
    """Make the rename itself durable, not only the file's content."""
    fd = os.open(directory, os.O_RDONLY | os.O_DIRECTORY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


@contextlib.contextmanager
def _file_errors(doing: str, path: str) -> Iterator[None]:
    try:
        yield
    except OSError as exc:
        raise TransportError(
            f"cannot {doing} {path} on this machine: {exc.strerror or exc}",
            hint="check that the directory exists and that you may write there",
        ) from exc
