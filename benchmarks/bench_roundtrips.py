"""Round trips and wall time of the host commands on the starter stack, on loopback and a WAN.

    python benchmarks/bench_roundtrips.py [--delay-ms 50] [--runs 1]

Starts the test sshd (tests/host/sshd.py, Host alias ``vonnegut``), writes the starter spec
(``observatory init``) with its ``remote`` environment deployed through it onto this machine's
Docker engine (the locally built test images, free ports on 127.0.0.1: the e2e suite's
``write_remote_spec``), applies it once, then runs each command as a user would (the CLI in a
subprocess) and prints its connections and sessions as sshd counted them ("Connection from"
and "Starting session" lines of its VERBOSE log) and its wall time:

    plan, status, up (nothing to do), apply (nothing to do),
    apply of a scrape-interval change (``observatory config set``), discover

first straight to sshd on loopback, then through a forwarder started here: a TCP proxy on
127.0.0.1 that delays every chunk by --delay-ms each way (a WAN round trip of twice that).
The CLI runs with its bytecode cached (as `pip install` leaves it), in a folder of the benchmark.
The stack is taken down with its volumes and sshd is stopped whatever happens. A script that
prints figures, not a timed test.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections import deque
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT / "src"), str(ROOT / "tests")]

from e2e.conftest import CliResult  # noqa: E402
from e2e.docker_env import cleanup_test_leftovers  # noqa: E402
from e2e.remote_fixtures import RemoteStack, write_remote_spec  # noqa: E402
from host.sshd import ALIAS, TestSshd  # noqa: E402

SCRAPE_PATH = "environments.remote.services.prometheus.global.scrape_interval"
APPLY = ("--auto-approve", "--timeout", "90", "--scrape-wait", "60")
_CHUNK = 65536
# The CLI runs with its bytecode cached, as from `pip install` (which compiles it), even where
# the environment says PYTHONDONTWRITEBYTECODE: in the benchmark's own folder (set by main).
BYTECODE: dict[str, str] = {}


# ------------------------------------------------------------------ a delaying forwarder


class _Pipe:
    """One direction of a forwarded connection: every chunk is written delay seconds after it
    was read, in order (latency, not a bandwidth limit)."""

    def __init__(self, source: socket.socket, sink: socket.socket, delay: float) -> None:
        self._source, self._sink, self._delay = source, sink, delay
        self._queue: deque[tuple[float, bytes]] = deque()
        self._ready = threading.Condition()
        threading.Thread(target=self._read, daemon=True).start()
        threading.Thread(target=self._write, daemon=True).start()

    def _read(self) -> None:
        while True:
            try:
                chunk = self._source.recv(_CHUNK)
            except OSError:
                chunk = b""
            with self._ready:
                self._queue.append((time.monotonic() + self._delay, chunk))
                self._ready.notify()
            if not chunk:
                return

    def _write(self) -> None:
        while True:
            with self._ready:
                while not self._queue:
                    self._ready.wait()
                due, chunk = self._queue.popleft()
            time.sleep(max(0.0, due - time.monotonic()))
            try:
                if not chunk:
                    self._sink.shutdown(socket.SHUT_WR)
                    return
                self._sink.sendall(chunk)
            except OSError:
                return


class DelayingForwarder:
    """127.0.0.1:port -> 127.0.0.1:target, delaying each chunk both ways."""

    def __init__(self, target: int, delay: float) -> None:
        self._target, self.delay = target, delay
        self._listener = socket.create_server(("127.0.0.1", 0))
        self.port: int = self._listener.getsockname()[1]
        self._open: list[socket.socket] = []
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self) -> None:
        while True:
            try:
                client, _ = self._listener.accept()
            except OSError:
                return
            upstream = socket.create_connection(("127.0.0.1", self._target))
            for sock in (client, upstream):
                sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            self._open += [client, upstream]
            _Pipe(client, upstream, self.delay)
            _Pipe(upstream, client, self.delay)

    def close(self) -> None:
        self._listener.close()
        for sock in self._open:
            with contextlib.suppress(OSError):
                sock.close()


# ------------------------------------------------------------------ measuring commands


@dataclass(frozen=True)
class Link:
    name: str
    ssh_config: Path
    known_hosts: Path


@dataclass(frozen=True)
class Figure:
    connections: int
    sessions: int
    seconds: float
    note: str = ""
    fastest: float = 0.0  # of the runs: the machine's other work only ever adds to a run


def link_through(forwarder: DelayingForwarder, sshd: TestSshd, directory: Path) -> Link:
    """An ssh config and known_hosts that reach vonnegut through the forwarder."""
    config = directory / "ssh_config_wan"
    config.write_text(
        sshd.ssh_config.read_text().replace(f"Port {sshd.port}", f"Port {forwarder.port}")
    )
    known = directory / "known_hosts_wan"
    known.write_text(f"[127.0.0.1]:{forwarder.port} {sshd.host_public_key()}\n")
    return Link(f"delayed ({round(forwarder.delay * 1000)} ms each way)", config, known)


def cli(stack: RemoteStack, link: Link, command: str, *args: str) -> CliResult:
    argv = [command, *args]
    if command != "config":
        argv += ["--host", ALIAS, "--ssh-config", str(link.ssh_config)]
        argv += ["--known-hosts", str(link.known_hosts)]
        if command != "discover":
            argv += ["--environment", "remote"]
    return stack.spec.cli(*argv, timeout=300, env=BYTECODE)


def counts(sshd: TestSshd) -> tuple[int, int]:
    text = sshd.log_text()
    return text.count("Connection from"), text.count("Starting session")


def measured(
    stack: RemoteStack, link: Link, command: str, *args: str, ok: tuple[int, ...] = (0,)
) -> Figure:
    before = counts(stack.sshd)
    started = time.monotonic()
    result = cli(stack, link, command, *args)
    seconds = time.monotonic() - started
    if result.exit_code not in ok:
        raise SystemExit(f"unexpected exit:\n{result.explain()}")
    time.sleep(0.3)  # sshd writes its log lines asynchronously
    after = counts(stack.sshd)
    return Figure(after[0] - before[0], after[1] - before[1], seconds)


def prometheus_process(stack: RemoteStack) -> tuple[str, int, str]:
    """id, pid and start of the Prometheus container: a restart changes the pid."""
    cid = stack.containers()["prometheus"]
    fmt = "{{.Id}} {{.State.Pid}} {{.State.StartedAt}}"
    out = subprocess.run(
        ["docker", "inspect", "--format", fmt, cid],
        capture_output=True,
        text=True,
        check=True,
        timeout=60,
    ).stdout.split()
    return out[0], int(out[1]), out[2]


def scrape_change(stack: RemoteStack, link: Link, value: str) -> Figure:
    done = cli(stack, link, "config", "set", SCRAPE_PATH, value)
    if done.exit_code != 0:
        raise SystemExit(done.explain())
    before = prometheus_process(stack)
    figure = measured(stack, link, "apply", *APPLY)
    restarted = prometheus_process(stack) != before
    note = "Prometheus RESTARTED" if restarted else "Prometheus reloaded, not restarted"
    return Figure(figure.connections, figure.sessions, figure.seconds, note)


def median(figures: list[Figure]) -> Figure:
    last = figures[-1]
    seconds = statistics.median(f.seconds for f in figures)
    fastest = min(f.seconds for f in figures)
    return Figure(last.connections, last.sessions, seconds, last.note, fastest)


COMMANDS: list[tuple[str, Callable[[RemoteStack, Link, int], Figure]]] = [
    ("plan", lambda s, link, _: measured(s, link, "plan")),
    ("status", lambda s, link, _: measured(s, link, "status")),
    ("up, nothing to do", lambda s, link, _: measured(s, link, "up", "--timeout", "90")),
    ("apply, nothing to do", lambda s, link, _: measured(s, link, "apply", *APPLY)),
    ("apply of a scrape-interval change", lambda s, link, i: scrape_change(s, link, f"{i + 2}s")),
    (
        "discover",
        lambda s, link, _: measured(s, link, "discover", "--out", str(s.spec.directory / "disc")),
    ),
]


def run_all(stack: RemoteStack, link: Link, runs: int, counter: list[int]) -> dict[str, Figure]:
    out = {}
    for name, run in COMMANDS:
        figures = []
        for _ in range(runs):
            figures.append(run(stack, link, counter[0]))
            counter[0] += 1
        out[name] = median(figures)
        print(f"  {link.name}: {name}: {out[name]}", file=sys.stderr)
    return out


def table(links: list[Link], results: dict[str, dict[str, Figure]]) -> str:
    header = ["command"] + [f"{link.name}: conn / sessions, median (fastest)" for link in links]
    rows = [header]
    for name, _ in COMMANDS:
        cells = [name]
        for link in links:
            f = results[link.name][name]
            cells.append(f"{f.connections} / {f.sessions}, {f.seconds:.2f} s ({f.fastest:.2f} s)")
        rows.append(cells)
    widths = [max(len(r[i]) for r in rows) for i in range(len(header))]
    lines = [
        "| " + " | ".join(c.ljust(w) for c, w in zip(r, widths, strict=True)) + " |" for r in rows
    ]
    lines.insert(1, "|" + "|".join("-" * (w + 2) for w in widths) + "|")
    notes = {f.note for res in results.values() for f in res.values() if f.note}
    return "\n".join(lines + [f"({note})" for note in sorted(notes)])


@contextlib.contextmanager
def deployed_stack(root: Path, sshd: TestSshd) -> Iterator[RemoteStack]:
    stack = write_remote_spec(root / "spec", sshd, root / "deploy", {})
    loopback = Link("loopback", sshd.ssh_config, sshd.known_hosts)
    try:
        first = cli(stack, loopback, "apply", *APPLY)
        if first.exit_code != 0:
            raise SystemExit(f"the first apply failed:\n{first.explain()}")
        yield stack
    finally:
        down = cli(stack, loopback, "down", "--volumes", "--yes")
        if down.exit_code != 0 or stack.containers() or stack.volumes():
            cleanup_test_leftovers(stack.project)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--delay-ms", type=float, default=50.0, help="delay of each chunk, each way"
    )
    parser.add_argument("--runs", type=int, default=3, help="runs per command (median time)")
    args = parser.parse_args()
    root = Path(tempfile.mkdtemp(prefix="observatory-bench-"))
    BYTECODE.update(PYTHONDONTWRITEBYTECODE="", PYTHONPYCACHEPREFIX=str(root / "pycache"))
    forwarder = None
    try:
        with TestSshd(root / "sshd") as sshd, deployed_stack(root, sshd) as stack:
            loopback = Link("loopback", sshd.ssh_config, sshd.known_hosts)
            forwarder = DelayingForwarder(sshd.port, args.delay_ms / 1000)
            wan = link_through(forwarder, sshd, root)
            links = [loopback, wan]
            counter = [0]
            # One `up` first: the deployment of the first apply is then the steady state of
            # both commands (whatever either writes the first time it sees the other's).
            cli(stack, loopback, "up", "--timeout", "90")
            results = {link.name: run_all(stack, link, args.runs, counter) for link in links}
            print(json.dumps({k: {n: vars(f) for n, f in v.items()} for k, v in results.items()}))
            print(table(links, results))
    finally:
        if forwarder is not None:
            forwarder.close()
        shutil.rmtree(root, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
