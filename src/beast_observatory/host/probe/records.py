"""One container's and one image's records of the probe -> their typed values (pure).

``docker inspect`` gives a container as one record plus detail records (its arguments, its
networks, labels and environment one line each); these functions put them together.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from beast_observatory.host.probe.inventory import (
    Attachment,
    Binding,
    Container,
    Healthcheck,
    Image,
    Mount,
    State,
)

_NS_PER_S = 1_000_000_000


def duration(ns: object) -> str | None:
    """Docker's nanoseconds as a Prometheus/compose duration (90s -> 1m30s); None for 0."""
    if not isinstance(ns, int) or ns <= 0:
        return None
    seconds, rest = divmod(ns, _NS_PER_S)
    if rest:
        return f"{ns // 1_000_000}ms"
    out = ""
    for unit, size in (("h", 3600), ("m", 60), ("s", 1)):
        count, seconds = divmod(seconds, size)
        out += f"{count}{unit}" if count else ""
    return out


def _split_pair(value: str) -> tuple[str, str]:
    name, _, rest = value.partition("=")
    return name, rest


def _ports(record: Mapping[str, Any]) -> dict[str, tuple[Binding, ...]]:
    """Published ports: what the running container got, else what it asks for."""
    live = record.get("ports") or {}
    configured = record.get("port_bindings") or {}
    out: dict[str, tuple[Binding, ...]] = {}
    for port in sorted(set(live) | set(configured)):
        # What was asked for ("9090:9090" is one binding, which the engine may show twice,
        # on 0.0.0.0 and ::), unless it asked for any free port.
        asked = [b for b in configured.get(port) or [] if isinstance(b, dict)]
        fixed = asked and all(b.get("HostPort") for b in asked)
        binds = asked if fixed else live.get(port) or asked
        rows = {
            (str(b.get("HostIp") or ""), str(b.get("HostPort") or ""))
            for b in binds
            if isinstance(b, dict)
        }
        if rows:
            out[port] = tuple(Binding(ip, hp) for ip, hp in sorted(rows))
    return out


def _healthcheck(raw: object, test: list[str]) -> Healthcheck | None:
    """The healthcheck; its test command comes one argument per record (redacted on the host
    like any argument), or inside the record from an older probe."""
    if not isinstance(raw, dict):
        return None
    test = test or list(raw.get("Test") or [])
    if not test:
        return None
    return Healthcheck(
        test=tuple(test),
        interval=duration(raw.get("Interval")),
        timeout=duration(raw.get("Timeout")),
        start_period=duration(raw.get("StartPeriod")),
        retries=raw.get("Retries") or None,
    )


def _mount(raw: Mapping[str, Any]) -> Mount:
    return Mount(
        type=str(raw.get("Type") or ""),
        source=str(raw.get("Source") or ""),
        destination=str(raw.get("Destination") or ""),
        rw=bool(raw.get("RW")),
        name=raw.get("Name") or None,
        propagation=str(raw.get("Propagation") or ""),
    )


def _args(details: list[dict[str, Any]], *fields_: str) -> dict[str, list[str]]:
    args: dict[str, list[tuple[int, str]]] = {f: [] for f in fields_}
    for d in details:
        if d.get("k") in ("arg", "iarg") and d.get("f") in args:
            args[str(d["f"])].append((int(d.get("i") or 0), str(d.get("v", ""))))
    return {k: [v for _, v in sorted(items)] for k, items in args.items()}


def _pairs(details: list[dict[str, Any]], kind: str) -> dict[str, str]:
    return dict(sorted(_split_pair(str(d.get("v", ""))) for d in details if d.get("k") == kind))


def container_of(
    record: Mapping[str, Any], details: list[dict[str, Any]], images: Mapping[str, Image]
) -> Container:
    args = _args(details, "cmd", "entrypoint", "healthcheck")
    networks = sorted(
        (
            Attachment(
                network=str(d.get("v", "")),
                aliases=tuple(sorted(str(a) for a in d.get("aliases") or [])),
                ipv4_address=str(d.get("ipv4") or ""),
            )
            for d in details
            if d.get("k") == "net"
        ),
        key=lambda a: a.network,
    )
    state = record.get("state") or {}
    image_id = str(record.get("image_id") or "")
    return Container(
        id=str(record.get("id") or ""),
        name=str(record.get("name") or "").lstrip("/"),
        image=str(record.get("image") or ""),
        image_id=image_id,
        repo_digests=tuple(sorted(images[image_id].repo_digests)) if image_id in images else (),
        cmd=tuple(args["cmd"]),
        entrypoint=tuple(args["entrypoint"]),
        env=_pairs(details, "env"),
        labels=_pairs(details, "label"),
        mounts=tuple(
            sorted(
                (_mount(m) for m in record.get("mounts") or []),
                key=lambda m: (m.destination, m.source),
            )
        ),
        ports=_ports(record),
        networks=tuple(networks),
        restart_policy=str(record.get("restart_policy") or "no"),
        restart_max=int(record.get("restart_max") or 0),
        healthcheck=_healthcheck(record.get("healthcheck"), args["healthcheck"]),
        user=str(record.get("user") or ""),
        state=State(
            status=state.get("status"),
            health=state.get("health"),
            started_at=state.get("started_at"),
            pid=state.get("pid"),
            exit_code=state.get("exit_code"),
        ),
        config=dict(record.get("config") or {}),
        host_config=dict(record.get("host_config") or {}),
        log_options=_pairs(details, "logopt"),
    )


def image_of(record: Mapping[str, Any], details: list[dict[str, Any]]) -> Image:
    args = _args(details, "cmd", "entrypoint")
    return Image(
        id=str(record.get("id") or ""),
        repo_digests=tuple(sorted(record.get("repo_digests") or [])),
        repo_tags=tuple(sorted(record.get("repo_tags") or [])),
        env=_pairs(details, "ienv"),
        user=str(record.get("user") or ""),
        working_dir=str(record.get("working_dir") or ""),
        exposed=tuple(sorted(record.get("exposed") or {})),
        labels=dict(sorted((record.get("labels") or {}).items())),
        volumes=tuple(sorted(record.get("volumes") or {})),
        entrypoint=tuple(args["entrypoint"]),
        cmd=tuple(args["cmd"]),
        stop_signal=str(record.get("stop_signal") or ""),
    )
