"""Checks across files and environments, beyond what the schema can say (pure).

Each check returns ``Problem``s that carry the path inside the spec they are about, so the
caller can name the file, line and column (``spec/load.py``: ``problem_lines``).
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from beast_observatory.kinds.grafana.dashboards import check_dashboard, check_dashboard_datasources
from beast_observatory.render.grafana import PROMETHEUS_UID, datasource_uids
from beast_observatory.render.prometheus import CONTAINER_PORTS
from beast_observatory.spec.resolve import Stack
from beast_observatory.yamlio import YamlError, load_yaml, locate

SECRET_NAME = re.compile(r"(PASSWORD|PASSWD|SECRET|TOKEN|API_?KEY|PRIVATE_?KEY|CREDENTIAL)", re.I)
# Values that point at a secret instead of holding it.
SECRET_REFERENCE = re.compile(
    r"^(\$\{?[A-Za-z_][A-Za-z0-9_]*(:?[-?][^}]*)?\}?|\$__(env|file)\{[^}]+\})$"
)
# Keys of configuration files (alertmanager.yml, a datasource's jsonData, generated files) that
# hold a secret, judged word by word so that snake_case and camelCase read alike
# (smtp_auth_password, basicAuthPassword, routing_key, bot_token, client_secret, api_key...).
_SECRET_WORD = re.compile(r"password|passwd|secret|token|credential")
_KEY_WORD = re.compile(r"^(keys?|\w*apikey|\w*privatekey|\w*privkey)$")
# ... unless the last word says the value is not the secret itself (key_file, token_url...).
_NOT_SECRET_LAST = frozenset(
    {"file", "files", "path", "dir", "name", "user", "username", "url", "uri", "type", "id"}
    | {"ttl", "interval", "enabled", "length", "header", "minutes", "seconds", "days", "expiry"}
)
# URLs that are secrets whole (Slack, Discord and MS Teams webhooks) and header values (a
# datasource's httpHeaderValue1, an Authorization header: Bearer ...).
_ALWAYS_SECRET_KEY = re.compile(
    r"^(slack_api_url|webhook_url|http_?header_?value\d*|authorization)$", re.I
)
# scheme://user:PASSWORD@host: the password of a URL's userinfo (group 2).
URL_PASSWORD = re.compile(r"([A-Za-z][A-Za-z0-9+.-]*://[^/?#@:\s\"']*:)([^/?#\s\"']*)@")
# What `observatory import` writes where the host had a secret (discover/mapping.py): no secret.
_PLACEHOLDER = re.compile(r"^FILL-IN-SECRET-([0-9a-f]{12}|unknown)$")

SpecPath = tuple[str | int, ...]


@dataclass(frozen=True)
class Problem:
    """What is wrong (``message``) with the value at ``path`` of an environment's services."""

    path: SpecPath
    message: str


def looks_secret(name: str) -> bool:
    return bool(SECRET_NAME.search(name))


def is_reference(value: object) -> bool:
    return isinstance(value, str) and (value == "" or bool(SECRET_REFERENCE.match(value)))


def secret_key(name: str) -> bool:
    """Whether a configuration key holds a secret (the key list of check_secrets and of the
    masking of plan diffs, plan/files.py)."""
    if _ALWAYS_SECRET_KEY.match(name):
        return True
    snake = re.sub(r"(?<=[a-z0-9])(?=[A-Z])", "_", name).lower()
    words = [w for w in re.split(r"[^a-z0-9]+", snake) if w]
    if not words or words[-1] in _NOT_SECRET_LAST:
        return False
    return any(_SECRET_WORD.search(w) or _KEY_WORD.match(w) for w in words)


def url_password(value: str) -> str | None:
    """The literal password of a URL's userinfo in value (scheme://user:PASSWORD@host), if any."""
    for m in URL_PASSWORD.finditer(value):
        if m.group(2) and not is_reference(m.group(2)) and not _PLACEHOLDER.match(m.group(2)):
            return m.group(2)
    return None


def _published_ports(stack: Stack) -> Iterator[tuple[SpecPath, int]]:
    s = stack.services
    for name in ("prometheus", "pushgateway", "grafana", "alertmanager", "node_exporter"):
        svc = getattr(s, name)
        if svc.enabled and svc.publish:
            yield ("services", name, "port"), svc.port
    for name, fragment in sorted(s.extra.items()):
        for i, port in enumerate(fragment.get("ports") or []):
            host = _host_port(port)
            if host is not None:
                yield ("services", "extra", name, "ports", i), host


def _host_port(entry: Any) -> int | None:
    if isinstance(entry, dict):
        published = entry.get("published")
        return int(published) if published is not None and str(published).isdigit() else None
    parts = str(entry).split("/")[0].split(":")
    if len(parts) >= 2 and parts[-2].isdigit():  # noqa: PLR2004 - HOST:CONTAINER
        return int(parts[-2])
    return None


def dotted(path: SpecPath) -> str:
    """('services', 'extra', 'db', 'ports', 0) -> 'services.extra.db.ports[0]'."""
    out = ""
    for part in path:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else part)
    return out


def check_ports(stack: Stack) -> list[Problem]:
    seen: dict[int, SpecPath] = {}
    problems = []
    for where, port in _published_ports(stack):
        if port in seen:
            problems.append(
                Problem(
                    where,
                    f"host port {port} is already used by {dotted(seen[port])}; give one of "
                    f"them another port (environments.{stack.env_name}.services overrides it "
                    "for this environment only)",
                )
            )
        seen.setdefault(port, where)
    return problems


def check_rules(stack: Stack, assets: Mapping[str, bytes]) -> list[Problem]:
    problems = []
    for i, rule in enumerate(stack.services.prometheus.rule_files):
        where: SpecPath = ("services", "prometheus", "rule_files", i)
        label = f"{rule.path}: " if rule.path else ""
        try:
            doc = load_yaml(assets[rule.path], rule.path) if rule.path else {"groups": rule.groups}
        except YamlError as exc:
            problems.append(Problem(where, exc.render().removeprefix("error: ")))
            continue
        if not isinstance(doc, dict) or not isinstance(doc.get("groups"), list):
            problems.append(Problem(where, f"{label}a rule file needs a top-level 'groups' list"))
            continue
        problems += [Problem(where, label + p) for p in _check_groups(doc["groups"])]
    return problems


def _check_groups(groups: list[Any]) -> list[str]:
    problems = []
    names: set[str] = set()
    for g, group in enumerate(groups):
        if (
            not isinstance(group, dict)
            or not group.get("name")
            or not isinstance(group.get("rules"), list)
        ):
            problems.append(f"groups[{g}] needs a 'name' and a 'rules' list")
            continue
        if group["name"] in names:
            problems.append(f"groups[{g}]: duplicate group name {group['name']!r}")
        names.add(group["name"])
        for r, rule in enumerate(group["rules"]):
            ok = (
                isinstance(rule, dict)
                and bool(rule.get("expr"))
                and (("alert" in rule) != ("record" in rule))
            )
            if not ok:
                problems.append(
                    f"groups[{g}].rules[{r}] needs 'expr' and exactly one of 'alert'/'record'"
                )
    return problems


def _dashboard_sources(stack: Stack, matches: Mapping[str, tuple[str, ...]]) -> dict[str, SpecPath]:
    """Every dashboard file the stack provisions -> the spec entry that selects it."""
    out: dict[str, SpecPath] = {}
    for p, provider in enumerate(stack.services.grafana.dashboards):
        for f, ref in enumerate(provider.files):
            for source in matches.get(ref, ()):
                out.setdefault(source, ("services", "grafana", "dashboards", p, "files", f))
    return out


@lru_cache(maxsize=4096)
def _dashboard_checked(raw: bytes) -> tuple[Any, tuple[str, ...]]:
    doc = json.loads(raw)
    return doc, tuple(check_dashboard(doc))


def _parsed_dashboard(raw: bytes) -> tuple[Any, list[str]]:
    """A dashboard and its own problems, once per content rather than once per environment."""
    doc, found = _dashboard_checked(raw)
    return doc, list(found)


def check_dashboards(
    stack: Stack, assets: Mapping[str, bytes], matches: Mapping[str, tuple[str, ...]]
) -> list[Problem]:
    if not stack.services.grafana.enabled:
        return []
    known = datasource_uids(stack)
    problems = []
    uids: dict[str, str] = {}
    for source, where in sorted(_dashboard_sources(stack, matches).items()):
        try:
            doc, found = _parsed_dashboard(assets[source])
        except (ValueError, UnicodeDecodeError) as exc:
            problems.append(Problem(where, f"{source}: not valid JSON: {exc}"))
            continue
        found += check_dashboard_datasources(doc, known)
        problems += [Problem(where, f"{source}: {p}") for p in found]
        uid = doc.get("uid") if isinstance(doc, dict) else None
        if isinstance(uid, str):
            if uid in uids:
                problems.append(
                    Problem(where, f"{source}: dashboard uid {uid!r} is also used by {uids[uid]}")
                )
            uids.setdefault(uid, source)
    return problems


def check_pushgateway_jobs(stack: Stack) -> list[Problem]:
    problems = []
    target = f"pushgateway:{CONTAINER_PORTS['pushgateway']}"
    for i, job in enumerate(stack.services.prometheus.scrape_jobs):
        if (target in job.targets or "pushgateway" in job.name) and not job.honor_labels:
            problems.append(
                Problem(
                    ("services", "prometheus", "scrape_jobs", i),
                    f"job {job.name!r} scrapes the Pushgateway without honor_labels: true, so "
                    "pushed job/instance labels would be overwritten; set honor_labels: true",
                )
            )
    return problems


def _duplicates(at: SpecPath, key: str, values: list[str], taken: dict[str, str]) -> list[Problem]:
    """A problem for each entry of a list whose `key` repeats an earlier one (or a taken value)."""
    seen = dict(taken)
    problems = []
    for i, value in enumerate(values):
        if value in seen:
            problems.append(
                Problem((*at, i, key), f"{key} {value!r} is already used by {seen[value]}")
            )
        seen.setdefault(value, f"{dotted(at)}[{i}]")
    return problems


def check_unique_names(stack: Stack) -> list[Problem]:
    """Names that become file names, job names or uids must not repeat: one would be lost."""
    p, g = stack.services.prometheus, stack.services.grafana
    builtin = {
        "uid": {PROMETHEUS_UID: "the built-in Prometheus data source"},
        "name": {"Prometheus": "the built-in Prometheus data source"},
    }
    return [
        *_duplicates(
            ("services", "prometheus", "scrape_jobs"), "name", [j.name for j in p.scrape_jobs], {}
        ),
        *_duplicates(
            ("services", "prometheus", "rule_files"), "name", [r.name for r in p.rule_files], {}
        ),
        *_duplicates(
            ("services", "grafana", "dashboards"), "name", [d.name for d in g.dashboards], {}
        ),
        *_duplicates(
            ("services", "grafana", "datasources"),
            "uid",
            [d.uid for d in g.datasources],
            builtin["uid"],
        ),
        *_duplicates(
            ("services", "grafana", "datasources"),
            "name",
            [d.name for d in g.datasources],
            builtin["name"],
        ),
    ]


def check_secrets(stack: Stack) -> list[Problem]:
    s = stack.services
    problems = []
    for name in ("prometheus", "pushgateway", "grafana", "alertmanager", "node_exporter"):
        for key, value in getattr(s, name).environment.items():
            if looks_secret(key) and not is_reference(value):
                problems.append(_secret_problem(("services", name, "environment", key)))
    for section, values in s.grafana.ini.items():
        for key, value in values.items():
            if looks_secret(key) and not is_reference(value):
                problems.append(
                    _secret_problem(("services", "grafana", "ini", section, key), grafana=True)
                )
    for path, key, value in _extra_environment(stack):
        if looks_secret(key) and not is_reference(value):
            problems.append(_secret_problem(path))
    return problems + _config_secret_problems(stack)


def _config_secret_problems(stack: Stack) -> list[Problem]:
    """Literal secrets in the configuration trees of the spec: every datasource's json_data and
    the inline Alertmanager config."""
    s = stack.services
    problems = []
    for d, source in enumerate(s.grafana.datasources):
        where: SpecPath = ("services", "grafana", "datasources", d, "json_data")
        problems += [
            Problem(at, f"{why}; {_GRAFANA_FIX}")
            for at, why in config_secrets(source.json_data, where)
        ]
    if s.alertmanager.config is not None:
        where = ("services", "alertmanager", "config")
        problems += [
            Problem(at, f"{why}; {alertmanager_fix(at)}")
            for at, why in config_secrets(s.alertmanager.config, where)
        ]
    return problems


_GRAFANA_FIX = "use a reference such as $__env{VAR}, $__file{/path} or ${VAR}"


def alertmanager_fix(at: SpecPath) -> str:
    """What to write instead of a secret of alertmanager.yml at `at`: its *_file form."""
    key = next((str(part) for part in reversed(at) if isinstance(part, str)), "the key")
    return (
        f"Alertmanager reads secrets from files: use {key}_file with a path inside the "
        "container instead (or a reference)"
    )


def config_secrets(
    value: object, at: SpecPath = (), *, secret: bool = False
) -> Iterator[tuple[SpecPath, str]]:
    """(path, why) of every literal secret in a configuration tree: a non-reference value under
    a secret key (secret_key; a Slack receiver's api_url too), a URL with a password."""
    if isinstance(value, dict):
        for key, child in value.items():
            name = str(key)
            is_secret = secret_key(name) or (name == "api_url" and "slack_configs" in at)
            yield from config_secrets(child, (*at, name), secret=is_secret)
    elif isinstance(value, list):
        for i, child in enumerate(value):
            yield from config_secrets(child, (*at, i), secret=secret)
    elif secret and _literal(value):
        yield at, "holds a literal secret"
    elif isinstance(value, str) and url_password(value):
        yield at, "holds a URL with a literal password (scheme://user:PASSWORD@host)"


def _literal(value: object) -> bool:
    """A value given in clear: a string that is no reference (nor an import's placeholder), or a
    number (bools are flags)."""
    if isinstance(value, bool) or value is None:
        return False
    if isinstance(value, str):
        return not is_reference(value) and not _PLACEHOLDER.match(value)
    return True


def check_alertmanager_file(stack: Stack, assets: Mapping[str, bytes]) -> list[Problem]:
    """The Alertmanager configuration file beside the spec (config_path), checked like an
    inline config: secrets only by *_file or reference."""
    am = stack.services.alertmanager
    if am.config_path is None or am.config_path not in assets:
        return []
    text = assets[am.config_path]
    try:
        doc = load_yaml(text, am.config_path)
    except YamlError:
        return []  # amtool says what is wrong with it, at apply
    where: SpecPath = ("services", "alertmanager", "config_path")
    problems = []
    for path, why in config_secrets(doc):
        pos = locate(text.decode("utf-8", "replace"), path)
        place = f"{am.config_path}:{pos}" if pos else am.config_path
        problems.append(Problem(where, f"{place}: {dotted(path)}: {why}; {alertmanager_fix(path)}"))
    return problems


def _extra_environment(stack: Stack) -> Iterator[tuple[SpecPath, str, object]]:
    """(path, name, value) of every variable of the extra services, in either compose form."""
    for name, fragment in stack.services.extra.items():
        env = fragment.get("environment") or {}
        where: SpecPath = ("services", "extra", name, "environment")
        if isinstance(env, dict):
            yield from (((*where, str(k)), str(k), v) for k, v in env.items())
        else:
            for i, entry in enumerate(env):
                key, _, value = str(entry).partition("=")
                yield (*where, i), key, value


def _secret_problem(where: SpecPath, *, grafana: bool = False) -> Problem:
    ref = "$__env{VAR} or $__file{/path}" if grafana else "${VAR} (set in .env on the host)"
    return Problem(where, f"holds a literal secret; use a reference such as {ref} instead")


def check_stack(
    stack: Stack, assets: Mapping[str, bytes], matches: Mapping[str, tuple[str, ...]]
) -> list[Problem]:
    return [
        *check_ports(stack),
        *check_rules(stack, assets),
        *check_dashboards(stack, assets, matches),
        *check_pushgateway_jobs(stack),
        *check_unique_names(stack),
        *check_secrets(stack),
        *check_alertmanager_file(stack, assets),
    ]


def check_all(
    stacks: Mapping[str, Stack], assets: Mapping[str, bytes], matches: Mapping[str, tuple[str, ...]]
) -> list[tuple[str, Problem]]:
    """(environment, problem) for every problem of every environment, in a stable order."""
    return [
        (name, p) for name in sorted(stacks) for p in check_stack(stacks[name], assets, matches)
    ]
