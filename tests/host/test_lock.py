"""HostLock on this machine and over SSH: one holder at a time, the second told who and since
when, and the lock gone as soon as its holder's process or connection is."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

import beast_observatory
from beast_observatory.errors import HostLockedError, TransportError
from beast_observatory.host.lock import HostLock, LockHolder
from beast_observatory.host.transport import HostTarget, Transport, open_transport

from .sshd import TestSshd

pytestmark = pytest.mark.e2e

ALICE = LockHolder(
    "alice@laptop", 4242, "observatory up --environment prod", "2024-05-01T10:00:00+00:00"
)

Connect = Callable[[], Transport]


@pytest.fixture(params=["local", "ssh"])
def kind(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture
def host_target(kind: str, target: HostTarget) -> HostTarget:
    return target if kind == "ssh" else HostTarget(None)


@pytest.fixture
def connect(host_target: HostTarget) -> Iterator[Connect]:
    """Opens a new transport (a new connection over SSH), closed after the test."""
    opened: list[Transport] = []

    def new_transport() -> Transport:
        opened.append(open_transport(host_target))
        return opened[-1]

    yield new_transport
    for transport in opened:
        transport.close()


@pytest.fixture
def lock_path(tmp_path: Path) -> Path:
    """In a deploy directory that does not exist yet and whose name a shell would misread."""
    return tmp_path / f"deploy dir; touch {tmp_path}/pwned $(id)" / ".observatory.lock"


def test_a_second_holder_fails_at_once_and_is_told_who_holds_it(
    connect: Connect, lock_path: Path, tmp_path: Path
) -> None:
    with HostLock(connect(), str(lock_path), holder=ALICE):
        assert json.loads(Path(f"{lock_path}.info").read_text()) == {
            "command": "observatory up --environment prod",
            "holder": "alice@laptop",
            "pid": 4242,
            "since": "2024-05-01T10:00:00+00:00",
        }
        started = time.monotonic()
        with pytest.raises(HostLockedError) as caught, HostLock(connect(), str(lock_path)):
            pytest.fail("two holders at once")
        assert time.monotonic() - started < 3
    message = caught.value.message
    assert f"the lock {lock_path} is held by alice@laptop (pid 4242, " in message
    assert "running `observatory up --environment prod`) since 2024-05-01T10:00:00+00:00" in message
    assert not Path(f"{lock_path}.info").exists()
    with HostLock(connect(), str(lock_path)):  # released on exit: the next one gets it
        pass
    assert not (tmp_path / "pwned").exists()


def test_the_same_transport_cannot_take_its_own_lock_twice(
    connect: Connect, lock_path: Path
) -> None:
    transport = connect()
    with HostLock(transport, str(lock_path)), pytest.raises(HostLockedError):
        HostLock(transport, str(lock_path)).__enter__()


def test_the_lock_goes_when_its_holder_is_killed(
    kind: str, sshd: TestSshd, lock_path: Path, connect: Connect
) -> None:
    holder = hold_lock_in_another_process(kind, sshd, lock_path)
    try:
        with pytest.raises(HostLockedError, match=f"pid {holder.pid}, running"):
            HostLock(connect(), str(lock_path)).__enter__()
    finally:
        holder.kill()
        holder.wait()
    acquire_within(5.0, connect, lock_path)


def test_the_lock_goes_when_the_connection_drops(target: HostTarget, lock_path: Path) -> None:
    holder = open_transport(target)
    HostLock(holder, str(lock_path)).__enter__()
    holder.close()  # no __exit__: as if the network went away
    others: list[Transport] = []

    def connect() -> Transport:
        others.append(open_transport(target))
        return others[-1]

    try:
        acquire_within(5.0, connect, lock_path)
    finally:
        for transport in others:
            transport.close()


def test_a_lock_that_cannot_be_created_is_a_transport_error(
    connect: Connect, tmp_path: Path
) -> None:
    (tmp_path / "a-file").write_text("")
    with pytest.raises(TransportError, match="cannot take the host lock") as caught:
        HostLock(connect(), f"{tmp_path}/a-file/.lock").__enter__()
    assert "mkdir" in caught.value.message


def test_taking_the_lock_over_ssh_is_one_round_trip(
    target: HostTarget, sshd: TestSshd, lock_path: Path
) -> None:
    before = sshd.count_sessions()
    transport = open_transport(target)
    try:
        with HostLock(transport, str(lock_path)):
            pass
    finally:
        transport.close()
    assert transport.round_trips == 1
    assert sshd.wait_for_sessions(before + 1) - before == 1


def acquire_within(seconds: float, connect: Connect, lock_path: Path) -> None:
    deadline = time.monotonic() + seconds
    while True:
        try:
            with HostLock(connect(), str(lock_path)):
                return
        except HostLockedError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.1)


_HOLDER_SCRIPT = """
import sys, time
from pathlib import Path
from beast_observatory.host.transport import HostTarget, open_transport
from beast_observatory.host.lock import HostLock
host, ssh_config, known_hosts, lock_path = sys.argv[1:]
target = HostTarget(
    host or None, ssh_config_path=Path(ssh_config), known_hosts_path=Path(known_hosts)
)
with HostLock(open_transport(target), lock_path):
    print("locked", flush=True)
    time.sleep(600)
"""


def hold_lock_in_another_process(
    kind: str, sshd: TestSshd, lock_path: Path
) -> subprocess.Popen[bytes]:
    source = str(Path(beast_observatory.__file__).parent.parent)
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([source, os.environ.get("PYTHONPATH", "")])}
    host = "vonnegut" if kind == "ssh" else ""
    argv = [sys.executable, "-c", _HOLDER_SCRIPT, host, str(sshd.ssh_config), str(sshd.known_hosts)]
    holder = subprocess.Popen([*argv, str(lock_path)], stdout=subprocess.PIPE, env=env)
    assert holder.stdout is not None
    assert holder.stdout.readline() == b"locked\n"
    return holder
