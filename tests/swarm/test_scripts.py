"""shellcheck -s sh finds nothing in the scripts apply runs on a Swarm manager."""

from __future__ import annotations

from importlib import resources

import pytest

from host.probe.test_shellcheck import shellcheck

SCRIPTS = sorted(
    p.name
    for p in (resources.files("beast_observatory.swarm") / "scripts").iterdir()
    if p.name.endswith(".sh")
)


def test_the_scripts_are_there() -> None:
    assert {"converge.sh", "probe.sh", "secrets.sh"} <= set(SCRIPTS)


@pytest.mark.parametrize("script", SCRIPTS)
def test_every_script_is_clean(script: str) -> None:
    text = (resources.files("beast_observatory.swarm") / "scripts" / script).read_text()
    result = shellcheck(text)
    assert result.returncode == 0, result.stdout + result.stderr
