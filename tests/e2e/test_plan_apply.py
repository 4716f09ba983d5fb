"""`observatory plan` and `apply` for real: the CLI as a subprocess, over SSH, on Docker.

Every command runs as ``observatory plan|apply --environment remote --host vonnegut``
against the test sshd (remote_fixtures.py), whose sessions drive this machine's Docker
engine, on a spec made by ``observatory init`` and pointed at the locally built test images
(**grafana is a busybox stand-in**), free ports and 1s scrape intervals.

One stack is shared: the tests run in file order, each starting from the host the previous
one left (applied and verified) and putting the spec back when it changed it for a failure
case. A failure early on therefore makes later tests fail too; read the first one.

Alongside the stack run a container, a volume and a network of our own ("foreign": no spec
manages them); plan must list them and no apply may touch them.

Wall time and SSH round trips (sshd's "Starting session" lines) of the commands are printed.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import secrets
import signal
import socket
import time
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
import yaml

from .conftest import CliResult
from .docker_env import TEST_IMAGES
from .plan_fixtures import (
    Foreign,
    Process,
    actions,
    docker,
    file_digest,
    foreign_objects,
    health,
    inspect,
    live_files,
    plan_json,
    processes,
    release_manifest,
    releases,
    retagged,
    start_logged,
    state_release,
    wait_until,
)
from .remote_fixtures import (
    RemoteStack,
    RemoteStackFactory,
    big_dashboard,
    make_module_remote_stack,
    sshd,
    sshd_session_pids,
    wait_for,
)

pytestmark = pytest.mark.e2e
__all__ = ["make_module_remote_stack", "sshd"]  # fixtures, used by name

SERVICES = ("grafana", "prometheus", "pushgateway")
APPLY = ("--auto-approve", "--timeout", "60", "--scrape-wait", "30")
PLAN_MAX_ROUND_TRIPS = 2  # connecting is no session; the probe is one
BIG_DASHBOARD = "grafana/dashboards/observatory/big.json"


@dataclass
class Live:
    stack: RemoteStack
    foreign: Foreign
    retag: str
    foreign_process: Process
    results: dict[str, CliResult] = field(default_factory=dict)


@pytest.fixture(scope="module")
def live(make_module_remote_stack: RemoteStackFactory) -> Iterator[Live]:
    # Untagging leaves containers that run the image alone: the tag may go before the stack.
    tag = f"e2e-retag-{os.getpid()}-{secrets.token_hex(2)}"
    with retagged(TEST_IMAGES["pushgateway"], tag) as second, foreign_objects() as foreign:
        stack = make_module_remote_stack(name="plan-apply")
        yield Live(stack, foreign, second, Process.of(foreign.container))


def run(live: Live, label: str, command: str, *args: str) -> CliResult:
    """Run a command, print its wall time and SSH round trips, keep its result."""
    started = time.monotonic()
    result, round_trips = live.stack.measured(command, *args)
    took = time.monotonic() - started
    live.results[label] = result
    line = f"[{command}] {label}: {took:.1f}s, {round_trips} round trip(s), exit {result.exit_code}"
    print(line)
    FIGURES.append(line)
    if command == "plan":
        assert 1 <= round_trips <= PLAN_MAX_ROUND_TRIPS, f"plan took {round_trips} round trips"
    return result


FIGURES: list[str] = []


def assert_exit(result: CliResult, code: int, *words: str) -> None:
    assert result.exit_code == code, result.explain()
    assert "Traceback" not in result.output, result.explain()
    for word in words:
        assert word in result.output, f"{word!r} not in:\n{result.explain()}"


def service_lines(plan_text: str) -> dict[str, str]:
    """`  ~ prometheus: reload` -> {"prometheus": "reload"}: the services the plan touches."""
    found = re.findall(r"^  \S+ ([\w-]+): (create|recreate|reload|remove)$", plan_text, re.M)
    return dict(found)


def file_lines(plan_text: str) -> dict[str, str]:
    return dict(re.findall(r"^  [-+~] (\S+) \((add|change|remove)\)$", plan_text, re.M))


def edit_remote(stack: RemoteStack, services: dict[str, Any]) -> None:
    stack.edit_spec({"environments": {"remote": {"services": services}}})


@contextlib.contextmanager
def spec_restored(stack: RemoteStack) -> Iterator[None]:
    """The spec as it was, whatever the test changed in it."""
    before = stack.spec.spec_path.read_text()
    try:
        yield
    finally:
        stack.spec.spec_path.write_text(before)


def served_config(stack: RemoteStack) -> dict[str, Any]:
    """What Prometheus runs now, from /api/v1/status/config on its published port."""
    with urllib.request.urlopen(stack.url("prometheus") + "/api/v1/status/config", timeout=10) as r:  # noqa: S310 - our own http URL
        config: dict[str, Any] = yaml.safe_load(json.load(r)["data"]["yaml"])
    return config


def assert_host_untouched(
    live: Live, files: dict[str, str | None], procs: dict[str, Process]
) -> None:
    assert live_files(live.stack) == files, "a live file changed"
    assert processes(live.stack) == procs, "a container was recreated or restarted"


def assert_plan_clean(live: Live, label: str) -> None:
    result = run(live, label, "plan")
    assert_exit(result, 0, "No changes. The host matches the spec.")


# ------------------------------------------------------------------ first apply, idempotence


def test_first_apply_creates_everything_and_verifies(live: Live) -> None:
    stack = live.stack
    before = run(live, "plan (empty host)", "plan")
    assert_exit(before, 2)
    assert service_lines(before.stdout) == dict.fromkeys(SERVICES, "create"), before.stdout

    result = run(live, "apply (first)", "apply", *APPLY)
    assert_exit(result, 0, "staged release 0001-", "validated on the host", "apply complete")
    verified = next(line for line in result.stdout.splitlines() if line.startswith("verified: "))
    assert "3/3 services healthy" in verified, verified
    assert "scrape targets up" in verified, verified
    assert "push/read/delete probe passed" in verified, verified
    assert sorted(stack.containers()) == sorted(SERVICES)
    assert {health(cid) for cid in stack.containers().values()} == {"healthy"}
    assert stack.host_manifest() == stack.build()
    assert live_files(stack) == stack.host_manifest(), "live files differ from their manifest"


def test_plan_right_after_apply_is_empty_and_second_apply_changes_nothing(live: Live) -> None:
    stack = live.stack
    assert_plan_clean(live, "plan (after apply)")
    procs, files, made = processes(stack), live_files(stack), releases(stack)

    again = run(live, "apply (nothing to do)", "apply", *APPLY)
    assert_exit(again, 0, "No changes")
    assert "staged" not in again.output, again.explain()
    assert processes(stack) == procs, "a container was recreated or restarted"
    assert live_files(stack) == files
    assert releases(stack) == made, "an apply without changes made a release"


def test_plan_lists_what_the_spec_does_not_manage(live: Live) -> None:
    text = live.results["plan (after apply)"].stdout
    unmanaged = {
        kind: names.split(", ")
        for kind, names in re.findall(
            r"^Not managed by this spec \(left alone\): (\w+): (.*)$", text, re.M
        )
    }
    foreign = live.foreign
    assert foreign.container in unmanaged.get("containers", []), text
    assert foreign.volume in unmanaged.get("volumes", []), text
    assert foreign.network in unmanaged.get("networks", []), text
    for names in unmanaged.values():  # the stack's own objects are not "unmanaged"
        assert not [n for n in names if n.startswith(live.stack.project)], text


# ------------------------------------------------------------------ a scrape interval: reload


def test_changed_scrape_interval_plans_exactly_a_prometheus_reload(live: Live) -> None:
    stack = live.stack
    edit_remote(stack, {"prometheus": {"global": {"scrape_interval": "2s"}}})

    text = run(live, "plan (scrape interval)", "plan")
    assert_exit(text, 2, "prometheus.yml global.scrape_interval: 1s -> 2s")
    assert service_lines(text.stdout) == {"prometheus": "reload"}, text.stdout
    assert file_lines(text.stdout) == {"prometheus/prometheus.yml": "change"}, text.stdout
    diff = [line for line in text.stdout.splitlines() if line.startswith(("-  ", "+  "))]
    assert diff == ["-  scrape_interval: 1s", "+  scrape_interval: 2s"], text.stdout

    plan = plan_json(run(live, "plan --output json", "plan", "--output", "json"))
    assert live.results["plan --output json"].exit_code == 2
    assert plan["format_version"] == 1
    assert plan["changed"] is True
    assert actions(plan) == {
        "grafana": "unchanged",
        "prometheus": "reload",
        "pushgateway": "unchanged",
    }
    assert [(f["path"], f["action"]) for f in plan["files"]] == [
        ("prometheus/prometheus.yml", "change")
    ]
    prometheus = next(s for s in plan["services"] if s["service"] == "prometheus")
    assert prometheus["reasons"] == ["prometheus.yml global.scrape_interval: 1s -> 2s"]


def test_apply_without_a_terminal_refuses_unless_auto_approved(live: Live) -> None:
    stack = live.stack
    procs, files = processes(stack), live_files(stack)
    sessions = stack.sshd.count_sessions()

    refused = stack.cli("apply")  # stdin is /dev/null: nobody to ask
    assert_exit(refused, 1, "no terminal", "--auto-approve")
    time.sleep(0.2)
    assert stack.sshd.count_sessions() == sessions, "apply ran commands on the host"
    assert_host_untouched(live, files, procs)


def test_apply_reloads_prometheus_without_restarting_it(live: Live) -> None:
    stack = live.stack
    procs = processes(stack)

    result = run(live, "apply (scrape interval)", "apply", *APPLY)
    assert_exit(result, 0, "verified: 3/3 services healthy")
    assert processes(stack) == procs, "a container was recreated or restarted (same id, pid, start)"
    assert served_config(stack)["global"]["scrape_interval"] == "2s"
    assert_plan_clean(live, "plan (after reload)")


# ------------------------------------------------------------------ an image tag: recreate one


def test_changed_image_tag_recreates_only_that_service(live: Live) -> None:
    stack = live.stack
    edit_remote(stack, {"pushgateway": {"image": live.retag}})
    before = processes(stack)

    plan = run(live, "plan (image tag)", "plan")
    assert_exit(plan, 2, f"image {TEST_IMAGES['pushgateway']} -> {live.retag}")
    assert service_lines(plan.stdout) == {"pushgateway": "recreate"}, plan.stdout
    assert file_lines(plan.stdout) == {"docker-compose.yml": "change"}, plan.stdout

    result = run(live, "apply (image tag)", "apply", *APPLY)
    assert_exit(result, 0, "verified: 3/3 services healthy")
    after = processes(stack)
    assert after["pushgateway"].id != before["pushgateway"].id, "pushgateway was not recreated"
    assert inspect(after["pushgateway"].id)["Config"]["Image"] == live.retag
    assert {s: after[s] for s in ("grafana", "prometheus")} == {
        s: before[s] for s in ("grafana", "prometheus")
    }, "a service whose definition did not change was recreated or restarted"
    assert_plan_clean(live, "plan (after recreate)")


# ------------------------------------------------------------------ promtool says no


def test_rules_promtool_rejects_stop_apply_before_the_host_is_touched(live: Live) -> None:
    stack = live.stack
    procs, files, live_release = processes(stack), live_files(stack), state_release(stack)
    made = releases(stack)
    with spec_restored(stack):
        spec = yaml.safe_load(stack.spec.spec_path.read_text())
        broken = {
            "name": "broken",
            "rules": [{"record": "job:broken:rate5m", "expr": "rate(up[5m]"}],
        }
        spec["services"]["prometheus"]["rule_files"].append({"name": "broken", "groups": [broken]})
        stack.spec.spec_path.write_text(yaml.safe_dump(spec, sort_keys=False))
        validate = stack.spec.cli("validate")
        assert validate.exit_code == 0, f"the spec validator must accept it:\n{validate.explain()}"

        result = run(live, "apply (promtool rejects)", "apply", *APPLY)
        assert_exit(
            result, 1, "promtool", "rejects the new configuration", "the host was not changed"
        )
        assert "rate(up[5m]" in result.stderr or "unclosed left parenthesis" in result.stderr, (
            result.explain()
        )
    assert_host_untouched(live, files, procs)
    assert state_release(stack) == live_release
    assert releases(stack) == made, "the rejected release was kept beside the good ones"
    assert_plan_clean(live, "plan (after refusal)")


# ------------------------------------------------------------------ verification fails: rollback


def test_failed_verification_rolls_back_to_the_release_that_was_live(live: Live) -> None:
    stack = live.stack
    previous = state_release(stack)
    old_files = live_files(stack)
    assert release_manifest(stack, previous) == stack.host_manifest()
    with spec_restored(stack):
        # A healthcheck that never passes (the binary refuses an unknown flag).
        never = ["CMD", "/bin/pushgateway", "--no-such-flag"]
        edit_remote(stack, {"pushgateway": {"healthcheck": {"test": never, "interval": "1s"}}})
        result = run(
            live,
            "apply (never healthy)",
            "apply",
            "--auto-approve",
            "--timeout",
            "15",
            "--scrape-wait",
            "30",
        )
    assert_exit(result, 1, "verification FAILED", "service pushgateway")
    assert f"rolling back to release {previous}" in result.stdout, result.explain()
    assert f"rolled back to release {previous}: verified" in result.stdout, result.explain()
    assert "was rolled back" in result.stderr, result.explain()

    manifest = release_manifest(stack, previous)
    assert file_digest(stack.deploy_dir / "docker-compose.yml") == manifest["docker-compose.yml"]
    assert live_files(stack) == old_files == manifest
    pushgateway = stack.containers()["pushgateway"]
    assert health(pushgateway) == "healthy"
    assert "--no-such-flag" not in json.dumps(inspect(pushgateway)["Config"]["Healthcheck"])
    assert state_release(stack) == previous
    assert_plan_clean(live, "plan (after rollback, spec put back)")


# ------------------------------------------------------------------ hand edits on the host


def test_compose_failing_after_the_switch_rolls_back_too(live: Live) -> None:
    """A port taken by another process between plan and start: host validation cannot see
    it; `compose up` fails after the switch, and apply goes back to what ran before."""
    stack = live.stack
    previous = state_release(stack)
    old_files = live_files(stack)
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as squatter:
        squatter.bind(("127.0.0.1", 0))
        squatter.listen(1)
        busy = squatter.getsockname()[1]
        with spec_restored(stack):
            edit_remote(stack, {"pushgateway": {"port": busy}})
            result = run(
                live,
                "apply (port taken)",
                "apply",
                "--auto-approve",
                "--timeout",
                "30",
                "--scrape-wait",
                "30",
            )
    assert_exit(result, 1, "docker compose up FAILED", str(busy))
    assert f"rolled back to release {previous}: verified" in result.stdout, result.explain()
    assert live_files(stack) == old_files
    assert health(stack.containers()["pushgateway"]) == "healthy"


def test_hand_edited_prometheus_yml_is_drift_and_apply_restores_it(live: Live) -> None:
    stack = live.stack
    path = stack.deploy_dir / "prometheus" / "prometheus.yml"
    original = path.read_text()
    # A comment and a blank line are not drift: plan compares parsed content.
    path.write_text("# looked at by an operator\n\n" + original)
    assert_plan_clean(live, "plan (comment added on the host)")

    path.write_text(original.replace("scrape_interval: 2s", "scrape_interval: 5s"))
    drift = run(live, "plan (hand edit)", "plan")
    assert_exit(drift, 2, "prometheus.yml global.scrape_interval: 5s -> 2s")
    assert file_lines(drift.stdout) == {"prometheus/prometheus.yml": "change"}, drift.stdout
    assert "-  scrape_interval: 5s" in drift.stdout.splitlines(), drift.stdout
    assert "+  scrape_interval: 2s" in drift.stdout.splitlines(), drift.stdout

    result = run(live, "apply (restore hand edit)", "apply", *APPLY)
    assert_exit(result, 0, "verified: 3/3 services healthy")
    assert path.read_text() == original
    assert live_files(stack) == stack.host_manifest()
    assert served_config(stack)["global"]["scrape_interval"] == "2s"
    assert_plan_clean(live, "plan (after restore)")


# ------------------------------------------------------------------ the connection dies


def test_killed_connection_leaves_the_old_or_the_new_release_and_next_apply_converges(
    live: Live, tmp_path: Path
) -> None:
    stack = live.stack
    old = stack.host_manifest()
    # A big dashboard keeps the switch busy for a moment, so the kill lands inside it.
    (stack.spec.directory / "dashboards" / "big.json").write_text(
        big_dashboard("obstest-big", 16 << 20, "new! ")
    )
    edit_remote(stack, {"prometheus": {"global": {"scrape_interval": "3s"}}})
    new = stack.build()
    assert BIG_DASHBOARD in new
    assert new["prometheus/prometheus.yml"] != old["prometheus/prometheus.yml"]

    switch_list = stack.deploy_dir / ".observatory-switch.list"
    applying = start_logged(stack, tmp_path / "apply.out", "apply", *APPLY)
    wait_for(lambda: switch_list.exists() or applying.process.poll() is not None, 120, "no switch")
    assert applying.process.poll() is None, (
        "apply ended before the switch:\n" + applying.finish(1)[1]
    )
    for pid in sshd_session_pids(stack.sshd):
        with contextlib.suppress(ProcessLookupError):  # gone with its parent
            os.kill(pid, signal.SIGKILL)
    killed_inside_switch = switch_list.exists()
    code, output = applying.finish(60)
    print(f"[apply] killed {'inside' if killed_inside_switch else 'after'} the switch")
    assert code == 1, f"apply -> {code}\n{output}"
    assert "Traceback" not in output, output
    assert "the SSH connection failed" in output, output
    assert "never a mix" in output, output  # the hint says what state the host is in
    assert "run `observatory apply` again" in output, output

    # The switch runs detached on the host: once begun it ends, whatever became of us.
    wait_until(lambda: not switch_list.exists(), 30, "the switch never finished")
    paths = sorted(set(old) | set(new))
    digests = {rel: file_digest(stack.deploy_dir / rel) for rel in paths}
    is_old = all(digests[rel] == old.get(rel) for rel in paths)
    is_new = all(digests[rel] == new.get(rel) for rel in paths)
    mixed = {rel: ("old" if digests[rel] == old.get(rel) else "new") for rel in paths}
    assert is_old or is_new, f"the live files are a mix of two releases: {mixed}"
    assert is_new, "a switch that had begun did not complete on the host"
    assert stack.host_manifest() == new

    again = run(live, "apply (after the kill)", "apply", *APPLY)
    assert_exit(again, 0, "verified: 3/3 services healthy")
    assert live_files(stack) == new
    assert served_config(stack)["global"]["scrape_interval"] == "3s"
    assert_plan_clean(live, "plan (after convergence)")


# ------------------------------------------------------------------ a service goes


def test_removing_a_service_needs_allow_remove_and_keeps_its_volume(live: Live) -> None:
    stack = live.stack
    edit_remote(stack, {"grafana": {"enabled": False}})
    procs, files = processes(stack), live_files(stack)

    plan = run(live, "plan (grafana disabled)", "plan")
    assert_exit(plan, 2, "not in the spec (needs --allow-remove)")
    assert service_lines(plan.stdout)["grafana"] == "remove", plan.stdout
    assert file_lines(plan.stdout)["grafana/grafana.ini"] == "remove", plan.stdout

    refused = run(live, "apply (remove, not allowed)", "apply", *APPLY)
    assert_exit(refused, 1, "removes service(s) grafana", "--allow-remove")
    assert_host_untouched(live, files, procs)

    result = run(live, "apply --allow-remove", "apply", *APPLY, "--allow-remove")
    assert_exit(result, 0, "verified: 2/2 services healthy")
    after = processes(stack)
    assert sorted(after) == ["prometheus", "pushgateway"]
    assert after == {s: procs[s] for s in after}, "a remaining service was recreated or restarted"
    assert f"{stack.project}_grafana-data" in stack.volumes(), "the named volume was deleted"
    assert not (stack.deploy_dir / "grafana" / "grafana.ini").exists()
    assert_plan_clean(live, "plan (after removal)")


def test_objects_the_spec_does_not_manage_survived_every_apply(live: Live) -> None:
    foreign = live.foreign
    assert Process.of(foreign.container) == live.foreign_process, (
        "the foreign container was touched"
    )
    assert inspect(foreign.container)["State"]["Status"] == "running"
    docker("volume", "inspect", foreign.volume)
    docker("network", "inspect", foreign.network)
    print("\n".join(["", "figures:", *FIGURES]))
