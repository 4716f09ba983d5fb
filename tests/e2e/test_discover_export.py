"""The proof of issue 5: a stack made by hand is discovered through SSH, exported, rebuilt.

The stack below is written by hand in this file (a compose file, prometheus.yml, a rule file,
grafana.ini, provisioning and a dashboard), NOT by the tool, with non-default flags, a custom
network, named volumes, bind mounts, env variables and secrets in .env. It is started with
`docker compose` directly, reached through the test sshd as ``vonnegut``, discovered in ONE
command round trip, exported to a spec and built: the rendered files must equal the live ones
semantically (parsed), and the rendered commands must carry the live flags.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import secrets
import subprocess
import time
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import yaml

from beast_observatory.host.probe.run import run_probe
from beast_observatory.host.transport import HostTarget
from beast_observatory.host.transport.local import LocalTransport
from beast_observatory.host.transport.ssh import SshTransport
from host.sshd import ALIAS, TestSshd

from .conftest import observatory_argv
from .docker_env import TEST_IMAGES, cleanup_test_leftovers, compose_command, free_port, wait_http

pytestmark = pytest.mark.e2e

PREFIX = "obstest-disc-"
_OWN = re.compile(rf"^{re.escape(PREFIX)}(\d+)-[0-9a-f]+$")
GRAFANA_PASSWORD = "hand-made-admin-secret"
WORKER_TOKEN = "worker-token-4242"
INI_SECRET_KEY = "SW2YcwTIb9zpOOhoPsMm"
LOKI_PASSWORD = "loki-basic-auth-pw"


def short_sha(value: str) -> str:
    return hashlib.sha256(value.encode()).hexdigest()[:12]


# ----------------------------------------------------------------- the hand-made stack

COMPOSE = """\
# vonnegut's observatory, put together by hand. Nobody remembers every flag.
services:
  prometheus:
    image: {prometheus}
    command:
      - --config.file=/etc/prometheus/prometheus.yml
      - --storage.tsdb.path=/prometheus
      - --storage.tsdb.retention.time=21d
      - --web.enable-lifecycle
      - --query.lookback-delta=3m
    ports: ["127.0.0.1:{p_prometheus}:9090"]
    volumes:
      - ./prometheus:/etc/prometheus:ro
      - prom-data:/prometheus
    networks: [monitoring]
    restart: unless-stopped
  pushgateway:
    image: {pushgateway}
    command:
      ["--persistence.file=/pushgateway/metrics.db", "--persistence.interval=2m",
       "--web.enable-admin-api"]
    ports: ["127.0.0.1:{p_pushgateway}:9091"]
    volumes: ["pg-data:/pushgateway"]
    networks: [monitoring]
    restart: always
  grafana:
    image: {grafana}
    environment:
      GF_SECURITY_ADMIN_USER: beast
      GF_SECURITY_ADMIN_PASSWORD: ${{GRAFANA_ADMIN_PASSWORD}}
      GF_USERS_ALLOW_SIGN_UP: "false"
    ports: ["127.0.0.1:{p_grafana}:3000"]
    volumes:
      - ./grafana/grafana.ini:/etc/grafana/grafana.ini:ro
      - ./grafana/provisioning:/etc/grafana/provisioning:ro
      - ./grafana/dashboards:/var/lib/grafana/dashboards:ro
      - grafana-data:/var/lib/grafana
    networks: [monitoring]
    restart: unless-stopped
  worker:
    image: {busybox}
    command: ["sh", "-c", "trap 'exit 0' TERM; while sleep 1; do :; done"]
    environment:
      - JOB_NAME=nightly
      - API_TOKEN=${{WORKER_TOKEN}}
    labels:
      beast.role: worker
    networks: [monitoring]
networks:
  monitoring: {{}}
volumes:
  prom-data: {{}}
  pg-data: {{}}
  grafana-data: {{}}
"""

PROMETHEUS_YML = """\
# Scrape every 20 seconds; the batch worker only once a minute.
global:
  scrape_interval: 20s
  evaluation_interval: 30s
  external_labels: {site: vonnegut, team: beast}
rule_files: ["rules/*.yml"]
scrape_configs:
  - job_name: prometheus
    static_configs: [{targets: ["localhost:9090"]}]
  - job_name: pushgateway
    honor_labels: true
    static_configs:
      - targets: ['pushgateway:9091']
  - job_name: grafana
    metrics_path: /metrics
    static_configs:
      - targets: [grafana:3000]
  - job_name: worker
    scrape_interval: 1m
    metrics_path: /stats
    static_configs:
      - targets: ["worker:8080"]
        labels: {role: batch}
"""

RULES_YML = """\
groups:
  - name: beast
    rules:
      - alert: WorkerDown
        expr: up{job="worker"} == 0
        for: 5m
        labels: {severity: page}
      - record: job:up:sum
        expr: sum by (job) (up)
"""

GRAFANA_INI = f"""\
; grafana.ini of vonnegut, edited by hand
[server]
http_port = 3000
root_url = http://vonnegut:3000/

[security]
admin_user = beast
secret_key = {INI_SECRET_KEY}

[auth.anonymous]
enabled = true
org_role = Viewer

[paths]
provisioning = /etc/grafana/provisioning
"""

DATASOURCES_YML = f"""\
apiVersion: 1
datasources:
  - name: Beast Prometheus
    type: prometheus
    uid: beast-prom
    url: http://prometheus:9090
    access: proxy
    isDefault: true
    jsonData:
      timeInterval: 20s
  - name: Remote Loki
    type: loki
    uid: loki
    url: http://loki.invalid:3100
    basicAuth: true
    basicAuthUser: beast
    secureJsonData:
      basicAuthPassword: {LOKI_PASSWORD}
"""

PROVIDERS_YML = """\
apiVersion: 1
providers:
  - name: beast
    folder: Beast
    type: file
    options:
      path: /var/lib/grafana/dashboards
"""

DASHBOARD = {
    "uid": "beast-overview",
    "title": "Beast overview",
    "schemaVersion": 39,
    "tags": ["beast"],
    "time": {"from": "now-6h", "to": "now"},
    "templating": {"list": []},
    "panels": [
        {
            "id": 1,
            "type": "timeseries",
            "title": "Targets up",
            "gridPos": {"h": 8, "w": 12, "x": 0, "y": 0},
            "datasource": {"type": "prometheus", "uid": "beast-prom"},
            "targets": [
                {
                    "refId": "A",
                    "expr": "sum by (job) (up)",
                    "datasource": {"type": "prometheus", "uid": "beast-prom"},
                }
            ],
        }
    ],
}


@dataclass
class HandStack:
    directory: Path
    project: str
    ports: dict[str, int]

    def compose(self, *args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
        env = {
            **os.environ,
            "GRAFANA_ADMIN_PASSWORD": GRAFANA_PASSWORD,
            "WORKER_TOKEN": WORKER_TOKEN,
        }
        return subprocess.run(
            [*compose_command(), "-p", self.project, *args],
            cwd=self.directory,
            env=env,
            capture_output=True,
            text=True,
            timeout=180,
            check=check,
        )


def write_hand_stack(directory: Path) -> HandStack:
    project = f"{PREFIX}{os.getpid()}-{secrets.token_hex(3)}"
    ports = {name: free_port() for name in ("prometheus", "pushgateway", "grafana")}
    files = {
        "docker-compose.yml": COMPOSE.format(
            **TEST_IMAGES, **{f"p_{k}": v for k, v in ports.items()}
        ),
        ".env": f"GRAFANA_ADMIN_PASSWORD={GRAFANA_PASSWORD}\nWORKER_TOKEN={WORKER_TOKEN}\n",
        "prometheus/prometheus.yml": PROMETHEUS_YML,
        "prometheus/rules/beast.yml": RULES_YML,
        "grafana/grafana.ini": GRAFANA_INI,
        "grafana/provisioning/datasources/beast.yml": DATASOURCES_YML,
        "grafana/provisioning/dashboards/beast.yml": PROVIDERS_YML,
        "grafana/dashboards/beast-overview.json": json.dumps(DASHBOARD, indent=4) + "\n",
    }
    for rel, text in files.items():
        path = directory / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    return HandStack(directory, project, ports)


def remove_dead_leftovers() -> None:
    """Stacks of earlier runs of this module whose pytest process is gone (never live ones)."""
    done = subprocess.run(
        ["docker", "ps", "-a", "--format", '{{.Label "com.docker.compose.project"}}'],
        capture_output=True,
        text=True,
        check=True,
    )
    for project in sorted(set(done.stdout.split())):
        match = _OWN.match(project)
        if match and not Path(f"/proc/{match.group(1)}").exists():
            cleanup_test_leftovers(project)


@dataclass
class Discovered:
    stack: HandStack
    sshd: TestSshd
    out: Path
    inventory: dict[str, Any]
    sessions: int
    cli_output: str


def cli(*args: str, cwd: Path, timeout: float = 240.0) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("OBSERVATORY_")}
    return subprocess.run(
        [*observatory_argv(), *args],
        cwd=cwd,
        env=env,
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )


@pytest.fixture(scope="module")
def hand_stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[HandStack]:
    remove_dead_leftovers()
    stack = write_hand_stack(tmp_path_factory.mktemp("vonnegut") / "observatory")
    try:
        up = stack.compose("up", "-d", check=False)
        assert up.returncode == 0, up.stderr
        wait_http(f"http://127.0.0.1:{stack.ports['prometheus']}/-/ready", timeout=60)
        wait_http(f"http://127.0.0.1:{stack.ports['pushgateway']}/-/ready", timeout=60)
        yield stack
    finally:
        stack.compose("down", "-v", "--remove-orphans", check=False)
        cleanup_test_leftovers(stack.project)


@pytest.fixture(scope="module")
def sshd(tmp_path_factory: pytest.TempPathFactory) -> Iterator[TestSshd]:
    with TestSshd(tmp_path_factory.mktemp("sshd")) as server:
        yield server


@pytest.fixture(scope="module")
def discovered(
    hand_stack: HandStack, sshd: TestSshd, tmp_path_factory: pytest.TempPathFactory
) -> Discovered:
    work = tmp_path_factory.mktemp("work")
    before = sshd.count_sessions()
    done = cli(
        "discover",
        "--environment",
        "remote",
        "--host",
        ALIAS,
        "--ssh-config",
        str(sshd.ssh_config),
        "--known-hosts",
        str(sshd.known_hosts),
        cwd=work,
    )
    time.sleep(0.3)  # sshd logs asynchronously
    sessions = sshd.count_sessions() - before
    assert done.returncode == 0, done.stdout + done.stderr
    out = work / "docs" / "discovery" / ALIAS
    inventory = json.loads((out / "inventory.json").read_text())
    return Discovered(hand_stack, sshd, out, inventory, sessions, done.stdout + done.stderr)


def own(inventory: dict[str, Any], project: str) -> dict[str, dict[str, Any]]:
    return {
        c["labels"]["com.docker.compose.service"]: c
        for c in inventory["containers"]
        if c["labels"].get("com.docker.compose.project") == project
    }


# ----------------------------------------------------------------- discover


def test_discover_costs_one_ssh_session(discovered: Discovered) -> None:
    # One exec session and no SFTP: the probe script goes on stdin, its JSON comes back on stdout.
    assert discovered.sessions == 1, discovered.sshd.log_text()[-2000:]
    assert "1 round trip(s)" in discovered.cli_output


def test_the_transport_counts_one_round_trip_too(hand_stack: HandStack, sshd: TestSshd) -> None:
    target = HostTarget(ALIAS, ssh_config_path=sshd.ssh_config, known_hosts_path=sshd.known_hosts)
    transport = SshTransport(target)
    try:
        run = run_probe(transport)
    finally:
        transport.close()
    assert run.round_trips == 1
    assert hand_stack.project in {p.name for p in run.inventory.compose_projects}


def test_inventory_holds_the_stack_as_it_runs(discovered: Discovered) -> None:
    inv, stack = discovered.inventory, discovered.stack
    assert inv["docker"]["available"]
    assert inv["docker"]["server_version"]
    services = own(inv, stack.project)
    assert set(services) == {"prometheus", "pushgateway", "grafana", "worker"}
    prom = services["prometheus"]
    assert "--storage.tsdb.retention.time=21d" in prom["cmd"]
    assert prom["ports"]["9090/tcp"] == [
        {"host_ip": "127.0.0.1", "host_port": str(stack.ports["prometheus"])}
    ]
    (network,) = prom["networks"]
    assert network["network"] == f"{stack.project}_monitoring"
    assert "prometheus" in network["aliases"]  # how the other services reach it
    assert {m["destination"]: m["type"] for m in prom["mounts"]} == {
        "/etc/prometheus": "bind",
        "/prometheus": "volume",
    }
    assert services["pushgateway"]["restart_policy"] == "always"
    assert services["worker"]["env"]["JOB_NAME"] == "nightly"
    project = next(p for p in inv["compose_projects"] if p["name"] == stack.project)
    compose_file = str(stack.directory / "docker-compose.yml")
    assert project["config_files"] == [compose_file]
    assert (
        project["files"][compose_file]["content"]
        == (stack.directory / "docker-compose.yml").read_text()
    )
    files = inv["config_files"][services["prometheus"]["name"]]
    assert files["/etc/prometheus/rules/beast.yml"]["content"] == RULES_YML
    assert (
        files["/etc/prometheus/prometheus.yml"]["sha256"]
        == hashlib.sha256(PROMETHEUS_YML.encode()).hexdigest()
    )
    apis = inv["apis"][services["prometheus"]["name"]]
    assert apis["/api/v1/status/flags"]["body"]["data"]["storage.tsdb.retention.time"] in (
        "21d",
        "3w",
    )  # Prometheus prints 3w
    assert apis["/api/v1/status/buildinfo"]["status"] == 200
    assert inv["apis"][services["pushgateway"]["name"]]["/api/v1/status"]["status"] == 200
    assert inv["apis"][services["grafana"]["name"]]["/api/health"]["status"] == 200
    assert {v["name"] for v in inv["volumes"]} >= {
        f"{stack.project}_{v}" for v in ("prom-data", "pg-data", "grafana-data")
    }


def test_no_secret_leaves_the_host(discovered: Discovered) -> None:
    text = (discovered.out / "inventory.json").read_text() + (
        discovered.out / "DISCOVERY.md"
    ).read_text()
    for secret in (GRAFANA_PASSWORD, WORKER_TOKEN, INI_SECRET_KEY, LOKI_PASSWORD):
        assert secret not in text
    services = own(discovered.inventory, discovered.stack.project)
    assert (
        services["grafana"]["env"]["GF_SECURITY_ADMIN_PASSWORD"]
        == f"<redacted sha256:{short_sha(GRAFANA_PASSWORD)}>"
    )
    assert services["worker"]["env"]["API_TOKEN"] == f"<redacted sha256:{short_sha(WORKER_TOKEN)}>"
    grafana_files = discovered.inventory["config_files"][services["grafana"]["name"]]
    assert (
        f"secret_key = <redacted sha256:{short_sha(INI_SECRET_KEY)}>"
        in grafana_files["/etc/grafana/grafana.ini"]["content"]
    )
    datasources = grafana_files["/etc/grafana/provisioning/datasources/beast.yml"]["content"]
    assert f"basicAuthPassword: <redacted sha256:{short_sha(LOKI_PASSWORD)}>" in datasources
    assert "# Discovery of" in (discovered.out / "DISCOVERY.md").read_text()


# ----------------------------------------------------------------- export -> build


@dataclass
class Built:
    spec_path: Path
    spec_text: str
    spec: dict[str, Any]
    generated: Path
    stderr: str


@pytest.fixture(scope="module")
def built(discovered: Discovered, tmp_path_factory: pytest.TempPathFactory) -> Built:
    work = tmp_path_factory.mktemp("export")
    spec_path = work / "stack" / "observatory.yaml"
    done = cli(
        "export",
        "--from",
        str(discovered.out / "inventory.json"),
        "--project",
        discovered.stack.project,
        "--environment",
        "remote",
        "--host",
        ALIAS,
        "-o",
        str(spec_path),
        cwd=work,
    )
    assert done.returncode == 0, done.stderr
    build = cli("build", "-f", str(spec_path), "--out", str(work / "generated"), cwd=work)
    assert build.returncode == 0, build.stdout + build.stderr
    text = spec_path.read_text()
    return Built(spec_path, text, yaml.safe_load(text), work / "generated" / "remote", done.stderr)


def _seconds(value: object) -> float:
    total = 0.0
    for number, unit in re.findall(r"(\d+)(ms|[ywdhms])", str(value)):
        total += (
            int(number)
            * {"ms": 0.001, "s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800, "y": 31536000}[
                unit
            ]
        )
    return total


def semantic_prometheus(doc: dict[str, Any], rule_dir: Path) -> dict[str, Any]:
    """prometheus.yml as Prometheus understands it: defaults filled in, durations in seconds,
    jobs by name, and rule_files replaced by the rule groups they load."""
    glob = doc.get("global") or {}
    interval = _seconds(glob.get("scrape_interval", "1m"))
    timeout = _seconds(glob.get("scrape_timeout", "10s"))
    jobs = {}
    for job in doc.get("scrape_configs") or []:
        groups = sorted(
            (sorted(g["targets"]), sorted((g.get("labels") or {}).items()))
            for g in job.get("static_configs") or []
        )
        jobs[job["job_name"]] = {
            "interval": _seconds(job.get("scrape_interval", interval)),
            "timeout": _seconds(job.get("scrape_timeout", timeout)),
            "metrics_path": job.get("metrics_path", "/metrics"),
            "scheme": job.get("scheme", "http"),
            "honor_labels": job.get("honor_labels", False),
            "params": job.get("params") or {},
            "groups": groups,
        }
    groups = []
    for pattern in doc.get("rule_files") or []:
        for path in sorted(rule_dir.glob(str(pattern).removeprefix("/etc/prometheus/"))):
            groups += yaml.safe_load(path.read_text())["groups"]
    return {
        "global": {
            "interval": interval,
            "timeout": timeout,
            "evaluation": _seconds(glob.get("evaluation_interval", "1m")),
            "external_labels": glob.get("external_labels") or {},
        },
        "jobs": jobs,
        "rule_groups": sorted(groups, key=lambda g: g["name"]),
        "alerting": doc.get("alerting"),
    }


def test_rendered_prometheus_yml_equals_the_live_one(discovered: Discovered, built: Built) -> None:
    live_dir = discovered.stack.directory / "prometheus"
    live = semantic_prometheus(yaml.safe_load(PROMETHEUS_YML), live_dir)
    rendered_dir = built.generated / "prometheus"
    rendered = semantic_prometheus(
        yaml.safe_load((rendered_dir / "prometheus.yml").read_text()), rendered_dir
    )
    assert rendered == live
    assert live["global"]["interval"] == 20  # the non-default is really there


def compose_services(built: Built) -> dict[str, Any]:
    services: dict[str, Any] = yaml.safe_load((built.generated / "docker-compose.yml").read_text())[
        "services"
    ]
    return services


def flag_map(args: list[str]) -> dict[str, str]:
    return {a.split("=", 1)[0]: a.partition("=")[2] for a in args}


# Where a flag only says where the spec's layout keeps a file, not how the service behaves.
LAYOUT = {"--web.listen-address", "--persistence.file"}


def test_rendered_commands_carry_the_live_flags(discovered: Discovered, built: Built) -> None:
    live = own(discovered.inventory, discovered.stack.project)
    rendered = compose_services(built)
    for service in ("prometheus", "pushgateway"):
        want = {k: v for k, v in flag_map(live[service]["cmd"]).items() if k not in LAYOUT}
        got = {k: v for k, v in flag_map(rendered[service]["command"]).items() if k not in LAYOUT}
        assert got == want, service
    assert "--persistence.file" in flag_map(rendered["pushgateway"]["command"])
    assert built.spec["services"]["prometheus"]["retention"] == {"time": "21d"}
    assert built.spec["services"]["pushgateway"]["persistence"] == {
        "enabled": True,
        "interval": "2m",
        "file": "/pushgateway/metrics.db",  # the live file: pushed metrics survive a takeover
    }


def test_ports_images_volumes_networks_and_env_carry_over(
    discovered: Discovered, built: Built
) -> None:
    stack = discovered.stack
    rendered = compose_services(built)
    for service, inside in (("prometheus", 9090), ("pushgateway", 9091), ("grafana", 3000)):
        assert rendered[service]["image"] == TEST_IMAGES[service]
        assert rendered[service]["ports"] == [f"127.0.0.1:{stack.ports[service]}:{inside}"]
        assert rendered[service]["networks"] == ["monitoring"]
    assert rendered["pushgateway"]["restart"] == "always"
    assert "prom-data:/prometheus" in rendered["prometheus"]["volumes"]
    assert "pg-data:/pushgateway" in rendered["pushgateway"]["volumes"]
    assert "grafana-data:/var/lib/grafana" in rendered["grafana"]["volumes"]
    compose = yaml.safe_load((built.generated / "docker-compose.yml").read_text())
    assert compose["networks"] == {"monitoring": {"driver": "bridge"}}
    grafana_env = rendered["grafana"]["environment"]
    assert grafana_env["GF_SECURITY_ADMIN_USER"] == "beast"
    assert grafana_env["GF_USERS_ALLOW_SIGN_UP"] == "false"
    assert grafana_env["GF_SECURITY_ADMIN_PASSWORD"].startswith("${GRAFANA_ADMIN_PASSWORD")
    worker = rendered["worker"]
    assert worker["environment"] == {"API_TOKEN": "${WORKER_TOKEN}", "JOB_NAME": "nightly"}
    assert worker["labels"]["beast.role"] == "worker"
    assert worker["command"] == ["sh", "-c", "trap 'exit 0' TERM; while sleep 1; do :; done"]


def test_grafana_provisioning_carries_over(built: Built) -> None:
    grafana = built.spec["services"]["grafana"]
    assert grafana["admin_password"] == {"env": "GRAFANA_ADMIN_PASSWORD"}
    # grafana.ini's values as written there (Grafana reads the text)
    assert grafana["ini"]["auth.anonymous"] == {"enabled": "true", "org_role": "Viewer"}
    # grafana.ini's literal secret_key: read by Grafana from the host's .env from now on
    assert grafana["ini"]["security"]["secret_key"] == "$__env{GF_SECURITY_SECRET_KEY}"
    compose = yaml.safe_load((built.generated / "docker-compose.yml").read_text())
    given = compose["services"]["grafana"]["environment"]["GF_SECURITY_SECRET_KEY"]
    assert given.startswith("${GF_SECURITY_SECRET_KEY:?"), given
    rendered = yaml.safe_load(
        (built.generated / "grafana/provisioning/datasources/observatory.yml").read_text()
    )
    by_uid = {d["uid"]: d for d in rendered["datasources"]}
    assert by_uid["beast-prom"]["url"] == "http://prometheus:9090"
    assert by_uid["beast-prom"]["isDefault"] is True
    assert by_uid["beast-prom"]["jsonData"] == {"timeInterval": "20s"}
    assert by_uid["loki"]["url"] == "http://loki.invalid:3100"
    dashboard = json.loads(
        (built.generated / "grafana/dashboards/beast/beast-overview.json").read_text()
    )
    assert dashboard == DASHBOARD
    assert "secureJsonData" in built.stderr  # said, not silently dropped


def test_the_exported_spec_holds_no_secret_and_no_marker(built: Built) -> None:
    for secret in (GRAFANA_PASSWORD, WORKER_TOKEN, INI_SECRET_KEY, LOKI_PASSWORD, "<redacted"):
        assert secret not in built.spec_text


def test_import_writes_a_stack_and_keeps_comments(built: Built, tmp_path: Path) -> None:
    exported = built.spec_path
    first = cli("import", str(exported), "--name", "vonnegut", cwd=tmp_path)
    assert first.returncode == 0, first.stderr
    spec = tmp_path / "stacks" / "vonnegut" / "observatory.yaml"
    assert (tmp_path / "stacks/vonnegut/rules/beast.yml").read_text() == RULES_YML
    assert (tmp_path / "stacks/vonnegut/dashboards/beast/beast-overview.json").is_file()
    assert "# Exported by `observatory export`" in spec.read_text()  # the source's comments
    again = cli("import", str(exported), "--name", "vonnegut", cwd=tmp_path)
    assert again.returncode == 1
    assert "--force" in again.stderr
    spec.write_text("# kept: a note by the operator\n" + spec.read_text())
    forced = cli("import", str(exported), "--name", "vonnegut", "--force", cwd=tmp_path)
    assert forced.returncode == 0, forced.stderr
    assert "# kept: a note by the operator" in spec.read_text()
    assert cli("validate", "-f", str(spec), cwd=tmp_path).returncode == 0


# ----------------------------------------------------------------- a host without Docker


def test_a_host_without_docker_is_recorded_not_a_crash(tmp_path: Path) -> None:
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    for directory in ("/usr/local/bin", "/usr/bin", "/bin"):
        for tool in Path(directory).iterdir():
            if not tool.name.startswith("docker") and not (bin_dir / tool.name).exists():
                (bin_dir / tool.name).symlink_to(tool)
    (tmp_path / "deploy").mkdir()
    (tmp_path / "deploy" / "docker-compose.yml").write_text("services: {}\n")
    run = run_probe(LocalTransport(), [str(tmp_path / "deploy")], env={"PATH": str(bin_dir)})
    inv = run.inventory.to_json()
    assert inv["docker"] == {
        "available": False,
        "server_version": None,
        "compose_plugin": None,
        "compose_standalone": None,
        "error": "docker: command not found",
    }
    assert inv["containers"] == []
    assert "Docker is not available: docker: command not found" in inv["problems"]
    assert (
        inv["directories"][str(tmp_path / "deploy")]["docker-compose.yml"]["content"]
        == "services: {}\n"
    )
    assert run.round_trips == 1


# ----------------------------------------------------------------- plan against the hand-made host


def plan_remote(
    spec_path: Path, discovered: Discovered, *extra: str
) -> subprocess.CompletedProcess[str]:
    return on_vonnegut("plan", spec_path, discovered, *extra)


def on_vonnegut(
    command: str, spec_path: Path, discovered: Discovered, *extra: str
) -> subprocess.CompletedProcess[str]:
    """`observatory COMMAND` for the remote environment through the test sshd."""
    return cli(
        command,
        "-f",
        str(spec_path),
        "--environment",
        "remote",
        "--host",
        ALIAS,
        "--ssh-config",
        str(discovered.sshd.ssh_config),
        "--known-hosts",
        str(discovered.sshd.known_hosts),
        *extra,
        cwd=spec_path.parent,
    )


def test_import_then_plan_shows_no_drift(
    discovered: Discovered, built: Built, tmp_path: Path
) -> None:
    imported = cli("import", str(built.spec_path), "--name", "vonnegut", cwd=tmp_path)
    assert imported.returncode == 0, imported.stderr
    spec_path = tmp_path / "stacks" / "vonnegut" / "observatory.yaml"
    plan = plan_remote(spec_path, discovered)
    assert plan.returncode == 0, plan.stdout + plan.stderr
    assert "No changes" in plan.stdout
    assert "made without beast-observatory" in plan.stdout


def test_plan_against_the_hand_made_host_speaks_in_spec_terms(
    discovered: Discovered, built: Built, tmp_path: Path
) -> None:
    imported = cli("import", str(built.spec_path), "--name", "vonnegut", cwd=tmp_path)
    assert imported.returncode == 0, imported.stderr
    spec_path = tmp_path / "stacks" / "vonnegut" / "observatory.yaml"
    edit = cli(
        "config",
        "set",
        "-f",
        str(spec_path),
        "services.prometheus.retention.time",
        "30d",
        cwd=tmp_path,
    )
    assert edit.returncode == 0, edit.stderr
    plan = plan_remote(spec_path, discovered, "--output", "json")
    assert plan.returncode == 2, plan.stdout + plan.stderr
    doc = json.loads(plan.stdout)
    prometheus = next(s for s in doc["services"] if s["service"] == "prometheus")
    assert prometheus["action"] == "recreate"
    assert "command --storage.tsdb.retention.time: 21d -> 30d" in prometheus["reasons"]
    # nothing on the host was touched by planning
    assert own(discovered.inventory, discovered.stack.project)


def test_apply_takes_the_hand_made_stack_over_and_keeps_its_data(
    discovered: Discovered, built: Built, tmp_path: Path
) -> None:
    """Last in the module: it changes the hand-made stack for good (teardown removes it)."""
    stack = discovered.stack
    pushed = f"http://127.0.0.1:{stack.ports['pushgateway']}/metrics/job/takeover"
    request = urllib.request.Request(pushed, data=b"beast_takeover_probe 7\n", method="POST")
    with urllib.request.urlopen(request, timeout=10) as answer:  # noqa: S310 - our own loopback port
        assert answer.status == 200
    before = own(discovered.inventory, stack.project)

    imported = cli("import", str(built.spec_path), "--name", "vonnegut", cwd=tmp_path)
    assert imported.returncode == 0, imported.stderr
    spec_path = tmp_path / "stacks" / "vonnegut" / "observatory.yaml"
    deploy = tmp_path / "deploy"
    deploy.mkdir()
    # The operator's secrets, as on the hand-made host: .env beside docker-compose.yml.
    (deploy / ".env").write_text(
        f"GRAFANA_ADMIN_PASSWORD={GRAFANA_PASSWORD}\nWORKER_TOKEN={WORKER_TOKEN}\n"
        f"GF_SECURITY_SECRET_KEY={INI_SECRET_KEY}\n"
        f"GF_DS_REMOTE_LOKI_BASICAUTHPASSWORD={LOKI_PASSWORD}\n"
    )
    for path, value in (
        ("environments.remote.deploy_dir", str(deploy)),
        ("services.prometheus.retention.time", "30d"),
    ):
        edit = cli("config", "set", "-f", str(spec_path), path, value, cwd=tmp_path)
        assert edit.returncode == 0, edit.stderr
    apply = on_vonnegut(
        "apply", spec_path, discovered, "--auto-approve", "--timeout", "120", "--scrape-wait", "60"
    )
    assert apply.returncode == 0, apply.stdout + apply.stderr
    assert "command --storage.tsdb.retention.time: 21d -> 30d" in apply.stdout
    assert "worker/worker:8080 was not up before this apply either" in apply.stdout

    plan = plan_remote(spec_path, discovered)
    assert plan.returncode == 0, plan.stdout + plan.stderr
    # the same named volumes: Prometheus' TSDB and the pushed metrics survived the takeover
    with urllib.request.urlopen(
        f"http://127.0.0.1:{stack.ports['pushgateway']}/metrics", timeout=10
    ) as answer:
        assert b"beast_takeover_probe" in answer.read()
    ids = subprocess.run(
        [
            "docker",
            "ps",
            "-q",
            "--no-trunc",
            "--filter",
            f"label=com.docker.compose.project={stack.project}",
            "--filter",
            "label=com.docker.compose.service=prometheus",
        ],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.split()
    assert len(ids) == 1, ids
    container = json.loads(
        subprocess.run(
            ["docker", "inspect", ids[0]], capture_output=True, text=True, check=True
        ).stdout
    )[0]
    assert container["Id"] != before["prometheus"]["id"]  # recreated from the generated definition
    volumes = {m.get("Name") for m in container["Mounts"] if m.get("Type") == "volume"}
    assert f"{stack.project}_prom-data" in volumes
