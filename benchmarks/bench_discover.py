"""Discovery of a host running 30 containers, through SSH, in ONE round trip.

    python benchmarks/bench_discover.py [--containers 30] [--runs 3]

Starts N small containers (the busybox test image, labelled with this benchmark's own label,
removed afterwards whatever happens), starts the test sshd (tests/host/sshd.py, Host alias
``vonnegut``), then runs the probe through SshTransport --runs times and prints the wall time
(median), the bytes transferred (probe script sent + output received) and the round trips, both
as the transport counts them and as sshd's "Starting session" lines say. Other containers on the
engine are probed too (it is the whole host): their number is printed beside ours.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT / "src"), str(ROOT / "tests")]

from beast_observatory.host.probe.run import ProbeRun, run_probe  # noqa: E402
from beast_observatory.host.transport import HostTarget  # noqa: E402
from beast_observatory.host.transport.ssh import SshTransport  # noqa: E402
from e2e.docker_env import TEST_IMAGES  # noqa: E402
from host.sshd import ALIAS, TestSshd  # noqa: E402

LABEL = "org.beast-observatory.bench"


def docker(*args: str) -> str:
    done = subprocess.run(
        ["docker", *args], capture_output=True, text=True, timeout=120, check=True
    )
    return done.stdout


def start_containers(count: int, tag: str) -> None:
    for i in range(count):
        docker(
            "run",
            "-d",
            "--name",
            f"obsbench-{tag}-{i:02d}",
            "--label",
            f"{LABEL}={tag}",
            "-e",
            f"WORKER={i}",
            "-e",
            "API_TOKEN=bench-secret",
            TEST_IMAGES["busybox"],
            "sh",
            "-c",
            "trap 'exit 0' TERM; while sleep 1; do :; done",
        )


def remove_containers(tag: str) -> None:
    ids = docker("ps", "-aq", "--filter", f"label={LABEL}={tag}").split()
    if ids:
        docker("rm", "-f", *ids)


def probe_once(sshd: TestSshd) -> tuple[ProbeRun, int]:
    target = HostTarget(ALIAS, ssh_config_path=sshd.ssh_config, known_hosts_path=sshd.known_hosts)
    before = sshd.count_sessions()
    transport = SshTransport(target)
    try:
        run = run_probe(transport)
    finally:
        transport.close()
    time.sleep(0.3)  # sshd writes its log asynchronously
    return run, sshd.count_sessions() - before


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--containers", type=int, default=30)
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    tag = str(os.getpid())
    try:
        start_containers(args.containers, tag)
        with TestSshd() as sshd:
            runs = [probe_once(sshd) for _ in range(args.runs)]
    finally:
        remove_containers(tag)
    last, sessions = runs[-1]
    ours = [c for c in last.inventory["containers"] if c["labels"].get(LABEL) == tag]
    assert len(ours) == args.containers, f"saw {len(ours)} of our {args.containers} containers"
    assert all(c["env"]["API_TOKEN"].startswith("<redacted sha256:") for c in ours)
    seconds = statistics.median(r.seconds for r, _ in runs)
    total = len(last.inventory["containers"])
    print(f"containers on the host : {total} ({len(ours)} of this benchmark)")
    print(
        f"wall time (median of {args.runs}) : {seconds:.2f} s  (runs: "
        + ", ".join(f"{r.seconds:.2f}" for r, _ in runs)
        + ")"
    )
    print(f"bytes sent (script)    : {last.bytes_sent}")
    print(f"bytes received (JSON)  : {last.bytes_received}")
    print(f"bytes transferred      : {last.bytes_sent + last.bytes_received}")
    print(f"round trips            : {last.round_trips} (transport), {sessions} (sshd sessions)")
    print(f"problems recorded      : {len(last.inventory['problems'])}")
    return 0 if last.round_trips == 1 and sessions == 1 else 1


if __name__ == "__main__":
    sys.exit(main())
