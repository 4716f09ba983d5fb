"""Changes compose recreates a container for, beyond image, command, ports, env and restart."""

from __future__ import annotations

from pathlib import Path

from beast_observatory.bundle.compile import compile_project
from beast_observatory.plan.compute import make_plan
from beast_observatory.spec.load import load_project

from .test_compute import DEPLOY, bundle_for, live_inventory


def replan(tmp_path: Path, old_text: str, new_text: str) -> list[tuple[str, str, tuple[str, ...]]]:
    old = bundle_for(tmp_path)
    spec = tmp_path / "observatory.yaml"
    spec.write_text(spec.read_text().replace(old_text, new_text))
    new = compile_project(load_project(spec), ["remote"])["remote"]
    plan = make_plan(new, live_inventory(old), deploy_dir=DEPLOY, host="h")
    return [(s.service, s.action, s.reasons) for s in plan.services if s.action != "unchanged"]


def test_moving_data_to_a_host_path_says_the_old_volume_keeps_its_data(tmp_path: Path) -> None:
    changes = replan(
        tmp_path,
        "    port: 9091\n",
        "    port: 9091\n    data:\n      path: /srv/pushgateway\n",
    )
    assert len(changes) == 1
    service, action, reasons = changes[0]
    assert (service, action) == ("pushgateway", "recreate")
    assert "pushgateway-data:/pushgateway -> /srv/pushgateway:/pushgateway" in reasons[0]
    assert "stays there, unused" in reasons[0]


def test_a_memory_limit_recreates_only_that_service(tmp_path: Path) -> None:
    changes = replan(
        tmp_path,
        "    port: 9091\n",
        "    port: 9091\n    resources:\n      memory: 256m\n",
    )
    assert changes == [("pushgateway", "recreate", ("mem_limit changed",))]
