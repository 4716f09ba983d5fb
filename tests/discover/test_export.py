"""Inventory -> spec (pure): a stack made by hand comes back as a spec that runs it as it is,
secrets as references named in the header, the tool's own additions off."""

from __future__ import annotations

import json
from dataclasses import replace
from typing import Any

import pytest
import yaml

from beast_observatory.discover.export import ExportResult, export_spec, select_project
from beast_observatory.errors import ObservatoryError
from beast_observatory.host.probe.inventory import ApiAnswer, Inventory
from beast_observatory.spec.models import Spec
from inventory_builder import BCRYPT, MARK, container, inventory

from .handmade import ROWS_DASHBOARD, TARGETS, handmade_inventory

Exported = tuple[dict[str, Any], ExportResult]


@pytest.fixture(scope="module")
def exported() -> Exported:
    result = export_spec(handmade_inventory(), environment="remote", ssh_host="vonnegut")
    return yaml.safe_load(result.spec_text), result


def header(result: ExportResult) -> str:
    return "\n".join(line for line in result.spec_text.splitlines() if line.startswith("#"))


def test_the_spec_validates_and_names_the_project_and_the_host(exported: Exported) -> None:
    spec, result = exported
    Spec.model_validate(spec)
    assert result.project == "beast"
    assert spec["environments"]["remote"] == {
        "description": "discovered on vonnegut",
        "ssh": {"host": "vonnegut"},
        "bind_address": "127.0.0.1",
    }
    assert result.spec_text.startswith(
        "# Exported by `observatory export` from vonnegut, compose project beast.\n"
    )


def test_secrets_become_references_named_in_the_header(exported: Exported) -> None:
    spec, result = exported
    assert "<redacted" not in result.spec_text
    assert (
        "# Secrets stay on the host: the .env beside docker-compose.yml must set "
        "GF_DS_LOKI_BASICAUTHPASSWORD, GF_SECURITY_ADMIN_PASSWORD, GF_SECURITY_SECRET_KEY, "
        "POSTGRES_PASSWORD, TEMPO_TOKEN (`observatory secrets set NAME`)." in header(result)
    )
    # The env_file's literal password is a reference to the host's new .env.
    assert spec["services"]["extra"]["db"]["environment"] == {
        "POSTGRES_PASSWORD": "${POSTGRES_PASSWORD}",
        "POSTGRES_USER": "beast",
    }
    grafana = spec["services"]["grafana"]
    assert grafana["admin_password"] == {"env": "GF_SECURITY_ADMIN_PASSWORD"}
    assert grafana["ini"]["security"] == {"secret_key": "$__env{GF_SECURITY_SECRET_KEY}"}
    assert "set POSTGRES_PASSWORD in the .env file" in header(result)


def test_prometheus_keeps_its_configuration_as_written(exported: Exported) -> None:
    spec, result = exported
    prom = spec["services"]["prometheus"]
    assert prom["global"] == {
        "scrape_interval": "20s",
        "evaluation_interval": "30s",
        "external_labels": {"site": "vonnegut"},
        "query_log_file": "/prometheus/queries.log",
    }
    jobs = {job["name"]: job for job in prom["scrape_jobs"]}
    assert list(jobs) == ["prometheus", "pushgateway", "nodes", "files"]
    assert jobs["nodes"] == {
        "name": "nodes",
        "targets": ["a:9100"],
        "labels": {"rack": "one"},
        "static_configs": [{"targets": ["b:9100", "c:9100"], "labels": {"rack": "two"}}],
        "scrape_interval": "1m",
        "relabel_configs": [
            {"source_labels": ["__address__"], "regex": "([^:]+):.*", "target_label": "host"}
        ],
    }
    assert jobs["files"]["file_sd_configs"] == [{"files": ["/etc/prometheus/targets/*.json"]}]
    assert jobs["pushgateway"]["honor_labels"] is True
    assert prom["rule_files"] == [{"name": "alerts", "path": "rules/alerts.yml"}]
    assert prom["files"] == {"targets/nodes.json": "prometheus/targets/nodes.json"}
    assert result.files["prometheus/targets/nodes.json"] == TARGETS.encode()
    assert prom["retention"] == {"time": "21d"}
    assert prom["extra_flags"] == ["--web.enable-lifecycle"]
    assert prom["web_auth"] == {"username": "admin", "password_hash": BCRYPT}
    assert (prom["port"], prom["data"]) == (19090, {"volume": "prom-data"})


def test_the_tools_own_additions_are_turned_off(exported: Exported) -> None:
    """What the host did not have, the spec does not add: no self-scrape or stack jobs, no
    alerting to an Alertmanager, no healthcheck, no data volume, no grafana.ini defaults, no
    Prometheus data source of its own."""
    spec, _ = exported
    s = spec["services"]
    assert (s["prometheus"]["scrape_self"], s["prometheus"]["scrape_stack"]) == (False, False)
    assert s["prometheus"]["alerting"] == {"alertmanagers": [], "alert_relabel_configs": []}
    for key in ("prometheus", "pushgateway", "grafana"):
        assert s[key]["healthcheck"] is None, key
    assert s["pushgateway"]["data"] is None
    assert s["pushgateway"]["persistence"] == {"enabled": False}
    assert (s["grafana"]["base_ini"], s["grafana"]["prometheus_datasource"]) == (False, False)
    assert s["grafana"]["admin_user"] is None
    # ...while a healthcheck the host had is kept exactly.
    assert s["extra"]["db"]["healthcheck"] == {
        "test": ["CMD-SHELL", "pg_isready -U beast"],
        "interval": "10s",
    }


def test_grafana_data_sources_keep_every_field_and_nothing_more(exported: Exported) -> None:
    spec, _ = exported
    prometheus, loki, tempo = spec["services"]["grafana"]["datasources"]
    assert prometheus == {
        "name": "Prometheus",
        "type": "prometheus",
        "url": "http://prom:9090",
        "access": "proxy",
        "is_default": True,
        "json_data": {"timeInterval": "20s"},
    }
    assert "uid" not in loki  # Grafana makes one, as it did on the host
    assert loki["basic_auth"] is True
    assert loki["basic_auth_user"] == "grafana"
    assert loki["secure_json_data"] == {"basicAuthPassword": "$__env{GF_DS_LOKI_BASICAUTHPASSWORD}"}
    assert tempo["secure_json_data"] == {"httpHeaderValue1": "$__env{TEMPO_TOKEN}"}
    assert tempo["json_data"] == {"httpHeaderName1": "Authorization"}


def test_old_dashboards_are_carried_as_they_are_with_their_folders(exported: Exported) -> None:
    spec, result = exported
    (provider,) = spec["services"]["grafana"]["dashboards"]
    assert provider == {
        "name": "default",
        "files": ["dashboards/default/**/*.json"],
        "folder": "Beast",
        "allow_ui_updates": True,
        "folders_from_files_structure": False,
    }
    assert result.files["dashboards/default/old.json"] == ROWS_DASHBOARD.encode()
    assert "dashboards/default/infra/nodes.json" in result.files


def test_compose_details_are_kept(exported: Exported) -> None:
    spec, _ = exported
    s = spec["services"]
    assert s["grafana"]["compose"] == {"container_name": "grafana"}
    assert s["prometheus"]["networks"] == {"monitoring": {"aliases": ["prom"]}}
    assert s["prometheus"]["compose"]["logging"] == {  # the YAML anchor, resolved
        "driver": "json-file",
        "options": {"max-size": "10m"},
    }
    worker = s["extra"]["worker"]
    assert worker["expose"] == ["8080"]
    assert "ports" not in worker
    assert worker["x-owner"] == "batch-team"
    assert worker["depends_on"] == ["pushgw"]
    assert s["pushgateway"]["service_name"] == "pushgw"
    assert spec["networks"] == {
        "monitoring": {"driver": "bridge"},
        "shared": {"external": True, "name": "shared"},
    }


def test_compose_variables_are_resolved_with_the_projects_env_file(exported: Exported) -> None:
    spec, _ = exported
    s = spec["services"]
    assert s["prometheus"]["image"] == "prom/prometheus:v2.53.2"  # PROM_TAG of .env
    assert s["extra"]["worker"]["image"] == "busybox:1.36"  # not the default 1.35
    assert s["grafana"]["environment"]["GF_SERVER_ROOT_URL"] == "http://grafana.example:3000/"
    assert s["extra"]["worker"]["environment"] == {"MODE": "batch"}  # ${WORKER_MODE:-batch}


def test_the_local_environment_runs_the_same_stack_on_loopback(exported: Exported) -> None:
    spec, _ = exported
    local = spec["environments"]["local"]
    assert local["bind_address"] == "127.0.0.1"
    assert local["services"]["pushgateway"] == {"bind_address": "127.0.0.1"}
    # The host's data folder stays on the host; locally a volume of its own holds the data.
    assert local["services"]["extra"]["db"] == {"volumes": ["db-pgdata:/var/lib/postgresql/data"]}
    assert local["volumes"] == {"db-pgdata": {}}
    # its own network locally: a made one of the same name would clash with the real one
    assert local["networks"] == {"shared": {"external": False, "name": None}}


def test_data_that_would_be_lost_is_said(exported: Exported) -> None:
    _, result = exported
    notes = "\n".join(result.notes)
    assert "the Pushgateway keeps pushed metrics in memory only" in notes
    assert "/srv/beast/pgdata (at /var/lib/postgresql/data) is data: it stays where it is" in notes


def test_export_is_deterministic() -> None:
    first, second = export_spec(handmade_inventory()), export_spec(handmade_inventory())
    assert first.spec_text == second.spec_text
    assert first.files == second.files


def test_export_from_inventory_json_is_the_same() -> None:
    inv = handmade_inventory()
    again = Inventory.from_json(json.loads(json.dumps(inv.to_json())))
    assert export_spec(again).spec_text == export_spec(inv).spec_text


def test_project_selection() -> None:
    inv = handmade_inventory()
    assert select_project(inv, None)[0] == "beast"  # the first (sorted) with a Prometheus
    assert [c.name for c in select_project(inv, "zzz")[1]] == ["zzz-prometheus-1"]
    with pytest.raises(ObservatoryError, match="no container of compose project 'nope'"):
        select_project(inv, "nope")
    lonely = inventory(container("web", "nginx", project=None))
    with pytest.raises(ObservatoryError, match="no Prometheus found"):
        select_project(lonely, None)
    alone = inventory(
        container("prom", "prom/prometheus", project=None), container("web", "nginx", project=None)
    )
    assert [c.name for c in select_project(alone, None)[1]] == ["prom", "web"]


def test_a_project_without_grafana_or_pushgateway_disables_them() -> None:
    spec = yaml.safe_load(export_spec(handmade_inventory(), project="zzz").spec_text)
    assert spec["services"]["grafana"] == {"enabled": False}
    assert spec["services"]["pushgateway"] == {"enabled": False}
    assert spec["services"]["prometheus"]["publish"] is False
    assert "alertmanager" not in spec["services"]


def test_prometheus_yml_from_the_api_when_the_probe_read_no_file() -> None:
    inv = handmade_inventory()
    name = "beast-prometheus-1"
    answer = {"status": "success", "data": {"yaml": "global:\n  scrape_interval: 7s\n"}}
    inv = replace(
        inv,
        config_files={**inv.config_files, name: {}},
        apis={name: {"/api/v1/status/config": ApiAnswer(200, answer)}},
    )
    result = export_spec(inv)
    prom = yaml.safe_load(result.spec_text)["services"]["prometheus"]
    assert prom["global"] == {"scrape_interval": "7s", "evaluation_interval": "1m"}
    assert any("taken from the API" in n for n in result.notes)


def test_a_redacted_secret_in_a_captured_file_is_a_placeholder() -> None:
    prom = container("prometheus", "prom/prometheus", cmd=["--config.file=/etc/p/p.yml"])
    inv = inventory(
        prom,
        files={
            prom.name: {
                "/etc/p/p.yml": "scrape_configs: []\n",
                "/etc/p/extra.yml": f"password: {MARK}\n",
            }
        },
    )
    result = export_spec(inv)
    assert result.files["prometheus/extra.yml"] == b"password: FILL-IN-SECRET-0123456789ab\n"
    assert any("replace each FILL-IN-SECRET" in n for n in result.notes)
