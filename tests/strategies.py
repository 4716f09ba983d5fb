"""Hypothesis strategies for spec sections as data: what a user writes in observatory.yaml.

They stay inside what the spec accepts and what a probe reads back as it is (no secret names
outside secure_json_data, whose values are references; values that survive YAML).
"""

from __future__ import annotations

from typing import Any

from hypothesis import strategies as st

from beast_observatory.secret_rules import is_secret_name

names = st.from_regex(r"[a-z][a-z0-9_-]{0,10}", fullmatch=True)
label_names = st.from_regex(r"[a-zA-Z_][a-zA-Z0-9_]{0,10}", fullmatch=True)
# Label values are free text: quoting must survive any of it.
free_text = st.text(st.characters(blacklist_categories=("Cs",)), max_size=12)
plain_text = st.from_regex(r"[A-Za-z0-9][A-Za-z0-9 ./:_-]{0,14}[A-Za-z0-9]", fullmatch=True)
durations = st.sampled_from(["10s", "15s", "30s", "1m", "2m", "5m", "1h30m"])
targets = st.builds("{}:{}".format, names, st.integers(1, 65535))
scalars = st.one_of(plain_text, st.integers(-5, 10_000), st.booleans())
keys = st.from_regex(r"[a-z][a-z_]{0,12}", fullmatch=True).filter(lambda k: not is_secret_name(k))
camel_keys = st.from_regex(r"[a-z][a-zA-Z]{0,12}", fullmatch=True).filter(
    lambda k: not is_secret_name(k)
)
# Plain data of another tool's configuration: mappings, lists and scalars a few levels deep.
config_values = st.recursive(
    scalars,
    lambda children: (
        st.lists(children, min_size=1, max_size=3)
        | st.dictionaries(keys, children, min_size=1, max_size=3)
    ),
    max_leaves=6,
)


def _unique(strategy: st.SearchStrategy[list[Any]], key: str) -> st.SearchStrategy[list[Any]]:
    return strategy.filter(lambda items: len({i[key] for i in items}) == len(items))


# ----------------------------------------------------------------- Prometheus

relabel_config = st.one_of(
    st.fixed_dictionaries(
        {
            "source_labels": st.lists(label_names, min_size=1, max_size=2),
            "target_label": label_names,
        },
        optional={
            "regex": st.sampled_from(["(.*)", "([^:]+):.*"]),
            "replacement": st.sampled_from(["$1", "static", "${1}-x"]),
            "action": st.just("replace"),
        },
    ),
    st.fixed_dictionaries(
        {
            "source_labels": st.lists(label_names, min_size=1, max_size=2),
            "regex": st.sampled_from(["prod-.+", "(a|b)"]),
            "action": st.sampled_from(["keep", "drop"]),
        }
    ),
)
static_group = st.fixed_dictionaries(
    {"targets": st.lists(targets, min_size=1, max_size=3)},
    optional={"labels": st.dictionaries(label_names, free_text, min_size=1, max_size=2)},
)
SCRAPE_FIELDS = {
    "name", "job_name", "targets", "labels", "static_configs", "honor_labels", "metrics_path",
    "scheme", "scrape_interval", "scrape_timeout", "params", "relabel_configs",
    "metric_relabel_configs",
}  # fmt: skip
# Documented keys of a scrape_config the spec passes through as they are, and any other key.
documented_scrape_keys = st.fixed_dictionaries(
    {},
    optional={
        "sample_limit": st.integers(0, 100_000),
        "honor_timestamps": st.booleans(),
        "enable_http2": st.booleans(),
        "follow_redirects": st.booleans(),
        "body_size_limit": st.sampled_from(["10MB", "1GB"]),
        "file_sd_configs": st.lists(
            st.fixed_dictionaries(
                {"files": st.lists(st.just("/etc/prometheus/t/*.json"), min_size=1, max_size=1)}
            ),
            min_size=1,
            max_size=1,
        ),
        "dns_sd_configs": st.lists(
            st.fixed_dictionaries(
                {
                    "names": st.lists(names, min_size=1, max_size=2),
                    "type": st.just("A"),
                    "port": st.integers(1, 65535),
                }
            ),
            min_size=1,
            max_size=1,
        ),
        "tls_config": st.fixed_dictionaries({"insecure_skip_verify": st.booleans()}),
        "basic_auth": st.fixed_dictionaries(
            {"username": names, "password_file": st.just("/etc/prometheus/secrets/pw")}
        ),
    },
)
other_keys = st.dictionaries(
    keys.filter(lambda k: k not in SCRAPE_FIELDS), config_values, max_size=2
)


@st.composite
def scrape_job(draw: st.DrawFn, name: str, *, other: bool = True) -> dict[str, Any]:
    """A job in the form the spec writes it back: one static group in short form (its
    targets and labels), more groups in static_configs."""
    job: dict[str, Any] = {"name": name}
    if draw(st.booleans()):
        job["targets"] = draw(st.lists(targets, min_size=1, max_size=3))
        if draw(st.booleans()):
            job["labels"] = draw(st.dictionaries(label_names, free_text, min_size=1, max_size=3))
        if draw(st.booleans()):
            job["static_configs"] = draw(st.lists(static_group, min_size=1, max_size=2))
    optional = {
        "honor_labels": st.just(True),
        "metrics_path": st.sampled_from(["/internal/metrics", "/probe"]),
        "scheme": st.just("https"),
        "scrape_interval": durations,
        "scrape_timeout": st.sampled_from(["5s", "10s"]),
        "params": st.dictionaries(
            label_names, st.lists(names, min_size=1, max_size=2), min_size=1, max_size=2
        ),
        "relabel_configs": st.lists(relabel_config, min_size=1, max_size=3),
        "metric_relabel_configs": st.lists(relabel_config, min_size=1, max_size=2),
    }
    for key, strategy in optional.items():
        if draw(st.booleans()):
            job[key] = draw(strategy)
    job.update(draw(documented_scrape_keys))
    if other:  # keys Prometheus does not document: the spec keeps them, promtool judges them
        job.update(draw(other_keys))
    return job


@st.composite
def scrape_jobs(draw: st.DrawFn, max_size: int = 4, *, other: bool = True) -> list[dict[str, Any]]:
    chosen = draw(st.lists(names, max_size=max_size, unique=True))
    return [draw(scrape_job(name, other=other)) for name in chosen]


global_section = st.fixed_dictionaries(
    {},
    optional={
        "scrape_interval": durations,
        "scrape_timeout": st.just("10s"),
        "evaluation_interval": durations,
        "external_labels": st.dictionaries(label_names, free_text, min_size=1, max_size=3),
        "query_log_file": st.just("/prometheus/queries.log"),
        "sample_limit": st.integers(0, 10_000),
    },
)
alerting = st.fixed_dictionaries(
    {
        "alertmanagers": st.lists(
            st.fixed_dictionaries(
                {
                    "static_configs": st.lists(
                        st.fixed_dictionaries(
                            {"targets": st.lists(targets, min_size=1, max_size=2)}
                        ),
                        min_size=1,
                        max_size=1,
                    )
                },
                optional={
                    "path_prefix": st.just("/am"),
                    "scheme": st.just("https"),
                    "timeout": st.just("10s"),
                },
            ),
            min_size=1,
            max_size=2,
        )
    },
    optional={"alert_relabel_configs": st.lists(relabel_config, min_size=1, max_size=2)},
)
remote_write = st.lists(
    st.fixed_dictionaries(
        {"url": st.builds("https://{}.example/api/v1/write".format, names)},
        optional={
            "remote_timeout": st.just("30s"),
            "queue_config": st.fixed_dictionaries({"max_shards": st.integers(1, 50)}),
        },
    ),
    min_size=1,
    max_size=2,
)

# ----------------------------------------------------------------- Grafana

DATASOURCE_FIELDS = {
    "name", "type", "uid", "url", "access", "org_id", "orgId", "is_default", "isDefault",
    "editable", "basic_auth", "basicAuth", "basic_auth_user", "basicAuthUser", "user",
    "database", "with_credentials", "withCredentials", "version", "json_data", "jsonData",
    "secure_json_data", "secureJsonData", "password", "basicAuthPassword",
}  # fmt: skip
references = st.one_of(
    st.builds("$__env{{{}}}".format, st.from_regex(r"GF_[A-Z][A-Z0-9_]{0,8}", fullmatch=True)),
    st.builds("$__file{{/run/secrets/{}}}".format, names),
)
uids = st.from_regex(r"[a-zA-Z0-9_-]{1,20}", fullmatch=True)


@st.composite
def datasource(draw: st.DrawFn, name: str) -> dict[str, Any]:
    """A data source with any of the fields Grafana reads (absent ones stay absent) and other
    keys of its own, camelCase as Grafana writes them."""
    ds: dict[str, Any] = {
        "name": name,
        "type": draw(st.sampled_from(["prometheus", "loki", "tempo", "elasticsearch", "postgres"])),
    }
    url = st.builds("http://{}:{}".format, names, st.integers(1, 65535))
    if ds["type"] in ("prometheus", "loki", "tempo"):  # these query a server: no use without
        ds["url"] = draw(url)
    optional = {
        "uid": uids,
        "url": url,
        "access": st.sampled_from(["proxy", "direct"]),
        "orgId": st.integers(1, 3),
        "isDefault": st.booleans(),
        "editable": st.booleans(),
        "basicAuth": st.booleans(),
        "basicAuthUser": names,
        "user": names,
        "database": names,
        "withCredentials": st.booleans(),
        "version": st.integers(1, 9),
        "jsonData": st.dictionaries(camel_keys, config_values, min_size=1, max_size=3),
        "secureJsonData": st.dictionaries(
            st.sampled_from(["basicAuthPassword", "password", "httpHeaderValue1", "tlsClientKey"]),
            references,
            min_size=1,
            max_size=2,
        ),
    }
    for key, strategy in optional.items():
        if draw(st.booleans()):
            ds[key] = draw(strategy)
    ds.update(
        draw(
            st.dictionaries(
                camel_keys.filter(lambda k: k not in DATASOURCE_FIELDS), config_values, max_size=2
            )
        )
    )
    return ds


@st.composite
def datasources(draw: st.DrawFn) -> list[dict[str, Any]]:
    chosen = draw(st.lists(plain_text, max_size=3, unique_by=str.lower))
    return [draw(datasource(name)) for name in chosen]


PROVIDER_FIELDS = {
    "name", "files", "org_id", "orgId", "folder", "folder_uid", "folderUid", "type",
    "disable_deletion", "disableDeletion", "editable", "allow_ui_updates", "allowUiUpdates",
    "update_interval_seconds", "updateIntervalSeconds", "folders_from_files_structure",
    "foldersFromFilesStructure", "options",
}  # fmt: skip


@st.composite
def provider(draw: st.DrawFn, name: str) -> dict[str, Any]:
    """A dashboard provider of every dashboard under dashboards/<name>/ (sub-folders kept)."""
    out: dict[str, Any] = {"name": name, "files": [f"dashboards/{name}/**/*.json"]}
    optional = {
        "orgId": st.integers(1, 3),
        "folder": plain_text,
        "folderUid": uids,
        "type": st.just("file"),
        "disableDeletion": st.booleans(),
        "editable": st.booleans(),
        "allowUiUpdates": st.booleans(),
        "updateIntervalSeconds": st.integers(1, 600),
        "foldersFromFilesStructure": st.booleans(),
        "options": st.dictionaries(
            camel_keys.filter(lambda k: k not in ("path", "foldersFromFilesStructure")),
            scalars,
            min_size=1,
            max_size=2,
        ),
    }
    for key, strategy in optional.items():
        if draw(st.booleans()):
            out[key] = draw(strategy)
    out.update(
        draw(
            st.dictionaries(
                camel_keys.filter(lambda k: k not in PROVIDER_FIELDS), scalars, max_size=1
            )
        )
    )
    return out


def dashboard(uid: str) -> str:
    import json  # noqa: PLC0415

    return (
        json.dumps({"uid": uid, "title": uid, "schemaVersion": 39, "panels": []}, indent=2) + "\n"
    )


@st.composite
def providers(draw: st.DrawFn) -> tuple[list[dict[str, Any]], dict[str, bytes]]:
    """(providers, the dashboard files they provision)."""
    chosen = draw(st.lists(names, min_size=1, max_size=3, unique=True))
    files: dict[str, bytes] = {}
    for i, name in enumerate(chosen):
        for rel in draw(
            st.lists(
                st.sampled_from(["a.json", "b.json", "sub/c.json", "sub/deeper/d.json"]),
                min_size=1,
                max_size=3,
                unique=True,
            )
        ):
            files[f"dashboards/{name}/{rel}"] = dashboard(
                f"{i}-{rel.replace('/', '-')[:-5]}"
            ).encode()
    return [draw(provider(name)) for name in chosen], files


ini_values = st.one_of(
    st.from_regex(r"[A-Za-z0-9][A-Za-z0-9./:_-]{0,14}", fullmatch=True),
    st.integers(0, 999),
    st.booleans(),
)
ini_sections = st.dictionaries(
    st.one_of(
        st.just(""), st.from_regex(r"[a-z][a-z_]{0,8}(\.[a-z]{1,8})?", fullmatch=True)
    ).filter(lambda s: s != "paths"),
    st.dictionaries(keys, ini_values, min_size=1, max_size=3),
    max_size=3,
)

# ----------------------------------------------------------------- compose

compose_keys = st.fixed_dictionaries(
    {},
    optional={
        "container_name": st.builds("{}-fixed".format, names),
        "hostname": names,
        "domainname": st.just("example.org"),
        "user": st.sampled_from(["1000:1000", "nobody"]),
        "working_dir": st.just("/work"),
        "stop_signal": st.just("SIGINT"),
        "stop_grace_period": st.sampled_from(["30s", "90s"]),
        "tty": st.just(True),
        "stdin_open": st.just(True),
        "cap_add": st.just(["NET_ADMIN"]),
        "cap_drop": st.just(["ALL"]),
        "extra_hosts": st.just(["host.docker.internal:host-gateway"]),
        "dns": st.just(["1.1.1.1"]),
        "security_opt": st.just(["no-new-privileges:true"]),
        "privileged": st.just(True),
        "read_only": st.just(True),
        "init": st.booleans(),
        "sysctls": st.just({"net.core.somaxconn": "1024"}),
        "logging": st.fixed_dictionaries(
            {"driver": st.just("local"), "options": st.just({"max-size": "10m"})}
        ),
        "labels": st.dictionaries(
            st.from_regex(r"[a-z]{1,6}(\.[a-z]{1,6})?", fullmatch=True),
            plain_text,
            min_size=1,
            max_size=2,
        ),
        "expose": st.just(["9999"]),
        "pids_limit": st.integers(10, 1000),
        "profiles": st.just(["monitoring"]),
        "x-note": plain_text,
    },
)
healthchecks = st.one_of(
    st.none(),
    st.just({}),
    st.just({"disable": True}),
    st.fixed_dictionaries(
        {
            "test": st.sampled_from(
                [["CMD", "true"], ["CMD-SHELL", "wget -q -O- localhost || exit 1"]]
            )
        },
        optional={
            "interval": durations,
            "timeout": st.just("3s"),
            "retries": st.integers(1, 10),
            "start_period": st.just("30s"),
        },
    ),
)
restarts = st.sampled_from(["no", "always", "unless-stopped", "on-failure", "on-failure:3"])


@st.composite
def networks(draw: st.DrawFn) -> tuple[Any, dict[str, Any]]:
    """(a service's networks, the top-level networks that declare them): a list of names or
    compose's mapping with aliases."""
    chosen = draw(
        st.lists(
            st.sampled_from(["observatory", "backend", "edge"]), min_size=1, max_size=3, unique=True
        )
    )
    declared = {name: {} for name in chosen}
    if draw(st.booleans()):
        return sorted(chosen), declared
    aliases = st.lists(
        st.from_regex(r"alias-[a-z]{1,6}", fullmatch=True), min_size=1, max_size=2, unique=True
    )
    return {
        name: draw(st.one_of(st.none(), st.builds(lambda a: {"aliases": sorted(a)}, aliases)))
        for name in chosen
    }, declared
