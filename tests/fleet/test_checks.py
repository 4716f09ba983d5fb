"""What validate says about a fleet, and where in the spec it says it."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from beast_observatory.bundle.compile import check_stack, validate_project
from beast_observatory.errors import SpecError
from beast_observatory.spec.checks import Problem
from beast_observatory.spec.load import load_project
from bundles import stack_of, write_project

from .specs import STANDIN, fleet_data


def problems(data: dict[str, Any]) -> list[Problem]:
    return [p for p in check_stack(stack_of(data, "remote"), {}, {}) if "fleet" in p.path]


def test_a_fleet_as_the_starter_writes_it_has_no_problem() -> None:
    assert problems(fleet_data()) == []


def test_a_fleet_job_named_as_a_job_of_prometheus_is_an_error() -> None:
    data = fleet_data()
    data["services"] = {"prometheus": {"scrape_jobs": [{"name": "fleet-node-exporter"}]}}
    [p] = problems(data)
    assert p.path == ("environments", "remote", "fleet", "exporters", "node_exporter", "job")
    assert "scrape job 'fleet-node-exporter'" in p.message
    assert p.severity == "error"


def test_two_exporters_of_one_job_name_are_an_error() -> None:
    data = fleet_data(exporters={"extra": {"standin": {**STANDIN, "job": "fleet-node-exporter"}}})
    [p] = problems(data)
    assert "is also the job of node-exporter" in p.message


def test_two_exporters_scraped_at_one_port_of_a_host_are_an_error() -> None:
    hosts = {"a": {"exporters": {"extra": {"standin": {"port": 9100}}}}}
    found = problems(fleet_data(hosts, exporters={"extra": {"standin": STANDIN}}))
    assert any("host a: exporters node-exporter and standin are both" in p.message for p in found)
    # the host's compose file would publish the port twice too
    assert any("host port 9100 is already used" in p.message for p in found)


def test_a_node_exporter_that_is_not_published_cannot_be_scraped() -> None:
    [p, *_] = problems(fleet_data(exporters={"node_exporter": {"publish": False}}))
    assert p.path[-2:] == ("node_exporter", "port")
    assert "needs a published port" in p.message


def test_hosts_of_one_address_are_a_warning() -> None:
    [p] = problems(fleet_data({"a": {"address": "10.0.0.9"}, "b": {"address": "10.0.0.9"}}))
    assert p.severity == "warning"
    assert p.path == ("environments", "remote", "fleet", "hosts", "b", "address")


def test_a_fleet_nothing_scrapes_is_a_warning() -> None:
    data = fleet_data()
    data["environments"]["remote"]["services"] = {"prometheus": {"enabled": False}}
    [p] = problems(data)
    assert (p.severity, p.path) == ("warning", ("environments", "remote", "fleet"))


def test_a_problem_of_the_hosts_exporters_is_blamed_on_the_fleets_spec() -> None:
    exporters = {
        "extra": {"standin": {**STANDIN, "service": {**STANDIN["service"], "networks": ["lan"]}}}
    }
    [p] = problems(fleet_data(exporters=exporters))
    assert p.path == (
        "environments",
        "remote",
        "fleet",
        "exporters",
        "extra",
        "standin",
        "service",
        "networks",
    )
    assert p.message == "network 'lan' is not declared"  # once, for every host


def test_a_problem_of_one_host_names_it() -> None:
    hosts = {"a": {}, "b": {"exporters": {"node_exporter": {"networks": ["lan"]}}}}
    [p] = problems(fleet_data(hosts))
    assert p.message == "host b: network 'lan' is not declared"


def test_validate_says_where_in_the_file(tmp_path: Path) -> None:
    data = fleet_data()
    data["services"] = {"prometheus": {"scrape_jobs": [{"name": "fleet-node-exporter"}]}}
    project = load_project(write_project(tmp_path, data))
    with pytest.raises(SpecError) as caught:
        validate_project(project)
    [line] = caught.value.problems
    assert line.startswith(f"{tmp_path / 'observatory.yaml'}:")
    assert "environments.remote.fleet.exporters.node_exporter.job" in line
