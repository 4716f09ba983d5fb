"""The oracle of Grafana's provisioning formats (provisioning_format.py) catches what Grafana
refuses or misreads: an oracle that passes anything would make the render tests vacuous."""

from __future__ import annotations

import copy
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from .provisioning_format import check_dashboard_providers, check_datasources_provisioning

JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=8),
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=8), children, max_size=4)
    ),
    max_leaves=20,
)
PROVISIONING_KEYS = ["apiVersion", "datasources", "deleteDatasources", "prune", "providers"]


def _set(doc: Any, path: list[Any], value: Any) -> None:
    for key in path[:-1]:
        doc = doc[key]
    doc[path[-1]] = value


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
        (["datasources", 0, "access"], None, "datasources[0].access: must be proxy or direct"),
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


def test_a_missing_access_is_proxy_as_grafana_reads_it() -> None:
    doc = _datasources()
    del doc["datasources"][0]["access"]
    assert check_datasources_provisioning(doc) == []


@given(JSON | st.dictionaries(st.sampled_from(PROVISIONING_KEYS), JSON))
def test_the_oracle_reports_and_never_crashes_on_any_document(doc: Any) -> None:
    for check in (check_datasources_provisioning, check_dashboard_providers):
        assert all(isinstance(problem, str) and problem for problem in check(doc))
