"""The pure parts of the operations: the status table, uptimes, and naming the service
behind a compose failure."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from beast_observatory.deploy.operations import (
    StackView,
    blame_image,
    blame_port,
    format_status,
    uptime,
)
from beast_observatory.errors import RuntimeFailure
from beast_observatory.host.compose import explain_compose_error
from beast_observatory.host.status import Endpoint, ServiceStatus

STARTED = "2024-05-01T10:00:00.123456789Z"
T0 = datetime(2024, 5, 1, 10, 0, 0, tzinfo=UTC).timestamp()

VIEW = StackView(
    project="obs",
    services=["grafana", "node-exporter", "prometheus", "pushgateway"],
    endpoints=[
        Endpoint("grafana", "127.0.0.1", 3000, "/api/health"),
        Endpoint("node-exporter", "127.0.0.1", 9100, "/metrics"),
        Endpoint("prometheus", "127.0.0.1", 9090, "/-/ready"),
        Endpoint("pushgateway", "127.0.0.1", 9091, "/-/ready"),
    ],
    images={
        "grafana": "grafana/grafana-oss:11.2.0",
        "node-exporter": "prom/node-exporter:v1.8.2",
        "prometheus": "prom/prometheus:v2.53.2",
        "pushgateway": "observatory-test/pushgateway:no-such-tag",
    },
)


@pytest.mark.parametrize(
    ("seconds", "shown"),
    [
        (0, "0s"),
        (5, "5s"),
        (119, "119s"),
        (120, "2m"),
        (7199, "119m"),
        (7200, "2h00m"),
        (90061, "25h01m"),
        (-3, "0s"),
    ],
)
def test_uptime(seconds: int, shown: str) -> None:
    assert uptime(STARTED, now=T0 + seconds) == shown


@pytest.mark.parametrize("started_at", ["", "yesterday"])
def test_uptime_of_an_unreadable_start_is_a_dash(started_at: str) -> None:
    assert uptime(started_at, now=T0) == "-"


def test_format_status_is_an_aligned_table_with_what_is_wrong_below() -> None:
    rows = [
        ServiceStatus(
            "grafana",
            "obs-grafana-1",
            "running",
            "healthy",
            STARTED,
            "grafana/grafana-oss:11.2.0",
            ("127.0.0.1:3000->3000/tcp",),
            "200",
            "http://127.0.0.1:3000",
        ),
        ServiceStatus(
            "prometheus",
            "obs-prometheus-1",
            "exited",
            "unhealthy",
            STARTED,
            "prom/prometheus:v2.53.2",
            (),
            "000",
            "http://127.0.0.1:9090",
            "exited with code 1",
        ),
        ServiceStatus(
            "pushgateway",
            "",
            "missing",
            "none",
            "",
            "prom/pushgateway:v1.9.0",
            (),
            "-",
            "",
            "no container",
        ),
    ]
    assert format_status(rows, now=T0 + 3725) == (
        "SERVICE      STATE    HEALTH     READY  UPTIME  IMAGE                       "
        "PORTS                     URL\n"
        "grafana      running  healthy    200    62m     grafana/grafana-oss:11.2.0  "
        "127.0.0.1:3000->3000/tcp  http://127.0.0.1:3000\n"
        "prometheus   exited   unhealthy  000    -       prom/prometheus:v2.53.2     "
        "-                         http://127.0.0.1:9090\n"
        "pushgateway  missing  none       -      -       prom/pushgateway:v1.9.0     "
        "-                         -\n"
        "  prometheus: exited with code 1\n"
        "  pushgateway: no container\n"
    )


def compose_failure(output: str) -> RuntimeFailure:
    """The error `docker compose up` raises, as ComposeProject.check builds it."""
    return RuntimeFailure(
        f"docker compose up failed on this machine: {explain_compose_error(output)}",
        hint="ran: docker compose ... up -d",
    )


PORT_BUSY = (
    "Error response from daemon: driver failed programming external connectivity on endpoint "
    "obs-node-exporter-1 (cb47): Error starting userland proxy: listen tcp4 127.0.0.1:9100: "
    "bind: address already in use"
)


def test_blame_port_names_the_service_and_where_to_change_its_port() -> None:
    error = blame_port(compose_failure(PORT_BUSY), VIEW)
    assert error.message.startswith("service node-exporter: host port 9100 is busy. ")
    assert error.message.endswith("bind: address already in use")
    assert error.hint == (
        "stop what holds the port, or give the service another port in "
        "environments.<env>.services.node_exporter.port"
    )


def test_blame_port_v2_allocated_form() -> None:
    output = "Bind for 127.0.0.1:9090 failed: port is already allocated"
    assert blame_port(compose_failure(output), VIEW).message.startswith(
        "service prometheus: host port 9090 is busy."
    )


def test_blame_port_leaves_a_port_of_no_service_alone() -> None:
    error = compose_failure(PORT_BUSY.replace("9100", "8080"))
    message = error.message
    assert blame_port(error, VIEW).message == message


V2_NO_REGISTRY = (
    " pushgateway Pulling \n"
    ' pushgateway Error Get "https://registry-1.docker.io/v2/": dial tcp: lookup '
    "registry-1.docker.io on 10.255.255.53:53: no such host\n"
    'Error response from daemon: Get "https://registry-1.docker.io/v2/": dial tcp: lookup '
    "registry-1.docker.io on 10.255.255.53:53: no such host\n"
)
V1_NO_REGISTRY = (
    'Creating network "obs_default" with the default driver\n'
    "Pulling prometheus (prom/prometheus:v2.53.2)...\n"
    "Pulling pushgateway (observatory-test/pushgateway:no-such-tag)...\n"
    'Get "https://registry-1.docker.io/v2/": dial tcp: lookup registry-1.docker.io on '
    "10.255.255.53:53: no such host\n"
)
BY_IMAGE = (
    "Error response from daemon: pull access denied for observatory-test/pushgateway:no-such-tag,"
    " repository does not exist or may require 'docker login'"
)


@pytest.mark.parametrize(
    "output",
    [V2_NO_REGISTRY, V1_NO_REGISTRY, BY_IMAGE],
    ids=["compose-v2", "compose-v1", "by-image"],
)
def test_blame_image_names_the_service_and_its_image(output: str) -> None:
    error = blame_image(compose_failure(output), VIEW)
    assert error.message.startswith(
        "service pushgateway (image observatory-test/pushgateway:no-such-tag): "
        "not on this host, could not be pulled. docker compose up failed"
    )
    assert "environments.<env>.services.pushgateway.image" in (error.hint or "")


def test_blame_image_names_every_service_whose_pull_failed_in_v2() -> None:
    output = V2_NO_REGISTRY + ' grafana Error Get "https://registry-1.docker.io/v2/": no host\n'
    error = blame_image(compose_failure(output), VIEW)
    assert error.message.startswith(
        "service pushgateway (image observatory-test/pushgateway:no-such-tag), "
        "grafana (image grafana/grafana-oss:11.2.0): "
    )


def test_blame_image_leaves_other_failures_alone() -> None:
    error = compose_failure(PORT_BUSY)
    message = error.message
    assert blame_image(error, VIEW).message == message
