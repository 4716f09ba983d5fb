"""Render one environment's whole tree (pure): Stack + referenced files -> Bundle."""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from beast_observatory.bundle.bundle import Bundle, canonical_json, key_ordered, sha256, yaml_file
from beast_observatory.render.compose import render_compose
from beast_observatory.render.grafana import ini_env_references, render_grafana
from beast_observatory.render.prometheus import HEADER, render_prometheus, web_config
from beast_observatory.spec.resolve import Stack

# alertmanager.yml's sections and a route's keys in the order of Alertmanager's documentation.
ALERTMANAGER_KEY_ORDER = (
    "global",
    "templates",
    "route",
    "receivers",
    "inhibit_rules",
    "time_intervals",
    "name",
    "receiver",
    "group_by",
    "matchers",
    "continue",
)
DEFAULT_ALERTMANAGER_CONFIG: dict[str, Any] = {
    "route": {"receiver": "default", "group_by": ["alertname", "job"]},
    "receivers": [{"name": "default"}],
}


# ${VAR}, ${VAR:-default}, ${VAR:?message} and $VAR; `$$` is an escaped dollar.
_COMPOSE_VARIABLE = re.compile(r"(?<!\$)\$(?:\{([A-Za-z_][A-Za-z0-9_]*)|([A-Za-z_][A-Za-z0-9_]*))")


def _environment_values(stack: Stack) -> list[str]:
    s = stack.services
    values: list[str] = []
    for name in ("prometheus", "pushgateway", "grafana", "alertmanager", "node_exporter"):
        svc = getattr(s, name)
        if svc.enabled:
            values += svc.environment.values()
    for fragment in s.extra.values():
        env = fragment.get("environment") or {}
        values += [str(v) for v in (env.values() if isinstance(env, dict) else env)]
    return values


def secret_variables(stack: Stack) -> list[str]:
    """Names of the variables the stack reads from .env at deploy time: secrets by reference."""
    names: set[str] = set()
    g = stack.services.grafana
    if g.enabled:
        names.update([g.admin_password.env] if g.admin_password.env else [])
        names.update(ini_env_references(g))
    for value in _environment_values(stack):
        names.update(a or b for a, b in _COMPOSE_VARIABLE.findall(value))
    for name in ("prometheus", "pushgateway", "alertmanager"):
        svc = getattr(stack.services, name)
        if svc.enabled and svc.web_auth is not None and svc.web_auth.password_hash_env:
            names.add(svc.web_auth.password_hash_env)
    return sorted(names)


def render_env_example(stack: Stack) -> bytes:
    lines = [
        "# Secrets this stack needs at deploy time: copy to .env next to docker-compose.yml",
        "# and fill in the values. Never commit .env; beast-observatory never writes it.",
    ]
    lines += [f"{name}=" for name in secret_variables(stack)]
    return ("\n".join(lines) + "\n").encode()


def _alertmanager_files(stack: Stack, assets: Mapping[str, bytes]) -> dict[str, bytes]:
    am = stack.services.alertmanager
    if am.config_path is not None:
        config = assets[am.config_path]
    else:
        config = yaml_file(
            key_ordered(am.config or DEFAULT_ALERTMANAGER_CONFIG, ALERTMANAGER_KEY_ORDER), HEADER
        )
    files = {"alertmanager/alertmanager.yml": config}
    if am.web_auth and (web := web_config(am.web_auth)):
        files["alertmanager/web.yml"] = web
    return files


def stack_fingerprint(stack: Stack, assets: Mapping[str, bytes]) -> str:
    """Hash of everything the environment's output depends on, independent of key order."""
    data = {
        "project": stack.project,
        "environment": stack.environment.model_dump(mode="json"),
        "services": stack.services.model_dump(mode="json", by_alias=True),
        "networks": {k: v.model_dump(mode="json") for k, v in stack.networks.items()},
        "assets": {k: sha256(v) for k, v in sorted(assets.items())},
    }
    return sha256(canonical_json(data))


def render_stack(
    stack: Stack, assets: Mapping[str, bytes], matches: Mapping[str, tuple[str, ...]]
) -> Bundle:
    s = stack.services
    files: dict[str, bytes] = {}
    if s.prometheus.enabled:
        files.update(render_prometheus(stack, assets))
    if (
        s.pushgateway.enabled
        and s.pushgateway.web_auth
        and (web := web_config(s.pushgateway.web_auth))
    ):
        files["pushgateway/web.yml"] = web
    if s.grafana.enabled:
        files.update(render_grafana(stack, assets, matches))
    if s.alertmanager.enabled:
        files.update(_alertmanager_files(stack, assets))
    files["docker-compose.yml"] = render_compose(stack, files)
    files[".env.example"] = render_env_example(stack)
    wanted = _used_assets(stack, matches)
    used = {k: v for k, v in assets.items() if k in wanted}
    return Bundle(
        project=stack.project,
        environment=stack.env_name,
        spec_sha256=stack_fingerprint(stack, used),
        files=dict(sorted(files.items())),
        # No generated file holds a secret in clear: web.yml carries bcrypt hashes only, and
        # must stay readable by the image's user (nobody), so nothing here needs mode 0600.
        secret_files=frozenset(),
    )


def _used_assets(stack: Stack, matches: Mapping[str, tuple[str, ...]]) -> set[str]:
    s = stack.services
    refs = {r.path for r in s.prometheus.rule_files if r.path} if s.prometheus.enabled else set()
    if s.grafana.enabled:
        refs.update(f for p in s.grafana.dashboards for f in p.files)
    if s.alertmanager.enabled and s.alertmanager.config_path:
        refs.add(s.alertmanager.config_path)
    return {path for ref in refs if ref is not None for path in matches.get(ref, (ref,))}
