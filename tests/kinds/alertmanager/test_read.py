"""A running Alertmanager read back (kinds/alertmanager/read.py): its configuration file and
templates as written, clustering, web auth, and secrets as files written at start."""

from __future__ import annotations

from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from bundles import render, spec_data, stack_of
from inventory_builder import BCRYPT
from roundtrip import differences, exported_services, read_back

CONFIG = b"""\
global:
  resolve_timeout: 5m
templates: [/etc/alertmanager/templates/*.tmpl]
route:
  receiver: ops
receivers:
  - name: ops
    slack_configs:
      - api_url_file: /tmp/observatory-secrets/slack
        channel: '#ops'
"""


def alertmanager(**section: Any) -> dict[str, Any]:
    return spec_data({"alertmanager": {"enabled": True, **section}, "grafana": {"enabled": False}})


@settings(max_examples=25, deadline=None)
@given(
    cluster=st.sampled_from(["", None, "0.0.0.0:9094"]),
    auth=st.none() | st.just({"username": "ops", "password_hash": BCRYPT}),
    flags=st.lists(st.sampled_from(["--log.level=debug", "--data.retention=240h"]), unique=True),
)
def test_render_then_read_gives_the_alertmanager_section_back(
    cluster: str | None, auth: dict[str, Any] | None, flags: list[str]
) -> None:
    data = alertmanager(
        config_path="alertmanager.yml",
        files={"templates/slack.tmpl": "slack.tmpl"},
        cluster_listen_address=cluster,
        web_auth=auth,
        extra_flags=flags,
    )
    assets = {"alertmanager.yml": CONFIG, "slack.tmpl": b'{{ define "slack" }}x{{ end }}\n'}
    bundle = render(data, assets)
    result = read_back(bundle)
    back = exported_services(result).alertmanager
    original = stack_of(data).services.alertmanager
    for field in ("cluster_listen_address", "web_auth", "extra_flags", "enabled", "port"):
        assert getattr(back, field) == getattr(original, field), field
    assert back.config_path is not None
    assert result.files[back.config_path] == CONFIG
    assert {k: result.files[v] for k, v in back.files.items()} == {
        "templates/slack.tmpl": assets["slack.tmpl"]
    }
    assert differences(bundle) == {}


def test_an_inline_configuration_comes_back_as_a_file_with_the_same_content() -> None:
    data = alertmanager(config={"route": {"receiver": "null"}, "receivers": [{"name": "null"}]})
    bundle = render(data)
    result = read_back(bundle)
    back = exported_services(result).alertmanager
    assert back.config is None
    assert back.config_path == "alertmanager/alertmanager.yml"
    assert result.files[back.config_path] == bundle.files["alertmanager/alertmanager.yml"]
    assert differences(bundle) == {}
