"""Several hosts at once: a thread pool of bounded size, each host on its own connection.

``run_hosts`` hands each job to ``work`` in a worker thread, and tells the caller about each
host as it finishes (``done``, called in the caller's thread, in the order hosts finish).
A host that fails fails for itself: its error becomes its outcome and the others go on;
with ``fail_fast`` the hosts not started yet are skipped (those in flight finish: an apply
stopped midway would hold a half-done release). Ctrl-C skips the hosts not started yet and
waits for those in flight.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Sequence
from concurrent.futures import Future, ThreadPoolExecutor, as_completed
from dataclasses import dataclass, replace
from typing import Generic, Literal, TypeVar

from beast_observatory.errors import ObservatoryError
from beast_observatory.plan.model import Plan

Status = Literal["unchanged", "changes", "applied", "failed", "skipped"]
Echo = Callable[[str], object]


@dataclass(frozen=True)
class HostOutcome:
    """What happened on one host."""

    host: str
    status: Status
    seconds: float = 0.0
    changes: str = ""  # what the plan changes, in a few words
    release: str | None = None
    error: str | None = None  # what went wrong, where
    hint: str | None = None
    log: tuple[str, ...] = ()  # what the host's operation said, in order
    plan: Plan | None = None
    bug: bool = False  # the error is a bug of this tool, not the host's

    @property
    def failed(self) -> bool:
        return self.status in ("failed", "skipped")


J = TypeVar("J")


@dataclass(frozen=True)
class HostWork(Generic[J]):
    """What to do on each host, and how a job names its host."""

    work: Callable[[J, Echo], HostOutcome]
    name: Callable[[J], str]


def guarded(hosts: HostWork[J], job: J) -> HostOutcome:
    """The outcome of one host's work, its errors included (and what it said till then)."""
    started = time.monotonic()
    log: list[str] = []
    name = hosts.name(job)
    try:
        outcome = hosts.work(job, log.append)
    except ObservatoryError as exc:
        where = f"{exc.where}: " if exc.where else ""
        outcome = HostOutcome(name, "failed", error=where + exc.message, hint=exc.hint)
    except Exception as exc:  # noqa: BLE001 - one host's bug must not hide the others' outcomes
        outcome = HostOutcome(
            name, "failed", error=f"internal error: {type(exc).__name__}: {exc}", bug=True
        )
    return replace(outcome, seconds=time.monotonic() - started, log=(*log, *outcome.log))


def run_hosts(
    jobs: Sequence[J],
    hosts: HostWork[J],
    *,
    concurrency: int,
    fail_fast: bool = False,
    done: Callable[[HostOutcome, int, int], object] = lambda *_: None,
) -> list[HostOutcome]:
    """Every job's outcome, in the order of jobs; ``done(outcome, n, total)`` as each ends."""
    total = len(jobs)
    outcomes: dict[int, HostOutcome] = {}
    stop = threading.Event()

    def finish(index: int, outcome: HostOutcome) -> None:
        outcomes[index] = outcome
        done(outcome, len(outcomes), total)

    workers = max(1, min(concurrency, total))
    with ThreadPoolExecutor(max_workers=workers, thread_name_prefix="fleet") as pool:
        futures: dict[Future[HostOutcome], int] = {
            pool.submit(_unless_stopped, stop, hosts, job): i for i, job in enumerate(jobs)
        }
        try:
            for future in as_completed(futures):
                outcome = future.result()
                finish(futures[future], outcome)
                if fail_fast and outcome.failed and outcome.status != "skipped":
                    stop.set()
        except KeyboardInterrupt:
            stop.set()
            raise
    return [outcomes[i] for i in range(total)]


def _unless_stopped(stop: threading.Event, hosts: HostWork[J], job: J) -> HostOutcome:
    if stop.is_set():
        return HostOutcome(
            hosts.name(job), "skipped", error="not started: another host failed (--fail-fast)"
        )
    return guarded(hosts, job)
