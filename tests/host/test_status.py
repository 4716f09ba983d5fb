"""The one-round-trip status script and the parser of its output."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path
from typing import Any

import pytest

from beast_observatory.host.status import (
    MARK,
    Endpoint,
    ServiceStatus,
    endpoints_from_compose,
    parse_status,
    status_script,
)

SERVICES = ["grafana", "prometheus", "pushgateway"]
ENDPOINTS = [
    Endpoint("grafana", "127.0.0.1", 3000, "/api/health", 3000),
    Endpoint("prometheus", "127.0.0.1", 9090, "/-/ready", 9090),
    Endpoint("pushgateway", "0.0.0.0", 9091, "/-/ready", 9091),  # noqa: S104 - a published wildcard
]
IMAGES = {
    "grafana": "grafana/grafana-oss:11.2.0",
    "prometheus": "prom/prometheus:v2.53.2",
    "pushgateway": "prom/pushgateway:v1.9.0",
}


def container(service: str, status: str = "running", **state: Any) -> dict[str, Any]:
    """The fields of `docker inspect` that the parser reads."""
    restarts = state.pop("restarts", 0)
    return {
        "Name": f"/obs-{service}-1",
        "RestartCount": restarts,
        "State": {"Status": status, "StartedAt": "2024-05-01T10:00:00.123456789Z", **state},
        "Config": {
            "Image": IMAGES[service],
            "Labels": {"com.docker.compose.project": "obs", "com.docker.compose.service": service},
        },
        "NetworkSettings": {
            "Ports": {"9090/tcp": [{"HostIp": "127.0.0.1", "HostPort": "9090"}], "9093/tcp": None}
        },
    }


def script_output(
    containers: list[dict[str, Any]], probes: dict[str, str], absent: tuple[str, ...] = ()
) -> str:
    lines = [f"{MARK}inspect", json.dumps(containers, indent=4)]
    lines += [f"{MARK}probe {svc} {code}" for svc, code in probes.items()]
    lines += [f"{MARK}noimage {image}" for image in absent]
    return "\n".join(lines) + "\n"


def by_service(rows: list[ServiceStatus]) -> dict[str, ServiceStatus]:
    assert [r.service for r in rows] == sorted(r.service for r in rows)
    return {r.service: r for r in rows}


def test_parse_status_of_a_healthy_stack() -> None:
    health = {"Status": "healthy", "Log": [{"ExitCode": 0, "Output": ""}]}
    output = script_output(
        [container(s, Health=health) for s in SERVICES], dict.fromkeys(SERVICES, "200")
    )
    rows = by_service(parse_status(output, SERVICES, ENDPOINTS, IMAGES))
    prometheus = rows["prometheus"]
    assert prometheus == ServiceStatus(
        service="prometheus",
        container="obs-prometheus-1",
        state="running",
        health="healthy",
        started_at="2024-05-01T10:00:00.123456789Z",
        image="prom/prometheus:v2.53.2",
        ports=("127.0.0.1:9090->9090/tcp",),
        ready="200",
        url="http://127.0.0.1:9090",
    )
    assert all(r.ok for r in rows.values())
    assert rows["pushgateway"].url == "http://127.0.0.1:9091"  # wildcard: reach it on loopback


def test_parse_status_says_what_is_wrong_with_each_service() -> None:
    wget_404 = "wget: server returned error: HTTP/1.1 404 Not Found\n"
    health_log = [{"ExitCode": 1, "Output": wget_404}]
    containers = [
        container(
            "grafana",
            "created",
            Error="driver failed programming external connectivity: "
            "listen tcp4 127.0.0.1:3000: bind: address already in use",
        ),
        container(
            "prometheus",
            "restarting",
            ExitCode=1,
            restarts=4,
            Health={"Status": "unhealthy", "Log": health_log},
        ),
        container("pushgateway", Health={"Status": "unhealthy", "Log": health_log}),
    ]
    probes = {"grafana": "000", "prometheus": "000", "pushgateway": "404"}
    output = script_output(containers, probes)
    rows = by_service(parse_status(output, SERVICES, ENDPOINTS, IMAGES))
    assert not any(r.ok for r in rows.values())
    assert rows["grafana"].detail.endswith("bind: address already in use")
    # A crash loop: the exit code is the cause, not the healthcheck of an earlier run.
    assert rows["prometheus"].detail == "exited with code 1, restarted 4 time(s)"
    assert rows["pushgateway"].detail == (
        "healthcheck exit 1: wget: server returned error: HTTP/1.1 404 Not Found"
    )
    assert rows["pushgateway"].ready == "404"


def test_a_crash_loop_caught_while_running_says_it_restarted() -> None:
    c = container("prometheus", Health={"Status": "starting", "Log": []}, restarts=7)
    [row] = parse_status(script_output([c], {"prometheus": "000"}), ["prometheus"], [])
    assert (row.state, row.health, row.detail) == ("running", "starting", "restarted 7 time(s)")


def test_parse_status_of_an_exited_container() -> None:
    output = script_output([container("prometheus", "exited", ExitCode=2)], {})
    [row] = parse_status(output, ["prometheus"], [], IMAGES)
    assert (row.state, row.detail, row.ready) == ("exited", "exited with code 2", "-")
    assert not row.ok


def test_a_missing_container_names_its_image_when_the_host_lacks_it() -> None:
    output = script_output([], {"grafana": "000", "prometheus": "000"}, (IMAGES["prometheus"],))
    rows = by_service(parse_status(output, SERVICES, ENDPOINTS, IMAGES))
    assert rows["grafana"].detail == "no container"
    assert rows["prometheus"].state == "missing"
    assert rows["prometheus"].image == "prom/prometheus:v2.53.2"
    assert rows["prometheus"].detail == (
        "no container: image prom/prometheus:v2.53.2 is not on this host "
        "(check its name, or load it there)"
    )


def test_parse_status_without_endpoints_still_reads_the_image_lines() -> None:
    output = f"{MARK}inspect\n[]\n{MARK}noimage prom/prometheus:v2.53.2\n"
    [row] = parse_status(output, ["prometheus"], [], IMAGES)
    assert "is not on this host" in row.detail


def test_parse_status_reads_compose_v1_containers_by_label() -> None:
    c = container("prometheus")
    c["Config"]["Labels"] = {"org.beast-observatory.service": "prometheus"}
    [row] = parse_status(script_output([c], {}), ["prometheus"], [])
    assert row.state == "running"


def test_endpoints_from_compose() -> None:
    """The services whose ready label says where they answer; published or not."""
    ready = "org.beast-observatory.ready"
    compose = {
        "services": {
            "prometheus": {
                "ports": ["127.0.0.1:19090:9095"],
                "labels": {ready: "http://127.0.0.1:9095/prom/-/ready"},
            },
            # not published: probed from inside its container
            "grafana": {"labels": {ready: "http://127.0.0.1:3000/api/health"}},
            "sidecar": {"ports": ["8080:8080"]},  # no ready label: not probed
        }
    }
    assert endpoints_from_compose(compose) == [
        Endpoint("grafana", "", 0, "/api/health", 3000),
        Endpoint("prometheus", "127.0.0.1", 19090, "/prom/-/ready", 9095),
    ]


# ----------------------------------------------------------------- the script in a real shell

NASTY_PROJECT = 'it\'s $(touch pwned) `touch pwned` "x";'
NASTY_IMAGE = "reg.example:5000/it's/$(touch pwned):v1"


@pytest.fixture
def fake_docker(tmp_path: Path) -> Path:
    """A `docker` that records its arguments (one JSON list a line) and has no images."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    log = tmp_path / "docker.log"
    script = bin_dir / "docker"
    script.write_text(
        "#!/usr/bin/env python3\n"
        "import json, sys\n"
        f"open({str(log)!r}, 'a').write(json.dumps(sys.argv[1:]) + '\\n')\n"
        "sys.exit(1 if sys.argv[1:3] == ['image', 'inspect'] else 0)\n"
    )
    script.chmod(0o755)
    return tmp_path


def test_status_script_quotes_what_it_is_given(fake_docker: Path) -> None:
    endpoints = [Endpoint("prometheus", "", 0, "/-/ready")]  # probed inside: no network
    images = {"prometheus": NASTY_IMAGE}
    script = status_script(NASTY_PROJECT, endpoints, images)
    done = subprocess.run(
        ["sh", "-c", script],
        capture_output=True,
        text=True,
        cwd=fake_docker,
        env={"PATH": f"{fake_docker / 'bin'}:/usr/bin:/bin"},
        timeout=30,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert not (fake_docker / "pwned").exists(), "the shell ran part of a name as a command"
    calls = [json.loads(line) for line in (fake_docker / "docker.log").read_text().splitlines()]
    label = f"label=com.docker.compose.project={NASTY_PROJECT}"
    assert calls[0] == ["ps", "-aq", "--filter", label]
    assert ["image", "inspect", "--format", ".", NASTY_IMAGE] in calls
    # ...and the parser reads what the script printed.
    [row] = parse_status(done.stdout, ["prometheus"], endpoints, images)
    assert row.state == "missing"
    assert NASTY_IMAGE in row.detail


def test_status_script_probes_published_services_from_the_host() -> None:
    script = status_script("obs", ENDPOINTS[1:2])
    assert "code=$(probe http://127.0.0.1:9090/-/ready)" in script
    # ...and falls back to a probe inside the container (a host without curl or wget).
    assert "code=$(inner prometheus http://127.0.0.1:9090/-/ready)" in script
    assert f'echo "{MARK}probe prometheus $code"' in script
