"""What an environment with ``engine: swarm`` cannot do as written (pure): keys that
``docker stack deploy`` refuses (an error) or ignores (a warning: left out of the stack file),
a bad ``x-swarm``, a published address Swarm cannot bind, a web auth hash read at start."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from pydantic import ValidationError

from beast_observatory.spec.checks import Problem, SpecPath, warning
from beast_observatory.spec.resolve import Stack
from beast_observatory.swarm.discovery import extra_swarm
from beast_observatory.swarm.model import EXTRA_KEY
from beast_observatory.swarm.service import IGNORED_KEYS, REFUSED_KEYS

_ANY_ADDRESS = ("0.0.0.0", "", "::")  # noqa: S104 - what Swarm binds host-mode ports on


def _keys(at: SpecPath, keys: Iterable[str]) -> list[Problem]:
    problems = []
    for key in sorted(keys):
        if key in REFUSED_KEYS:
            problems.append(
                Problem(
                    (*at, key),
                    f"{key}: docker stack deploy refuses it (not in the stack file format)",
                    hint="leave it out for this environment, or say it with `swarm` / `deploy`",
                )
            )
        elif key in IGNORED_KEYS:
            problems.append(
                warning((*at, key), f"{key}: Swarm ignores it; left out of the stack file")
            )
    return problems


def _extra(name: str, fragment: Mapping[str, Any]) -> list[Problem]:
    at: SpecPath = ("services", "extra", name)
    problems = _keys(at, (k for k in fragment if k != "restart"))
    try:
        extra_swarm(dict(fragment))
    except ValidationError as exc:
        errors = "; ".join(f"{'.'.join(map(str, e['loc']))}: {e['msg']}" for e in exc.errors())
        problems.append(Problem((*at, EXTRA_KEY), f"{EXTRA_KEY}: {errors}"))
    return problems


def check_swarm(stack: Stack) -> list[Problem]:
    if stack.environment.engine != "swarm":
        return []
    problems: list[Problem] = []
    published = False
    for key in stack.enabled_kinds():
        svc = stack.kind(key)
        problems += _keys(("services", key, "compose"), svc.compose)
        auth = getattr(svc, "web_auth", None)
        if auth is not None and auth.password_hash_env is not None:
            problems.append(
                Problem(
                    ("services", key, "web_auth", "password_hash_env"),
                    "a web auth hash from .env is written inside the container at start: "
                    "not on Swarm",
                    hint="put the bcrypt hash in the spec (password_hash): it is not a secret",
                )
            )
        published = published or bool(svc.ports) or (svc.publish and svc.port is not None)
        if svc.bind_address not in (None, *_ANY_ADDRESS):
            problems.append(_address(("services", key, "bind_address"), svc.bind_address))
    for name, fragment in sorted(stack.services.extra.items()):
        problems += _extra(name, fragment)
    address = stack.environment.bind_address
    if published and address not in _ANY_ADDRESS:
        problems.append(_address(("environments", stack.env_name, "bind_address"), address))
    return problems


def _address(at: SpecPath, address: str | None) -> Problem:
    return warning(
        at,
        f"Swarm publishes host-mode ports on every address of the node, not only {address}",
        hint="set bind_address: 0.0.0.0 to say so, firewall the ports, or set publish: false "
        "on what must stay inside the overlay network",
    )
