"""Time `observatory build` on a large spec: 2,000 scrape jobs, 200 rule groups, 300 dashboards.

    python benchmarks/bench_build.py [--runs 5] [--keep DIR]

Generates the spec in a temporary folder, then times the build in-process (the compiler alone,
imports already paid) and as a subprocess (what a user waits for), median of --runs each.
Target: under 1.5 s on a 2-core machine.
"""

from __future__ import annotations

import argparse
import contextlib
import io
import json
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

TARGET_SECONDS = 1.5
JOBS = 2000
RULE_GROUPS = 200
DASHBOARDS = 300


def _dashboard(i: int) -> dict[str, Any]:
    panels = []
    for p in range(8):
        expr = f'sum by (instance) (rate(http_requests_total{{job="app-{i}", code=~"5.."}}[5m]))'
        panels.append(
            {
                "id": p + 1,
                "type": "timeseries",
                "title": f"Panel {p}",
                "gridPos": {"h": 8, "w": 12, "x": (p % 2) * 12, "y": (p // 2) * 8},
                "datasource": {"type": "prometheus", "uid": "prometheus"},
                "fieldConfig": {"defaults": {"unit": "reqps"}, "overrides": []},
                "options": {"legend": {"displayMode": "list", "placement": "bottom"}},
                "targets": [
                    {
                        "refId": "A",
                        "expr": expr,
                        "legendFormat": "{{instance}}",
                        "datasource": {"type": "prometheus", "uid": "prometheus"},
                    }
                ],
            }
        )
    return {
        "uid": f"bench-{i:04d}",
        "title": f"Bench {i}",
        "schemaVersion": 39,
        "version": 1,
        "tags": ["bench"],
        "time": {"from": "now-6h", "to": "now"},
        "panels": panels,
        "templating": {"list": []},
        "annotations": {"list": []},
    }


def _rule_file(i: int) -> str:
    return (
        "groups:\n"
        f"  - name: bench-{i}\n"
        "    rules:\n"
        f"      - record: job:http_requests:rate5m_{i}\n"
        f'        expr: sum by (job) (rate(http_requests_total{{shard="{i}"}}[5m]))\n'
        f"      - alert: HighErrorRate{i}\n"
        f"        expr: job:http_requests:rate5m_{i} > 100\n"
        "        for: 10m\n"
        "        labels:\n          severity: warning\n"
        "        annotations:\n"
        f'          summary: "Shard {i} serves too many errors"\n'
    )


def _spec() -> str:
    lines = [
        "version: 1",
        "project: bench",
        "environments:",
        "  local: {}",
        "  remote:",
        "    ssh: {host: vonnegut}",
        "    services:",
        "      prometheus:",
        "        retention: {time: 30d}",
        "services:",
        "  prometheus:",
        "    scrape_jobs:",
    ]
    for j in range(JOBS):
        lines += [
            f"      - name: job-{j:04d}",
            f'        targets: ["host-{j % 97}.example:{9100 + j % 50}",'
            f' "host-{j % 89}.example:9100"]',
            f"        labels: {{team: team-{j % 13}, tier: t{j % 3}}}",
        ]
    lines.append("    rule_files:")
    for r in range(RULE_GROUPS):
        lines += [f"      - name: bench-{r:03d}", f"        path: rules/bench-{r:03d}.yml"]
    lines += [
        "  grafana:",
        "    dashboards:",
        "      - name: bench",
        "        folder: Bench",
        "        files: [dashboards/*.json]",
    ]
    return "\n".join(lines) + "\n"


def generate(root: Path) -> Path:
    (root / "rules").mkdir(parents=True)
    (root / "dashboards").mkdir()
    for r in range(RULE_GROUPS):
        (root / f"rules/bench-{r:03d}.yml").write_text(_rule_file(r))
    for d in range(DASHBOARDS):
        (root / f"dashboards/bench-{d:03d}.json").write_text(json.dumps(_dashboard(d), indent=2))
    spec = root / "observatory.yaml"
    spec.write_text(_spec())
    return spec


def _in_process(spec: Path, out: Path) -> float:
    from beast_observatory.bundle.build import build_command  # noqa: PLC0415

    start = time.perf_counter()
    code = build_command(spec, None, out, check=False, echo=lambda _line: None)
    elapsed = time.perf_counter() - start
    assert code == 0
    return elapsed


def _subprocess(spec: Path, out: Path, *, fresh: bool) -> tuple[float, float]:
    """Wall and CPU seconds of one `observatory build` process (CPU: less noisy on a busy box)."""
    if fresh:
        shutil.rmtree(out, ignore_errors=True)
    script = Path(sys.executable).with_name("observatory")
    command = [str(script)] if script.is_file() else [sys.executable, "-m", "beast_observatory"]
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    result = subprocess.run(
        [*command, "build", "-f", str(spec), "--out", str(out)],
        capture_output=True,
        text=True,
        check=False,
    )
    elapsed = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    assert result.returncode == 0, result.stderr
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return elapsed, cpu


def _size(out: Path) -> tuple[int, float]:
    files = [p for p in out.rglob("*") if p.is_file()]
    return len(files), sum(p.stat().st_size for p in files) / 1e6


def _line(label: str, times: list[float]) -> str:
    runs = ", ".join(f"{t:.3f}" for t in times)
    return f"{label}: median {statistics.median(times):.3f} s (runs: {runs})"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--keep", type=Path, help="generate into this folder and keep it")
    args = parser.parse_args()
    with contextlib.ExitStack() as stack:
        root = args.keep or Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="bench-")))
        spec = generate(root / "stack")
        out = root / "generated"
        with contextlib.redirect_stdout(io.StringIO()):
            _in_process(spec, out)  # warm-up: imports, page cache
        inproc = [_in_process(spec, out) for _ in range(args.runs)]
        fresh = [_subprocess(spec, out, fresh=True) for _ in range(args.runs)]
        rebuild = [_subprocess(spec, out, fresh=False) for _ in range(args.runs)]
        files, megabytes = _size(out)
    print(
        f"spec: {JOBS} scrape jobs, {RULE_GROUPS} rule groups, {DASHBOARDS} dashboards,"
        " 2 environments"
    )
    print(f"output: {files} files, {megabytes:.1f} MB")
    print(_line("build in-process (rebuild)", inproc))
    print(_line("observatory build, empty output (wall)", [w for w, _ in fresh]))
    print(_line("observatory build, empty output (cpu) ", [c for _, c in fresh]))
    print(_line("observatory build, rebuild (wall)     ", [w for w, _ in rebuild]))
    print(_line("observatory build, rebuild (cpu)      ", [c for _, c in rebuild]))
    worst = max(
        statistics.median([w for w, _ in fresh]), statistics.median([w for w, _ in rebuild])
    )
    ok = worst < TARGET_SECONDS
    print(f"target < {TARGET_SECONDS} s (wall, median): {'met' if ok else 'MISSED'}")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
