"""A host reached over SSH with Fabric: one connection, one SFTP session, quoted commands.

How the connection is made (ssh config, strict host keys, failure messages) is in
``ssh_connect``. Fabric and paramiko are imported inside functions, so importing this module
costs nothing until a remote host is used.
"""

from __future__ import annotations

import contextlib
import errno
import posixpath
import secrets
import select
import shlex
import stat
import threading
import time
from collections.abc import Iterator, Sequence
from typing import TYPE_CHECKING, cast

from beast_observatory.errors import TransportError
from beast_observatory.host.transport.base import (
    Command,
    CommandResult,
    HostTarget,
    LineBuffer,
    run_each,
    shown,
)
from beast_observatory.host.transport.ssh_connect import describe, fabric_connection, hops, open_hop

if TYPE_CHECKING:
    from paramiko import Channel, SFTPClient

_CHUNK = 32768


class SshTransport:
    """Runs commands and writes files on a host over one SSH connection (opened on first use)."""

    def __init__(self, target: HostTarget) -> None:
        if target.host is None:
            raise ValueError("SshTransport needs a host; use LocalTransport for this machine")
        self.target = target
        self.round_trips = 0
        self._connection = fabric_connection(target)
        self.description = describe(self._connection)
        self._connected = False
        self._closed = False
        self._sftp: SFTPClient | None = None
        self._connecting: threading.Thread | None = None
        self._connect_failure: TransportError | None = None
        self._connected_in_background = False
        self._state = threading.Lock()

    def connect_in_background(self) -> None:
        """Start connecting now, in a thread, while the caller does other work (a command
        compiles its bundle meanwhile: over a slow link the handshake's round trips are then
        not waited for twice). The first use of the transport waits for it, and raises what
        connecting raised."""
        if self._connected or self._connecting is not None:
            return

        def connect() -> None:
            try:
                self._open()
            except TransportError as exc:
                self._connect_failure = exc
            with self._state:
                self._connected_in_background = True
                if self._closed:  # closed meanwhile, e.g. the spec had an error
                    self._close_hops()

        self._connecting = threading.Thread(target=connect, name="ssh-connect", daemon=True)
        self._connecting.start()

    def connect(self) -> None:
        """Open the connection now (every other method does it when first needed)."""
        if self._closed:
            raise RuntimeError(f"the transport to {self.description} is closed")
        if self._connecting is not None:
            self._connecting.join()
            self._connecting = None
            failure, self._connect_failure = self._connect_failure, None
            if failure is not None:
                raise failure
        self._open()

    def _open(self) -> None:
        if self._connected:
            return
        try:
            # Open the jump hosts first, one by one, so a failure names the hop that failed.
            for hop in reversed(list(hops(self._connection))):
                open_hop(hop, self.target)
        except TransportError:
            self._close_hops()
            raise
        self._connected = True

    def run(
        self,
        argv: Sequence[str],
        *,
        stdin: bytes | None = None,
        timeout: float | None = None,
        env: dict[str, str] | None = None,
    ) -> CommandResult:
        argv = tuple(argv)
        command = command_line(argv, env)
        channel = self._exec(command)
        deadline = None if timeout is None else time.monotonic() + timeout
        try:
            feeder = _feed_stdin(channel, stdin)
            stdout, stderr = _drain(channel, deadline)
            exit_code = _exit_status(channel, deadline)
            feeder.join()
        except TimeoutError:
            raise TransportError(
                f"{self.description}: `{shown(argv)}` did not finish within {timeout:g}s",
                hint="the command was abandoned; check the host's load or raise the timeout",
            ) from None
        finally:
            channel.close()
        if exit_code == -1 and not self._active():  # no exit status: the connection died
            raise lost_error(self.description, f"run `{shown(argv)}`", EOFError())
        return CommandResult(argv, exit_code, stdout, stderr)

    def run_batch(
        self, commands: Sequence[Command], *, timeout: float | None = None
    ) -> list[CommandResult | None]:
        return run_each(self.run, commands, timeout)

    def start(self, argv: Sequence[str], *, env: dict[str, str] | None = None) -> SshCommand:
        argv = tuple(argv)
        command = command_line(argv, env)
        return SshCommand(argv, self._exec(command), self.description)

    def _exec(self, command: str) -> Channel:
        self.connect()
        with self._lost("start a command"):
            if not self._active():
                raise EOFError
            transport = self._connection.client.get_transport()
            channel = cast("Channel", transport.open_session(timeout=self.target.connect_timeout))
            self.round_trips += 1
            channel.exec_command(command)
        return channel

    def _active(self) -> bool:
        transport = self._connection.client.get_transport()
        return transport is not None and bool(transport.is_active())

    def _sftp_session(self) -> SFTPClient:
        if self._sftp is None:
            self.connect()
            with self._lost("open an SFTP session"):
                self._sftp = cast("SFTPClient", self._connection.sftp())
            self.round_trips += 1
        return self._sftp

    def read_file(self, path: str) -> bytes | None:
        sftp = self._sftp_session()
        with self._file_errors("read", path):
            try:
                with sftp.open(path, "rb") as handle:
                    handle.prefetch()
                    return handle.read()
            except FileNotFoundError:
                return None

    def write_file_atomic(self, path: str, data: bytes, *, mode: int = 0o644) -> None:
        sftp = self._sftp_session()
        directory, name = posixpath.split(path)
        temporary = posixpath.join(directory, f".{name}.tmp-{secrets.token_hex(6)}")
        with self._file_errors("write", path):
            try:
                with sftp.open(temporary, "wbx") as handle:
                    handle.chmod(mode)  # before any byte is written: secrets are never exposed
                    handle.set_pipelined(True)
                    handle.write(data)
                # Paramiko has no fsync@openssh.com; the rename keeps the file old or new
                # whatever happens to the connection, which is what readers depend on.
                sftp.posix_rename(temporary, path)
            except BaseException:
                with contextlib.suppress(Exception):
                    sftp.remove(temporary)
                raise

    def makedirs(self, path: str, *, mode: int = 0o755) -> None:
        sftp = self._sftp_session()
        with self._file_errors("create directory", path):
            _sftp_makedirs(sftp, path, mode)

    def remove(self, path: str) -> None:
        sftp = self._sftp_session()
        with self._file_errors("remove", path), contextlib.suppress(FileNotFoundError):
            sftp.remove(path)

    def close(self) -> None:
        """Close the connection; one still being opened in the background closes when it is
        open (nobody waits for it)."""
        with self._state:
            self._closed = True
            self._sftp = None
            if self._connecting is None or self._connected_in_background:
                self._close_hops()

    def _close_hops(self) -> None:
        # Fabric's Connection.close leaves its gateway open: close every hop ourselves.
        for hop in hops(self._connection):
            with contextlib.suppress(Exception):
                hop.close()

    @contextlib.contextmanager
    def _lost(self, doing: str) -> Iterator[None]:
        from paramiko import SSHException  # noqa: PLC0415 - heavy: only for remote hosts

        try:
            yield
        except (SSHException, EOFError, OSError) as exc:
            raise lost_error(self.description, doing, exc) from exc

    @contextlib.contextmanager
    def _file_errors(self, doing: str, path: str) -> Iterator[None]:
        from paramiko import SSHException  # noqa: PLC0415 - heavy: only for remote hosts

        try:
            yield
        except (SSHException, EOFError) as exc:
            raise lost_error(self.description, f"{doing} {path}", exc) from exc
        except OSError as exc:
            if exc.errno is None:  # paramiko's "Socket is closed": the connection went away
                raise lost_error(self.description, f"{doing} {path}", exc) from exc
            # an SFTP status (it carries an errno): the file, not the connection
            raise TransportError(
                f"{self.description}: cannot {doing} {path}: {exc.strerror or exc}",
                hint="check that the directory exists and that the SSH user may write there",
            ) from exc


class SshCommand:
    """A command started on the host by ``SshTransport.start``; ends when its channel closes."""

    def __init__(self, argv: tuple[str, ...], channel: Channel, host: str) -> None:
        self.argv = argv
        self._channel = channel
        self._host = host
        self._lines = LineBuffer(self._recv)
        self._stderr = bytearray()

    def _recv(self, timeout: float) -> bytes:
        """The next stdout chunk (b"" at its end). Stderr is kept on the side as it comes:
        left unread, it would fill the channel's window and stall the command."""
        deadline = time.monotonic() + timeout
        channel = self._channel
        while True:
            while channel.recv_stderr_ready():
                self._stderr += channel.recv_stderr(_CHUNK)
            if channel.recv_ready() or channel.eof_received or channel.closed:
                return channel.recv(_CHUNK)
            select.select([channel], [], [], _remaining(deadline))

    def send(self, data: bytes) -> None:
        from paramiko import SSHException  # noqa: PLC0415 - heavy: only for remote hosts

        try:
            self._channel.sendall(data)
        except (SSHException, EOFError, OSError):
            raise self.failure("send a command") from None

    def failure(self, doing: str) -> TransportError:
        return lost_error(self._host, doing, EOFError())

    def read_line(self, timeout: float) -> bytes:
        try:
            return self._lines.read_line(timeout)
        except TimeoutError:
            raise TransportError(
                f"{self._host}: `{shown(self.argv)}` printed no line within {timeout:g}s"
            ) from None

    def read(self, timeout: float) -> bytes:
        try:
            return self._lines.read(timeout)
        except TimeoutError:
            raise TransportError(
                f"{self._host}: `{shown(self.argv)}` printed nothing within {timeout:g}s"
            ) from None

    def close(self, timeout: float = 10.0) -> CommandResult:
        deadline = time.monotonic() + timeout
        with contextlib.suppress(Exception):  # a dead connection has closed it already
            self._channel.shutdown_write()
        try:
            stdout, stderr = _drain(self._channel, deadline)
            exit_code = _exit_status(self._channel, deadline)
        except TimeoutError:
            stdout, stderr, exit_code = b"", b"", -1
        finally:
            self._channel.close()
        stderr = bytes(self._stderr) + stderr
        return CommandResult(self.argv, exit_code, self._lines.take() + stdout, stderr)


def command_line(argv: tuple[str, ...], env: dict[str, str] | None = None) -> str:
    """The one string sshd hands to the login shell: every word quoted, nothing interpreted."""
    if not argv:
        raise ValueError("an empty command would open a login shell")
    if not env:
        return shlex.join(argv)
    for name in env:
        if not name.isidentifier():
            raise ValueError(f"not an environment variable name: {name!r}")
    # `env` rather than channel env requests, which sshd drops unless AcceptEnv lists them.
    return shlex.join(["env", *(f"{name}={value}" for name, value in env.items()), *argv])


def _feed_stdin(channel: Channel, data: bytes | None) -> threading.Thread:
    """Send stdin in a thread, so a command that writes before it reads cannot deadlock us."""

    def feed() -> None:
        with contextlib.suppress(Exception):  # the command may exit without reading it all
            if data:
                channel.sendall(data)
            channel.shutdown_write()

    feeder = threading.Thread(target=feed, daemon=True)
    feeder.start()
    return feeder


def _drain(channel: Channel, deadline: float | None) -> tuple[bytes, bytes]:
    """Everything the command prints on stdout and stderr, until it closes them."""
    stdout, stderr = bytearray(), bytearray()
    while True:
        # Read first: once EOF is seen, everything sent before it is already buffered.
        finished = bool(channel.eof_received) or channel.closed
        got = False
        while channel.recv_ready():
            stdout += channel.recv(_CHUNK)
            got = True
        while channel.recv_stderr_ready():
            stderr += channel.recv_stderr(_CHUNK)
            got = True
        if finished:
            return bytes(stdout), bytes(stderr)
        if not got:
            select.select([channel], [], [], _remaining(deadline))


def _exit_status(channel: Channel, deadline: float | None) -> int:
    if not channel.status_event.wait(_remaining(deadline)):
        raise TimeoutError
    return channel.exit_status  # -1 when the command died without one (e.g. by a signal)


def _remaining(deadline: float | None) -> float | None:
    if deadline is None:
        return None
    left = deadline - time.monotonic()
    if left <= 0:
        raise TimeoutError
    return left


def _sftp_makedirs(sftp: SFTPClient, path: str, mode: int) -> None:
    try:
        if not stat.S_ISDIR(sftp.stat(path).st_mode or 0):
            raise NotADirectoryError(errno.ENOTDIR, "it exists and is not a directory")
    except FileNotFoundError:
        parent = posixpath.dirname(path.rstrip("/"))
        if parent and parent != path:
            _sftp_makedirs(sftp, parent, mode)
        sftp.mkdir(path, mode)


def lost_error(where: str, doing: str, exc: BaseException) -> TransportError:
    why = str(exc) or "the connection was closed"  # paramiko raises a bare EOFError for that
    return TransportError(
        f"{where}: the SSH connection failed while trying to {doing}: {why}",
        hint="check the host and the network, then run the command again; files are replaced "
        "atomically, so each one is either old or new",
    )
