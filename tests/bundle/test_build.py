"""``observatory build``: the files, determinism, pruning, ``--check`` and atomic replacement."""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from beast_observatory.bundle import write as writer
from beast_observatory.cli.app import main

EXPECTED = {
    ".env.example",
    "docker-compose.yml",
    "manifest.json",
    "grafana/grafana.ini",
    "grafana/provisioning/datasources/observatory.yml",
    "grafana/provisioning/dashboards/observatory.yml",
    "grafana/dashboards/observatory/node-exporter.json",
    "grafana/dashboards/observatory/observatory-overview.json",
    "grafana/dashboards/observatory/pushgateway-jobs.json",
    "prometheus/prometheus.yml",
    "prometheus/rules/observatory-alerts.yml",
    "prometheus/rules/observatory-recording.yml",
    "prometheus/tests/observatory-rules.yml",
}


def cli(*args: str) -> int:
    with pytest.raises(SystemExit) as exit_info:
        main(list(args))
    code = exit_info.value.code
    return code if isinstance(code, int) else 1


def tree(root: Path) -> dict[str, bytes]:
    return {
        p.relative_to(root).as_posix(): p.read_bytes()
        for p in sorted(root.rglob("*"))
        if p.is_file()
    }


@pytest.fixture
def stack(tmp_path: Path) -> Path:
    """The embedded default stack, initialised into tmp_path/stack; returns its spec."""
    assert cli("init", str(tmp_path / "stack")) == 0
    return tmp_path / "stack" / "observatory.yaml"


def build(spec: Path, out: Path, *extra: str) -> int:
    return cli("build", "-f", str(spec), "--out", str(out), *extra)


def test_build_writes_every_file_of_every_environment(stack: Path, tmp_path: Path) -> None:
    out = tmp_path / "generated"
    assert build(stack, out) == 0
    assert sorted(p.name for p in out.iterdir()) == ["local", "remote"]
    for env in ("local", "remote"):
        assert set(tree(out / env)) == EXPECTED
    assert b"--storage.tsdb.retention.time=7d" in (out / "local/docker-compose.yml").read_bytes()
    assert b"--storage.tsdb.retention.time=30d" in (out / "remote/docker-compose.yml").read_bytes()
    assert (out / "local/.env.example").read_text().splitlines()[-1] == "GRAFANA_ADMIN_PASSWORD="


def test_build_one_environment(stack: Path, tmp_path: Path) -> None:
    out = tmp_path / "generated"
    assert build(stack, out, "-e", "remote") == 0
    assert [p.name for p in out.iterdir()] == ["remote"]


def test_unknown_environment_is_a_user_error(
    stack: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert build(stack, tmp_path / "generated", "-e", "staging") == 1
    assert "no environment named 'staging'" in capsys.readouterr().err
    assert not (tmp_path / "generated").exists()


def test_output_has_no_machine_specific_content(stack: Path, tmp_path: Path) -> None:
    out = tmp_path / "generated"
    assert build(stack, out) == 0
    for path, data in tree(out).items():
        assert str(tmp_path).encode() not in data, path
        assert b"\r\n" not in data, path
        assert data.endswith(b"\n"), path


def test_two_builds_are_byte_identical(stack: Path, tmp_path: Path) -> None:
    assert build(stack, tmp_path / "a") == 0
    assert build(stack, tmp_path / "b") == 0
    assert tree(tmp_path / "a") == tree(tmp_path / "b")


def test_builds_are_identical_across_hash_seeds(stack: Path, tmp_path: Path) -> None:
    script = Path(sys.executable).with_name("observatory")
    command = [str(script)] if script.is_file() else [sys.executable, "-m", "beast_observatory"]
    trees = []
    for seed in ("0", "1", "random"):
        out = tmp_path / f"seed-{seed}"
        env = {**os.environ, "PYTHONHASHSEED": seed}
        result = subprocess.run(
            [*command, "build", "-f", str(stack), "--out", str(out)],
            env=env,
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )
        assert result.returncode == 0, result.stderr
        trees.append(tree(out))
    assert trees[0] == trees[1] == trees[2]


def test_a_file_the_spec_no_longer_produces_is_removed(stack: Path, tmp_path: Path) -> None:
    out = tmp_path / "generated"
    assert build(stack, out) == 0
    recording = out / "local/prometheus/rules/observatory-recording.yml"
    tests = out / "local/prometheus/tests/observatory-rules.yml"
    assert recording.is_file()
    assert tests.is_file()
    text = stack.read_text()
    # The rule file, and the tests that name it (validation refuses tests of a missing file).
    rule = "      - name: observatory-recording\n        path: rules/observatory-recording.yml\n"
    test = "    rule_tests:\n      - name: observatory-rules\n"
    test += "        path: tests/observatory-rules.yml\n"
    assert rule in text
    assert test in text
    stack.write_text(text.replace(rule, "").replace(test, ""))
    assert build(stack, out) == 0
    assert not recording.exists()
    assert not tests.exists()
    assert (out / "local/prometheus/rules/observatory-alerts.yml").is_file()
    manifest = (out / "local/manifest.json").read_text()
    assert "prometheus/rules/observatory-recording.yml" not in manifest
    assert "prometheus/tests/observatory-rules.yml" not in manifest


def test_dot_env_survives_a_rebuild(stack: Path, tmp_path: Path) -> None:
    out = tmp_path / "generated"
    assert build(stack, out) == 0
    secrets = out / "local/.env"
    secrets.write_text("GRAFANA_ADMIN_PASSWORD=s3cret\n")
    secrets.chmod(0o600)
    assert build(stack, out) == 0
    assert secrets.read_text() == "GRAFANA_ADMIN_PASSWORD=s3cret\n"
    assert secrets.stat().st_mode & 0o777 == 0o600
    assert '.env"' not in (out / "local/manifest.json").read_text()
    assert build(stack, out, "--check") == 0  # .env is neither stale nor extra


def test_check_lists_missing_stale_and_extra_and_writes_nothing(
    stack: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "generated"
    assert build(stack, out) == 0
    local = out / "local"
    (local / "grafana/grafana.ini").unlink()
    (local / "prometheus/prometheus.yml").write_text("# edited by hand\n")
    (local / "notes.txt").write_text("mine\n")
    before = tree(out)
    capsys.readouterr()
    assert build(stack, out, "--check") == 1
    printed = capsys.readouterr().out
    assert f"missing: {local / 'grafana/grafana.ini'}" in printed
    assert f"stale: {local / 'prometheus/prometheus.yml'}" in printed
    assert f"extra: {local / 'notes.txt'}" in printed
    assert f"{out / 'remote'}: up to date" in printed
    assert "1 environment(s) out of date" in printed
    assert tree(out) == before


def test_check_on_a_missing_tree_fails_and_creates_nothing(stack: Path, tmp_path: Path) -> None:
    assert build(stack, tmp_path / "generated", "--check") == 1
    assert not (tmp_path / "generated").exists()


def test_check_passes_right_after_a_build(stack: Path, tmp_path: Path) -> None:
    out = tmp_path / "generated"
    assert build(stack, out) == 0
    assert build(stack, out, "--check") == 0


def test_failed_build_leaves_the_previous_tree_untouched(
    stack: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "generated"
    assert build(stack, out) == 0
    before = tree(out)
    (stack.parent / "dashboards/node-exporter.json").write_text('{"uid": "broken",')
    assert build(stack, out) == 1
    err = capsys.readouterr().err
    assert "dashboards/node-exporter.json: not valid JSON" in err
    assert tree(out) == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["generated", "stack"]


def test_manifest_hashes_match_the_files(stack: Path, tmp_path: Path) -> None:
    out = tmp_path / "generated"
    assert build(stack, out) == 0
    for env in ("local", "remote"):
        manifest = json.loads((out / env / "manifest.json").read_text())
        files = tree(out / env)
        del files["manifest.json"]
        assert manifest["environment"] == env
        assert manifest["project"] == "beast-observatory"
        assert len(manifest["spec_sha256"]) == 64
        assert manifest["files"] == {
            path: hashlib.sha256(data).hexdigest() for path, data in sorted(files.items())
        }


def test_spec_hash_follows_the_environment(stack: Path, tmp_path: Path) -> None:
    out = tmp_path / "generated"
    assert build(stack, out) == 0
    local, remote = (
        json.loads((out / e / "manifest.json").read_text()) for e in ("local", "remote")
    )
    assert local["spec_sha256"] != remote["spec_sha256"]
    stack.write_text(stack.read_text().replace("time: 30d", "time: 31d"))
    assert build(stack, out) == 0
    assert (
        json.loads((out / "local/manifest.json").read_text())["spec_sha256"] == local["spec_sha256"]
    )
    assert (
        json.loads((out / "remote/manifest.json").read_text())["spec_sha256"]
        != remote["spec_sha256"]
    )


def test_rebuild_without_rename_exchange(
    stack: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Kernels without renameat2 get the rename-aside fallback: same result, nothing left over."""
    out = tmp_path / "generated"
    assert build(stack, out) == 0
    (out / "local/.env").write_text("X=1\n")
    monkeypatch.setattr(writer, "_exchange", lambda _a, _b: False)
    stack.write_text(stack.read_text().replace("time: 7d", "time: 8d"))
    assert build(stack, out) == 0
    assert b"retention.time=8d" in (out / "local/docker-compose.yml").read_bytes()
    assert (out / "local/.env").read_text() == "X=1\n"
    assert sorted(p.name for p in out.iterdir()) == ["local", "remote"]


def test_unwritable_output_is_a_user_error(
    stack: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("not a folder\n")
    assert build(stack, blocker / "generated") == 1
    assert f"cannot write {blocker / 'generated'}" in capsys.readouterr().err


def test_spec_is_found_under_stacks(
    stack: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    repo = tmp_path / "repo"
    shutil.copytree(stack.parent, repo / "stacks/beast")
    monkeypatch.chdir(repo)
    assert cli("build") == 0
    assert (repo / "generated/local/docker-compose.yml").is_file()


def test_the_repositorys_own_generated_tree_is_current(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """generated/ is the repository's own stack compiled (as CI's `observatory build --check`
    from the repository root): a change of the renderer shows up here first."""
    monkeypatch.chdir(Path(__file__).parents[2])
    assert cli("build", "--check") == 0, capsys.readouterr().out
    assert "generated/local: up to date" in capsys.readouterr().out
