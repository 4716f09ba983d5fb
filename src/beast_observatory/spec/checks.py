"""Checks across files and environments, beyond what the schema can say (pure).

Each check returns ``Problem``s that carry the path inside the spec they are about, so the
caller can name the file, line and column (``bundle/compile.py``). An error is what
Prometheus, Grafana or compose would reject, or what would lose data; the tool's own
preferences are warnings with a hint (``validate --strict`` makes them errors).
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any, Literal

from beast_observatory.secret_rules import (
    is_reference,
    is_secret_key,
    is_secret_name,
    url_password,
)
from beast_observatory.spec.resolve import Stack

SpecPath = tuple[str | int, ...]
Severity = Literal["error", "warning"]


@dataclass(frozen=True)
class Problem:
    """What is wrong (``message``) with the value at ``path`` of an environment's services."""

    path: SpecPath
    message: str
    severity: Severity = "error"
    hint: str | None = None


def warning(path: SpecPath, message: str, hint: str | None = None) -> Problem:
    return Problem(path, message, "warning", hint)


def dotted(path: SpecPath) -> str:
    """('services', 'extra', 'db', 'ports', 0) -> 'services.extra.db.ports[0]'."""
    out = ""
    for part in path:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else part)
    return out


# ----------------------------------------------------------------- ports and names


def host_port(entry: Any) -> int | None:
    """The host port of a compose ports entry ("127.0.0.1:9090:9090", {published: 9090})."""
    if isinstance(entry, dict):
        published = entry.get("published")
        return int(published) if published is not None and str(published).isdigit() else None
    parts = str(entry).split("/")[0].split(":")
    if len(parts) >= 2 and parts[-2].isdigit():  # noqa: PLR2004 - HOST:CONTAINER
        return int(parts[-2])
    return None


def _published_ports(stack: Stack) -> Iterator[tuple[SpecPath, int]]:
    for key in stack.enabled_kinds():
        svc = stack.kind(key)
        if svc.ports is not None:
            for i, entry in enumerate(svc.ports):
                if (port := host_port(entry)) is not None:
                    yield ("services", key, "ports", i), port
        elif svc.publish and svc.port is not None:
            yield ("services", key, "port"), svc.port
    for name, fragment in sorted(stack.services.extra.items()):
        for i, entry in enumerate(fragment.get("ports") or []):
            if (port := host_port(entry)) is not None:
                yield ("services", "extra", name, "ports", i), port


def check_ports(stack: Stack) -> list[Problem]:
    seen: dict[int, SpecPath] = {}
    problems = []
    for where, port in _published_ports(stack):
        if port in seen:
            problems.append(
                Problem(
                    where,
                    f"host port {port} is already used by {dotted(seen[port])}",
                    hint="give one of them another port (environments.<env>.services overrides "
                    "it for one environment only)",
                )
            )
        seen.setdefault(port, where)
    return problems


def duplicates(
    at: SpecPath, key: str, values: list[str], taken: Mapping[str, str]
) -> list[Problem]:
    """A problem for each entry of a list whose `key` repeats an earlier one (or a taken value)."""
    seen = dict(taken)
    problems = []
    for i, value in enumerate(values):
        if value in seen:
            problems.append(
                Problem((*at, i, key), f"{key} {value!r} is already used by {seen[value]}")
            )
        seen.setdefault(value, f"{dotted(at)}[{i}]")
    return problems


def check_service_names(stack: Stack) -> list[Problem]:
    """Two services of one name would be one compose service: the second replaces the first."""
    seen: dict[str, str] = {}
    problems = []
    for key in stack.enabled_kinds():
        name = stack.service_name(key)
        if name in seen:
            problems.append(
                Problem(
                    ("services", key, "service_name"), f"service name {name!r} is also {seen[name]}"
                )
            )
        seen.setdefault(name, f"services.{key}")
    for name in sorted(stack.services.extra):
        if name in seen:
            problems.append(
                Problem(
                    ("services", "extra", name),
                    f"service name {name!r} is also {seen[name]}",
                    hint="rename the extra service, or give the other one a service_name",
                )
            )
    return problems


# ----------------------------------------------------------------- networks and volumes


def _service_networks(stack: Stack) -> Iterator[tuple[SpecPath, str]]:
    for key in stack.enabled_kinds():
        for name in stack.kind(key).network_names():
            yield ("services", key, "networks"), name
    for svc, fragment in sorted(stack.services.extra.items()):
        networks = fragment.get("networks") or []
        if fragment.get("network_mode"):
            continue
        for name in sorted(networks) if isinstance(networks, dict | list) else []:
            yield ("services", "extra", svc, "networks"), str(name)


def _named_volumes(entries: list[Any]) -> Iterator[str]:
    for entry in entries:
        if isinstance(entry, str):
            source, sep, _ = entry.partition(":")
            if sep and source and not source.startswith((".", "/", "~", "$")):
                yield source
        elif isinstance(entry, dict) and entry.get("type") == "volume" and entry.get("source"):
            yield str(entry["source"])


def check_networks_and_volumes(stack: Stack) -> list[Problem]:
    """compose refuses a service on a network, or a named volume, the file does not declare."""
    problems = []
    for where, name in _service_networks(stack):
        if name not in stack.networks:
            problems.append(
                Problem(
                    where,
                    f"network {name!r} is not declared",
                    hint=f"add it under the top-level networks ({name}: {{}}), or external: true "
                    "for a network made outside the stack",
                )
            )
    used: list[tuple[SpecPath, list[Any]]] = [
        (("services", k, "volumes"), list(stack.kind(k).volumes)) for k in stack.enabled_kinds()
    ]
    used += [
        (("services", "extra", n, "volumes"), f.get("volumes") or [])
        for n, f in sorted(stack.services.extra.items())
    ]
    for where, entries in used:
        for name in _named_volumes(list(entries)):
            if name not in stack.volumes and not _is_data_volume(stack, name):
                problems.append(
                    Problem(
                        where,
                        f"named volume {name!r} is not declared",
                        hint=f"add it under the top-level volumes ({name}: {{}})",
                    )
                )
    return problems


def _is_data_volume(stack: Stack, name: str) -> bool:
    for key in stack.enabled_kinds():
        data = stack.kind(key).data
        default = f"{stack.service_name(key)}-data"
        if data is not None and not data.path and (data.volume or default) == name:
            return True
    return False


# ----------------------------------------------------------------- secrets


def config_secrets(
    value: object, at: SpecPath = (), *, secret: bool = False
) -> Iterator[tuple[SpecPath, str]]:
    """(path, why) of every literal secret in a configuration tree: a non-reference value under
    a secret key (a Slack receiver's api_url too), a URL with a password."""
    if isinstance(value, dict):
        for key, child in value.items():
            name = str(key)
            is_secret = is_secret_key(name, at)
            yield from config_secrets(child, (*at, name), secret=is_secret)
    elif isinstance(value, list):
        for i, child in enumerate(value):
            yield from config_secrets(child, (*at, i), secret=secret)
    elif secret and _literal(value):
        yield at, "holds a literal secret"
    elif isinstance(value, str) and url_password(value):
        yield at, "holds a URL with a literal password (scheme://user:PASSWORD@host)"


def _literal(value: object) -> bool:
    """A value given in clear: a string that is no reference, or a number (bools are flags)."""
    if isinstance(value, bool) or value is None:
        return False
    if isinstance(value, str):
        return not is_reference(value)
    return True


def env_items(env: Any, where: SpecPath) -> Iterator[tuple[SpecPath, str, object]]:
    """(path, name, value) of an environment in either compose form."""
    if isinstance(env, dict):
        yield from (((*where, str(k)), str(k), v) for k, v in env.items())
    elif isinstance(env, list):
        for i, entry in enumerate(env):
            key, _, value = str(entry).partition("=")
            yield (*where, i), key, value


def secret_problem(where: SpecPath, *, fix: str) -> Problem:
    return Problem(where, "holds a literal secret", hint=fix)


ENV_FIX = "use a reference such as ${VAR} (set in .env on the host): `observatory secrets set VAR`"


def check_environment_secrets(stack: Stack) -> list[Problem]:
    problems = []
    for key in stack.enabled_kinds():
        for where, name, value in env_items(
            stack.kind(key).environment, ("services", key, "environment")
        ):
            if is_secret_name(name) and _literal(value):
                problems.append(secret_problem(where, fix=ENV_FIX))
    for svc, fragment in sorted(stack.services.extra.items()):
        where = ("services", "extra", svc, "environment")
        for path, name, value in env_items(fragment.get("environment") or {}, where):
            if is_secret_name(name) and _literal(value):
                problems.append(secret_problem(path, fix=ENV_FIX))
        for path, why in config_secrets(
            {k: v for k, v in fragment.items() if k not in ("environment", "healthcheck")},
            ("services", "extra", svc),
        ):
            problems.append(Problem(path, why, hint=ENV_FIX))
    return problems


# ----------------------------------------------------------------- compose's variables

# What compose substitutes in a compose file: `$$`, ${NAME...} and $NAME. Any other `$` is an
# "Invalid interpolation format" to it (Compose v1 at least).
_COMPOSE_DOLLAR = re.compile(
    r"\$(\$|\{[A-Za-z_][A-Za-z0-9_]*(?:(?::?[-?+])[^}]*)?\}|[A-Za-z_][A-Za-z0-9_]*)"
)


def _strings(value: object, at: SpecPath) -> Iterator[tuple[SpecPath, str]]:
    if isinstance(value, dict):
        for key, child in value.items():
            yield from _strings(child, (*at, str(key)))
    elif isinstance(value, list):
        for i, child in enumerate(value):
            yield from _strings(child, (*at, i))
    elif isinstance(value, str):
        yield at, value


def check_interpolation(stack: Stack) -> list[Problem]:
    """Values written into docker-compose.yml that compose cannot interpolate."""
    trees: list[tuple[SpecPath, object]] = []
    for key in stack.enabled_kinds():
        svc = stack.kind(key)
        for field in ("environment", "extra_flags", "compose", "volumes"):
            trees.append((("services", key, field), getattr(svc, field)))
        if svc.healthcheck is not None and svc.healthcheck.test is not None:
            trees.append((("services", key, "healthcheck", "test"), svc.healthcheck.test))
    trees += [(("services", "extra", n), f) for n, f in sorted(stack.services.extra.items())]
    return [
        Problem(
            path,
            "holds a `$` compose cannot read as a variable",
            hint="write $$ for a literal dollar, ${NAME} for a variable of the host's .env",
        )
        for at, tree in trees
        for path, text in _strings(tree, at)
        if "$" in _COMPOSE_DOLLAR.sub("", text)
    ]


_PLACEHOLDER = re.compile(rb"FILL-IN-SECRET-(?:[0-9a-f]{12}|unknown)")


def _referenced_at(stack: Stack, path: str) -> SpecPath:
    """Where the spec names a file beside it (the first string that does), else services."""
    tree = stack.services.model_dump(mode="json", by_alias=True, exclude_defaults=True)
    for at, text in _strings(tree, ("services",)):
        if path in text:
            return at
    return ("services",)


def check_placeholders(stack: Stack, assets: Mapping[str, bytes]) -> list[Problem]:
    """A file beside the spec that still holds an export's FILL-IN-SECRET placeholder: the
    service would read the placeholder where the host's file had a secret."""
    problems = []
    for path, data in sorted(assets.items()):
        found = sorted({m.decode() for m in _PLACEHOLDER.findall(data)})
        if found:
            problems.append(
                Problem(
                    _referenced_at(stack, path),
                    f"{path} holds {', '.join(found)}: a secret export could not carry "
                    "(it was redacted on the host)",
                    hint="point the setting at a file on the host (its *_file form), or put "
                    "the host's value back in a file that stays out of git",
                )
            )
    return problems
