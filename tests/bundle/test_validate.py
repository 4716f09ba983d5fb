"""``observatory validate`` as a user and a CI meet it: the rule tests run by the real promtool
(a failing one fails validation and is named), and every problem in text, JSON and GitHub
annotations on the line of the spec entry that has it."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from beast_observatory.cli.app import main
from beast_observatory.kinds.prometheus import promtool
from bundles import spec_data, write_project
from external_tools import promtool as installed_promtool

RULES = """\
groups:
  - name: disk
    rules:
      - alert: DiskFull
        expr: disk_free_ratio < 0.1
        for: 5m
        labels: {severity: critical}
        annotations: {summary: "{{ $labels.instance }} is full"}
"""


def alert_test(eval_time: str, alerts: list[dict[str, Any]]) -> dict[str, Any]:
    return {
        "interval": "1m",
        "input_series": [{"series": 'disk_free_ratio{instance="herbert"}', "values": "0.05x10"}],
        "alert_rule_test": [
            {"eval_time": eval_time, "alertname": "DiskFull", "exp_alerts": alerts}
        ],
    }


FIRES = {
    "exp_labels": {"severity": "critical", "instance": "herbert"},
    "exp_annotations": {"summary": "herbert is full"},
}


def disk_spec(tests: list[dict[str, Any]]) -> dict[str, Any]:
    rule_files = [{"name": "disk", "path": "rules/disk.yml"}]
    prometheus = {"rule_files": rule_files, "rule_tests": tests}
    return spec_data({"prometheus": prometheus, "grafana": {"enabled": False}})


def cli(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    capsys.readouterr()
    with pytest.raises(SystemExit) as exit_info:
        main(list(args))
    out, err = capsys.readouterr()
    code = exit_info.value.code
    return (code if isinstance(code, int) else 1), out, err


def line_of(spec: Path, text: str) -> int:
    """The 1-based line of the first line of spec holding text."""
    lines = spec.read_text().splitlines()
    return next(i for i, line in enumerate(lines, 1) if text in line)


@pytest.fixture(autouse=True)
def _promtool_installed() -> None:
    installed_promtool()  # fails, not skips, where promtool is missing


@pytest.fixture
def starter(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> Path:
    assert cli(capsys, "init", str(tmp_path))[0] == 0
    return tmp_path / "observatory.yaml"


def test_the_starters_rule_tests_pass(starter: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = cli(capsys, "validate", "-f", str(starter), "--strict")
    assert code == 0, err
    assert "valid (2 environment(s): local, remote)" in out
    assert err == ""  # no warning either: promtool ran them


def test_a_rule_that_breaks_the_starters_tests_fails_validation(
    starter: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    alerts = starter.parent / "rules" / "observatory-alerts.yml"
    text = alerts.read_text()
    assert "        for: 5m\n" in text
    alerts.write_text(text.replace("        for: 5m\n", "        for: 1m\n", 1))  # TargetDown
    code, _, err = cli(capsys, "validate", "-f", str(starter))
    assert code == 1
    assert "rule test 'observatory-rules' fails: alertname: TargetDown, time: 6m" in err
    # At the failing test in the test file beside the spec, under the spec entry's path.
    test_file = starter.parent / "tests" / "observatory-rules.yml"
    place = (
        f"{test_file}:{line_of(test_file, 'eval_time: 6m')}:9: services.prometheus.rule_tests[0]:"
    )
    assert place in err
    assert "promtool test rules tests/observatory-rules.yml" in err  # how to run it again
    assert "Traceback" not in err


def test_an_inline_rule_test_that_passes(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    tests = [{"name": "disk", "tests": [alert_test("4m", []), alert_test("6m", [FIRES])]}]
    spec = write_project(tmp_path, disk_spec(tests), {"rules/disk.yml": RULES})
    code, out, err = cli(capsys, "validate", "-f", str(spec))
    assert (code, err) == (0, "")
    assert "valid" in out


def test_a_failing_inline_rule_test_is_named_in_json_at_its_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    tests = [
        {"name": "disk-fires", "tests": [alert_test("6m", [FIRES])]},
        {"name": "disk-too-early", "tests": [alert_test("3m", [FIRES])]},  # pending at 3m
    ]
    spec = write_project(tmp_path, disk_spec(tests), {"rules/disk.yml": RULES})
    code, out, _ = cli(capsys, "validate", "-f", str(spec), "--output", "json")
    assert code == 1
    report = json.loads(out)
    assert (report["valid"], report["errors"], report["warnings"]) == (False, 1, 0)
    [problem] = report["diagnostics"]
    assert problem["message"].startswith(
        "rule test 'disk-too-early' fails: alertname: DiskFull, time: 3m"
    )
    assert problem["file"] == str(spec)
    assert problem["line"] == line_of(spec, "eval_time: 3m")  # the failing alert test
    assert problem["column"] is not None
    assert problem["path"] == "services.prometheus.rule_tests[1].tests[0].alert_rule_test[0]"
    assert problem["severity"] == "error"
    assert "fix the rule, or what the test expects" in problem["hint"]


def test_a_failing_rule_test_is_a_github_annotation_on_its_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("GITHUB_WORKSPACE", str(tmp_path))
    tests = [{"name": "disk-alert", "tests": [alert_test("3m", [FIRES])]}]
    spec = write_project(tmp_path / "stack", disk_spec(tests), {"rules/disk.yml": RULES})
    code, out, err = cli(capsys, "validate", "-f", str(spec), "--output", "github")
    assert code == 1
    [annotation] = out.splitlines()
    line = line_of(spec, "eval_time: 3m")
    assert annotation.startswith(f"::error file=stack/observatory.yaml,line={line},col=")
    assert "::rule test 'disk-alert' fails: alertname: DiskFull, time: 3m%0A" in annotation
    assert "not valid: 1 error(s)" in err


def test_schema_errors_carry_their_line_in_json_and_github(
    starter: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(starter.parent)
    text = starter.read_text()
    starter.write_text(text.replace("    port: 9090\n", "    port: 9090\n    retension: 30d\n", 1))
    line = line_of(starter, "retension")
    code, out, _ = cli(capsys, "validate", "--output", "json")
    assert code == 1
    report = json.loads(out)
    assert report["spec"] == "observatory.yaml"
    [problem] = report["diagnostics"]
    assert (problem["file"], problem["line"], problem["column"]) == ("observatory.yaml", line, 5)
    assert problem["path"] == "services.prometheus.retension"
    assert "unknown key" in problem["message"]

    code, out, _ = cli(capsys, "validate", "--output", "github")
    assert code == 1
    assert out.startswith(f"::error file=observatory.yaml,line={line},col=5,")


def test_a_check_of_a_rule_test_points_at_the_entry(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    tests = [{"name": "disk", "rule_files": ["memory"], "tests": [alert_test("6m", [FIRES])]}]
    spec = write_project(tmp_path, disk_spec(tests), {"rules/disk.yml": RULES})
    code, out, _ = cli(capsys, "validate", "-f", str(spec), "-o", "json")
    assert code == 1
    [problem] = json.loads(out)["diagnostics"]
    assert problem["path"] == "services.prometheus.rule_tests[0].rule_files[0]"
    assert problem["line"] == line_of(spec, "- memory")
    assert "no rule file named 'memory'" in problem["message"]


def test_a_test_file_naming_no_rule_file_of_the_spec_is_refused(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    test_file = "rule_files: [../rules/other.yml]\ntests: []\n"
    tests = [{"name": "disk", "path": "tests/disk.yml"}]
    files = {"rules/disk.yml": RULES, "tests/disk.yml": test_file}
    spec = write_project(tmp_path, disk_spec(tests), files)
    code, _, err = cli(capsys, "validate", "-f", str(spec))
    assert code == 1
    assert "tests/disk.yml: rule_files entry '../rules/other.yml' is none of the spec's" in err


def test_without_promtool_the_tests_are_a_warning(
    starter: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(promtool, "find_promtool", lambda: None)
    code, out, err = cli(capsys, "validate", "-f", str(starter))
    assert code == 0
    assert "valid" in out
    assert "promtool is not installed here: the rule tests were not run" in err
    assert cli(capsys, "validate", "-f", str(starter), "--strict")[0] == 1


def test_a_failing_expression_test_is_placed_at_its_entry(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    group = {
        "interval": "1m",
        "input_series": [{"series": 'disk_free_ratio{instance="herbert"}', "values": "0.5x10"}],
        "promql_expr_test": [
            {"expr": "disk_free_ratio", "eval_time": "1h", "exp_samples": []},  # 10 samples only
            {
                "expr": 'disk_free_ratio{instance="herbert"} * 2',
                "eval_time": "5m",
                "exp_samples": [{"labels": '{instance="herbert"}', "value": 2}],
            },
        ],
    }
    tests = [{"name": "disk", "tests": [group]}]
    spec = write_project(tmp_path, disk_spec(tests), {"rules/disk.yml": RULES})
    code, out, _ = cli(capsys, "validate", "-f", str(spec), "-o", "json")
    assert code == 1
    [problem] = json.loads(out)["diagnostics"]
    assert problem["message"].startswith(
        'rule test \'disk\' fails: expr: "disk_free_ratio{instance=\\"herbert\\"} * 2", time: 5m'
    )
    assert problem["path"] == "services.prometheus.rule_tests[0].tests[0].promql_expr_test[1]"
    assert problem["line"] == line_of(spec, "* 2")
