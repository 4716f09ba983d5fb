"""Spec -> bundles: validation across files, then rendering every environment (pure)."""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from beast_observatory.bundle.bundle import Bundle
from beast_observatory.errors import SpecError
from beast_observatory.render.stack import render_stack
from beast_observatory.spec.checks import Problem, SpecPath, check_all, dotted
from beast_observatory.spec.load import Project, blame
from beast_observatory.yamlio import locate


def validate_project(project: Project) -> None:
    """Every check beyond the schema, for every environment; raises SpecError."""
    found = check_all(project.stacks, project.assets, project.matches)
    if found:
        raise SpecError(problem_lines(project, found))


def problem_lines(project: Project, found: Sequence[tuple[str, Problem]]) -> list[str]:
    """'file:line:col: spec.path: what' for each problem; one line when every environment has it."""
    envs: dict[tuple[SpecPath, str], list[str]] = {}
    for env_name, problem in found:
        key = (blame(project.spec, env_name, problem.path), problem.message)
        envs.setdefault(key, []).append(env_name)
    lines = []
    source = str(project.path)
    for (path, message), names in envs.items():
        pos = locate(project.text, path)
        where = f"{source}:{pos}" if pos else source
        everywhere = len(names) == len(project.stacks) or path[0] == "environments"
        scope = "" if everywhere else f" (environment {', '.join(names)})"
        lines.append(f"{where}: {dotted(path)}: {message}{scope}")
    return lines


def compile_project(project: Project, environments: Iterable[str]) -> dict[str, Bundle]:
    """Validate, then render the named environments; nothing is written."""
    validate_project(project)
    return {
        env: render_stack(project.stack(env), project.assets, project.matches)
        for env in environments
    }
