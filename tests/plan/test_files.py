"""Files of a plan shown to people (plan/files.py): secrets masked, content compared as the
service reads it."""

from __future__ import annotations

import pytest

from beast_observatory.plan.files import mask_secrets, same_content, unified_diff


@pytest.mark.parametrize(
    ("text", "hidden"),
    [
        ("admin_password = hunter2\n", "hunter2"),
        ("  basicAuthPassword: s3cret\n", "s3cret"),
        ("users:\n  bob: $2b$10$" + "a" * 53 + "\n", "a" * 53),
        ("global:\n  slack_api_url: https://hooks.slack.com/services/T0/B0/XYZ\n", "XYZ"),
        ("      - routing_key: 0123456789abcdef\n", "0123456789abcdef"),
        ("      service_key: pd-key\n", "pd-key"),
        ("      bot_token: '123:abc'\n", "123:abc"),
        ("      httpHeaderValue1: Bearer eyJhbGciOi\n", "eyJhbGciOi"),
        ("  Authorization: Basic YWRtaW46cHc=\n", "YWRtaW46cHc="),
        ('  "opsgenie_api_key": "og-key",\n', "og-key"),
        ("      - url: http://bot:hookpw@hooks.internal:8080/alert\n", "hookpw"),
        ("url = mysql://grafana:DbPassw0rd@db:3306/grafana\n", "DbPassw0rd"),
        ("      api_url: https://u:apipw@api.telegram.org\n", "apipw"),
    ],
)
def test_diffs_mask_secrets(text: str, hidden: str) -> None:
    assert hidden not in mask_secrets(text)
    assert "<masked" in mask_secrets(text)


def test_diffs_mask_only_the_password_of_a_url() -> None:
    assert mask_secrets("  - url: http://bot:hookpw@hooks.internal:8080/alert\n") == (
        "  - url: http://bot:<masked>@hooks.internal:8080/alert\n"
    )
    assert mask_secrets('  "routing_key": "abc",\n') == '  "routing_key": <masked>,\n'


@pytest.mark.parametrize(
    "line",
    [
        "  smtp_auth_password_file: /etc/alertmanager/secrets/smtp",
        "  token_url: https://auth.example/token",
        "  api_url: https://api.telegram.org",
        "  url: http://bot:${HOOK_PASSWORD}@hooks.internal/alert",
        "      password: $__env{DB_PASSWORD}",
        "  GF_SECURITY_ADMIN_PASSWORD__FILE: /run/secrets/gf_security_admin_password",
        "      httpHeaderName1: Authorization",
        "  type: Bearer",
        "  resolve_timeout: 5m",
    ],
)
def test_diffs_keep_references_paths_and_plain_values(line: str) -> None:
    assert mask_secrets(line + "\n") == line + "\n"


def test_ini_files_compare_by_content() -> None:
    assert same_content("g.ini", "[a]\nx = 1\ny = 2\n", "[a]\ny = 2\nx=1\n")
    assert not same_content("g.ini", "[a]\nx = 1\n", "[a]\nx = 2\n")


def test_yaml_and_json_compare_parsed_and_other_files_byte_for_byte() -> None:
    assert same_content("p.yml", "a: 1\nb: [x]\n", "b: [x]\na: 1\n")
    assert same_content("d.json", '{"a": 1, "b": 2}', '{"b":2,"a":1}')
    assert not same_content("d.json", '{"a": 1}', '{"a": 2}')
    assert not same_content("nginx.conf", "a 1;\n", "a  1;\n")
    assert same_content("broken.yml", "a: [\n", "a: [\n")


def test_a_diff_names_host_and_spec_and_masks_both_sides() -> None:
    before = "[smtp]\npassword = old-secret\nhost = a:25\n"
    after = "[smtp]\npassword = new-secret\nhost = b:25\n"
    diff = unified_diff("grafana/grafana.ini", before, after)
    assert diff.startswith("--- host/grafana/grafana.ini\n+++ spec/grafana/grafana.ini\n")
    assert "-host = a:25\n+host = b:25\n" in diff
    assert "secret" not in diff
    assert unified_diff("a.yml", "x: 1\n", "x: 1\n") == ""
    added = unified_diff("a.yml", None, "x: 1\n")
    assert "+x: 1\n" in added
