"""Files a service writes inside its own container when it starts, from the host's .env:
its web config when the bcrypt hash lives in .env, and the secrets its configuration reads
from files (pure).

A small shell entrypoint writes them, then execs the server with the compose command as its
arguments (the upstream images carry busybox sh). `$$` below is compose's escape for a `$`
that reaches the shell.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from beast_observatory.kinds.secretfiles import SECRETS_DIR, secret_writes
from beast_observatory.kinds.webauth import RUNTIME_WEB_CONFIG
from beast_observatory.spec.types import SecretRef, WebAuth


def _required(variable: str, what: str) -> str:
    return f"${{{variable}:?set {variable} ({what}) in the .env file next to docker-compose.yml}}"


def runtime_entrypoint(
    binary: str, auth: WebAuth | None, secrets: Mapping[str, SecretRef]
) -> tuple[dict[str, Any], dict[str, str]]:
    """(compose keys, environment) of a service that writes files at start; ({}, {}) when
    it writes none."""
    steps: list[str] = []
    env: dict[str, str] = {}
    if auth is not None and auth.password_hash_env is not None:
        env["OBSERVATORY_WEB_USER"] = auth.username
        env["OBSERVATORY_WEB_PASSWORD_HASH"] = _required(
            auth.password_hash_env, "the bcrypt hash, in single quotes"
        )
        steps.append(
            'printf \'basic_auth_users:\\n  %s: "%s"\\n\' "$$OBSERVATORY_WEB_USER" '
            f'"$$OBSERVATORY_WEB_PASSWORD_HASH" > {RUNTIME_WEB_CONFIG}'
        )
    writes = secret_writes(secrets)
    if writes:
        steps.append(f"mkdir -p {SECRETS_DIR}")
    for path, inner, variable in writes:
        env[inner] = _required(variable, "a secret the configuration reads from a file")
        steps.append(f"printf '%s' \"$${inner}\" > {path}")
    if not steps:
        return {}, {}
    script = "umask 077 && " + " && ".join(steps) + f' && exec /bin/{binary} "$$@"'
    return {"entrypoint": ["/bin/sh", "-c", script, binary]}, env
