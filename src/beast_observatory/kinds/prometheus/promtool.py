"""The promtool installed on this machine, running the rule tests at validate (a subprocess).

The rendered rule and test files are copied into a scratch folder laid out as the Prometheus
config folder (``rules/``, ``tests/``), and each test file runs on its own, from there, so
that promtool's report names the file as the bundle does and a failure belongs to one test.
On the host, apply runs the same files with the promtool of the Prometheus image
(deploy/apply.py).
"""

from __future__ import annotations

import shutil
import subprocess
import tempfile
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from beast_observatory.kinds.prometheus.rule_tests import rule_test_path

TIMEOUT = 120.0


@dataclass(frozen=True)
class TestRun:
    """One rule test file through ``promtool test rules``."""

    __test__ = False  # a result, not a test case (pytest would collect the name)

    name: str
    passed: bool
    output: str  # promtool's stdout and stderr, in the order it wrote them


def find_promtool() -> str | None:
    return shutil.which("promtool")


def run_rule_tests(
    promtool: str, files: Mapping[str, bytes], names: Sequence[str]
) -> list[TestRun]:
    """Each named test of ``files`` (paths relative to the Prometheus config folder)."""
    with tempfile.TemporaryDirectory(prefix="observatory-rule-tests-") as scratch:
        root = Path(scratch)
        for rel, data in files.items():
            path = root / rel
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_bytes(data)
        return [_run(promtool, root, name) for name in names]


def _run(promtool: str, root: Path, name: str) -> TestRun:
    argv = [promtool, "test", "rules", rule_test_path(name)]
    try:
        # One pipe for both streams: promtool writes "Unit Testing" to stdout and the failures
        # to stderr, and only a shared pipe keeps them in order.
        done = subprocess.run(
            argv,
            cwd=root,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            timeout=TIMEOUT,
            check=False,
        )
    except subprocess.TimeoutExpired:
        return TestRun(name, passed=False, output=f"promtool did not finish in {TIMEOUT:.0f}s")
    except OSError as exc:
        return TestRun(name, passed=False, output=f"{promtool} could not run: {exc}")
    return TestRun(name, done.returncode == 0, done.stdout.decode("utf-8", "replace"))
