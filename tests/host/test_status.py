"""The one-round-trip status script (host/scripts/status.sh) and the parser of its output."""

from __future__ import annotations

import json
import subprocess
import time
from pathlib import Path
from typing import Any

import pytest

from beast_observatory.host.status import (
    MARK,
    Endpoint,
    ServiceStatus,
    endpoints_from_compose,
    parse_status,
    status_command,
)
from beast_observatory.names import READY_LABEL

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
    def ready(url: str) -> dict[str, str]:
        return {READY_LABEL: url}

    compose = {
        "services": {
            "prometheus": {
                "ports": ["127.0.0.1:9090:9090"],
                "labels": ready("http://127.0.0.1:9090/-/ready"),
            },
            # not published: probed from inside its container
            "grafana": {"labels": ready("http://127.0.0.1:3000/api/health")},
            "sidecar": {"ports": ["8080:8080"]},  # no ready label: not probed
        }
    }
    assert endpoints_from_compose(compose) == [
        Endpoint("grafana", "", 0, "/api/health", 3000),
        Endpoint("prometheus", "127.0.0.1", 9090, "/-/ready", 9090),
    ]


# ----------------------------------------------------------------- the script in a real shell

NASTY_PROJECT = 'it\'s $(touch pwned) `touch pwned` "x";'
NASTY_IMAGE = "reg.example:5000/it's/$(touch pwned):v1"

# A `docker` (and a `curl`) that record their arguments (one JSON list a line) and answer from
# scenario.json: the services' states, one list per look ("inspect --format"), the last one
# repeating; curl's answer; which images exist.
FAKE_DOCKER = """#!/usr/bin/env python3
import json, sys
from pathlib import Path
here = Path(__file__).resolve().parent.parent
scenario = json.loads((here / "scenario.json").read_text())
args = sys.argv[1:]
with open(here / "calls.log", "a") as log:
    log.write(json.dumps([Path(sys.argv[0]).name, *args]) + "\\n")
if Path(sys.argv[0]).name == "curl":
    print(scenario.get("curl", "200"), end="")
    sys.exit(0)
services = scenario.get("services", [])
if args[:2] == ["ps", "-aq"] or args[:2] == ["ps", "-q"]:
    print("\\n".join("c" + s for s in services if s in args[-1] or args[:2] == ["ps", "-aq"]))
elif args[:1] == ["inspect"] and "--format" in args:
    looks = here / "looks"
    n = int(looks.read_text()) if looks.exists() else 0
    looks.write_text(str(n + 1))
    states = scenario["states"][min(n, len(scenario["states"]) - 1)]
    print("\\n".join(f"{s} {states}" for s in services))
elif args[:1] == ["inspect"]:
    print(json.dumps([{"Name": "/" + s, "Config": {"Labels": {
        "com.docker.compose.service": s}}, "State": {"Status": "running"}} for s in services]))
elif args[:2] == ["image", "inspect"]:
    sys.exit(0 if args[-1] in scenario.get("images", []) else 1)
elif args[:1] == ["exec"]:
    sys.exit(0 if scenario.get("inner_ok") else 1)
"""


@pytest.fixture
def fake_host(tmp_path: Path) -> Path:
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    for name in ("docker", "curl"):
        (bin_dir / name).write_text(FAKE_DOCKER)
        (bin_dir / name).chmod(0o755)
    (tmp_path / "scenario.json").write_text("{}")
    return tmp_path


def run_status(
    host: Path, argv: list[str], scenario: dict[str, Any]
) -> tuple[str, list[list[str]]]:
    (host / "scenario.json").write_text(json.dumps(scenario))
    done = subprocess.run(
        argv,
        capture_output=True,
        text=True,
        cwd=host,
        env={"PATH": f"{host / 'bin'}:/usr/bin:/bin"},
        timeout=60,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    calls = [json.loads(line) for line in (host / "calls.log").read_text().splitlines()]
    return done.stdout, calls


def test_status_script_quotes_what_it_is_given(fake_host: Path) -> None:
    endpoints = [Endpoint("prometheus", "", 0, "/-/ready", 9090)]  # probed inside: no network
    images = {"prometheus": NASTY_IMAGE}
    command = status_command(NASTY_PROJECT, ["prometheus"], endpoints, images)
    assert command.argv[:2] == ("sh", "-c")
    assert NASTY_PROJECT not in command.argv[2]
    out, calls = run_status(fake_host, list(command.argv), {"states": ["running none"]})
    assert not (fake_host / "pwned").exists(), "the shell ran part of a name as a command"
    label = f"label=com.docker.compose.project={NASTY_PROJECT}"
    assert calls[0] == ["docker", "ps", "-aq", "--filter", label]
    assert ["docker", "image", "inspect", "--format", ".", NASTY_IMAGE] in calls
    # ...and the parser reads what the script printed.
    [row] = parse_status(out, ["prometheus"], endpoints, images)
    assert row.state == "missing"
    assert NASTY_IMAGE in row.detail


def test_status_script_probes_published_services_from_the_host(fake_host: Path) -> None:
    command = status_command("obs", ["prometheus"], ENDPOINTS[1:2])
    out, calls = run_status(
        fake_host, list(command.argv), {"services": ["prometheus"], "states": ["running healthy"]}
    )
    assert ["curl", "-s", "-o", "/dev/null", "-m", "5", "-w", "%{http_code}",
            "http://127.0.0.1:9090/-/ready"] in calls  # fmt: skip
    assert f"{MARK}probe prometheus 200" in out.splitlines()
    assert not [c for c in calls if c[:2] == ["docker", "exec"]]


def test_status_script_falls_back_to_a_probe_inside_the_container(fake_host: Path) -> None:
    command = status_command("obs", ["prometheus"], ENDPOINTS[1:2])
    scenario = {"services": ["prometheus"], "states": ["running none"], "curl": "000"}
    out, calls = run_status(fake_host, list(command.argv), {**scenario, "inner_ok": True})
    inner = [c for c in calls if c[:2] == ["docker", "exec"]]
    assert inner == [["docker", "exec", "cprometheus", "wget", "-q", "-O", "/dev/null",
                      "http://127.0.0.1:9090/-/ready"]]  # fmt: skip
    assert f"{MARK}probe prometheus 200" in out.splitlines()


def test_status_script_waits_on_the_host_until_every_service_is_ready(fake_host: Path) -> None:
    states = ["running starting", "running starting", "running healthy"]
    command = status_command("obs", SERVICES, ENDPOINTS, wait=30)
    started = time.monotonic()
    out, _ = run_status(fake_host, list(command.argv), {"services": SERVICES, "states": states})
    assert time.monotonic() - started < 10, "it waited for more than the stack"
    assert (fake_host / "looks").read_text() == "3", "it did not look again until ready"
    assert [line.split()[1:] for line in out.splitlines() if "probe" in line] == [
        [s, "200"] for s in SERVICES
    ]


def test_status_script_gives_up_at_its_deadline(fake_host: Path) -> None:
    command = status_command("obs", SERVICES, ENDPOINTS, wait=2)
    started = time.monotonic()
    run_status(fake_host, list(command.argv), {"services": SERVICES, "states": ["exited none"]})
    # the host's clock counts whole seconds: a 2 s deadline is over after 1 to 2 s
    assert 1.0 < time.monotonic() - started < 10
    assert int((fake_host / "looks").read_text()) >= 2  # it looked again


def test_without_wait_the_status_script_looks_once(fake_host: Path) -> None:
    command = status_command("obs", SERVICES, ENDPOINTS)
    run_status(fake_host, list(command.argv), {"services": SERVICES, "states": ["exited none"]})
    assert (fake_host / "looks").read_text() == "1"
