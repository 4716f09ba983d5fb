"""backup -> down --volumes -> restore -> up, with the real CLI on the real engine.

One stack of Prometheus, Pushgateway, Alertmanager and the Grafana stand-in (see
docker_env.py: it is no Grafana, so its "database" is a file the test writes into its data
volume, as Grafana would keep grafana.db there). Before the backup: a metric pushed and
scraped, that file, and an Alertmanager silence. After the round trip each is there again,
and Prometheus answers for the moment before the backup, which only its restored TSDB can.
The tests run in file order and share the stack; conftest takes it down with its volumes
whatever happens. The last test backs up a stack over SSH (remote_fixtures.py: a real sshd,
the host's .env holding the Grafana password) and restores it onto a local stack.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import io
import json
import subprocess
import tarfile
import time
import urllib.parse
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from .conftest import GRAFANA_PASSWORD, StackFactory, StackSpec
from .docker_env import TEST_IMAGES, free_port, wait_http
from .remote_fixtures import RemoteStackFactory, make_remote_stack, sshd
from .test_local_stack import assert_user_error, push_metric, status_json, wait_promql

pytestmark = pytest.mark.e2e
__all__ = ["make_remote_stack", "sshd"]  # fixtures, used by name

UP_TIMEOUT = "90"
GRAFANA_DB = "/var/lib/grafana/grafana.db"
DB_CONTENT = "SQLite format 3\0e2e-backup-dashboard\n"
KINDS = ("alertmanager", "grafana", "prometheus", "pushgateway")


@dataclass
class Round:
    """The stack and what the tests of the round trip found along the way."""

    stack: StackSpec
    archive: Path
    scraped_at: float = 0.0  # a moment at which Prometheus had the pushed metric
    silence_id: str = ""
    volumes: list[str] = field(default_factory=list)


def _url(stack: StackSpec, path: str) -> str:
    return f"{stack.url('alertmanager')}{path}"


def _docker(*args: str, stdin: bytes | None = None) -> bytes:
    done = subprocess.run(
        ["docker", *args], input=stdin, capture_output=True, timeout=60, check=False
    )
    assert done.returncode == 0, f"docker {' '.join(args)}: {done.stderr.decode()}"
    return done.stdout


def _silences(stack: StackSpec) -> list[dict[str, Any]]:
    doc: list[dict[str, Any]] = json.loads(wait_http(_url(stack, "/api/v2/silences")))
    return doc


def _add_silence(stack: StackSpec) -> str:
    now = dt.datetime.now(dt.UTC)
    body = {
        "matchers": [{"name": "alertname", "value": "E2EBackup", "isRegex": False}],
        "startsAt": now.isoformat(),
        "endsAt": (now + dt.timedelta(days=1)).isoformat(),
        "createdBy": "e2e",
        "comment": "kept across a backup",
    }
    request = urllib.request.Request(  # noqa: S310 - loopback URL built by the test
        _url(stack, "/api/v2/silences"),
        data=json.dumps(body).encode(),
        headers={"Content-Type": "application/json"},
        method="POST",
    )
    with urllib.request.urlopen(request, timeout=10) as response:  # noqa: S310
        silence_id: str = json.loads(response.read())["silenceID"]
    return silence_id


def _promql_at(stack: StackSpec, query: str, at: float) -> list[dict[str, Any]]:
    params = urllib.parse.urlencode({"query": query, "time": f"{at:.3f}"})
    doc = json.loads(wait_http(f"{stack.url('prometheus')}/api/v1/query?{params}", timeout=10))
    assert doc["status"] == "success", doc
    result: list[dict[str, Any]] = doc["data"]["result"]
    return result


def _wait_healthy(stack: StackSpec, timeout: float = 60.0) -> dict[str, dict[str, Any]]:
    deadline = time.monotonic() + timeout
    while True:
        code, rows = status_json(stack)
        if code == 0 or time.monotonic() > deadline:
            assert code == 0, rows
            return rows
        time.sleep(1)


def _grafana_db(stack: StackSpec) -> bytes:
    return _docker("exec", stack.containers()["grafana"], "cat", GRAFANA_DB)


@pytest.fixture(scope="module")
def round_trip(make_module_stack: StackFactory, tmp_path_factory: pytest.TempPathFactory) -> Round:
    port = free_port()
    alertmanager = {"enabled": True, "image": TEST_IMAGES["alertmanager"], "port": port}
    stack = make_module_stack({"alertmanager": alertmanager}, name="backup")
    stack.ports["alertmanager"] = port
    up = stack.cli("up", "--timeout", UP_TIMEOUT)
    assert up.exit_code == 0, up.explain() + stack.cli("logs", "--tail", "20").output
    return Round(stack, tmp_path_factory.mktemp("archives") / "backup.tar")


def test_backup_writes_every_data_volume_and_a_manifest_that_checks_out(
    round_trip: Round,
) -> None:
    stack = round_trip.stack
    push_metric(stack, "e2e_backup", "# TYPE obstest_backup_value gauge\nobstest_backup_value 17\n")
    wait_promql(stack, 'obstest_backup_value{job="e2e_backup"}')
    round_trip.scraped_at = time.time()
    _docker(
        "exec", "-i", stack.containers()["grafana"], "sh", "-c", f"cat > {GRAFANA_DB}",
        stdin=DB_CONTENT.encode(),
    )  # fmt: skip
    round_trip.silence_id = _add_silence(stack)
    round_trip.volumes = stack.volumes()
    assert len(round_trip.volumes) == len(KINDS), round_trip.volumes

    result = stack.cli("backup", "--output", str(round_trip.archive))
    assert result.exit_code == 0, result.explain()
    assert "4 data part(s)" in result.stdout, result.explain()

    with tarfile.open(round_trip.archive) as tar:
        names = tar.getnames()
        assert names[0] == "manifest.json"
        manifest = json.loads(_member(tar, "manifest.json"))
        contents = {name: _member(tar, name) for name in names[1:]}
    assert manifest["format"] == "beast-observatory-backup"
    assert manifest["source"]["project"] == stack.project
    assert manifest["source"]["environment"] == "local"
    assert sorted(p["id"] for p in manifest["parts"]) == list(KINDS)
    assert sorted(p["source"] for p in manifest["parts"]) == round_trip.volumes
    listed = {p["member"]: p for p in manifest["parts"]}
    listed.update({f"release/{rel}": d for rel, d in manifest["files"].items()})
    assert sorted(listed) == sorted(contents)
    for name, content in contents.items():
        assert listed[name]["size"] == len(content), name
        assert listed[name]["sha256"] == hashlib.sha256(content).hexdigest(), name
    assert "release/docker-compose.yml" in contents
    assert not any(name.endswith(".env") for name in names), names
    # The Grafana password reaches the stack through .env only: it must not be in the archive.
    assert GRAFANA_PASSWORD.encode() not in round_trip.archive.read_bytes()

    with tarfile.open(fileobj=io.BytesIO(contents["data/grafana.tar"])) as grafana:
        assert _member(grafana, "./grafana.db") == DB_CONTENT.encode()

    # Each service was stopped for its copy only: all of them run again, and become healthy.
    rows = _wait_healthy(stack)
    assert sorted(rows) == list(KINDS)


def test_restore_refuses_a_volume_that_holds_data(round_trip: Round) -> None:
    result = round_trip.stack.cli("restore", str(round_trip.archive))
    assert_user_error(result, "already holds data", "--replace")


def test_down_with_volumes_removes_the_data(round_trip: Round) -> None:
    stack = round_trip.stack
    down = stack.cli("down", "--volumes", "--yes")
    assert down.exit_code == 0, down.explain()
    assert stack.volumes() == []
    assert stack.containers() == {}


def test_a_corrupted_archive_is_refused_before_anything_is_written(
    round_trip: Round, tmp_path: Path
) -> None:
    data = bytearray(round_trip.archive.read_bytes())
    with tarfile.open(round_trip.archive) as tar:
        member = tar.getmember("data/prometheus.tar")
    # One byte flipped in the middle of Prometheus' tar: sizes and headers are all still fine.
    data[member.offset_data + member.size // 2] ^= 0xFF
    damaged = tmp_path / "damaged.tar"
    damaged.write_bytes(bytes(data))

    result = round_trip.stack.cli("restore", str(damaged))
    assert_user_error(result, "data/prometheus.tar")
    assert round_trip.stack.volumes() == []  # not even the first volume was created
    assert round_trip.stack.containers() == {}


def test_restore_then_up_brings_back_metrics_grafana_and_silences(round_trip: Round) -> None:
    stack = round_trip.stack
    restored = stack.cli("restore", str(round_trip.archive))
    assert restored.exit_code == 0, restored.explain()
    assert "4 data part(s) restored" in restored.stdout, restored.explain()
    assert stack.volumes() == round_trip.volumes

    up = stack.cli("up", "--timeout", UP_TIMEOUT)
    assert up.exit_code == 0, up.explain()

    # A query at a moment before the backup: answered only from Prometheus' restored TSDB
    # (what the new Prometheus scrapes now is later).
    query = 'obstest_backup_value{job="e2e_backup"}'
    result = _promql_at(stack, query, round_trip.scraped_at)
    assert [(r["metric"]["job"], r["value"][1]) for r in result] == [("e2e_backup", "17")]
    # The Pushgateway read its restored file: the metric is served, and scraped afresh.
    metrics = wait_http(f"{stack.url('pushgateway')}/metrics").decode()
    assert 'obstest_backup_value{instance="",job="e2e_backup"} 17' in metrics
    wait_promql(stack, query)

    assert _grafana_db(stack) == DB_CONTENT.encode()
    silences = {s["id"]: s for s in _silences(stack)}
    assert round_trip.silence_id in silences, silences
    silence = silences[round_trip.silence_id]
    assert silence["status"]["state"] == "active", silence
    assert silence["matchers"][0]["value"] == "E2EBackup", silence


def test_a_backup_of_remote_restores_onto_local(
    make_remote_stack: RemoteStackFactory, make_stack: StackFactory, tmp_path: Path
) -> None:
    # vonnegut is a real sshd on this machine; its deploy directory holds the operator's .env
    # with the Grafana password (remote_fixtures.py). Its project and volume names differ from
    # the local stack's: the parts go by what they are.
    source = make_remote_stack(name="backup-remote")
    up = source.cli("up", "--timeout", UP_TIMEOUT)
    assert up.exit_code == 0, up.explain()
    push_metric(source.spec, "e2e_remote", "obstest_backup_remote 23\n")
    wait_promql(source.spec, 'obstest_backup_remote{job="e2e_remote"}')
    scraped_at = time.time()

    archive = tmp_path / "remote.tar"
    backup = source.cli("backup", "--output", str(archive))
    assert backup.exit_code == 0, backup.explain()
    assert (source.deploy_dir / ".env").read_text().count(GRAFANA_PASSWORD) == 1
    assert GRAFANA_PASSWORD.encode() not in archive.read_bytes()
    with tarfile.open(archive) as tar:
        manifest = json.loads(_member(tar, "manifest.json"))
    assert manifest["source"]["environment"] == "remote"
    assert manifest["source"]["directory"] == str(source.deploy_dir)

    target = make_stack(name="restore-local")
    restored = target.cli("restore", str(archive))
    assert restored.exit_code == 0, restored.explain()
    assert "3 data part(s) restored from the backup of remote" in restored.stdout, (
        restored.explain()
    )
    volumes = target.volumes()
    assert len(volumes) == len(KINDS) - 1, volumes  # no Alertmanager in this spec
    assert all(v.startswith(f"{target.project}_") for v in volumes), volumes
    assert not set(volumes) & set(source.volumes())

    up = target.cli("up", "--timeout", UP_TIMEOUT)
    assert up.exit_code == 0, up.explain()
    result = _promql_at(target, 'obstest_backup_remote{job="e2e_remote"}', scraped_at)
    assert [r["value"][1] for r in result] == ["23"], result


def _member(tar: tarfile.TarFile, name: str) -> bytes:
    handle = tar.extractfile(name)
    assert handle is not None, name
    return handle.read()
