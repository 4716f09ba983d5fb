"""The stack's secrets as Swarm secrets (pure).

In a compose project a secret from the host's .env reaches its service as a variable (a
small entrypoint writes the files Prometheus and Alertmanager read). A Swarm task may run on
any node, where neither .env nor a host file exists: each secret becomes a Swarm secret,
created on the manager from .env (or from the host file) when the stack is deployed, and
mounted where the service reads it. Its name carries the first 12 hex digits of the value's
sha256, computed on the host (swarm/scripts/secrets.sh): the value never leaves the host,
and a changed value is a new secret, so the services that read it get new tasks.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from beast_observatory.kinds.entrypoint import runtime_entrypoint
from beast_observatory.kinds.secretfiles import secret_mounts, secret_path
from beast_observatory.kinds.service import KindParts
from beast_observatory.spec.resolve import Stack
from beast_observatory.spec.types import SecretRef
from beast_observatory.swarm.names import SECRETS_DIR, name_prefix, secret_variable

# The .env variable a secret is made of, beside it in the stack file.
FROM_ENV = "x-observatory-env"
GRAFANA_PASSWORD_TARGET = "/run/secrets/gf_security_admin_password"  # noqa: S105 - a path
GRAFANA_PASSWORD_ENV = "GF_SECURITY_ADMIN_PASSWORD"  # noqa: S105 - a variable's name


@dataclass(frozen=True)
class SwarmSecret:
    key: str  # the stack file's key: grafana-admin-password, prometheus-<name>...
    service: str  # the compose service that reads it
    target: str  # where it is mounted in the service's containers
    ref: SecretRef

    @property
    def variable(self) -> str:
        """Set by the deploy script to the secret's name."""
        return secret_variable(self.key)

    def stack_entry(self) -> dict[str, str]:
        """The stack file's secret: its name is set when deploying, after its value's hash."""
        if self.ref.file:
            return {"name": f"${{{self.variable}}}", "file": self.ref.file}
        file = f"./{SECRETS_DIR}/{self.key}"
        return {"name": f"${{{self.variable}}}", "file": file, FROM_ENV: str(self.ref.env)}


def stack_secrets(stack: Stack) -> list[SwarmSecret]:
    s = stack.services
    out: list[SwarmSecret] = []
    if s.grafana.enabled and s.grafana.admin_password is not None:
        name = stack.service_name("grafana")
        out.append(
            SwarmSecret(
                "grafana-admin-password", name, GRAFANA_PASSWORD_TARGET, s.grafana.admin_password
            )
        )
    for key in ("prometheus", "alertmanager"):
        svc = getattr(s, key)
        if not svc.enabled:
            continue
        for secret, ref in sorted(svc.secrets.items()):
            out.append(
                SwarmSecret(f"{key}-{secret}", stack.service_name(key), secret_path(secret), ref)
            )
    return out


def host_arguments(project: str, stack_file: Mapping[str, Any]) -> list[str]:
    """What secrets.sh takes for each secret of a stack file: KEY PREFIX VARIABLE KIND SOURCE."""
    out: list[str] = []
    for key, declared in sorted((stack_file.get("secrets") or {}).items()):
        entry = declared or {}
        if FROM_ENV in entry:
            kind, source = "env", str(entry[FROM_ENV])
        else:
            kind, source = "file", str(entry.get("file") or "")
        out += [str(key), name_prefix(project, str(key)), secret_variable(str(key)), kind, source]
    return out


def without_runtime_secrets(stack: Stack, key: str, parts: KindParts) -> KindParts:
    """The kind's parts less what hands its secrets over in a compose project (the runtime
    entrypoint's variables and files, host files mounted, Grafana's password variable):
    Swarm mounts secrets instead."""
    from dataclasses import replace  # noqa: PLC0415

    svc = stack.kind(key)
    if key == "grafana":
        env = {k: v for k, v in parts.environment.items() if not k.startswith(GRAFANA_PASSWORD_ENV)}
        if stack.services.grafana.admin_password is not None:
            env[f"{GRAFANA_PASSWORD_ENV}__FILE"] = GRAFANA_PASSWORD_TARGET
        mounts = [m for m in parts.mounts if not m.endswith(f":{GRAFANA_PASSWORD_TARGET}:ro")]
        return replace(parts, environment=env, mounts=mounts)
    secrets = getattr(svc, "secrets", None)
    if not secrets:
        return parts
    binary = "prometheus" if key == "prometheus" else "alertmanager"
    extra, env = runtime_entrypoint(binary, None, secrets)
    web_extra, _ = runtime_entrypoint(binary, getattr(svc, "web_auth", None), {})
    keep_extra = {k: v for k, v in parts.extra.items() if k not in extra or k in web_extra}
    return replace(
        parts,
        environment={k: v for k, v in parts.environment.items() if k not in env},
        extra=keep_extra,
        mounts=[m for m in parts.mounts if m not in secret_mounts(secrets)],
    )
