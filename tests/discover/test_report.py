"""inventory.json and DISCOVERY.md: stable, complete enough for people, nothing secret added."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from beast_observatory.discover.report import (
    default_out,
    load_inventory,
    render_inventory,
    render_markdown,
    write_report,
)
from beast_observatory.errors import ObservatoryError

from .test_export import inventory


def test_inventory_json_is_sorted_two_space_and_ends_with_a_newline() -> None:
    text = render_inventory({"b": 1, "a": {"d": 2, "c": [3]}})
    assert text == '{\n  "a": {\n    "c": [\n      3\n    ],\n    "d": 2\n  },\n  "b": 1\n}\n'


def test_markdown_names_what_runs_and_what_could_not_be_read() -> None:
    inv = inventory()
    inv["problems"] = ["beast-prometheus-1: /api/v1/targets did not answer (connection refused)"]
    inv["config_files"]["beast-prometheus-1"]["/etc/prometheus/gone.yml"] = {
        "host_path": "/srv/gone.yml",
        "sha256": None,
        "size": None,
        "content": None,
        "error": "no such file",
    }
    text = render_markdown(inv)
    assert text.startswith("# Discovery of vonnegut\n")
    assert (
        "| beast-prometheus-1 | prom/prometheus:v2.53.2 | running "
        "| 127.0.0.1:19090->9090/tcp | beast |" in text
    )
    assert "--storage.tsdb.retention.size=20GB" in text
    assert "API_TOKEN=<redacted sha256:0123456789ab>" in text
    assert "- beast-prometheus-1: /api/v1/targets did not answer (connection refused)" in text
    assert "- container beast-prometheus-1: /etc/prometheus/gone.yml: no such file" in text
    assert render_markdown(inv) == text


def test_a_host_without_docker_says_so() -> None:
    text = render_markdown(
        {
            "host": {"hostname": "h"},
            "docker": {"available": False, "error": "docker: command not found"},
            "containers": [],
            "problems": [],
        }
    )
    assert "- Docker: not available (docker: command not found)" in text
    assert "Nothing: every container, file and API answered." in text


def test_write_and_load(tmp_path: Path) -> None:
    inv = inventory()
    written = write_report(inv, tmp_path / "out")
    assert [p.name for p in written] == ["inventory.json", "DISCOVERY.md"]
    assert load_inventory(tmp_path / "out" / "inventory.json") == json.loads(json.dumps(inv))
    assert default_out(None) == Path("docs/discovery/local")
    assert default_out("vonnegut") == Path("docs/discovery/vonnegut")


@pytest.mark.parametrize(
    ("content", "message"),
    [(None, "no such file"), ("{", "not a JSON inventory"), ('{"a": 1}', "not an inventory")],
)
def test_load_refuses_what_is_not_an_inventory(
    tmp_path: Path, content: str | None, message: str
) -> None:
    path = tmp_path / "inventory.json"
    if content is not None:
        path.write_text(content)
    with pytest.raises(ObservatoryError, match=message):
        load_inventory(path)


def test_api_summaries_and_sections() -> None:
    inv = inventory()
    inv["apis"] = {
        "p": {
            "/api/v1/status/buildinfo": {"status": 200, "body": {"data": {"version": "2.53.2"}}},
            "/api/v1/targets": {
                "status": 200,
                "body": {"data": {"activeTargets": [{"health": "up"}, {}]}},
            },
            "/api/v1/status/config": {"status": 0, "body": None},
        },
        "g": {"/api/health": {"status": 200, "body": {"version": "11.2.0", "database": "ok"}}},
        "pg": {
            "/api/v1/status": {
                "status": 200,
                "body": {"data": {"build_information": {"version": "1.9.0"}}},
            }
        },
    }
    inv["compose_projects"] = [
        {"name": "beast", "working_dir": "/srv", "config_files": ["/srv/c.yml"], "files": {}}
    ]
    inv["directories"] = {"/opt/d": {}}
    text = render_markdown(inv)
    for row in (
        "| p | /api/v1/status/buildinfo | 200 | Prometheus 2.53.2 |",
        "| p | /api/v1/targets | 200 | 2 active targets, 1 up |",
        "| p | /api/v1/status/config | no answer | - |",
        "| g | /api/health | 200 | version 11.2.0, database ok |",
        "| pg | /api/v1/status | 200 | Pushgateway 1.9.0 |",
        "- working directory: /srv",
        "### Directory /opt/d",
        "- healthcheck: `CMD true` every 30s",
    ):
        assert row in text
