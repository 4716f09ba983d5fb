"""LocalTransport: argument lists to subprocesses, atomic writes to this machine's files."""

from __future__ import annotations

import re
import stat
from pathlib import Path

import pytest

from beast_observatory.errors import TransportError
from beast_observatory.host.transport.local import LocalTransport
from host.conftest import NeverTorn


def test_run_returns_output_and_exit_code_without_raising(local: LocalTransport) -> None:
    result = local.run(["sh", "-c", "echo out; echo err >&2; exit 3"])
    assert (result.exit_code, result.stdout, result.stderr) == (3, b"out\n", b"err\n")
    assert not result.ok
    assert local.round_trips == 1


def test_run_passes_stdin_and_env(local: LocalTransport) -> None:
    result = local.run(
        ["sh", "-c", 'cat; printf %s "$GREETING"'], stdin=b"in\n", env={"GREETING": "hi"}
    )
    assert result.stdout == b"in\nhi"


def test_arguments_reach_the_program_verbatim(local: LocalTransport, tmp_path: Path) -> None:
    words = ["a b", "c'd", "$(touch " + str(tmp_path / "pwned") + ")", ";", "*"]
    result = local.run(["printf", r"%s\n", *words])
    assert result.text.splitlines() == words
    assert not (tmp_path / "pwned").exists()


def test_a_missing_program_is_exit_127_like_a_shell_says(local: LocalTransport) -> None:
    result = local.run(["observatory-no-such-program"])
    assert result.exit_code == 127
    assert b"command not found" in result.stderr


def test_a_command_that_runs_too_long_is_a_transport_error(local: LocalTransport) -> None:
    with pytest.raises(TransportError, match=r"did not finish within 0\.2s"):
        local.run(["sleep", "5"], timeout=0.2)


def test_write_read_makedirs_remove(local: LocalTransport, tmp_path: Path) -> None:
    directory = tmp_path / "a" / "b"
    local.makedirs(str(directory))
    local.makedirs(str(directory))  # already there: fine
    path = str(directory / "file")
    assert local.read_file(path) is None
    local.write_file_atomic(path, b"one")
    local.write_file_atomic(path, b"two")
    assert local.read_file(path) == b"two"
    assert sorted(p.name for p in directory.iterdir()) == ["file"]  # no temporary left
    local.remove(path)
    local.remove(path)  # already gone: fine
    assert local.read_file(path) is None


def test_write_applies_the_mode_even_against_the_umask(
    local: LocalTransport, tmp_path: Path
) -> None:
    secret, public = tmp_path / "secret", tmp_path / "public"
    local.write_file_atomic(str(secret), b"s3cret", mode=0o600)
    local.write_file_atomic(str(public), b"hello")
    assert stat.S_IMODE(secret.stat().st_mode) == 0o600
    assert stat.S_IMODE(public.stat().st_mode) == 0o644


def test_a_reader_never_sees_a_torn_file(
    local: LocalTransport, tmp_path: Path, assert_never_torn: NeverTorn
) -> None:
    assert_never_torn(tmp_path / "prometheus.yml", local.write_file_atomic)


def test_the_torn_file_check_catches_a_writer_that_truncates_in_place(
    tmp_path: Path, assert_never_torn: NeverTorn
) -> None:
    def write_in_place(path: str, data: bytes) -> None:
        with Path(path).open("wb") as handle:  # truncates, then fills: what we must not do
            for start in range(0, len(data), 65536):
                handle.write(data[start : start + 65536])
                handle.flush()

    with pytest.raises(AssertionError, match="saw a torn file"):
        assert_never_torn(tmp_path / "prometheus.yml", write_in_place)


def test_writing_into_a_missing_directory_says_where(local: LocalTransport, tmp_path: Path) -> None:
    path = tmp_path / "missing" / "file"
    with pytest.raises(TransportError, match=re.escape(f"cannot write {path} on this machine")):
        local.write_file_atomic(str(path), b"x")
    assert not (tmp_path / "missing").exists()


def test_a_started_command_streams_lines_until_stdin_closes(local: LocalTransport) -> None:
    running = local.start(["sh", "-c", "echo ready; cat; echo bye >&2; exit 4"])
    assert running.read_line(5) == b"ready\n"
    with pytest.raises(TransportError, match=r"printed no line within 0\.1s"):
        running.read_line(0.1)
    result = running.close()
    assert (result.exit_code, result.stderr) == (4, b"bye\n")
    assert local.round_trips == 1


def test_a_started_command_may_write_much_to_stderr(local: LocalTransport) -> None:
    running = local.start(["sh", "-c", "head -c 1000000 /dev/zero >&2; echo done"])
    assert running.read_line(5) == b"done\n"  # not stuck behind a full stderr pipe
    assert len(running.close().stderr) == 1_000_000


def test_a_started_command_that_ignores_stdin_is_killed_on_close(local: LocalTransport) -> None:
    running = local.start(["sh", "-c", "exec sleep 30"])
    assert running.close(timeout=0.2).exit_code == -1
