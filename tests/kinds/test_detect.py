"""Which known kind a container runs, by its image or its program (kinds/detect.py)."""

from __future__ import annotations

import pytest

from beast_observatory.kinds.detect import service_kind


@pytest.mark.parametrize(
    ("image", "entrypoint", "kind"),
    [
        ("prom/prometheus:v2.53.2", (), "prometheus"),
        ("quay.io/prometheus/prometheus@sha256:abc", (), "prometheus"),
        ("registry.local/mon:1", ("/bin/prometheus",), "prometheus"),
        ("prom/pushgateway", (), "pushgateway"),
        ("bitnami/alertmanager:0.27", (), "alertmanager"),
        ("prom/node-exporter:v1.8.2", (), "node_exporter"),
        ("quay.io/prometheus/node_exporter", (), "node_exporter"),
        ("grafana/grafana-oss:11.2.0", (), "grafana"),
        ("grafana/grafana-enterprise", (), "grafana"),
        ("my/dashboards:1", ("grafana-server",), "grafana"),
        ("grafana/loki:3.0", (), None),
        ("prom/blackbox-exporter", (), None),
        ("prometheus-adapter", (), None),
        ("busybox", ("sh",), None),
    ],
)
def test_service_kind(image: str, entrypoint: tuple[str, ...], kind: str | None) -> None:
    assert service_kind(image, entrypoint) == kind
