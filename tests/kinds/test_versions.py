"""Which release an image runs (kinds/versions.py): from its tag, else the spec, else the newest
known; and what the plan says about an image change between releases."""

from __future__ import annotations

import pytest

from beast_observatory.kinds.versions import (
    Version,
    image_change,
    image_repository,
    image_tag,
    image_version,
    parse_version,
    target_version,
)


@pytest.mark.parametrize(
    ("image", "tag", "version"),
    [
        ("prom/prometheus:v3.13.3", "v3.13.3", Version(3, 13, 3)),
        ("grafana/grafana:12.4.11", "12.4.11", Version(12, 4, 11)),
        ("quay.io/prometheus/prometheus:v3.13.0-distroless", "v3.13.0-distroless", Version(3, 13)),
        ("grafana/grafana:12.4.3-security-01", "12.4.3-security-01", Version(12, 4, 3)),
        ("registry.local:5000/prom/prometheus:v2.53.2", "v2.53.2", Version(2, 53, 2)),
        ("registry.local:5000/prom/prometheus", None, None),
        ("prom/prometheus:v3.13.3@sha256:" + "a" * 64, "v3.13.3", Version(3, 13, 3)),
        ("prom/prometheus:latest", "latest", None),
        ("observatory-test/prometheus:debian", "debian", None),
        ("prom/prometheus", None, None),
    ],
)
def test_the_version_an_image_tag_names(
    image: str, tag: str | None, version: Version | None
) -> None:
    assert image_tag(image) == tag
    assert image_version(image) == version


def test_repository_without_tag_or_digest() -> None:
    assert image_repository("grafana/grafana-oss:11.2.0") == "grafana/grafana-oss"
    assert image_repository("host:5000/prom/prometheus@sha256:ab") == "host:5000/prom/prometheus"
    assert image_repository("busybox") == "busybox"


def test_a_tag_wins_then_the_spec_else_the_release_is_unknown() -> None:
    assert target_version("prom/prometheus:v2.53.2", "3") == Version(2, 53, 2)
    assert target_version("observatory-test/prometheus:debian", "2.42") == Version(2, 42)
    assert target_version("prom/prometheus:latest", None) is None
    assert parse_version("2.42.0+ds") == Version(2, 42, 0)


def test_image_changes_the_kind_knows_nothing_about_say_nothing() -> None:
    assert (
        image_change("pushgateway", "prom/pushgateway:v1.9.0", "prom/pushgateway:v1.11.3").reasons
        == ()
    )
    assert image_change(None, "a:1", "a:2").reasons == ()
    assert (
        image_change("prometheus", "prom/prometheus:latest", "prom/prometheus:v3.13.3").reasons
        == ()
    )
    assert (
        image_change("prometheus", "prom/prometheus:v3.1.0", "prom/prometheus:v3.13.3").reasons
        == ()
    )


def test_the_default_images_run_the_releases_the_renderer_knows_as_newest() -> None:
    from beast_observatory.kinds.alertmanager import versions as alertmanager  # noqa: PLC0415
    from beast_observatory.kinds.alertmanager.model import Alertmanager  # noqa: PLC0415
    from beast_observatory.kinds.grafana import versions as grafana  # noqa: PLC0415
    from beast_observatory.kinds.grafana.model import Grafana  # noqa: PLC0415
    from beast_observatory.kinds.prometheus import versions as prometheus  # noqa: PLC0415
    from beast_observatory.kinds.prometheus.model import Prometheus  # noqa: PLC0415

    assert image_version(Prometheus().image) == prometheus.NEWEST
    assert image_version(Grafana().image) == grafana.NEWEST
    assert image_version(Alertmanager().image) == alertmanager.NEWEST
