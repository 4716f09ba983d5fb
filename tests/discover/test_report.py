"""inventory.json and DISCOVERY.md: stable, complete enough for people, nothing secret added."""

from __future__ import annotations

import json
from dataclasses import replace
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
from beast_observatory.host.probe.inventory import ApiAnswer, Docker, Inventory
from inventory_builder import MARK, compose_project, inventory, text_file

from .handmade import handmade_inventory


def test_inventory_json_is_sorted_two_space_and_ends_with_a_newline() -> None:
    text = render_inventory(handmade_inventory())
    assert text.endswith("}\n")
    assert text.startswith('{\n  "apis": {},\n  "compose_projects": [\n')
    assert json.loads(text) == json.loads(json.dumps(handmade_inventory().to_json()))
    assert render_inventory(handmade_inventory()) == text


def test_markdown_names_what_runs_and_what_could_not_be_read() -> None:
    inv = handmade_inventory()
    name = "beast-prometheus-1"
    inv = replace(
        inv,
        problems=(f"{name}: /api/v1/targets did not answer (connection refused)",),
        config_files={
            **inv.config_files,
            name: {
                **inv.config_files[name],
                "/etc/prometheus/gone.yml": text_file(None, "/srv/gone.yml", "no such file"),
            },
        },
    )
    text = render_markdown(inv)
    assert text.startswith("# Discovery of vonnegut\n")
    assert (
        f"| {name} | prom/prometheus:v2.53.2 | running | 127.0.0.1:19090->9090/tcp | beast |"
        in text
    )
    assert "--storage.tsdb.retention.time=21d" in text
    assert f"POSTGRES_PASSWORD={MARK}" in text  # redacted on the host, shown as it came
    assert f"- {name}: /api/v1/targets did not answer (connection refused)" in text
    assert f"- container {name}: /etc/prometheus/gone.yml: no such file" in text
    assert "- networks: beast_monitoring (aliases prom, prometheus)" in text
    assert "- healthcheck: `CMD-SHELL pg_isready -U beast` every 10s" in text
    assert render_markdown(inv) == text


def test_a_host_without_docker_says_so() -> None:
    inv = Inventory(docker=Docker(available=False, error="docker: command not found"))
    text = render_markdown(inv)
    assert "- Docker: not available (docker: command not found)" in text
    assert "Nothing: every container, file and API answered." in text


def test_secret_files_are_listed_apart() -> None:
    inv = inventory(
        files={
            "grafana": {
                "/run/secrets/admin": text_file(
                    None, "/srv/admin", "secret file: content not collected"
                )
            }
        }
    )
    text = render_markdown(inv)
    assert "## Secret files (never read: size and sha256 only)" in text
    assert "- container grafana: /run/secrets/admin" in text
    assert "Nothing: every container, file and API answered." in text


def test_write_and_load(tmp_path: Path) -> None:
    inv = handmade_inventory()
    written = write_report(inv, tmp_path / "out")
    assert [p.name for p in written] == ["inventory.json", "DISCOVERY.md"]
    assert load_inventory(tmp_path / "out" / "inventory.json") == inv
    assert default_out(None) == Path("docs/discovery/local")
    assert default_out("vonnegut") == Path("docs/discovery/vonnegut")


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (None, "no such file"),
        ("{", "not a JSON inventory"),
        ('{"a": 1}', "not an inventory"),
        ('{"probe_version": 2, "containers": [{"id": 1}]}', "not an inventory of this version"),
    ],
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
    inv = replace(
        handmade_inventory(),
        apis={
            "p": {
                "/api/v1/status/buildinfo": ApiAnswer(200, {"data": {"version": "2.53.2"}}),
                "/api/v1/targets": ApiAnswer(
                    200, {"data": {"activeTargets": [{"health": "up"}, {}]}}
                ),
                "/api/v1/status/config": ApiAnswer(0, None),
            },
            "g": {"/api/health": ApiAnswer(200, {"version": "11.2.0", "database": "ok"})},
            "pg": {
                "/api/v1/status": ApiAnswer(
                    200, {"data": {"build_information": {"version": "1.9.0"}}}
                )
            },
        },
        compose_projects=(compose_project({}, working_dir="/srv"),),
        directories={"/opt/d": {}},
    )
    text = render_markdown(inv)
    for row in (
        "| p | /api/v1/status/buildinfo | 200 | Prometheus 2.53.2 |",
        "| p | /api/v1/targets | 200 | 2 active targets, 1 up |",
        "| p | /api/v1/status/config | no answer | - |",
        "| g | /api/health | 200 | version 11.2.0, database ok |",
        "| pg | /api/v1/status | 200 | Pushgateway 1.9.0 |",
        "- working directory: /srv",
        "### Directory /opt/d",
    ):
        assert row in text
