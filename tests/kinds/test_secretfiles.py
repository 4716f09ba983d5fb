"""Secrets Prometheus and Alertmanager read from files (kinds/secretfiles.py, entrypoint.py):
a redacted secret becomes its *_file form, the file is written at start from the host's .env,
and a stack rendered so reads back with the same secrets."""

from __future__ import annotations

from typing import Any

import pytest

from beast_observatory.kinds.entrypoint import runtime_entrypoint
from beast_observatory.kinds.secretfiles import (
    carry,
    carry_text,
    file_form,
    runtime_secrets,
    secret_mounts,
    secret_writes,
)
from beast_observatory.spec.types import SecretRef
from bundles import render, spec_data
from inventory_builder import MARK
from roundtrip import differences, exported_services, read_back


@pytest.mark.parametrize(
    ("path", "form"),
    [
        (("receivers", 0, "slack_configs", 0, "api_url"), "api_url_file"),
        (("receivers", 0, "telegram_configs", 0, "api_url"), None),  # a base URL there
        (("global", "smtp_auth_password"), "smtp_auth_password_file"),
        (("scrape_configs", 0, "basic_auth", "password"), "password_file"),
        (("remote_write", 0, "authorization", "credentials"), "credentials_file"),
        (("receivers", 0, "pagerduty_configs", 0, "routing_key"), "routing_key_file"),
        (("global", "resolve_timeout"), None),
    ],
)
def test_file_forms(path: tuple[str | int, ...], form: str | None) -> None:
    assert file_form(path) == form


def test_carry_turns_redacted_secrets_into_files_and_names_them() -> None:
    config: dict[str, Any] = {
        "remote_write": [
            {"url": "https://a", "basic_auth": {"username": "u", "password": MARK}},
            {"url": "https://b", "basic_auth": {"username": "u", "password": MARK}},
        ],
        "global": {"external_labels": {"token": "not redacted: left as it is"}},
    }
    secrets: dict[str, str] = {}
    out = carry(config, secrets, "PROMETHEUS")
    assert out["remote_write"][0]["basic_auth"] == {
        "username": "u",
        "password_file": "/tmp/observatory-secrets/remote-write-basic-auth-password",
    }
    assert out["remote_write"][1]["basic_auth"]["password_file"].endswith("-password-2")
    assert secrets == {
        "remote-write-basic-auth-password": "PROMETHEUS_REMOTE_WRITE_BASIC_AUTH_PASSWORD",
        "remote-write-basic-auth-password-2": "PROMETHEUS_REMOTE_WRITE_BASIC_AUTH_PASSWORD_2",
    }
    assert out["global"] == config["global"]


def test_carry_text_rewrites_only_the_secret_lines() -> None:
    text = (
        "# alertmanager.yml by hand\n"
        "global:\n"
        f"  smtp_auth_password: '{MARK}'  # the mail relay\n"
        "receivers:\n"
        "  - name: ops\n"
        "    slack_configs:\n"
        f'      - api_url: "{MARK}"\n'
        "        channel: '#ops'\n"
    )
    secrets: dict[str, str] = {}
    out = carry_text(text, secrets, "ALERTMANAGER")
    assert out.splitlines() == [
        "# alertmanager.yml by hand",
        "global:",
        "  smtp_auth_password_file: /tmp/observatory-secrets/global-smtp-auth-password",
        "receivers:",
        "  - name: ops",
        "    slack_configs:",
        "      - api_url_file: /tmp/observatory-secrets/ops-slack-api-url",
        "        channel: '#ops'",
    ]
    # named after what they belong to: the receiver, the section
    assert set(secrets) == {"global-smtp-auth-password", "ops-slack-api-url"}
    assert carry_text("not: [yaml", {}, "X") == "not: [yaml"


def test_the_entrypoint_writes_each_secret_before_it_starts_the_server() -> None:
    secrets = {"slack": SecretRef(env="SLACK_URL"), "smtp": SecretRef(file="/srv/smtp")}
    extra, env = runtime_entrypoint("alertmanager", None, secrets)
    script = extra["entrypoint"][2]
    assert extra["entrypoint"][:2] == ["/bin/sh", "-c"]
    assert script.startswith("umask 077 && mkdir -p /tmp/observatory-secrets && ")
    assert "printf '%s' \"$$OBSERVATORY_SECRET_SLACK\" > /tmp/observatory-secrets/slack" in script
    assert script.endswith('exec /bin/alertmanager "$$@"')
    assert env == {
        "OBSERVATORY_SECRET_SLACK": "${SLACK_URL:?set SLACK_URL (a secret the configuration "
        "reads from a file) in the .env file next to docker-compose.yml}"
    }
    # A host file is mounted where the configuration reads it, not written.
    assert secret_mounts(secrets) == ["/srv/smtp:/tmp/observatory-secrets/smtp:ro"]
    assert [w[0] for w in secret_writes(secrets)] == ["/tmp/observatory-secrets/slack"]
    # ...and what it writes is read back from the running container.
    live = tuple(a.replace("$$", "$") for a in extra["entrypoint"])
    assert runtime_secrets(live, env) == {"slack": "SLACK_URL"}
    assert runtime_entrypoint("pushgateway", None, {}) == ({}, {})


def test_a_stack_with_secrets_and_hashes_in_env_reads_back_with_them() -> None:
    """Exported from a host it runs on, a stack keeps its secrets as variables of the host's
    .env and its web auth behind the hash variable: nothing exposed, nothing lost."""
    slack = {
        "route": {"receiver": "o"},
        "receivers": [
            {"name": "o", "slack_configs": [{"api_url_file": "/tmp/observatory-secrets/slack"}]}
        ],
    }
    data = spec_data(
        {
            "alertmanager": {
                "enabled": True,
                "config": slack,
                "secrets": {"slack": {"env": "SLACK_URL"}},
                "web_auth": {"username": "ops", "password_hash_env": "AM_HASH"},
            },
            "prometheus": {
                "remote_write": [
                    {
                        "url": "https://m",
                        "basic_auth": {
                            "username": "u",
                            "password_file": "/tmp/observatory-secrets/rw",
                        },
                    }
                ],
                "secrets": {"rw": {"env": "REMOTE_PW"}},
                "web_auth": {"username": "admin", "password_hash_env": "PROM_HASH"},
            },
            "pushgateway": {"web_auth": {"username": "ci", "password_hash_env": "PG_HASH"}},
        }
    )
    bundle = render(data)
    result = read_back(bundle)
    s = exported_services(result)
    assert s.alertmanager.secrets == {"slack": SecretRef(env="SLACK_URL")}
    assert s.prometheus.secrets == {"rw": SecretRef(env="REMOTE_PW")}
    for svc, user, variable in (
        (s.alertmanager, "ops", "AM_HASH"),
        (s.prometheus, "admin", "PROM_HASH"),
        (s.pushgateway, "ci", "PG_HASH"),
    ):
        assert svc.web_auth is not None
        assert (svc.web_auth.username, svc.web_auth.password_hash_env) == (user, variable)
        assert not any(k.startswith("OBSERVATORY_") for k in svc.environment)
    assert (
        "AM_HASH, GRAFANA_ADMIN_PASSWORD, PG_HASH, PROM_HASH, REMOTE_PW, SLACK_URL"
        in (result.spec_text.splitlines()[1])
    )
    assert differences(bundle) == {}
