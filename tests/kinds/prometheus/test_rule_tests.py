"""Rule tests rendered as promtool test files that run where they land (generated/, a release
on the host), and promtool's report of a failure read back as the test and what failed."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest
import yaml

from beast_observatory.kinds.prometheus.model import RuleTestFile
from beast_observatory.kinds.prometheus.rule_tests import (
    duration_seconds,
    failing_entry,
    failure_message,
    failure_summary,
)
from bundles import render, spec_data
from external_tools import promtool

RULES = "groups:\n  - name: up\n    rules: [{record: 'job:up:sum', expr: sum by (job) (up)}]\n"
GROUP = {
    "interval": "1m",
    "input_series": [{"series": 'up{job="node"}', "values": "1x5"}],
    "promql_expr_test": [
        {
            "expr": "job:up:sum",
            "eval_time": "2m",
            "exp_samples": [{"labels": 'job:up:sum{job="node"}', "value": 1}],
        }
    ],
}

# What promtool 2.42 writes (stdout and stderr in one pipe) when a test fails.
ALERT_FAILED = """\
Unit Testing:  tests/observatory-rules.yml
  FAILED:
    alertname: TargetDown, time: 6m,
        exp:[],
        got:[
            0:
              Labels:{alertname="TargetDown", instance="vonnegut:9100", job="node"}
            ]
"""
EXPR_FAILED = """\
Unit Testing:  tests/t.yml
  FAILED:
    expr: "x", time: 1m,
        exp: {__name__="x"} 2E+00
        got: {__name__="x"} 1E+00


"""
BAD_FILE = """\
Unit Testing:  tests/t.yml
  FAILED:
    1:1: group "a", rule 1, "x": could not parse expression: 1:3: parse error
"""


def test_a_test_file_by_path_names_the_rendered_rule_files() -> None:
    test_file = "rule_files: [../rules/up.yml]\ntests: []\n"
    data = spec_data(
        {
            "prometheus": {
                "rule_files": [{"name": "up-rules", "path": "rules/up.yml"}],
                "rule_tests": [{"name": "up", "path": "tests/up.yml"}],
            }
        }
    )
    bundle = render(data, {"rules/up.yml": RULES.encode(), "tests/up.yml": test_file.encode()})
    rendered = yaml.safe_load(bundle.files["prometheus/tests/up.yml"])
    assert rendered["rule_files"] == ["../rules/up-rules.yml"]
    assert "prometheus/rules/up-rules.yml" in bundle.files


def test_the_rendered_tests_run_as_they_are_in_the_prometheus_folder(tmp_path: Path) -> None:
    data = spec_data(
        {
            "prometheus": {
                "rule_files": [{"name": "up", "groups": yaml.safe_load(RULES)["groups"]}],
                "rule_tests": [{"name": "inline", "tests": [GROUP]}],
            }
        }
    )
    bundle = render(data)
    for rel, content in bundle.files.items():
        if rel.startswith("prometheus/"):
            target = tmp_path / rel
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_bytes(content)
    done = subprocess.run(
        [promtool(), "test", "rules", "tests/inline.yml"],
        cwd=tmp_path / "prometheus",
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    # A rule file it did not find would give no sample, and the test would fail.
    assert done.returncode == 0, done.stdout + done.stderr
    assert "WARNING" not in done.stdout + done.stderr


@pytest.mark.parametrize(
    ("output", "summary"),
    [
        (ALERT_FAILED, "alertname: TargetDown, time: 6m"),
        (EXPR_FAILED, 'expr: "x", time: 1m'),
        (BAD_FILE, '1:1: group "a", rule 1, "x": could not parse expression: 1:3: parse error'),
        ("", "promtool reported a failure"),
    ],
)
def test_what_failed_is_read_from_promtools_report(output: str, summary: str) -> None:
    assert failure_summary(output) == summary


def test_the_failure_message_names_the_test_and_keeps_promtools_words() -> None:
    message = failure_message("observatory-rules", ALERT_FAILED)
    head, *body = message.splitlines()
    assert head == "rule test 'observatory-rules' fails: alertname: TargetDown, time: 6m"
    assert body[0] == "    FAILED:"
    assert "Unit Testing" not in message
    assert any('Labels:{alertname="TargetDown"' in line for line in body)


@pytest.mark.parametrize(
    ("written", "printed", "seconds"),
    [("26h", "1d2h", 93600), ("90s", "1m30s", 90), ("0", "0s", 0), ("1w", "7d", 604800)],
)
def test_a_duration_as_written_is_the_one_promtool_prints(
    written: str, printed: str, seconds: int
) -> None:
    assert duration_seconds(written) == duration_seconds(printed) == seconds


def test_the_failing_test_promtool_names_is_found_in_the_test_file() -> None:
    alert = {"alertname": "TargetDown", "exp_alerts": []}
    content = RuleTestFile.model_validate(
        {
            "tests": [
                {"alert_rule_test": [{**alert, "eval_time": "1m"}]},
                {
                    "alert_rule_test": [{**alert, "eval_time": "5m"}, {**alert, "eval_time": "6m"}],
                    "promql_expr_test": [{"expr": 'up{job="x"}', "eval_time": "26h"}],
                },
            ]
        }
    )
    assert failing_entry(content, ALERT_FAILED) == ("tests", 1, "alert_rule_test", 1)
    expr_failed = '  FAILED:\n    expr: "up{job=\\"x\\"}", time: 1d2h,\n'
    assert failing_entry(content, expr_failed) == ("tests", 1, "promql_expr_test", 0)
    assert failing_entry(content, BAD_FILE) is None  # no test of the file is named
