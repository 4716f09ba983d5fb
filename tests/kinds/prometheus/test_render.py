"""prometheus.yml and Prometheus' compose service (kinds/prometheus/render.py): the complete
configuration from the spec, the stack's own jobs unless turned off, and promtool accepts it."""

from __future__ import annotations

import tempfile
from pathlib import Path
from typing import Any

from hypothesis import HealthCheck, given, settings

from beast_observatory.bundle.compile import check_stack
from beast_observatory.yamlio import load_yaml
from bundles import render, spec_data, stack_of
from external_tools import check_prometheus
from inventory_builder import BCRYPT
from strategies import global_section, scrape_jobs


def prometheus_yml(
    services: dict[str, Any], assets: dict[str, bytes] | None = None
) -> dict[str, Any]:
    doc: dict[str, Any] = load_yaml(
        render(spec_data(services), assets).files["prometheus/prometheus.yml"]
    )
    return doc


def jobs(doc: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {j["job_name"]: j for j in doc["scrape_configs"]}


def test_the_stack_scrapes_its_own_services_by_their_compose_names() -> None:
    doc = prometheus_yml(
        {
            "alertmanager": {"enabled": True},
            "node_exporter": {"enabled": True},
            "pushgateway": {"service_name": "pgw"},
        }
    )
    assert jobs(doc) == {
        "prometheus": {
            "job_name": "prometheus",
            "static_configs": [{"targets": ["localhost:9090"]}],
        },
        "pushgateway": {
            "job_name": "pushgateway",
            "honor_labels": True,
            "static_configs": [{"targets": ["pgw:9091"]}],
        },
        "alertmanager": {
            "job_name": "alertmanager",
            "static_configs": [{"targets": ["alertmanager:9093"]}],
        },
        "node": {"job_name": "node", "static_configs": [{"targets": ["node-exporter:9100"]}]},
        "grafana": {"job_name": "grafana", "static_configs": [{"targets": ["grafana:3000"]}]},
    }
    assert doc["alerting"] == {
        "alertmanagers": [{"static_configs": [{"targets": ["alertmanager:9093"]}]}]
    }


def test_the_stacks_own_jobs_can_be_turned_off_or_replaced() -> None:
    assert jobs(prometheus_yml({"prometheus": {"scrape_self": False, "scrape_stack": False}})) == {}
    mine = {"name": "grafana", "targets": ["grafana:3000"], "metrics_path": "/grafana/metrics"}
    doc = prometheus_yml({"prometheus": {"scrape_jobs": [mine]}})
    assert jobs(doc)["grafana"]["metrics_path"] == "/grafana/metrics"
    assert [j["job_name"] for j in doc["scrape_configs"]] == [
        "prometheus",
        "pushgateway",
        "grafana",
    ]
    # Behind basic auth a service is not scraped: prometheus.yml would need its password.
    auth = {"username": "u", "password_hash": BCRYPT}
    assert "pushgateway" not in jobs(prometheus_yml({"pushgateway": {"web_auth": auth}}))
    assert "prometheus" not in jobs(prometheus_yml({"prometheus": {"web_auth": auth}}))


def test_every_key_of_a_job_and_of_global_is_written_in_the_documentations_order() -> None:
    job = {
        "job_name": "nodes",
        "relabel_configs": [{"source_labels": ["__address__"], "target_label": "host"}],
        "static_configs": [
            {"targets": ["a:9100"], "labels": {"rack": "1"}},
            {"targets": ["b:9100"]},
        ],
        "basic_auth": {"username": "u", "password_file": "/etc/prometheus/pw"},
        "sample_limit": 1000,
        "honor_labels": True,
        "file_sd_configs": [{"files": ["/etc/prometheus/targets/*.json"]}],
    }
    doc = prometheus_yml(
        {
            "prometheus": {
                "scrape_jobs": [job],
                "global": {"query_log_file": "/prometheus/q.log", "external_labels": {"site": "x"}},
            }
        }
    )
    written = jobs(doc)["nodes"]
    assert list(written) == [
        "job_name", "honor_labels", "basic_auth", "static_configs", "relabel_configs",
        "file_sd_configs", "sample_limit",
    ]  # fmt: skip
    assert written["static_configs"] == job["static_configs"]
    assert doc["global"] == {
        "scrape_interval": "15s",
        "evaluation_interval": "15s",
        "external_labels": {"site": "x"},
        "query_log_file": "/prometheus/q.log",
    }


def test_the_sections_besides_jobs_are_written_as_prometheus_reads_them() -> None:
    section = {
        "remote_write": [{"url": "https://m/api/v1/push", "queue_config": {"max_shards": 10}}],
        "remote_read": [{"url": "https://m/api/v1/read"}],
        "storage": {"tsdb": {"out_of_order_time_window": "30m"}},
        "tracing": {"endpoint": "tempo:4317", "insecure": True},
        "otlp": {"promote_resource_attributes": ["service.name"]},
        "runtime": {"gogc": 50},
        "scrape_config_files": ["/etc/prometheus/more/*.yml"],
        "files": {"more/extra.yml": "extra.yml"},
        "alerting": {
            "alertmanagers": [
                {"static_configs": [{"targets": ["am.example:9093"]}], "scheme": "https"}
            ]
        },
    }
    bundle = render(spec_data({"prometheus": section}), {"extra.yml": b"scrape_configs: []\n"})
    doc = load_yaml(bundle.files["prometheus/prometheus.yml"])
    assert list(doc) == [
        "global", "runtime", "alerting", "scrape_config_files", "scrape_configs", "remote_write",
        "remote_read", "storage", "tracing", "otlp",
    ]  # fmt: skip
    assert doc["alerting"] == section["alerting"]
    assert bundle.files["prometheus/more/extra.yml"] == b"scrape_configs: []\n"


def test_flags_follow_the_config_dir_data_target_retention_and_port() -> None:
    data = spec_data(
        {
            "prometheus": {
                "config_dir": "/config",
                "data": {"volume": "tsdb", "target": "/data"},
                "container_port": 9095,
                "retention": {"time": "90d", "size": "50GB"},
                "extra_flags": ["--web.route-prefix=/prom"],
            }
        }
    )
    svc = load_yaml(render(data).files["docker-compose.yml"])["services"]["prometheus"]
    assert svc["command"] == [
        "--config.file=/config/prometheus.yml",
        "--storage.tsdb.path=/data",
        "--web.listen-address=:9095",
        "--storage.tsdb.retention.time=90d",
        "--storage.tsdb.retention.size=50GB",
        "--web.route-prefix=/prom",
    ]
    assert "./prometheus:/config:ro" in svc["volumes"]
    assert "tsdb:/data" in svc["volumes"]
    assert svc["labels"]["org.beast-observatory.ready"] == "http://127.0.0.1:9095/prom/-/ready"


@settings(max_examples=10, deadline=None, suppress_health_check=[HealthCheck.too_slow])
# Debian's promtool 2.42 (scripts/ci-setup.sh) predates a global sample_limit (2.45).
@given(
    chosen=scrape_jobs(max_size=3, other=False),
    global_=global_section.map(lambda g: {k: v for k, v in g.items() if k != "sample_limit"}),
)
def test_promtool_accepts_what_the_checks_let_through(
    chosen: list[dict[str, Any]], global_: dict[str, Any]
) -> None:
    data = spec_data(
        {"prometheus": {"scrape_jobs": chosen, "global": global_}, "grafana": {"enabled": False}}
    )
    # warnings (a `$X` that Prometheus 3 would expand, say) are hints: only errors refuse
    errors = [p for p in check_stack(stack_of(data), {}, {}) if p.severity == "error"]
    assert errors == []
    with tempfile.TemporaryDirectory() as tmp:
        out, scratch = Path(tmp) / "out", Path(tmp) / "scratch"
        for rel, content in render(data).files.items():
            (out / rel).parent.mkdir(parents=True, exist_ok=True)
            (out / rel).write_bytes(content)
        scratch.mkdir()
        check_prometheus(out, scratch)
