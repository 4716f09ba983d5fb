"""What the probe reads of containers and images beyond their env, labels and command: Config
and HostConfig fields, log options (redacted like labels), network aliases, mount flags, the
images' defaults, the known services' config folders copied out of the containers (docker cp),
and the configuration other containers have mounted. The real probe, with dash/mawk and busybox
sh/awk, against the stand-in `docker` of probe_env.py (test_probe_engine.py: a real engine)."""

from __future__ import annotations

import hashlib
import json
import shutil
from pathlib import Path
from typing import Any

import pytest

from beast_observatory.discover.report import SECRET_FILE
from beast_observatory.host.probe.inventory import (
    Attachment,
    Container,
    FileRecord,
    Image,
    Inventory,
    Mount,
)

from .probe_env import (
    BUSYBOX,
    IMAGE_ID,
    bind,
    fake_docker,
    image_lines,
    inspect_lines,
    probe,
    ps_lines,
    tool_dir,
)

SHELLS = [
    "dash",
    pytest.param("busybox", marks=pytest.mark.skipif(BUSYBOX is None, reason="no busybox")),
]
PROM_ID = "1" * 64
AM_ID = "2" * 64
PG_ID = "3" * 64
APP_ID = "4" * 64
APP_IMAGE = "sha256:" + "a" * 64

# Every value here must be absent from the inventory.
SECRETS = [
    "SplunkTok3n",  # a log option named like a secret
    "LokiUrlPw",  # the password of a log option's URL
    "ImgEnvSecret",  # an image's environment
    "ImgFlagSecret",  # an image's default command: --web.password=...
    "ImgUserPw",  # an image's default command: -u admin:...
    "AppConfPw",  # a file another container has bind-mounted
    "RoDirToken",  # a read-only folder another container has bind-mounted
    "RwDirData",  # a writable folder: data, never read
    "MountedTokenFile",  # a secret file another container has mounted
    "AmSlackHook",  # a Slack receiver's api_url in a copied Alertmanager config
]
AM_CONFIG = (
    "route:\n  receiver: team\n"
    "receivers:\n  - name: team\n    slack_configs:\n"
    "      - api_url: https://hooks.example/AmSlackHook\n"
)


def marker(value: str) -> str:
    return f"<redacted sha256:{hashlib.sha256(value.encode()).hexdigest()[:12]}>"


@pytest.fixture(scope="module", params=SHELLS)
def host(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Any:
    root = tmp_path_factory.mktemp(f"containers-{request.param}")
    # Prometheus: one file bind-mounted into the image's own config folder, which also holds
    # a file of the image (or one edited inside the container): no host has it.
    (root / "prom.yml").write_text("global:\n  scrape_interval: 15s\n")
    seen_prom = root / "seen-etc-prometheus"
    seen_prom.mkdir()
    shutil.copy(root / "prom.yml", seen_prom / "prometheus.yml")
    (seen_prom / "edited.yml").write_text("edited: inside\n")
    # Alertmanager: its config folder is a bind mount.
    (root / "am").mkdir()
    (root / "am" / "alertmanager.yml").write_text(AM_CONFIG)
    # Another container's mounts.
    (root / "app.conf").write_text("password: AppConfPw\nlisten: :8080\n")
    (root / "ro-dir").mkdir()
    (root / "ro-dir" / "x.yml").write_text("token: RoDirToken\nname: x\n")
    (root / "rw-dir").mkdir()
    (root / "rw-dir" / "data.txt").write_text("RwDirData\n")
    (root / "token").write_text("MountedTokenFile\n")

    inspect = inspect_lines(
        PROM_ID,
        "prom",
        "prom/prometheus:v2.53.2",
        entrypoint=["/bin/prometheus"],
        mounts=[bind(root / "prom.yml", "/etc/prometheus/prometheus.yml")],
        running=False,
    )
    inspect += inspect_lines(
        AM_ID,
        "am",
        "prom/alertmanager:v0.27.0",
        entrypoint=["/bin/alertmanager"],
        cmd=["--config.file=/config/alertmanager.yml", "--storage.path=/alertmanager"],
        mounts=[
            bind(root / "am", "/config"),
            {
                "Type": "volume",
                "Name": "am-data",
                "Source": "/var/lib/docker/volumes/am-data/_data",
                "Destination": "/alertmanager",
                "Driver": "local",
                "Mode": "z",
                "RW": True,
                "Propagation": "",
            },
        ],
        config={
            "hostname": "am-host",
            "domainname": "",
            "working_dir": "/alertmanager",
            "stop_signal": "SIGINT",
            "stop_timeout": 20,
            "exposed": {"9093/tcp": {}},
            "tty": False,
            "open_stdin": False,
        },
        host_config={
            "cap_add": ["NET_ADMIN"],
            "cap_drop": None,
            "privileged": False,
            "network_mode": "obs_monitoring",
            "log_type": "json-file",
            "extra_hosts": ["relay:10.0.0.7"],
            "ulimits": [{"Name": "nofile", "Hard": 65536, "Soft": 65536}],
            "tmpfs": {"/tmp": "size=64m"},
            "memory": 268435456,
            "pids_limit": 200,
        },
        log_options={
            "max-size": "10m",
            "splunk-token": "SplunkTok3n",
            "loki-url": "https://tenant:LokiUrlPw@loki.example/loki/api/v1/push",
        },
        networks={
            "obs_monitoring": {"aliases": ["alertmanager", "am", "2222"], "ipv4": "172.20.0.9"},
            "bridge": {"aliases": None, "ipv4": ""},
        },
        running=False,
    )
    inspect += inspect_lines(
        PG_ID,
        "pg",
        "prom/pushgateway:v1.9.0",
        entrypoint=["/bin/pushgateway"],
        cmd=["--web.config.file=/etc/pg/web.yml"],
        running=False,
    )
    inspect += inspect_lines(
        APP_ID,
        "app",
        "example/app:1",
        image_id=APP_IMAGE,
        mounts=[
            bind(root / "app.conf", "/etc/app/app.conf", rw=True),  # a single file: read
            bind(root / "ro-dir", "/etc/app/conf.d"),  # a read-only folder: read
            bind(root / "rw-dir", "/data", rw=True),  # a writable folder: data, not read
            bind(root / "token", "/run/secrets/token"),  # a secret: fingerprint only
        ],
        running=False,
    )
    images = image_lines(IMAGE_ID, repo_digests=["prom/x@sha256:1"], repo_tags=["prom/x:1"])
    images += image_lines(
        APP_IMAGE,
        repo_digests=[],
        repo_tags=["example/app:1"],
        user="nobody",
        working_dir="/srv",
        exposed={"8080/tcp": {}},
        labels={"org.opencontainers.image.title": "app"},
        volumes={"/data": {}},
        stop_signal="SIGTERM",
        env=["PATH=/usr/bin:/bin", "IMAGE_TOKEN=ImgEnvSecret"],
        entrypoint=["/bin/app"],
        cmd=["--web.password=ImgFlagSecret", "-u", "admin:ImgUserPw", "--listen=:8080"],
    )
    bin_dir = tool_dir(root, busybox=request.param == "busybox")
    fake_docker(
        bin_dir,
        {
            "version --format": "24.0.0\n",
            "compose version": "2.20.0\n",
            "ps -a": ps_lines(PROM_ID, AM_ID, PG_ID, APP_ID),
            "inspect --type": inspect,
            "image inspect": images,
            "volume ls": "",
            "network ls": "",
        },
        copies={f"{PROM_ID}:/etc/prometheus": seen_prom, f"{AM_ID}:/config": root / "am"},
    )
    inv = probe(bin_dir).inventory
    return {"inv": inv, "root": root}


def container(host: Any, name: str) -> Container:
    inv: Inventory = host["inv"]
    return next(c for c in inv.containers if c.name == name)


@pytest.mark.parametrize("secret", SECRETS)
def test_no_secret_reaches_the_inventory(host: Any, secret: str) -> None:
    assert secret not in json.dumps(host["inv"].to_json())


def test_config_and_host_config_come_as_docker_says(host: Any) -> None:
    am = container(host, "am")
    assert am.config["hostname"] == "am-host"
    assert am.config["stop_timeout"] == 20
    assert am.config["exposed"] == {"9093/tcp": {}}
    assert am.host_config["cap_add"] == ["NET_ADMIN"]
    assert am.host_config["extra_hosts"] == ["relay:10.0.0.7"]
    assert am.host_config["ulimits"] == [{"Name": "nofile", "Hard": 65536, "Soft": 65536}]
    assert am.host_config["tmpfs"] == {"/tmp": "size=64m"}
    assert am.host_config["pids_limit"] == 200


def test_log_options_are_redacted_like_labels(host: Any) -> None:
    assert container(host, "am").log_options == {
        "loki-url": f"https://tenant:{marker('LokiUrlPw')}@loki.example/loki/api/v1/push",
        "max-size": "10m",
        "splunk-token": marker("SplunkTok3n"),
    }


def test_network_aliases_and_addresses(host: Any) -> None:
    am = container(host, "am")
    assert am.networks == (
        Attachment("bridge"),
        Attachment("obs_monitoring", ("2222", "alertmanager", "am"), "172.20.0.9"),
    )
    assert am.network_names == ["bridge", "obs_monitoring"]


def test_mounts_keep_their_flags_and_propagation(host: Any) -> None:
    am = container(host, "am")
    assert am.mounts == (
        Mount("volume", "/var/lib/docker/volumes/am-data/_data", "/alertmanager", True, "am-data"),
        Mount("bind", str(host["root"] / "am"), "/config", False, propagation="rprivate"),
    )
    assert container(host, "app").mount_at("/data/") == Mount(
        "bind", str(host["root"] / "rw-dir"), "/data", True, propagation="rprivate"
    )


def test_image_defaults_with_their_secrets_redacted(host: Any) -> None:
    inv: Inventory = host["inv"]
    assert inv.images[APP_IMAGE] == Image(
        id=APP_IMAGE,
        repo_digests=(),
        repo_tags=("example/app:1",),
        env={"IMAGE_TOKEN": marker("ImgEnvSecret"), "PATH": "/usr/bin:/bin"},
        user="nobody",
        working_dir="/srv",
        exposed=("8080/tcp",),
        labels={"org.opencontainers.image.title": "app"},
        volumes=("/data",),
        entrypoint=("/bin/app",),
        cmd=(
            f"--web.password={marker('ImgFlagSecret')}",
            "-u",
            f"admin:{marker('ImgUserPw')}",
            "--listen=:8080",
        ),
        stop_signal="SIGTERM",
    )
    app = container(host, "app")
    assert inv.image_of(app).user == "nobody"
    assert container(host, "am").repo_digests == ("prom/x@sha256:1",)


def test_known_services_config_folders_are_copied_out_of_the_containers(host: Any) -> None:
    root: Path = host["root"]
    prom = host["inv"].config_files["prom"]
    # The config file came through its bind mount; the other file is the container's own.
    assert prom == {
        "/etc/prometheus/edited.yml": FileRecord(
            host_path="",
            sha256=hashlib.sha256(b"edited: inside\n").hexdigest(),
            size=len("edited: inside\n"),
            content="edited: inside\n",
            copied=True,
        ),
        "/etc/prometheus/prometheus.yml": FileRecord(
            host_path=str(root / "prom.yml"),
            sha256=hashlib.sha256(b"global:\n  scrape_interval: 15s\n").hexdigest(),
            size=len("global:\n  scrape_interval: 15s\n"),
            content="global:\n  scrape_interval: 15s\n",
            copied=True,
        ),
    }
    (path,) = host["inv"].config_files["am"]  # the data volume is not read
    am = host["inv"].config_files["am"][path]
    assert path == "/config/alertmanager.yml"
    assert am.copied is True
    assert am.host_path == str(root / "am" / "alertmanager.yml")
    assert am.content == AM_CONFIG.replace(
        "https://hooks.example/AmSlackHook", marker("https://hooks.example/AmSlackHook")
    )


def test_a_folder_that_cannot_be_copied_is_a_problem(host: Any) -> None:
    assert "pg" not in host["inv"].config_files
    (problem,) = [p for p in host["inv"].problems if p.startswith("pg: cannot copy")]
    assert problem.startswith("pg: cannot copy /etc/pg out of the container: ")
    assert "Could not find the file" in problem


def test_other_containers_mounted_files_and_read_only_folders(host: Any) -> None:
    """Another container's single bind-mounted files and read-only folders are its
    configuration: read (and redacted); a writable folder is data and is never read."""
    root: Path = host["root"]
    files = host["inv"].config_files["app"]
    assert sorted(files) == ["/etc/app/app.conf", "/etc/app/conf.d/x.yml", "/run/secrets/token"]
    assert files["/etc/app/app.conf"].content == f"password: {marker('AppConfPw')}\nlisten: :8080\n"
    assert files["/etc/app/app.conf"].host_path == str(root / "app.conf")
    assert files["/etc/app/app.conf"].copied is False
    assert files["/etc/app/conf.d/x.yml"].content == f"token: {marker('RoDirToken')}\nname: x\n"
    token = files["/run/secrets/token"]
    assert (token.content, token.error) == (None, SECRET_FILE)
    assert token.sha256 == hashlib.sha256(b"MountedTokenFile\n").hexdigest()
