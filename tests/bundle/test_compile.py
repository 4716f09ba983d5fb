"""The checks' policy (bundle/compile.py): an error only for what Prometheus, Grafana or
compose would reject or what would lose data; preferences are warnings with a hint, errors
only with strict. Each problem is a located, structured diagnostic."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from beast_observatory.bundle.compile import compile_project, validate_project
from beast_observatory.errors import SpecError
from bundles import load, spec_data

ROWS = json.dumps(
    {
        "title": "Old",
        "schemaVersion": 14,
        "rows": [{"panels": [{"id": 1, "type": "graph", "datasource": "Prometheus"}]}],
    }
)
# Grafana 6: panels without gridPos, the data source by name.
OLD_PANELS = json.dumps(
    {
        "uid": "old",
        "title": "Old",
        "schemaVersion": 16,
        "panels": [{"id": 1, "type": "graph", "datasource": "Prometheus"}],
    }
)
NO_UID = json.dumps({"title": "No uid", "schemaVersion": 39, "panels": []})
EXPORTED = json.dumps(
    {
        "title": "Shared",
        "uid": "shared",
        "__inputs": [{"name": "DS_PROMETHEUS", "type": "datasource"}],
        "panels": [
            {
                "id": 1,
                "type": "timeseries",
                "gridPos": {"h": 8, "w": 12, "x": 0, "y": 0},
                "datasource": {"uid": "${DS_PROMETHEUS}"},
            }
        ],
    }
)
WARNINGS: list[tuple[str, dict[str, Any], dict[str, str], str]] = [
    (
        "rows dashboard",
        {"grafana": {"dashboards": [{"name": "d", "files": ["d/*.json"]}]}},
        {"d/old.json": ROWS},
        "d/old.json: uid: missing",
    ),
    (
        "dashboard without uid",
        {"grafana": {"dashboards": [{"name": "d", "files": ["d/a.json"]}]}},
        {"d/a.json": NO_UID},
        "uid: missing",
    ),
    (
        "datasource by name",
        {"grafana": {"dashboards": [{"name": "d", "files": ["d/*.json"]}]}},
        {"d/old.json": OLD_PANELS},
        "names data source 'Prometheus' by name",
    ),
    (
        "${DS_} inputs",
        {"grafana": {"dashboards": [{"name": "d", "files": ["d/*.json"]}]}},
        {"d/s.json": EXPORTED},
        "exported for sharing externally",
    ),
    (
        "no gridPos",
        {"grafana": {"dashboards": [{"name": "d", "files": ["d/*.json"]}]}},
        {"d/old.json": OLD_PANELS},
        "panels[0].gridPos: must be an object",
    ),
    (
        "empty glob",
        {"grafana": {"dashboards": [{"name": "d", "files": ["later/*.json"]}]}},
        {},
        "the glob matches no file",
    ),
    (
        "pushgateway job without honor_labels",
        {
            "grafana": {"dashboards": []},
            "prometheus": {"scrape_jobs": [{"name": "batch", "targets": ["pushgateway:9091"]}]},
        },
        {},
        "without honor_labels: true",
    ),
    (
        "undocumented scrape key",
        {
            "grafana": {"dashboards": []},
            "prometheus": {"scrape_jobs": [{"name": "a", "scrape_intervall": "1m"}]},
        },
        {},
        "is not a scrape_config key Prometheus documents",
    ),
    (
        "two data sources for the stack's Prometheus",
        {
            "grafana": {
                "dashboards": [],
                "datasources": [
                    {"name": "P2", "type": "prometheus", "url": "http://prometheus:9090"}
                ],
            }
        },
        {},
        "Grafana gets two data sources for one Prometheus",
    ),
]
ERRORS: list[tuple[str, dict[str, Any], dict[str, str], str]] = [
    (
        "invalid dashboard JSON",
        {"grafana": {"dashboards": [{"name": "d", "files": ["d/a.json"]}]}},
        {"d/a.json": "{"},
        "not valid JSON",
    ),
    (
        "dashboard without title",
        {"grafana": {"dashboards": [{"name": "d", "files": ["d/a.json"]}]}},
        {"d/a.json": json.dumps({"uid": "a"})},
        "title: missing",
    ),
    (
        "a literal secret",
        {"grafana": {"dashboards": []}, "prometheus": {"environment": {"API_TOKEN": "t0k3n"}}},
        {},
        "holds a literal secret",
    ),
    (
        "a host port twice",
        {"grafana": {"dashboards": [], "port": 9090}},
        {},
        "host port 9090 is already used by services.prometheus.port",
    ),
    (
        "an undeclared network",
        {"grafana": {"dashboards": [], "networks": ["edge"]}},
        {},
        "network 'edge' is not declared",
    ),
    (
        "a bare $ for compose",
        {"grafana": {"dashboards": []}, "pushgateway": {"environment": {"PRICE": "5$"}}},
        {},
        "holds a `$` compose cannot read as a variable",
    ),
    (
        "two default data sources",
        {
            "grafana": {
                "dashboards": [],
                "datasources": [
                    {"name": "a", "type": "loki", "url": "http://a", "isDefault": True},
                    {"name": "b", "type": "loki", "url": "http://b", "isDefault": True},
                ],
            }
        },
        {},
        "Grafana refuses to provision both",
    ),
]


def diagnostics(
    tmp_path: Path, services: dict[str, Any], files: dict[str, str], *, strict: bool = False
) -> tuple[list[Any], list[Any]]:
    """(warnings, errors) of a spec."""
    project = load(tmp_path, spec_data(services), files)
    try:
        return validate_project(project, strict=strict), []
    except SpecError as exc:
        return [], exc.diagnostics


@pytest.mark.parametrize(
    ("what", "services", "files", "message"), WARNINGS, ids=[w[0] for w in WARNINGS]
)
def test_preferences_are_warnings_with_a_hint(
    tmp_path: Path, what: str, services: dict[str, Any], files: dict[str, str], message: str
) -> None:
    warnings, errors = diagnostics(tmp_path, services, files)
    assert errors == []
    found = [w for w in warnings if message in w.message]
    assert found, [w.message for w in warnings]
    assert all(w.severity == "warning" and w.hint for w in found)
    _, strict = diagnostics(tmp_path / "strict", services, files, strict=True)
    assert any(message in d.message for d in strict)


@pytest.mark.parametrize(
    ("what", "services", "files", "message"), ERRORS, ids=[e[0] for e in ERRORS]
)
def test_what_a_tool_would_refuse_is_an_error(
    tmp_path: Path, what: str, services: dict[str, Any], files: dict[str, str], message: str
) -> None:
    _, errors = diagnostics(tmp_path, services, files)
    assert any(message in e.message and e.severity == "error" for e in errors), [
        e.message for e in errors
    ]


def test_a_diagnostic_names_the_file_line_column_path_and_environment(tmp_path: Path) -> None:
    spec = spec_data(
        {"grafana": {"dashboards": []}},
        environments={
            "local": {},
            "remote": {
                "ssh": {"host": "vonnegut"},
                "services": {"pushgateway": {"environment": {"PRICE": "5$"}}},
            },
        },
    )
    project = load(tmp_path, spec, {})
    with pytest.raises(SpecError) as error:
        compile_project(project, ["local"])  # any environment's error stops every build
    (diagnostic,) = error.value.diagnostics
    assert diagnostic.path == "environments.remote.services.pushgateway.environment.PRICE"
    assert (diagnostic.line, diagnostic.column) == (11, 11)
    assert diagnostic.environments == ()  # blamed on the override: said once
    assert diagnostic.text().startswith(
        f"{tmp_path / 'observatory.yaml'}:11:11: environments.remote"
    )
    assert "(hint: write $$ for a literal dollar" in diagnostic.text()


def test_a_problem_of_some_environments_only_says_which(tmp_path: Path) -> None:
    spec = spec_data(
        {
            "grafana": {"dashboards": []},
            "prometheus": {"scrape_jobs": [{"name": "batch", "targets": ["pushgateway:9091"]}]},
        },
        environments={
            "local": {},
            "remote": {
                "services": {
                    "prometheus": {
                        "scrape_jobs": [
                            {"name": "batch", "targets": ["pushgateway:9091"], "honor_labels": True}
                        ]
                    }
                }
            },
            "staging": {},
        },
    )
    warnings = validate_project(load(tmp_path, spec, {}))
    (honor,) = [w for w in warnings if "honor_labels" in w.message]
    assert honor.environments == ("local", "staging")
    assert "(environment local, staging)" in honor.text()
