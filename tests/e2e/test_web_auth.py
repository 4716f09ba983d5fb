"""Basic auth whose bcrypt hash comes from the host's .env (never from the spec, never in a
generated file): the service refuses anonymous requests and accepts the password."""

from __future__ import annotations

import base64
import urllib.error
import urllib.request

import bcrypt
import pytest

from .conftest import StackFactory

pytestmark = pytest.mark.e2e

PASSWORD = "e2e-web-password"


def status_of(url: str, *, auth: str | None = None) -> int:
    request = urllib.request.Request(url)  # noqa: S310 - http on our own loopback port
    if auth:
        request.add_header("Authorization", "Basic " + base64.b64encode(auth.encode()).decode())
    try:
        with urllib.request.urlopen(request, timeout=10) as answer:  # noqa: S310 - our loopback port
            return int(answer.status)
    except urllib.error.HTTPError as exc:
        return exc.code


def test_pushgateway_behind_basic_auth_from_an_env_hash(make_stack: StackFactory) -> None:
    hashed = bcrypt.hashpw(PASSWORD.encode(), bcrypt.gensalt(rounds=4)).decode()
    stack = make_stack(
        {"pushgateway": {"web_auth": {"username": "beast", "password_hash_env": "PG_WEB_HASH"}}},
        name="webauth",
    )
    built = stack.cli("build")
    assert built.exit_code == 0, built.explain()
    generated = stack.directory / "generated" / "local"
    assert not (generated / "pushgateway" / "web.yml").exists()
    assert "PG_WEB_HASH=" in (generated / ".env.example").read_text()
    assert hashed not in "".join(p.read_text() for p in generated.rglob("*") if p.is_file())

    up = stack.cli("up", "--timeout", "90", env={"PG_WEB_HASH": hashed})
    assert up.exit_code == 0, up.explain()
    url = stack.url("pushgateway") + "/api/v1/status"
    assert status_of(url) == 401
    assert status_of(url, auth=f"beast:{PASSWORD}") == 200
    assert status_of(url, auth="beast:wrong") == 401


def test_up_without_the_hash_variable_says_which_to_set(make_stack: StackFactory) -> None:
    stack = make_stack(
        {"pushgateway": {"web_auth": {"username": "beast", "password_hash_env": "PG_WEB_HASH"}}},
        name="webauth-missing",
    )
    up = stack.cli("up", "--timeout", "30")
    assert up.exit_code == 1
    assert "PG_WEB_HASH" in up.stderr
    assert "Traceback" not in up.output
