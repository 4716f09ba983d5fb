"""The generated stack on Compose v1 (Debian's docker-compose 1.29), still common on older
hosts: detected, and the same files boot, report and stop with it."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest

from .conftest import StackFactory

V1 = Path("/usr/bin/docker-compose")

pytestmark = pytest.mark.e2e


def v1_environment(tmp_path: Path) -> dict[str, str]:
    """No compose plugin (an empty DOCKER_CONFIG) and only Debian's docker-compose on PATH."""
    bindir = tmp_path / "bin"
    bindir.mkdir()
    (bindir / "docker-compose").symlink_to(V1)
    docker = subprocess.run(
        ["sh", "-c", "command -v docker"], capture_output=True, text=True, check=True
    )
    (bindir / "docker").symlink_to(docker.stdout.strip())
    (tmp_path / "docker-config").mkdir()
    return {
        "PATH": f"{bindir}:/usr/bin:/bin",
        "DOCKER_CONFIG": str(tmp_path / "docker-config"),
        "HOME": os.environ.get("HOME", "/root"),
    }


def test_compose_v1_is_installed_for_these_tests() -> None:
    assert V1.exists(), "Debian's docker-compose (v1) is missing: run scripts/ci-setup.sh"
    version = subprocess.run(
        [str(V1), "version", "--short"], capture_output=True, text=True, check=True
    )
    assert version.stdout.startswith("1.29")


def test_the_stack_runs_on_compose_v1(make_stack: StackFactory, tmp_path: Path) -> None:
    stack = make_stack(name="v1")
    env = v1_environment(tmp_path)
    built = stack.cli("build", env=env)
    assert built.exit_code == 0, built.explain()
    config = subprocess.run(
        [
            str(V1),
            "-p",
            stack.project,
            "-f",
            str(stack.directory / "generated/local/docker-compose.yml"),
            "config",
            "-q",
        ],
        env={**stack.env, **env},
        capture_output=True,
        text=True,
        check=False,
    )
    assert config.returncode == 0, config.stderr

    up = stack.cli("up", "--timeout", "120", env=env)
    assert up.exit_code == 0, up.explain()
    assert "using docker-compose 1.29" in up.stdout, up.explain()
    assert "healthy" in up.stdout
    status = stack.cli("status", "--output", "json", env=env)
    assert status.exit_code == 0, status.explain()
    logs = stack.cli("logs", "prometheus", "--tail", "3", env=env)
    assert logs.exit_code == 0, logs.explain()
    assert "prometheus" in logs.stdout, logs.explain()
    down = stack.cli("down", env=env)
    assert down.exit_code == 0, down.explain()
    assert stack.containers() == {}
