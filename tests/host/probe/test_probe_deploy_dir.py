"""The probe reads a deploy directory whole, but of its kept releases only the manifests."""

from __future__ import annotations

from pathlib import Path

from beast_observatory.host.probe.run import probe_host
from beast_observatory.host.transport.local import LocalTransport


def test_releases_are_read_by_manifest_only(tmp_path: Path) -> None:
    (tmp_path / "prometheus").mkdir()
    (tmp_path / "prometheus" / "prometheus.yml").write_text("global: {}\n")
    release = tmp_path / "releases" / "0001-abc"
    (release / "prometheus").mkdir(parents=True)
    (release / "prometheus" / "prometheus.yml").write_text("global: {}\n")
    (release / "manifest.json").write_text('{"files": {}}\n')

    inventory = probe_host(LocalTransport(), dirs=[str(tmp_path)])

    files = inventory.directories[str(tmp_path)]
    assert sorted(files) == ["prometheus/prometheus.yml", "releases/0001-abc/manifest.json"]
    assert files["releases/0001-abc/manifest.json"].content == '{"files": {}}\n'
