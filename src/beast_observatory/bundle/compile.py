"""Spec -> bundles: every check across files and kinds, then rendering (pure).

Problems become ``Diagnostic``s that name the file, line and column, the spec path, what is
wrong and how to fix it, and their severity: an error stops validate/build, a warning is
shown and stops nothing (``--strict`` makes warnings errors).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence

from beast_observatory.bundle.bundle import Bundle
from beast_observatory.bundle.render import render_stack
from beast_observatory.errors import SpecError
from beast_observatory.fleet.checks import check_fleet
from beast_observatory.kinds.alertmanager.checks import check_alertmanager
from beast_observatory.kinds.grafana.checks import check_grafana
from beast_observatory.kinds.prometheus.checks import check_prometheus
from beast_observatory.spec.checks import (
    Problem,
    Severity,
    SpecPath,
    check_environment_secrets,
    check_interpolation,
    check_networks_and_volumes,
    check_placeholders,
    check_ports,
    check_service_names,
    dotted,
)
from beast_observatory.spec.diagnostics import Diagnostic
from beast_observatory.spec.load import Project, blame
from beast_observatory.spec.resolve import Stack
from beast_observatory.swarm.checks import check_swarm
from beast_observatory.yamlio import locate


def check_stack(
    stack: Stack, assets: Mapping[str, bytes], matches: Mapping[str, tuple[str, ...]]
) -> list[Problem]:
    return [
        *check_ports(stack),
        *check_service_names(stack),
        *check_networks_and_volumes(stack),
        *check_environment_secrets(stack),
        *check_interpolation(stack),
        *check_placeholders(stack, assets),
        *check_prometheus(stack, assets),
        *check_grafana(stack, assets, matches),
        *check_alertmanager(stack, assets),
        *check_fleet(stack, assets, matches, check_stack),
        *check_swarm(stack),
    ]


def check_all(
    stacks: Mapping[str, Stack], assets: Mapping[str, bytes], matches: Mapping[str, tuple[str, ...]]
) -> list[tuple[str, Problem]]:
    """(environment, problem) for every problem of every environment, in a stable order."""
    return [
        (name, p) for name in sorted(stacks) for p in check_stack(stacks[name], assets, matches)
    ]


def diagnostics(project: Project, found: Sequence[tuple[str, Problem]]) -> list[Diagnostic]:
    """One diagnostic per problem and place; one for all environments that share it."""
    envs: dict[tuple[SpecPath, str, str | None, Severity], list[str]] = {}
    for env_name, problem in found:
        path = blame(project.spec, env_name, problem.path)
        key = (path, problem.message, problem.hint, problem.severity)
        envs.setdefault(key, []).append(env_name)
    out = []
    for (path, message, hint, severity), names in envs.items():
        pos = locate(project.text, path)
        everywhere = len(names) == len(project.stacks) or path[0] == "environments"
        out.append(
            Diagnostic(
                file=str(project.path),
                line=pos.line if pos else None,
                column=pos.column if pos else None,
                path=dotted(path),
                message=message,
                hint=hint,
                severity=severity,
                environments=() if everywhere else tuple(names),
            )
        )
    return out


def project_diagnostics(project: Project) -> list[Diagnostic]:
    """Every problem beyond the schema, for every environment."""
    return diagnostics(project, check_all(project.stacks, project.assets, project.matches))


def validate_project(project: Project, *, strict: bool = False) -> list[Diagnostic]:
    """Raise SpecError for the errors (and, with strict, the warnings); return the warnings."""
    found = project_diagnostics(project)
    failing = [d for d in found if d.severity == "error" or strict]
    if failing:
        raise SpecError([d.text() for d in failing], diagnostics=failing)
    return [d for d in found if d.severity == "warning"]


def compile_project(project: Project, environments: Iterable[str]) -> dict[str, Bundle]:
    """Validate, then render the named environments; nothing is written."""
    validate_project(project)
    return {
        env: render_stack(project.stack(env), project.assets, project.matches)
        for env in environments
    }
