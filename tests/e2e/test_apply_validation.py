"""apply lets each service's own checker judge the release on the host before anything
changes: amtool, from the Alertmanager image, on an inline Alertmanager config; promtool,
from the Prometheus image, running the rule tests."""

from __future__ import annotations

import pytest

from .conftest import StackFactory
from .docker_env import TEST_IMAGES, free_port

pytestmark = pytest.mark.e2e

BROKEN = {
    "route": {"receiver": "pager"},  # no receiver of that name: Alertmanager refuses to load
    "receivers": [{"name": "default"}],
}


def test_amtool_rejects_an_alertmanager_config_before_the_host_changes(
    make_stack: StackFactory,
) -> None:
    stack = make_stack(
        {
            "alertmanager": {
                "enabled": True,
                "image": TEST_IMAGES["alertmanager"],
                "port": free_port(),
                "config": BROKEN,
            }
        },
        name="amtool",
    )
    validated = stack.cli("validate")
    assert validated.exit_code == 0, validated.explain()  # the spec itself is well-formed

    applied = stack.cli("apply", "--auto-approve", "--timeout", "60")
    assert applied.exit_code == 1, applied.explain()
    assert "amtool" in applied.stderr, applied.explain()
    assert "pager" in applied.stderr, applied.explain()
    assert "Traceback" not in applied.output
    assert stack.containers() == {}  # nothing was started
    deploy = stack.directory / ".observatory" / "deploy" / "local"
    assert not (deploy / "docker-compose.yml").exists()  # nothing was switched in


def test_a_failing_rule_test_stops_apply_before_the_host_changes(
    make_stack: StackFactory,
) -> None:
    """The starter's rule tests, run by the promtool of the Prometheus image on the host."""
    stack = make_stack(name="ruletest")
    alerts = stack.directory / "rules" / "observatory-alerts.yml"
    text = alerts.read_text()
    assert "        for: 5m\n" in text
    alerts.write_text(text.replace("        for: 5m\n", "        for: 1m\n", 1))  # TargetDown

    applied = stack.cli("apply", "--auto-approve", "--timeout", "60")
    assert applied.exit_code == 1, applied.explain()
    assert f"promtool (from {TEST_IMAGES['prometheus']}) refuses" in applied.stderr
    assert "rule test 'observatory-rules' fails: alertname: TargetDown" in applied.stderr
    assert "Traceback" not in applied.output
    assert stack.containers() == {}  # nothing was started
    deploy = stack.directory / ".observatory" / "deploy" / "local"
    assert not (deploy / "docker-compose.yml").exists()  # nothing was switched in
