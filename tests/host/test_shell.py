"""The shell pieces the tool runs on hosts: one convention, clean under shellcheck.

Every piece is a file in a scripts/ folder beside the modules that run it (host/shell.py);
Debian's `shellcheck -s sh` must find nothing in any of them. The probe (host/probe/) is not
checked here yet: it is being split into pieces of its own.
"""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

import pytest

import beast_observatory
from beast_observatory.host.shell import HostScript, deploy_script, host_script, script_name

PACKAGE = Path(beast_observatory.__file__).parent
SHIPPED = sorted(p for p in PACKAGE.rglob("*.sh") if "host/probe" not in p.as_posix())
SCRIPT_IN_PYTHON = re.compile(r"\[\s*[\"']sh[\"'],\s*[\"']-c[\"']")


def test_the_shell_pieces_are_found() -> None:
    names = {p.relative_to(PACKAGE).as_posix() for p in SHIPPED}
    assert {"host/scripts/lock.sh", "deploy/scripts/stage.sh", "deploy/scripts/switch.sh"} <= names
    assert all(p.parent.name == "scripts" for p in SHIPPED), "a shell piece outside scripts/"


def test_shellcheck_is_installed() -> None:
    assert shutil.which("shellcheck"), "shellcheck is missing: run scripts/ci-setup.sh"


@pytest.mark.parametrize("script", SHIPPED, ids=[p.name for p in SHIPPED])
def test_shellcheck_finds_nothing(script: Path) -> None:
    done = subprocess.run(
        ["shellcheck", "-s", "sh", str(script)], capture_output=True, text=True, check=False
    )
    assert done.returncode == 0, done.stdout + done.stderr


@pytest.mark.parametrize("script", SHIPPED, ids=[p.name for p in SHIPPED])
def test_each_piece_says_what_it_does_and_how_it_is_called(script: Path) -> None:
    text = script.read_text()
    assert text.startswith("# "), f"{script.name}: no comment saying what it does"
    assert "# Usage: " in text[:2000], f"{script.name}: no usage line near the top"


def test_no_module_of_the_deploy_path_holds_a_shell_script() -> None:
    """Shell text lives in the scripts/ files; modules pass values as arguments or stdin."""
    offenders = [
        p.relative_to(PACKAGE).as_posix()
        for folder in ("host", "deploy")
        for p in (PACKAGE / folder).rglob("*.py")
        if "probe" not in p.parts and SCRIPT_IN_PYTHON.search(p.read_text())
    ]
    assert offenders == ["host/shell.py"]  # where `sh -c SCRIPT NAME ARGS` is put together


def test_a_piece_runs_by_its_name_with_its_arguments_as_data(tmp_path: Path) -> None:
    script = host_script("files.sh")
    argv = script.argv("read", str(tmp_path / "$(touch pwned)"))
    assert argv[:2] == ["sh", "-c"]
    assert argv[2] == (PACKAGE / "host" / "scripts" / "files.sh").read_text()
    assert script_name(argv) == "files"
    done = subprocess.run(argv, capture_output=True, cwd=tmp_path, check=False)
    assert done.returncode == 3  # no such file
    assert not (tmp_path / "pwned").exists()
    assert deploy_script("stage.sh") == HostScript("beast_observatory.deploy", "stage.sh")
