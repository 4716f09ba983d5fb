"""Commands served through the host lock's session (host/scripts/lock.sh, real sh), on this
machine and over the test sshd: what a command gets and gives back is what it would get and
give in a session of its own, in one session for all of them."""

from __future__ import annotations

import os
import signal
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from beast_observatory.errors import TransportError
from beast_observatory.host.lock import HostLock
from beast_observatory.host.transport import HostTarget, open_transport
from beast_observatory.host.transport.base import Command, CommandResult
from beast_observatory.host.transport.served import (
    ServedTransport,
    decode_requests,
    encode_answer,
    encode_batch,
)
from host.conftest import NeverTorn
from host.sshd import TestSshd

pytestmark = pytest.mark.e2e  # the ssh half needs the test sshd

NASTY = 'it\'s $(touch pwned) `touch pwned` "x"; \\n\\\\ \t end\n\nnext line\\'


@pytest.fixture(params=["local", "ssh"])
def served(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[ServedTransport]:
    target = request.getfixturevalue("target") if request.param == "ssh" else HostTarget()
    transport = open_transport(target)
    try:
        with HostLock(transport, str(tmp_path / "lock" / ".observatory.lock")) as host:
            yield host
    finally:
        transport.close()


def test_output_exit_codes_and_stderr_come_back_apart(served: ServedTransport) -> None:
    result = served.run(["sh", "-c", "echo out; echo err >&2; printf tail; exit 3"])
    assert (result.exit_code, result.stdout, result.stderr) == (3, b"out\ntail", b"err\n")
    assert served.run(["printf", ""]).stdout == b""
    assert served.run(["sh", "-c", "printf '\\n\\n'"]).stdout == b"\n\n"


def test_arguments_reach_the_program_verbatim(served: ServedTransport, tmp_path: Path) -> None:
    result = served.run(["printf", "%s|%s", NASTY, ""], env={"X": NASTY})
    assert result.stdout.decode() == f"{NASTY}|"
    assert served.run(["sh", "-c", 'printf %s "$X"'], env={"X": NASTY}).stdout.decode() == NASTY
    assert not (tmp_path / "pwned").exists()
    assert not Path("pwned").exists()


def test_binary_stdin_and_stdout_survive(served: ServedTransport) -> None:
    data = bytes(range(256)) * 512 + b"\n\n@@not-a-mark@@ rc 0\n"
    assert served.run(["cat"], stdin=data).stdout == data
    # A command that reads only part of its stdin leaves the session in step.
    assert served.run(["head", "-c", "3"], stdin=b"abcdef" * 100_000).stdout == b"abc"
    assert served.run(["echo", "next"]).stdout == b"next\n"


def test_a_batch_runs_in_order_and_stops_at_a_failure(served: ServedTransport) -> None:
    answers = served.run_batch(
        [
            Command(("sh", "-c", "echo one")),
            Command(("false",), stops=False),  # keeps going
            Command(("sh", "-c", "exit 4")),
            Command(("echo", "never")),
            Command(("cat",), b"skipped, its stdin too"),
        ]
    )
    assert [a.exit_code if a else None for a in answers] == [0, 1, 4, None, None]
    assert served.run_batch([Command(("echo", "a new batch runs"))])[0] == CommandResult(
        ("echo", "a new batch runs"), 0, b"a new batch runs\n", b""
    )
    with pytest.raises(ValueError, match="only the last command"):
        served.run_batch([Command(("cat",), b"x"), Command(("true",))])


def test_every_command_goes_through_the_one_session(
    served: ServedTransport, request: pytest.FixtureRequest
) -> None:
    sessions = served.round_trips
    for _ in range(20):
        served.run(["true"])
    served.write_file_atomic(str(Path(served.run(["mktemp"]).text.strip())), b"x")
    assert served.round_trips == sessions == 1
    if "ssh" in request.node.name:
        sshd: TestSshd = request.getfixturevalue("sshd")
        assert "Starting session" in sshd.log_text()


def test_files_are_written_read_and_removed(served: ServedTransport, tmp_path: Path) -> None:
    path = tmp_path / "a dir; $(id)" / "f.yml"
    served.makedirs(str(path.parent), mode=0o750)
    assert path.parent.stat().st_mode & 0o777 == 0o750
    served.write_file_atomic(str(path), b"secret\n", mode=0o600)
    assert path.read_bytes() == b"secret\n"
    assert path.stat().st_mode & 0o777 == 0o600
    assert served.read_file(str(path)) == b"secret\n"
    assert served.read_file(str(tmp_path / "none")) is None
    served.remove(str(path))
    served.remove(str(path))  # none there: not an error
    assert not path.exists()
    with pytest.raises(TransportError, match="cannot write"):
        served.write_file_atomic(str(tmp_path / "missing" / "f"), b"x")
    with pytest.raises(TransportError, match="cannot read"):
        served.read_file(str(tmp_path))


def test_a_reader_never_sees_a_torn_file(
    served: ServedTransport, tmp_path: Path, assert_never_torn: NeverTorn
) -> None:
    assert_never_torn(tmp_path / "f", served.write_file_atomic)


def test_a_command_that_runs_too_long_abandons_the_session(served: ServedTransport) -> None:
    started = time.monotonic()
    with pytest.raises(TransportError, match=r"within 0\.5s"):
        served.run(["sleep", "5"], timeout=0.5)
    assert time.monotonic() - started < 3
    with pytest.raises(TransportError, match=r"within 0\.5s"):  # what runs now is unknown
        served.run(["true"])


def test_the_session_ending_midway_is_a_transport_error(served: ServedTransport) -> None:
    with pytest.raises(TransportError) as caught:
        # $PPID is the server's subshell for this command; its parent is the server
        served.run(["sh", "-c", "echo partial; kill -9 $(cut -d' ' -f4 /proc/$PPID/stat)"])
    assert "ended" in caught.value.message or "connection failed" in caught.value.message


def test_a_short_upload_leaves_the_old_file(
    target: HostTarget, sshd: TestSshd, tmp_path: Path
) -> None:
    """The connection dies while a file is on its way: the host keeps the old file and
    removes the temporary one."""
    path = tmp_path / "big.json"
    path.write_bytes(b"old")
    transport = open_transport(target)
    lock = HostLock(transport, str(tmp_path / ".lock"))
    host = lock.__enter__()
    killer = _kill_sessions_when_the_upload_starts(sshd, tmp_path)
    with pytest.raises(TransportError, match="the SSH connection failed"):
        host.write_file_atomic(str(path), b"new!" * (32 << 20))
    killer.join()
    transport.close()
    deadline = time.monotonic() + 10
    while list(tmp_path.glob(".big.json.tmp-*")) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert path.read_bytes() == b"old"
    assert not list(tmp_path.glob(".big.json.tmp-*"))


def _kill_sessions_when_the_upload_starts(sshd: TestSshd, directory: Path) -> threading.Thread:
    def kill() -> None:
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            temps = list(directory.glob(".big.json.tmp-*"))
            if temps and temps[0].stat().st_size > 0:
                break
            time.sleep(0.005)
        for pid in sshd.session_pids():
            os.kill(pid, signal.SIGKILL)

    thread = threading.Thread(target=kill)
    thread.start()
    return thread


# ----------------------------------------------------------------- the framing (pure)


def test_requests_decode_as_they_were_encoded() -> None:
    commands = [
        Command(("sh", "-c", NASTY, "name", ""), env={"A": "1"}, stops=False),
        Command(("cat",), b"\x00\n" * 3),
    ]
    requests, rest = decode_requests(encode_batch(commands) + b"3 0")
    assert rest == b"3 0"
    assert [r.argv for r in requests] == [("env", "A=1", "sh", "-c", NASTY, "name", ""), ("cat",)]
    assert [(r.stdin, r.first, r.stops) for r in requests] == [
        (b"", True, False),
        (b"\x00\n" * 3, False, True),
    ]


def test_an_answer_ends_with_its_mark() -> None:
    mark = "@@m@@"
    assert encode_answer(mark, None) == b"\n@@m@@ skipped\n"
    answer = encode_answer(mark, CommandResult(("x",), 2, b"out", b"err\n"))
    assert answer == b"out\n@@m@@ rc 2\nerr\n\n@@m@@ end\n"
