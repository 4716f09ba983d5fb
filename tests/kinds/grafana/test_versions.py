"""Grafana 12 (kinds/grafana/versions.py): what it reads differently is said at validate, for
an image whose release is known; the plan says what crossing to 12 means."""

from __future__ import annotations

from typing import Any

from beast_observatory.kinds.grafana.versions import (
    dashboard_notes,
    upgrade_notes,
    version_problems,
)
from beast_observatory.kinds.versions import Version
from bundles import spec_data, stack_of

V11 = "grafana/grafana-oss:11.6.0"
V12 = "grafana/grafana:12.4.11"


def problems(**grafana: Any) -> list[tuple[str, str, str]]:
    found = version_problems(stack_of(spec_data({"grafana": grafana})).services.grafana)
    return [(p.severity, ".".join(str(x) for x in p.path), p.message) for p in found]


def test_settings_grafana_12_removed_are_named_for_12_only() -> None:
    ini = {"users": {"editors_can_admin": True}, "security": {"angular_support_enabled": True}}
    assert [(s, p) for s, p, _ in problems(image=V12, ini=ini)] == [
        ("warning", "services.grafana.ini.security.angular_support_enabled"),
        ("warning", "services.grafana.ini.users.editors_can_admin"),
    ]
    assert problems(image=V11, ini=ini) == []
    # A local build whose release nobody named: nothing release-specific is said.
    assert problems(image="observatory-test/grafana-standin:debian", ini=ini) == []
    assert (
        len(problems(image="observatory-test/grafana-standin:debian", image_version="12", ini=ini))
        == 2
    )


def test_a_data_source_uid_grafana_12_refuses() -> None:
    source = {
        "name": "Prom",
        "type": "prometheus",
        "uid": "prom.main",
        "url": "http://prometheus:9090",
    }
    found = problems(image=V12, datasources=[source])
    assert ("error", "services.grafana.datasources.0.uid") in [(s, p) for s, p, _ in found]


def test_the_oss_repository_stopped_at_12_3() -> None:
    [(severity, path, message)] = problems(image="grafana/grafana-oss:12.4.0")
    assert (severity, path) == ("warning", "services.grafana.image")
    assert "gets no images from Grafana 12.4 on" in message
    assert problems(image=V11) == []


def test_angular_panels_are_named_for_12() -> None:
    doc = {"panels": [{"type": "row", "panels": [{"type": "graph"}]}, {"type": "timeseries"}]}
    assert dashboard_notes(doc, Version(12, 4)) == [
        "panels[0].panels[0]: graph is an Angular panel: Grafana 12 shows it as timeseries "
        "(save the migrated dashboard)"
    ]
    assert dashboard_notes(doc, Version(11, 6)) == []
    assert dashboard_notes(doc, None) == []


def test_the_upgrade_to_12_says_the_database_cannot_go_back() -> None:
    up = upgrade_notes("11.6.0", "12.4.11", Version(11, 6), Version(12, 4, 11))
    assert up.reasons[0].startswith("grafana 11.6.0 -> 12.4.11: a major upgrade")
    assert any("back up the data volume first" in r for r in up.reasons)
    down = upgrade_notes("12.4.11", "11.6.0", Version(12, 4, 11), Version(11, 6))
    assert "restore the data volume's backup" in down.reasons[0]
    assert upgrade_notes("12.3.0", "12.4.11", Version(12, 3), Version(12, 4, 11)).reasons == ()
