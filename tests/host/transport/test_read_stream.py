"""RunningCommand.read: a started command's stdout as a byte stream, on this machine and over
SSH (a real sshd). A backup streams a volume's tar through it: no line breaks are waited for,
and a long run without one is never held whole."""

from __future__ import annotations

import hashlib

import pytest

from beast_observatory.errors import TransportError
from beast_observatory.host.transport.base import Transport
from beast_observatory.host.transport.local import LocalTransport
from beast_observatory.host.transport.ssh import SshTransport

pytestmark = pytest.mark.e2e

# 64 MiB of zeros: not one line break; read_line would have to hold all of it.
SIZE = 64 << 20
ZEROS = ["sh", "-c", f"head -c {SIZE} /dev/zero; echo done >&2"]


def _stream(transport: Transport) -> tuple[int, int, str, bytes]:
    running = transport.start(ZEROS)
    total, biggest, digest = 0, 0, hashlib.sha256()
    while chunk := running.read(10):
        total += len(chunk)
        biggest = max(biggest, len(chunk))
        digest.update(chunk)
    result = running.close()
    assert result.exit_code == 0
    return total, biggest, digest.hexdigest(), result.stderr


@pytest.mark.parametrize("where", ["local", "remote"])
def test_a_binary_stream_arrives_whole_in_small_chunks(
    where: str, local: LocalTransport, remote: SshTransport
) -> None:
    transport: Transport = local if where == "local" else remote
    total, biggest, digest, stderr = _stream(transport)
    assert total == SIZE
    assert digest == hashlib.sha256(bytes(SIZE)).hexdigest()
    assert biggest <= 1 << 16, "a chunk is one read of the pipe or channel, not the stream"
    assert stderr == b"done\n"


@pytest.mark.parametrize("where", ["local", "remote"])
def test_reading_what_a_line_read_left_returns_it_first(
    where: str, local: LocalTransport, remote: SshTransport
) -> None:
    transport: Transport = local if where == "local" else remote
    running = transport.start(["sh", "-c", "printf 'one\\ntwo'; sleep 0.2; printf three"])
    assert running.read_line(5) == b"one\n"
    rest = b""
    while chunk := running.read(5):
        rest += chunk
    assert rest == b"twothree"
    running.close()


@pytest.mark.parametrize("where", ["local", "remote"])
def test_nothing_within_the_timeout_is_a_transport_error(
    where: str, local: LocalTransport, remote: SshTransport
) -> None:
    transport: Transport = local if where == "local" else remote
    running = transport.start(["sh", "-c", "cat >/dev/null"])
    with pytest.raises(TransportError, match=r"printed nothing within 0\.2s"):
        running.read(0.2)
    assert running.close().exit_code == 0
