"""Checks of Grafana's formats: the default dashboards pass, broken documents are caught."""

from __future__ import annotations

import copy
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
    check_dashboard_providers,
    check_datasources_provisioning,
    check_uid,
    dashboard_datasource_refs,
    dashboard_datasource_uids,
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
        (["title"], "", "title: must not be empty"),
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


def test_a_dashboard_must_be_an_object() -> None:
    assert check_dashboard([]) == ["(dashboard): must be a JSON object, got an array"]
    assert dashboard_datasource_refs("x") == []


def test_missing_title_and_uid_are_named() -> None:
    doc = _dashboard()
    del doc["title"], doc["uid"]
    problems = check_dashboard(doc)
    assert "title: missing" in problems
    assert any(p.startswith("uid: missing") for p in problems)


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


# --- provisioning files -----------------------------------------------------------------


def _datasources() -> dict[str, Any]:
    return {
        "apiVersion": 1,
        "prune": True,
        "datasources": [
            {
                "name": "Prometheus",
                "type": "prometheus",
                "uid": "prometheus",
                "access": "proxy",
                "url": "http://prometheus:9090",
                "isDefault": True,
                "editable": False,
                "jsonData": {"httpMethod": "POST", "timeInterval": "15s"},
                "basicAuth": True,
                "basicAuthUser": "grafana",
                "secureJsonData": {"basicAuthPassword": "${PROMETHEUS_PASSWORD}"},
            },
            {
                "name": "Alertmanager",
                "type": "alertmanager",
                "uid": "alertmanager",
                "access": "proxy",
                "url": "http://alertmanager:9093",
                "orgId": 1,
                "jsonData": {"implementation": "prometheus"},
                "secureJsonData": {"basicAuthPassword": "$__file{/run/secrets/am_password}"},
            },
        ],
    }


def test_sound_datasource_provisioning_has_no_problems() -> None:
    assert check_datasources_provisioning(_datasources()) == []


@pytest.mark.parametrize(
    ("path", "value", "problem"),
    [
        (["apiVersion"], 2, "apiVersion: must be 1, got 2"),
        (["apiVersion"], True, "apiVersion: must be 1, got True"),
        (["datasource"], [], "datasource: unknown key, Grafana ignores it"),
        (["datasources"], {}, "datasources: must be a list, got an object"),
        (["datasources", 1], "Loki", "datasources[1]: must be a mapping, got string"),
        (["datasources", 0, "name"], "", "datasources[0].name: must not be empty"),
        (["datasources", 0, "type"], None, "datasources[0].type: missing"),
        (["datasources", 0, "access"], "server", "datasources[0].access: must be proxy or direct"),
        (["datasources", 0, "url"], None, "datasources[0].url: a prometheus data source needs"),
        (["datasources", 0, "uid"], "p" * 41, "datasources[0].uid: 'pppp"),
        (["datasources", 0, "uid"], "prom.main", "datasources[0].uid: 'prom.main' may only"),
        (["datasources", 1, "uid"], "prometheus", "datasources[1].uid: 'prometheus' is already"),
        (["datasources", 1, "name"], "Prometheus", "datasources[1].name: 'Prometheus' is already"),
        (["datasources", 1, "isDefault"], True, "datasources[1].isDefault: datasources[0] is"),
        (["datasources", 0, "isDefault"], "yes", "datasources[0].isDefault: must be true or"),
        (["datasources", 0, "orgId"], "one", "datasources[0].orgId: must be a non-negative"),
        (["datasources", 0, "jsonData"], "POST", "datasources[0].jsonData: must be a mapping"),
        (["datasources", 0, "secureJsonData"], [], "datasources[0].secureJsonData: must be a"),
        (
            ["datasources", 0, "secureJsonData", "basicAuthPassword"],
            "hunter2",
            "datasources[0].secureJsonData.basicAuthPassword: a secret in clear",
        ),
        (
            ["datasources", 1, "secureJsonData", "basicAuthPassword"],
            "prefix-$PASSWORD",
            "datasources[1].secureJsonData.basicAuthPassword: a secret in clear",
        ),
        (["datasources", 0, "password"], "hunter2", "datasources[0].password: a secret in clear"),
        (["prune"], "always", "prune: must be true or false"),
    ],
)
def test_broken_datasource_provisioning_is_caught(
    path: list[Any], value: Any, problem: str
) -> None:
    doc = _datasources()
    _set(doc, path, value)
    problems = check_datasources_provisioning(doc)
    assert any(p.startswith(problem) for p in problems), problems


def test_datasources_in_other_organizations_may_share_names_and_defaults() -> None:
    doc = _datasources()
    other = copy.deepcopy(doc["datasources"][0]) | {"orgId": 2}
    doc["datasources"].append(other)
    assert check_datasources_provisioning(doc) == []


def test_datasource_provisioning_shape() -> None:
    assert check_datasources_provisioning([]) == [
        "(file): a data source provisioning file must be a mapping, got an array"
    ]
    assert check_datasources_provisioning({"apiVersion": 1}) == ["datasources: missing"]
    deleting = {"apiVersion": 1, "deleteDatasources": [{"name": "Old", "orgId": 1}, {"orgId": 0}]}
    assert check_datasources_provisioning(deleting) == ["deleteDatasources[1].name: missing"]


def _providers() -> dict[str, Any]:
    return {
        "apiVersion": 1,
        "providers": [
            {
                "name": "observatory",
                "orgId": 1,
                "folder": "Observatory",
                "folderUid": "observatory",
                "type": "file",
                "disableDeletion": True,
                "allowUiUpdates": False,
                "updateIntervalSeconds": 30,
                "options": {"path": "/var/lib/grafana/dashboards/observatory"},
            },
            {
                "name": "by-folder",
                "type": "file",
                "updateIntervalSeconds": "$GRAFANA_SCAN_SECONDS",
                "options": {
                    "path": "/var/lib/grafana/dashboards/more",
                    "foldersFromFilesStructure": True,
                },
            },
        ],
    }


def test_sound_dashboard_providers_have_no_problems() -> None:
    assert check_dashboard_providers(_providers()) == []


@pytest.mark.parametrize(
    ("path", "value", "problem"),
    [
        (["apiVersion"], None, "apiVersion: must be 1, got None"),
        (["provider"], [], "provider: unknown key, Grafana ignores it"),
        (["providers"], None, "providers: missing"),
        (["providers", 0, "name"], None, "providers[0].name: missing"),
        (["providers", 1, "name"], "observatory", "providers[1].name: 'observatory' is already"),
        (["providers", 0, "type"], "git", "providers[0].type: must be file"),
        (["providers", 0, "folder"], 3, "providers[0].folder: must be a string"),
        (["providers", 0, "folderUid"], "a/b", "providers[0].folderUid: 'a/b' may only contain"),
        (["providers", 1, "folderUid"], "observatory", "providers[1].folderUid: 'observatory' is"),
        (["providers", 0, "allowUiUpdates"], "no", "providers[0].allowUiUpdates: must be true or"),
        (["providers", 0, "updateIntervalSeconds"], "30s", "providers[0].updateIntervalSeconds:"),
        (["providers", 0, "updateIntervalSeconds"], -1, "providers[0].updateIntervalSeconds:"),
        (["providers", 0, "options"], None, "providers[0].options: must be a mapping"),
        (["providers", 0, "options", "path"], "", "providers[0].options.path: must not be empty"),
        (
            ["providers", 1, "options", "foldersFromFilesStructure"],
            "yes",
            "providers[1].options.foldersFromFilesStructure: must be true or false",
        ),
        (
            ["providers", 1, "folder"],
            "Mine",
            "providers[1].options.foldersFromFilesStructure: needs folder and folderUid empty",
        ),
    ],
)
def test_broken_dashboard_providers_are_caught(path: list[Any], value: Any, problem: str) -> None:
    doc = _providers()
    _set(doc, path, value)
    problems = check_dashboard_providers(doc)
    assert any(p.startswith(problem) for p in problems), problems


def test_dashboard_provider_file_must_be_a_mapping() -> None:
    assert check_dashboard_providers("providers") == [
        "(file): a dashboard provisioning file must be a mapping, got string"
    ]


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
PROVISIONING_KEYS = ["apiVersion", "datasources", "deleteDatasources", "prune", "providers"]


@given(JSON | st.dictionaries(st.sampled_from(DASHBOARD_KEYS + PROVISIONING_KEYS), JSON))
def test_checks_report_problems_and_never_crash_on_any_document(doc: Any) -> None:
    for check in (check_dashboard, check_datasources_provisioning, check_dashboard_providers):
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


@given(
    st.from_regex(r"[A-Za-z_][A-Za-z0-9_]{0,20}", fullmatch=True),
    st.text(min_size=1).filter(lambda s: "$" not in s),
)
def test_a_secret_passes_only_as_a_reference(name: str, literal: str) -> None:
    doc = _datasources()
    secure = doc["datasources"][0]["secureJsonData"]
    for reference in (
        f"${name}",
        f"${{{name}}}",
        f"$__env{{{name}}}",
        f"$__file{{/run/secrets/{name}}}",
    ):
        secure["basicAuthPassword"] = reference
        assert check_datasources_provisioning(doc) == []
    secure["basicAuthPassword"] = literal
    (problem,) = check_datasources_provisioning(doc)
    assert "a secret in clear" in problem
