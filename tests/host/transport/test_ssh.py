"""SshTransport against a real sshd on 127.0.0.1, reached as ``vonnegut`` through an ssh config."""

from __future__ import annotations

import dataclasses
import re
import socket
import stat
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from fabric import Config, Connection

from beast_observatory.errors import EXIT_USER_ERROR, TransportError
from beast_observatory.host.transport import HostTarget, open_transport
from beast_observatory.host.transport.ssh import SshTransport
from host.conftest import NeverTorn
from host.sshd import ALIAS, TestSshd, free_port, keygen

pytestmark = pytest.mark.e2e

NASTY_DIRECTORY = "dir with space; touch {pwned} $(id) `id` 'q' \"dq\" \\ * ?"


def connect_error(target: HostTarget) -> TransportError:
    transport = SshTransport(target)
    try:
        with pytest.raises(TransportError) as caught:
            transport.run(["true"])
    finally:
        transport.close()
    assert caught.value.exit_code == EXIT_USER_ERROR
    return caught.value


def logins(sshd: TestSshd) -> int:
    return sshd.log_text().count("Accepted publickey")


# Commands


def test_run_returns_output_and_exit_code_without_raising(remote: SshTransport) -> None:
    result = remote.run(["sh", "-c", "echo out; echo err >&2; exit 3"])
    assert (result.exit_code, result.stdout, result.stderr) == (3, b"out\n", b"err\n")


def test_run_passes_stdin_and_env(remote: SshTransport) -> None:
    result = remote.run(
        ["sh", "-c", 'cat; printf %s "$GREETING"'], stdin=b"in\n", env={"GREETING": "a b;$(x)"}
    )
    assert result.stdout == b"in\na b;$(x)"


def test_binary_stdin_and_stdout_survive_in_both_directions(remote: SshTransport) -> None:
    payload = bytes(range(256)) * 20_000  # 5 MB: more than an SSH channel window
    assert remote.run(["cat"], stdin=payload).stdout == payload


def test_the_remote_host_is_described_by_alias_and_address(
    remote: SshTransport, sshd: TestSshd
) -> None:
    assert remote.description == f"{ALIAS} (root@127.0.0.1:{sshd.port})"


def test_arguments_reach_the_program_verbatim(remote: SshTransport, tmp_path: Path) -> None:
    pwned = tmp_path / "pwned"
    words = ["a b", "c'd", f"$(touch {pwned})", f"`touch {pwned}`", f"; touch {pwned}", "*", ""]
    result = remote.run(["printf", r"[%s]\n", *words])
    assert result.text.splitlines() == [f"[{word}]" for word in words]
    assert not pwned.exists()


def test_a_deploy_directory_with_shell_metacharacters_works_and_injects_nothing(
    remote: SshTransport, tmp_path: Path
) -> None:
    pwned = tmp_path / "pwned"
    directory = tmp_path / NASTY_DIRECTORY.format(pwned=pwned)
    remote.makedirs(str(directory))
    remote.write_file_atomic(f"{directory}/prometheus.yml", b"global: {}\n")
    assert remote.read_file(f"{directory}/prometheus.yml") == b"global: {}\n"
    listing = remote.run(["ls", "-a", str(directory)])
    assert listing.ok
    assert listing.text.split() == [".", "..", "prometheus.yml"]
    assert remote.run(["test", "-d", str(directory)]).ok
    assert (directory / "prometheus.yml").read_bytes() == b"global: {}\n"
    assert not pwned.exists()


def test_a_command_that_runs_too_long_is_a_transport_error(remote: SshTransport) -> None:
    started = time.monotonic()
    with pytest.raises(TransportError, match=r"`sleep 5` did not finish within 0\.5s"):
        remote.run(["sleep", "5"], timeout=0.5)
    assert time.monotonic() - started < 3
    assert remote.run(["echo", "still usable"]).text == "still usable\n"


def test_a_started_command_streams_lines_until_stdin_closes(remote: SshTransport) -> None:
    running = remote.start(["sh", "-c", "echo ready; cat; echo bye >&2; exit 4"])
    assert running.read_line(5) == b"ready\n"
    with pytest.raises(TransportError, match=r"printed no line within 0\.2s"):
        running.read_line(0.2)
    result = running.close()
    assert (result.exit_code, result.stderr) == (4, b"bye\n")


def test_a_started_command_may_write_much_to_stderr(remote: SshTransport) -> None:
    running = remote.start(["sh", "-c", "head -c 5000000 /dev/zero >&2; echo done"])
    assert running.read_line(10) == b"done\n"
    assert len(running.close().stderr) == 5_000_000


# One connection, few round trips


def test_round_trips_are_the_sessions_sshd_started(
    target: HostTarget, sshd: TestSshd, tmp_path: Path
) -> None:
    sessions_before, logins_before = sshd.count_sessions(), logins(sshd)
    transport = SshTransport(target)
    try:
        transport.run(["true"])
        transport.makedirs(f"{tmp_path}/deploy")
        transport.write_file_atomic(f"{tmp_path}/deploy/a", b"a")
        transport.read_file(f"{tmp_path}/deploy/a")
        transport.remove(f"{tmp_path}/deploy/a")
        transport.run(["false"])
        transport.start(["cat"]).close()
    finally:
        transport.close()
    # run, the one SFTP session for all file operations, run, start
    assert transport.round_trips == 4
    assert sshd.wait_for_sessions(sessions_before + 4) - sessions_before == 4
    time.sleep(0.2)  # sshd logs asynchronously: give an unexpected extra session time to show
    assert sshd.count_sessions() - sessions_before == transport.round_trips
    assert logins(sshd) - logins_before == 1  # all of it over one connection


def test_a_closed_transport_does_not_reconnect(remote: SshTransport) -> None:
    remote.run(["true"])
    remote.close()
    with pytest.raises(RuntimeError, match="is closed"):
        remote.run(["true"])


def test_importing_the_ssh_transport_does_not_import_fabric() -> None:
    code = "import sys, beast_observatory.host.transport.ssh, beast_observatory.host.lock\n"
    code += "assert not {'fabric', 'paramiko', 'invoke'} & set(sys.modules), sys.modules.keys()"
    subprocess.run([sys.executable, "-c", code], check=True)


# Files


def test_write_read_makedirs_remove(remote: SshTransport, tmp_path: Path) -> None:
    directory = tmp_path / "a" / "b"
    remote.makedirs(str(directory))
    remote.makedirs(str(directory))
    path = f"{directory}/file"
    assert remote.read_file(path) is None
    remote.write_file_atomic(path, b"one")
    remote.write_file_atomic(path, b"two")
    assert remote.read_file(path) == b"two"
    assert [p.name for p in directory.iterdir()] == ["file"]  # no temporary left behind
    remote.remove(path)
    remote.remove(path)
    assert not Path(path).exists()


def test_write_applies_the_mode_before_the_file_appears(
    remote: SshTransport, tmp_path: Path
) -> None:
    remote.write_file_atomic(f"{tmp_path}/public", b"x")
    remote.write_file_atomic(f"{tmp_path}/public", b"y", mode=0o600)  # a mode change too
    remote.write_file_atomic(f"{tmp_path}/default", b"z")
    assert stat.S_IMODE((tmp_path / "public").stat().st_mode) == 0o600
    assert stat.S_IMODE((tmp_path / "default").stat().st_mode) == 0o644


def test_a_reader_never_sees_a_torn_file(
    remote: SshTransport, tmp_path: Path, assert_never_torn: NeverTorn
) -> None:
    assert_never_torn(tmp_path / "prometheus.yml", remote.write_file_atomic)


def test_a_file_error_names_host_and_path(remote: SshTransport, tmp_path: Path) -> None:
    path = f"{tmp_path}/missing/file"
    with pytest.raises(TransportError, match=f"{ALIAS} .*: " + re.escape(f"cannot write {path}: ")):
        remote.write_file_atomic(path, b"x")


# The ssh config


def test_explicit_settings_win_over_the_ssh_config(target: HostTarget, sshd: TestSshd) -> None:
    error = connect_error(dataclasses.replace(target, user="observatory-nobody"))
    assert error.message.startswith(f"{ALIAS} (observatory-nobody@127.0.0.1:{sshd.port})")
    assert "Invalid user observatory-nobody from 127.0.0.1" in sshd.log_text()

    closed_port = free_port()
    error = connect_error(dataclasses.replace(target, port=closed_port))
    assert f"127.0.0.1:{closed_port}" in error.message


def test_proxy_jump_goes_through_the_jump_host(
    target: HostTarget, sshd: TestSshd, tmp_path: Path
) -> None:
    config = tmp_path / "ssh_config"
    config.write_text(
        sshd.ssh_config.read_text().replace(f"Host {ALIAS}\n", f"Host {ALIAS} jump\n")
        + f"Host behind-jump\n    HostName 127.0.0.1\n    Port {sshd.port}\n"
        f"    User root\n    IdentityFile {sshd.client_key}\n    ProxyJump jump\n"
    )
    before = logins(sshd)
    jumped = SshTransport(dataclasses.replace(target, host="behind-jump", ssh_config_path=config))
    try:
        assert jumped.run(["echo", "hi"]).text == "hi\n"
    finally:
        jumped.close()
    assert logins(sshd) - before == 2  # the jump host, then the target through it


# Host keys


def test_an_unknown_host_key_is_refused(target: HostTarget, sshd: TestSshd, tmp_path: Path) -> None:
    empty = tmp_path / "known_hosts"
    empty.touch()
    before = logins(sshd)
    error = connect_error(dataclasses.replace(target, known_hosts_path=empty))
    fingerprint = host_fingerprint(sshd)
    assert f"{ALIAS} (root@127.0.0.1:{sshd.port})" in error.message
    assert "not in known_hosts" in error.message
    assert fingerprint in error.message
    assert "--accept-new-host-key" in (error.hint or "")
    assert empty.read_text() == ""
    assert logins(sshd) == before  # refused before any key of ours was offered


def test_a_changed_host_key_is_refused_as_a_possible_attack(
    target: HostTarget, sshd: TestSshd, tmp_path: Path
) -> None:
    known_hosts = tmp_path / "known_hosts"
    impostor = keygen(tmp_path / "other_host_key").split()[:2]
    known_hosts.write_text(f"{sshd.known_hosts_name} {' '.join(impostor)}\n")
    for accept_new in (False, True):  # trust-on-first-use never covers a changed key
        error = connect_error(
            dataclasses.replace(
                target, known_hosts_path=known_hosts, accept_new_host_key=accept_new
            )
        )
        assert "host key has CHANGED" in error.message
        assert "man-in-the-middle" in error.message
        assert host_fingerprint(sshd) in error.message
        assert f"ssh-keygen -R '[127.0.0.1]:{sshd.port}' -f {known_hosts}" in (error.hint or "")
    assert known_hosts.read_text() == f"{sshd.known_hosts_name} {' '.join(impostor)}\n"


def test_accept_new_records_the_key_and_then_checks_it(
    target: HostTarget, sshd: TestSshd, tmp_path: Path
) -> None:
    known_hosts = tmp_path / "ssh" / "known_hosts"
    accepting = SshTransport(
        dataclasses.replace(target, known_hosts_path=known_hosts, accept_new_host_key=True)
    )
    try:
        assert accepting.run(["true"]).ok
    finally:
        accepting.close()
    assert known_hosts.read_text() == f"[127.0.0.1]:{sshd.port} {sshd.host_public_key()}\n"
    strict = SshTransport(dataclasses.replace(target, known_hosts_path=known_hosts))
    try:
        assert strict.run(["true"]).ok
    finally:
        strict.close()


def test_plain_fabric_would_have_trusted_a_changed_key(
    sshd: TestSshd, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Why the SSH transport loads known_hosts and sets its own policy (fabric/fabric#1804).
    When this fails, Fabric checks host keys itself and our workaround can be revisited."""
    monkeypatch.setenv("HOME", str(tmp_path))
    (tmp_path / ".ssh").mkdir()
    impostor = keygen(tmp_path / "other").rsplit(" ", 1)[0]
    (tmp_path / ".ssh" / "known_hosts").write_text(f"{sshd.known_hosts_name} {impostor}\n")
    config = Config(runtime_ssh_path=str(sshd.ssh_config))
    with Connection(ALIAS, config=config) as connection:
        assert connection.run("true", hide=True, in_stream=False).ok


# Connection failures


def test_a_key_the_host_does_not_know_fails_authentication(
    target: HostTarget, tmp_path: Path
) -> None:
    keygen(tmp_path / "stranger")
    error = connect_error(dataclasses.replace(target, identity_file=tmp_path / "stranger"))
    assert "authentication failed" in error.message
    assert "user root" in error.message
    assert str(tmp_path / "stranger") in error.message


def test_a_refused_connection_says_nothing_listens(target: HostTarget) -> None:
    port = free_port()
    error = connect_error(dataclasses.replace(target, host="127.0.0.1", port=port))
    assert f"connection refused on 127.0.0.1:{port}" in error.message


def test_an_unresolvable_name_is_a_dns_error(
    target: HostTarget, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The resolver is the one seam mocked here: a real lookup would send a query off this
    # machine, and tests talk to loopback only.
    def no_such_name(host: object, *args: object, **kwargs: object) -> object:
        raise socket.gaierror(socket.EAI_NONAME, "Name or service not known")

    monkeypatch.setattr(socket, "getaddrinfo", no_such_name)
    error = connect_error(dataclasses.replace(target, host="vonnegut.invalid"))
    assert "cannot resolve the host name 'vonnegut.invalid'" in error.message


@pytest.fixture
def silent_port() -> Iterator[int]:
    """A port that accepts TCP connections (the kernel completes them) but never speaks SSH."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen(8)
        yield listener.getsockname()[1]


def test_a_host_that_never_answers_times_out(target: HostTarget, silent_port: int) -> None:
    started = time.monotonic()
    error = connect_error(
        dataclasses.replace(target, host="127.0.0.1", port=silent_port, connect_timeout=1.0)
    )
    assert time.monotonic() - started < 5
    assert f"no SSH answer from 127.0.0.1:{silent_port} within 1s" in error.message


def test_errors_render_as_one_paragraph_with_a_hint(target: HostTarget) -> None:
    error = connect_error(dataclasses.replace(target, host="127.0.0.1", port=free_port()))
    rendered = error.render()
    assert rendered.startswith("error: ")
    assert "\n  hint: " in rendered
    assert "Traceback" not in rendered


def test_open_transport_picks_local_or_ssh(target: HostTarget) -> None:
    assert open_transport(HostTarget(None)).description == "this machine"
    remote = open_transport(target)
    try:
        assert isinstance(remote, SshTransport)
    finally:
        remote.close()


def host_fingerprint(sshd: TestSshd) -> str:
    line = subprocess.run(
        ["ssh-keygen", "-l", "-f", f"{sshd.host_key}.pub"], capture_output=True, check=True
    ).stdout.decode()
    return line.split()[1]  # "256 SHA256:... comment (ED25519)"


def test_a_connection_lost_mid_upload_leaves_the_old_file(
    remote: SshTransport, tmp_path: Path
) -> None:
    target = tmp_path / "prometheus.yml"
    remote.write_file_atomic(str(target), b"old\n")
    # Fault injection through internals: cut our end of the TCP connection once the new
    # content is on its way, as a dropped network would.
    sock = remote._connection.client.get_transport().sock

    def cut_when_uploading() -> None:
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            if any(p.stat().st_size > 1 << 20 for p in tmp_path.glob(".prometheus.yml.tmp-*")):
                break
            time.sleep(0.005)
        sock.shutdown(socket.SHUT_RDWR)

    cutter = threading.Thread(target=cut_when_uploading)
    cutter.start()
    try:
        with pytest.raises(TransportError) as caught:
            remote.write_file_atomic(str(target), b"new\n" * (16 << 20))  # 64 MB
    finally:
        cutter.join()
    assert "the SSH connection failed while trying to write" in caught.value.message
    assert target.read_bytes() == b"old\n"
    with pytest.raises(TransportError, match="the SSH connection failed"):
        remote.run(["true"])  # no silent reconnect: one connection per transport


def test_a_connection_lost_mid_command_is_a_transport_error(remote: SshTransport) -> None:
    remote.run(["true"])
    sock = remote._connection.client.get_transport().sock  # fault injection, as above
    threading.Timer(0.3, sock.shutdown, [socket.SHUT_RDWR]).start()
    with pytest.raises(TransportError, match="the SSH connection failed while trying to run"):
        remote.run(["sleep", "5"], timeout=10)


# ----------------------------------------------------------------- connecting in the background


def test_a_connection_opened_in_the_background_is_used_as_any(
    target: HostTarget, sshd: TestSshd
) -> None:
    sessions = sshd.count_sessions()
    transport = SshTransport(target)
    try:
        transport.connect_in_background()
        transport.connect_in_background()  # once is enough
        assert transport.run(["echo", "hi"]).stdout == b"hi\n"
        assert transport.round_trips == 1
    finally:
        transport.close()
    assert sshd.wait_for_sessions(sessions + 1) - sessions == 1


def test_a_background_connection_that_failed_says_why_at_first_use(target: HostTarget) -> None:
    port = free_port()
    transport = SshTransport(dataclasses.replace(target, host="127.0.0.1", port=port))
    try:
        transport.connect_in_background()
        with pytest.raises(TransportError, match=f"connection refused on 127.0.0.1:{port}"):
            transport.run(["true"])
    finally:
        transport.close()


def test_closing_does_not_wait_for_a_background_connection(
    target: HostTarget, silent_port: int
) -> None:
    """A spec error found while connecting is reported at once, not after the connect
    timeout of a host that does not answer."""
    silent = dataclasses.replace(target, host="127.0.0.1", port=silent_port, connect_timeout=3.0)
    transport = SshTransport(silent)
    transport.connect_in_background()
    started = time.monotonic()
    transport.close()
    assert time.monotonic() - started < 0.5
    with pytest.raises(RuntimeError, match="is closed"):
        transport.run(["true"])
