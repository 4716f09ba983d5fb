"""The probe of plan and apply (``--project`` with the deploy directory): for a project this
tool deployed (its manifest.json there) the files are read in the directory only, a file that
is the caller's own (``--expect``) comes without its content, and only Prometheus' targets are
asked; for a project made by hand everything export needs is read, as discover reads it."""

from __future__ import annotations

import base64
import hashlib
import json
from pathlib import Path
from typing import Any

import pytest

from beast_observatory.host.probe.build import probe_script
from beast_observatory.host.probe.run import probe_argv, run_probe
from beast_observatory.host.transport.local import LocalTransport

from .probe_env import bind, fake_docker, free_port, image_lines, inspect_lines, ps_lines, tool_dir

OURS = "a" * 64
THEIRS = "b" * 64
PROMETHEUS_YML = "global:\n  scrape_interval: 15s\n"
RULES = "groups: []\n"


def sha(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


def deployed(root: Path, *, managed: bool) -> Path:
    deploy = root / "deploy"
    (deploy / "prometheus" / "rules").mkdir(parents=True)
    (deploy / "prometheus" / "prometheus.yml").write_text(PROMETHEUS_YML)
    (deploy / "prometheus" / "rules" / "a.yml").write_text("groups: [] # edited on the host\n")
    if managed:
        (deploy / "manifest.json").write_text(
            json.dumps({"files": {"prometheus/prometheus.yml": ""}})
        )
    return deploy


def run(root: Path, shell: str, *, managed: bool) -> tuple[Any, str, bytes]:
    deploy = deployed(root, managed=managed)
    labels = {"com.docker.compose.project": "obs", "com.docker.compose.service": "prometheus"}
    inspect = inspect_lines(
        OURS,
        "obs-prometheus-1",
        "prom/prometheus:v3.13.3",
        entrypoint=["/bin/prometheus"],
        cmd=["--config.file=/etc/prometheus/prometheus.yml"],
        labels=labels,
        mounts=[bind(deploy / "prometheus", "/etc/prometheus")],
        ports={"9090/tcp": [{"HostIp": "127.0.0.1", "HostPort": str(free_port())}]},
    )
    bin_dir = tool_dir(root, busybox=shell == "busybox")
    fake_docker(
        bin_dir,
        {
            "version --format": "27.0.0-fake\n",
            "compose version": "2.40.3\n",
            "ps -a": ps_lines(OURS, project="obs", names={OURS: "obs-prometheus-1"})
            + ps_lines(THEIRS, names={THEIRS: "someone-elses"}),
            "inspect --type": inspect,
            "image inspect": image_lines(),
            "volume ls": "",
            "network ls": "",
        },
        copies={f"{OURS}:/etc/prometheus": deploy / "prometheus"},
    )
    expect = {
        "prometheus/prometheus.yml": sha(PROMETHEUS_YML),
        "prometheus/rules/a.yml": sha(RULES),  # what the caller would deploy: not what is there
    }
    probed = run_probe(
        LocalTransport(), [str(deploy)], env={"PATH": str(bin_dir)}, project="obs", expect=expect
    )
    # The probe's own output, as it crosses the wire
    sent = LocalTransport().run(
        probe_argv([str(deploy)], "obs", expect), stdin=probe_script(), env={"PATH": str(bin_dir)}
    )
    return probed, str(deploy), sent.stdout


@pytest.fixture(params=["dash", "busybox"])
def shell(request: pytest.FixtureRequest) -> str:
    return str(request.param)


def test_a_managed_project_is_read_in_its_deploy_directory_only(tmp_path: Path, shell: str) -> None:
    probed, deploy, sent = run(tmp_path, shell, managed=True)
    inv = probed.inventory
    assert inv.managed
    assert [c.name for c in inv.containers] == ["obs-prometheus-1"]
    assert inv.other_containers == ("someone-elses",)
    assert inv.config_files == {}  # nothing copied out of the container
    assert {p for paths in inv.apis.values() for p in paths} == {"/api/v1/targets"}
    files = inv.directories[deploy]
    same = files["prometheus/prometheus.yml"]
    assert same.expected
    assert same.content is None
    assert same.sha256 == sha(PROMETHEUS_YML)
    edited = files["prometheus/rules/a.yml"]
    assert not edited.expected
    assert edited.content == "groups: [] # edited on the host\n"
    encoded = base64.b64encode(PROMETHEUS_YML.encode())
    assert encoded not in sent  # neither in the deploy directory's record nor anywhere else
    assert base64.b64encode(b"groups: [] # edited on the host\n") in sent


def test_the_callers_files_get_their_content_back(tmp_path: Path, shell: str) -> None:
    probed, deploy, _ = run(tmp_path, shell, managed=True)
    inv = probed.inventory.with_expected_content(
        deploy, {"prometheus/prometheus.yml": PROMETHEUS_YML.encode()}
    )
    assert inv.deploy_files(deploy)["prometheus/prometheus.yml"].content == PROMETHEUS_YML
    assert probed.inventory.deploy_files(deploy)["prometheus/prometheus.yml"].content is None


def test_a_project_made_by_hand_is_read_whole(tmp_path: Path, shell: str) -> None:
    probed, _, sent = run(tmp_path, shell, managed=False)
    inv = probed.inventory
    assert not inv.managed
    assert base64.b64encode(PROMETHEUS_YML.encode()) in sent  # read out of the container
    copied = inv.config_files["obs-prometheus-1"]
    assert copied["/etc/prometheus/prometheus.yml"].content == PROMETHEUS_YML
    asked = {p for paths in inv.apis.values() for p in paths}
    assert asked == {
        "/api/v1/status/config",
        "/api/v1/status/flags",
        "/api/v1/status/buildinfo",
        "/api/v1/targets",
    }
