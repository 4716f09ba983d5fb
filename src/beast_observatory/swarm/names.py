"""Names Swarm knows the stack's objects by (pure).

Swarm configs and secrets are immutable: a file whose content changed cannot be updated in
place, so each one is named after its content, ``<project>_<file>_<sha12>``, and a change
creates a new one (the services that mount it get their tasks replaced). Docker allows 64
characters of ``[a-zA-Z0-9-_.]`` in such a name: a long file part keeps its end.
"""

from __future__ import annotations

import re

from beast_observatory.bundle.bundle import sha256

STACK_FILE = "docker-stack.yml"
STACK_VERSION = "3.8"  # configs with name:, x- keys on services; docker 19.03 and later
NAMESPACE_LABEL = "com.docker.stack.namespace"
SERVICE_NAME_LABEL = "com.docker.swarm.service.name"
SECRETS_DIR = ".secrets"  # in the deploy directory: secrets from .env, written at deploy time
SECRET_VARIABLE_PREFIX = "OBSERVATORY_SECRET_"  # noqa: S105 - a variable's name
MAX_NAME = 64
HASH_CHARS = 12
_INVALID = re.compile(r"[^a-zA-Z0-9_.-]+")


def file_part(path: str) -> str:
    """``prometheus/rules/alerts.yml`` -> ``prometheus-rules-alerts.yml``."""
    return _INVALID.sub("-", path.replace("/", "-")).strip("-._") or "file"


def _shortened(path: str, room: int) -> str:
    """The path's file part in room characters: whole, else its first folder and its name
    (``prometheus/rules/a.yml`` -> ``prometheus-a.yml``), else its name, else the name's end."""
    parts = path.split("/")
    for candidate in (path, f"{parts[0]}/{parts[-1]}", parts[-1]):
        if len(part := file_part(candidate)) <= room:
            return part
    return file_part(parts[-1])[-room:].lstrip("-._") or "f"


def name_prefix(project: str, key: str) -> str:
    """``<project>_<key>_``, the key shortened to leave room for the hash."""
    return f"{project}_{_shortened(key, MAX_NAME - len(project) - 2 - HASH_CHARS)}_"


def config_name(project: str, path: str, data: bytes) -> str:
    """The Swarm config holding the bundle file ``path``."""
    return name_prefix(project, path) + sha256(data)[:HASH_CHARS]


def service_name(project: str, service: str) -> str:
    """What ``docker stack deploy`` names a service of the stack."""
    return f"{project}_{service}"


def secret_variable(key: str) -> str:
    """The variable the deploy script sets to a secret's name (computed on the host)."""
    return SECRET_VARIABLE_PREFIX + re.sub(r"[^A-Z0-9]", "_", key.upper())
