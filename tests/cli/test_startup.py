"""`observatory --help` must start fast: the heavy libraries load only in the commands that
need them (the timing itself is measured by benchmarks/bench_startup.py, not asserted)."""

from __future__ import annotations

import json
import subprocess
import sys

HEAVY = ("fabric", "paramiko", "deepdiff", "jsonschema", "pydantic", "ruamel", "yaml")


def test_help_imports_no_heavy_library() -> None:
    code = (
        "import json, sys\n"
        "from beast_observatory.cli.app import main\n"
        "try:\n    main(['--help'])\nexcept SystemExit:\n    pass\n"
        f"print(json.dumps(sorted(m for m in sys.modules if m.split('.')[0] in {HEAVY!r})))\n"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    loaded = json.loads(done.stdout.strip().splitlines()[-1])
    assert loaded == [], f"imported at start-up: {loaded}"
