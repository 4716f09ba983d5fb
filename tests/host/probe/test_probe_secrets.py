"""Secrets that are not behind a secret-looking NAME never leave the host either: files that are
a secret whole (mounted secrets, keys, password files), credentials inside URLs and curl/wget's
`-u user:password` (healthchecks, commands, compose files). The real probe, with dash/mawk
and busybox sh/awk, against the stand-in `docker` of probe_env.py."""

from __future__ import annotations

import hashlib
import json
import shutil
from pathlib import Path
from typing import Any

import pytest

from beast_observatory.discover.report import SECRET_FILE, write_report
from beast_observatory.host.probe.inventory import Container, FileRecord, Healthcheck

from .probe_env import BUSYBOX, bind, fake_docker, inspect_lines, probe, ps_lines, tool_dir

SHELLS = [
    "dash",
    pytest.param("busybox", marks=pytest.mark.skipif(BUSYBOX is None, reason="no busybox")),
]
GRAFANA_ID = "e" * 64
APP_ID = "f" * 64


def marker(value: str) -> str:
    return f"<redacted sha256:{hashlib.sha256(value.encode()).hexdigest()[:12]}>"


# Every value here must be absent from inventory.json and DISCOVERY.md.
SECRETS = [
    "Sup3rS3cret!",  # Grafana's admin password file, mounted under /run/secrets/
    "DirSecretPw",  # a directory of secrets mounted at /run/secrets/extra
    "KeyMaterialXYZ",  # /etc/grafana/tls.key
    "HtpasswdHashXYZ",  # /etc/grafana/htpasswd
    "xoxb-TokenFileValue",  # /etc/grafana/slack_token
    "EnvUrlPw",  # GF_DATABASE_URL=mysql://grafana:EnvUrlPw@db
    "LabelUrlPw",  # a label holding a URL with credentials
    "CmdUrlPw",  # a command argument holding one
    "IniDbPw",  # grafana.ini [database] url
    "DsUrlPw",  # a datasource url in a provisioning file
    "HcShellPw",  # healthcheck CMD-SHELL: curl -u admin:HcShellPw
    "HcUrlPw",  # healthcheck CMD-SHELL: wget http://admin:HcUrlPw@...
    "HcExecPw",  # healthcheck CMD: "-u", "admin:HcExecPw"
    "HcEqPw",  # healthcheck CMD: "--user=bob:HcEqPw"
    "ComposeUrlPw",  # compose environment map: DATABASE_URL: postgres://...
    "ComposeListPw",  # compose environment list: - REDIS_URL=redis://:...@
    "ComposeHcPw",  # compose healthcheck flow list: "-u", "admin:..."
    "ComposeBlockPw",  # compose healthcheck block list: - --user / - admin:...
    "ComposeShellPw",  # compose healthcheck string: curl -fsSu admin:...
]

COMPOSE = """\
services:
  grafana:
    environment:
      DATABASE_URL: postgres://app:ComposeUrlPw@db/app
      REF_URL: postgres://app:${PG_PASSWORD}@db/app
    healthcheck:
      test: ["CMD", "curl", "-fsS", "-u", "admin:ComposeHcPw", "http://localhost:3000/"]
  app:
    user: "1000:1000"
    environment:
      - REDIS_URL=redis://:ComposeListPw@redis:6379
    command: ["-u", "1000:1000", "--user-agent", "curl:8"]
    healthcheck:
      test:
        - CMD
        - curl
        - --user
        - admin:ComposeBlockPw
        - http://localhost/
  web:
    healthcheck:
      test: curl -fsSu admin:ComposeShellPw http://localhost/ || curl -u admin:$$WEB_PW x
"""


@pytest.fixture(scope="module", params=SHELLS)
def host(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Any:
    root = tmp_path_factory.mktemp(f"secrets-{request.param}")
    grafana = root / "grafana"
    (grafana / "provisioning" / "datasources").mkdir(parents=True)
    (grafana / "grafana.ini").write_text(
        "[database]\nurl = mysql://grafana:IniDbPw@db:3306/grafana\n"
        "[server]\nroot_url = http://localhost:3000/\n"
    )
    (grafana / "provisioning" / "datasources" / "ds.yml").write_text(
        "datasources:\n  - name: Loki\n    url: http://reader:DsUrlPw@loki:3100\n"
        "  - name: Ref\n    url: http://reader:$__env{LOKI_PW}@loki:3100\n"
    )
    files = {
        "admin_password": "Sup3rS3cret!\n",
        "tls.key": "-----BEGIN PRIVATE KEY-----\nKeyMaterialXYZ\n",
        "htpasswd": "admin:$apr1$HtpasswdHashXYZ\n",
        "slack_token": "xoxb-TokenFileValue",
    }
    for name, text in files.items():
        (root / name).write_text(text)
    (root / "secrets").mkdir()
    (root / "secrets" / "db").write_text("DirSecretPw\n")
    (root / "docker-compose.yml").write_text(COMPOSE)
    # What the container sees at /etc/grafana (docker cp reads through its mounts): the
    # folder, and the single files mounted into it.
    seen = root / "seen-etc-grafana"
    shutil.copytree(grafana, seen)
    for name in ("tls.key", "htpasswd", "slack_token"):
        shutil.copy(root / name, seen / name)

    labels = {
        "com.docker.compose.project": "obs",
        "com.docker.compose.project.working_dir": str(root),
        "com.docker.compose.project.config_files": str(root / "docker-compose.yml"),
        "backup.target": "https://backup:LabelUrlPw@backup.example/",
    }
    inspect = inspect_lines(
        GRAFANA_ID,
        "grafana",
        "grafana/grafana-oss:11.2.0",
        entrypoint=["/run.sh"],
        cmd=["cfg:default.database.url=postgres://g:CmdUrlPw@db/g"],
        env=[
            "GF_SECURITY_ADMIN_PASSWORD__FILE=/run/secrets/gf_security_admin_password",
            "GF_DATABASE_URL=mysql://grafana:EnvUrlPw@db:3306/grafana",
            "GF_SERVER_ROOT_URL=http://localhost:3000/",
        ],
        labels=labels,
        mounts=[
            bind(grafana, "/etc/grafana"),
            bind(root / "admin_password", "/run/secrets/gf_security_admin_password"),
            bind(root / "secrets", "/run/secrets/extra"),
            bind(root / "tls.key", "/etc/grafana/tls.key"),
            bind(root / "htpasswd", "/etc/grafana/htpasswd"),
            bind(root / "slack_token", "/etc/grafana/slack_token"),
        ],
        ports={},
        running=False,
        healthcheck=[
            "CMD-SHELL",
            "curl -fsS -u admin:HcShellPw http://localhost:3000/api/health"
            " && wget -qO- http://admin:HcUrlPw@localhost:3000/ && curl -u admin:$GF_PW x",
        ],
    )
    inspect += inspect_lines(
        APP_ID,
        "app",
        "busybox:latest",
        entrypoint=[],
        cmd=["-u", "1000:1000"],
        env=[],
        labels={},
        mounts=[],
        ports={},
        running=False,
        healthcheck=["CMD", "curl", "-u", "admin:HcExecPw", "--user=bob:HcEqPw", "http://x/"],
    )
    bin_dir = tool_dir(root, busybox=request.param == "busybox")
    fake_docker(
        bin_dir,
        {
            "version --format": "24.0.0\n",
            "ps -a": ps_lines(GRAFANA_ID, APP_ID),
            "inspect --type": inspect,
            "image inspect": "",
            "volume ls": "",
            "network ls": "",
            "compose version": "2.20.0\n",
        },
        copies={f"{GRAFANA_ID}:/etc/grafana": seen},
    )
    inv = probe(bin_dir).inventory
    out = root / "report"
    write_report(inv, out)
    return {
        "inv": inv,
        "root": root,
        "json": (out / "inventory.json").read_text(),
        "md": (out / "DISCOVERY.md").read_text(),
    }


def container(host: Any, name: str) -> Container:
    return next(c for c in host["inv"].containers if c.name == name)


@pytest.mark.parametrize("secret", SECRETS)
def test_no_secret_reaches_the_inventory_or_the_report(host: Any, secret: str) -> None:
    assert secret not in json.dumps(host["inv"].to_json())
    assert secret not in host["json"]
    assert secret not in host["md"]


def test_secret_files_are_fingerprinted_never_read(host: Any) -> None:
    files = host["inv"].config_files["grafana"]
    root: Path = host["root"]
    for path, source, copied in (
        ("/run/secrets/gf_security_admin_password", root / "admin_password", False),
        ("/run/secrets/extra/db", root / "secrets" / "db", False),
        # Copied out of the container with its config folder; the host path is the bind's.
        ("/etc/grafana/tls.key", root / "tls.key", True),
        ("/etc/grafana/htpasswd", root / "htpasswd", True),
        ("/etc/grafana/slack_token", root / "slack_token", True),
    ):
        data = source.read_bytes()
        assert files[path] == FileRecord(
            host_path=str(source),
            sha256=hashlib.sha256(data).hexdigest(),
            size=len(data),
            content=None,
            error=SECRET_FILE,
            copied=copied,
        ), path
    # The configuration beside them is still read (and redacted).
    assert files["/etc/grafana/grafana.ini"].content == (
        f"[database]\nurl = mysql://grafana:{marker('IniDbPw')}@db:3306/grafana\n"
        "[server]\nroot_url = http://localhost:3000/\n"
    )
    assert files["/etc/grafana/provisioning/datasources/ds.yml"].content == (
        f"datasources:\n  - name: Loki\n    url: http://reader:{marker('DsUrlPw')}@loki:3100\n"
        "  - name: Ref\n    url: http://reader:$__env{LOKI_PW}@loki:3100\n"
    )


def test_the_report_names_secret_files_apart_from_failures(host: Any) -> None:
    md: str = host["md"]
    secrets, _, failures = md.partition("## What could not be read, and why")
    assert "## Secret files (never read: size and sha256 only)" in secrets
    assert "- container grafana: /run/secrets/gf_security_admin_password" in secrets
    assert "/run/secrets/gf_security_admin_password" not in failures


def test_url_credentials_in_env_labels_and_commands(host: Any) -> None:
    grafana = container(host, "grafana")
    assert grafana.env == {
        "GF_DATABASE_URL": f"mysql://grafana:{marker('EnvUrlPw')}@db:3306/grafana",
        "GF_SECURITY_ADMIN_PASSWORD__FILE": "/run/secrets/gf_security_admin_password",
        "GF_SERVER_ROOT_URL": "http://localhost:3000/",
    }
    assert grafana.labels["backup.target"] == (
        f"https://backup:{marker('LabelUrlPw')}@backup.example/"
    )
    assert grafana.cmd == (f"cfg:default.database.url=postgres://g:{marker('CmdUrlPw')}@db/g",)


def test_healthcheck_credentials(host: Any) -> None:
    shell = container(host, "grafana").healthcheck
    assert isinstance(shell, Healthcheck)
    assert shell.test == (
        "CMD-SHELL",
        f"curl -fsS -u admin:{marker('HcShellPw')} http://localhost:3000/api/health"
        f" && wget -qO- http://admin:{marker('HcUrlPw')}@localhost:3000/"
        " && curl -u admin:$GF_PW x",  # a reference: kept
    )
    assert shell.interval == "30s"
    app = container(host, "app")
    assert app.healthcheck is not None
    assert app.healthcheck.test == (
        "CMD",
        "curl",
        "-u",
        f"admin:{marker('HcExecPw')}",
        f"--user=bob:{marker('HcEqPw')}",
        "http://x/",
    )
    assert app.cmd == ("-u", "1000:1000")  # a uid:gid pair is no password


def test_compose_files(host: Any) -> None:
    (project,) = host["inv"].compose_projects
    text = project.files[str(host["root"] / "docker-compose.yml")].content
    assert text == (
        COMPOSE.replace("ComposeUrlPw", marker("ComposeUrlPw"))
        .replace("ComposeListPw", marker("ComposeListPw"))
        .replace("ComposeHcPw", marker("ComposeHcPw"))
        .replace("ComposeBlockPw", marker("ComposeBlockPw"))
        .replace("ComposeShellPw", marker("ComposeShellPw"))
    )


def test_secret_files_in_a_directory(tmp_path: Path) -> None:
    """--dir: the same rule for files by name; the rest is read (and redacted)."""
    d = tmp_path / "deploy"
    (d / "certs").mkdir(parents=True)
    (d / "secrets").mkdir()
    secret = {
        "certs/server.key": "k3y",
        "certs/server.pem": "p3m",
        "secrets/anything": "s3c",
        ".htpasswd": "h7p",
        "api_key": "ak1",
        "db-password.txt": "pw1",
        "TOKEN": "tk1",
    }
    read = {"prometheus.yml": "global: {}\n", "keycloak.json": "{}\n", "monkey.yml": "a: 1\n"}
    for name, text in {**secret, **read}.items():
        (d / name).write_text(text)
    files = probe(tool_dir(tmp_path), [str(d)]).inventory.directories[str(d)]
    for name, text in secret.items():
        assert files[name].content is None, name
        assert files[name].error == SECRET_FILE, name
        assert files[name].sha256 == hashlib.sha256(text.encode()).hexdigest()
    for name, text in read.items():
        assert files[name].content == text, name
