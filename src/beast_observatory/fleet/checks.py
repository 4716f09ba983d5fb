"""What validate says about an environment's fleet (pure).

Each host's exporters stack goes through the same checks as any environment's stack (ports,
networks, literal secrets...), its problems blamed on the fleet's part of the spec; then
what only a fleet can get wrong: a scrape job of a name Prometheus already has, an exporter
that cannot be scraped, hosts that cannot be told apart.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from beast_observatory.fleet.model import Fleet
from beast_observatory.fleet.render import exporters_stack, fleet_of, jobs
from beast_observatory.fleet.resolve import FleetMember, members
from beast_observatory.kinds.prometheus.render import scrape_jobs
from beast_observatory.spec.checks import Problem, SpecPath, warning
from beast_observatory.spec.resolve import Stack

StackCheck = Callable[[Stack, Mapping[str, bytes], Mapping[str, tuple[str, ...]]], list[Problem]]


def check_fleet(
    stack: Stack,
    assets: Mapping[str, bytes],
    matches: Mapping[str, tuple[str, ...]],
    check_stack: StackCheck,
) -> list[Problem]:
    """Every problem of the environment's fleet (check_stack: the checks of one stack)."""
    fleet = stack.environment.fleet
    if fleet is None:
        return []
    at: SpecPath = ("environments", stack.env_name, "fleet")
    found = members(fleet)
    problems = _scrapeable(fleet, found, at) + _addresses(found, at)
    if fleet_of(stack) is None:
        problems.append(
            warning(
                at,
                "the environment has no Prometheus: nothing scrapes the fleet's exporters",
                hint="enable services.prometheus in this environment, or move the fleet to the "
                "environment whose Prometheus should scrape it",
            )
        )
    else:
        problems += _job_names(stack, fleet, at)
    return problems + _host_stacks(stack, found, assets, matches, check_stack, at)


def _scrapeable(fleet: Fleet, found: list[FleetMember], at: SpecPath) -> list[Problem]:
    problems = []
    ne = fleet.exporters.node_exporter
    if ne.enabled and (ne.port is None or not ne.publish or ne.ports is not None):
        problems.append(
            Problem(
                (*at, "exporters", "node_exporter", "port"),
                "the fleet's node-exporter needs a published port (port, publish: true, no "
                "ports list): Prometheus scrapes it at the host's address and that port",
            )
        )
    for member in found:
        ports: dict[int, str] = {}
        for exporter in member.scraped():
            if exporter.port in ports:
                problems.append(
                    Problem(
                        (*at, "hosts", member.name),
                        f"host {member.name}: exporters {ports[exporter.port]} and "
                        f"{exporter.name} are both scraped at port {exporter.port}",
                        hint="give one of them another port",
                    )
                )
            ports.setdefault(exporter.port, exporter.name)
    return problems


def _addresses(found: list[FleetMember], at: SpecPath) -> list[Problem]:
    seen: dict[str, str] = {}
    problems = []
    for member in found:
        if member.address in seen:
            problems.append(
                warning(
                    (*at, "hosts", member.name, "address"),
                    f"hosts {seen[member.address]} and {member.name} have the same address "
                    f"{member.address}: Prometheus scrapes the same targets twice",
                    hint="give each host the address Prometheus reaches it at",
                )
            )
        seen.setdefault(member.address, member.name)
    return problems


def _job_names(stack: Stack, fleet: Fleet, at: SpecPath) -> list[Problem]:
    taken = {job.name for job in scrape_jobs(stack)}
    problems = []
    seen: dict[str, str] = {}
    for job in jobs(fleet):
        where = (*at, "exporters", *_exporter_path(fleet, job.name), "job")
        if job.job in taken:
            problems.append(
                Problem(
                    where,
                    f"scrape job {job.job!r} of the fleet's {job.name} is also a scrape job of "
                    "services.prometheus",
                    hint="give the fleet's exporter another job name (its job field)",
                )
            )
        elif job.job in seen:
            problems.append(
                Problem(where, f"scrape job {job.job!r} is also the job of {seen[job.job]}")
            )
        seen.setdefault(job.job, job.name)
    return problems


def _exporter_path(fleet: Fleet, name: str) -> tuple[str, ...]:
    if name == "node-exporter":
        return ("node_exporter",)
    return ("extra", name) if name in fleet.exporters.extra else ()


def _host_stacks(
    stack: Stack,
    found: list[FleetMember],
    assets: Mapping[str, bytes],
    matches: Mapping[str, tuple[str, ...]],
    check_stack: StackCheck,
    at: SpecPath,
) -> list[Problem]:
    """The checks of each host's exporters stack; a problem every host shares is said once."""
    hosts: dict[tuple[SpecPath, str, Any, Any], list[str]] = {}
    for member in found:
        for p in check_stack(exporters_stack(stack, member), assets, matches):
            key = (_blamed(p.path, at, member), p.message, p.severity, p.hint)
            hosts.setdefault(key, []).append(member.name)
    out = []
    for (path, message, severity, hint), names in hosts.items():
        scope = "" if len(names) == len(found) else f"host {', '.join(names)}: "
        out.append(Problem(path, scope + message, severity, hint))
    return out


def _blamed(path: SpecPath, at: SpecPath, member: FleetMember) -> SpecPath:
    """A path of a host's exporters stack as the place in the fleet's spec it comes from."""
    if path[:2] == ("services", "node_exporter"):
        return (*at, "exporters", "node_exporter", *path[2:])
    if path[:2] == ("services", "extra") and len(path) > 2:  # noqa: PLR2004 - the name follows
        return (*at, "exporters", "extra", path[2], "service", *path[3:])
    return (*at, "hosts", member.name)
