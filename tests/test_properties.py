"""Properties of the spec and the compiler, over generated specs (hypothesis).

- building is deterministic under key reordering of the spec's mappings;
- spec -> YAML -> spec is the identity;
- specs that validate produce output that promtool and Compose v2 accept (sampled: subprocesses);
- specs pydantic accepts also validate against the committed JSON Schema.
"""

from __future__ import annotations

import json
import random
import shutil
from functools import cache
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from beast_observatory.bundle.compile import check_all
from beast_observatory.bundle.render import render_stack
from beast_observatory.errors import SpecError
from beast_observatory.spec.load import parse_spec, resolve_all
from beast_observatory.spec.models import Spec
from beast_observatory.yamlio import dump_yaml
from external_tools import check_compose, check_prometheus

SCHEMA = Path(__file__).parents[1] / "schemas/observatory.schema.json"
SOURCE = "observatory.yaml"
BCRYPT = "$2b$10$vjJLmVsXKrA1hywzVfRjgeJXGGMlTkyCdmljrIGJtST4.EqptDeGy"

# --- strategies: a spec as plain data ------------------------------------------------------

names = st.from_regex(r"[a-z][a-z0-9_-]{0,11}", fullmatch=True)
label_names = st.from_regex(r"[a-zA-Z][a-zA-Z0-9_]{0,11}", fullmatch=True)
# Label values and descriptions are free text: quoting must survive any of it.
free_text = st.text(st.characters(blacklist_categories=("Cs",)), max_size=20)
durations = st.sampled_from(["15s", "30s", "1m", "2m", "5m", "1h", "1h30m"])
timeouts = st.sampled_from(["5s", "10s"])
ports = st.integers(1024, 65535)


@st.composite
def scrape_jobs(draw: st.DrawFn) -> list[dict[str, Any]]:
    jobs = []
    for name in draw(st.lists(names, max_size=4, unique=True)):
        job: dict[str, Any] = {
            "name": name,
            "targets": draw(
                st.lists(st.builds("{}:{}".format, names, ports), min_size=1, max_size=3)
            ),
        }
        optional = {
            "labels": st.dictionaries(label_names, free_text, max_size=3),
            "honor_labels": st.booleans(),
            "metrics_path": st.sampled_from(["/metrics", "/internal/metrics"]),
            "scheme": st.sampled_from(["http", "https"]),
            "scrape_interval": durations,
            "scrape_timeout": timeouts,
            "params": st.dictionaries(
                label_names, st.lists(names, min_size=1, max_size=2), max_size=2
            ),
        }
        for key, strategy in optional.items():
            if draw(st.booleans()):
                job[key] = draw(strategy)
        jobs.append(job)
    return jobs


rules = st.one_of(
    st.fixed_dictionaries(
        {
            "record": st.from_regex(r"job:[a-z_]{1,8}:sum", fullmatch=True),
            "expr": st.just("sum by (job) (up)"),
        }
    ),
    st.fixed_dictionaries(
        {
            "alert": st.from_regex(r"[A-Z][a-zA-Z]{0,10}", fullmatch=True),
            "expr": st.just("up == 0"),
        },
        optional={
            "for": durations,
            "labels": st.dictionaries(label_names, free_text, max_size=2),
            "annotations": st.dictionaries(label_names, free_text, max_size=2),
        },
    ),
)
rule_files = st.lists(
    st.fixed_dictionaries(
        {
            "name": names,
            "groups": st.lists(
                st.fixed_dictionaries(
                    {"name": names, "rules": st.lists(rules, min_size=1, max_size=3)}
                ),
                max_size=2,
                unique_by=lambda g: g["name"],
            ),
        }
    ),
    max_size=3,
    unique_by=lambda r: r["name"],
)
web_auth = st.fixed_dictionaries({"username": names, "password_hash": st.just(BCRYPT)})
retention = st.fixed_dictionaries(
    {},
    optional={
        "time": st.sampled_from(["7d", "30d", "1y"]),
        "size": st.sampled_from(["512MB", "20GB"]),
    },
)


def service(
    port: int, extra: dict[str, st.SearchStrategy[Any]]
) -> st.SearchStrategy[dict[str, Any]]:
    common: dict[str, st.SearchStrategy[Any]] = {
        "restart": st.sampled_from(["no", "always", "on-failure", "unless-stopped"]),
        "publish": st.booleans(),
        "environment": st.dictionaries(
            st.from_regex(r"[A-Z][A-Z0-9_]{0,8}", fullmatch=True).filter(lambda k: "PASS" not in k),
            free_text,
            max_size=2,
        ),
        "resources": st.fixed_dictionaries(
            {}, optional={"cpus": st.sampled_from([0.5, 1, 2.5]), "memory": st.just("512m")}
        ),
        "data": st.one_of(
            st.just({}),
            st.builds(lambda n: {"volume": n}, names),
            st.builds(lambda n: {"path": f"/srv/{n}"}, names),
        ),
    }
    return st.fixed_dictionaries({"port": st.just(port)}, optional={**common, **extra})


@st.composite
def specs(draw: st.DrawFn) -> dict[str, Any]:
    """A spec as data; host ports are distinct so that most specs validate."""
    port_list = draw(st.lists(ports, min_size=6, max_size=6, unique=True))
    services: dict[str, Any] = {
        "prometheus": draw(
            service(
                port_list[0],
                {
                    "retention": retention,
                    "global": st.fixed_dictionaries(
                        {},
                        optional={
                            "scrape_interval": durations,
                            "evaluation_interval": durations,
                            "external_labels": st.dictionaries(label_names, free_text, max_size=2),
                        },
                    ),
                    "scrape_self": st.booleans(),
                    "scrape_jobs": scrape_jobs(),
                    "rule_files": rule_files,
                    "web_auth": web_auth,
                },
            )
        ),
        "pushgateway": draw(
            service(
                port_list[1],
                {
                    "persistence": st.fixed_dictionaries(
                        {}, optional={"enabled": st.booleans(), "interval": durations}
                    ),
                    "admin_api": st.booleans(),
                    "web_auth": web_auth,
                },
            )
        ),
        "grafana": draw(
            service(
                port_list[2],
                {
                    "admin_user": names,
                    "admin_password": st.one_of(
                        st.just({"env": "GRAFANA_ADMIN_PASSWORD"}),
                        st.just({"file": "/etc/observatory/grafana"}),
                    ),
                    "plugins": st.lists(names, max_size=2),
                    "ini": st.dictionaries(
                        names,
                        st.dictionaries(
                            names, st.one_of(names, st.integers(0, 9), st.booleans()), max_size=2
                        ),
                        max_size=2,
                    ),
                },
            )
        ),
        "alertmanager": draw(
            service(port_list[3], {"enabled": st.booleans(), "web_auth": web_auth})
        ),
        "node_exporter": draw(service(port_list[4], {"enabled": st.booleans()})),
    }
    services["grafana"]["dashboards"] = []
    if draw(st.booleans()):
        services["extra"] = {
            draw(names): {
                "image": "busybox:1.36",
                "ports": [f"127.0.0.1:{port_list[5]}:8080"],
                "restart": "always",
            }
        }
    environments: dict[str, Any] = {"local": {"description": draw(free_text)}}
    if draw(st.booleans()):
        environments["remote"] = {
            "ssh": {"host": "vonnegut"},
            "bind_address": draw(st.sampled_from(["127.0.0.1", "0.0.0.0", "10.0.0.5"])),  # noqa: S104 - data, not a bind
            "services": {"prometheus": {"retention": draw(retention)}},
        }
    return {
        "version": 1,
        "project": draw(st.from_regex(r"[a-z0-9][a-z0-9_-]{0,15}", fullmatch=True)),
        "environments": environments,
        "services": services,
    }


def shuffled(value: Any, rng: random.Random) -> Any:
    """The same data with every mapping's keys in another order (lists keep theirs)."""
    if isinstance(value, dict):
        keys = list(value)
        rng.shuffle(keys)
        return {k: shuffled(value[k], rng) for k in keys}
    if isinstance(value, list):
        return [shuffled(v, rng) for v in value]
    return value


def bundles(data: dict[str, Any]) -> dict[str, dict[str, bytes]]:
    text = dump_yaml(data)
    spec = parse_spec(text, SOURCE)
    stacks = resolve_all(spec, text, SOURCE)
    return {env: render_stack(stack, {}, {}).with_manifest() for env, stack in stacks.items()}


# --- properties --------------------------------------------------------------------------


@settings(max_examples=60, deadline=None)
@given(data=specs(), seed=st.integers(0, 2**32 - 1))
def test_build_is_deterministic_under_key_reordering(data: dict[str, Any], seed: int) -> None:
    assert bundles(data) == bundles(shuffled(data, random.Random(seed)))  # noqa: S311 - not crypto


@settings(max_examples=60, deadline=None)
@given(data=specs())
def test_spec_to_yaml_to_spec_is_identity(data: dict[str, Any]) -> None:
    spec = Spec.model_validate(data)
    for dumped in (
        spec.model_dump(by_alias=True),
        spec.model_dump(by_alias=True, exclude_unset=True),
    ):
        assert parse_spec(dump_yaml(dumped), SOURCE) == spec
    assert parse_spec(dump_yaml(spec.model_dump(by_alias=True, mode="json")), SOURCE) == spec


@cache
def committed_schema() -> dict[str, Any]:
    loaded: dict[str, Any] = json.loads(SCHEMA.read_text())
    return loaded


@settings(max_examples=60, deadline=None)
@given(data=specs())
def test_valid_specs_validate_against_the_committed_schema(data: dict[str, Any]) -> None:
    import jsonschema  # noqa: PLC0415 - only this test needs it

    Spec.model_validate(data)
    jsonschema.validate(data, committed_schema())


def test_the_schema_rejects_what_pydantic_rejects() -> None:
    """The committed schema is not vacuous: it refuses an unknown key and a wrong type."""
    import jsonschema  # noqa: PLC0415

    base = {"version": 1, "project": "demo", "environments": {"local": {}}}
    jsonschema.validate(base, committed_schema())
    for bad in (
        {**base, "services": {"prometheus": {"retension": {"time": "30d"}}}},
        {**base, "services": {"prometheus": {"port": "abc"}}},
    ):
        with pytest.raises(jsonschema.ValidationError):
            jsonschema.validate(bad, committed_schema())


@settings(
    max_examples=6,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(data=specs())
def test_valid_specs_compile_to_files_promtool_and_compose_accept(
    data: dict[str, Any], tmp_path: Path
) -> None:
    text = dump_yaml(data)
    try:
        spec = parse_spec(text, SOURCE)
        stacks = resolve_all(spec, text, SOURCE)
    except SpecError:
        return
    if any(p.severity == "error" for _, p in check_all(stacks, {}, {})):
        return
    for env, stack in stacks.items():
        out = tmp_path / env
        shutil.rmtree(out, ignore_errors=True)
        for rel, content in render_stack(stack, {}, {}).with_manifest().items():
            (out / rel).parent.mkdir(parents=True, exist_ok=True)
            (out / rel).write_bytes(content)
        scratch = tmp_path / f"{env}-promtool"
        shutil.rmtree(scratch, ignore_errors=True)
        scratch.mkdir()
        if stack.services.prometheus.enabled:
            check_prometheus(out, scratch)
        check_compose(out)
