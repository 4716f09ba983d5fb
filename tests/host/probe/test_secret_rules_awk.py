"""The probe's secret_name() is generated from secret_rules: run it with every awk this machine
has (busybox awk, mawk, gawk...), in the C and a UTF-8 locale, on a table of names, and it says
what secret_rules.is_secret_name says of each one."""

from __future__ import annotations

import itertools
import os
import random
import shutil
import subprocess

import pytest

from beast_observatory import secret_rules
from beast_observatory.host.probe.build import probe_script
from beast_observatory.host.probe.secret_rules_awk import render
from beast_observatory.secret_rules import SECRET_UNDER, is_secret_name

AWKS = [
    pytest.param([path], id=name)
    for name in ("mawk", "gawk", "original-awk", "nawk")
    if (path := shutil.which(name)) and os.path.realpath(path).rsplit("/", 1)[-1] == name
]
if BUSYBOX := shutil.which("busybox"):
    AWKS.append(pytest.param([BUSYBOX, "awk"], id="busybox"))
LOCALES = ["C", "C.UTF-8"]

# Names as they come: environment variables, compose and Prometheus/Alertmanager keys, Grafana's
# camelCase JSON keys, --flags and dotted flag names, ini keys, labels.
KNOWN = [
    "proxy_pass",
    "fastcgi_pass",
    "pass",
    "db_pass",
    "proxy_pass_request_body",
    "GF_SECURITY_ADMIN_PASSWORD",
    "GF_SECURITY_ADMIN_PASSWORD__FILE",
    "GF_SECURITY_ADMIN_USER",
    "GF_DATABASE_URL",
    "GF_AUTH_GENERIC_OAUTH_CLIENT_SECRET",
    "GF_SERVER_ROOT_URL",
    "API_KEY",
    "API_TOKEN",
    "REF_TOKEN",
    "KEY_FILE",
    "SSH_KEY",
    "SSL_KEY_PATH",
    "MONKEY",
    "TOKENIZER_MODEL",
    "KEYBOARD_LAYOUT",
    "DB_PASSWD",
    "DB_PASS",
    "PGPASSWORD",
    "MYSQL_ROOT_PASSWORD",
    "AWS_SECRET_ACCESS_KEY",
    "AWS_ACCESS_KEY_ID",
    "SLACK_WEBHOOK_URL",
    "DISCORD_WEBHOOK_URL",
    "TEAMS_WEBHOOKURL",
    "SLACK_API_URL",
    "ROOT_URL",
    "TOKEN_URL",
    "TOKEN_TTL",
    "OAUTH_TOKEN",
    "PRIVATE_KEY",
    "PRIVATE_NETWORK",
    "CREDENTIALS",
    "SECRET_NAME",
    "SMTP_USER",
    "PATH",
    "HOME",
    "JOB_NAME",
    "MODE",
    "PLAIN",
    "MULTI",
    "QUOTED_PASSWORD",
    "EMPTY_SECRET",
    "cookie_secure",
    "secret_key",
    "secret_key_file",
    "api_url",
    "slack_api_url",
    "webhook_url",
    "token_rotation_interval_minutes",
    "password",
    "password_file",
    "password_hash",
    "password_min_length",
    "username",
    "credentials",
    "credentials_file",
    "bearer_token",
    "bearer_token_file",
    "client_secret",
    "smtp_auth_password",
    "smtp_auth_secret",
    "smtp_auth_username",
    "auth_token",
    "routing_key",
    "service_key",
    "bot_token",
    "chat_id",
    "api_key",
    "api_key_file",
    "access_key",
    "access_key_id",
    "key_id",
    "pass",
    "admin_pass",
    "passphrase",
    "authorization",
    "proxy_authorization",
    "token_expiry",
    "admin_password",
    "basicAuthPassword",
    "basicAuthUser",
    "basicAuth",
    "secureJsonData",
    "httpHeaderName1",
    "httpHeaderValue1",
    "httpHeaderValue12",
    "http_header_value",
    "HTTP_HEADER_VALUE_2",
    "tlsClientKey",
    "tlsClientCert",
    "tlsCACert",
    "sslKey",
    "sigV4SecretKey",
    "sigV4AccessKey",
    "apiKey",
    "APIKey",
    "APIKeyPath",
    "privateKeyPath",
    "secretName",
    "tokenUrl",
    "webhookUrl",
    "webhookURL",
    "clientSecret",
    "s3SecretKey",
    "s3Bucket",
    "k8sToken",
    "v2Password",
    "password2",
    "2fa_secret",
    "x509key",
    "web.config.file",
    "--web.config.file",
    "--web.auth-token",
    "--web.password",
    "web.password",
    "--config.file",
    "--storage.tsdb.path",
    "--storage.tsdb.retention.time",
    "--web.listen-address",
    "--log.level",
    "--cluster.peer",
    "--slack.api-url",
    "--slack.webhook-url",
    "--es.api-key",
    "--api.key",
    "-u",
    "--user",
    "vault.token",
    "backup.target",
    "com.docker.compose.project",
    "com.docker.compose.project.config_files",
    "traefik.http.middlewares.auth.basicauth.users",
    "org.beast-observatory.test",
    "max-size",
    "loki-url",
    "splunk-token",
    "fluentd-address",
    "cfg:default.database.url",
    "default.paths.data",
    "a",
    "A",
    "_",
    "__",
    "--",
    "...",
    "",
    " ",
    "key",
    "KEY",
    "Key",
    "keys",
    "kEy",
    "tokens",
    "my key",
    "my.secret key",
    "pässword",
    "PÄSSWORD",
    "ÄPI_KEY",
    "api_ḱey",
    "naïve_token",
    "日本_password",
    "API_\u212aEY",  # KELVIN SIGN, which Python lower-cases to an ASCII k
    "\u0130D_TOKEN",  # LATIN CAPITAL LETTER I WITH DOT ABOVE
    "tab\tpassword",
    'quote"password',
    "back\\slash_key",
    "dollar$token",
]


def _shapes(words: list[str]) -> list[str]:
    """The words written as a name in every style the rule reads alike."""
    return [
        "_".join(words),
        "_".join(words).upper(),
        "-".join(words),
        ".".join(words),
        "--" + ".".join(words),
        words[0] + "".join(w.capitalize() for w in words[1:]),
        "".join(w.capitalize() for w in words),
        "".join(words),
    ]


def generated() -> list[str]:
    r = secret_rules
    vocabulary = [
        *r.SECRET_WORDS,
        *r.EXACT_WORDS,
        *r.KEY_WORDS,
        *r.KEY_QUALIFIERS,
        *r.NOT_SECRET_LAST,
        *(w for a in r.ALWAYS_SECRET for w in a.split("_")),
        "http",
        "header",
        "value",
        "value3",
        "webhook",
        "slack",
        "admin",
        "db",
        "s3",
        "monkey",
        "tokenizer",
        "passes",
        "bypass",
        "secure",
    ]
    names = []
    for word, before, after in itertools.product(
        vocabulary, ["", "gf", "api", "x2"], ["", "file", "key", "url", "2", "name"]
    ):
        names += _shapes([w for w in (before, word, after) if w])
    names += [n for a in r.ALWAYS_SECRET for n in _shapes([*a.split("_"), "x"])]
    names += [n for a in r.ALWAYS_SECRET for n in _shapes(["my", *a.split("_")])]
    # Random names from fragments of the rule's words, letters, digits and separators.
    rng = random.Random(20261201)  # noqa: S311 - a fixed table, not a secret
    pieces = [*vocabulary, "_", "-", ".", " ", "A", "Z", "a", "9", "0", "K", "key", "KEY", "Url"]
    names += ["".join(rng.choices(pieces, k=rng.randint(1, 6))) for _ in range(3000)]
    return names


NAMES = sorted(set(KNOWN) | set(generated()))


def run_awk(awk: list[str], locale: str, program: str, lines: list[str]) -> list[str]:
    assert not any("\n" in line for line in lines)
    env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "LC_ALL": locale}
    done = subprocess.run(
        [*awk, program],
        input="".join(f"{line}\n" for line in lines).encode(),
        capture_output=True,
        env=env,
        check=False,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr.decode()
    return done.stdout.decode().splitlines()


def test_there_is_an_awk_to_run_and_a_table_worth_the_name() -> None:
    assert AWKS, "no awk found (Debian has mawk; scripts/ci-setup.sh installs busybox-static)"
    assert len(NAMES) > 5000
    secret = sum(is_secret_name(n) for n in NAMES)
    assert 0.2 < secret / len(NAMES) < 0.8  # both answers are well represented


@pytest.mark.parametrize("locale", LOCALES)
@pytest.mark.parametrize("awk", AWKS)
def test_the_awk_rule_agrees_with_secret_rules_on_every_name(awk: list[str], locale: str) -> None:
    answers = run_awk(awk, locale, render() + "{ print secret_name($0) }", NAMES)
    assert len(answers) == len(NAMES)
    disagree = [
        (name, answer)
        for name, answer in zip(NAMES, answers, strict=True)
        if answer != str(int(is_secret_name(name)))
    ]
    assert not disagree, disagree[:20]


@pytest.mark.parametrize("awk", AWKS)
def test_the_awk_rule_knows_the_keys_that_are_secrets_under_a_parent(awk: list[str]) -> None:
    keys = [*SECRET_UNDER, "receivers", "webhook_configs", "slack", "", "api_url"]
    answers = run_awk(awk, "C", render() + '{ print "[" secret_under($0) "]" }', keys)
    assert answers == [
        "[" + (" " + " ".join(SECRET_UNDER[k]) + " " if k in SECRET_UNDER else "") + "]"
        for k in keys
    ]


def test_the_probe_carries_the_generated_rule_and_no_other() -> None:
    script = probe_script().decode()
    assert render() in script
    assert script.count("function secret_name(") == 1
    assert "json_secret" not in script
