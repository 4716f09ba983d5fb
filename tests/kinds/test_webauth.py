"""Basic auth of the exporter-toolkit services (kinds/webauth.py, spec/types.py WebAuth)."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from beast_observatory.kinds.webauth import web_config, web_config_flag
from beast_observatory.spec.types import WebAuth
from beast_observatory.yamlio import load_yaml
from inventory_builder import BCRYPT


def test_the_web_config_holds_every_user_and_the_other_settings() -> None:
    auth = WebAuth(
        username="admin",
        password_hash=BCRYPT,
        users={"ops": BCRYPT},
        extra={"tls_server_config": {"cert_file": "/c.pem", "key_file": "/k.pem"}},
    )
    text = web_config(auth)
    assert text is not None
    assert load_yaml(text) == {
        "tls_server_config": {"cert_file": "/c.pem", "key_file": "/k.pem"},
        "basic_auth_users": {"admin": BCRYPT, "ops": BCRYPT},
    }
    assert web_config_flag(auth, "/etc/prometheus") == ["--web.config.file=/etc/prometheus/web.yml"]


def test_a_hash_from_env_is_written_in_the_container_at_start() -> None:
    auth = WebAuth(username="admin", password_hash_env="PROM_HASH")
    assert web_config(auth) is None
    assert web_config_flag(auth, "/etc/prometheus") == [
        "--web.config.file=/tmp/observatory-web.yml"
    ]
    assert web_config_flag(None, "/etc/prometheus") == []


@pytest.mark.parametrize(
    "fields",
    [
        {"password_hash": "hunter2"},  # a clear password
        {"password_hash": BCRYPT, "users": {"ops": "hunter2"}},
        {"password_hash": BCRYPT, "password_hash_env": "X"},  # both
        {},  # neither
    ],
)
def test_only_bcrypt_hashes_and_exactly_one_source(fields: dict[str, object]) -> None:
    with pytest.raises(ValidationError):
        WebAuth(username="admin", **fields)  # type: ignore[arg-type]
