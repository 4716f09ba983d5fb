"""What a change of the generated files does, in the services' words (plan/semantic.py)."""

from __future__ import annotations

import json
from typing import Any

from beast_observatory.plan.semantic import bundle_changes, compose_changes, config_changes
from beast_observatory.yamlio import dump_yaml
from bundles import render, spec_data

USERS = b"[users]\nallow_sign_up = false\n"


def yml(value: Any) -> bytes:
    return dump_yaml(value).encode()


def changes(before: dict[str, Any], after: dict[str, Any]) -> dict[str, list[str]]:
    return bundle_changes(render(spec_data(before)).files, render(spec_data(after)).files)


def test_a_changed_external_label_is_named_as_such() -> None:
    before = {"prometheus": {"global": {"external_labels": {"site": "a", "team": "x"}}}}
    after = {"prometheus": {"global": {"external_labels": {"site": "b", "team": "x"}}}}
    assert changes(before, after) == {
        "prometheus": ["prometheus.yml global.external_labels.site: a -> b"]
    }


def test_jobs_are_compared_by_name() -> None:
    job = {"name": "app", "targets": ["a:1"]}
    before = {"prometheus": {"scrape_jobs": [job, {"name": "old", "targets": ["o:1"]}]}}
    after = {
        "prometheus": {
            "scrape_jobs": [{"name": "new", "targets": ["n:1"]}, {**job, "scrape_interval": "1m"}]
        }
    }
    assert changes(before, after)["prometheus"] == [
        "adds scrape job new",
        "removes scrape job old",
        "changes scrape job app: scrape_interval: (unset) -> 1m",
    ]


def test_a_moved_file_is_not_a_change() -> None:
    """Rule groups are compared by name, provisioning by what Grafana keys it on: where a
    file lives is no behaviour."""
    rules = yml({"groups": [{"name": "g", "rules": [{"alert": "Down", "expr": "up == 0"}]}]})
    before = {
        "prometheus/rules/a.yml": rules,
        "grafana/grafana.ini": b"[paths]\nprovisioning = /etc/grafana/provisioning\n" + USERS,
    }
    after = {
        "prometheus/rules/renamed.yml": rules,
        "grafana/grafana.ini": b"[paths]\nprovisioning = /config/provisioning\n" + USERS,
    }
    assert config_changes(before, after) == {}
    providers = {
        "apiVersion": 1,
        "providers": [{"name": "p", "options": {"path": "/etc/grafana/dashboards/p"}}],
    }
    moved = {
        "apiVersion": 1,
        "providers": [{"name": "p", "options": {"path": "/var/lib/grafana/dashboards"}}],
    }
    assert (
        config_changes(
            {"grafana/provisioning/dashboards/a.yml": yml(providers)},
            {"grafana/provisioning/dashboards/observatory.yml": yml(moved)},
        )
        == {}
    )


def test_a_data_source_field_change_is_named() -> None:
    loki = {"name": "Loki", "type": "loki", "url": "http://a:3100", "jsonData": {"maxLines": 10}}
    before = {"grafana": {"datasources": [loki]}}
    after = {
        "grafana": {
            "datasources": [
                {**loki, "url": "http://b:3100", "jsonData": {"maxLines": 20}},
                {"name": "Tempo", "type": "tempo", "url": "http://t"},
            ]
        }
    }
    said = changes(before, after)["grafana"]
    assert "adds data source Tempo" in said
    assert "data source Loki: jsonData.maxLines: 10 -> 20" in said
    assert "data source Loki: url: http://a:3100 -> http://b:3100" in said


def test_data_sources_of_other_organizations_are_other_data_sources() -> None:
    def doc(org: int) -> dict[str, bytes]:
        entry = {"name": "Loki", "type": "loki", "orgId": org}
        return {
            "grafana/provisioning/datasources/o.yml": yml({"apiVersion": 1, "datasources": [entry]})
        }

    assert config_changes(doc(1), doc(2)) == {
        "grafana": ["adds data source Loki (org 2)", "removes data source Loki"]
    }


def test_dashboards_compare_without_the_id_and_version_grafana_rewrites() -> None:
    def board(**extra: Any) -> dict[str, bytes]:
        return {
            "grafana/dashboards/p/a.json": json.dumps({"uid": "a", "title": "A", **extra}).encode()
        }

    assert config_changes(board(id=1, version=3), board(id=7, version=9)) == {}
    assert config_changes(board(), board(title="B")) == {"grafana": ["changes dashboard p/a.json"]}


def test_alertmanager_changes_are_named_key_by_key() -> None:
    def am(receiver: str) -> dict[str, bytes]:
        return {
            "alertmanager/alertmanager.yml": yml(
                {"route": {"receiver": receiver}, "receivers": [{"name": receiver}]}
            )
        }

    assert config_changes(am("a"), am("b"), {"alertmanager": "am"}) == {
        "am": [
            "alertmanager.yml receivers[0].name: a -> b",
            "alertmanager.yml route.receiver: a -> b",
        ]
    }


def test_the_tools_labels_are_no_change_the_authors_are() -> None:
    def compose(labels: dict[str, str]) -> dict[str, bytes]:
        service = {"image": "x", "labels": labels}
        return {"docker-compose.yml": yml({"services": {"web": service}})}

    ours = {"org.beast-observatory.restart-hash": "1"}
    assert (
        compose_changes(compose(ours), compose({"org.beast-observatory.restart-hash": "2"})) == {}
    )
    assert compose_changes(compose(ours), compose({**ours, "team": "web"})) == {
        "web": ["labels.team: (unset) -> web"]
    }


def test_a_secret_in_a_change_is_masked_a_reference_shown() -> None:
    def compose(env: dict[str, str]) -> dict[str, bytes]:
        return {
            "docker-compose.yml": yml(
                {"services": {"db": {"image": "postgres", "environment": env}}}
            )
        }

    assert compose_changes(
        compose({"DB_PASSWORD": "${A}"}), compose({"DB_PASSWORD": "literal-pw"})
    ) == {"db": ["environment.DB_PASSWORD: ${A} -> <masked>"]}
    ini = {"grafana/grafana.ini": b"[smtp]\npassword = hunter2\nhost = a\n"}
    assert config_changes({}, ini) == {
        "grafana": [
            "grafana.ini smtp.host: (unset) -> a",
            "grafana.ini smtp.password: (unset) -> <masked>",
        ]
    }


def test_a_changed_flag_is_named_flag_by_flag() -> None:
    before = {"prometheus": {"retention": {"time": "21d"}}}
    after = {"prometheus": {"retention": {"time": "30d"}, "extra_flags": ["--query.timeout=1m"]}}
    assert changes(before, after)["prometheus"] == [
        "command: adds --query.timeout=1m",
        "command --storage.tsdb.retention.time: 21d -> 30d",
    ]


def test_commands_that_are_not_flags_are_compared_whole() -> None:
    def compose(command: list[str]) -> dict[str, bytes]:
        return {"docker-compose.yml": yml({"services": {"app": {"command": command}}})}

    assert compose_changes(compose(["--a=1", "--b"]), compose(["--b", "--a=1"])) == {
        "app": ["command: the same arguments in another order"]
    }
    assert compose_changes(compose(["--a=1", "--b"]), compose(["--a=1"])) == {
        "app": ["command: drops --b"]
    }
    assert compose_changes(compose(["sh", "-c", "run a"]), compose(["sh", "-c", "run b"])) == {
        "app": ['command: ["sh", "-c", "run a"] -> ["sh", "-c", "run b"]']
    }
