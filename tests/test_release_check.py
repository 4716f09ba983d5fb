"""scripts/check-release.py: the release workflow's gate on tag, version and CHANGELOG."""

from __future__ import annotations

import importlib.util
import subprocess
import sys
from pathlib import Path
from types import ModuleType

import pytest

from beast_observatory import __version__

ROOT = Path(__file__).resolve().parent.parent
SCRIPT = ROOT / "scripts" / "check-release.py"


def load_checker() -> ModuleType:
    spec = importlib.util.spec_from_file_location("check_release", SCRIPT)
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


check = load_checker()


def make_repo(root: Path, version: str, changelog: str) -> Path:
    package = root / "src" / "beast_observatory"
    package.mkdir(parents=True)
    (package / "__init__.py").write_text(f'"""Doc."""\n\n__version__ = "{version}"\n')
    (root / "CHANGELOG.md").write_text(changelog)
    return root


CHANGELOG = """# Changelog

## [Unreleased]

## [1.2.0] - 2027-01-05

### Added
- things

## [1.1.0] - 2026-12-01
"""


def run(argv: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str]:
    code = check.main(argv)
    out, err = capsys.readouterr()
    return code, out, err


def test_this_repository_is_releasable_at_its_version(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = run([f"v{__version__}", "--root", str(ROOT)], capsys)
    assert code == 0, err
    assert f"beast-observatory {__version__}" in out


def test_matching_tag_and_entry_pass(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    make_repo(tmp_path, "1.2.0", CHANGELOG)
    assert run(["v1.2.0", "--root", str(tmp_path)], capsys)[0] == 0
    assert run(["refs/tags/v1.2.0", "--root", str(tmp_path)], capsys)[0] == 0
    assert run(["1.2.0", "--root", str(tmp_path)], capsys)[0] == 0


def test_tag_that_differs_from_the_version_fails(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    make_repo(tmp_path, "1.1.0", CHANGELOG)
    code, out, err = run(["v1.2.0", "--root", str(tmp_path)], capsys)
    assert code == 1
    assert out == ""
    assert "tag v1.2.0 says version 1.2.0" in err
    assert "src/beast_observatory/__init__.py says 1.1.0" in err


def test_version_without_a_changelog_entry_fails(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    make_repo(tmp_path, "1.3.0", CHANGELOG + "\nSee [1.3.0] later; ## [1.3.0] not a heading\n")
    code, _out, err = run(["v1.3.0", "--root", str(tmp_path)], capsys)
    assert code == 1
    assert "CHANGELOG.md has no entry for 1.3.0" in err
    assert "## [1.3.0] - YYYY-MM-DD" in err


def test_entry_for_a_longer_version_does_not_count(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    make_repo(tmp_path, "1.2.0", "# Changelog\n\n## [1.2.01] - 2027-01-05\n")
    code, _out, err = run(["v1.2.0", "--root", str(tmp_path)], capsys)
    assert code == 1
    assert "no entry for 1.2.0" in err


@pytest.mark.parametrize("tag", ["release-1", "v1.2", "vlatest", ""])
def test_tag_that_is_not_a_version_fails(
    tag: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    make_repo(tmp_path, "1.2.0", CHANGELOG)
    code, _out, err = run([tag, "--root", str(tmp_path)], capsys)
    assert code == 1
    assert "is not a release tag: expected vX.Y.Z" in err


def test_missing_version_line_fails(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    make_repo(tmp_path, "1.2.0", CHANGELOG)
    (tmp_path / "src" / "beast_observatory" / "__init__.py").write_text("VERSION = '1.2.0'\n")
    code, _out, err = run(["v1.2.0", "--root", str(tmp_path)], capsys)
    assert code == 1
    assert "no `__version__" in err


def test_missing_changelog_fails(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    make_repo(tmp_path, "1.2.0", CHANGELOG)
    (tmp_path / "CHANGELOG.md").unlink()
    code, _out, err = run(["v1.2.0", "--root", str(tmp_path)], capsys)
    assert code == 1
    assert "cannot read the changelog" in err


def test_command_line_exit_code_as_the_workflow_sees_it(tmp_path: Path) -> None:
    make_repo(tmp_path, "1.1.0", CHANGELOG)
    result = subprocess.run(
        [sys.executable, str(SCRIPT), "v1.2.0", "--root", str(tmp_path)],
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 1
    assert result.stderr.startswith("release check failed: tag v1.2.0")
