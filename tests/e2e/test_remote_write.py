"""Long-term storage for real: Prometheus' remote_write into Debian's VictoriaMetrics.

The stack runs VictoriaMetrics beside Prometheus (an extra service of the test's spec, on a
free port of 127.0.0.1); a metric pushed to the Pushgateway is scraped by Prometheus, written
to VictoriaMetrics, and read back through VictoriaMetrics' own Prometheus-compatible query
API (/api/v1/query), not through Prometheus.
"""

from __future__ import annotations

import json
import time
import urllib.parse
import urllib.request

import pytest

from .conftest import StackFactory
from .docker_env import free_port, wait_http

pytestmark = pytest.mark.e2e

VICTORIA_METRICS = "observatory-test/victoria-metrics:debian"
METRIC = "e2e_remote_write_probe"


def _push(pushgateway: str, text: str) -> None:
    request = urllib.request.Request(  # noqa: S310 - our own test stack on 127.0.0.1
        f"{pushgateway}/metrics/job/e2e-remote-write", data=text.encode(), method="PUT"
    )
    with urllib.request.urlopen(request, timeout=10) as response:  # noqa: S310
        assert response.status in (200, 202)


def _query(base: str, promql: str) -> list[dict[str, object]]:
    url = f"{base}/api/v1/query?{urllib.parse.urlencode({'query': promql})}"
    answer = json.loads(wait_http(url, timeout=10))
    assert answer["status"] == "success", answer
    result: list[dict[str, object]] = answer["data"]["result"]
    return result


def test_a_pushed_metric_is_read_back_from_victoria_metrics(make_stack: StackFactory) -> None:
    port = free_port()
    stack = make_stack(
        {
            "prometheus": {
                "remote_write": [
                    {
                        "url": "http://victoria-metrics:8428/api/v1/write",
                        "queue_config": {"batch_send_deadline": "1s"},
                    }
                ]
            },
            "extra": {
                "victoria-metrics": {
                    "image": VICTORIA_METRICS,
                    "command": [
                        "-storageDataPath=/tmp/victoria-metrics",
                        "-retentionPeriod=1d",
                        # points become visible to queries 30s after they arrive, by default
                        "-search.latencyOffset=1s",
                    ],
                    "ports": [f"127.0.0.1:{port}:8428"],
                    "networks": ["observatory"],
                }
            },
        },
        name="remote-write",
    )
    up = stack.cli("up")
    assert up.exit_code == 0, up.explain()
    victoria = f"http://127.0.0.1:{port}"
    wait_http(f"{victoria}/health", timeout=30)

    _push(stack.url("pushgateway"), f'{METRIC}{{probe="long-term"}} 42\n')

    deadline = time.monotonic() + 45
    found: list[dict[str, object]] = []
    while time.monotonic() < deadline:
        found = _query(victoria, f'{METRIC}{{probe="long-term"}}')
        if found:
            break
        time.sleep(1)
    assert found, f"{METRIC} never reached VictoriaMetrics through remote_write"
    [series] = found
    labels = series["metric"]
    assert isinstance(labels, dict)
    assert labels["__name__"] == METRIC
    assert labels["job"] == "e2e-remote-write"  # honor_labels keeps the pushed job
    value = series["value"]
    assert isinstance(value, list)
    assert value[1] == "42"
