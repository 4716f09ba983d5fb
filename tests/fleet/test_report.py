"""What fleet plan and apply print: a line per host as it finishes, the summary table, and
the verdict that decides the exit code."""

from __future__ import annotations

from beast_observatory.fleet.report import progress, summary, verdict
from beast_observatory.fleet.resolve import FleetMember, members
from beast_observatory.fleet.run import HostOutcome
from bundles import stack_of

from .specs import fleet_data

APPLIED = HostOutcome("fleet-a", "applied", 6.14, "create node-exporter; 2 files", "0001-ab")
FAILED = HostOutcome(
    "fleet-c",
    "failed",
    0.6,
    error="fleet-c (root@10.0.0.4): connection refused on 10.0.0.4:22",
    hint="check that sshd runs on the host",
)


def fleet_members() -> dict[str, FleetMember]:
    fleet = stack_of(fleet_data(), "remote").environment.fleet
    return {m.name: m for m in members(fleet)}


def test_a_line_per_host_says_what_happened_and_how_long_it_took() -> None:
    assert progress(APPLIED, 1, 3) == (
        "[1/3] fleet-a: applied release 0001-ab (create node-exporter; 2 files) in 6.1s"
    )
    line, hint = progress(FAILED, 3, 3).splitlines()
    assert line == (
        "[3/3] fleet-c: FAILED after 0.6s: fleet-c (root@10.0.0.4): connection refused on "
        "10.0.0.4:22"
    )
    assert hint == "    hint: check that sshd runs on the host"


def test_the_summary_has_a_row_per_host_and_the_reasons_of_failures() -> None:
    unchanged = HostOutcome("fleet-b", "unchanged", 0.4, "no changes")
    table = summary([APPLIED, unchanged, FAILED], fleet_members()).splitlines()
    assert [row.split()[:4] for row in table[:4]] == [
        ["HOST", "ADDRESS", "RESULT", "RELEASE"],
        ["fleet-a", "10.0.0.2", "applied", "0001-ab"],
        ["fleet-b", "10.0.0.3", "no", "changes"],
        ["fleet-c", "10.0.0.4", "failed", "-"],
    ]
    assert table[4] == "  fleet-c: fleet-c (root@10.0.0.4): connection refused on 10.0.0.4:22"
    # the columns line up
    assert {row.index("10.0.0") for row in table[1:4]} == {table[0].index("ADDRESS")}


def test_any_failed_host_makes_the_command_fail_naming_it_and_how_to_retry() -> None:
    assert verdict([APPLIED], "apply") is None
    error = verdict([APPLIED, FAILED], "apply")
    assert error is not None
    assert error.exit_code == 1
    assert error.message == "fleet apply: 1 of 2 host(s) failed: fleet-c"
    assert "`observatory fleet apply --limit fleet-c`" in str(error.hint)


def test_a_bug_on_a_host_is_exit_3_and_asks_for_a_report() -> None:
    bug = HostOutcome("fleet-b", "failed", error="fleet-b: KeyError: 'oops'", bug=True)
    error = verdict([APPLIED, bug], "plan")
    assert error is not None
    assert error.exit_code == 3
    assert "report" in str(error.hint)
