"""Services as Swarm runs them and as the stack file asks for them, in one comparable shape
(pure): ``docker service inspect`` JSON -> ``ServiceShape``, a stack file's service ->
``ServiceShape``. plan.py says what differs and what Swarm will do about it."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from beast_observatory.swarm.names import NAMESPACE_LABEL, secret_variable

_SECOND = 1_000_000_000
_DURATION = re.compile(r"(\d+(?:\.\d+)?)(ms|s|m|h)")
_UNITS = {"ms": 1_000_000, "s": _SECOND, "m": 60 * _SECOND, "h": 3600 * _SECOND}
_BYTES = re.compile(r"^(\d+(?:\.\d+)?)\s*([kmgt]?)i?b?$", re.IGNORECASE)
_POWERS = {"": 1, "k": 1 << 10, "m": 1 << 20, "g": 1 << 30, "t": 1 << 40}


def nanoseconds(duration: str | None) -> int | None:
    if not duration:
        return None
    return sum(int(float(n) * _UNITS[u]) for n, u in _DURATION.findall(str(duration)))


def byte_count(size: Any) -> int | None:
    if size is None:
        return None
    match = _BYTES.match(str(size).strip())
    if match is None:
        return None
    return int(float(match.group(1)) * _POWERS[match.group(2).lower()])


@dataclass(frozen=True)
class ServiceShape:
    """What of a Swarm service the plan compares. Mounts as ``type source target [ro]``,
    ports as ``published:target/protocol (mode)``, configs and secrets by target."""

    name: str
    image: str
    mode: str  # global or replicated
    replicas: int | None
    args: tuple[str, ...] = ()
    env: Mapping[str, str] = field(default_factory=dict)
    configs: Mapping[str, str] = field(default_factory=dict)  # target -> config name
    secrets: Mapping[str, str] = field(default_factory=dict)  # target -> secret name
    ports: frozenset[str] = frozenset()
    mounts: frozenset[str] = frozenset()
    labels: Mapping[str, str] = field(default_factory=dict)
    constraints: tuple[str, ...] = ()
    restart: str = "any"
    nano_cpus: int | None = None
    memory: int | None = None
    health: tuple[Any, ...] | None = None  # (test, interval, timeout, retries, start period)


def _image(reference: str) -> str:
    return reference.split("@", 1)[0]


def _env(entries: list[str] | None) -> dict[str, str]:
    return dict(e.partition("=")[::2] for e in entries or [])


def _restart(condition: str | None, attempts: int | None) -> str:
    text = condition or "any"
    return f"{text}:{attempts}" if text == "on-failure" and attempts else text


def live_shape(data: Mapping[str, Any]) -> ServiceShape:
    """A service of ``docker service inspect``."""
    spec = data.get("Spec") or {}
    task = spec.get("TaskTemplate") or {}
    container = task.get("ContainerSpec") or {}
    mode = spec.get("Mode") or {}
    replicated = mode.get("Replicated")
    mounts = set()
    for m in container.get("Mounts") or []:
        ro = " ro" if m.get("ReadOnly") else ""
        mounts.add(f"{m.get('Type', 'volume')} {m.get('Source', '')} {m.get('Target', '')}{ro}")
    ports = {
        f"{p.get('PublishedPort')}:{p.get('TargetPort')}/{p.get('Protocol', 'tcp')} "
        f"({p.get('PublishMode', 'ingress')})"
        for p in (spec.get("EndpointSpec") or {}).get("Ports") or []
    }
    restart = task.get("RestartPolicy") or {}
    limits = (task.get("Resources") or {}).get("Limits") or {}
    check = container.get("Healthcheck")
    health = None
    if check:
        health = (
            tuple(check.get("Test") or ()),
            check.get("Interval"),
            check.get("Timeout"),
            check.get("Retries"),
            check.get("StartPeriod"),
        )
    labels = {k: v for k, v in (container.get("Labels") or {}).items() if k != NAMESPACE_LABEL}
    return ServiceShape(
        name=str(spec.get("Name", "")),
        image=_image(str(container.get("Image", ""))),
        mode="replicated" if replicated is not None else "global",
        replicas=int(replicated.get("Replicas", 1)) if replicated is not None else None,
        args=tuple(container.get("Args") or ()),
        env=_env(container.get("Env")),
        configs={
            str((c.get("File") or {}).get("Name")): str(c.get("ConfigName"))
            for c in container.get("Configs") or []
        },
        secrets={
            str((s.get("File") or {}).get("Name")): str(s.get("SecretName"))
            for s in container.get("Secrets") or []
        },
        ports=frozenset(ports),
        mounts=frozenset(mounts),
        labels=labels,
        constraints=tuple(sorted((task.get("Placement") or {}).get("Constraints") or ())),
        restart=_restart(restart.get("Condition"), restart.get("MaxAttempts")),
        nano_cpus=limits.get("NanoCPUs") or None,
        memory=limits.get("MemoryBytes") or None,
        health=health,
    )


def _mount(entry: str | Mapping[str, Any], project: str, volumes: Mapping[str, Any]) -> str:
    """A stack file's mount as ``live_shape`` writes it."""
    if isinstance(entry, Mapping):
        source, target = str(entry.get("source") or ""), str(entry.get("target") or "")
        kind, ro = str(entry.get("type") or "volume"), bool(entry.get("read_only"))
    else:
        parts = entry.split(":")
        source, target = parts[0], parts[1] if len(parts) > 1 else parts[0]
        ro = len(parts) > 2 and "ro" in parts[2].split(",")  # noqa: PLR2004
        kind = "bind" if source.startswith("/") else "volume"
    if kind == "volume":
        declared = volumes.get(source) or {}
        source = str(declared.get("name") or f"{project}_{source}")
    return f"{kind} {source} {target}{' ro' if ro else ''}"


def _desired_health(check: Mapping[str, Any] | None) -> tuple[Any, ...] | None:
    if not check or check.get("disable"):
        return ("NONE",) if check and check.get("disable") else None
    test = check.get("test")
    test_list = ["CMD-SHELL", test] if isinstance(test, str) else list(test or [])
    return (
        tuple(str(t).replace("$$", "$") for t in test_list),
        nanoseconds(check.get("interval")),
        nanoseconds(check.get("timeout")),
        check.get("retries"),
        nanoseconds(check.get("start_period")),
    )


def desired_shape(
    project: str,
    name: str,
    service: Mapping[str, Any],
    stack_file: Mapping[str, Any],
    secret_names: Mapping[str, str],
) -> ServiceShape:
    """A service of the stack file, as Swarm will hold it once deployed. secret_names: the
    name each secret key has on the host (computed there from its value)."""
    deploy = service.get("deploy") or {}
    configs = stack_file.get("configs") or {}
    secrets = stack_file.get("secrets") or {}
    env = service.get("environment") or {}
    if isinstance(env, list):
        env = dict(str(e).partition("=")[::2] for e in env)
    ports = set()
    for p in service.get("ports") or []:
        if isinstance(p, Mapping):
            ports.add(
                f"{p.get('published')}:{p.get('target')}/{p.get('protocol', 'tcp')} "
                f"({p.get('mode', 'ingress')})"
            )
    secret_targets = {}
    for s in service.get("secrets") or []:
        key = str(s.get("source"))
        entry = secrets.get(key) or {}
        literal = str(entry.get("name") or key)
        secret_targets[str(s.get("target") or f"/run/secrets/{key}")] = (
            secret_names.get(key, literal) if literal == f"${{{secret_variable(key)}}}" else literal
        )
    restart = deploy.get("restart_policy") or {}
    limits = (deploy.get("resources") or {}).get("limits") or {}
    cpus = limits.get("cpus")
    mode = str(deploy.get("mode") or "replicated")
    labels = service.get("labels") or {}
    return ServiceShape(
        name=f"{project}_{name}",
        image=_image(str(service.get("image", ""))),
        mode=mode,
        replicas=int(deploy.get("replicas", 1)) if mode == "replicated" else None,
        args=tuple(str(a) for a in service.get("command") or ()),
        env={str(k): "" if v is None else str(v) for k, v in env.items()},
        configs={
            str(c.get("target")): str(
                (configs.get(c.get("source")) or {}).get("name") or c.get("source")
            )
            for c in service.get("configs") or []
        },
        secrets=secret_targets,
        ports=frozenset(ports),
        mounts=frozenset(
            _mount(m, project, stack_file.get("volumes") or {})
            for m in service.get("volumes") or []
        ),
        labels={str(k): str(v) for k, v in labels.items()},
        constraints=tuple(sorted((deploy.get("placement") or {}).get("constraints") or ())),
        restart=_restart(restart.get("condition"), restart.get("max_attempts")),
        nano_cpus=int(float(cpus) * _SECOND) if cpus is not None else None,
        memory=byte_count(limits.get("memory")),
        health=_desired_health(service.get("healthcheck")),
    )
