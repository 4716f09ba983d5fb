"""Each host of a fleet compiled into its Bundle (pure): the exporters' compose project, with
the same renderers, manifest and release format as any environment's stack."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from beast_observatory.bundle.bundle import Bundle
from beast_observatory.bundle.compile import validate_project
from beast_observatory.bundle.render import render_stack
from beast_observatory.errors import ObservatoryError
from beast_observatory.fleet.render import exporters_stack
from beast_observatory.fleet.resolve import FleetMember, members
from beast_observatory.spec.load import Project
from beast_observatory.spec.resolve import Stack


@dataclass(frozen=True)
class HostBundle:
    """One host of the fleet: who it is, what it runs, the files of that."""

    member: FleetMember
    stack: Stack
    bundle: Bundle


def render_member(
    stack: Stack,
    member: FleetMember,
    assets: Mapping[str, bytes],
    matches: Mapping[str, tuple[str, ...]],
) -> HostBundle:
    exporters = exporters_stack(stack, member)
    return HostBundle(member, exporters, render_stack(exporters, assets, matches))


def render_fleet(
    stack: Stack, assets: Mapping[str, bytes], matches: Mapping[str, tuple[str, ...]]
) -> list[HostBundle]:
    """Every host of the environment's fleet, by name."""
    return [render_member(stack, m, assets, matches) for m in members(stack.environment.fleet)]


def compile_fleet(project: Project, environment: str) -> list[HostBundle]:
    """Validate the whole spec (the fleet's checks included), then render the fleet."""
    stack = project.stack(environment)
    if stack.environment.fleet is None:
        raise ObservatoryError(
            f"environment {environment} has no fleet",
            hint=f"list the hosts to monitor under environments.{environment}.fleet.hosts "
            "(docs/FLEET.md), or pick another --environment",
        )
    validate_project(project)
    return render_fleet(stack, project.assets, project.matches)
