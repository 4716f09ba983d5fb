"""The real CLI against a host reached over SSH: up, status, logs, down on ``vonnegut``.

``vonnegut`` is a real OpenSSH server on 127.0.0.1 (tests/host/sshd.py) whose sessions
run on this machine, so the stack lands on the local Docker engine; every command goes
through SSH (exec sessions and one SFTP session), as it would to a production host. The CLI
runs as a subprocess with ``--ssh-config`` / ``--known-hosts`` naming the test's files, on a
spec whose ``remote`` environment has ``ssh: {host: vonnegut}`` (see remote_fixtures.py).

The stack needs GRAFANA_ADMIN_PASSWORD at ``up``. On a real host an operator puts it once in
``<deploy_dir>/.env`` (mode 0600) next to docker-compose.yml, following the generated
``.env.example``; the tool never uploads it. The fixtures do the same.

The images are the locally built test images; **the ``grafana`` service runs a stand-in**
(busybox httpd answering ``/api/health``): nothing here checks Grafana's own behaviour.

The happy path shares one stack (module scope) and its tests run in file order, the last one
taking it down; each failure case boots a stack of its own.
"""

from __future__ import annotations

import contextlib
import json
import os
import pwd
import signal
import stat
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from .conftest import CliResult
from .remote_fixtures import (
    WEB_AUTH,
    RemoteStack,
    RemoteStackFactory,
    big_dashboard,
    make_module_remote_stack,
    make_remote_stack,
    sha256_file,
    sshd,
    sshd_session_pids,
    temp_leftovers,
    wait_for,
)

pytestmark = pytest.mark.e2e
__all__ = ["make_module_remote_stack", "make_remote_stack", "sshd"]  # fixtures, used by name

SERVICES = ("grafana", "prometheus", "pushgateway")
UP_TIMEOUT = "90"
STATUS_MAX_ROUND_TRIPS = 2
ROUND_TRIPS: dict[str, int] = {}


def row_of(output: str, service: str) -> str:
    rows = [line for line in output.splitlines() if line.split()[:1] == [service]]
    assert len(rows) == 1, f"no single row for {service} in:\n{output}"
    return rows[0]


def assert_user_error(result: CliResult, *words: str) -> None:
    """Exit 1, a message naming what went wrong, and no traceback."""
    assert result.exit_code == 1, result.explain()
    assert "Traceback" not in result.output, result.explain()
    for word in words:
        assert word in result.stderr, f"{word!r} not in the error:\n{result.explain()}"


def record_round_trips(command: str, count: int, capsys: pytest.CaptureFixture[str]) -> None:
    ROUND_TRIPS[command] = count
    with capsys.disabled():
        print(f"\n[round trips over SSH] {command}: {count}")


def status_rows(stack: RemoteStack) -> dict[str, dict[str, Any]]:
    result = stack.cli("status", "--output", "json")
    assert "Traceback" not in result.output, result.explain()
    return {row["service"]: row for row in json.loads(result.stdout)["services"]}


def assert_deployed(stack: RemoteStack) -> dict[str, str]:
    """Every file of the host manifest is in deploy_dir with that content; return it."""
    manifest = stack.host_manifest()
    assert manifest, "empty manifest"
    for rel, digest in manifest.items():
        assert sha256_file(stack.deploy_dir / rel) == digest, rel
    assert temp_leftovers(stack.deploy_dir) == []
    return manifest


# ------------------------------------------------------------------ the running stack


@dataclass(frozen=True)
class Running:
    stack: RemoteStack
    first_up: CliResult


@pytest.fixture(scope="module")
def running(make_module_remote_stack: RemoteStackFactory) -> Running:
    stack = make_module_remote_stack(name="happy")
    first_up, round_trips = stack.measured("up", "--timeout", UP_TIMEOUT)
    ROUND_TRIPS["up (first)"] = round_trips
    return Running(stack, first_up)


def test_up_boots_the_stack_through_ssh(
    running: Running, capsys: pytest.CaptureFixture[str]
) -> None:
    stack, up = running.stack, running.first_up
    assert up.exit_code == 0, up.explain()
    record_round_trips("up (first)", ROUND_TRIPS["up (first)"], capsys)
    for service in SERVICES:
        row = row_of(up.stdout, service)
        assert stack.url(service) in row, up.stdout
        assert "healthy" in row, up.stdout
    assert f"synced {stack.deploy_dir} on vonnegut" in up.stdout, up.explain()
    assert sorted(stack.containers()) == sorted(SERVICES)

    manifest = assert_deployed(stack)
    assert "docker-compose.yml" in manifest
    assert stat.S_IMODE((stack.deploy_dir / "docker-compose.yml").stat().st_mode) == 0o644
    # The operator's .env is left alone: not in the manifest, still private.
    assert ".env" not in manifest
    assert stat.S_IMODE((stack.deploy_dir / ".env").stat().st_mode) == 0o600


def test_second_up_uploads_nothing_and_recreates_no_container(
    running: Running, capsys: pytest.CaptureFixture[str]
) -> None:
    stack = running.stack
    before, rows_before = stack.containers(), status_rows(stack)
    mtimes = {p: p.stat().st_mtime_ns for p in stack.deploy_dir.rglob("*") if p.is_file()}

    again, round_trips = stack.measured("up", "--timeout", UP_TIMEOUT)
    assert again.exit_code == 0, again.explain()
    record_round_trips("up (nothing changed)", round_trips, capsys)
    assert "synced" not in again.output, again.explain()
    after, rows_after = stack.containers(), status_rows(stack)
    assert after == before, "a container was recreated"
    started = {s: r["started_at"] for s, r in rows_before.items()}
    assert {s: r["started_at"] for s, r in rows_after.items()} == started, "a container restarted"
    # Not a byte rewritten, the manifest included.
    for path, mtime in mtimes.items():
        assert path.stat().st_mtime_ns == mtime, f"{path} was rewritten"


def test_status_costs_at_most_two_round_trips(
    running: Running, capsys: pytest.CaptureFixture[str]
) -> None:
    stack = running.stack
    result, round_trips = stack.measured("status")
    assert result.exit_code == 0, result.explain()
    record_round_trips("status", round_trips, capsys)
    for service in SERVICES:
        assert row_of(result.stdout, service).split()[1:4] == ["running", "healthy", "200"]
    assert 1 <= round_trips <= STATUS_MAX_ROUND_TRIPS, round_trips


def test_logs_prints_the_last_lines_of_pushgateway(
    running: Running, capsys: pytest.CaptureFixture[str]
) -> None:
    result, round_trips = running.stack.measured("logs", "pushgateway", "--tail", "5")
    assert result.exit_code == 0, result.explain()
    record_round_trips("logs", round_trips, capsys)
    lines = result.stdout.splitlines()
    assert 1 <= len(lines) <= 5, result.stdout
    assert all(line.split("|")[0].strip().startswith("pushgateway") for line in lines), lines
    assert any("pushgateway" in line.split("|", 1)[1] for line in lines), lines


def test_unknown_host_key_is_refused_until_accepted(running: Running, tmp_path: Path) -> None:
    stack = running.stack
    empty = tmp_path / "known_hosts"
    empty.write_text("")
    sessions = stack.sshd.count_sessions()

    refused = stack.spec.cli(*stack.argv("status", known_hosts=empty))
    assert_user_error(refused, "vonnegut", "not in known_hosts", "refusing to connect")
    assert "--accept-new-host-key" in refused.stderr, refused.explain()
    assert empty.read_text() == "", "a refused key was recorded"
    assert stack.sshd.count_sessions() == sessions, "a command ran on an unverified host"

    accepted = stack.spec.cli(*stack.argv("status", "--accept-new-host-key", known_hosts=empty))
    assert accepted.exit_code == 0, accepted.explain()
    recorded = [line.split() for line in empty.read_text().splitlines()]
    kind, blob = stack.sshd.host_public_key().split()
    assert recorded == [[stack.sshd.known_hosts_name, kind, blob]]

    again = stack.spec.cli(*stack.argv("status", known_hosts=empty))  # no flag: now known
    assert again.exit_code == 0, again.explain()
    assert empty.read_text().count("\n") == 1, "the key was recorded twice"


def test_down_stops_the_stack_and_keeps_volumes(
    running: Running, capsys: pytest.CaptureFixture[str]
) -> None:
    stack = running.stack
    volumes = stack.volumes()
    assert len(volumes) == len(SERVICES), volumes

    down, round_trips = stack.measured("down")
    assert down.exit_code == 0, down.explain()
    record_round_trips("down", round_trips, capsys)
    assert "stopped on vonnegut" in down.stdout, down.explain()
    assert "kept" in down.stdout, down.explain()
    assert stack.containers() == {}
    assert stack.volumes() == volumes
    assert (stack.deploy_dir / "docker-compose.yml").is_file()  # the deployment stays


# ------------------------------------------------------------------ secret files


@pytest.fixture(scope="module")
def web_auth_up(make_module_remote_stack: RemoteStackFactory) -> tuple[RemoteStack, CliResult]:
    """A stack whose Pushgateway has basic auth: its web.yml is a secret file of the bundle."""
    stack = make_module_remote_stack({"pushgateway": {"web_auth": WEB_AUTH}}, name="web-auth")
    return stack, stack.cli("up", "--timeout", "15")


def test_web_config_holds_hashes_only_and_is_readable_by_the_service(
    web_auth_up: tuple[RemoteStack, CliResult],
) -> None:
    stack, up = web_auth_up
    assert "Traceback" not in up.output, up.explain()
    manifest = assert_deployed(stack)
    web = (stack.deploy_dir / "pushgateway/web.yml").read_text()
    assert "$2b$" in web  # a bcrypt hash, never a clear password
    modes = {rel: stat.S_IMODE((stack.deploy_dir / rel).stat().st_mode) for rel in manifest}
    # Pushgateway runs as nobody: a 0600 file owned by the SSH user would be unreadable.
    assert set(modes.values()) == {0o644}, modes
    assert stat.S_IMODE((stack.deploy_dir / "manifest.json").stat().st_mode) == 0o644


def test_service_with_web_auth_becomes_healthy(web_auth_up: tuple[RemoteStack, CliResult]) -> None:
    _, up = web_auth_up
    assert up.exit_code == 0, up.explain()
    assert "healthy" in row_of(up.stdout, "pushgateway")


# ------------------------------------------------------------------ the host lock


def test_concurrent_up_fails_fast_naming_the_lock_holder(
    make_remote_stack: RemoteStackFactory, capsys: pytest.CaptureFixture[str]
) -> None:
    stack = make_remote_stack(name="concurrent")
    lock_info = stack.deploy_dir / ".observatory.lock.info"
    started = time.monotonic()
    first = stack.start("up", "--timeout", UP_TIMEOUT)
    wait_for(lock_info.exists, 60, "the first `up` never took the host lock")

    second_started = time.monotonic()
    second = stack.cli("up", "--timeout", UP_TIMEOUT)
    second_took = time.monotonic() - second_started

    out, err = first.communicate(timeout=180)
    first_took = time.monotonic() - started
    assert first.returncode == 0, f"first up -> {first.returncode}\n{out}{err}"
    # Refused while the first held the lock (once the first is done, a second `up` succeeds):
    assert_user_error(second, "another operation is changing this host", "is held by")
    # Who: the first CLI process, user@machine and its command line; since when: a timestamp.
    assert f"(pid {first.pid}, running `observatory up --environment remote" in second.stderr
    assert " since 20" in second.stderr, second.explain()
    assert "synced" not in second.output  # nothing was touched on the host
    assert "using docker compose" not in second.output
    with capsys.disabled():
        print(f"\n[host lock] second up failed in {second_took:.1f}s, first took {first_took:.1f}s")
    assert second_took < 10, "the second `up` did not fail at once"
    assert not lock_info.exists(), "the lock's holder note outlived the operation"


# ------------------------------------------------------------------ an interrupted upload


def test_killed_upload_leaves_each_file_old_or_new_and_next_up_completes(
    make_remote_stack: RemoteStackFactory,
) -> None:
    stack = make_remote_stack(name="interrupted")
    big = "grafana/dashboards/observatory/big.json"
    dashboard = stack.spec.directory / "dashboards" / "big.json"
    dashboard.write_text(big_dashboard("obstest-big", 48 << 20, "old "))
    first = stack.cli("up", "--timeout", UP_TIMEOUT)
    assert first.exit_code == 0, first.explain()
    old = assert_deployed(stack)

    # A new version: the big dashboard, prometheus.yml and the compose file all change.
    dashboard.write_text(big_dashboard("obstest-big", 48 << 20, "new! "))
    stack.edit_spec({"services": {"prometheus": {"global": {"scrape_timeout": "900ms"}}}})
    retention = {"prometheus": {"retention": {"time": "20d"}}}  # a command-line flag
    stack.edit_spec({"environments": {"remote": {"services": retention}}})
    new = stack.build()
    changed = sorted(rel for rel in new if old.get(rel) != new[rel])
    assert {big, "docker-compose.yml", "prometheus/prometheus.yml"} <= set(changed), changed

    # Cut the connection from the server side while the big dashboard is on its way.
    upload = stack.start("up", "--timeout", UP_TIMEOUT)
    temp_dir = stack.deploy_dir / Path(big).parent

    def uploading() -> bool:
        return any(p.stat().st_size > 0 for p in temp_dir.glob(".big.json.tmp-*"))

    wait_for(uploading, 60, "the upload of the big dashboard never started")
    sessions = sshd_session_pids(stack.sshd)
    assert sessions, "no sshd process serves the upload"
    for pid in sessions:
        signal_pid(pid)
    out, err = upload.communicate(timeout=60)
    assert upload.returncode == 1, f"up -> {upload.returncode}\n{out}{err}"
    assert "Traceback" not in out + err
    assert "the SSH connection failed" in err, err
    assert "either old or new" in err, err

    # Every file is old or new, never torn; the manifest (written last) is still the old one.
    for rel in sorted(set(old) | set(new)):
        digest = sha256_file(stack.deploy_dir / rel)
        assert digest in (old.get(rel), new.get(rel)), f"{rel} is neither old nor new"
    assert stack.host_manifest() == old
    assert sha256_file(stack.deploy_dir / big) == old[big], "the interrupted file changed"
    assert sha256_file(stack.deploy_dir / "docker-compose.yml") == new["docker-compose.yml"], (
        "nothing was uploaded before the interruption: it did not interrupt an upload"
    )
    # The host saw the upload stop short and removed its temporary file itself.
    wait_for(lambda: not temp_leftovers(stack.deploy_dir), 10, "a torn upload stayed behind")

    # What a harder interruption leaves (the host's own process killed): the next up sweeps it.
    stray = stack.deploy_dir / Path(big).parent / ".big.json.tmp-0123456789ab"
    stray.write_text("half a dashboard")
    again = stack.cli("up", "--timeout", UP_TIMEOUT)
    assert again.exit_code == 0, again.explain()
    assert "removed 1 temporary file(s) left by an interrupted upload" in again.stdout
    assert assert_deployed(stack) == new  # every file new, no temporary file left
    for service in SERVICES:
        assert "healthy" in row_of(again.stdout, service), again.stdout


def signal_pid(pid: int) -> None:
    with contextlib.suppress(ProcessLookupError):  # it went with its parent
        os.kill(pid, signal.SIGKILL)


# ------------------------------------------------------------------ hostile directory names


def test_deploy_dir_with_shell_metacharacters(make_remote_stack: RemoteStackFactory) -> None:
    marker = f"PWNED-{os.getpid()}"
    name = f"dir with space; touch {marker} $(touch {marker}) `touch {marker}` it's & more"
    stack = make_remote_stack(name="hostile", deploy_name=name)
    assert stack.deploy_dir.name == name

    up = stack.cli("up", "--timeout", UP_TIMEOUT)
    assert up.exit_code == 0, up.explain()
    assert_deployed(stack)
    assert sorted(stack.containers()) == sorted(SERVICES)
    status = stack.cli("status")
    assert status.exit_code == 0, status.explain()

    down = stack.cli("down")
    assert down.exit_code == 0, down.explain()
    assert stack.containers() == {}

    # Where an injected `touch` would have run: the SSH user's home (sshd's working
    # directory), the CLI's directory, and around the deploy directory.
    places = [Path(pwd.getpwuid(os.getuid()).pw_dir), stack.spec.directory, Path("/")]
    places += [stack.deploy_dir, stack.deploy_dir.parent]
    assert [p / marker for p in places if (p / marker).exists()] == []
    assert not list(stack.deploy_dir.parent.rglob(f"{marker}*"))
