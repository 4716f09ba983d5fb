"""Checks of Prometheus' part of the spec (kinds/prometheus/checks.py): what Prometheus would
refuse or what loses data is an error; the rest is a warning with a hint."""

from __future__ import annotations

from typing import Any

import pytest

from beast_observatory.kinds.prometheus.checks import check_prometheus
from bundles import spec_data, stack_of


def problems(
    services: dict[str, Any], assets: dict[str, bytes] | None = None
) -> list[tuple[str, str, str]]:
    """(severity, dotted path, message) of every problem."""
    found = check_prometheus(stack_of(spec_data(services)), assets or {})
    return [(p.severity, ".".join(str(x) for x in p.path), p.message) for p in found]


def test_a_sound_prometheus_has_no_problems() -> None:
    jobs = [
        {"name": "batch", "targets": ["pushgateway:9091"], "honor_labels": True},
        {"name": "nodes", "targets": ["a:9100"], "file_sd_configs": [{"files": ["/t/*.json"]}]},
    ]
    assert problems({"prometheus": {"scrape_jobs": jobs}}) == []


def test_a_pushgateway_job_without_honor_labels_is_a_warning() -> None:
    found = problems(
        {"prometheus": {"scrape_jobs": [{"name": "batch", "targets": ["pushgateway:9091"]}]}}
    )
    assert found == [
        (
            "warning",
            "services.prometheus.scrape_jobs.0",
            "job 'batch' scrapes the Pushgateway without honor_labels: true, so pushed "
            "job/instance labels are overwritten",
        )
    ]


def test_keys_prometheus_does_not_document_are_warnings() -> None:
    found = problems(
        {
            "prometheus": {
                "scrape_jobs": [{"name": "a", "scrape_intervall": "1m"}],
                "global": {"evaluation_intervall": "1m"},
            }
        }
    )
    assert [(s, p) for s, p, _ in found] == [
        ("warning", "services.prometheus.scrape_jobs.0.scrape_intervall"),
        ("warning", "services.prometheus.global.evaluation_intervall"),
    ]


@pytest.mark.parametrize(
    ("section", "path", "message"),
    [
        (
            {"scrape_jobs": [{"name": "a"}, {"name": "a"}]},
            "services.prometheus.scrape_jobs.1.name",
            "name 'a' is already used by services.prometheus.scrape_jobs[0]",
        ),
        (
            {
                "scrape_jobs": [
                    {"name": "a", "basic_auth": {"username": "u", "password": "hunter2"}}
                ]
            },
            "services.prometheus.scrape_jobs.0.basic_auth.password",
            "holds a literal secret",
        ),
        (
            {"remote_write": [{"url": "https://u:pw@m.example/api/v1/write"}]},
            "services.prometheus.remote_write.0.url",
            "holds a URL with a literal password (scheme://user:PASSWORD@host)",
        ),
        (
            {"files": {"prometheus.yml": "x.yml"}},
            "services.prometheus.files.prometheus.yml",
            "prometheus/prometheus.yml is written by the tool itself",
        ),
        (
            {"extra_flags": ["--config.file=/other.yml"]},
            "services.prometheus.extra_flags.0",
            "--config.file is set by the tool (Prometheus refuses a flag given twice)",
        ),
        (
            {"rule_files": [{"name": "r", "groups": [{"name": "g", "rules": [{"expr": "up"}]}]}]},
            "services.prometheus.rule_files.0",
            "groups[0].rules[0] needs 'expr' and exactly one of 'alert'/'record'",
        ),
    ],
)
def test_what_prometheus_refuses_or_a_secret_in_the_spec_is_an_error(
    section: dict[str, Any], path: str, message: str
) -> None:
    found = problems({"prometheus": section}, {"x.yml": b"{}"})
    assert ("error", path, message) in found, found


def test_a_literal_secret_is_told_to_use_the_file_form() -> None:
    stack = stack_of(
        spec_data({"prometheus": {"remote_write": [{"url": "https://m", "bearer_token": "t0k3n"}]}})
    )
    (problem,) = check_prometheus(stack, {})
    assert problem.hint is not None
    assert "use the *_file form" in problem.hint
    references = {
        "remote_write": [{"url": "https://m", "bearer_token_file": "/tmp/observatory-secrets/m"}]
    }
    assert check_prometheus(stack_of(spec_data({"prometheus": references})), {}) == []


def test_a_pushgateway_persisting_off_its_data_volume_loses_metrics() -> None:
    found = problems({"pushgateway": {"persistence": {"file": "/tmp/pg.db"}}})
    assert found == [
        (
            "warning",
            "services.pushgateway.persistence.file",
            "/tmp/pg.db is not on the data volume (/pushgateway): pushed metrics are lost when "
            "the container is recreated",
        )
    ]
    assert (
        problems(
            {"pushgateway": {"persistence": {"file": "/data/pg.db"}, "data": {"target": "/data"}}}
        )
        == []
    )
    assert len(problems({"pushgateway": {"data": None}})) == 1
