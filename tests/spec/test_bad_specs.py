"""The corpus of bad specs: each one fails with a located message, exit 1, and touches nothing;
and of specs with warnings: valid, the warning named with its place and hint, an error with
``--strict``.

A case is a folder under ``bad/`` (errors) or ``warn/`` (warnings): ``observatory.yaml`` (plus
any files it references) and ``expected.txt``, one substring per line that the output must
contain. Cases too big or too binary to commit are generated here (``GENERATED``).
"""

from __future__ import annotations

import random
import shutil
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest

from beast_observatory.cli.app import main

BAD = Path(__file__).parent / "bad"
WARN = Path(__file__).parent / "warn"
SPEC = "observatory.yaml"
TEN_MIB = 10 * 1024 * 1024


def _huge() -> bytes:
    head = b"version: 1\nproject: demo\nenvironments:\n  local: {}\n"
    line = b"# " + b"padding " * 12 + b"\n"
    body = line * ((TEN_MIB - len(head)) // len(line) + 1)
    return (head + body)[:TEN_MIB]


def _binary() -> bytes:
    return random.Random(1234).randbytes(64 * 1024) + b"\x00"  # noqa: S311 - junk, not a secret


GENERATED: dict[str, Callable[[], bytes]] = {"huge-file": _huge, "binary-junk": _binary}
CASES = sorted(p.name for p in BAD.iterdir() if (p / "expected.txt").is_file())
WARNINGS = sorted(p.name for p in WARN.iterdir() if (p / "expected.txt").is_file())


def observatory() -> list[str]:
    script = Path(sys.executable).with_name("observatory")
    return [str(script)] if script.is_file() else [sys.executable, "-m", "beast_observatory"]


def run(args: list[str], cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [*observatory(), *args], cwd=cwd, capture_output=True, text=True, timeout=120, check=False
    )


def snapshot(root: Path) -> dict[str, bytes | None]:
    """Every file (bytes) and folder (None) under root, by relative path."""
    return {
        p.relative_to(root).as_posix(): p.read_bytes() if p.is_file() else None
        for p in sorted(root.rglob("*"))
    }


@pytest.fixture(scope="module")
def previous_build(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A good stack built once; each case gets a copy of its output."""
    root = tmp_path_factory.mktemp("good")
    for args in (
        ["init", str(root / "stack")],
        ["build", "-f", "stack/observatory.yaml", "--out", "out"],
    ):
        result = run(args, cwd=root)
        assert result.returncode == 0, result.stderr
    return root / "out"


def case_dir(name: str, tmp_path: Path, corpus: Path = BAD) -> Path:
    target = tmp_path / name
    shutil.copytree(corpus / name, target)
    (target / "expected.txt").unlink()
    if name in GENERATED:
        (target / SPEC).write_bytes(GENERATED[name]())
    return target


def expected(name: str, corpus: Path = BAD) -> list[str]:
    return [line for line in (corpus / name / "expected.txt").read_text().splitlines() if line]


def test_corpus_covers_the_issue() -> None:
    assert len(CASES) >= 17
    assert len(WARNINGS) >= 5
    for name in CASES:
        assert (BAD / name / SPEC).is_file() or name in GENERATED, name
    assert not set(CASES) & set(WARNINGS)


@pytest.mark.parametrize("name", CASES)
def test_validate_names_the_problem(name: str, tmp_path: Path) -> None:
    case = case_dir(name, tmp_path)
    result = run(["validate", "-f", SPEC], cwd=case)
    assert result.returncode == 1, result.stdout + result.stderr
    assert "Traceback" not in result.stderr
    assert "internal error" not in result.stderr
    for text in expected(name):
        assert text in result.stderr, f"{text!r} not in:\n{result.stderr}"
    assert result.stdout == ""


@pytest.mark.parametrize("name", CASES)
def test_build_fails_and_leaves_previous_output_untouched(
    name: str, tmp_path: Path, previous_build: Path
) -> None:
    case = case_dir(name, tmp_path)
    out = tmp_path / "generated"
    shutil.copytree(previous_build, out)
    before, neighbours = snapshot(out), sorted(p.name for p in tmp_path.iterdir())
    result = run(["build", "-f", SPEC, "--out", str(out)], cwd=case)
    assert result.returncode == 1, result.stdout + result.stderr
    assert "Traceback" not in result.stderr
    for text in expected(name):
        assert text in result.stderr, f"{text!r} not in:\n{result.stderr}"
    assert snapshot(out) == before
    assert sorted(p.name for p in tmp_path.iterdir()) == neighbours  # no staging left behind


@pytest.mark.parametrize("name", CASES)
def test_in_process_validate_gives_the_same_message(
    name: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.chdir(case_dir(name, tmp_path))
    with pytest.raises(SystemExit) as exit_info:
        main(["validate", "-f", SPEC])
    assert exit_info.value.code == 1
    err = capsys.readouterr().err
    for text in expected(name):
        assert text in err


@pytest.mark.parametrize("name", WARNINGS)
def test_a_warning_is_named_and_stops_nothing_unless_strict(name: str, tmp_path: Path) -> None:
    case = case_dir(name, tmp_path, WARN)
    result = run(["validate", "-f", SPEC], cwd=case)
    assert result.returncode == 0, result.stdout + result.stderr
    assert result.stdout == f"{SPEC}: valid (1 environment(s): local)\n"
    for text in expected(name, WARN):
        assert text in result.stderr, f"{text!r} not in:\n{result.stderr}"
    assert all(line.startswith("warning: ") for line in result.stderr.splitlines())
    strict = run(["validate", "-f", SPEC, "--strict"], cwd=case)
    assert strict.returncode == 1
    for text in expected(name, WARN):
        assert text in strict.stderr
    built = run(["build", "-f", SPEC, "--out", str(tmp_path / "out")], cwd=case)
    assert built.returncode == 0, built.stderr
    assert (tmp_path / "out/local/docker-compose.yml").is_file()
