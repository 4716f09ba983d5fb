"""Spec -> bundles: validation across files, then rendering every environment (pure)."""

from __future__ import annotations

from collections.abc import Iterable

from beast_observatory.render.bundle import Bundle
from beast_observatory.render.stack import render_stack
from beast_observatory.spec.checks import check_all
from beast_observatory.spec.load import Project


def validate_project(project: Project) -> None:
    """Every check beyond the schema, for every environment; raises SpecError."""
    check_all(project.stacks, project.assets, project.matches)


def compile_project(project: Project, environments: Iterable[str]) -> dict[str, Bundle]:
    """Validate, then render the named environments; nothing is written."""
    validate_project(project)
    return {
        env: render_stack(project.stack(env), project.assets, project.matches)
        for env in environments
    }
