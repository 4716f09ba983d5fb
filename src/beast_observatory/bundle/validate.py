"""``observatory validate``: load the spec, run every check, then the rule tests with the
promtool installed here; one ``Report`` of every problem, which the CLI prints as text (what
people read), JSON (what scripts read) or GitHub workflow annotations (what a pull request
shows on the lines that have the problems).

Loading and promtool are the IO here; the checks and the formatting are pure.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, replace
from pathlib import Path

from beast_observatory.bundle.bundle import canonical_json, sha256
from beast_observatory.bundle.compile import diagnostics, project_diagnostics
from beast_observatory.errors import SpecError
from beast_observatory.kinds.prometheus import promtool as local_promtool
from beast_observatory.kinds.prometheus.render import FOLDER, render_files
from beast_observatory.kinds.prometheus.rule_tests import (
    RULES,
    WHERE,
    failing_entry,
    failure_message,
    render_rule_tests,
    rule_test_content,
    rule_test_path,
)
from beast_observatory.spec import load
from beast_observatory.spec.checks import Problem, SpecPath, warning
from beast_observatory.spec.diagnostics import Diagnostic, error_at
from beast_observatory.spec.load import Project
from beast_observatory.spec.resolve import Stack
from beast_observatory.yamlio import locate

REPORT_FORMAT = 1
NO_PROMTOOL = "promtool is not installed here: the rule tests were not run"
NO_PROMTOOL_HINT = (
    "install promtool (Debian/Ubuntu: apt-get install prometheus; or from a Prometheus "
    "release) to run them here; `observatory apply` runs them on the host either way, with "
    "the Prometheus image's promtool"
)


@dataclass(frozen=True)
class Report:
    """Every problem of a spec, and whether it is valid."""

    spec: str | None
    environments: tuple[str, ...]
    diagnostics: tuple[Diagnostic, ...]
    strict: bool
    error: SpecError | None  # None: valid; else what the text output says

    @property
    def valid(self) -> bool:
        return self.error is None

    def count(self, severity: str) -> int:
        return sum(d.severity == severity for d in self.diagnostics)

    @property
    def warnings(self) -> list[Diagnostic]:
        return [d for d in self.diagnostics if d.severity == "warning"]


def validate_spec(path: Path | None, *, strict: bool = False) -> Report:
    """Load and check the spec, then run its rule tests (when nothing else is wrong)."""
    try:
        project = load.load_project(path)
    except SpecError as exc:
        given = spec_name(path)
        return Report(given, (), tuple(load_diagnostics(exc, given)), strict, exc)
    found = project_diagnostics(project)
    if not any(d.severity == "error" for d in found):
        found += rule_test_diagnostics(project)
    failing = [d for d in found if d.severity == "error" or strict]
    error = SpecError([d.text() for d in failing], diagnostics=failing) if failing else None
    return Report(str(project.path), tuple(sorted(project.stacks)), tuple(found), strict, error)


def spec_name(path: Path | None) -> str | None:
    """The spec validate looked at (None: there was none to find)."""
    try:
        return str(load.find_spec(path))
    except SpecError:
        return None


def load_diagnostics(exc: SpecError, spec: str | None) -> list[Diagnostic]:
    """The diagnostics of a spec that could not be loaded (each problem, at least as text)."""
    if exc.diagnostics:
        return list(exc.diagnostics)
    return [Diagnostic(spec, None, None, "", p, exc.hint, "error") for p in exc.problems]


# ----------------------------------------------------------------- rule tests


def rule_test_files(stack: Stack, assets: Mapping[str, bytes]) -> dict[str, bytes]:
    """The rendered rule and test files, relative to the Prometheus config folder."""
    rules = {
        rel.removeprefix(f"{FOLDER}/"): data
        for rel, data in render_files(stack, assets).items()
        if rel.startswith(f"{FOLDER}/{RULES}/")
    }
    return {**rules, **render_rule_tests(stack, assets)}


def rerun_hint(path: str | None, name: str) -> str:
    if path is not None:
        again = f"`promtool test rules {path}` beside the spec runs it again"
    else:
        again = (
            f"after `observatory build`, `promtool test rules {rule_test_path(name)}` in "
            "generated/<environment>/prometheus/ runs it again"
        )
    return f"fix the rule, or what the test expects; {again}"


def rule_test_diagnostics(project: Project) -> list[Diagnostic]:
    """Every rule test that fails, at the alert or expression test promtool names: in the
    test file beside the spec for a test given by path, else in the spec."""
    in_spec, in_files = rule_test_problems(project)
    return diagnostics(project, in_spec) + merged(in_files, len(project.stacks))


def rule_test_problems(
    project: Project,
) -> tuple[list[tuple[str, Problem]], list[tuple[str, Diagnostic]]]:
    """(environment, problem in the spec) and (environment, diagnostic in a test file) for
    every rule test that fails; environments whose rules and tests render alike share one run."""
    promtool = local_promtool.find_promtool()
    runs: dict[str, dict[str, local_promtool.TestRun]] = {}
    in_spec: list[tuple[str, Problem]] = []
    in_files: list[tuple[str, Diagnostic]] = []
    for env in sorted(project.stacks):
        prometheus = project.stacks[env].services.prometheus
        if not prometheus.enabled or not prometheus.rule_tests:
            continue
        if promtool is None:
            in_spec.append((env, warning(WHERE, NO_PROMTOOL, hint=NO_PROMTOOL_HINT)))
            continue
        files = rule_test_files(project.stacks[env], project.assets)
        key = sha256(canonical_json({rel: sha256(data) for rel, data in sorted(files.items())}))
        if key not in runs:
            names = [t.name for t in prometheus.rule_tests]
            runs[key] = {r.name: r for r in local_promtool.run_rule_tests(promtool, files, names)}
        for i, test in enumerate(prometheus.rule_tests):
            run = runs[key][test.name]
            if run.passed:
                continue
            message = failure_message(test.name, run.output)
            hint = rerun_hint(test.path, test.name)
            entry = failing_entry(rule_test_content(test, project.assets), run.output)
            located = in_test_file(project, test.path, entry, (*WHERE, i), message, hint)
            if located is not None:
                in_files.append((env, located))
            else:
                in_spec.append((env, Problem((*WHERE, i, *(entry or ())), message, hint=hint)))
    return in_spec, in_files


def in_test_file(
    project: Project,
    path: str | None,
    entry: SpecPath | None,
    where: SpecPath,
    message: str,
    hint: str,
) -> Diagnostic | None:
    """A failure at its entry in the test file beside the spec (None: an inline test, or
    promtool named no test that the file has)."""
    if path is None or entry is None:
        return None
    position = locate(project.assets[path].decode("utf-8-sig"), list(entry))
    file = str(project.path.parent / path)
    return error_at(file, position, where, message, hint)


def merged(found: list[tuple[str, Diagnostic]], environments: int) -> list[Diagnostic]:
    """One diagnostic for the environments that share it (none named when all do)."""
    envs: dict[Diagnostic, list[str]] = {}
    for env, diagnostic in found:
        envs.setdefault(diagnostic, []).append(env)
    return [
        replace(d, environments=() if len(names) == environments else tuple(names))
        for d, names in envs.items()
    ]


# ----------------------------------------------------------------- output


def format_json(report: Report) -> str:
    """The report for scripts: every problem with its place, message, hint and severity."""
    doc = {
        "format_version": REPORT_FORMAT,
        "spec": report.spec,
        "valid": report.valid,
        "strict": report.strict,
        "environments": list(report.environments),
        "errors": report.count("error"),
        "warnings": report.count("warning"),
        "diagnostics": [d.as_dict() for d in report.diagnostics],
    }
    return json.dumps(doc, indent=2, ensure_ascii=False)


def escape_data(text: str) -> str:
    """A workflow command's message (actions/toolkit's escapeData)."""
    return text.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")


def escape_property(text: str) -> str:
    """A workflow command's property value (actions/toolkit's escapeProperty)."""
    return escape_data(text).replace(":", "%3A").replace(",", "%2C")


def workspace_path(file: str, root: Path) -> str:
    """A file as GitHub names it: relative to the workspace when it is inside it."""
    try:
        return Path(file).resolve().relative_to(root.resolve()).as_posix()
    except ValueError:
        return file


def annotation(d: Diagnostic, *, strict: bool, root: Path) -> str:
    """``::error file=F,line=L,col=C,title=T::message`` (a warning under --strict fails the
    check, so it is an error there)."""
    level = "error" if d.severity == "error" or strict else "warning"
    props = []
    if d.file:
        props.append(f"file={escape_property(workspace_path(d.file, root))}")
    if d.line:
        props.append(f"line={d.line}")
    if d.column:
        props.append(f"col={d.column}")
    title = f"observatory validate: {d.path}" if d.path else "observatory validate"
    props.append(f"title={escape_property(title)}")
    scope = f" (environment {', '.join(d.environments)})" if d.environments else ""
    message = d.message + scope + (f"\nhint: {d.hint}" if d.hint else "")
    return f"::{level} {','.join(props)}::{escape_data(message)}"


def format_github(report: Report, root: Path) -> list[str]:
    """One workflow command per problem (``root``: the workspace the files are relative to)."""
    return [annotation(d, strict=report.strict, root=root) for d in report.diagnostics]


def summary(report: Report) -> str:
    """One line: valid (and where), or how many problems."""
    spec = report.spec or "the spec"
    if report.valid:
        envs = ", ".join(report.environments)
        return f"{spec}: valid ({len(report.environments)} environment(s): {envs})"
    return (
        f"{spec}: not valid: {report.count('error')} error(s), "
        f"{report.count('warning')} warning(s)" + (" (--strict)" if report.strict else "")
    )
