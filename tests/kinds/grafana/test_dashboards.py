"""Checks of Grafana's formats: the default dashboards pass, broken documents are caught."""

from __future__ import annotations

import itertools
import json
from importlib import resources
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from beast_observatory.kinds.grafana.dashboards import (
    DatasourceRef,
    check_dashboard,
    check_dashboard_datasources,
    check_uid,
    dashboard_datasource_refs,
    dashboard_datasource_uids,
    dashboard_errors,
)

DASHBOARDS = Path(str(resources.files("beast_observatory") / "defaults" / "stack" / "dashboards"))
DEFAULT_DASHBOARDS = ["observatory-overview.json", "pushgateway-jobs.json", "node-exporter.json"]
PROMETHEUS = {"type": "prometheus", "uid": "prometheus"}


def _load(name: str) -> Any:
    return json.loads((DASHBOARDS / name).read_text())


def _panels(doc: dict[str, Any]) -> list[dict[str, Any]]:
    found, todo = [], list(doc["panels"])
    while todo:
        panel = todo.pop(0)
        found.append(panel)
        todo += panel.get("panels", [])
    return found


def _queries(doc: dict[str, Any]) -> str:
    return "\n".join(t["expr"] for panel in _panels(doc) for t in panel.get("targets", []))


# --- the default dashboards -------------------------------------------------------------


def test_every_default_dashboard_is_listed() -> None:
    assert sorted(path.name for path in DASHBOARDS.glob("*.json")) == sorted(DEFAULT_DASHBOARDS)


@pytest.mark.parametrize("name", DEFAULT_DASHBOARDS)
def test_default_dashboard_has_no_problems(name: str) -> None:
    doc = _load(name)
    assert check_dashboard(doc) == []
    assert check_dashboard_datasources(doc, {"prometheus"}) == []
    assert dashboard_datasource_uids(doc) == {"prometheus"}


@pytest.mark.parametrize("name", DEFAULT_DASHBOARDS)
def test_default_dashboard_follows_the_house_format(name: str) -> None:
    text = (DASHBOARDS / name).read_text()
    doc = json.loads(text)
    # Grafana saves keys sorted; writing them the same way keeps diffs against exports small.
    assert text == json.dumps(doc, indent=2, sort_keys=True) + "\n"
    assert doc["id"] is None
    assert doc["schemaVersion"] == 39
    assert "observatory" in doc["tags"]
    assert doc["time"]["to"] == "now"
    assert doc["refresh"]
    assert "__inputs" not in doc
    assert "${DS_" not in text


@pytest.mark.parametrize("name", DEFAULT_DASHBOARDS)
def test_default_dashboard_queries_the_provisioned_prometheus_everywhere(name: str) -> None:
    doc = _load(name)
    for panel in _panels(doc):
        assert panel["datasource"] == PROMETHEUS, panel["title"]
        for target in panel.get("targets", []):
            assert target["datasource"] == PROMETHEUS, panel["title"]
    for variable in doc["templating"]["list"]:
        assert variable["datasource"] == PROMETHEUS


def test_overview_shows_the_observatory_health() -> None:
    queries = _queries(_load("observatory-overview.json"))
    for metric in [
        "up",
        "scrape_duration_seconds",
        "prometheus_tsdb_head_samples_appended_total",
        "prometheus_tsdb_head_series",
        "prometheus_rule_evaluation_failures_total",
        "process_resident_memory_bytes",
        "process_cpu_seconds_total",
        "time() - push_time_seconds",
        'ALERTS{alertstate="firing"}',
    ]:
        assert metric in queries


def test_pushgateway_dashboard_selects_jobs_that_pushed() -> None:
    doc = _load("pushgateway-jobs.json")
    (variable,) = doc["templating"]["list"]
    assert variable["name"] == "job"
    assert variable["query"]["query"] == "label_values(push_time_seconds, job)"
    queries = _queries(doc)
    assert 'push_failure_time_seconds{job=~"$job"}' in queries
    assert 'time() - push_time_seconds{job=~"$job"}' in queries


# --- dashboards: what the checks catch --------------------------------------------------


def _panel(panel_id: int, x: int = 0, y: int = 0, w: int = 12, **extra: Any) -> dict[str, Any]:
    return {
        "datasource": dict(PROMETHEUS),
        "gridPos": {"h": 8, "w": w, "x": x, "y": y},
        "id": panel_id,
        "targets": [{"datasource": dict(PROMETHEUS), "expr": "up", "refId": "A"}],
        "title": f"panel {panel_id}",
        "type": "timeseries",
        **extra,
    }


def _dashboard() -> dict[str, Any]:
    row = _panel(3, y=8, w=24, type="row", panels=[_panel(4, y=9)])
    return {
        "annotations": {"list": []},
        "id": None,
        "panels": [_panel(1), _panel(2, x=12), row],
        "schemaVersion": 39,
        "templating": {"list": [{"name": "job", "type": "query", "datasource": PROMETHEUS}]},
        "title": "Test",
        "uid": "test-dashboard",
    }


def test_a_sound_dashboard_has_no_problems() -> None:
    assert check_dashboard(_dashboard()) == []


def _set(doc: Any, path: list[Any], value: Any) -> None:
    for key in path[:-1]:
        doc = doc[key]
    doc[path[-1]] = value


@pytest.mark.parametrize(
    ("path", "value", "problem"),
    [
        (["uid"], "x" * 41, "uid: 'xxxx"),
        (["uid"], "has space", "uid: 'has space' may only contain letters, digits"),
        (["uid"], 7, "uid: must be a string, got number"),
        (["schemaVersion"], "39", "schemaVersion: must be an integer, got string"),
        (["panels"], {}, "panels: must be an array of panels, got an object"),
        (["panels", 1], "oops", "panels[1]: must be an object, got string"),
        (["panels", 1, "id"], 1, "panels[1].id: 1 is also the id of panels[0]"),
        (["panels", 2, "panels", 0, "id"], 2, "panels[2].panels[0].id: 2 is also the id of"),
        (["panels", 0, "id"], "1", "panels[0].id: must be an integer, got string"),
        (["panels", 0, "type"], None, "panels[0].type: missing"),
        (["panels", 0, "gridPos"], None, "panels[0].gridPos: must be an object"),
        (["panels", 0, "gridPos", "w"], 25, "panels[0].gridPos.w: 25 is outside 1..24"),
        (["panels", 0, "gridPos", "w"], 0, "panels[0].gridPos.w: 0 is outside 1..24"),
        (["panels", 1, "gridPos", "x"], 24, "panels[1].gridPos.x: 24 is outside 0..23"),
        (["panels", 1, "gridPos", "x"], 13, "panels[1].gridPos: x + w is 25; the panel overflows"),
        (["panels", 0, "gridPos", "h"], 1.5, "panels[0].gridPos.h: must be an integer, got number"),
        (["panels", 0, "gridPos", "h"], 0, "panels[0].gridPos.h: 0 must be at least 1"),
        (["panels", 0, "gridPos", "y"], -1, "panels[0].gridPos.y: -1 must not be negative"),
        (["panels", 0, "targets"], {}, "panels[0].targets: must be an array of queries"),
        (["panels", 0, "targets", 0], 1, "panels[0].targets[0]: must be an object"),
        (["panels", 2, "panels"], {}, "panels[2].panels: must be an array, got an object"),
        (["templating"], [], "templating: must be an object whose `list` is an array"),
        (["templating", "list", 0], "job", "templating.list[0]: must be an object"),
        (["templating", "list", 0, "type"], None, "templating.list[0].type: missing"),
        (["panels", 0, "datasource"], 3, "panels[0].datasource: must be an object {type, uid}"),
        (
            ["panels", 0, "targets", 0, "datasource", "uid"],
            ["prometheus"],
            "panels[0].targets[0].datasource.uid: must be a string, got an array",
        ),
        (
            ["panels", 2, "panels", 0, "datasource"],
            "Prometheus",
            "panels[2].panels[0].datasource: names data source 'Prometheus' by name",
        ),
        (
            ["panels", 0, "targets", 0, "datasource", "uid"],
            "${ds}",
            "panels[0].targets[0].datasource.uid: uses variable $ds, which the dashboard's",
        ),
    ],
)
def test_a_broken_dashboard_is_caught(path: list[Any], value: Any, problem: str) -> None:
    doc = _dashboard()
    _set(doc, path, value)
    problems = check_dashboard(doc)
    assert any(p.startswith(problem) for p in problems), problems


def test_what_grafana_refuses_is_an_error() -> None:
    assert dashboard_errors(_dashboard()) == []
    assert dashboard_errors([]) == ["(dashboard): must be a JSON object, got an array"]
    assert dashboard_errors({**_dashboard(), "title": ""}) == ["title: must not be empty"]
    doc = _dashboard()
    del doc["title"]
    assert dashboard_errors(doc) == ["title: missing"]
    assert dashboard_datasource_refs("x") == []
    assert check_dashboard([]) == []  # the error says it once


def test_a_missing_uid_is_a_warning() -> None:
    doc = _dashboard()
    del doc["uid"]
    assert dashboard_errors(doc) == []
    assert [p for p in check_dashboard(doc) if p.startswith("uid: missing")]


def test_an_old_dashboard_grafana_still_provisions_is_warned_about_not_refused() -> None:
    """A Grafana 4 dashboard: rows, no uid, its data source by name, no gridPos."""
    old = {
        "title": "Old",
        "schemaVersion": 14,
        "rows": [{"panels": [{"id": 1, "type": "graph", "datasource": "Prometheus"}]}],
        "panels": [{"id": 2, "type": "graph", "datasource": "Prometheus"}],
    }
    assert dashboard_errors(old) == []
    warnings = check_dashboard(old)
    assert any(w.startswith("uid: missing") for w in warnings)
    assert any(w.startswith("panels[0].gridPos: must be an object") for w in warnings)
    assert any("names data source 'Prometheus' by name" in w for w in warnings)


def test_duplicate_refids_and_variables_are_caught() -> None:
    doc = _dashboard()
    doc["panels"][0]["targets"].append({"expr": "up", "refId": "A"})
    doc["templating"]["list"].append({"name": "job", "type": "custom"})
    problems = check_dashboard(doc)
    assert any(p.startswith("panels[0].targets[1].refId: 'A' is also the refId") for p in problems)
    assert "templating.list[1].name: variable 'job' is defined twice" in problems


def test_an_export_for_sharing_externally_is_caught() -> None:
    doc = _dashboard()
    doc["__inputs"] = [{"name": "DS_PROMETHEUS", "type": "datasource"}]
    doc["panels"][0]["targets"][0]["datasource"] = {"uid": "${DS_PROMETHEUS}"}
    problems = check_dashboard(doc)
    assert problems == [
        problems[0],
        "panels[0].targets[0].datasource.uid: unresolved import placeholder ${DS_PROMETHEUS}",
    ]
    assert problems[0].startswith("__inputs: the dashboard was exported for sharing externally")


def test_a_variable_named_like_an_import_placeholder_is_fine_when_defined() -> None:
    doc = _dashboard()
    doc["templating"]["list"].append({"name": "DS_PROMETHEUS", "type": "datasource"})
    doc["panels"][0]["datasource"] = {"type": "prometheus", "uid": "${DS_PROMETHEUS}"}
    assert check_dashboard(doc) == []


def test_a_datasource_variable_the_dashboard_defines_is_fine() -> None:
    doc = _dashboard()
    doc["templating"]["list"].append({"name": "ds", "type": "datasource", "query": "prometheus"})
    doc["panels"][0]["datasource"] = {"type": "prometheus", "uid": "${ds}"}
    doc["panels"][0]["targets"][0]["datasource"] = {"type": "prometheus", "uid": "$ds"}
    assert check_dashboard(doc) == []
    assert dashboard_datasource_uids(doc) == {"prometheus"}


def test_datasource_references_are_found_everywhere_with_their_paths() -> None:
    doc = _dashboard()
    doc["annotations"]["list"] = [
        {"builtIn": 1, "datasource": {"type": "grafana", "uid": "-- Grafana --"}},
        {"name": "deploys", "datasource": {"type": "loki", "uid": "loki"}},
    ]
    doc["templating"]["list"][0]["datasource"] = {"uid": "[[ds:text]]"}
    doc["panels"][0]["datasource"] = {"type": "datasource", "uid": "-- Mixed --"}
    doc["panels"][1]["datasource"] = None  # the default data source
    doc["panels"][2]["panels"][0]["targets"][0]["datasource"] = "Old Prometheus"
    refs = dashboard_datasource_refs(doc)
    assert DatasourceRef("annotations.list[1].datasource.uid", "uid", "loki") in refs
    assert DatasourceRef("templating.list[0].datasource.uid", "variable", "ds") in refs
    assert (
        DatasourceRef("panels[2].panels[0].targets[0].datasource", "name", "Old Prometheus") in refs
    )
    assert not any(ref.path.startswith("annotations.list[0]") for ref in refs)
    assert not any(ref.path in ("panels[0].datasource.uid", "panels[1].datasource") for ref in refs)
    assert dashboard_datasource_uids(doc) == {"prometheus", "loki"}


def test_a_dashboard_querying_an_unprovisioned_datasource_is_caught() -> None:
    doc = _dashboard()
    doc["panels"][1]["targets"][0]["datasource"] = {"type": "prometheus", "uid": "thanos"}
    assert check_dashboard_datasources(doc, {"prometheus"}) == [
        "panels[1].targets[0].datasource.uid: data source uid 'thanos' is not provisioned "
        "(provisioned: prometheus)"
    ]
    assert check_dashboard_datasources(doc, set())[0].endswith("(provisioned: none)")


@pytest.mark.parametrize(
    ("uid", "ok"),
    [("prometheus", True), ("A-b_9", True), ("x" * 40, True), ("x" * 41, False), ("", False)],
)
def test_uid_rules(uid: str, ok: bool) -> None:
    assert (check_uid(uid, "uid") == []) is ok


# --- properties -------------------------------------------------------------------------

JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=8),
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=8), children, max_size=4)
    ),
    max_leaves=20,
)
DASHBOARD_KEYS = [
    "title",
    "uid",
    "schemaVersion",
    "panels",
    "templating",
    "annotations",
    "__inputs",
]


@given(JSON | st.dictionaries(st.sampled_from(DASHBOARD_KEYS), JSON))
def test_checks_report_problems_and_never_crash_on_any_document(doc: Any) -> None:
    for check in (check_dashboard, dashboard_errors):
        problems = check(doc)
        assert all(isinstance(problem, str) and problem for problem in problems)
    assert all(isinstance(ref, DatasourceRef) for ref in dashboard_datasource_refs(doc))


@given(
    st.sampled_from([["panels", 0], ["panels", 2, "panels", 0], ["templating", "list", 0]]),
    st.dictionaries(
        st.sampled_from(["id", "type", "gridPos", "targets", "datasource", "panels", "name"]), JSON
    ),
)
def test_junk_inside_a_dashboard_is_reported_not_raised(
    path: list[Any], junk: dict[str, Any]
) -> None:
    doc = _dashboard()
    _set(doc, path, junk)
    assert all(isinstance(problem, str) for problem in check_dashboard(doc))


COORDINATE = st.integers(min_value=-2, max_value=30)


@given(h=COORDINATE, w=COORDINATE, x=COORDINATE, y=COORDINATE)
def test_grid_position_is_valid_exactly_when_it_fits_the_24_columns(
    h: int, w: int, x: int, y: int
) -> None:
    doc = _dashboard()
    doc["panels"][0]["gridPos"] = {"h": h, "w": w, "x": x, "y": y}
    fits = 1 <= w <= 24 and 0 <= x <= 23 and x + w <= 24 and h >= 1 and y >= 0
    problems = [p for p in check_dashboard(doc) if p.startswith("panels[0].gridPos")]
    assert (problems == []) is fits, problems


@st.composite
def dashboards(draw: st.DrawFn) -> dict[str, Any]:
    """Valid dashboards: rows of panels side by side, some rows collapsed around their panels."""
    ids = iter(draw(st.permutations(range(1, 60))))
    panels: list[dict[str, Any]] = []
    for y in range(0, 10 * draw(st.integers(min_value=0, max_value=5)), 10):
        # Cut the first `end` of the 24 columns into side-by-side panels.
        end = draw(st.integers(min_value=1, max_value=24))
        cuts = draw(st.sets(st.integers(min_value=1, max_value=max(end - 1, 1)), max_size=4))
        edges = sorted({0, end, *(cut for cut in cuts if cut < end)})
        row = [_panel(next(ids), x=a, y=y, w=b - a) for a, b in itertools.pairwise(edges)]
        if draw(st.booleans()):
            row = [_panel(next(ids), y=y, w=24, type="row", collapsed=True, panels=row)]
        panels += row
    doc = _dashboard()
    doc["panels"] = panels
    return doc


@given(dashboards())
def test_generated_valid_dashboards_have_no_problems(doc: dict[str, Any]) -> None:
    assert check_dashboard(doc) == []


@given(dashboards(), st.data())
def test_any_reused_panel_id_is_the_one_problem(doc: dict[str, Any], data: st.DataObject) -> None:
    panels = _panels(doc)
    if len(panels) < 2:
        return
    first, second = data.draw(
        st.lists(st.sampled_from(panels), min_size=2, max_size=2, unique_by=id)
    )
    second["id"] = first["id"]
    problems = check_dashboard(doc)
    assert len(problems) == 1
    assert "panel ids must be unique" in problems[0]
