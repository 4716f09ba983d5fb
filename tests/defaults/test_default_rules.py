"""The default stack's rule files, checked and unit-tested by the real promtool.

promtool comes with Debian's `prometheus` package; CI installs it, so these tests fail
instead of skipping when it is missing.
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from importlib import resources
from pathlib import Path
from typing import Any

import pytest
import yaml

STACK = Path(str(resources.files("beast_observatory") / "defaults" / "stack"))
RULE_FILES = ["observatory-alerts.yml", "observatory-recording.yml"]
RULES_TEST = STACK / "tests" / "observatory-rules.yml"

# Values that stand in for Grafana's variables when a dashboard query goes through promtool.
GRAFANA_VARIABLES = {"$__rate_interval": "5m", '"$job"': '"backup"', '"$instance"': '"herbert"'}


@pytest.fixture(scope="module")
def promtool() -> str:
    path = shutil.which("promtool")
    if path is None:
        pytest.fail("promtool is not on PATH: install Debian's `prometheus` package")
    return path


def _run(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(args, capture_output=True, text=True, check=False, timeout=60)


def _rules(name: str) -> list[dict[str, Any]]:
    doc = yaml.safe_load((STACK / "rules" / name).read_text())
    return [rule for group in doc["groups"] for rule in group["rules"]]


@pytest.mark.parametrize("name", RULE_FILES)
def test_rule_file_passes_promtool_check(promtool: str, name: str) -> None:
    result = _run(promtool, "check", "rules", str(STACK / "rules" / name))
    assert result.returncode == 0, result.stdout + result.stderr
    assert "SUCCESS" in result.stdout


def test_rules_behave_as_their_unit_tests_say(promtool: str) -> None:
    # TargetDown fires after 5 minutes and not before; PushgatewayPushStale after an hour
    # unless the group pushes its own limit; PushgatewayPushFailing; job:up:ratio.
    result = _run(promtool, "test", "rules", str(RULES_TEST))
    assert result.returncode == 0, result.stdout + result.stderr


def test_the_unit_tests_cover_every_rule_file() -> None:
    listed = yaml.safe_load(RULES_TEST.read_text())["rule_files"]
    assert sorted(Path(path).name for path in listed) == sorted(RULE_FILES)
    assert all((RULES_TEST.parent / path).resolve().is_file() for path in listed)


def test_the_starter_spec_runs_the_unit_tests() -> None:
    # `observatory init` then `validate` runs them; `apply` runs them on the host.
    spec = yaml.safe_load((STACK / "observatory.yaml").read_text())
    tests = spec["services"]["prometheus"]["rule_tests"]
    assert [STACK / t["path"] for t in tests] == [RULES_TEST]


def test_the_alerts_that_matter_are_there() -> None:
    names = {rule["alert"] for rule in _rules("observatory-alerts.yml")}
    assert names >= {
        "TargetDown",
        "PrometheusConfigReloadFailed",
        "PrometheusRuleEvaluationFailures",
        "PrometheusTSDBCompactionsFailing",
        "PushgatewayPushStale",
        "PushgatewayPushFailing",
    }


@pytest.mark.parametrize("rule", _rules("observatory-alerts.yml"), ids=lambda rule: rule["alert"])
def test_alert_says_how_bad_and_where(rule: dict[str, Any]) -> None:
    assert rule["labels"]["severity"] in {"warning", "critical"}
    summary, description = rule["annotations"]["summary"], rule["annotations"]["description"]
    assert summary.strip()
    assert description.strip()
    assert "$labels." in summary
    assert "$labels." in description


def test_recording_rules_are_named_level_metric_operations() -> None:
    names = [rule["record"] for rule in _rules("observatory-recording.yml")]
    assert names
    assert all(re.fullmatch(r"[a-z_]+:[a-z_]+:[a-z0-9_]+", name) for name in names), names
    assert "job:up:ratio" in names


def _dashboard_queries() -> list[tuple[str, str]]:
    queries = []
    for path in sorted((STACK / "dashboards").glob("*.json")):
        doc = json.loads(path.read_text())
        panels = list(doc["panels"])
        while panels:
            panel = panels.pop()
            panels += panel.get("panels", [])
            queries += [
                (f"{path.stem}: {panel['title']}", t["expr"]) for t in panel.get("targets", [])
            ]
        queries += [
            (f"{path.stem}: {a['name']}", a["expr"])
            for a in doc["annotations"]["list"]
            if "expr" in a
        ]
    return queries


def _substitute_variables(expr: str) -> str:
    for variable, value in GRAFANA_VARIABLES.items():
        expr = expr.replace(variable, value)
    assert "$" not in expr, f"add a stand-in for the variable in: {expr}"
    return expr


def test_dashboard_queries_are_valid_promql(promtool: str, tmp_path: Path) -> None:
    # promtool parses every expression of a rule file: wrap each query in a recording rule.
    queries = _dashboard_queries()
    assert len(queries) > 30
    rules = [
        {"record": f"dashboard:query:q{index}", "expr": _substitute_variables(expr)}
        for index, (_, expr) in enumerate(queries)
    ]
    rule_file = tmp_path / "dashboard-queries.yml"
    rule_file.write_text(yaml.safe_dump({"groups": [{"name": "dashboards", "rules": rules}]}))
    result = _run(promtool, "check", "rules", str(rule_file))
    legend = "\n".join(f"q{index}: {title}" for index, (title, _) in enumerate(queries))
    assert result.returncode == 0, f"{result.stdout}{result.stderr}\n{legend}"
