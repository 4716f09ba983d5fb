"""Grafana's files and compose service (kinds/grafana/render.py): provisioning files Grafana
accepts (checked against its documented format), grafana.ini, dashboards in their folders."""

from __future__ import annotations

from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from beast_observatory.kinds.grafana.checks import check_grafana
from beast_observatory.kinds.grafana.read import parse_ini
from beast_observatory.kinds.grafana.render import DATASOURCES_FILE, PROVIDERS_FILE
from beast_observatory.yamlio import load_yaml
from bundles import matches_of, render, spec_data, stack_of
from strategies import dashboard, datasources, ini_sections, providers

from .provisioning_format import check_dashboard_providers, check_datasources_provisioning


def grafana(**section: Any) -> dict[str, Any]:
    return spec_data({"grafana": section})


def provisioning(files: dict[str, bytes] | Any) -> tuple[Any, Any]:
    return load_yaml(files[DATASOURCES_FILE]), load_yaml(files[PROVIDERS_FILE])


def compose_service(data: dict[str, Any], assets: dict[str, bytes] | None = None) -> dict[str, Any]:
    service: dict[str, Any] = load_yaml(render(data, assets).files["docker-compose.yml"])[
        "services"
    ]["grafana"]
    return service


@settings(max_examples=60, deadline=None)
@given(sources=datasources(), chosen=providers(), auto=st.booleans())
def test_what_the_checks_let_through_grafana_provisions(
    sources: list[dict[str, Any]], chosen: tuple[list[dict[str, Any]], dict[str, bytes]], auto: bool
) -> None:
    """The data source and provider files of a spec the checks find nothing wrong with are
    files Grafana provisions as written."""
    found, files = chosen
    data = grafana(datasources=sources, dashboards=found, prometheus_datasource=auto)
    stack = stack_of(data)
    problems = check_grafana(stack, files, matches_of(stack, files))
    datasources_doc, providers_doc = provisioning(render(data, files).files)
    if not problems:
        assert check_datasources_provisioning(datasources_doc) == []
        assert check_dashboard_providers(providers_doc) == []


def test_folders_from_the_files_structure_with_a_folder() -> None:
    def problems(**provider: Any) -> list[tuple[str, str]]:
        data = grafana(dashboards=[{"name": "p", "files": ["d/*.json"], **provider}])
        stack = stack_of(data)
        found = check_grafana(
            stack, {"d/a.json": dashboard("a").encode()}, {"d/*.json": ("d/a.json",)}
        )
        return [(p.severity, p.message) for p in found if "folder" in p.message]

    both = problems(folders_from_files_structure=True, folder="F", folderUid="f")
    assert both == [
        (
            "error",
            "folders come from the files' folders: Grafana refuses a provider that also has "
            "folder and folder_uid",
        )
    ]
    assert problems(folders_from_files_structure=True, folder="F") == [
        ("warning", "folders come from the files' folders: Grafana ignores folder")
    ]
    assert problems(folders_from_files_structure=True) == []
    assert problems(folder="F", folderUid="f") == []


def test_providers_sharing_a_folder_uid_are_warned_about() -> None:
    data = grafana(
        dashboards=[
            {"name": "a", "files": ["d/a.json"], "folderUid": "ops"},
            {"name": "b", "files": ["d/a.json"], "folderUid": "ops"},
        ]
    )
    found = check_grafana(
        stack_of(data), {"d/a.json": dashboard("a").encode()}, {"d/a.json": ("d/a.json",)}
    )
    shared = [p for p in found if "folder_uid" in p.message]
    assert [(p.severity, p.path) for p in shared] == [
        ("warning", ("services", "grafana", "dashboards", 1, "folder_uid"))
    ]


def test_two_default_data_sources_of_one_organization_are_an_error() -> None:
    sources = [
        {"name": "A", "type": "loki", "url": "http://a", "isDefault": True},
        {"name": "B", "type": "loki", "url": "http://b", "is_default": True},
        {"name": "C", "type": "loki", "url": "http://c", "isDefault": True, "orgId": 2},
    ]
    stack = stack_of(grafana(datasources=sources, dashboards=[]))
    (problem,) = [p for p in check_grafana(stack, {}, {}) if p.severity == "error"]
    assert problem.path == ("services", "grafana", "datasources", 1, "is_default")
    assert "datasources[0] is already the default data source of organization 1" in problem.message


def test_fields_are_written_as_grafana_spells_them_and_absent_ones_stay_absent() -> None:
    source = {
        "name": "Loki",
        "type": "loki",
        "url": "https://loki.example",
        "basicAuth": True,
        "basic_auth_user": "grafana",
        "secureJsonData": {"basicAuthPassword": "$__env{LOKI_PASSWORD}"},
        "jsonData": {"maxLines": 1000},
        "readOnly": True,  # not a field of the model: written as it is
    }
    doc, _ = provisioning(render(grafana(datasources=[source], dashboards=[])).files)
    prometheus, loki = doc["datasources"]
    assert loki == {
        "name": "Loki",
        "type": "loki",
        "url": "https://loki.example",
        "basicAuth": True,
        "basicAuthUser": "grafana",
        "jsonData": {"maxLines": 1000},
        "secureJsonData": {"basicAuthPassword": "$__env{LOKI_PASSWORD}"},
        "readOnly": True,
    }
    assert prometheus["uid"] == "prometheus"
    assert prometheus["isDefault"] is True
    # The variable the data source reads reaches the container from the host's .env.
    env = compose_service(grafana(datasources=[source], dashboards=[]))["environment"]
    assert env["LOKI_PASSWORD"].startswith("${LOKI_PASSWORD:?")


def test_a_default_data_source_of_the_spec_takes_over_from_the_automatic_one() -> None:
    source = {
        "name": "Thanos",
        "type": "prometheus",
        "url": "http://thanos:9090",
        "isDefault": True,
    }
    doc, _ = provisioning(render(grafana(datasources=[source], dashboards=[])).files)
    assert [d["isDefault"] for d in doc["datasources"]] == [False, True]
    doc, _ = provisioning(
        render(grafana(datasources=[source], dashboards=[], prometheus_datasource=False)).files
    )
    assert [d["name"] for d in doc["datasources"]] == ["Thanos"]


def test_deleted_data_sources_are_listed_for_grafana_to_delete() -> None:
    data = grafana(
        delete_datasources=[{"name": "Old"}, {"name": "Older", "orgId": 2}], dashboards=[]
    )
    doc, _ = provisioning(render(data).files)
    assert doc["deleteDatasources"] == [{"name": "Old"}, {"name": "Older", "orgId": 2}]


def test_dashboards_keep_their_sub_folders_below_the_globs_fixed_folder() -> None:
    files = {
        "dashboards/infra/a.json": dashboard("a").encode(),
        "dashboards/infra/net/b.json": dashboard("b").encode(),
        "dashboards/apps/c.json": dashboard("c").encode(),
    }
    providers_ = [
        {
            "name": "infra",
            "files": ["dashboards/infra/**/*.json"],
            "foldersFromFilesStructure": True,
        },
        {"name": "apps", "files": ["dashboards/apps/c.json"], "folder": "Apps"},
    ]
    bundle = render(grafana(dashboards=providers_), files)
    assert sorted(p for p in bundle.files if "/dashboards/" in p and p.endswith(".json")) == [
        "grafana/dashboards/apps/c.json",
        "grafana/dashboards/infra/a.json",
        "grafana/dashboards/infra/net/b.json",
    ]
    _, doc = provisioning(bundle.files)
    assert doc["providers"] == [
        {
            "name": "infra",
            "options": {"path": "/etc/grafana/dashboards/infra", "foldersFromFilesStructure": True},
        },
        {"name": "apps", "folder": "Apps", "options": {"path": "/etc/grafana/dashboards/apps"}},
    ]


@given(ini=ini_sections, base=st.booleans())
def test_grafana_ini_holds_the_sections_of_the_spec_over_the_tools_base(
    ini: dict[str, dict[str, Any]], base: bool
) -> None:
    text = (
        render(grafana(ini=ini, base_ini=base, dashboards=[])).files["grafana/grafana.ini"].decode()
    )
    parsed = parse_ini(text)
    for section, values in ini.items():
        for key, value in values.items():
            want = ("true" if value else "false") if isinstance(value, bool) else str(value)
            assert parsed[section][key] == want
    assert ("analytics" in parsed) is (base or "analytics" in ini)
    if base and "users" not in ini:
        assert parsed["users"] == {"allow_sign_up": "false"}


def test_admin_settings_and_their_opt_outs() -> None:
    env = compose_service(grafana(dashboards=[]))["environment"]
    assert env["GF_SECURITY_ADMIN_USER"] == "admin"
    assert env["GF_SECURITY_ADMIN_PASSWORD"].startswith("${GRAFANA_ADMIN_PASSWORD:?")
    service = compose_service(
        grafana(admin_user=None, admin_password={"file": "/srv/admin"}, dashboards=[])
    )
    assert "GF_SECURITY_ADMIN_USER" not in service["environment"]
    assert service["environment"]["GF_SECURITY_ADMIN_PASSWORD__FILE"] == (
        "/run/secrets/gf_security_admin_password"
    )
    assert "/srv/admin:/run/secrets/gf_security_admin_password:ro" in service["volumes"]
    none = compose_service(grafana(admin_user=None, admin_password=None, dashboards=[]))
    assert "environment" not in none


def test_grafana_listens_on_its_container_port() -> None:
    service = compose_service(grafana(container_port=3300, port=13300, dashboards=[]))
    assert service["environment"]["GF_SERVER_HTTP_PORT"] == "3300"
    assert service["ports"] == ["127.0.0.1:13300:3300"]
    assert service["healthcheck"]["test"][-1] == "http://127.0.0.1:3300/api/health"
    assert "GF_SERVER_HTTP_PORT" not in compose_service(grafana(dashboards=[]))["environment"]


def test_files_read_only_at_start_are_in_the_restart_hash_dashboards_are_not() -> None:
    files = {"dashboards/a.json": dashboard("a").encode()}
    label = "org.beast-observatory.restart-hash"
    before = compose_service(grafana(), files)["labels"][label]
    files["dashboards/a.json"] = dashboard("b").encode()
    assert compose_service(grafana(), files)["labels"][label] == before
    after = compose_service(grafana(ini={"server": {"root_url": "http://x/"}}), files)
    assert after["labels"][label] != before
