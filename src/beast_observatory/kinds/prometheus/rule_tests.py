"""Rule unit tests (pure): the spec's ``rule_tests`` as promtool test files, their checks, and
what promtool says when one fails.

Each test renders to ``prometheus/tests/<name>.yml`` beside ``prometheus/rules/``, naming the
rule files under test as ``../rules/<name>.yml``: promtool resolves a test file's rule_files
relative to the test file, so the tests run the same in generated/<env>/prometheus/, in a
release on the host (the image's promtool, at apply) and in a scratch folder (validate).

A test given by ``path`` is a promtool test file beside the spec, runnable there as it is:
its rule_files name the spec's rule files by their paths relative to the test file, and the
rendered copy names the rendered ones instead.
"""

from __future__ import annotations

import json
import posixpath
import re
import textwrap
from collections.abc import Mapping
from fnmatch import fnmatchcase
from typing import Any

from pydantic import ValidationError

from beast_observatory.bundle.bundle import yaml_file
from beast_observatory.kinds.prometheus.model import RuleFile, RuleTest, RuleTestFile
from beast_observatory.names import HEADER
from beast_observatory.spec.checks import Problem, SpecPath, dotted, duplicates
from beast_observatory.spec.diagnostics import explain
from beast_observatory.spec.resolve import Stack
from beast_observatory.yamlio import YamlError, load_yaml, locate

TESTS = "tests"
RULES = "rules"
WHERE: SpecPath = ("services", "prometheus", "rule_tests")
# Lists promtool reads as "none expected" when empty, written out so the file says so.
KEEP_EMPTY = frozenset({"exp_alerts", "exp_samples"})
# Label sets: their order carries no meaning, so they are written sorted.
LABEL_SETS = frozenset({"exp_labels", "exp_annotations", "external_labels"})


def rule_test_path(name: str) -> str:
    """A rule test's file, relative to the Prometheus config folder."""
    return f"{TESTS}/{name}.yml"


def rule_test_content(test: RuleTest, assets: Mapping[str, bytes]) -> RuleTestFile:
    """The test file's content: the file at ``path``, else the inline fields."""
    if test.path is not None:
        return parse_test_file(assets[test.path], test.path)
    return RuleTestFile(
        evaluation_interval=test.evaluation_interval,
        fuzzy_compare=test.fuzzy_compare,
        group_eval_order=list(test.group_eval_order),
        tests=list(test.tests or []),
    )


def parse_test_file(data: bytes, source: str) -> RuleTestFile:
    """A promtool test file; raises YamlError or pydantic's ValidationError."""
    doc = load_yaml(data, source)
    return RuleTestFile.model_validate(doc if doc is not None else {})


def _segments_match(pattern: str, path: str) -> bool:
    """promtool's glob: each path segment on its own (``*`` does not cross ``/``)."""
    want, have = pattern.split("/"), path.split("/")
    if len(want) != len(have):
        return False
    return all(fnmatchcase(h, w) for w, h in zip(want, have, strict=True))


def rule_files_named(
    test_path: str, entries: list[str], rule_files: list[RuleFile]
) -> tuple[list[str], list[str]]:
    """(names of the spec's rule files, entries that name none of them) for a test file's
    rule_files, each relative to the test file (a glob may name several)."""
    base = posixpath.dirname(test_path)
    names: list[str] = []
    unmatched = []
    for entry in entries:
        pattern = posixpath.normpath(posixpath.join(base, entry))
        found = [
            r.name
            for r in rule_files
            if r.path is not None and _segments_match(pattern, posixpath.normpath(r.path))
        ]
        if not found:
            unmatched.append(entry)
        names += [n for n in found if n not in names]
    return names, unmatched


def under_test(test: RuleTest, content: RuleTestFile, rule_files: list[RuleFile]) -> list[str]:
    """Names of the rule files a test loads, in its order."""
    if test.rule_files is not None:
        return list(dict.fromkeys(test.rule_files))
    if test.path is not None and content.rule_files:
        return rule_files_named(test.path, content.rule_files, rule_files)[0]
    return [r.name for r in rule_files]


def _written(value: Any, key: str = "") -> bool:
    return value is not None and (value not in ([], {}) or key in KEEP_EMPTY)


def _plain(value: Any) -> Any:
    """A dumped model without what was left out (None, empty lists and mappings)."""
    if isinstance(value, dict):
        return {
            k: dict(sorted(v.items())) if k in LABEL_SETS else _plain(v)
            for k, v in value.items()
            if _written(v, k)
        }
    if isinstance(value, list):
        return [_plain(v) for v in value]
    return value


def test_file_document(content: RuleTestFile, rule_files: list[str]) -> Any:
    """A promtool test file of content naming rule_files: promtool's keys in its
    documentation's order, without what was left out."""
    doc = content.model_dump(mode="json")
    doc["rule_files"] = list(rule_files)
    return _plain(doc)


def rule_test_document(test: RuleTest, content: RuleTestFile, rule_files: list[RuleFile]) -> Any:
    """The rendered test file, naming the rendered rule files."""
    names = under_test(test, content, rule_files)
    return test_file_document(content, [f"../{RULES}/{name}.yml" for name in names])


def render_rule_tests(stack: Stack, assets: Mapping[str, bytes]) -> dict[str, bytes]:
    """prometheus/tests/<name>.yml of every rule test (relative to the Prometheus folder)."""
    p = stack.services.prometheus
    return {
        rule_test_path(test.name): yaml_file(
            rule_test_document(test, rule_test_content(test, assets), p.rule_files), HEADER
        )
        for test in p.rule_tests
    }


# ----------------------------------------------------------------- checks


def _file_problems(
    where: SpecPath, test: RuleTest, assets: Mapping[str, bytes]
) -> tuple[RuleTestFile | None, list[Problem]]:
    """The test file read and validated as promtool's format, or what is wrong with it."""
    source = str(test.path)
    try:
        return rule_test_content(test, assets), []
    except YamlError as exc:
        return None, [Problem((*where, "path"), exc.render().removeprefix("error: "))]
    except ValidationError as exc:
        text = assets[source].decode("utf-8-sig")
        problems = []
        for err in exc.errors():
            loc = tuple(err["loc"])
            pos = locate(text, list(loc))
            at = f"{source}:{pos}" if pos else source
            problems.append(
                Problem(
                    (*where, "path"),
                    f"{at}: {dotted(loc) or '<root>'}: {explain(err)}",
                    hint="write it as promtool documents its test files: https://prometheus.io"
                    "/docs/prometheus/latest/configuration/unit_testing_rules/",
                )
            )
        return None, problems


def _rule_file_problems(
    where: SpecPath, test: RuleTest, content: RuleTestFile, rule_files: list[RuleFile]
) -> list[Problem]:
    known = [r.name for r in rule_files]
    listed = ", ".join(known) or "none"
    problems = [
        Problem(
            (*where, "rule_files", j),
            f"no rule file named {name!r} (services.prometheus.rule_files: {listed})",
            hint="name one of the spec's rule files",
        )
        for j, name in enumerate(test.rule_files or [])
        if name not in known
    ]
    if test.path is not None and test.rule_files is None:
        _, unmatched = rule_files_named(test.path, content.rule_files, rule_files)
        paths = ", ".join(str(r.path) for r in rule_files if r.path) or "none"
        problems += [
            Problem(
                (*where, "path"),
                f"{test.path}: rule_files entry {entry!r} is none of the spec's rule files "
                f"(by path: {paths})",
                hint="name the spec's rule files by their paths relative to the test file, "
                "or list their names in rule_files beside path",
            )
            for entry in unmatched
        ]
    if not problems and not under_test(test, content, rule_files):
        problems.append(
            Problem(where, f"rule test {test.name!r} tests no rule file", hint="add rule_files")
        )
    return problems


def check_rule_tests(stack: Stack, assets: Mapping[str, bytes]) -> list[Problem]:
    p = stack.services.prometheus
    problems = duplicates(WHERE, "name", [t.name for t in p.rule_tests], {})
    for i, test in enumerate(p.rule_tests):
        where: SpecPath = (*WHERE, i)
        content, found = _file_problems(where, test, assets)
        problems += found
        if content is not None:
            problems += _rule_file_problems(where, test, content, p.rule_files)
    return problems


# ----------------------------------------------------------------- promtool's answer

# What promtool names in a failure: the test group, the alert or expression and its time,
# a rule that failed to evaluate.
_FAILED_ITEM = re.compile(
    r"^\s*(name: .+?|alertname: .+?, time: [^,\s]+|expr: \".*\", time: [^,\s]+|"
    r"rule: .+?, time: [^,\s]+)\s*,?\s*$",
    re.MULTILINE,
)


def failure_summary(output: str) -> str:
    """The failing tests as promtool names them ('alertname: TargetDown, time: 7m; ...'),
    else its first line of complaint."""
    items = [m.group(1).rstrip(",") for m in _FAILED_ITEM.finditer(output)]
    if items:
        return "; ".join(dict.fromkeys(items))
    lines = [ln.strip() for ln in output.splitlines() if ln.strip()]
    said = [ln for ln in lines if not ln.startswith(("Unit Testing:", "FAILED"))]
    return said[0] if said else "promtool reported a failure"


# An alert or expression test as promtool names it when it fails.
_FAILED_TEST = re.compile(
    r"^\s*(?:alertname: (?P<alert>.+?)|expr: (?P<expr>\".*\")), time: (?P<time>[^,\s]+)",
    re.MULTILINE,
)
_DURATION_UNITS = {"y": 365 * 86400, "w": 7 * 86400, "d": 86400, "h": 3600, "m": 60, "s": 1}
_DURATION_PART = re.compile(r"(\d+)(ms|[ywdhms])")


def duration_seconds(text: str) -> float:
    """A Prometheus duration ('26h', or '1d2h' as promtool prints it) in seconds."""
    return sum(
        int(n) * (0.001 if unit == "ms" else _DURATION_UNITS[unit])
        for n, unit in _DURATION_PART.findall(text)
    )


def _unquoted(text: str) -> str:
    """An expression as promtool quotes it (Go's %q)."""
    try:
        value = json.loads(text)
    except ValueError:
        return text.strip('"')
    return value if isinstance(value, str) else text


def failing_entry(content: RuleTestFile, output: str) -> SpecPath | None:
    """Where in the test file (``tests[g].alert_rule_test[k]`` or ``promql_expr_test[k]``)
    the first alert or expression test promtool reports as failing is."""
    for found in _FAILED_TEST.finditer(output):
        at = duration_seconds(found["time"])
        for g, group in enumerate(content.tests):
            if found["alert"] is not None:
                tests = [(t.alertname, t.eval_time) for t in group.alert_rule_test]
                key, want = "alert_rule_test", found["alert"]
            else:
                tests = [(t.expr, t.eval_time) for t in group.promql_expr_test]
                key, want = "promql_expr_test", _unquoted(found["expr"])
            for k, (name, eval_time) in enumerate(tests):
                if name.strip() == want.strip() and duration_seconds(eval_time) == at:
                    return ("tests", g, key, k)
    return None


def failure_message(name: str, output: str) -> str:
    """A failed rule test as validate and apply report it: the test, what failed, and what
    promtool said (indented)."""
    said = [
        line.rstrip()
        for line in output.splitlines()
        if line.strip() and not line.startswith("Unit Testing:")
    ]
    body = "\n".join(f"    {line}" for line in textwrap.dedent("\n".join(said)).splitlines())
    return f"rule test {name!r} fails: {failure_summary(output)}\n{body}"
