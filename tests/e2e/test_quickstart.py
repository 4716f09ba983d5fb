"""scripts/quickstart.sh against the real engine: with the images there it brings the local
stack up (a generated Grafana password in a 0600 .env, shown once, then status and the URLs);
with an image that can be neither found nor pulled it says so and stops after the build."""

from __future__ import annotations

import re
import secrets
import stat
import subprocess
import sys
from pathlib import Path

from .conftest import StackFactory, StackSpec

SCRIPT = Path(__file__).resolve().parents[2] / "scripts" / "quickstart.sh"
SHOWN = re.compile(r"Grafana admin password \(shown this once[^\n]*\n\s+(\S+)\n")


def quickstart(stack: StackSpec) -> subprocess.CompletedProcess[str]:
    """The script on the stack's folder (its spec is reused), with this test's venv and no
    Grafana password in the environment: the script must make one."""
    env = {k: v for k, v in stack.env.items() if k != "GRAFANA_ADMIN_PASSWORD"}
    venv = Path(sys.executable).parent.parent
    env.update(VENV=str(venv), SKIP_INSTALL="1", PULL_TIMEOUT="60")
    return subprocess.run(
        ["bash", str(SCRIPT), str(stack.directory)],
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )


def test_an_image_that_cannot_be_pulled_stops_it_after_the_build(
    make_stack: StackFactory,
) -> None:
    absent = f"observatory-test/absent-{secrets.token_hex(4)}:none"
    stack = make_stack({"prometheus": {"image": absent}})
    done = quickstart(stack)
    assert done.returncode == 0, done.stdout + done.stderr
    assert (
        f"The local stack was not started: image {absent} is not on this machine and cannot be "
        "pulled" in done.stdout
    )
    assert "==> observatory up" not in done.stdout
    assert (stack.directory / "generated" / "local" / "docker-compose.yml").is_file()
    assert stack.containers() == {}


def test_with_the_images_there_it_brings_the_stack_up(make_stack: StackFactory) -> None:
    stack = make_stack()
    done = quickstart(stack)
    assert done.returncode == 0, done.stdout + done.stderr
    shown = SHOWN.search(done.stdout)
    assert shown is not None, done.stdout
    env_file = stack.directory / ".observatory" / "deploy" / "local" / ".env"
    assert stat.S_IMODE(env_file.stat().st_mode) == 0o600
    assert f"GRAFANA_ADMIN_PASSWORD='{shown.group(1)}'" in env_file.read_text()
    status = done.stdout.split("==> observatory status", 1)[1]
    for service in ("prometheus", "pushgateway", "grafana"):
        assert stack.url(service) in status
    assert set(stack.containers()) == {"prometheus", "pushgateway", "grafana"}

    # Once only: a second run keeps the password and does not show it.
    again = quickstart(stack)
    assert again.returncode == 0, again.stdout + again.stderr
    assert "Grafana admin password" not in again.stdout
    assert f"GRAFANA_ADMIN_PASSWORD='{shown.group(1)}'" in env_file.read_text()
