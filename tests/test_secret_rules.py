"""THE rule set of what is a secret (secret_rules.py): one table of names that are and are
not secrets, as the checks, export and plan masking judge them."""

from __future__ import annotations

import pytest

from beast_observatory.secret_rules import is_reference, is_secret_name, url_password, words

SECRETS = [
    # environment variables
    "GF_SECURITY_ADMIN_PASSWORD", "POSTGRES_PASSWORD", "MYSQL_ROOT_PASSWORD", "API_TOKEN",
    "SSH_KEY", "AWS_SECRET_ACCESS_KEY", "GITHUB_TOKEN", "DB_PASS", "SMTP_PASSWD",
    "CLIENT_CREDENTIALS", "OBSERVATORY_API_KEY", "TOKENS", "SMTPPASSWORD", "mysecrets",
    "API_KEY", "SLACK_WEBHOOK_URL", "CREDENTIALS", "PRIVATE_KEY",
    # configuration keys, snake_case and camelCase
    "smtp_auth_password", "smtp_auth_secret", "slack_api_url", "webhook_url", "routing_key",
    "service_key", "bot_token", "api_key", "apiKey", "opsgenie_api_key", "user_key", "token",
    "credentials", "client_secret", "bearer_token", "secret_key", "basicAuthPassword",
    "httpHeaderValue1", "Authorization", "privateKey", "private_key", "access_key",
    "secretKey", "password",
    # flags and dotted names
    "--web.secret", "vault.token", "auth.password",
    # "pass" after anything but a proxy's word
    "db_pass", "pass", "admin_pass",
]  # fmt: skip
NOT_SECRETS = [
    # a file, a path, a name of the secret, or something about it
    "smtp_auth_password_file", "slack_api_url_file", "bot_token_file", "credentials_file",
    "key_file", "password_file", "GF_SECURITY_ADMIN_PASSWORD__FILE", "PASSWORD_FILE",
    "token_url", "tokenUri", "secret_name", "password_hash", "PASSWORD_HASH_ENV",
    "token_ttl", "password_min_length", "key_type", "auth_username", "httpHeaderName1",
    "access_key_id", "token_expiry", "api_key_header",
    # words inside other words
    "monkey", "MONKEY", "keyboard", "passage", "compass",
    # plain settings
    "api_url", "url", "type", "keepCookies", "resolve_timeout", "GF_LOG_LEVEL", "PATH",
    "HOSTNAME", "user", "", "__", "ROOT_URL", "TOKEN_TTL", "cookie_secure",
    # a proxy's directive to pass requests on (nginx), not a password
    "proxy_pass", "fastcgi_pass", "uwsgi_pass", "grpc_pass", "proxy_pass_request_body",
]  # fmt: skip


@pytest.mark.parametrize("name", SECRETS)
def test_a_secret(name: str) -> None:
    assert is_secret_name(name)


@pytest.mark.parametrize("name", NOT_SECRETS)
def test_not_a_secret(name: str) -> None:
    assert not is_secret_name(name)


@pytest.mark.parametrize("name", ["TOKENIZER_MODEL", "secretary", "passwordless_login"])
def test_a_long_secret_word_inside_a_word_errs_on_hiding(name: str) -> None:
    """Glued names (SMTPPASSWORD) are common: a long secret word counts inside a word too,
    which hides a few values that are none rather than show one that is."""
    assert is_secret_name(name)


def test_names_are_read_word_by_word() -> None:
    assert words("GF_SECURITY_ADMIN_PASSWORD") == ["gf", "security", "admin", "password"]
    assert words("basicAuthPassword") == ["basic", "auth", "password"]
    assert words("--web.config.file") == ["web", "config", "file"]
    assert words("httpHeaderValue1") == ["http", "header", "value1"]


@pytest.mark.parametrize(
    "value",
    [
        "", "${VAR}", "${VAR:-}", "${VAR-}", "${VAR:?set it}", "$VAR", "$__env{VAR}",
        "$__file{/run/secrets/x}", "$__vault{kv/x}", "<redacted>",
        "<redacted sha256:0123456789ab>", "<secret>", "FILL-IN-SECRET-0123456789ab",
        "FILL-IN-SECRET-unknown",
    ],
)  # fmt: skip
def test_references_point_at_a_secret_instead_of_holding_it(value: str) -> None:
    assert is_reference(value)


@pytest.mark.parametrize(
    "value",
    # ${VAR:-value}: whenever VAR is unset, the default is the value itself
    ["hunter2", "prefix-${VAR}", "$", "${VAR} and more", "${VAR:-hunter2}", "${VAR-x}", 1234, None],
)
def test_everything_else_holds_the_value(value: object) -> None:
    assert not is_reference(value)


@pytest.mark.parametrize(
    ("value", "password"),
    [
        ("https://u:pw@host/x", "pw"),
        ("mysql://grafana:DbPassw0rd@db:3306/grafana", "DbPassw0rd"),
        ("http://bot:${HOOK_PASSWORD}@hooks/x", None),
        ("http://user@host/x", None),
        ("https://host:8443/path", None),
    ],
)
def test_the_password_of_a_urls_userinfo(value: str, password: str | None) -> None:
    assert url_password(value) == password


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
