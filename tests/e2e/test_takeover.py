"""Taking over hand-made stacks without changing what they do (the corpus, tests/corpus/).

For each stack, started by hand with ``docker compose``: discover over SSH (vonnegut, the
test sshd) -> export -> validate -> build -> plan says "No changes" -> a first change (an
external label) -> the plan names it and what the takeover changes -> the secrets the
export asks for are set with ``observatory secrets set`` -> apply -> the stack reports the
same as before (the label aside): Prometheus' loaded config job by job, its targets and
rules, Grafana's data sources, providers and dashboards, the containers' names, aliases,
ports and data -> plan says "No changes" -> the ``local`` environment (herbert) runs the
same stack: the same jobs and rules.
"""

from __future__ import annotations

import os
import subprocess
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
import yaml

from host.sshd import ALIAS, TestSshd

from .conftest import CliResult, observatory_argv
from .remote_fixtures import sshd  # noqa: F401 - the fixture
from .takeover import (
    HandMade,
    Snapshot,
    corpus_names,
    differences,
    loaded_config,
    remove_dead_leftovers,
    rule_groups,
    same_secret_form,
    without_label,
)

pytestmark = pytest.mark.e2e
LABEL = "takeover"


@dataclass
class Workspace:
    hand: HandMade
    sshd: TestSshd
    spec_dir: Path
    deploy: Path

    def cli(self, *args: str, stdin: str | None = None, timeout: float = 300) -> CliResult:
        env = {k: v for k, v in os.environ.items() if not k.startswith("OBSERVATORY_")}
        done = subprocess.run(
            [*observatory_argv(), *args],
            cwd=self.spec_dir,
            env=env,
            input=stdin if stdin is not None else "",
            capture_output=True,
            text=True,
            timeout=timeout,
        )
        return CliResult(tuple(args), done.returncode, done.stdout, done.stderr)

    def remote(self, command: str, *args: str, stdin: str | None = None) -> CliResult:
        return self.cli(
            *command.split(),
            "--environment",
            "remote",
            "--host",
            ALIAS,
            "--ssh-config",
            str(self.sshd.ssh_config),
            "--known-hosts",
            str(self.sshd.known_hosts),
            *args,
            stdin=stdin,
        )

    @property
    def spec_path(self) -> Path:
        return self.spec_dir / "observatory.yaml"


@pytest.fixture
def workspace(
    request: pytest.FixtureRequest,
    tmp_path: Path,
    sshd: TestSshd,  # noqa: F811
) -> Iterator[Workspace]:
    remove_dead_leftovers()
    hand = HandMade.copy(request.param, tmp_path)
    ws = Workspace(hand, sshd, tmp_path / "spec", tmp_path / "deploy")
    ws.spec_dir.mkdir()
    try:
        hand.up()
        yield ws
    finally:
        for env in ("remote", "local"):
            ws.cli("down", "-e", env, "--volumes", "--yes") if env == "local" else ws.remote(
                "down", "--volumes", "--yes"
            )
        hand.down()


def _secrets_asked(spec_text: str) -> list[str]:
    for line in spec_text.splitlines():
        if "the .env beside docker-compose.yml must set" in line:
            names = line.split("must set", 1)[1].split("(")[0]
            return [n.strip(" .") for n in names.split(",") if n.strip(" .")]
    return []


def _assert_no_secret(ws: Workspace, *folders: Path) -> None:
    values = [
        v
        for creds in (ws.hand.meta.get("credentials") or {}).values()
        for v in ([creds] if isinstance(creds, str) else creds[1:])
    ] + [str(v) for v in (ws.hand.meta.get("secrets") or {}).values()]
    for folder in folders:
        for path in folder.rglob("*"):
            if path.is_file():
                text = path.read_text(errors="replace")
                leaked = [v for v in values if len(v) >= 6 and v in text]
                assert not leaked, f"{path} holds a secret of the stack"


def _export(ws: Workspace, tmp_path: Path) -> None:
    """discover over SSH -> export the spec (no secret in either) -> deploy_dir under tmp_path."""
    found = ws.remote("discover", "--out", str(tmp_path / "discovery"))
    assert found.exit_code == 0, found.explain()
    exported = ws.remote(
        "export",
        "--from",
        str(tmp_path / "discovery" / "inventory.json"),
        "--project",
        ws.hand.project,
        "-o",
        str(ws.spec_path),
    )
    assert exported.exit_code == 0, exported.explain()
    _assert_no_secret(ws, tmp_path / "discovery", ws.spec_dir)
    spec = yaml.safe_load(ws.spec_path.read_text())
    spec["environments"]["remote"]["deploy_dir"] = str(ws.deploy)
    lines = ws.spec_path.read_text().splitlines()
    header = "".join(line + "\n" for line in lines if line.startswith("#"))
    ws.spec_path.write_text(header + yaml.safe_dump(spec, sort_keys=False))


@pytest.mark.parametrize("workspace", corpus_names(), indirect=True)
def test_take_over_without_changing_what_it_does(workspace: Workspace, tmp_path: Path) -> None:
    ws, hand = workspace, workspace.hand
    before = Snapshot.of(hand.project)
    _export(ws, tmp_path)

    for args in (("validate",), ("build",)):
        result = ws.cli(*args)
        assert result.exit_code == 0, result.explain()
    unchanged = ws.remote("plan")
    assert unchanged.exit_code == 0, unchanged.explain()
    assert "No changes" in unchanged.stdout

    changed = ws.cli(
        "config", "set", f"services.prometheus.global.external_labels.{LABEL}", "herbert"
    )
    assert changed.exit_code == 0, changed.explain()
    plan = ws.remote("plan")
    assert plan.exit_code == 2, plan.explain()
    assert f"prometheus.yml global.external_labels.{LABEL}: (unset) -> herbert" in plan.stdout
    assert "taken over" in plan.stdout
    takeover = ("taken over", "compose project folder", "/", "secrets written into")
    reasons = [line.strip()[2:] for line in plan.stdout.splitlines() if line.startswith("      - ")]
    other = [r for r in reasons if not r.startswith(takeover) and "external_labels" not in r]
    assert other == [], f"the plan names changes besides the label and the takeover: {other}"
    assert sum(f"external_labels.{LABEL}" in r for r in reasons) == 1, plan.stdout

    asked = _secrets_asked(ws.spec_path.read_text())
    known = hand.meta.get("secrets") or {}
    assert sorted(asked) == sorted(known), (
        f"the export asks for {asked}, the stack has {sorted(known)}"
    )
    for name in asked:
        result = ws.remote(f"secrets set {name}", stdin=str(known[name]))
        assert result.exit_code == 0, result.explain()

    flags = []
    if hand.meta.get("takeover_moves_data"):
        refused = ws.remote("apply", "--auto-approve")
        assert refused.exit_code == 1, refused.explain()
        assert "moves or loses data" in refused.stderr
        assert Snapshot.of(hand.project).containers == before.containers  # nothing changed
        flags = ["--allow-data-move"]
    applied = ws.remote("apply", "--auto-approve", *flags)
    assert applied.exit_code == 0, applied.explain()
    hand.wait_ready()
    deadline = time.monotonic() + 60  # targets of recreated containers: scraped in a moment
    while True:
        after = Snapshot.of(hand.project)
        found = differences(before, after, label=LABEL, deploy=str(ws.deploy))
        if not found or time.monotonic() > deadline:
            break
        time.sleep(2)
    assert found == [], "\n".join(found)
    assert after.config["global"]["external_labels"][LABEL] == "herbert"

    again = ws.remote("plan")
    assert again.exit_code == 0, again.explain()
    assert "No changes" in again.stdout

    # herbert: the same stack on this workstation, loading the same jobs and rules.
    hand.note_anonymous_volumes()  # `down` keeps them, as compose does
    stopped = ws.remote("down")
    assert stopped.exit_code == 0, stopped.explain()
    for name in asked:
        assert ws.cli("secrets", "set", name, "-e", "local", stdin=str(known[name])).exit_code == 0
    local = ws.cli("up", "-e", "local", "--timeout", "120")
    assert local.exit_code == 0, local.explain()
    replica = same_secret_form(without_label(loaded_config(hand.project), LABEL))
    assert replica["jobs"] == same_secret_form(without_label(before.config, LABEL))["jobs"]
    assert rule_groups(hand.project) == before.rules


@pytest.mark.parametrize("workspace", ["nginx-basic-auth"], indirect=True)
def test_a_takeover_that_fails_verification_brings_the_hand_made_stack_back(
    workspace: Workspace, tmp_path: Path
) -> None:
    ws, hand = workspace, workspace.hand
    before = Snapshot.of(hand.project)
    _export(ws, tmp_path)
    spec = yaml.safe_load(ws.spec_path.read_text())
    never = {"name": "never-up", "targets": ["127.0.0.1:9"]}  # nothing listens there
    spec["services"]["prometheus"].setdefault("scrape_jobs", []).append(never)
    ws.spec_path.write_text(yaml.safe_dump(spec, sort_keys=False))
    plan = ws.remote("plan")
    assert plan.exit_code == 2, plan.explain()
    assert "taken over" in plan.stdout

    applied = ws.remote("apply", "--auto-approve", "--scrape-wait", "8")
    assert applied.exit_code == 1, applied.explain()
    assert "scrape target never-up/127.0.0.1:9" in applied.stdout, applied.explain()
    assert "the stack made by hand is back up" in applied.stdout, applied.explain()

    hand.wait_ready()
    after = Snapshot.of(hand.project)
    assert differences(before, after, label=LABEL, deploy=str(ws.deploy)) == []
    again = ws.remote("plan")  # the host reads as made by hand again, not as half taken over
    assert again.exit_code == 2, again.explain()
    assert "taken over" in again.stdout
