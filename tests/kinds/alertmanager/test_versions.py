"""Alertmanager 0.x releases (kinds/alertmanager/versions.py): a feature flag a release removed
is not written for it; the plan names the releases with breaking changes an image crosses."""

from __future__ import annotations

from typing import Any

from beast_observatory.kinds.alertmanager.checks import check_alertmanager
from beast_observatory.kinds.alertmanager.versions import upgrade_notes
from beast_observatory.kinds.versions import Version
from beast_observatory.yamlio import load_yaml
from bundles import render, spec_data, stack_of


def alertmanager(**fields: Any) -> dict[str, Any]:
    return {"alertmanager": {"enabled": True, **fields}}


def extra(services: dict[str, Any]) -> list[str]:
    compose = load_yaml(render(spec_data(services)).files["docker-compose.yml"])
    flags: list[str] = compose["services"]["alertmanager"]["command"]
    return [f for f in flags if f.startswith("--enable-feature")]


def severities(services: dict[str, Any]) -> list[tuple[str, str]]:
    found = check_alertmanager(stack_of(spec_data(services)), {})
    return [(p.severity, ".".join(str(x) for x in p.path)) for p in found]


def test_a_removed_feature_flag_is_not_written_for_0_33_and_later() -> None:
    flags = ["--enable-feature=auto-gomaxprocs,receiver-name-in-metrics"]
    new = alertmanager(image="prom/alertmanager:v0.34.1", extra_flags=flags)
    assert extra(new) == ["--enable-feature=receiver-name-in-metrics"]
    assert severities(new) == [("warning", "services.alertmanager.extra_flags.0")]
    old = alertmanager(image="prom/alertmanager:v0.32.0", extra_flags=flags)
    assert extra(old) == flags
    assert severities(old) == []
    local = alertmanager(image="observatory-test/alertmanager:debian", extra_flags=flags)
    assert extra(local) == flags  # unknown release: as written


def test_the_plan_names_the_breaking_releases_crossed() -> None:
    up = upgrade_notes("v0.26.0", "v0.34.1", Version(0, 26), Version(0, 34, 1))
    assert up.reasons[0].startswith(
        "alertmanager v0.26.0 -> v0.34.1: an upgrade across 3 release(s)"
    )
    assert "API v1 is gone" in up.reasons[1]
    assert upgrade_notes("v0.34.0", "v0.34.1", Version(0, 34), Version(0, 34, 1)).reasons == ()
