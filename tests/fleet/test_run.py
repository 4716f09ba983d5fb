"""Several hosts at once: never more than --concurrency in flight, outcomes in order, a failing
host failing for itself, --fail-fast starting no further host."""

from __future__ import annotations

import threading
import time

import pytest

from beast_observatory.errors import TransportError
from beast_observatory.fleet.run import Echo, HostOutcome, HostWork, run_hosts


class Hosts:
    """Work that takes a moment per host, counts how many run at once, and fails where told."""

    def __init__(
        self, *, failing: tuple[str, ...] = (), buggy: tuple[str, ...] = (), together: int = 0
    ) -> None:
        self.failing, self.buggy = failing, buggy
        self.running = 0
        self.most = 0
        self.started: list[str] = []
        self._lock = threading.Lock()
        # With together=N, the first hosts wait (up to 5 s) until N run at once: how many the
        # runner lets run together is then seen however slowly its threads start.
        self._together, self._all_in = together, threading.Event()

    def work(self, name: str, echo: Echo) -> HostOutcome:
        with self._lock:
            self.started.append(name)
            self.running += 1
            self.most = max(self.most, self.running)
            if self.running >= self._together:
                self._all_in.set()
        if self._together:
            self._all_in.wait(5.0)
        try:
            echo(f"working on {name}")
            if name in self.failing:  # at once, as a refused connection does
                raise TransportError("connection refused", where=name, hint="start sshd")
            time.sleep(0.05 if name != "slow" else 0.4)
            if name in self.buggy:
                raise KeyError("oops")
            return HostOutcome(name, "applied", release="0001-abc")
        finally:
            with self._lock:
                self.running -= 1

    def as_work(self) -> HostWork[str]:
        return HostWork(self.work, lambda name: name)


NAMES = [f"h{i}" for i in range(8)]


@pytest.mark.parametrize("concurrency", [1, 3, 20])
def test_never_more_hosts_at_once_than_allowed(concurrency: int) -> None:
    hosts = Hosts(together=min(concurrency, len(NAMES)))
    outcomes = run_hosts(NAMES, hosts.as_work(), concurrency=concurrency)
    assert [o.host for o in outcomes] == NAMES
    assert all(o.status == "applied" for o in outcomes)
    assert hosts.most == min(concurrency, len(NAMES))


def test_progress_comes_as_hosts_finish_in_the_callers_thread() -> None:
    hosts = Hosts()
    seen: list[tuple[str, int, int, bool]] = []

    def done(outcome: HostOutcome, n: int, total: int) -> None:
        seen.append((outcome.host, n, total, threading.current_thread() is threading.main_thread()))

    outcomes = run_hosts(["slow", "h1", "h2"], hosts.as_work(), concurrency=3, done=done)
    assert [s[0] for s in seen][-1] == "slow"  # finished last, told last
    assert [(n, total) for _, n, total, _ in seen] == [(1, 3), (2, 3), (3, 3)]
    assert all(main for *_, main in seen)
    assert [o.host for o in outcomes] == ["slow", "h1", "h2"]  # the outcomes in the jobs' order


def test_a_failing_host_fails_alone_with_its_reason_and_what_it_said() -> None:
    outcomes = run_hosts(NAMES, Hosts(failing=("h3",)).as_work(), concurrency=4)
    failed = [o for o in outcomes if o.failed]
    assert [o.host for o in failed] == ["h3"]
    [h3] = failed
    assert (h3.status, h3.error, h3.hint) == ("failed", "h3: connection refused", "start sshd")
    assert h3.log == ("working on h3",)
    assert h3.seconds > 0
    assert not h3.bug
    assert sum(o.status == "applied" for o in outcomes) == 7


def test_a_bug_on_one_host_is_its_outcome_and_marked_so() -> None:
    [h0, h1] = run_hosts(["h0", "h1"], Hosts(buggy=("h1",)).as_work(), concurrency=2)
    assert h0.status == "applied"
    assert (h1.status, h1.bug) == ("failed", True)
    assert h1.error == "internal error: KeyError: 'oops'"


def test_fail_fast_starts_no_further_host() -> None:
    hosts = Hosts(failing=("h1",))
    outcomes = run_hosts(NAMES, hosts.as_work(), concurrency=2, fail_fast=True)
    by_status: dict[str, list[str]] = {}
    for o in outcomes:
        by_status.setdefault(o.status, []).append(o.host)
    assert by_status["failed"] == ["h1"]
    # the host in flight next to it finished; those not started yet were skipped
    assert set(hosts.started) == {"h0", "h1", *by_status.get("applied", [])}
    assert len(by_status["skipped"]) >= 4
    skipped = next(o for o in outcomes if o.status == "skipped")
    assert skipped.error == "not started: another host failed (--fail-fast)"
    assert skipped.failed


def test_without_fail_fast_every_host_is_tried() -> None:
    hosts = Hosts(failing=("h0", "h1", "h2"))
    outcomes = run_hosts(NAMES, hosts.as_work(), concurrency=2)
    assert sorted(hosts.started) == NAMES
    assert [o.status for o in outcomes].count("failed") == 3


def test_no_hosts_no_work() -> None:
    assert run_hosts([], Hosts().as_work(), concurrency=5) == []
