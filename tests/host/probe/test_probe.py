"""The probe against a stand-in `docker` (see probe_env.py): the branches an engine rarely shows.

What a real engine shows is tested for real in test_probe_engine.py and
tests/e2e/test_discover_export.py.
"""

from __future__ import annotations

import hashlib
import json
import shutil
import tempfile
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

from beast_observatory.host.probe.build import probe_script
from beast_observatory.host.probe.inventory import ApiAnswer, Container, Docker, Inventory, Volume
from beast_observatory.host.probe.parse import parse_probe_output
from beast_observatory.host.probe.run import probe_argv
from beast_observatory.host.transport.local import LocalTransport

from .probe_env import (
    BUSYBOX,
    bind,
    fake_docker,
    free_port,
    image_lines,
    inspect_lines,
    probe,
    ps_lines,
    tool_dir,
)

SHELLS = [
    "dash",
    pytest.param("busybox", marks=pytest.mark.skipif(BUSYBOX is None, reason="no busybox")),
]
PROM_ID = "a" * 64
GONE_ID = "b" * 64
APP_ID = "c" * 64
PG_ID = "d" * 64


PUSHGATEWAY_STATUS = {"status": "success", "data": {"build_information": {"version": "1.9.0"}}}


class _Pushgateway(BaseHTTPRequestHandler):
    """Answers /api/v1/status like a Pushgateway; 404 for anything else."""

    def do_GET(self) -> None:
        body = json.dumps(PUSHGATEWAY_STATUS).encode()
        self.send_response(200 if self.path == "/api/v1/status" else 404)
        self.send_header("Content-Type", "application/json")
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args: object) -> None:
        """Quiet."""


@pytest.fixture(scope="module")
def pushgateway_port() -> Iterator[int]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Pushgateway)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        yield server.server_address[1]
    finally:
        server.shutdown()
        server.server_close()


@pytest.fixture(scope="module", params=SHELLS)
def host(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory, pushgateway_port: int
) -> dict[str, Any]:
    """The same host seen by dash + GNU tools + curl, and by busybox sh/awk + busybox wget."""
    root = tmp_path_factory.mktemp(f"host-{request.param}")
    config = root / "prometheus"
    (config / "rules").mkdir(parents=True)
    (config / "prometheus.yml").write_text("global:\n  scrape_interval: 20s\n")
    (config / "rules" / "a.yml").write_text("groups: []\n")
    (config / "data.bin").write_bytes(b"\x00\x01binary")
    compose = root / "docker-compose.yml"
    compose.write_text("services:\n  prometheus:\n    environment:\n      - API_TOKEN=in-file\n")
    (root / ".env").write_text("API_TOKEN=dotenv-token\n")
    port = free_port()  # nothing listens there: the API does not answer
    labels = {
        "com.docker.compose.project": "hand",
        "com.docker.compose.service": "prometheus",
        "com.docker.compose.project.working_dir": str(root),
        "com.docker.compose.project.config_files": f"{compose},{root}/missing-override.yml",
        "vault.token": "label-secret",
    }
    inspect = inspect_lines(
        PROM_ID,
        "hand-prometheus-1",
        "prom/prometheus:v2.53.2",
        entrypoint=["/bin/prometheus"],
        cmd=[
            "--config.file=/etc/prometheus/prometheus.yml",
            "--web.auth-token=flag-secret",
            "--storage.tsdb.path=/prometheus",
        ],
        env=["API_TOKEN=env-secret", "MULTI=line1\nline2", 'QUOTED_PASSWORD=a"b\\c', "PATH=/bin"],
        labels=labels,
        mounts=[
            bind(config, "/etc/prometheus"),
            bind(root / "gone.yml", "/etc/extra.yml"),
            {
                "Type": "volume",
                "Name": "v",
                "Source": str(root / "tsdb"),
                "Destination": "/prometheus",
                "RW": True,
            },
        ],
        ports={"9090/tcp": [{"HostIp": "127.0.0.1", "HostPort": str(port)}]},
    )
    inspect += inspect_lines(
        PG_ID,
        "pg",
        "prom/pushgateway",
        entrypoint=["/bin/pushgateway"],
        ports={"9091/tcp": [{"HostIp": "0.0.0.0", "HostPort": str(pushgateway_port)}]},  # noqa: S104
    )
    inspect += inspect_lines(
        APP_ID,
        "app",
        "busybox:latest",
        cmd=["sleep", "1"],
        mounts=[bind("/", "/host")],
        running=False,
    )
    bin_dir = tool_dir(root, busybox=request.param == "busybox")
    fake_docker(
        bin_dir,
        {
            "version --format": "20.10.24-fake\n",
            "compose version": "2.40.3\n",
            "ps -a": ps_lines(PROM_ID, GONE_ID, PG_ID, APP_ID),
            "inspect --type": inspect,
            "image inspect": image_lines(repo_digests=["prom/prometheus@sha256:abc"], repo_tags=[]),
            "volume ls": "v\n",
            "volume inspect": (
                '{"k":"volume","name":"v","driver":"local","labels":null,"mountpoint":"/x"}\n'
            ),
            "network ls": "",
            f"exec {PROM_ID}": "",
        },
        stderr={
            "inspect --type": f"Error: No such object: {GONE_ID}\n",
            f"exec {PROM_ID}": "wget: can't connect to remote host: Connection refused\n",
        },
        copies={f"{PROM_ID}:/etc/prometheus": config},
    )
    run = probe(bin_dir, [str(root / "nowhere")])
    return {"root": root, "run": run, "inv": run.inventory, "port": port}


def sha12(value: str) -> str:
    return hashlib.sha256(value.encode()).hexdigest()[:12]


def container(inv: Inventory, name: str) -> Container:
    return next(c for c in inv.containers if c.name == name)


def test_a_container_that_vanished_is_a_problem_not_a_crash(host: dict[str, Any]) -> None:
    inv: Inventory = host["inv"]
    assert [c.name for c in inv.containers] == ["app", "hand-prometheus-1", "pg"]
    assert any(GONE_ID in p and "went away" in p for p in inv.problems)


def test_env_labels_and_flags_are_redacted_on_the_host(host: dict[str, Any]) -> None:
    prom = container(host["inv"], "hand-prometheus-1")
    assert prom.env["API_TOKEN"] == f"<redacted sha256:{sha12('env-secret')}>"
    quoted = 'a"b\\c'  # the value as the container has it: a, quote, b, backslash, c
    assert prom.env["QUOTED_PASSWORD"] == f"<redacted sha256:{sha12(quoted)}>"
    assert prom.env["MULTI"] == "line1\nline2"
    assert prom.labels["vault.token"] == f"<redacted sha256:{sha12('label-secret')}>"
    assert prom.cmd[1] == f"--web.auth-token=<redacted sha256:{sha12('flag-secret')}>"
    assert prom.cmd[0] == "--config.file=/etc/prometheus/prometheus.yml"
    assert prom.repo_digests == ("prom/prometheus@sha256:abc",)
    raw = json.dumps(host["inv"].to_json())
    for secret in ("env-secret", "label-secret", "flag-secret", "dotenv-token"):
        assert secret not in raw


def test_config_comes_out_of_the_container_and_through_the_mounts(host: dict[str, Any]) -> None:
    """The config directory is copied out of the container (docker cp), its files keep the
    host path of the bind mount they came through; a mount outside it is read on the host."""
    files = host["inv"].config_files["hand-prometheus-1"]
    root: Path = host["root"]
    config = files["/etc/prometheus/prometheus.yml"]
    assert config.content == "global:\n  scrape_interval: 20s\n"
    assert config.copied is True
    assert config.host_path == str(root / "prometheus" / "prometheus.yml")
    assert files["/etc/prometheus/rules/a.yml"].size == len("groups: []\n")
    assert files["/etc/prometheus/data.bin"].error == "binary file: content not read"
    assert files["/etc/prometheus/data.bin"].sha256 == hashlib.sha256(b"\x00\x01binary").hexdigest()
    assert files["/etc/extra.yml"].error == "no such file"
    assert files["/etc/extra.yml"].copied is False
    assert files["/etc/extra.yml"].host_path == str(root / "gone.yml")
    assert not any(p.startswith("/prometheus") for p in files)  # the data volume is skipped
    # Not a known service: its / mount is never read.
    assert "app" not in host["inv"].config_files


def test_compose_projects_with_their_files(host: dict[str, Any]) -> None:
    (project,) = host["inv"].compose_projects
    root: Path = host["root"]
    assert project.name == "hand"
    assert project.config_files == (
        str(root / "docker-compose.yml"),
        f"{root}/missing-override.yml",
    )
    assert project.files[f"{root}/missing-override.yml"].error == "no such file"
    assert (
        project.files[str(root / ".env")].content
        == f"API_TOKEN=<redacted sha256:{sha12('dotenv-token')}>\n"
    )
    assert "- API_TOKEN=<redacted" in str(project.files[str(root / "docker-compose.yml")].content)


def test_an_api_that_answers_through_curl_or_busybox_wget(host: dict[str, Any]) -> None:
    assert host["inv"].apis["pg"] == {"/api/v1/status": ApiAnswer(200, PUSHGATEWAY_STATUS)}


def test_an_api_that_does_not_answer_is_recorded(host: dict[str, Any]) -> None:
    answers = host["inv"].apis["hand-prometheus-1"]
    assert set(answers) == {
        "/api/v1/status/config",
        "/api/v1/status/flags",
        "/api/v1/status/buildinfo",
        "/api/v1/targets",
    }
    assert all(a == ApiAnswer(0, None) for a in answers.values())
    problems = [
        p for p in host["inv"].problems if p.startswith("hand-prometheus-1: /api/v1/targets")
    ]
    assert len(problems) == 1
    assert f"127.0.0.1:{host['port']}" in problems[0]
    assert "inside the container" in problems[0]


def test_a_missing_directory_and_the_docker_versions(host: dict[str, Any]) -> None:
    inv: Inventory = host["inv"]
    root: Path = host["root"]
    assert inv.directories == {str(root / "nowhere"): {}}
    assert f"directory {root / 'nowhere'}: no such directory" in inv.problems
    assert inv.docker == Docker(
        available=True,
        server_version="20.10.24-fake",
        compose_plugin="2.40.3",
        compose_standalone=None,
        error=None,
    )
    assert inv.volumes == (Volume(name="v", driver="local", labels={}, mountpoint="/x"),)


def test_one_round_trip_and_the_bytes_it_costs(host: dict[str, Any]) -> None:
    run = host["run"]
    assert run.round_trips == 1
    assert run.bytes_sent == len(probe_script())
    assert run.bytes_received > 1000


def test_a_docker_whose_daemon_is_down(tmp_path: Path) -> None:
    bin_dir = tool_dir(tmp_path)
    fake_docker(
        bin_dir,
        {"version --format": ""},
        stderr={
            "version --format": "Cannot connect to the Docker daemon at unix:///var/run/docker.sock.\n"
        },
    )
    inv = probe(bin_dir).inventory
    assert inv.docker.available is False
    assert str(inv.docker.error).startswith("Cannot connect to the Docker daemon")
    assert inv.containers == ()


def test_the_script_is_posix_sh_that_reads_nothing_more_from_stdin() -> None:
    script = probe_script().decode()
    assert script.rstrip().endswith('main "$@" </dev/null')
    assert probe_argv(["/opt/a b"]) == ["sh", "-s", "--", "--dir", "/opt/a b"]
    result = LocalTransport().run(["sh", "-n", "-s"], stdin=probe_script())
    assert result.exit_code == 0, result.stderr


SETPRIV = shutil.which("setpriv")


@pytest.mark.skipif(SETPRIV is None, reason="no setpriv (util-linux)")
def test_an_unprivileged_user_gets_a_report_not_a_crash() -> None:
    """As nobody: the Docker socket is refused and a mode-000 file cannot be read; both are
    recorded, the rest is read, and the output reaches its end record."""
    root = Path(tempfile.mkdtemp(prefix="obsdisc-nobody-", dir="/tmp"))
    try:
        root.chmod(0o755)
        (root / "locked.yml").write_text("password: hunter2\n")
        (root / "locked.yml").chmod(0o000)
        (root / "open.yml").write_text("ok: true\n")
        argv = [
            str(SETPRIV),
            "--reuid=65534",
            "--regid=65534",
            "--clear-groups",
            *probe_argv([str(root)]),
        ]
        result = LocalTransport().run(argv, stdin=probe_script())
        inv = parse_probe_output(result.text, result.stderr.decode(), result.exit_code)
    finally:
        shutil.rmtree(root)
    files = inv.directories[str(root)]
    assert str(files["locked.yml"].error).startswith("cannot read: ")
    assert "Permission denied" in str(files["locked.yml"].error)
    assert files["open.yml"].content == "ok: true\n"
    assert inv.docker.available is False
    assert "permission denied" in str(inv.docker.error)
    assert not any("ended early" in p for p in inv.problems)
