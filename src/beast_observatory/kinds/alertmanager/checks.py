"""Checks of Alertmanager's part of the spec (pure): secrets only by *_file or reference.
amtool of the image judges the rest of the configuration on the host, before apply."""

from __future__ import annotations

from collections.abc import Mapping

from beast_observatory.kinds.alertmanager.versions import version_problems
from beast_observatory.spec.checks import Problem, SpecPath, config_secrets, dotted
from beast_observatory.spec.resolve import Stack
from beast_observatory.yamlio import YamlError, load_yaml, locate


def alertmanager_fix(at: SpecPath) -> str:
    """What to write instead of a secret of alertmanager.yml at `at`: its *_file form."""
    key = next((str(part) for part in reversed(at) if isinstance(part, str)), "the key")
    return (
        f"Alertmanager reads secrets from files: use {key}_file with a path inside the "
        "container instead (or a reference)"
    )


def check_alertmanager(stack: Stack, assets: Mapping[str, bytes]) -> list[Problem]:
    am = stack.services.alertmanager
    problems = version_problems(am)
    if am.config is not None:
        where: SpecPath = ("services", "alertmanager", "config")
        problems += [
            Problem(at, why, hint=alertmanager_fix(at))
            for at, why in config_secrets(am.config, where)
        ]
    if am.config_path is None or am.config_path not in assets:
        return problems
    text = assets[am.config_path]
    try:
        doc = load_yaml(text, am.config_path)
    except YamlError:
        return problems  # amtool says what is wrong with it, at apply
    where = ("services", "alertmanager", "config_path")
    for path, why in config_secrets(doc):
        pos = locate(text.decode("utf-8", "replace"), path)
        place = f"{am.config_path}:{pos}" if pos else am.config_path
        problems.append(
            Problem(where, f"{place}: {dotted(path)}: {why}", hint=alertmanager_fix(path))
        )
    return problems
