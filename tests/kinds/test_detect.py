"""Which known kind a container runs (the probe's awk kind_of decides the same on the host)."""

from __future__ import annotations

import pytest

from beast_observatory.kinds.detect import service_kind


@pytest.mark.parametrize(
    ("image", "entrypoint", "kind"),
    [
        ("prom/prometheus:v2.53.2", [], "prometheus"),
        ("registry:5000/prom/prometheus@sha256:ab", [], "prometheus"),
        ("quay.io/prometheus/pushgateway", [], "pushgateway"),
        ("debian-built:1", ["/usr/bin/prometheus-pushgateway"], "pushgateway"),
        ("prom/alertmanager", [], "alertmanager"),
        ("prom/node-exporter:v1.8.2", [], "node_exporter"),
        ("grafana/grafana-oss:11.2.0", ["/run.sh"], "grafana"),
        ("grafana/grafana", [], "grafana"),
        ("observatory-test/grafana-standin:debian", [], "grafana"),
        ("grafana/loki:3.0", [], None),
        ("prom/blackbox-exporter", [], None),
        ("prometheus-blackbox-exporter", [], None),
        ("mybuild", ["/bin/prometheus"], "prometheus"),
        ("busybox", ["sh"], None),
    ],
)
def test_service_kind(image: str, entrypoint: list[str], kind: str | None) -> None:
    assert service_kind(image, entrypoint) == kind
