"""`up` leaves the host in the state `plan` expects, and reloads Prometheus for a changed
prometheus.yml instead of leaving it on the old config."""

from __future__ import annotations

import json
import time
import urllib.request

import pytest
import yaml

from .conftest import StackFactory

pytestmark = pytest.mark.e2e


def served_interval(url: str) -> str:
    with urllib.request.urlopen(url + "/api/v1/status/config", timeout=10) as answer:  # noqa: S310 - our loopback port
        config = yaml.safe_load(json.load(answer)["data"]["yaml"])
    return str(config["global"]["scrape_interval"])


def test_up_records_the_state_and_reloads_a_changed_scrape_config(make_stack: StackFactory) -> None:
    stack = make_stack(name="up-plan")
    up = stack.cli("up", "--timeout", "90")
    assert up.exit_code == 0, up.explain()
    plan = stack.cli("plan")
    assert plan.exit_code == 0, plan.explain()
    before = stack.containers()["prometheus"]

    spec = yaml.safe_load(stack.spec_path.read_text())
    spec["environments"]["local"]["services"]["prometheus"]["global"]["scrape_interval"] = "2s"
    stack.spec_path.write_text(yaml.safe_dump(spec, sort_keys=False))
    again = stack.cli("up", "--timeout", "90")
    assert again.exit_code == 0, again.explain()

    assert stack.containers()["prometheus"] == before  # reloaded, not recreated
    deadline = time.monotonic() + 20
    while served_interval(stack.url("prometheus")) != "2s" and time.monotonic() < deadline:
        time.sleep(0.5)
    assert served_interval(stack.url("prometheus")) == "2s"
    assert stack.cli("plan").exit_code == 0
