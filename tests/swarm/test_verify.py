"""What apply concludes after docker stack deploy (swarm/verify.py): Swarm converged, and one
target up per task of each service Prometheus discovers."""

from __future__ import annotations

from beast_observatory.deploy.releases import Release
from beast_observatory.host.transport.base import CommandResult
from beast_observatory.host.transport.served import encode_batch
from beast_observatory.swarm.deploy import finish_commands, rollout_steps
from beast_observatory.swarm.verify import (
    Checks,
    convergence_problems,
    discovery_problems,
    parse_convergence,
)
from swarm.swarm_data import swarm_bundle


def _answer(text: str, code: int = 0) -> CommandResult:
    return CommandResult(("converge",), code, text.encode(), b"")


def test_converged() -> None:
    c = parse_convergence(_answer("service beast_node-exporter 2 2 none\n"))
    assert convergence_problems(c, 60) == []
    assert c.running("beast_node-exporter") == 2


def test_tasks_missing_and_the_error_of_a_task() -> None:
    text = "service beast_prometheus 1 0 updating\nerror beast_prometheus no such image\n"
    c = parse_convergence(_answer(text, 1))
    assert convergence_problems(c, 60) == [
        "service beast_prometheus: 0/1 tasks running",
        "task beast_prometheus no such image",
    ]


def test_a_paused_update_is_a_failure() -> None:
    c = parse_convergence(_answer("service beast_grafana 1 1 paused\n", 2))
    assert convergence_problems(c, 60) == ["service beast_grafana: its update paused"]


def _target(job: str, health: str, instance: str) -> dict[str, object]:
    return {"scrapePool": job, "health": health, "labels": {"job": job, "instance": instance}}


def test_one_target_up_per_task() -> None:
    targets = {
        "data": {
            "activeTargets": [
                _target("node", "up", "10.0.1.3:9100"),
                _target("node", "down", "10.0.1.4:9100"),
            ]
        }
    }
    assert discovery_problems(targets, {"node": 1}) == []
    problems = discovery_problems(targets, {"node": 2})
    assert problems == ["scrape job node: 1 of 2 tasks up: 10.0.1.4:9100 down (not scraped yet)"]


def test_every_batch_of_an_apply_can_be_sent_in_the_lock_session() -> None:
    """The lock's session takes stdin for the last command of a batch only."""
    bundle = swarm_bundle()
    release = Release("0002-abc", "/opt/observatory/beast/releases/0002-abc")
    steps = rollout_steps("/opt/observatory/beast", release, bundle, {"old.yml"}, prune=False)
    assert [name for name, _ in steps] == ["check:prometheus", "validate", "switch", "deploy"]
    checks = Checks(bundle.project, bundle.files).commands(60)
    assert encode_batch([c for _, c in steps] + checks)
    finish = finish_commands("/opt/observatory/beast", bundle, release)
    assert encode_batch(finish)
    # the configs the stack uses are kept, by name
    keep = finish[1].argv
    assert any(a.startswith("beast_prometheus-prometheus.yml_") for a in keep)
