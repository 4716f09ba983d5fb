"""Generated files pass the real tools: promtool, amtool and Compose v2 (never skipped)."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from beast_observatory.cli.app import main
from beast_observatory.yamlio import load_yaml
from external_tools import (
    check_alertmanager,
    check_compose,
    check_prometheus,
    check_web_configs,
    compose,
    compose_config,
)

BCRYPT = "$2b$10$vjJLmVsXKrA1hywzVfRjgeJXGGMlTkyCdmljrIGJtST4.EqptDeGy"
DEFAULTS = Path(__file__).parents[1] / "src/beast_observatory/defaults/stack"

# Every optional part at once: alertmanager, node-exporter, an extra service, basic auth on
# every exporter-toolkit service, bind paths, a file secret, limits and an external network.
FULL_SPEC = f"""\
version: 1
project: full
environments:
  local: {{}}
  remote:
    ssh: {{host: vonnegut, user: ops, port: 2222}}
    deploy_dir: /srv/observatory
    bind_address: 10.0.0.5
    services:
      prometheus:
        data: {{path: /srv/observatory/prometheus}}
        retention: {{time: 90d, size: 50GB}}
      grafana:
        data: {{path: /srv/observatory/grafana}}
        admin_password: {{file: /etc/observatory/grafana-admin}}
      node_exporter:
        port: 9110
services:
  prometheus:
    global:
      scrape_interval: 30s
      scrape_timeout: 10s
      external_labels: {{site: beast}}
    web_auth: {{username: admin, password_hash: "{BCRYPT}"}}
    scrape_jobs:
      - name: batch
        targets: ["pushgateway:9091"]
        honor_labels: true
      - name: app
        targets: ["app:8080", "app2:8080"]
        labels: {{team: ops}}
        metrics_path: /internal/metrics
        scheme: https
        scrape_interval: 1m
        scrape_timeout: 20s
        params: {{module: [http_2xx]}}
    rule_files:
      - name: alerts
        path: rules/observatory-alerts.yml
      - name: inline
        groups:
          - name: inline.rules
            rules:
              - record: job:up:sum
                expr: sum by (job) (up)
              - alert: NothingUp
                expr: absent(up)
                for: 5m
    resources: {{cpus: 1.5, memory: 2g}}
    data: {{path: /srv/observatory/prometheus-local}}
  pushgateway:
    admin_api: true
    persistence: {{enabled: true, interval: 1m}}
    web_auth: {{username: pusher, password_hash: "{BCRYPT}"}}
  grafana:
    plugins: [grafana-piechart-panel]
    ini:
      smtp: {{enabled: true, password: "$__env{{SMTP_PASSWORD}}"}}
    environment: {{GF_LOG_LEVEL: warn}}
    dashboards:
      - name: jobs
        folder: Jobs
        files: [dashboards/*.json]
  alertmanager:
    enabled: true
    web_auth: {{username: alerts, password_hash: "{BCRYPT}"}}
    config:
      route: {{receiver: ops, group_by: [alertname]}}
      receivers: [{{name: ops}}]
  node_exporter:
    enabled: true
  extra:
    postgres-exporter:
      image: prometheuscommunity/postgres-exporter:v0.15.0
      ports: ["127.0.0.1:9187:9187"]
      environment:
        DATA_SOURCE_PASS: ${{PG_PASSWORD}}
      networks: [observatory, proxy]
      restart: unless-stopped
networks:
  observatory: {{}}
  proxy: {{external: true, name: traefik}}
"""


def build(spec: Path, out: Path) -> None:
    with pytest.raises(SystemExit) as exit_info:
        main(["build", "-f", str(spec), "--out", str(out)])
    assert exit_info.value.code == 0


@pytest.fixture(scope="module")
def default_output(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("default")
    with pytest.raises(SystemExit):
        main(["init", str(root / "stack")])
    build(root / "stack/observatory.yaml", root / "generated")
    return root / "generated"


@pytest.fixture(scope="module")
def full_output(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("full")
    (root / "stack").mkdir()
    (root / "stack/observatory.yaml").write_text(FULL_SPEC)
    shutil.copytree(DEFAULTS / "rules", root / "stack/rules")
    shutil.copytree(DEFAULTS / "dashboards", root / "stack/dashboards")
    build(root / "stack/observatory.yaml", root / "generated")
    return root / "generated"


@pytest.mark.parametrize("env", ["local", "remote"])
def test_default_prometheus_config_and_rules_pass_promtool(
    default_output: Path, env: str, tmp_path: Path
) -> None:
    assert check_prometheus(default_output / env, tmp_path) == 2


@pytest.mark.parametrize("env", ["local", "remote"])
def test_default_compose_file_passes_compose_config(default_output: Path, env: str) -> None:
    check_compose(default_output / env)


@pytest.mark.parametrize("env", ["local", "remote"])
def test_full_prometheus_config_and_rules_pass_promtool(
    full_output: Path, env: str, tmp_path: Path
) -> None:
    assert check_prometheus(full_output / env, tmp_path) == 2


@pytest.mark.parametrize("env", ["local", "remote"])
def test_full_web_configs_pass_promtool(full_output: Path, env: str) -> None:
    assert check_web_configs(full_output / env) == 3


@pytest.mark.parametrize("env", ["local", "remote"])
def test_full_alertmanager_config_passes_amtool(full_output: Path, env: str) -> None:
    check_alertmanager(full_output / env)


@pytest.mark.parametrize("env", ["local", "remote"])
def test_full_compose_file_passes_compose_config(full_output: Path, env: str) -> None:
    check_compose(full_output / env)


def test_full_output_has_what_the_spec_asked_for(full_output: Path) -> None:
    remote = load_yaml((full_output / "remote/docker-compose.yml").read_bytes())
    services = remote["services"]
    assert sorted(services) == [
        "alertmanager",
        "grafana",
        "node-exporter",
        "postgres-exporter",
        "prometheus",
        "pushgateway",
    ]
    assert "/srv/observatory/prometheus:/prometheus" in services["prometheus"]["volumes"]
    assert services["node-exporter"]["ports"] == ["10.0.0.5:9110:9100"]
    assert "GF_SECURITY_ADMIN_PASSWORD__FILE" in services["grafana"]["environment"]
    # `$$` escapes the dollar: Compose v1 rejects a bare `$|` as an invalid interpolation.
    assert "grep -qE '^$$|401'" in services["prometheus"]["healthcheck"]["test"][1]
    assert "name" not in remote  # Compose v1 (1.29) rejects a top-level name
    assert "version" not in remote
    example = (full_output / "local/.env.example").read_text()
    assert example.splitlines()[-3:] == [
        "GRAFANA_ADMIN_PASSWORD=",
        "PG_PASSWORD=",
        "SMTP_PASSWORD=",
    ]


def test_compose_refuses_a_missing_secret(
    default_output: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The `${VAR:?...}` reference stops compose before it starts Grafana without a password."""
    monkeypatch.delenv("GRAFANA_ADMIN_PASSWORD", raising=False)
    result = compose_config(compose(), default_output / "local/docker-compose.yml", {})
    assert result.returncode != 0
    assert "set GRAFANA_ADMIN_PASSWORD in the .env file" in result.stderr


def test_compose_config_rejects_an_invalid_file(tmp_path: Path) -> None:
    """The validator itself can fail: an unknown service key is refused."""
    bad = tmp_path / "docker-compose.yml"
    bad.write_text("services:\n  prometheus:\n    image: prom/prometheus\n    retension: 30d\n")
    assert compose_config(compose(), bad, {}).returncode != 0
