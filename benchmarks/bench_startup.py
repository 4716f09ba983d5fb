"""Time the cold start of `observatory --help` (a new process each time), median of --runs.

    python benchmarks/bench_startup.py [--runs 10]

Target: under 250 ms. Also lists the heavy modules that must not be imported at start-up
(fabric, paramiko, deepdiff, jsonschema, pydantic, ruamel) if one of them sneaks in.
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import time
from pathlib import Path

TARGET_SECONDS = 0.250
HEAVY = ("fabric", "paramiko", "deepdiff", "jsonschema", "pydantic", "ruamel", "invoke")


def _command() -> list[str]:
    script = Path(sys.executable).with_name("observatory")
    return [str(script)] if script.is_file() else [sys.executable, "-m", "beast_observatory"]


def _once(command: list[str]) -> float:
    start = time.perf_counter()
    result = subprocess.run([*command, "--help"], capture_output=True, check=False)
    elapsed = time.perf_counter() - start
    assert result.returncode == 0, result.stderr
    return elapsed


def _heavy_imports() -> list[str]:
    probe = (
        "import sys\n"
        "from beast_observatory.cli.app import app\n"
        "try:\n    app(['--help'], standalone_mode=False)\nexcept SystemExit:\n    pass\n"
        f"print('HEAVY:', *sorted({{m.split('.')[0] for m in sys.modules}} & set({HEAVY!r})))\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, check=True
    )
    return result.stdout.strip().splitlines()[-1].split()[1:]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=10)
    args = parser.parse_args()
    command = _command()
    _once(command)  # warm the page cache: "cold" means a new interpreter, not a cold disk
    times = [_once(command) for _ in range(args.runs)]
    median = statistics.median(times)
    heavy = _heavy_imports()
    print(
        f"observatory --help: median {median * 1000:.0f} ms over {args.runs} runs "
        f"(min {min(times) * 1000:.0f}, max {max(times) * 1000:.0f})"
    )
    print(f"heavy modules imported at start-up: {', '.join(heavy) or 'none'}")
    ok = median < TARGET_SECONDS and not heavy
    print(f"target < {TARGET_SECONDS * 1000:.0f} ms: {'met' if ok else 'MISSED'}")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
