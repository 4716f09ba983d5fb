"""Prometheus 2 and 3 (kinds/prometheus/versions.py): the renderer writes what the image's
release reads, says so as a warning, and refuses what it cannot rewrite; the plan says what
crossing to 3 means. What a Prometheus 2 accepts is checked with the real (Debian 2.42) server
and promtool; no Prometheus 3 binary exists here, so 3.x is checked against its documented
flags and keys."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from beast_observatory.errors import SpecError
from beast_observatory.kinds.prometheus.checks import check_prometheus
from beast_observatory.kinds.prometheus.upgrade import upgrade_notes
from beast_observatory.kinds.prometheus.versions import prometheus_version
from beast_observatory.kinds.versions import Version
from beast_observatory.yamlio import load_yaml
from bundles import compiled, render, spec_data, stack_of
from external_tools import check_prometheus as promtool_checks
from external_tools import prometheus_accepts_flags

V2 = "prom/prometheus:v2.53.2"
V3 = "prom/prometheus:v3.13.3"
OWN = [
    "--config.file=/etc/prometheus/prometheus.yml",
    "--storage.tsdb.path=/prometheus",
    "--web.listen-address=:9090",
    "--storage.tsdb.retention.time=15d",
]


def prometheus(**fields: Any) -> dict[str, Any]:
    return {"prometheus": fields}


def command(services: dict[str, Any], assets: dict[str, bytes] | None = None) -> list[str]:
    compose = load_yaml(render(spec_data(services), assets).files["docker-compose.yml"])
    flags: list[str] = compose["services"]["prometheus"]["command"]
    assert flags[: len(OWN)] == OWN
    return flags[len(OWN) :]


def problems(
    services: dict[str, Any], assets: dict[str, bytes] | None = None
) -> list[tuple[str, str, str]]:
    found = check_prometheus(stack_of(spec_data(services)), assets or {})
    return [(p.severity, ".".join(str(x) for x in p.path), p.message) for p in found]


@pytest.mark.parametrize(
    ("flag", "written", "said"),
    [
        ("--enable-feature=agent", ["--agent"], "feature flag agent is gone in Prometheus 3"),
        (
            "--enable-feature=remote-write-receiver",
            ["--web.enable-remote-write-receiver"],
            "written as --web.enable-remote-write-receiver",
        ),
        (
            "--enable-feature=otlp-write-receiver",
            ["--web.enable-otlp-receiver"],
            "written as --web.enable-otlp-receiver",
        ),
        ("--enable-feature=promql-at-modifier", [], "is the default in Prometheus 3"),
        ("--enable-feature=expand-external-labels", [], "is the default in Prometheus 3"),
        ("--enable-feature=auto-gomaxprocs", [], "is the default in Prometheus 3"),
        ("--storage.tsdb.allow-overlapping-blocks", [], "always allowed since 2.39"),
        ("--alertmanager.timeout=10s", [], "it had no effect since 2.0"),
        (
            "--web.console.libraries=/usr/share/prometheus/console_libraries",
            [],
            "ships no console libraries or templates",
        ),
        (
            "--web.console.templates=/etc/prometheus/consoles",
            [],
            "ships no console libraries or templates",
        ),
    ],
)
def test_flags_prometheus_3_dropped_are_rewritten_with_a_warning(
    flag: str, written: list[str], said: str
) -> None:
    services = prometheus(image=V3, extra_flags=[flag])
    assert command(services) == written
    [(severity, path, message)] = problems(services)
    assert (severity, path) == ("warning", "services.prometheus.extra_flags.0")
    assert said in message


def test_a_feature_list_keeps_the_features_that_remain() -> None:
    services = prometheus(
        image=V3,
        extra_flags=["--enable-feature=exemplar-storage,agent,promql-at-modifier", "--agent"],
    )
    # --agent once: Prometheus refuses a flag given twice.
    assert command(services) == ["--enable-feature=exemplar-storage", "--agent"]
    assert [s for s, _, _ in problems(services)] == ["warning", "warning"]


def test_the_old_retention_flag_is_refused() -> None:
    found = problems(prometheus(image=V3, extra_flags=["--storage.tsdb.retention=30d"]))
    assert found == [
        (
            "error",
            "services.prometheus.extra_flags.0",
            "--storage.tsdb.retention was removed in Prometheus 3 (it was the old name of "
            "--storage.tsdb.retention.time, which the tool writes itself)",
        )
    ]


def test_a_refusal_stops_validate_and_names_the_upgrade_note(tmp_path: Path) -> None:
    data = spec_data(prometheus(image=V3, extra_flags=["--storage.tsdb.retention=30d"]))
    with pytest.raises(SpecError) as caught:
        compiled(tmp_path, data)
    text = "\n".join(caught.value.problems)
    assert "services.prometheus.extra_flags[0]: --storage.tsdb.retention was removed" in text
    assert "services.prometheus.retention.time" in text
    assert "https://prometheus.io/docs/prometheus/latest/migration/" in text


def test_consoles_the_spec_ships_itself_stay() -> None:
    flag = "--web.console.templates=/etc/prometheus/consoles"
    services = prometheus(image=V3, extra_flags=[flag], files={"consoles/index.html": "c.html"})
    assert command(services, {"c.html": b"<h1>beast</h1>"}) == [flag]
    assert problems(services) == []


V2_FLAGS = [
    "--enable-feature=agent,promql-at-modifier",
    "--storage.tsdb.allow-overlapping-blocks",
    "--alertmanager.timeout=10s",
    "--web.console.libraries=/usr/share/prometheus/console_libraries",
    "--web.console.templates=/usr/share/prometheus/consoles",
    "--storage.tsdb.retention=30d",
]


def test_a_spec_pinning_prometheus_2_keeps_its_flags_and_prometheus_2_takes_them() -> None:
    services = prometheus(image=V2, extra_flags=V2_FLAGS)
    flags = command(services)
    assert flags == V2_FLAGS
    assert problems(services) == []
    accepted = prometheus_accepts_flags([*OWN, *flags])
    assert accepted.returncode == 0, accepted.stderr


def test_an_image_of_unknown_release_keeps_its_flags_and_says_why() -> None:
    # A hand-made stack taken over with its own image: nothing it runs with is rewritten.
    local = "observatory-test/prometheus:debian"
    assert (
        prometheus_version(stack_of(spec_data(prometheus(image=local))).services.prometheus) is None
    )
    services = prometheus(image=local, extra_flags=["--web.enable-lifecycle", *V2_FLAGS])
    assert command(services) == ["--web.enable-lifecycle", *V2_FLAGS]
    [(severity, path, message)] = problems(services)
    assert (severity, path) == ("warning", "services.prometheus.image")
    assert message.startswith(
        f"{local}: its tag names no release, so extra_flags are written as given"
    )
    assert "--web.enable-lifecycle" not in message
    assert "--storage.tsdb.retention=30d" in message
    assert problems(prometheus(image=local, extra_flags=["--web.enable-lifecycle"])) == []
    accepted = prometheus_accepts_flags([*OWN, *V2_FLAGS])
    assert accepted.returncode == 0, accepted.stderr


def test_image_version_names_the_release_of_a_local_image() -> None:
    local = "observatory-test/prometheus:debian"
    services = prometheus(image=local, image_version="2.42", extra_flags=V2_FLAGS)
    assert command(services) == V2_FLAGS
    assert problems(services) == []
    as_3 = prometheus(image=local, image_version="3", extra_flags=["--enable-feature=agent"])
    assert command(as_3) == ["--agent"]


def test_prometheus_3_flags_are_written_as_prometheus_2_reads_them() -> None:
    assert prometheus_accepts_flags([*OWN, "--agent"]).returncode != 0  # what it would refuse
    services = prometheus(image=V2, extra_flags=["--agent", "--web.enable-otlp-receiver"])
    flags = command(services)
    assert flags == ["--enable-feature=agent", "--enable-feature=otlp-write-receiver"]
    assert [s for s, _, _ in problems(services)] == ["warning", "warning"]
    accepted = prometheus_accepts_flags([*OWN, *flags])
    assert accepted.returncode == 0, accepted.stderr


def job(**keys: Any) -> dict[str, Any]:
    return {"name": "batch", "targets": ["batch:9100"], **keys}


def rendered_job(services: dict[str, Any]) -> dict[str, Any]:
    doc = load_yaml(render(spec_data(services)).files["prometheus/prometheus.yml"])
    found: dict[str, Any] = next(j for j in doc["scrape_configs"] if j["job_name"] == "batch")
    return found


def test_the_classic_histograms_key_is_the_one_of_the_release() -> None:
    v3 = prometheus(image=V3, scrape_jobs=[job(scrape_classic_histograms=True)])
    assert rendered_job(v3)["always_scrape_classic_histograms"] is True
    assert "scrape_classic_histograms" not in rendered_job(v3)
    assert problems(v3) == [
        (
            "warning",
            "services.prometheus.scrape_jobs.0.scrape_classic_histograms",
            "Prometheus 3 calls scrape_classic_histograms always_scrape_classic_histograms: "
            "written as always_scrape_classic_histograms",
        )
    ]
    v2 = prometheus(image=V2, scrape_jobs=[job(always_scrape_classic_histograms=True)])
    assert rendered_job(v2)["scrape_classic_histograms"] is True
    assert [s for s, _, _ in problems(v2)] == ["warning"]


def test_prometheus_2_refuses_fallback_scrape_protocol() -> None:
    services = prometheus(
        image=V2, scrape_jobs=[job(fallback_scrape_protocol="PrometheusText0.0.4")]
    )
    assert [(s, p) for s, p, _ in problems(services)] == [
        ("error", "services.prometheus.scrape_jobs.0.fallback_scrape_protocol")
    ]
    assert (
        problems(
            prometheus(image=V3, scrape_jobs=[job(fallback_scrape_protocol="PrometheusText0.0.4")])
        )
        == []
    )


def test_alertmanager_api_v1_is_refused_for_prometheus_3() -> None:
    alerting = {
        "alertmanagers": [{"api_version": "v1", "static_configs": [{"targets": ["am:9093"]}]}]
    }
    assert [(s, p) for s, p, _ in problems(prometheus(image=V3, alerting=alerting))] == [
        ("error", "services.prometheus.alerting.alertmanagers.0.api_version")
    ]
    assert problems(prometheus(image=V2, alerting=alerting)) == []


def test_a_dollar_in_an_external_label_is_expanded_by_prometheus_3() -> None:
    labels = {"site": "$SITE", "price": "5$$", "plain": "beast"}
    found = problems(prometheus(image=V3, **{"global": {"external_labels": labels}}))
    assert found == [
        (
            "warning",
            "services.prometheus.global.external_labels.site",
            "Prometheus 3 reads $SITE in external label 'site' as an environment variable of "
            "the container (empty when unset)",
        )
    ]
    assert problems(prometheus(image=V2, **{"global": {"external_labels": labels}})) == []


RULES = b"""groups:
  - name: capacity
    rules:
      - record: job:slow_requests:ratio
        expr: sum(rate(http_request_duration_seconds_bucket{le="1"}[5m])) by (job)
      - alert: DiskFillsUp
        expr: holt_winters(node_filesystem_free_bytes[1h], 0.5, 0.5) < 0
"""


def test_rules_prometheus_3_reads_differently(tmp_path: Path) -> None:
    rule_files = [{"name": "capacity", "path": "rules/capacity.yml"}]
    assets = {"rules/capacity.yml": RULES}
    v3 = problems(prometheus(image=V3, rule_files=rule_files), assets)
    assert [(s, p) for s, p, _ in v3] == [
        ("warning", "services.prometheus.rule_files.0"),
        ("error", "services.prometheus.rule_files.0"),
    ]
    assert v3[0][2] == (
        'rules/capacity.yml: groups[0] job:slow_requests:ratio: Prometheus 3 stores le="1" as '
        'le="1.0", so this matcher no longer matches'
    )
    assert v3[1][2] == (
        "rules/capacity.yml: groups[0] DiskFillsUp: holt_winters is gone in Prometheus 3"
    )
    # Prometheus 2 runs them as they are, as its promtool says.
    assert problems(prometheus(image=V2, rule_files=rule_files), assets) == []
    bundle = render(spec_data(prometheus(image=V2, rule_files=rule_files)), assets)
    env = tmp_path / "local"
    for path, data in bundle.files.items():
        (env / path).parent.mkdir(parents=True, exist_ok=True)
        (env / path).write_bytes(data)
    assert promtool_checks(env, tmp_path) == 1


def test_the_upgrade_to_3_lists_what_the_migration_guide_asks() -> None:
    crossing = upgrade_notes("v2.53.2", "v3.13.3", Version(2, 53, 2), Version(3, 13, 3))
    assert crossing.reasons[0] == (
        "prometheus v2.53.2 -> v3.13.3: a major upgrade "
        "(see https://prometheus.io/docs/prometheus/latest/migration/)"
    )
    text = "\n".join(crossing.reasons)
    for said in (
        "roll back only to v2.55+",
        "fallback_scrape_protocol",
        "holt_winters",
        "enable_http2",
    ):
        assert said in text
    assert crossing.blockers == ()
    assert upgrade_notes("v3.5.0", "v3.13.3", Version(3, 5), Version(3, 13, 3)).reasons == ()
