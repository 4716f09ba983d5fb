"""Literal secrets in configuration trees of the spec: the inline Alertmanager config, the file
given by config_path, every datasource's json_data (spec/checks.py: config_secrets). Which
names are secrets is tests/test_secret_rules.py's table."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from beast_observatory.bundle.compile import validate_project
from beast_observatory.errors import SpecError
from beast_observatory.kinds.alertmanager.render import DEFAULT_CONFIG
from beast_observatory.spec.checks import config_secrets
from beast_observatory.spec.load import load_project


def test_references_placeholders_and_file_forms_pass() -> None:
    config = {
        "global": {
            "smtp_auth_password_file": "/etc/alertmanager/secrets/smtp",
            "slack_api_url": "FILL-IN-SECRET-0123456789ab",  # what import writes
            "smtp_auth_password": "",
        },
        "receivers": [
            {
                "name": "ops",
                "webhook_configs": [{"url": "http://bot:${HOOK_PW}@hook/x", "url_file": "/p"}],
                "telegram_configs": [{"api_url": "https://api.telegram.org", "chat_id": 5}],
                "email_configs": [{"auth_password": "$__file{/run/secrets/smtp}"}],
                "pushover_configs": [{"token": "${PUSHOVER_TOKEN}", "send_resolved": True}],
            }
        ],
    }
    assert list(config_secrets(config)) == []
    assert list(config_secrets(DEFAULT_CONFIG)) == []


def test_literal_secrets_are_found_at_any_depth() -> None:
    config: dict[str, Any] = {
        "global": {"smtp_auth_password": 1234},  # a number is a literal too
        "receivers": [
            {
                "slack_configs": [{"api_url": "https://hooks.slack.com/services/A/B/C"}],
                "webhook_configs": [
                    {"http_config": {"authorization": {"type": "Bearer", "credentials": "c"}}}
                ],
                "sns_configs": [{"sigv4": {"secret_key": "sk"}}],
                "opsgenie_configs": [{"api_url": "https://u:pw@api.opsgenie.com/"}],
            }
        ],
        "tokens": ["a", "${B}"],
    }
    assert [(path, why.split(" (")[0]) for path, why in config_secrets(config)] == [
        (("global", "smtp_auth_password"), "holds a literal secret"),
        (("receivers", 0, "slack_configs", 0, "api_url"), "holds a literal secret"),
        (
            ("receivers", 0, "webhook_configs", 0, "http_config", "authorization", "credentials"),
            "holds a literal secret",
        ),
        (("receivers", 0, "sns_configs", 0, "sigv4", "secret_key"), "holds a literal secret"),
        (
            ("receivers", 0, "opsgenie_configs", 0, "api_url"),
            "holds a URL with a literal password",
        ),
        (("tokens", 0), "holds a literal secret"),
    ]


SPEC = """\
version: 1
project: demo
environments:
  local: {}
  remote:
    ssh: {host: vonnegut}
    services:
      alertmanager:
        config:
          global:
            smtp_auth_password: only-remote
services:
  grafana:
    dashboards: []
  alertmanager:
    enabled: false
    config:
      route: {receiver: ops}
      receivers: [{name: ops}]
"""


def test_an_override_is_blamed_and_a_disabled_service_is_still_checked(tmp_path: Path) -> None:
    """A secret written in the spec is in the spec (and in git) whether the service runs or not."""
    spec = tmp_path / "observatory.yaml"
    spec.write_text(SPEC)
    with pytest.raises(SpecError) as error:
        validate_project(load_project(spec))
    text = "\n".join(error.value.problems)
    assert (
        "observatory.yaml:11:13: environments.remote.services.alertmanager.config.global"
        ".smtp_auth_password: holds a literal secret" in text
    )
    assert "use smtp_auth_password_file" in text
