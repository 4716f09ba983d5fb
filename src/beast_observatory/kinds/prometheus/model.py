"""Prometheus in the spec: everything prometheus.yml can say, typed where the tool reasons
about it (jobs, targets, rules, alerting), passed through as written for the rest.

Reference: https://prometheus.io/docs/prometheus/latest/configuration/configuration/
"""

from __future__ import annotations

from typing import Annotated, Any

from pydantic import AliasChoices, BeforeValidator, Field, StringConstraints, model_validator

from beast_observatory.kinds.model import ServiceBase
from beast_observatory.spec.types import (
    ByteSize,
    Config,
    ContainerPath,
    Duration,
    Model,
    Name,
    PassThrough,
    Port,
    SecretRef,
    WebAuth,
)

DATA_DIR = "/prometheus"
CONFIG_DIR = "/etc/prometheus"

# The keys of a scrape_config Prometheus documents (2.x and 3.x), besides the *_sd_configs.
SCRAPE_CONFIG_KEYS = frozenset(
    {
        "job_name", "scrape_interval", "scrape_timeout", "scrape_protocols",
        "fallback_scrape_protocol", "scrape_classic_histograms",
        "always_scrape_classic_histograms", "convert_classic_histograms_to_nhcb",
        "scrape_native_histograms", "metrics_path", "honor_labels", "honor_timestamps",
        "track_timestamps_staleness", "scheme", "params", "enable_compression",
        "body_size_limit", "sample_limit", "label_limit", "label_name_length_limit",
        "label_value_length_limit", "target_limit", "keep_dropped_targets",
        "native_histogram_bucket_limit", "native_histogram_min_bucket_factor",
        "metric_name_validation_scheme", "metric_name_escaping_scheme",
        "scrape_failure_log_file", "enable_http2", "follow_redirects", "proxy_url", "no_proxy",
        "proxy_from_environment", "proxy_connect_header", "http_headers", "basic_auth",
        "authorization", "oauth2", "tls_config", "bearer_token", "bearer_token_file",
        "relabel_configs", "metric_relabel_configs", "static_configs",
    }
)  # fmt: skip
GLOBAL_KEYS = frozenset(
    {
        "scrape_interval", "scrape_timeout", "scrape_protocols", "evaluation_interval",
        "rule_query_offset", "external_labels", "query_log_file", "scrape_failure_log_file",
        "body_size_limit", "sample_limit", "label_limit", "label_name_length_limit",
        "label_value_length_limit", "target_limit", "keep_dropped_targets",
        "metric_name_validation_scheme", "metric_name_escaping_scheme",
        "always_scrape_classic_histograms", "convert_classic_histograms_to_nhcb",
        "scrape_native_histograms",
    }
)  # fmt: skip


def known_scrape_key(key: str) -> bool:
    return key in SCRAPE_CONFIG_KEYS or key.endswith("_sd_configs")


class StaticConfig(PassThrough):
    """One group of static targets with the labels they share."""

    targets: list[str] = Field(default_factory=list)
    labels: dict[str, str] = Field(default_factory=dict)


class ScrapeJob(PassThrough):
    """A Prometheus scrape_config. ``name``, ``targets`` and ``labels`` are a short form of
    job_name and one static target group; every other scrape_config key (relabel_configs,
    *_sd_configs, basic_auth with password_file, tls_config...) is written as Prometheus
    spells it. Secrets only as file paths (password_file, credentials_file...)."""

    name: Annotated[str, StringConstraints(min_length=1)] = Field(
        validation_alias=AliasChoices("name", "job_name")
    )
    """job_name in prometheus.yml."""
    targets: list[str] = Field(default_factory=list)
    """host:port targets of the first static group."""
    labels: dict[str, str] = Field(default_factory=dict)
    """Labels of the first static group."""
    static_configs: list[StaticConfig] = Field(default_factory=list)
    """More static target groups, each with its own labels."""
    honor_labels: bool = False
    """Keep the scraped job/instance labels (required for a Pushgateway)."""
    metrics_path: str = "/metrics"
    """HTTP path of the metrics."""
    scheme: str = "http"
    """http or https."""
    scrape_interval: Duration | None = None
    """Overrides the global scrape interval."""
    scrape_timeout: Duration | None = None
    """Overrides the global scrape timeout."""
    params: dict[str, list[str]] = Field(default_factory=dict)
    """URL parameters of the scrape request."""
    relabel_configs: list[Config] = Field(default_factory=list)
    """Relabelling of targets before the scrape."""
    metric_relabel_configs: list[Config] = Field(default_factory=list)
    """Relabelling of scraped samples."""

    def target_groups(self) -> list[StaticConfig]:
        """Every static group: the short form first."""
        first = (
            [StaticConfig(targets=self.targets, labels=self.labels)]
            if self.targets or self.labels
            else []
        )
        return first + list(self.static_configs)

    def all_targets(self) -> list[str]:
        return [t for group in self.target_groups() for t in group.targets]


class RuleFile(Model):
    """Alerting and recording rules: a file by path (relative to the spec) or inline groups."""

    name: Name = Field(description="Rendered as prometheus/rules/<name>.yml.")
    path: str | None = None
    """Rule file relative to the spec (any name: alert.rules, *.rules.yml...)."""
    groups: list[dict[str, Any]] | None = None
    """Inline rule groups, as in a Prometheus rule file."""

    @model_validator(mode="after")
    def _one(self) -> RuleFile:
        if (self.path is None) == (self.groups is None):
            raise ValueError("give exactly one of 'path' or 'groups'")
        return self


def _as_text(value: Any) -> Any:
    """promtool reads these as strings: a number or a boolean written bare is its text."""
    if isinstance(value, bool):
        return str(value).lower()
    return str(value) if isinstance(value, int | float) else value


Text = Annotated[str, BeforeValidator(_as_text)]
# promtool's durations also take a bare 0 (eval_time: 0).
TestDuration = Annotated[
    str,
    BeforeValidator(_as_text),
    StringConstraints(pattern=r"^(0|(\d+y)?(\d+w)?(\d+d)?(\d+h)?(\d+m)?(\d+s)?(\d+ms)?)$"),
]


class InputSeries(Model):
    """One series of a test group's input, in promtool's expanding notation."""

    series: Text
    """'metric{label="value"}'."""
    values: Text
    """Samples one interval apart: '1 1 0x15', '0+60x70', '_' (none), 'stale'."""


class ExpectedAlert(Model):
    """An alert expected to fire: its labels (the rule's and the series', without alertname)
    and its annotations, templates expanded."""

    exp_labels: dict[str, Text] = Field(default_factory=dict)
    exp_annotations: dict[str, Text] = Field(default_factory=dict)


class AlertRuleTest(Model):
    """The alerts of one name firing at one time (none: exp_alerts empty)."""

    eval_time: TestDuration
    alertname: Text
    exp_alerts: list[ExpectedAlert] = Field(default_factory=list)


class ExpectedSample(Model):
    """A sample an expression is expected to give."""

    labels: Text
    """'metric{label="value"}' (the series' labels; '{}' for a scalar)."""
    value: float | None = None
    histogram: Text | None = None
    """A native histogram in promtool's notation, instead of value."""


class PromqlExprTest(Model):
    """An expression evaluated at one time and the samples it must give."""

    expr: Text
    eval_time: TestDuration
    exp_samples: list[ExpectedSample] = Field(default_factory=list)


class RuleTestGroup(Model):
    """A promtool test group: input series, then alert and expression tests on them.

    Reference: https://prometheus.io/docs/prometheus/latest/configuration/unit_testing_rules/
    """

    name: Text | None = None
    """Named in promtool's report of a failure."""
    interval: TestDuration | None = None
    """Time between the input samples (promtool's default: evaluation_interval)."""
    input_series: list[InputSeries] = Field(default_factory=list)
    alert_rule_test: list[AlertRuleTest] = Field(default_factory=list)
    promql_expr_test: list[PromqlExprTest] = Field(default_factory=list)
    external_labels: dict[str, Text] = Field(default_factory=dict)
    """$externalLabels in the alerts' templates."""
    external_url: Text | None = None
    """$externalURL in the alerts' templates."""
    start_timestamp: Text | None = None
    """Time of the first sample (Unix seconds or RFC 3339; promtool's default: 0)."""


class RuleTestFile(Model):
    """A promtool test file, as promtool documents it (``promtool test rules FILE``)."""

    rule_files: list[str] = Field(default_factory=list)
    """Rule files under test, relative to the test file (globs allowed)."""
    evaluation_interval: TestDuration | None = None
    fuzzy_compare: bool | None = None
    group_eval_order: list[str] = Field(default_factory=list)
    tests: list[RuleTestGroup] = Field(default_factory=list)


class RuleTest(Model):
    """Unit tests of the rules, run by promtool (``promtool test rules``): at validate with
    the promtool installed here, at apply on the host with the Prometheus image's own.

    Either ``path``, a promtool test file beside the spec whose rule_files name the spec's
    rule files by their paths, or the test file's content inline (``tests`` and the rest)."""

    name: Name = Field(description="Rendered as prometheus/tests/<name>.yml.")
    path: str | None = None
    """A promtool test file relative to the spec."""
    rule_files: list[Name] | None = None
    """Names of the spec's rule files under test (default: those the test file names, or
    every rule file of the spec for inline tests)."""
    evaluation_interval: TestDuration | None = None
    """How often the rules are evaluated in the test (promtool's default: 1m)."""
    fuzzy_compare: bool | None = None
    """Ignore the last bit of floating point values when comparing."""
    group_eval_order: list[str] = Field(default_factory=list)
    """Rule groups to evaluate first, in this order."""
    tests: list[RuleTestGroup] | None = None
    """promtool's test groups, inline."""

    @model_validator(mode="after")
    def _one(self) -> RuleTest:
        if (self.path is None) == (self.tests is None):
            raise ValueError("give exactly one of 'path' (a promtool test file) or 'tests'")
        inline = ("evaluation_interval", "fuzzy_compare", "group_eval_order")
        given = [k for k in inline if k in self.model_fields_set and getattr(self, k)]
        if self.path is not None and given:
            raise ValueError(f"{', '.join(given)}: write it in the test file {self.path}")
        return self


class Retention(Model):
    time: Duration | None = "15d"
    """--storage.tsdb.retention.time (a restart, data kept)."""
    size: ByteSize | None = None
    """--storage.tsdb.retention.size."""


class GlobalConfig(PassThrough):
    """prometheus.yml's global section; keys besides these are written as they are
    (query_log_file, scrape_protocols, rule_query_offset, sample_limit...)."""

    scrape_interval: Duration = "15s"
    """Default scrape interval (Prometheus' own default is 1m)."""
    scrape_timeout: Duration | None = None
    """Default scrape timeout."""
    evaluation_interval: Duration = "15s"
    """How often rules are evaluated (Prometheus' own default is 1m)."""
    external_labels: dict[str, str] = Field(default_factory=dict)
    """Labels added to every series sent outside (federation, remote write, alerts)."""


class Alerting(Model):
    """prometheus.yml's alerting section, as Prometheus reads it."""

    alertmanagers: list[Config] = Field(default_factory=list)
    """alertmanager_config blocks: static_configs or *_sd_configs, api_version, path_prefix,
    scheme, timeout, relabel_configs, auth..."""
    alert_relabel_configs: list[Config] = Field(default_factory=list)
    """Relabelling of alerts before they are sent."""


class Prometheus(ServiceBase):
    image: str = "prom/prometheus:v3.13.3"
    container_port: Port = 9090
    port: Port | None = 9090
    config_dir: ContainerPath = CONFIG_DIR
    """Where the rendered configuration is mounted (prometheus.yml, rules/, files)."""
    retention: Retention = Retention()
    """How long and how much data Prometheus keeps."""
    global_: GlobalConfig = Field(GlobalConfig(), alias="global")
    scrape_self: bool = Field(True, description="Scrape Prometheus itself (job 'prometheus').")
    scrape_stack: bool = True
    """Scrape the stack's other services (Pushgateway, Alertmanager, node-exporter, Grafana)
    with jobs of their own."""
    scrape_jobs: list[ScrapeJob] = Field(default_factory=list)
    """Scrape jobs besides the automatic ones for the stack's own services."""
    rule_files: list[RuleFile] = Field(default_factory=list)
    """Alerting and recording rules, rendered to prometheus/rules/<name>.yml."""
    rule_tests: list[RuleTest] = Field(default_factory=list)
    """Unit tests of the rule files, rendered to prometheus/tests/<name>.yml; validate and
    apply run them with promtool and fail when one fails."""
    alerting: Alerting | None = None
    """The alerting section (default: the stack's Alertmanager, when it is enabled)."""
    remote_write: list[Config] = Field(default_factory=list)
    """remote_write endpoints (Thanos, Mimir, VictoriaMetrics...), as Prometheus reads them."""
    remote_read: list[Config] = Field(default_factory=list)
    """remote_read endpoints."""
    storage: Config | None = None
    """The storage section (tsdb, exemplars)."""
    tracing: Config | None = None
    """The tracing section."""
    otlp: Config | None = None
    """The otlp section."""
    runtime: Config | None = None
    """The runtime section (gogc)."""
    scrape_config_files: list[str] = Field(default_factory=list)
    """Files holding more scrape configs (ship them with ``files``)."""
    files: dict[str, str] = Field(default_factory=dict)
    """More files in the config directory (file_sd targets, scrape config files): path
    relative to config_dir -> file beside the spec."""
    secrets: dict[Name, SecretRef] = Field(default_factory=dict)
    """Secrets the configuration reads from files: name -> its variable in the host's .env
    (or a file on the host). The configuration names them as
    /tmp/observatory-secrets/<name> (password_file, api_url_file, credentials_file...)."""
    web_auth: WebAuth | None = None
    """Basic auth on Prometheus' web endpoints."""


__all__ = [
    "CONFIG_DIR",
    "DATA_DIR",
    "GLOBAL_KEYS",
    "AlertRuleTest",
    "Alerting",
    "ExpectedAlert",
    "ExpectedSample",
    "GlobalConfig",
    "InputSeries",
    "Prometheus",
    "PromqlExprTest",
    "Retention",
    "RuleFile",
    "RuleTest",
    "RuleTestFile",
    "RuleTestGroup",
    "ScrapeJob",
    "StaticConfig",
    "known_scrape_key",
]
