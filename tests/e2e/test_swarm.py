"""engine: swarm for real: a swarm of test hosts (tests/e2e/testhosts.py), each a network
namespace with its own Docker engine and sshd. ``swm`` is the manager that ``apply`` reaches
over SSH, ``sww1`` a worker from the start, ``sww2`` a worker that joins later. The machine's
own engine takes no part (other tests use it): it is never put in swarm mode, and every test
engine leaves its swarm whatever happened.

Run it alone, holding the test hosts' locks (other suites use the same namespaces and engine):
``flock /tmp/obs-testhosts.lock flock /tmp/obs-e2e.lock pytest tests/e2e/test_swarm.py``.
"""

from __future__ import annotations

import contextlib
import json
import os
import secrets
import time
import urllib.parse
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import yaml

from .conftest import CliResult, StackSpec
from .docker_env import TEST_IMAGES
from .testhosts import TestHost, TestHosts

MANAGER, WORKER, LATE = "swm", "sww1", "sww2"
PROMETHEUS_PORT = 19090
_PROMETHEUS = "prometheus"
_EXPORTER = "node-exporter"


@dataclass
class Swarm:
    hosts: TestHosts
    stack: StackSpec
    worker_token: str

    @property
    def manager(self) -> TestHost:
        return self.hosts.host(MANAGER)

    @property
    def prometheus(self) -> str:
        return f"http://{self.manager.address}:{PROMETHEUS_PORT}"

    def cli(self, command: str, *args: str) -> CliResult:
        return self.stack.cli(
            command,
            "--environment",
            "swarm",
            "--ssh-config",
            str(self.hosts.ssh_config),
            "--known-hosts",
            str(self.hosts.known_hosts),
            *args,
            timeout=300,
        )

    def service(self, name: str) -> str:
        return f"{self.stack.project}_{name}"

    def tasks(self, name: str) -> dict[str, str]:
        """Running tasks of a service: task id -> node id."""
        out = self.manager.docker(
            "service", "ps", "-q", "--filter", "desired-state=running", self.service(name)
        ).stdout.split()
        nodes = {}
        for task in out:
            node = self.manager.docker("inspect", "--format", "{{.NodeID}}", task).stdout.strip()
            nodes[task] = node
        return nodes

    def api(self, path: str, **query: str) -> Any:
        url = f"{self.prometheus}{path}"
        if query:
            url += "?" + urllib.parse.urlencode(query)
        with urllib.request.urlopen(url, timeout=5) as answer:  # noqa: S310 - our own test host
            return json.loads(answer.read())["data"]

    def node_targets(self) -> dict[str, str]:
        """Scrape targets of the node job: address -> health."""
        active = self.api("/api/v1/targets")["activeTargets"]
        return {
            t["labels"]["instance"]: t["health"] for t in active if t["labels"]["job"] == "node"
        }

    def edit(self, change: Any) -> None:
        spec = yaml.safe_load(self.stack.spec_path.read_text())
        change(spec)
        self.stack.spec_path.write_text(yaml.safe_dump(spec, sort_keys=False))


def _wait(what: str, check: Any, timeout: float = 60) -> Any:
    deadline = time.monotonic() + timeout
    last: Any = None
    while time.monotonic() < deadline:
        with contextlib.suppress(OSError, ValueError, KeyError):
            last = check()
            if last:
                return last
        time.sleep(1)
    pytest.fail(f"{what}: not within {timeout:g}s (last seen: {last!r})")


def _spec(directory: Path, project: str, deploy_dir: Path) -> None:
    probe = {"interval": "1s", "timeout": "3s", "start_period": "30s"}
    spec = {
        "version": 1,
        "project": project,
        "environments": {
            "swarm": {
                "engine": "swarm",
                "ssh": {"host": MANAGER},
                "deploy_dir": str(deploy_dir),
                "bind_address": "0.0.0.0",  # noqa: S104 - what Swarm binds host-mode ports on
                "swarm": {"refresh_interval": "2s"},
            }
        },
        "services": {
            "prometheus": {
                "image": TEST_IMAGES["prometheus"],
                "port": PROMETHEUS_PORT,
                "global": {"scrape_interval": "1s", "evaluation_interval": "1s"},
                "healthcheck": probe,
            },
            "node_exporter": {
                "enabled": True,
                "image": TEST_IMAGES["node_exporter"],
                "healthcheck": probe,
            },
            "grafana": {"enabled": False},
            "pushgateway": {"enabled": False},
        },
    }
    directory.mkdir(parents=True, exist_ok=True)
    (directory / "observatory.yaml").write_text(yaml.safe_dump(spec, sort_keys=False))


def _leave(host: TestHost) -> None:
    host.docker("swarm", "leave", "--force", check=False)


def _main_engine_swarm() -> str:
    from .testhosts import run  # noqa: PLC0415

    return run("docker", "info", "--format", "{{.Swarm.LocalNodeState}}").stdout.strip()


@pytest.fixture(scope="module")
def swarm(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Swarm]:
    assert _main_engine_swarm() == "inactive", "the machine's engine is in a swarm already"
    root = tmp_path_factory.mktemp("swarm")
    images = [TEST_IMAGES["prometheus"], TEST_IMAGES["node_exporter"]]
    project = f"obstest-e2e-sw-{os.getpid()}-{secrets.token_hex(3)}"
    with TestHosts([MANAGER, WORKER, LATE], root / "hosts", images) as hosts:
        try:
            manager = hosts.host(MANAGER)
            manager.docker("swarm", "init", "--advertise-addr", manager.address)
            token = manager.docker("swarm", "join-token", "-q", "worker").stdout.strip()
            worker = hosts.host(WORKER)
            join = f"{manager.address}:2377"
            worker.docker(
                "swarm", "join", "--token", token, "--advertise-addr", worker.address, join
            )
            env = {k: v for k, v in os.environ.items() if not k.startswith("OBSERVATORY_")}
            stack = StackSpec(root / "spec", project, {_PROMETHEUS: PROMETHEUS_PORT}, env)
            _spec(stack.directory, project, root / "deploy")
            yield Swarm(hosts, stack, token)
        finally:
            with contextlib.suppress(Exception):
                hosts.host(MANAGER).docker("stack", "rm", project, check=False)
            for host in reversed(hosts.hosts):
                _leave(host)
    assert _main_engine_swarm() == "inactive"


def test_a_global_exporter_on_both_nodes_and_both_targets_up(swarm: Swarm) -> None:
    first = swarm.cli("plan")
    assert first.exit_code == 2, first.explain()
    assert "prometheus: create" in first.stdout
    applied = swarm.cli("apply", "--auto-approve", "--timeout", "120", "--scrape-wait", "60")
    assert applied.exit_code == 0, applied.explain()
    tasks = swarm.tasks(_EXPORTER)
    assert len(set(tasks.values())) == 2, tasks  # one task on each node
    targets = _wait(
        "both node-exporters up",
        lambda: (t := swarm.node_targets()) and len(t) == 2 and set(t.values()) == {"up"} and t,
    )
    assert len(targets) == 2
    again = swarm.cli("plan")
    assert again.exit_code == 0, again.explain()
    assert "No changes" in again.stdout


def test_a_node_that_joins_is_scraped_without_restarting_prometheus(swarm: Swarm) -> None:
    before = swarm.tasks(_PROMETHEUS)
    late = swarm.hosts.host(LATE)
    join = f"{swarm.manager.address}:2377"
    late.docker(
        "swarm", "join", "--token", swarm.worker_token, "--advertise-addr", late.address, join
    )
    _wait(
        "an exporter task on the new node", lambda: len(set(swarm.tasks(_EXPORTER).values())) == 3
    )
    targets = _wait(
        "the new node's target up",
        lambda: (t := swarm.node_targets()) and len(t) == 3 and set(t.values()) == {"up"} and t,
    )
    assert len(targets) == 3
    assert swarm.tasks(_PROMETHEUS) == before  # the same task: Prometheus was not restarted


def test_a_scrape_change_is_served_and_prometheus_keeps_its_data(swarm: Swarm) -> None:
    exporters = swarm.tasks(_EXPORTER)
    before = time.time()
    old = swarm.api("/api/v1/query", query='count(up{job="node"})', time=str(before))
    assert old["result"], old

    def slower(spec: dict[str, Any]) -> None:
        spec["services"]["prometheus"]["global"]["scrape_interval"] = "2s"

    swarm.edit(slower)
    plan = swarm.cli("plan")
    assert plan.exit_code == 2, plan.explain()
    assert "prometheus: update" in plan.stdout
    assert "config at /etc/prometheus/prometheus.yml" in plan.stdout
    assert f"its data volume {swarm.service('prometheus-data')} stays" in plan.stdout
    assert "node-exporter: update" not in plan.stdout  # unchanged
    applied = swarm.cli("apply", "--auto-approve", "--timeout", "120", "--scrape-wait", "60")
    assert applied.exit_code == 0, applied.explain()
    config = swarm.api("/api/v1/status/config")["yaml"]
    assert "scrape_interval: 2s" in config
    # the samples scraped before the update are still there: the same volume, on the manager
    kept = swarm.api("/api/v1/query", query='count(up{job="node"})', time=str(before))
    assert kept["result"] == old["result"]
    assert swarm.tasks(_EXPORTER) == exporters  # the exporters were left alone
    assert swarm.cli("plan").exit_code == 0
