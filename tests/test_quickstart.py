"""scripts/quickstart.sh: shellcheck finds nothing in it, and on a machine without Docker it
builds, says plainly that the stack was not started and exits 0. (With an engine whose images
are missing: tests/e2e/test_quickstart.py.)"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

from external_tools import shellcheck

ROOT = Path(__file__).resolve().parent.parent
SCRIPT = ROOT / "scripts" / "quickstart.sh"
# What the script runs besides the venv's own programs.
TOOLS = (
    "bash", "cat", "dirname", "find", "grep", "ls", "mktemp", "python3", "rm", "sed", "sort",
    "tail", "timeout",
)  # fmt: skip


def run_quickstart(dest: Path, path: str, **env: str) -> subprocess.CompletedProcess[str]:
    """The script with this test's venv (nothing installed) and PATH."""
    venv = Path(sys.executable).parent.parent
    assert (venv / "bin" / "observatory").exists(), f"{venv} has no observatory: pip install -e ."
    return subprocess.run(
        ["bash", str(SCRIPT), str(dest)],
        env={**os.environ, "PATH": path, "VENV": str(venv), "SKIP_INSTALL": "1", **env},
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )


def path_without_docker(bin_dir: Path) -> str:
    bin_dir.mkdir()
    for tool in TOOLS:
        found = shutil.which(tool)
        assert found is not None, tool
        (bin_dir / tool).symlink_to(found)
    return str(bin_dir)


def test_shellcheck_finds_nothing() -> None:
    found = subprocess.run(
        [shellcheck(), "--severity=style", "--format=gcc", str(SCRIPT)],
        capture_output=True,
        text=True,
        check=False,
    )
    assert found.returncode == 0, found.stdout


def test_without_docker_it_builds_says_so_and_exits_0(tmp_path: Path) -> None:
    dest = tmp_path / "obs"
    done = run_quickstart(dest, path_without_docker(tmp_path / "bin"))
    assert done.returncode == 0, done.stdout + done.stderr
    assert (dest / "generated" / "local" / "docker-compose.yml").is_file()
    assert (
        "The local stack was not started: Docker is not installed here (no docker command on PATH)."
        in done.stdout
    )
    assert "observatory up " in done.stdout  # what to run once Docker is there
    assert "==> observatory up" not in done.stdout
    assert not (dest / ".observatory" / "deploy" / "local" / ".env").exists()
    # A second run reuses the spec and stops at the same place.
    again = run_quickstart(dest, path_without_docker(tmp_path / "bin2"))
    assert again.returncode == 0, again.stderr
    assert f"reusing {dest}/observatory.yaml" in again.stdout
    assert "The local stack was not started: Docker is not installed here" in again.stdout


def test_an_engine_that_does_not_answer_is_named(tmp_path: Path) -> None:
    bin_dir = Path(path_without_docker(tmp_path / "bin"))
    # A docker client whose engine is down: `docker info` fails.
    fake = bin_dir / "docker"
    fake.write_text("#!/bin/sh\necho 'Cannot connect to the Docker daemon' >&2\nexit 1\n")
    fake.chmod(0o755)
    done = run_quickstart(tmp_path / "obs", str(bin_dir))
    assert done.returncode == 0, done.stdout + done.stderr
    assert "The local stack was not started: no Docker engine answers ('docker info' failed" in (
        done.stdout
    )
