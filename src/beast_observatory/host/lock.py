"""The host lock: one operation at a time changes a host's deploy directory.

The lock is an flock held by a small shell process on the host, started over the transport and
kept alive by its open stdin. Closing stdin releases it; so does our process dying or the SSH
connection dropping, because the host then closes that stdin for us. No stale lock files.
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
from beast_observatory.host.transport.base import RunningCommand, Transport

_EXIT_HELD = 75  # EX_TEMPFAIL

# $1 lock file, $2 its directory, $3 who we are (one line of JSON). The holder writes $3 to
# "$1.info" so that a second comer can say who holds the lock; `cat` then waits for stdin to
# close, while the shell keeps fd 9 (and so the flock) open.
_HOLD_SCRIPT = r"""
mkdir -p -- "$2" || exit 73
exec 9>>"$1" || exit 73
flock -n 9
status=$?
if [ "$status" -eq 1 ]; then
    printf 'held %s\n' "$(cat -- "$1.info" 2>/dev/null)"
    exit 75
fi
[ "$status" -eq 0 ] || exit "$status"
printf '%s\n' "$3" > "$1.info.tmp" && mv -f -- "$1.info.tmp" "$1.info"
echo acquired
cat >/dev/null
rm -f -- "$1.info"
"""


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
    """``with HostLock(transport, "/opt/observatory/prod/.lock"):`` - fails at once with
    HostLockedError, naming the holder, when another operation holds the lock."""

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

    def __enter__(self) -> HostLock:
        if self._running is not None:
            raise RuntimeError(f"the host lock {self.path} is already held by this object")
        argv = ["sh", "-c", _HOLD_SCRIPT, "observatory-lock", self.path]
        argv += [posixpath.dirname(self.path) or ".", self.holder.to_json()]
        running = self.transport.start(argv)
        try:
            answer = running.read_line(self.timeout)
        except TransportError:
            running.close()
            raise
        if answer == b"acquired\n":
            self._running = running
            return self
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
            hint="the host needs `flock` (util-linux) and a deploy directory the SSH user may "
            "write to",
        )

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        running, self._running = self._running, None
        if running is not None:
            running.close(self.timeout)


def _user() -> str:
    try:
        return getpass.getuser()
    except (KeyError, OSError):  # no name for this uid, e.g. in a bare container
        return str(os.getuid())
