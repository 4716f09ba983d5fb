"""The real CLI against the real Docker engine: up, status, logs, down on this machine.

Runs ``observatory`` as a subprocess, the way a user does, on a spec that ``observatory init``
wrote (see conftest.py: own project name, free ports, locally built test images). The images
are Debian's Prometheus and Pushgateway; **the ``grafana`` service runs a stand-in** (busybox
httpd answering ``/api/health``), since no Grafana binary can be had here: these tests check
that it is started, published and probed like Grafana, never Grafana's own behaviour.

The happy path shares one running stack (module scope) and its tests run in file order; the
last of them takes the stack down. Each failure case boots a stack of its own.
"""

from __future__ import annotations

import json
import os
import socket
import time
import urllib.parse
import urllib.request
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from .conftest import CliResult, StackFactory, StackSpec
from .docker_env import GRAFANA_IS_STANDIN, wait_http

pytestmark = pytest.mark.e2e

SERVICES = ("grafana", "prometheus", "pushgateway")
UP_TIMEOUT = "90"


# ------------------------------------------------------------------ helpers


def push_metric(stack: StackSpec, job: str, text: str) -> None:
    """POST the text exposition format to Pushgateway, as a batch job would."""
    request = urllib.request.Request(  # noqa: S310 - loopback URL built by the test
        f"{stack.url('pushgateway')}/metrics/job/{job}", data=text.encode(), method="POST"
    )
    with urllib.request.urlopen(request, timeout=10) as response:  # noqa: S310
        assert response.status == 200


def promql(stack: StackSpec, query: str) -> list[dict[str, Any]]:
    url = f"{stack.url('prometheus')}/api/v1/query?" + urllib.parse.urlencode({"query": query})
    doc = json.loads(wait_http(url, timeout=10))
    assert doc["status"] == "success", doc
    result: list[dict[str, Any]] = doc["data"]["result"]
    return result


def wait_promql(
    stack: StackSpec,
    query: str,
    accept: Callable[[list[dict[str, Any]]], bool] = bool,
    timeout: float = 30.0,
) -> list[dict[str, Any]]:
    """Query until ``accept`` likes the result (the scrape interval of the test spec is 1s)."""
    deadline = time.monotonic() + timeout
    while True:
        result = promql(stack, query)
        if accept(result):
            return result
        if time.monotonic() > deadline:
            pytest.fail(f"PromQL {query!r} gave {result} for {timeout:g}s")
        time.sleep(0.5)


def status_json(stack: StackSpec) -> tuple[int, dict[str, dict[str, Any]]]:
    result = stack.cli("status", "--output", "json")
    assert "Traceback" not in result.output, result.explain()
    doc = json.loads(result.stdout)
    return result.exit_code, {row["service"]: row for row in doc["services"]}


def row_of(output: str, service: str) -> str:
    """The table row of one service in `up`/`status` text output."""
    rows = [line for line in output.splitlines() if line.split()[:1] == [service]]
    assert len(rows) == 1, f"no single row for {service} in:\n{output}"
    return rows[0]


def assert_user_error(result: CliResult, *words: str) -> None:
    """Exit 1, a message naming what went wrong, and no traceback."""
    assert result.exit_code == 1, result.explain()
    assert "Traceback" not in result.output, result.explain()
    for word in words:
        assert word in result.stderr, f"{word!r} not in the error:\n{result.explain()}"


# ------------------------------------------------------------------ the running stack


@dataclass(frozen=True)
class Running:
    stack: StackSpec
    first_up: CliResult


@pytest.fixture(scope="module")
def running(make_module_stack: StackFactory) -> Running:
    stack = make_module_stack(name="happy")
    first_up = stack.cli("up", "--timeout", UP_TIMEOUT)
    assert first_up.exit_code == 0, first_up.explain()
    return Running(stack, first_up)


def test_up_prints_each_service_with_its_url(running: Running) -> None:
    out = running.first_up.stdout
    for service in SERVICES:
        row = row_of(out, service)
        assert running.stack.url(service) in row, out
        assert "healthy" in row, out
    if GRAFANA_IS_STANDIN:  # it answers /api/health like Grafana; nothing more is checked
        assert b'"database":"ok"' in wait_http(f"{running.stack.url('grafana')}/api/health")


def test_pushed_metric_is_read_back_through_prometheus(running: Running) -> None:
    stack = running.stack
    push_metric(stack, "e2e_push", "# TYPE obstest_e2e_value gauge\nobstest_e2e_value 42\n")
    result = wait_promql(stack, 'obstest_e2e_value{job="e2e_push"}')
    # The job label is the pushed one (honor_labels), scraped by service name over the
    # compose network: the generated scrape config works.
    assert [(r["metric"]["job"], r["value"][1]) for r in result] == [("e2e_push", "42")]


def test_status_reports_every_service_healthy(running: Running) -> None:
    text = running.stack.cli("status")
    assert text.exit_code == 0, text.explain()
    for service in SERVICES:
        assert row_of(text.stdout, service).split()[1:4] == ["running", "healthy", "200"]

    code, rows = status_json(running.stack)
    assert code == 0
    assert sorted(rows) == sorted(SERVICES)
    for service, row in rows.items():
        assert (row["state"], row["health"], row["ready"], row["ok"]) == (
            "running",
            "healthy",
            "200",
            True,
        ), row
        assert row["url"] == running.stack.url(service)
        port = running.stack.ports[service]
        assert any(p.startswith(f"127.0.0.1:{port}->") for p in row["ports"]), row


def test_logs_prints_the_last_lines_of_pushgateway(running: Running) -> None:
    result = running.stack.cli("logs", "pushgateway", "--tail", "5")
    assert result.exit_code == 0, result.explain()
    lines = result.stdout.splitlines()
    assert 1 <= len(lines) <= 5, result.stdout
    # Compose prefixes each line with its container; only pushgateway's are asked for.
    assert all(line.split("|")[0].strip().startswith("pushgateway") for line in lines), lines
    assert any("pushgateway" in line.split("|", 1)[1] for line in lines), lines


def test_second_up_with_nothing_changed_recreates_no_container(running: Running) -> None:
    stack = running.stack
    before, (_, rows_before) = stack.containers(), status_json(stack)
    again = stack.cli("up", "--timeout", UP_TIMEOUT)
    assert again.exit_code == 0, again.explain()
    assert "rebuilt" not in again.output, again.explain()  # the generated files were current
    after, (_, rows_after) = stack.containers(), status_json(stack)
    assert sorted(before) == sorted(SERVICES)
    assert after == before, "a container was recreated"
    started = {s: r["started_at"] for s, r in rows_before.items()}
    assert {s: r["started_at"] for s, r in rows_after.items()} == started, "a container restarted"


def test_pushed_metric_survives_down_and_up(running: Running) -> None:
    stack = running.stack
    push_metric(stack, "e2e_persist", "obstest_e2e_persisted 7\n")
    wait_promql(stack, 'obstest_e2e_persisted{job="e2e_persist"}')

    down = stack.cli("down")
    assert down.exit_code == 0, down.explain()
    assert stack.containers() == {}
    restarted_at = time.time()
    up = stack.cli("up", "--timeout", UP_TIMEOUT)
    assert up.exit_code == 0, up.explain()

    # Pushgateway wrote its persistence file on shutdown into its volume and read it back...
    metrics = wait_http(f"{stack.url('pushgateway')}/metrics").decode()
    assert 'obstest_e2e_persisted{instance="",job="e2e_persist"} 7' in metrics
    # ...and the new Prometheus scrapes it afresh (a sample newer than the restart, so not
    # merely the old one kept in Prometheus' own volume).
    wait_promql(
        stack,
        'timestamp(obstest_e2e_persisted{job="e2e_persist"})',
        lambda result: bool(result) and float(result[0]["value"][1]) > restarted_at,
    )


def test_down_keeps_volumes_and_deletes_them_only_when_confirmed(running: Running) -> None:
    stack = running.stack
    volumes = stack.volumes()
    assert len(volumes) == len(SERVICES), volumes  # one data volume per service

    down = stack.cli("down")
    assert down.exit_code == 0, down.explain()
    assert "kept" in down.stdout, down.explain()
    assert stack.containers() == {}
    assert stack.volumes() == volumes

    refused = stack.cli("down", "--volumes")  # stdin is not a tty: nobody to ask
    assert_user_error(refused, "--yes")
    assert stack.volumes() == volumes

    confirmed = stack.cli("down", "--volumes", "--yes")
    assert confirmed.exit_code == 0, confirmed.explain()
    assert stack.volumes() == []


# ------------------------------------------------------------------ what goes wrong


@pytest.fixture
def busy_socket() -> Iterator[Callable[[int], None]]:
    """Takes a port the way another program would. Bound, not listening: the port is just as
    busy for Docker, and the readiness probe of `status` gets "refused" at once instead of
    waiting out its 5 s timeout on a socket that never answers."""
    held: list[socket.socket] = []

    def hold(port: int) -> None:
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        sock.bind(("127.0.0.1", port))
        held.append(sock)

    yield hold
    for sock in held:
        sock.close()


def test_busy_port_names_the_service(make_stack: StackFactory, busy_socket: Any) -> None:
    stack = make_stack(name="busy-port")
    port = stack.ports["pushgateway"]
    busy_socket(port)

    result = stack.cli("up", "--timeout", "20")
    assert_user_error(result, "service pushgateway", str(port), "busy")

    code, rows = status_json(stack)
    assert code == 1
    assert rows["pushgateway"]["ok"] is False
    assert rows["pushgateway"]["state"] != "running"
    assert "address already in use" in rows["pushgateway"]["detail"], rows["pushgateway"]
    text = stack.cli("status")
    assert text.exit_code == 1
    assert "  pushgateway: " in text.stdout, text.explain()
    assert str(port) in text.stdout, text.explain()


def test_bad_image_names_the_service_and_the_image(make_stack: StackFactory) -> None:
    # A local tag that does not exist; no registry can be reached here, so the pull fails.
    bad = "observatory-test/pushgateway:no-such-tag"
    stack = make_stack({"pushgateway": {"image": bad}}, name="bad-image")

    result = stack.cli("up", "--timeout", "20")
    assert_user_error(result, "pushgateway", bad)

    code, rows = status_json(stack)
    assert code == 1
    row = rows["pushgateway"]
    assert (row["state"], row["image"], row["ok"]) == ("missing", bad, False), row
    assert bad in row["detail"], row
    assert "not on this host" in row["detail"], row
    assert "not on this host" not in rows["prometheus"]["detail"]  # its image is there


def test_service_that_never_becomes_healthy(make_stack: StackFactory) -> None:
    stack = make_stack(
        {
            # Exits at once on an unknown flag; restart "no" keeps it exited for status.
            "prometheus": {"extra_flags": ["--no-such-flag"], "restart": "no"},
            # Runs, but its healthcheck can never pass (the binary refuses an unknown flag).
            "pushgateway": {
                "healthcheck": {
                    "test": ["CMD", "/bin/pushgateway", "--no-such-flag"],
                    "interval": "1s",
                    "retries": 1,
                    "start_period": "0s",
                },
            },
        },
        name="unhealthy",
    )
    started = time.monotonic()
    result = stack.cli("up", "--timeout", "6")
    assert time.monotonic() - started < 60, "--timeout was not honoured"
    assert_user_error(result, "not healthy", "prometheus", "pushgateway")
    assert "grafana" not in result.stderr, result.explain()  # it is healthy

    code, rows = status_json(stack)
    assert code == 1
    prometheus, pushgateway = rows["prometheus"], rows["pushgateway"]
    assert prometheus["state"] == "exited", prometheus
    assert prometheus["detail"].startswith("exited with code "), prometheus
    assert prometheus["detail"] != "exited with code 0", prometheus
    assert (pushgateway["state"], pushgateway["health"]) == ("running", "unhealthy"), pushgateway
    assert pushgateway["detail"].startswith("healthcheck exit 1: "), pushgateway
    assert "no-such-flag" in pushgateway["detail"], pushgateway  # what the check printed
    assert rows["grafana"]["ok"] is True

    text = stack.cli("status")
    assert text.exit_code == 1
    assert "  prometheus: exited with code" in text.stdout, text.explain()
    assert "  pushgateway: healthcheck" in text.stdout, text.explain()


def _path_without_docker(root: Path) -> str:
    """A PATH holding every program of the current one except docker and docker-compose."""
    root.mkdir()
    for directory in os.environ.get("PATH", "").split(os.pathsep):
        if not directory or not Path(directory).is_dir():
            continue
        for entry in sorted(Path(directory).iterdir()):
            link = root / entry.name
            if entry.name.startswith("docker") or link.exists() or link.is_symlink():
                continue
            link.symlink_to(entry)
    return str(root)


def test_missing_docker_is_a_clear_error(make_stack: StackFactory, tmp_path: Path) -> None:
    stack = make_stack(name="no-docker")
    env = {"PATH": _path_without_docker(tmp_path / "bin")}
    for command in (["up", "--timeout", "10"], ["status"], ["logs"], ["down"]):
        result = stack.cli(*command, env=env)
        assert_user_error(result, "Docker is not installed", "hint:")
