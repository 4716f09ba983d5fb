"""The one rule of what a secret's name is (the probe's awk is generated from it: see
tests/host/probe/test_secret_rules_awk.py)."""

from __future__ import annotations

import pytest

from beast_observatory.secret_rules import is_secret_name, words


@pytest.mark.parametrize(
    ("name", "secret"),
    [
        ("GF_SECURITY_ADMIN_PASSWORD", True),
        ("GF_SECURITY_ADMIN_PASSWORD__FILE", False),
        ("API_KEY", True),
        ("secret_key", True),
        ("SLACK_WEBHOOK_URL", True),
        ("ROOT_URL", False),
        ("TOKEN_TTL", False),
        ("PATH", False),
        ("cookie_secure", False),
        ("CREDENTIALS", True),
        ("PRIVATE_KEY", True),
    ],
)
def test_secret_names(name: str, secret: bool) -> None:
    assert is_secret_name(name) is secret


@pytest.mark.parametrize(
    ("name", "parts"),
    [
        ("GF_SECURITY_ADMIN_PASSWORD", ["gf", "security", "admin", "password"]),
        ("basicAuthPassword", ["basic", "auth", "password"]),
        ("--web.config.file", ["web", "config", "file"]),
        ("httpHeaderValue1", ["http", "header", "value1"]),
        ("APIKey", ["apikey"]),
        ("s3Bucket", ["s3", "bucket"]),
        ("API_\u212aEY", ["api", "ey"]),  # a KELVIN SIGN is no k
        ("PÄSSWORD", ["p", "ssword"]),
        ("", []),
    ],
)
def test_words(name: str, parts: list[str]) -> None:
    assert words(name) == parts
