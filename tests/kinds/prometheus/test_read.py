"""A running Prometheus read back (kinds/prometheus/read.py) is the spec section that renders it:
model -> render -> run -> read gives the model back, and the host's config read and
rendered again is what it was."""

from __future__ import annotations

from typing import Any

import yaml
from hypothesis import given, settings
from hypothesis import strategies as st

from beast_observatory.discover.export import export_spec
from beast_observatory.kinds.prometheus.model import Prometheus
from bundles import render, spec_data, stack_of
from inventory_builder import BCRYPT, container, inventory
from roundtrip import differences, exported_services, read_back
from strategies import alerting, global_section, remote_write, scrape_jobs

ALONE = {"pushgateway": {"enabled": False}, "grafana": {"enabled": False}}
EXAMPLES = settings(max_examples=40, deadline=None)


def prometheus(**section: Any) -> dict[str, Any]:
    return spec_data({"prometheus": section, **ALONE})


def read_prometheus(data: dict[str, Any], assets: dict[str, bytes] | None = None) -> Prometheus:
    return exported_services(read_back(render(data, assets))).prometheus


@EXAMPLES
@given(jobs=scrape_jobs(), global_=global_section, alerts=alerting, writes=remote_write)
def test_render_then_read_gives_the_prometheus_section_back(
    jobs: list[dict[str, Any]],
    global_: dict[str, Any],
    alerts: dict[str, Any],
    writes: list[dict[str, Any]],
) -> None:
    data = prometheus(
        scrape_self=False,
        scrape_stack=False,
        scrape_jobs=jobs,
        alerting=alerts,
        remote_write=writes,
        retention={"time": "30d", "size": "20GB"},
        extra_flags=["--web.enable-lifecycle"],
        storage={"tsdb": {"out_of_order_time_window": "10m"}},
        port=19090,
        **{"global": global_},
    )
    original = stack_of(data).services.prometheus
    back = read_prometheus(data)
    for field in (
        "scrape_jobs", "global_", "alerting", "remote_write", "retention", "extra_flags",
        "storage", "scrape_self", "scrape_stack", "port", "container_port", "config_dir",
    ):  # fmt: skip
        assert getattr(back, field) == getattr(original, field), field


@EXAMPLES
@given(jobs=scrape_jobs(), global_=global_section, self_=st.booleans(), stack=st.booleans())
def test_a_host_read_back_and_rendered_again_is_the_same(
    jobs: list[dict[str, Any]], global_: dict[str, Any], self_: bool, stack: bool
) -> None:
    """Whatever the spec said, the host it made reads back as a spec that makes it again:
    automatic jobs and alerting become explicit, and nothing changes."""
    data = spec_data(
        {
            "prometheus": {
                "scrape_jobs": jobs,
                "scrape_self": self_,
                "scrape_stack": stack,
                "global": global_,
            },
            "alertmanager": {"enabled": True},
            "node_exporter": {"enabled": True},
        }
    )
    assert differences(render(data)) == {}


def test_rule_files_and_other_files_come_back_with_their_content() -> None:
    rules = b"groups:\n  - name: a\n    rules: [{record: x, expr: up}]\n"
    data = prometheus(
        scrape_self=False,
        rule_files=[
            {"name": "alerts", "path": "rules/alerts.yml"},
            {
                "name": "inline",
                "groups": [{"name": "b", "rules": [{"alert": "X", "expr": "up == 0"}]}],
            },
        ],
        files={"targets/nodes.json": "targets.json"},
        scrape_config_files=["/etc/prometheus/targets/*.yml"],
    )
    assets = {"rules/alerts.yml": rules, "targets.json": b"[]\n"}
    result = read_back(render(data, assets))
    back = exported_services(result).prometheus
    assert [r.name for r in back.rule_files] == ["alerts", "inline"]
    assert result.files["rules/alerts.yml"] == rules
    assert back.files == {"targets/nodes.json": "prometheus/targets/nodes.json"}
    assert result.files["prometheus/targets/nodes.json"] == b"[]\n"
    assert back.scrape_config_files == ["/etc/prometheus/targets/*.yml"]
    assert differences(render(data, assets)) == {}


def test_rule_tests_come_back_as_test_files_naming_the_rule_files_read_back() -> None:
    rules = b"groups:\n  - name: a\n    rules: [{alert: Down, expr: up == 0}]\n"
    group = {
        "interval": "1m",
        "input_series": [{"series": 'up{job="node"}', "values": "0x5"}],
        "alert_rule_test": [
            {
                "eval_time": "1m",
                "alertname": "Down",
                "exp_alerts": [{"exp_labels": {"job": "node"}}],
            }
        ],
    }
    data = prometheus(
        scrape_self=False,
        rule_files=[{"name": "alerts", "path": "rules/alerts.yml"}],
        rule_tests=[{"name": "down", "evaluation_interval": "30s", "tests": [group]}],
    )
    assets = {"rules/alerts.yml": rules}
    result = read_back(render(data, assets))
    back = exported_services(result).prometheus
    assert [(t.name, t.path) for t in back.rule_tests] == [("down", "tests/down.yml")]
    assert back.files == {}  # the test file is a rule test, not a file of the config folder
    written = yaml.safe_load(result.files["tests/down.yml"])
    assert written["rule_files"] == ["../rules/alerts.yml"]  # the rule file read back
    assert written["evaluation_interval"] == "30s"
    assert written["tests"][0]["alert_rule_test"][0]["alertname"] == "Down"
    assert differences(render(data, assets)) == {}


def test_web_auth_and_a_moved_config_dir_come_back() -> None:
    data = prometheus(
        scrape_self=False,
        config_dir="/config",
        container_port=9095,
        web_auth={"username": "admin", "password_hash": BCRYPT, "users": {"ops": BCRYPT}},
        data={"volume": "tsdb", "target": "/data"},
    )
    back = read_prometheus(data)
    original = stack_of(data).services.prometheus
    assert back.config_dir == "/config"
    assert back.container_port == 9095
    assert back.web_auth == original.web_auth
    assert back.data == original.data


def test_two_rule_files_of_one_stem_keep_both() -> None:
    prom = container("prometheus", "prom/prometheus")
    config = "rule_files: [rules/*]\nscrape_configs: []\n"
    files = {
        prom.name: {
            "/etc/prometheus/prometheus.yml": config,
            "/etc/prometheus/rules/a.rules": "groups: []\n",
            "/etc/prometheus/rules/a.yml": "groups: []\n",
        }
    }
    result = export_spec(inventory(prom, files=files))
    back = exported_services(result).prometheus
    assert [(r.name, r.path) for r in back.rule_files] == [
        ("a", "rules/a.rules"),
        ("a-2", "rules/a.yml"),
    ]


def test_retention_as_prometheus_reads_its_flags() -> None:
    def retention(*flags: str) -> dict[str, Any]:
        prom = container("prometheus", "prom/prometheus", cmd=flags)
        result = export_spec(
            inventory(prom, files={prom.name: {"/etc/prometheus/prometheus.yml": "{}"}})
        )
        return exported_services(result).prometheus.retention.model_dump(exclude_none=True)

    assert retention() == {"time": "15d"}  # Prometheus' default
    assert retention("--storage.tsdb.retention=7d") == {"time": "7d"}  # the old flag
    assert retention("--storage.tsdb.retention.size=1GB") == {"size": "1GB"}  # no time limit
    assert retention("--storage.tsdb.retention.time=1y", "--storage.tsdb.retention.size=2TB") == {
        "time": "1y",
        "size": "2TB",
    }
