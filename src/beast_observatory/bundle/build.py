"""``observatory build``: compile every environment, then write or check the trees."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path

from beast_observatory.bundle.compile import compile_project
from beast_observatory.bundle.write import check_tree, write_tree
from beast_observatory.spec.load import load_project

GENERATED = "generated"


def output_root(out: Path | None) -> Path:
    """generated/ in the working directory unless --out says otherwise (like terraform)."""
    return out if out is not None else Path(GENERATED)


def build_command(
    spec: Path | None,
    environments: Sequence[str] | None,
    out: Path | None,
    *,
    check: bool,
    echo: Callable[[str], object],
) -> int:
    """Exit code: 0 written / current, 1 stale (with --check)."""
    project = load_project(spec)
    envs = list(environments) if environments else sorted(project.stacks)
    for env in envs:
        project.stack(env)  # unknown names fail before anything is rendered
    bundles = compile_project(project, envs)  # every env renders before any is written
    root = output_root(out)
    stale = 0
    for env, bundle in bundles.items():
        target = root / env
        files = bundle.with_manifest()
        if check:
            drift = check_tree(target, files)
            for label, paths in (
                ("missing", drift.missing),
                ("stale", drift.stale),
                ("extra", drift.extra),
            ):
                for path in paths:
                    echo(f"{label}: {target / path}")
            stale += 0 if drift.clean else 1
            if drift.clean:
                echo(f"{target}: up to date ({len(files)} files)")
        else:
            write_tree(target, files)
            echo(f"{target}: {len(files)} files written")
    if stale:
        echo(f"{stale} environment(s) out of date: run `observatory build` to refresh them")
    return 1 if stale else 0
