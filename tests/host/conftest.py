"""Fixtures for the transport tests: one real sshd for the session, transports that reach it."""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from beast_observatory.host.transport.base import HostTarget
from beast_observatory.host.transport.local import LocalTransport
from beast_observatory.host.transport.ssh import SshTransport

from .sshd import ALIAS, TestSshd

Write = Callable[[str, bytes], None]
NeverTorn = Callable[[Path, Write], None]


@pytest.fixture(scope="session")
def sshd() -> Iterator[TestSshd]:
    with TestSshd() as server:
        yield server


@pytest.fixture
def target(sshd: TestSshd) -> HostTarget:
    """``vonnegut`` as the ssh config and known_hosts of the test server describe it."""
    return HostTarget(
        ALIAS,
        ssh_config_path=sshd.ssh_config,
        known_hosts_path=sshd.known_hosts,
        connect_timeout=5.0,
    )


@pytest.fixture
def remote(target: HostTarget) -> Iterator[SshTransport]:
    transport = SshTransport(target)
    yield transport
    transport.close()


@pytest.fixture
def local() -> LocalTransport:
    return LocalTransport()


@pytest.fixture
def assert_never_torn() -> NeverTorn:
    """A checker: while ``write`` replaces a file again and again, a reader looping on it in
    another thread sees the old or the new content, never a missing, empty or partial file."""
    return _assert_never_torn


def _assert_never_torn(path: Path, write: Write, rounds: int = 40) -> None:
    old, new = b"old\n" * 250_000, b"new!\n" * 250_000  # 1 MB each, sizes differ
    write(str(path), old)
    stop, torn, reads = threading.Event(), [], [0]

    def reader() -> None:
        while not stop.is_set():
            try:
                data = path.read_bytes()
            except FileNotFoundError:
                data = b"<missing>"
            if data not in (old, new):
                torn.append(f"{len(data)} bytes: {data[:12]!r}...")
            reads[0] += 1

    thread = threading.Thread(target=reader)
    thread.start()
    try:
        for i in range(rounds):
            write(str(path), new if i % 2 == 0 else old)
    finally:
        stop.set()
        thread.join()
    assert reads[0] > rounds, "the reader did not race the writer; the check proved nothing"
    assert not torn, f"a reader saw a torn file {len(torn)} times, e.g. {torn[0]}"
