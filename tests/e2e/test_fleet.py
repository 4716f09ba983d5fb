"""A fleet for real: three test hosts (network namespaces, each with its own engine and sshd,
tests/e2e/testhosts.py), ``observatory fleet apply`` over SSH, and the Prometheus of the
remote environment, deployed with ``observatory apply`` onto a fourth test host, finding
them through its file_sd files. Nothing runs on this machine's own engine.

The hosts and the stack are shared by the tests of this module, which run in order: apply
to all three; remove one from the spec (Prometheus drops its target and is not restarted);
stop one host's sshd (the other two apply, the command names the third and exits 1).
"""

from __future__ import annotations

import json
import os
import secrets
import time
import urllib.parse
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import yaml

from .conftest import CliResult, StackSpec
from .docker_env import TEST_IMAGES, wait_http
from .testhosts import TestHosts

pytestmark = pytest.mark.e2e

NAMES = ("fleet-a", "fleet-b", "fleet-c")
PROMETHEUS_HOST = "prom"  # short: veth names are at most 15 characters
PROMETHEUS_PORT = 9090
JOB = "fleet-node-exporter"
STANDIN_METRICS = "# TYPE standin_up gauge\nstandin_up 1\n"
FAST_HEALTHCHECK = {"interval": "1s", "timeout": "3s", "start_period": "30s"}


@pytest.fixture(scope="module")
def hosts(tmp_path_factory: pytest.TempPathFactory) -> Iterator[TestHosts]:
    images = (TEST_IMAGES["node_exporter"], TEST_IMAGES["busybox"])
    names = (*NAMES, PROMETHEUS_HOST)
    with TestHosts(names, tmp_path_factory.mktemp("fleet-hosts"), images) as made:
        made.load(made.host(PROMETHEUS_HOST), TEST_IMAGES["prometheus"])
        yield made


@dataclass
class Fleet:
    """The spec (its remote environment: Prometheus on prom, the fleet) and the hosts."""

    spec: StackSpec
    hosts: TestHosts

    @property
    def spec_path(self) -> Path:
        return self.spec.spec_path

    @property
    def prometheus(self) -> str:
        return f"http://{self.hosts.host(PROMETHEUS_HOST).address}:{PROMETHEUS_PORT}"

    def cli(self, *args: str) -> CliResult:
        """A command on the remote environment, with the test hosts' ssh config and keys."""
        ssh = ("--ssh-config", str(self.hosts.ssh_config))
        known = ("--known-hosts", str(self.hosts.known_hosts))
        return self.spec.cli(*args, "--environment", "remote", *ssh, *known)

    def fleet(self, command: str, *args: str) -> CliResult:
        return self.cli("fleet", command, *args)

    def set_fleet(self, names: tuple[str, ...], **node_exporter: Any) -> None:
        spec = yaml.safe_load(self.spec_path.read_text())
        spec["environments"]["remote"]["fleet"] = fleet_section(self.hosts, names, node_exporter)
        self.spec_path.write_text(yaml.safe_dump(spec, sort_keys=False))


def fleet_section(
    hosts: TestHosts, names: tuple[str, ...], node_exporter: dict[str, Any]
) -> dict[str, Any]:
    """The fleet: node-exporter everywhere, a busybox stand-in exporter on fleet-a only (a
    host's override), each host's own deploy directory (the namespaces share this machine's
    file system)."""
    standin = {
        "service": {
            "image": TEST_IMAGES["busybox"],
            "command": ["httpd", "-f", "-p", "8080", "-h", "/www"],
            "volumes": ["./standin:/www:ro"],
        },
        "port": 9180,
        "container_port": 8080,
    }
    exporter = {"image": TEST_IMAGES["node_exporter"], "healthcheck": FAST_HEALTHCHECK}
    section: dict[str, Any] = {
        "labels": {"site": "e2e"},
        "exporters": {"node_exporter": {**exporter, **node_exporter}},
        "hosts": {},
    }
    for name in names:
        host = hosts.host(name)
        entry: dict[str, Any] = {
            "address": host.address,
            "labels": {"role": "db" if name == "fleet-a" else "web"},
            "deploy_dir": str(host.root / "deploy"),
        }
        if name == "fleet-a":
            entry["exporters"] = {"extra": {"standin": standin}}
        section["hosts"][name] = entry
    return section


@pytest.fixture(scope="module")
def fleet(tmp_path_factory: pytest.TempPathFactory, hosts: TestHosts) -> Fleet:
    """``observatory init``, then the remote environment: Prometheus alone on prom
    (scraping every second), and the fleet of the three hosts."""
    directory = tmp_path_factory.mktemp("fleet-spec")
    env = {k: v for k, v in os.environ.items() if not k.startswith("OBSERVATORY_")}
    project = f"obstest-fleet-{secrets.token_hex(3)}"
    spec = StackSpec(directory, project, {}, env)
    init = spec.cli("init", ".")
    assert init.exit_code == 0, init.explain()
    data = yaml.safe_load(spec.spec_path.read_text())
    data["project"] = project
    data["environments"]["remote"] = {
        "ssh": {"host": PROMETHEUS_HOST},
        "deploy_dir": str(hosts.host(PROMETHEUS_HOST).root / "deploy"),
        "bind_address": hosts.host(PROMETHEUS_HOST).address,
        "services": {
            "prometheus": {
                "image": TEST_IMAGES["prometheus"],
                "port": PROMETHEUS_PORT,
                "healthcheck": FAST_HEALTHCHECK,
                "global": {"scrape_interval": "1s", "evaluation_interval": "1s"},
            },
            "pushgateway": {"enabled": False},
            "grafana": {"enabled": False},
        },
    }
    spec.spec_path.write_text(yaml.safe_dump(data, sort_keys=False))
    (directory / "standin").mkdir()
    (directory / "standin" / "metrics").write_text(STANDIN_METRICS)
    made = Fleet(spec, hosts)
    made.set_fleet(NAMES)
    return made


def targets(fleet: Fleet) -> list[dict[str, Any]]:
    body = wait_http(f"{fleet.prometheus}/api/v1/targets?state=active", timeout=10)
    found: list[dict[str, Any]] = json.loads(body)["data"]["activeTargets"]
    return found


def fleet_targets(fleet: Fleet, pool: str = JOB) -> dict[str, dict[str, Any]]:
    """The targets of a fleet job, by their host label."""
    return {t["labels"]["host"]: t for t in targets(fleet) if t["scrapePool"] == pool}


def wait_targets(
    fleet: Fleet, hosts: set[str], pool: str = JOB, timeout: float = 30
) -> dict[str, dict[str, Any]]:
    """The pool's targets once they are exactly ``hosts`` and all up."""
    deadline = time.monotonic() + timeout
    found = fleet_targets(fleet, pool)
    while time.monotonic() < deadline:
        found = fleet_targets(fleet, pool)
        if set(found) == hosts and all(t["health"] == "up" for t in found.values()):
            return found
        time.sleep(0.5)
    seen = {h: (t["health"], t.get("lastError")) for h, t in found.items()}
    pytest.fail(f"{pool}: wanted {sorted(hosts)} up, Prometheus has {seen}")


def prometheus_container(fleet: Fleet) -> tuple[str, str]:
    """The Prometheus container's id and when it started, from prom's engine."""
    host = fleet.hosts.host(PROMETHEUS_HOST)
    label = f"label=com.docker.compose.project={fleet.spec.project}"
    service = "label=com.docker.compose.service=prometheus"
    ps = host.docker("ps", "-q", "--no-trunc", "--filter", label, "--filter", service)
    cid = ps.stdout.strip()
    state = json.loads(host.docker("inspect", "--format", "{{json .State}}", cid).stdout)
    return cid, state["StartedAt"]


def process_start(fleet: Fleet) -> float:
    query = urllib.parse.urlencode({"query": 'process_start_time_seconds{job="prometheus"}'})
    body = wait_http(f"{fleet.prometheus}/api/v1/query?{query}", timeout=10)
    [series] = json.loads(body)["data"]["result"]
    return float(series["value"][1])


def running(hosts: TestHosts, name: str) -> dict[str, str]:
    """The containers running on a test host's own engine: compose service -> command."""
    fmt = '{{.Label "com.docker.compose.service"}}\t{{.Command}}'
    out = hosts.host(name).docker("ps", "--no-trunc", "--format", fmt).stdout
    return dict(line.split("\t", 1) for line in out.splitlines())


def test_apply_puts_the_exporters_on_every_host_and_prometheus_scrapes_them(
    fleet: Fleet, hosts: TestHosts
) -> None:
    prometheus = fleet.cli("apply", "--auto-approve")
    assert prometheus.exit_code == 0, prometheus.explain()

    plan = fleet.fleet("plan")
    assert plan.exit_code == 2, plan.explain()

    start = time.monotonic()
    applied = fleet.fleet("apply", "--auto-approve")
    took = time.monotonic() - start
    assert applied.exit_code == 0, applied.explain()
    for n, name in enumerate(NAMES, start=1):
        assert f"/3] {name}: applied release" in applied.stdout, applied.explain()
        assert f"[{n}/3]" in applied.stdout
    rows = [line.split() for line in applied.stdout.splitlines() if line.startswith("fleet-")]
    assert [(r[0], r[1], r[2]) for r in rows] == [
        (name, hosts.host(name).address, "applied") for name in NAMES
    ], applied.stdout
    print(f"fleet apply of three hosts: {took:.1f}s")

    assert sorted(running(hosts, "fleet-a")) == ["node-exporter", "standin"]
    assert sorted(running(hosts, "fleet-b")) == ["node-exporter"]
    assert sorted(running(hosts, "fleet-c")) == ["node-exporter"]

    found = wait_targets(fleet, set(NAMES))
    a = found["fleet-a"]
    assert a["labels"]["instance"] == f"{hosts.host('fleet-a').address}:9100"
    assert (a["labels"]["site"], a["labels"]["role"]) == ("e2e", "db")
    assert found["fleet-b"]["labels"]["role"] == "web"
    wait_targets(fleet, {"fleet-a"}, pool="fleet-standin")

    again = fleet.fleet("plan")
    assert again.exit_code == 0, again.explain()


def test_a_host_removed_from_the_spec_leaves_prometheus_without_a_restart(fleet: Fleet) -> None:
    before = prometheus_container(fleet)
    started = process_start(fleet)

    fleet.set_fleet(("fleet-a", "fleet-b"))
    applied = fleet.cli("apply", "--auto-approve")
    assert applied.exit_code == 0, applied.explain()
    assert "recreate prometheus" not in applied.stdout, applied.stdout

    wait_targets(fleet, {"fleet-a", "fleet-b"}, timeout=20)
    assert prometheus_container(fleet) == before
    assert process_start(fleet) == started


def test_an_unreachable_host_fails_for_itself_while_the_others_apply(
    fleet: Fleet, hosts: TestHosts
) -> None:
    fleet.set_fleet(NAMES, extra_flags=["--web.max-requests=41"])
    hosts.stop_sshd("fleet-c")

    applied = fleet.fleet("apply", "--auto-approve", "--timeout", "60")

    assert applied.exit_code == 1, applied.explain()
    out = applied.stdout
    assert "fleet-a: applied release" in out, applied.explain()
    assert "fleet-b: applied release" in out, applied.explain()
    [line] = [line for line in out.splitlines() if "] fleet-c: FAILED" in line]
    assert "refused" in line.lower(), line
    assert "1 of 3 host(s) failed: fleet-c" in applied.stderr, applied.explain()
    for name in ("fleet-a", "fleet-b"):
        assert "--web.max-requests=41" in running(hosts, name)["node-exporter"]
