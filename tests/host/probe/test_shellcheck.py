"""shellcheck -s sh finds nothing in any shell part of the probe, nor in the script they make.

Needs Debian's shellcheck (scripts/ci-setup.sh installs it): without it this test fails."""

from __future__ import annotations

import subprocess

import pytest

from beast_observatory.host.probe.build import part_names, probe_script, read_part
from external_tools import shellcheck as shellcheck_binary

SHELL_PARTS = [name for name in part_names() if name.endswith(".sh")]


def shellcheck(text: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [shellcheck_binary(), "--shell=sh", "--severity=style", "--format=gcc", "-"],
        input=text,
        capture_output=True,
        text=True,
        check=False,
        timeout=120,
    )


@pytest.mark.parametrize("part", SHELL_PARTS)
def test_every_shell_part_is_clean(part: str) -> None:
    result = shellcheck(read_part(part))
    assert result.returncode == 0, result.stdout + result.stderr


def test_the_built_script_is_clean() -> None:
    result = shellcheck(probe_script().decode())
    assert result.returncode == 0, result.stdout + result.stderr


def test_shellcheck_would_say_so() -> None:
    """The same call reports a finding (so the tests above can fail)."""
    result = shellcheck("# shellcheck shell=sh\necho $undefined_but_unquoted\n")
    assert result.returncode != 0
    assert "SC2154" in result.stdout or "SC2086" in result.stdout
