"""apply and up against a recording fake host, one case a file (tests/deploy/cases/*.yaml).

A case gives the host (``empty``, or ``applied``: the starter spec applied and running), the
applies that ran on it before (``before``, each a change and faults; they may fail), a
change of the spec (``remote``: deep-merged into environments.remote; ``spec``: into the top
level), the host's faults (fake_host.Fault), and what must happen: the exit code or the
error, the exact sequence of host steps (an entry ending in ``*`` matches one or more steps
starting with it), what the user was told, the files sent with the staging, whether the live
files are the base spec's or the new one's, whether any container was replaced, the releases
kept and what state.json says. Every case runs in one session on the host: the lock's.
"""

from __future__ import annotations

import contextlib
import io
import json
import tarfile
from pathlib import Path
from typing import Any

import pytest
import yaml

from beast_observatory.bundle.bundle import Bundle
from beast_observatory.bundle.compile import compile_project
from beast_observatory.deploy.apply import ApplyOptions, apply
from beast_observatory.deploy.operations import format_status, up
from beast_observatory.deploy.target import Placement
from beast_observatory.errors import ObservatoryError
from beast_observatory.host.transport.base import HostTarget
from beast_observatory.spec.load import load_project
from beast_observatory.spec.starter import init_stack

from .fake_host import DEPLOY, FakeHost, Fault

CASES = sorted((Path(__file__).parent / "cases").glob("*.yaml"))
PLACEMENT = Placement(HostTarget("fakehost"), DEPLOY, f"{DEPLOY}/.observatory.lock", remote=True)
# No time to wait: the fake host answers at once, and a fault must not be waited out.
OPTIONS = ApplyOptions(
    auto_approve=True, allow_remove=False, allow_data_move=False, timeout=0.0, scrape_wait=0.0
)


def merged(base: dict[str, Any], change: dict[str, Any]) -> dict[str, Any]:
    out = dict(base)
    for key, value in change.items():
        out[key] = (
            merged(out[key], value)
            if isinstance(value, dict) and isinstance(out.get(key), dict)
            else value
        )
    return out


def bundle_of(directory: Path, case: dict[str, Any]) -> Bundle:
    spec_path = directory / "observatory.yaml"
    spec = yaml.safe_load(spec_path.read_text())
    spec = merged(spec, case.get("spec") or {})
    remote = spec["environments"]["remote"]
    spec["environments"]["remote"] = merged(remote, case.get("remote") or {})
    spec_path.write_text(yaml.safe_dump(spec, sort_keys=False))
    return compile_project(load_project(spec_path), ["remote"])["remote"]


@pytest.fixture
def starter(tmp_path: Path) -> Path:
    init_stack(tmp_path, force=True)
    return tmp_path


def applied(bundle: Bundle) -> FakeHost:
    host = FakeHost()
    code = apply(host, PLACEMENT, bundle, OPTIONS, confirm=lambda _: True, echo=lambda _: None)
    assert code == 0, host.steps()
    host.forget()
    return host


def history(host: FakeHost, starter: Path, earlier: list[dict[str, Any]]) -> None:
    for step in earlier:
        host.expect([Fault(**f) for f in step.get("faults") or []])
        with contextlib.suppress(ObservatoryError):
            run({"command": "apply"}, host, bundle_of(starter, step), [])
    host.forget()


def matches(steps: list[str], expected: list[str]) -> bool:
    i = 0
    for want in expected:
        if want.endswith("*"):
            start = i
            while i < len(steps) and steps[i].startswith(want[:-1]):
                i += 1
            if i == start:
                return False
        elif i < len(steps) and steps[i] == want:
            i += 1
        else:
            return False
    return i == len(steps)


def run(case: dict[str, Any], host: FakeHost, bundle: Bundle, said: list[str]) -> int:
    echo = said.append
    if case["command"] == "up":
        rows = up(host, PLACEMENT, bundle, timeout=0.0, echo=echo)
        echo(format_status(rows))
        return 0 if all(r.ok for r in rows) else 1
    return apply(host, PLACEMENT, bundle, OPTIONS, confirm=lambda _: True, echo=echo)


def sent_with_the_staging(host: FakeHost) -> list[str]:
    [stage] = [c for c in host.calls if c.step == "stage"]
    with tarfile.open(fileobj=io.BytesIO(stage.stdin)) as tar:
        return [m.name for m in tar.getmembers()]


@pytest.mark.parametrize("path", CASES, ids=[p.stem for p in CASES])
def test_case(path: Path, starter: Path) -> None:
    case = yaml.safe_load(path.read_text())
    expect = case["expect"]
    base = bundle_of(starter, {})
    host = applied(base) if case["host"] == "applied" else FakeHost()
    history(host, starter, case.get("before") or [])
    containers = {name: c.id for name, c in host.containers.items()}
    host.expect([Fault(**f) for f in case.get("faults") or []])
    bundle = bundle_of(starter, case)
    said: list[str] = []

    if "error" in expect:
        with pytest.raises(ObservatoryError) as caught:
            run(case, host, bundle, said)
        words = expect["error"] if isinstance(expect["error"], list) else [expect["error"]]
        for word in words:
            assert word in caught.value.message, caught.value.message
        assert expect.get("hint", "") in (caught.value.hint or "")
    else:
        assert run(case, host, bundle, said) == expect["exit"], "\n".join(said)

    steps = host.steps()
    assert matches(steps, expect["steps"]), "\n".join(steps)
    assert host.sessions == 1, "the host lock's session is the only one"
    assert all(c.locked for c in host.calls if c.step != "lock"), "a command ran outside the lock"
    told = "\n".join(said)
    for text in expect.get("said") or []:
        assert text in told, told
    if "sent" in expect:
        assert sorted(sent_with_the_staging(host)) == sorted(expect["sent"])
    if "live" in expect:
        want = base if expect["live"] == "base" else bundle
        live = host.live_files()
        assert {rel: live.get(rel) for rel in want.with_manifest()} == want.with_manifest()
    if expect.get("same_containers"):
        assert {name: c.id for name, c in host.containers.items()} == containers
    if "reloaded" in expect:  # the services whose running container got a SIGHUP
        assert [service for service, _ in host.reloaded] == expect["reloaded"]
    if "releases" in expect:
        assert [r[:4] for r in host.releases()] == expect["releases"]
    if "state_release" in expect:
        state = json.loads(host.live("state.json") or b"{}")
        assert (state.get("release") or "")[:4] == (expect["state_release"] or "")
        assert state["spec_sha256"] in (base.spec_sha256, bundle.spec_sha256)
