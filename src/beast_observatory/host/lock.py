"""The host lock: one operation at a time changes a host's deploy directory.

The lock is an flock held by a small shell on the host (host/scripts/lock.sh), started over
the transport and kept alive by its open stdin. Closing stdin releases it; so does our process
dying or the SSH connection dropping, because the host then closes that stdin for us. No stale
lock files. While it holds the lock, that shell runs the operation's commands too: entering a
HostLock gives a Transport whose commands go through the lock's session (a round trip each, no
new session: host/transport/served.py).
"""

from __future__ import annotations

import datetime as dt
import getpass
import json
import os
import posixpath
import shlex
import socket
import sys
from dataclasses import asdict, dataclass
from types import TracebackType

from beast_observatory.errors import HostLockedError, TransportError
from beast_observatory.host.shell import host_script
from beast_observatory.host.transport.base import RunningCommand, Transport
from beast_observatory.host.transport.served import ServedTransport, new_mark

LOCK = host_script("lock.sh")
_EXIT_HELD = 75  # EX_TEMPFAIL


@dataclass(frozen=True)
class LockHolder:
    """Who holds a host lock, as the holder wrote it down."""

    holder: str  # user@machine
    pid: int
    command: str
    since: str  # ISO 8601, UTC

    @classmethod
    def current(cls) -> LockHolder:
        """This process."""
        command = shlex.join([posixpath.basename(sys.argv[0]), *sys.argv[1:]])
        since = dt.datetime.now(dt.UTC).isoformat(timespec="seconds")
        return cls(f"{_user()}@{socket.gethostname()}", os.getpid(), command, since)

    @classmethod
    def parse(cls, text: str) -> LockHolder | None:
        try:
            fields = json.loads(text)
            return cls(
                holder=str(fields["holder"]),
                pid=int(fields["pid"]),
                command=str(fields["command"]),
                since=str(fields["since"]),
            )
        except (ValueError, TypeError, KeyError):
            return None

    def to_json(self) -> str:
        return json.dumps(asdict(self), sort_keys=True)

    def __str__(self) -> str:
        return f"{self.holder} (pid {self.pid}, running `{self.command}`) since {self.since}"


class HostLock:
    """``with HostLock(transport, "/opt/observatory/prod/.lock") as host:`` - fails at once
    with HostLockedError, naming the holder, when another operation holds the lock; ``host``
    runs commands under the lock, in the lock's session."""

    def __init__(
        self,
        transport: Transport,
        path: str,
        *,
        holder: LockHolder | None = None,
        timeout: float = 30.0,
    ) -> None:
        self.transport = transport
        self.path = path
        self.holder = holder or LockHolder.current()
        self.timeout = timeout
        self._running: RunningCommand | None = None

    def __enter__(self) -> ServedTransport:
        if self._running is not None:
            raise RuntimeError(f"the host lock {self.path} is already held by this object")
        mark = new_mark()
        running = self.transport.start(LOCK.argv(self.path, self.holder.to_json(), mark))
        try:
            answer = running.read_line(self.timeout)
        except TransportError:
            running.close()
            raise
        if answer == b"acquired\n":
            self._running = running
            return ServedTransport(running, self.transport, mark)
        raise self._refusal(answer, running)

    def _refusal(self, answer: bytes, running: RunningCommand) -> Exception:
        result = running.close(self.timeout)
        where = self.transport.description
        if answer.startswith(b"held") and result.exit_code == _EXIT_HELD:
            holder = LockHolder.parse(answer.decode("utf-8", "replace")[len("held ") :])
            who = str(holder) if holder else "another operation (it has not said who yet)"
            return HostLockedError(
                f"{where}: another operation is changing this host: the lock {self.path} "
                f"is held by {who}",
                hint="wait for it to finish and run the command again; the lock goes away by "
                "itself when that process ends or its connection drops",
            )
        detail = result.stderr.decode("utf-8", "replace").strip() or f"exit {result.exit_code}"
        return TransportError(
            f"{where}: cannot take the host lock {self.path}: {detail}",
            hint="the host needs `flock` (util-linux), `head -c` and a deploy directory the SSH "
            "user may write to",
        )

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        running, self._running = self._running, None
        if running is not None:
            # After an error (Ctrl-C, a lost connection) the host may still be running a
            # command: do not wait long for it, it goes on without us (a switch completes).
            running.close(self.timeout if exc_type is None else 2.0)


def _user() -> str:
    try:
        return getpass.getuser()
    except (KeyError, OSError):  # no name for this uid, e.g. in a bare container
        return str(os.getuid())
