"""A running Grafana read back (kinds/grafana/read.py) is the spec section that renders it:
data sources with every field, providers, grafana.ini and the dashboards come back."""

from __future__ import annotations

from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from beast_observatory.kinds.grafana.model import Grafana
from beast_observatory.kinds.grafana.read import parse_ini
from beast_observatory.kinds.grafana.render import _ini_value
from bundles import render, spec_data, stack_of
from roundtrip import differences, exported_services, read_back
from strategies import datasources, ini_sections, providers

EXAMPLES = settings(max_examples=40, deadline=None)
PROVIDER_FIELDS = (
    "name", "org_id", "folder", "folder_uid", "type", "disable_deletion", "editable",
    "allow_ui_updates", "update_interval_seconds", "folders_from_files_structure", "options",
)  # fmt: skip


def grafana(**section: Any) -> dict[str, Any]:
    return spec_data({"grafana": section, "pushgateway": {"enabled": False}})


def read_grafana(
    data: dict[str, Any], assets: dict[str, bytes]
) -> tuple[Grafana, dict[str, bytes]]:
    result = read_back(render(data, assets))
    return exported_services(result).grafana, result.files


def dashboards_of(glob: str, files: dict[str, bytes]) -> dict[str, bytes]:
    """The files below a provider's folder (dashboards/<folder>/**/*.json), by sub-path."""
    folder = glob.removesuffix("**/*.json").removesuffix("*.json")
    return {p.removeprefix(folder): d for p, d in files.items() if p.startswith(folder)}


@EXAMPLES
@given(sources=datasources(), dashboards=providers(), ini=ini_sections)
def test_render_then_read_gives_the_grafana_section_back(
    sources: list[dict[str, Any]],
    dashboards: tuple[list[dict[str, Any]], dict[str, bytes]],
    ini: dict[str, dict[str, Any]],
) -> None:
    chosen, files = dashboards
    data = grafana(
        base_ini=False,
        prometheus_datasource=False,
        datasources=sources,
        delete_datasources=[{"name": "Old", "orgId": 2}],
        dashboards=chosen,
        ini=ini,
        plugins=["grafana-clock-panel"],
    )
    original = stack_of(data).services.grafana
    back, side = read_grafana(data, files)
    assert back.datasources == original.datasources
    assert back.delete_datasources == original.delete_datasources
    assert [p.model_dump(include=set(PROVIDER_FIELDS)) for p in back.dashboards] == [
        p.model_dump(include=set(PROVIDER_FIELDS)) for p in original.dashboards
    ]
    assert [p.extras() for p in back.dashboards] == [p.extras() for p in original.dashboards]
    # Every dashboard comes back, in its provider's folder and sub-folder.
    assert [dashboards_of(p.files[0], side) for p in back.dashboards] == [
        dashboards_of(p.files[0], files) for p in original.dashboards
    ]
    # grafana.ini holds text: a number or a boolean comes back as Grafana reads it.
    assert back.ini == {s: {k: _ini_value(v) for k, v in kv.items()} for s, kv in ini.items()}
    assert (back.base_ini, back.prometheus_datasource) == (False, False)
    assert (back.admin_user, back.admin_password) == (original.admin_user, original.admin_password)
    assert back.plugins == ["grafana-clock-panel"]


@EXAMPLES
@given(
    sources=datasources(),
    dashboards=providers(),
    ini=ini_sections,
    base=st.booleans(),
    auto=st.booleans(),
)
def test_a_host_read_back_and_rendered_again_is_the_same(
    sources: list[dict[str, Any]],
    dashboards: tuple[list[dict[str, Any]], dict[str, bytes]],
    ini: dict[str, dict[str, Any]],
    base: bool,
    auto: bool,
) -> None:
    chosen, files = dashboards
    data = grafana(
        base_ini=base, prometheus_datasource=auto, datasources=sources, dashboards=chosen, ini=ini
    )
    assert differences(render(data, files)) == {}


def test_a_moved_config_dir_and_admin_settings_come_back() -> None:
    data = grafana(
        config_dir="/config",
        admin_user=None,
        admin_password={"file": "/srv/secrets/grafana-admin"},
        dashboards=[],
        container_port=3300,
    )
    back, _ = read_grafana(data, {})
    assert back.config_dir == "/config"
    assert back.container_port == 3300
    assert back.admin_user is None
    assert back.admin_password is not None
    assert back.admin_password.file == "/srv/secrets/grafana-admin"


def test_parse_ini_reads_grafanas_format() -> None:
    ini = parse_ini('top = 1\n; c\n# c\n[a]\nk = """x;y"""\nnot a pair\n[b.c]\nn = 5\n')
    assert ini == {"": {"top": "1"}, "a": {"k": "x;y"}, "b.c": {"n": "5"}}
