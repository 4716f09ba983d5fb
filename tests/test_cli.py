"""The command line as a user meets it: version, schema, init, config, exit codes."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from beast_observatory import __version__
from beast_observatory.cli.app import main
from beast_observatory.spec import load
from beast_observatory.spec.schema import schema_text

SCHEMA = Path(__file__).parents[1] / "schemas/observatory.schema.json"
REGENERATE = "observatory schema > schemas/observatory.schema.json"


def cli(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    capsys.readouterr()
    with pytest.raises(SystemExit) as exit_info:
        main(list(args))
    out, err = capsys.readouterr()
    code = exit_info.value.code
    return (code if isinstance(code, int) else 1), out, err


@pytest.fixture
def spec(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> Path:
    assert cli(capsys, "init", str(tmp_path))[0] == 0
    return tmp_path / "observatory.yaml"


def test_version(capsys: pytest.CaptureFixture[str]) -> None:
    assert cli(capsys, "--version")[:2] == (0, f"observatory {__version__}\n")


def test_version_of_the_installed_script() -> None:
    script = Path(sys.executable).with_name("observatory")
    command = [str(script)] if script.is_file() else [sys.executable, "-m", "beast_observatory"]
    result = subprocess.run(
        [*command, "--version"], capture_output=True, text=True, timeout=60, check=False
    )
    assert (result.returncode, result.stdout) == (0, f"observatory {__version__}\n")


def test_help_lists_the_commands(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = cli(capsys, "--help")
    assert code == 0
    for command in ("init", "validate", "build", "schema", "config"):
        assert command in out


def test_committed_schema_is_current(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = cli(capsys, "schema")
    assert code == 0
    assert out == schema_text()
    assert SCHEMA.is_file(), f"{SCHEMA} is missing: run `{REGENERATE}`"
    assert SCHEMA.read_text() == out, f"{SCHEMA} is stale: run `{REGENERATE}` and commit it"
    parsed = json.loads(out)
    assert parsed["$schema"] == "https://json-schema.org/draft/2020-12/schema"
    assert parsed["additionalProperties"] is False


def test_init_writes_the_modeline_first(spec: Path) -> None:
    first = spec.read_text().splitlines()[0]
    assert first.startswith("# yaml-language-server: $schema=https://")
    assert first.endswith(f"/v{__version__}/schemas/observatory.schema.json")
    assert sorted(p.name for p in (spec.parent / "dashboards").iterdir()) == [
        "node-exporter.json",
        "observatory-overview.json",
        "pushgateway-jobs.json",
    ]


def test_init_then_validate(spec: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = cli(capsys, "validate", "-f", str(spec))
    assert code == 0
    assert out == f"{spec}: valid (2 environment(s): local, remote)\n"


def test_init_refuses_to_overwrite(spec: Path, capsys: pytest.CaptureFixture[str]) -> None:
    spec.write_text("# mine\n")
    code, _, err = cli(capsys, "init", str(spec.parent))
    assert code == 1
    assert "already exists" in err
    assert "--force" in err
    assert spec.read_text() == "# mine\n"
    assert cli(capsys, "init", str(spec.parent), "--force")[0] == 0
    assert spec.read_text().startswith("# yaml-language-server:")


def test_config_show_merges_the_environment(spec: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = cli(capsys, "config", "show", "-f", str(spec), "-e", "remote")
    assert code == 0
    assert "environment: remote\n" in out
    assert "host: vonnegut\n" in out
    assert "      time: 30d\n      size: 20GB\n" in out
    code, out, _ = cli(capsys, "config", "show", "-f", str(spec), "-e", "local", "-o", "json")
    shown = json.loads(out)
    assert shown["services"]["prometheus"]["retention"] == {"time": "7d", "size": None}
    assert shown["host"] == "local"


def test_config_show_unknown_environment(spec: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = cli(capsys, "config", "show", "-f", str(spec), "-e", "staging")
    assert code == 1
    assert "no environment named 'staging'" in err
    assert "use one of: local, remote" in err


def test_config_get(spec: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert cli(capsys, "config", "get", "-f", str(spec), "services.grafana.port")[:2] == (
        0,
        "3000\n",
    )
    assert cli(
        capsys,
        "config",
        "get",
        "-f",
        str(spec),
        "-e",
        "remote",
        "services.prometheus.retention.time",
    )[:2] == (
        0,
        "30d\n",
    )
    code, out, _ = cli(
        capsys, "config", "get", "-f", str(spec), "services.prometheus.rule_files[1]"
    )
    assert (code, out) == (
        0,
        "name: observatory-recording\npath: rules/observatory-recording.yml\n",
    )
    code, _, err = cli(capsys, "config", "get", "-f", str(spec), "services.grafana.nope")
    assert code == 1
    assert "services.grafana.nope: not set in the spec" in err


def test_config_set_keeps_comments_and_revalidates(
    spec: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    before = spec.read_text()
    path = "environments.remote.services.prometheus.retention.time"
    code, out, _ = cli(capsys, "config", "set", "-f", str(spec), path, "45d")
    assert (code, out) == (0, f"{spec}: set {path}\n")
    after = spec.read_text()
    assert after == before.replace("time: 30d", "time: 45d")  # comments, modeline, layout kept
    assert (
        cli(
            capsys,
            "config",
            "get",
            "-f",
            str(spec),
            "-e",
            "remote",
            "services.prometheus.retention.time",
        )[1]
        == "45d\n"
    )


def test_config_set_adds_a_missing_key(spec: Path, capsys: pytest.CaptureFixture[str]) -> None:
    comments = [line for line in spec.read_text().splitlines() if line.lstrip().startswith("#")]
    assert (
        cli(capsys, "config", "set", "-f", str(spec), "services.prometheus.retention.time", "45d")[
            0
        ]
        == 0
    )
    assert (
        cli(capsys, "config", "get", "-f", str(spec), "services.prometheus.retention.time")[1]
        == "45d\n"
    )
    text = spec.read_text()
    assert all(comment in text for comment in comments)


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ("0", "greater than or equal to 1 (got 0)"),
        ("abc", "valid integer"),
        ("[9090]", "valid integer"),
    ],
)
def test_config_set_refuses_an_invalid_value(
    spec: Path, capsys: pytest.CaptureFixture[str], value: str, message: str
) -> None:
    before = spec.read_bytes()
    code, _, err = cli(capsys, "config", "set", "-f", str(spec), "services.prometheus.port", value)
    assert code == 1
    assert f"{spec}:" in err
    assert "services.prometheus.port" in err
    assert message in err
    assert f"{spec} was not changed" in err
    assert spec.read_bytes() == before
    assert sorted(p.name for p in spec.parent.iterdir()) == [
        "dashboards",
        "observatory.yaml",
        "rules",
        "tests",
    ]


def test_config_set_refuses_a_change_that_fails_a_cross_check(
    spec: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    before = spec.read_bytes()
    code, _, err = cli(capsys, "config", "set", "-f", str(spec), "services.grafana.port", "9090")
    assert code == 1
    assert "host port 9090 is already used by services.prometheus.port" in err
    assert spec.read_bytes() == before


def test_config_diff_lists_the_differences(spec: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = cli(capsys, "config", "diff", "-f", str(spec), "local", "remote")
    assert code == 0
    lines = out.splitlines()
    assert lines[0].split() == ["path", "local", "->", "remote"]
    assert "services.prometheus.retention.time  '7d' -> '30d'" in out
    assert "services.prometheus.retention.size  None -> '20GB'" in out
    assert not any(line.startswith("services.grafana") for line in lines)
    assert (
        cli(capsys, "config", "diff", "-f", str(spec), "local", "local")[1]
        == "local and local are identical\n"
    )


def test_unexpected_exception_exits_3_with_a_bug_hint(
    spec: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    def broken(path: Path | None) -> None:
        raise RuntimeError("boom")

    monkeypatch.delenv("OBSERVATORY_DEBUG", raising=False)
    monkeypatch.setattr(load, "load_project", broken)
    code, out, err = cli(capsys, "validate", "-f", str(spec))
    assert code == 3
    assert out == ""
    assert "internal error: RuntimeError: boom" in err
    assert f"this is a bug in beast-observatory {__version__}" in err
    assert "OBSERVATORY_DEBUG=1" in err
    assert "Traceback" not in err


def test_debug_lets_the_traceback_through(spec: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    def broken(path: Path | None) -> None:
        raise RuntimeError("boom")

    monkeypatch.setenv("OBSERVATORY_DEBUG", "1")
    monkeypatch.setattr(load, "load_project", broken)
    with pytest.raises(RuntimeError, match="boom"):
        main(["validate", "-f", str(spec)])


def test_ctrl_c_exits_130(
    spec: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    def interrupted(path: Path | None) -> None:
        raise KeyboardInterrupt

    monkeypatch.setattr(load, "load_project", interrupted)
    code, _, err = cli(capsys, "validate", "-f", str(spec))
    assert code == 130
    assert "interrupted" in err


def test_unknown_command_exits_1(capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = cli(capsys, "frobnicate")
    assert code == 1
    assert "No such command 'frobnicate'" in err


def test_unknown_option_exits_1(capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = cli(capsys, "build", "--colour")
    assert code == 1
    assert "No such option" in err


def test_missing_spec_is_a_user_error(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("OBSERVATORY_SPEC", raising=False)
    code, _, err = cli(capsys, "validate")
    assert code == 1
    assert "no observatory.yaml here" in err
    assert "observatory init" in err
    code, _, err = cli(capsys, "validate", "-f", "elsewhere.yaml")
    assert code == 1
    assert "elsewhere.yaml: no such spec file" in err
