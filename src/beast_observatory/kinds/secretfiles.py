"""Secrets that Prometheus and Alertmanager read from files (password_file, api_url_file...),
and where those files come from: a variable of the host's .env, written inside the container
at start, or a file on the host, mounted read-only (pure).

Prometheus and Alertmanager expand no variables in their configuration: a secret is either in
the file in clear (never, here) or in a file of its own that the configuration names. So the
spec names each secret (``secrets: {slack-api-url: {env: SLACK_API_URL}}``), the
configuration refers to ``/tmp/observatory-secrets/<name>``, and a small shell entrypoint
writes the value there before it starts the server (upstream images carry busybox sh). The
value is in the container's environment, as any compose secret from .env is.

Export turns a secret the probe redacted into the same form (``api_url: <redacted>`` ->
``api_url_file: /tmp/observatory-secrets/api-url``), so a taken-over stack keeps working once
``observatory secrets set`` has put the value in the new .env.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from beast_observatory.secret_rules import words
from beast_observatory.spec.types import SecretRef

SECRETS_DIR = "/tmp/observatory-secrets"  # noqa: S108 - inside the container, written per start
_MARKER = re.compile(r"^<redacted(?: sha256:[0-9a-f]{12})?>$")
# Keys whose value has a *_file twin in Prometheus' and Alertmanager's configuration.
FILE_FORMS = frozenset(
    {
        "password", "credentials", "client_secret", "bearer_token", "key", "slack_api_url",
        "smtp_auth_password", "auth_password", "routing_key", "service_key", "api_key",
        "opsgenie_api_key", "victorops_api_key", "bot_token", "token", "user_key",
        "webhook_url", "telegram_bot_token",
    }
)  # fmt: skip
# api_url holds a secret only in a Slack receiver; elsewhere it is a base URL.
_API_URL_WITH_FILE = ("slack_configs",)


def file_form(path: tuple[str | int, ...]) -> str | None:
    """The *_file key for the secret at path, when the tool reads it from a file."""
    key = str(path[-1]) if path else ""
    if key == "api_url" and any(p in _API_URL_WITH_FILE for p in path):
        return "api_url_file"
    return f"{key}_file" if key in FILE_FORMS else None


def secret_path(name: str) -> str:
    return f"{SECRETS_DIR}/{name}"


def _label(doc: Any, path: tuple[str | int, ...]) -> str:
    """What the secret belongs to: the nearest job_name or name along path (a scrape job, a
    receiver, a remote_write endpoint), else the section it is in."""
    found, node = "", doc
    for part in path[:-1]:
        if isinstance(node, dict):
            node = node.get(part)
        elif isinstance(node, list) and isinstance(part, int) and part < len(node):
            node = node[part]
        else:
            node = None
        if isinstance(node, dict):
            found = str(node.get("job_name") or node.get("name") or found)
    return found or (str(path[0]) if path else "")


def _name_for(doc: Any, path: tuple[str | int, ...], taken: Mapping[str, Any]) -> str:
    """A name for the secret at path: webhook-basic-auth-password, node-basic-auth-password."""
    keys = [str(p) for p in path if isinstance(p, str)][-2:]
    parts: list[str] = []
    for word in [*words(_label(doc, path)), *(w for k in keys for w in words(k))]:
        if word not in parts and word not in ("configs", "config"):
            parts.append(word)
    base = "-".join(parts) or "secret"
    name, n = base, 2
    while name in taken:
        name, n = f"{base}-{n}", n + 1
    return name


def _variable(prefix: str, name: str) -> str:
    return re.sub(r"[^A-Z0-9]", "_", f"{prefix}_{name}".upper())


def carry(
    value: Any,
    secrets: dict[str, str],
    prefix: str,
    at: tuple[str | int, ...] = (),
    root: Any = None,
) -> Any:
    """value with every redacted secret that has a *_file form turned into that form;
    secrets gets name -> the variable of the host's .env that will hold it."""
    root = value if root is None else root
    if isinstance(value, dict):
        out: dict[str, Any] = {}
        for key, child in value.items():
            path = (*at, str(key))
            form = file_form(path)
            if isinstance(child, str) and _MARKER.match(child) and form is not None:
                name = _name_for(root, path, secrets)
                secrets[name] = _variable(prefix, name)
                out[form] = secret_path(name)
            else:
                out[key] = carry(child, secrets, prefix, path, root)
        return out
    if isinstance(value, list):
        return [carry(v, secrets, prefix, (*at, i), root) for i, v in enumerate(value)]
    return value


def _redacted_with_file_form(
    node: Any, at: tuple[str | int, ...], found: list[tuple[tuple[str | int, ...], str]]
) -> None:
    """(path, its *_file key) of every redacted value that has a *_file form."""
    if isinstance(node, dict):
        for k, v in node.items():
            path = (*at, str(k))
            if isinstance(v, str) and _MARKER.match(v) and file_form(path):
                found.append((path, str(file_form(path))))
            else:
                _redacted_with_file_form(v, path, found)
    elif isinstance(node, list):
        for i, v in enumerate(node):
            _redacted_with_file_form(v, (*at, i), found)


def carry_text(text: str, secrets: dict[str, str], prefix: str) -> str:
    """A YAML file's text with each redacted secret line that has a *_file form rewritten
    (`api_url: "<redacted ...>"` -> `api_url_file: /tmp/observatory-secrets/...`); comments
    and layout stay as they were."""
    from beast_observatory.yamlio import YamlError, load_yaml, locate  # noqa: PLC0415

    try:
        doc = load_yaml(text, "config")
    except YamlError:
        return text
    found: list[tuple[tuple[str | int, ...], str]] = []
    _redacted_with_file_form(doc, (), found)
    lines = text.splitlines(keepends=True)
    for path, form in found:
        pos = locate(text, list(path))
        if pos is None:
            continue
        line = lines[pos.line - 1]
        key = str(path[-1])
        pattern = re.compile(rf"^(\s*(?:-\s+)?)([\"']?){re.escape(key)}\2(\s*:\s*).*?(\s*)$", re.S)
        match = pattern.match(line)
        if match is None:
            continue
        name = _name_for(doc, path, secrets)
        secrets[name] = _variable(prefix, name)
        end = "\n" if line.endswith("\n") else ""
        lines[pos.line - 1] = f"{match.group(1)}{form}{match.group(3)}{secret_path(name)}{end}"
    return "".join(lines)


def secret_mounts(secrets: Mapping[str, SecretRef]) -> list[str]:
    """Host files mounted read-only where the configuration reads them."""
    return [
        f"{ref.file}:{secret_path(name)}:ro" for name, ref in sorted(secrets.items()) if ref.file
    ]


def secret_writes(secrets: Mapping[str, SecretRef]) -> list[tuple[str, str, str]]:
    """(file in the container, variable the container gets, variable of the host's .env) of
    each secret that comes from .env."""
    return [
        (
            secret_path(name),
            re.sub(r"[^A-Z0-9]", "_", f"OBSERVATORY_SECRET_{name}".upper()),
            ref.env,
        )
        for name, ref in sorted(secrets.items())
        if ref.env
    ]


# `printf '%s' "$OBSERVATORY_SECRET_X" > /tmp/observatory-secrets/<name>` in a container's
# entrypoint (`$$` in the compose file): the runtime entrypoint of kinds/entrypoint.py.
_WRITE = re.compile(r"printf '%s' \"\$\$?(\w+)\" > " + re.escape(SECRETS_DIR) + r"/([\w.-]+)")


def runtime_secrets(entrypoint: tuple[str, ...], written_env: Mapping[str, Any]) -> dict[str, str]:
    """name -> the variable of the host's .env, for each secret file the tool's entrypoint
    writes (the inverse of secret_writes); written_env is the compose file's environment."""
    from beast_observatory.discover.context import reference_name  # noqa: PLC0415

    out = {}
    for inner, name in _WRITE.findall(" ".join(entrypoint)):
        if variable := reference_name(written_env.get(inner)):
            out[name] = variable
    return out
