"""The parser of the probe's output (pure): records in, the inventory contract out."""

from __future__ import annotations

import base64
import json
import random
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from beast_observatory.host.probe.inventory import (
    ApiAnswer,
    Attachment,
    Binding,
    ComposeProject,
    Docker,
    FileRecord,
    Healthcheck,
    Host,
    Inventory,
    State,
)
from beast_observatory.host.probe.parse import parse_probe_output
from beast_observatory.host.probe.records import duration

CID = "f" * 64
# inventory.json: what a report, an export and a later plan read back.
TOP_KEYS = {
    "probe_version",
    "managed",
    "host",
    "docker",
    "containers",
    "images",
    "volumes",
    "networks",
    "compose_projects",
    "config_files",
    "directories",
    "apis",
    "problems",
    "other_containers",
}
CONTAINER_KEYS = {
    "id",
    "name",
    "image",
    "image_id",
    "repo_digests",
    "cmd",
    "entrypoint",
    "env",
    "labels",
    "mounts",
    "ports",
    "networks",
    "restart_policy",
    "restart_max",
    "healthcheck",
    "user",
    "state",
    "config",
    "host_config",
    "log_options",
}
FILE_KEYS = {"host_path", "sha256", "size", "content", "error", "copied", "expected"}


def b(text: str | bytes, encoding: str = "base64") -> str:
    data = text.encode() if isinstance(text, str) else text
    return data.hex() if encoding == "hex" else base64.b64encode(data).decode()


def line(**record: Any) -> str:
    return json.dumps(record, separators=(",", ":"))


def output(*records: str, encoding: str = "base64", end: bool = True) -> str:
    head = [
        line(k="meta", probe_version=2, encoding=encoding, sha=True),
        line(k="host", hostname_b=b("vonnegut", encoding), kernel_b=b("Linux 6.1", encoding)),
        line(
            k="docker",
            available=True,
            server_version_b=b("24.0.7", encoding),
            compose_plugin_b=b("2.24.0", encoding),
            compose_standalone_b=None,
        ),
    ]
    return "\n".join(head + list(records) + ([line(k="end")] if end else [])) + "\n"


CONTAINER = line(
    k="container",
    id=CID,
    name="/stack-prometheus-1",
    image="prom/prometheus:v2.53.2",
    image_id="sha256:1",
    user="",
    restart_policy="",
    healthcheck={
        "Test": ["CMD", "wget", "-qO-", "x"],
        "Interval": 90_000_000_000,
        "Timeout": 500_000_000,
        "StartPeriod": 0,
        "Retries": 3,
    },
    mounts=[
        {
            "Type": "volume",
            "Name": "data",
            "Source": "/v",
            "Destination": "/prometheus",
            "RW": True,
        },
        {"Type": "bind", "Source": "/srv/p", "Destination": "/etc/prometheus", "RW": False},
    ],
    port_bindings={
        "9090/tcp": [{"HostIp": "127.0.0.1", "HostPort": ""}],
        "9091/tcp": [{"HostIp": "", "HostPort": "9091"}],
    },
    ports={"9090/tcp": [{"HostIp": "127.0.0.1", "HostPort": "32768"}], "9100/tcp": None},
    state={
        "status": "running",
        "health": "healthy",
        "started_at": "2024-01-01T00:00:00Z",
        "pid": 7,
        "exit_code": 0,
    },
)
DETAILS = [
    line(k="arg", c=CID, f="cmd", i=1, v="--storage.tsdb.retention.time=21d"),
    line(k="arg", c=CID, f="cmd", i=0, v="--config.file=/etc/prometheus/prometheus.yml"),
    line(k="arg", c=CID, f="entrypoint", i=0, v="/bin/prometheus"),
    line(k="env", c=CID, v="B=2=two"),
    line(k="env", c=CID, v="A=1"),
    line(k="label", c=CID, v="com.docker.compose.project=stack"),
    line(k="net", c=CID, v="stack_monitoring"),
    line(k="net", c=CID, v="bridge"),
    line(
        k="image",
        id="sha256:1",
        repo_digests=["prom/prometheus@sha256:b", "prom/prometheus@sha256:a"],
        repo_tags=[],
    ),
]


def test_the_inventory_json_has_exactly_the_contract_keys() -> None:
    inv = parse_probe_output(output(CONTAINER, *DETAILS))
    data = inv.to_json()
    assert set(data) == TOP_KEYS
    (container,) = data["containers"]
    assert set(container) == CONTAINER_KEYS
    assert set(container["state"]) == {"status", "health", "started_at", "pid", "exit_code"}
    assert set(container["mounts"][0]) == {
        "type",
        "source",
        "destination",
        "rw",
        "name",
        "propagation",
    }
    assert inv.host == Host(hostname="vonnegut", kernel="Linux 6.1")
    assert inv.docker == Docker(
        available=True,
        server_version="24.0.7",
        compose_plugin="2.24.0",
        compose_standalone=None,
        error=None,
    )
    assert inv.problems == ()
    assert Inventory.from_json(json.loads(json.dumps(data))) == inv


def test_a_container_is_assembled_from_its_records() -> None:
    (c,) = parse_probe_output(output(CONTAINER, *DETAILS)).containers
    assert c.name == "stack-prometheus-1"
    assert c.cmd == (
        "--config.file=/etc/prometheus/prometheus.yml",
        "--storage.tsdb.retention.time=21d",
    )
    assert c.entrypoint == ("/bin/prometheus",)
    assert c.env == {"A": "1", "B": "2=two"}
    assert c.labels == {"com.docker.compose.project": "stack"}
    assert c.project == "stack"
    assert c.network_names == ["bridge", "stack_monitoring"]
    assert c.networks == (Attachment("bridge"), Attachment("stack_monitoring"))
    assert c.repo_digests == ("prom/prometheus@sha256:a", "prom/prometheus@sha256:b")
    assert c.restart_policy == "no"
    assert [m.destination for m in c.mounts] == ["/etc/prometheus", "/prometheus"]
    assert c.host_path("/etc/prometheus/rules/a.yml") == "/srv/p/rules/a.yml"
    assert c.host_path("/prometheus/wal") is None  # a volume, not a bind
    # What the running container got (a random port) wins over what it asked for; configured-only
    # bindings (a stopped container's) count too; exposed but unpublished ports do not.
    assert c.ports == {
        "9090/tcp": (Binding(host_ip="127.0.0.1", host_port="32768"),),
        "9091/tcp": (Binding(host_ip="", host_port="9091"),),
    }
    assert c.healthcheck == Healthcheck(
        test=("CMD", "wget", "-qO-", "x"),
        interval="1m30s",
        timeout="500ms",
        start_period=None,
        retries=3,
    )
    assert c.state == State("running", "healthy", "2024-01-01T00:00:00Z", 7, 0)


def test_the_order_of_records_does_not_matter() -> None:
    records = [CONTAINER, *DETAILS]
    first = parse_probe_output(output(*records))
    shuffled = records[:]
    random.Random(5).shuffle(shuffled)  # noqa: S311 - a fixed order, not a secret
    assert parse_probe_output(output(*shuffled)) == first
    assert json.dumps(first.to_json(), sort_keys=True) == json.dumps(
        parse_probe_output(output(*records)).to_json(), sort_keys=True
    )


def test_hex_encoding_for_hosts_without_base64() -> None:
    inv = parse_probe_output(output(line(k="problem", msg_b=b("odd", "hex")), encoding="hex"))
    assert inv.host.hostname == "vonnegut"
    assert "odd" in inv.problems


def test_files_in_every_scope() -> None:
    def file(scope: str, owner: str, path: str, content: bytes | None, **extra: Any) -> str:
        return line(
            k="file",
            scope=scope,
            owner_b=b(owner),
            path_b=b(path),
            host_path_b=b("/h" + path),
            sha256="ab",
            size=3,
            error_b=extra.get("error_b"),
            content_b=None if content is None else b(content),
        )

    inv = parse_probe_output(
        output(
            line(
                k="project",
                name_b=b("stack"),
                working_dir_b=b("/srv"),
                config_files_b=b("/srv/a.yml,/srv/b.yml"),
            ),
            line(
                k="project",
                name_b=b("stack"),
                working_dir_b=b("/srv"),
                config_files_b=b("/srv/a.yml"),
            ),
            file("project", "stack", "/srv/a.yml", b"services: {}\n"),
            file("container", "prom", "/etc/prometheus/p.yml", b"\xff\xfe"),
            file("container", "prom", "/etc/prometheus/gone.yml", None, error_b=b("no such file")),
            line(k="dir", path_b=b("/opt/empty")),
            line(k="dir", path_b=b("/opt/deploy")),
            file("dir", "/opt/deploy", "docker-compose.yml", b"x"),
        )
    )
    (project,) = inv.compose_projects
    assert project == ComposeProject(
        name="stack",
        working_dir="/srv",
        config_files=("/srv/a.yml", "/srv/b.yml"),
        files={"/srv/a.yml": FileRecord("/h/srv/a.yml", "ab", 3, "services: {}\n", None)},
    )
    prom = inv.config_files["prom"]
    assert set(inv.to_json()["config_files"]["prom"]["/etc/prometheus/p.yml"]) == FILE_KEYS
    assert prom["/etc/prometheus/p.yml"].content is None
    assert str(prom["/etc/prometheus/p.yml"].error).startswith("not UTF-8 text")
    assert inv.directories == {
        "/opt/deploy": {"docker-compose.yml": FileRecord("/hdocker-compose.yml", "ab", 3, "x")},
        "/opt/empty": {},
    }
    assert list(inv.file_errors()) == [
        ("container prom", "/etc/prometheus/gone.yml", "no such file"),
        ("container prom", "/etc/prometheus/p.yml", prom["/etc/prometheus/p.yml"].error),
    ]


def test_files_copied_out_of_a_container_get_the_host_path_of_their_bind() -> None:
    """docker cp reads what the container sees: a file that came through a bind mount is
    that bind's host file; one of the image, or edited inside the container, has none."""

    def copied(path: str) -> str:
        return line(
            k="file",
            scope="container",
            owner_b=b("stack-prometheus-1"),
            path_b=b(path),
            host_path_b=b(""),
            copied=True,
            sha256="ab",
            size=1,
            error_b=None,
            content_b=b("x"),
        )

    inv = parse_probe_output(
        output(
            CONTAINER,
            *DETAILS,
            copied("/etc/prometheus/prometheus.yml"),
            copied("/etc/console_libraries/menu.lib"),
        )
    )
    files = inv.config_files["stack-prometheus-1"]
    assert files["/etc/prometheus/prometheus.yml"] == FileRecord(
        "/srv/p/prometheus.yml", "ab", 1, "x", copied=True
    )
    assert files["/etc/console_libraries/menu.lib"].host_path == ""


def test_apis_answers_and_silences() -> None:
    def api(path: str, status: int, body: bytes | None, **extra: Any) -> str:
        return line(
            k="api",
            owner_b=b("prom"),
            path=path,
            status=status,
            via="host",
            error_b=extra.get("error_b"),
            body_b=None if body is None else b(body),
            **extra.get("more", {}),
        )

    inv = parse_probe_output(
        output(
            api(
                "/api/v1/status/buildinfo", 200, b'{"status":"success","data":{"version":"2.53.2"}}'
            ),
            api("/api/v1/targets", 0, None, error_b=b("connection refused")),
            api("/api/v1/status/flags", 401, b"Unauthorized\n"),
            api("/api/v1/status/config", 200, None, more={"too_large": True}),
        )
    )
    answers = inv.apis["prom"]
    assert list(answers) == sorted(answers)
    assert answers["/api/v1/status/buildinfo"] == ApiAnswer(
        200, {"status": "success", "data": {"version": "2.53.2"}}
    )
    assert answers["/api/v1/status/flags"] == ApiAnswer(401, "Unauthorized\n")
    assert inv.problems == (
        "prom: /api/v1/status/config: the answer was too large to keep",
        "prom: /api/v1/status/flags answered HTTP 401",
        "prom: /api/v1/targets did not answer (connection refused)",
    )


def test_broken_output_keeps_what_came_before() -> None:
    text = output(CONTAINER, "not json at all", line(k="mystery"), end=False)
    inv = parse_probe_output(text, stderr="sh: killed\n", exit_code=137)
    assert len(inv.containers) == 1
    assert any("line 5 is not JSON" in p for p in inv.problems)
    assert any("unknown record 'mystery'" in p for p in inv.problems)
    assert any("ended early (exit code 137)" in p for p in inv.problems)
    assert "probe stderr: sh: killed" in inv.problems


def test_another_probe_version_is_a_problem() -> None:
    text = output().replace('"probe_version":2', '"probe_version":1')
    assert "probe version 1 is not 2" in parse_probe_output(text).problems


def test_no_output_at_all_is_a_problem_not_a_crash() -> None:
    inv = parse_probe_output("", stderr="sh: not found", exit_code=127)
    assert inv.containers == ()
    assert inv.docker.available is False
    assert any("printed no header" in p for p in inv.problems)
    assert "Docker is not available: the probe did not report on Docker" in inv.problems


@pytest.mark.parametrize(
    ("ns", "text"),
    [
        (15_000_000_000, "15s"),
        (90_000_000_000, "1m30s"),
        (3_600_000_000_000, "1h"),
        (250_000_000, "250ms"),
        (0, None),
        (None, None),
    ],
)
def test_durations(ns: int | None, text: str | None) -> None:
    assert duration(ns) == text


@settings(deadline=None)  # a loaded machine is slow, not wrong
@given(st.lists(st.text(max_size=40), max_size=20))
def test_the_parser_never_raises(lines: list[str]) -> None:
    inv = parse_probe_output("\n".join(lines))
    assert set(inv.to_json()) == TOP_KEYS


@pytest.mark.parametrize("encoding", ["base64", "hex"])
def test_other_containers_are_named_once_and_sorted(encoding: str) -> None:
    inv = parse_probe_output(
        output(
            line(k="other", name_b=b("zeta", encoding)),
            line(k="other", name_b=b("alpha", encoding)),
            line(k="other", name_b=b("zeta", encoding)),
            line(k="other", name_b=b("", encoding)),
            encoding=encoding,
        )
    )
    assert inv.other_containers == ("alpha", "zeta")
    assert inv.to_json()["other_containers"] == ["alpha", "zeta"]
