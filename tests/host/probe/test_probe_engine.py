"""The probe against a real Docker engine: what docker inspect, docker cp and docker exec
really answer for containers made here.

Two containers: a Prometheus whose config folder is the image's own, with prometheus.yml
bind-mounted into it and a file edited inside the container (read through docker cp), and
another container with a bind-mounted file, a read-only folder and a writable folder (which
must not be read). The engine's other containers are none of this test's business: a `docker`
first on PATH lists only this test's containers (by label) and hands every other command to
the real one. Needs the engine and the test images of scripts/ci-setup.sh: without them this
test fails, it is never skipped.
"""

from __future__ import annotations

import hashlib
import json
import os
import secrets
import shutil
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from beast_observatory.host.probe.inventory import Container, Inventory
from beast_observatory.host.probe.run import run_probe
from beast_observatory.host.transport.local import LocalTransport
from e2e.docker_env import TEST_IMAGES, docker_available, missing_test_images

pytestmark = pytest.mark.e2e

PREFIX = "probe-split-test-"
LABEL = "org.beast-observatory.probe-test"
PROMETHEUS_YML = "global:\n  scrape_interval: 17s\n"
APP_CONF = "password: EngineConfPw\nlisten: :8080\n"
SECRETS = ["EngineConfPw", "EngineEnvPw", "EngineRwData", "EngineRoPw"]


def marker(value: str) -> str:
    return f"<redacted sha256:{hashlib.sha256(value.encode()).hexdigest()[:12]}>"


def docker(*args: str, check: bool = True) -> str:
    done = subprocess.run(
        ["docker", *args], capture_output=True, text=True, timeout=120, check=False
    )
    if check and done.returncode != 0:
        raise AssertionError(f"docker {' '.join(args)}: {done.stderr.strip()}")
    return done.stdout.strip()


def wait_ready(name: str, timeout: float = 60.0) -> None:
    """Until Prometheus answers inside its container (the probe asks it there)."""
    deadline = time.monotonic() + timeout
    while True:
        probe = ["exec", name, "wget", "-qO-", "http://127.0.0.1:9090/-/ready"]
        if subprocess.run(["docker", *probe], capture_output=True, check=False).returncode == 0:
            return
        if time.monotonic() > deadline:
            raise AssertionError(f"{name}: Prometheus not ready within {timeout:g}s")
        time.sleep(0.5)


def only_ours(bin_dir: Path, run_id: str) -> Path:
    """A `docker` that lists this test's containers only; the rest is the real docker."""
    real = shutil.which("docker")
    assert real is not None
    bin_dir.mkdir()
    wrapper = bin_dir / "docker"
    wrapper.write_text(
        "#!/bin/sh\n"
        'if [ "$1" = ps ]; then shift; '
        f'exec "{real}" ps --filter "label={LABEL}={run_id}" "$@"; fi\n'
        f'exec "{real}" "$@"\n'
    )
    wrapper.chmod(0o755)
    return bin_dir


@pytest.fixture(scope="module")
def engine(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    if not docker_available():
        pytest.fail("no Docker engine answers `docker info`: run scripts/ci-setup.sh")
    if missing := missing_test_images():
        pytest.fail(f"test images missing: {', '.join(missing)}: run scripts/ci-setup.sh")
    root = tmp_path_factory.mktemp("engine")
    root.chmod(0o755)  # the containers run as nobody
    (root / "prometheus.yml").write_text(PROMETHEUS_YML)
    (root / "app.conf").write_text(APP_CONF)
    (root / "ro").mkdir()
    (root / "ro" / "x.yml").write_text("token: EngineRoPw\nname: x\n")
    (root / "rw").mkdir()
    (root / "rw" / "data.txt").write_text("EngineRwData\n")
    for path in root.rglob("*"):
        path.chmod(0o755 if path.is_dir() else 0o644)

    run_id = f"{os.getpid()}-{secrets.token_hex(3)}"
    prom, app, net = (f"{PREFIX}{run_id}-{n}" for n in ("prometheus", "app", "net"))
    label = f"{LABEL}={run_id}"
    try:
        docker("network", "create", "--label", label, net)
        docker(
            "run", "-d", "--name", prom, "--label", label,
            "-v", f"{root / 'prometheus.yml'}:/etc/prometheus/prometheus.yml:ro",
            TEST_IMAGES["prometheus"],
        )  # fmt: skip
        docker(
            "run", "-d", "--name", app, "--label", label,
            "--network", net, "--network-alias", "web",
            "--hostname", "apphost", "--cap-add", "NET_ADMIN",
            "--add-host", "relay:10.0.0.7", "--log-opt", "max-size=1m",
            "-e", "APP_PASSWORD=EngineEnvPw",
            "-v", f"{root / 'app.conf'}:/etc/app/app.conf",
            "-v", f"{root / 'ro'}:/etc/app/conf.d:ro",
            "-v", f"{root / 'rw'}:/data",
            TEST_IMAGES["busybox"], "sleep", "600",
        )  # fmt: skip
        wait_ready(prom)
        # A file only the container has: docker cp reads it, no host path leads to it.
        docker("exec", prom, "sh", "-c", "printf 'edited: inside\\n' >/etc/prometheus/edited.yml")
        bin_dir = only_ours(root / "bin", run_id)
        run = run_probe(LocalTransport(), env={"PATH": f"{bin_dir}:{os.environ['PATH']}"})
        yield {"run": run, "inv": run.inventory, "root": root, "prom": prom, "app": app}
    finally:
        docker("rm", "-f", "-v", prom, app, check=False)
        docker("network", "rm", net, check=False)


def container(engine: dict[str, Any], key: str) -> Container:
    inv: Inventory = engine["inv"]
    return next(c for c in inv.containers if c.name == engine[key])


def test_only_this_tests_containers_in_one_round_trip(engine: dict[str, Any]) -> None:
    inv: Inventory = engine["inv"]
    assert sorted(c.name for c in inv.containers) == sorted([engine["prom"], engine["app"]])
    assert engine["run"].round_trips == 1
    assert inv.docker.available is True
    assert not [p for p in inv.problems if engine["prom"] in p or engine["app"] in p]


@pytest.mark.parametrize("secret", SECRETS)
def test_no_secret_leaves_the_host(engine: dict[str, Any], secret: str) -> None:
    assert secret not in json.dumps(engine["inv"].to_json())


def test_the_config_folder_is_copied_out_of_the_container(engine: dict[str, Any]) -> None:
    files = engine["inv"].config_files[engine["prom"]]
    config = files["/etc/prometheus/prometheus.yml"]
    assert (config.content, config.copied) == (PROMETHEUS_YML, True)
    assert config.host_path == str(engine["root"] / "prometheus.yml")  # its bind mount
    edited = files["/etc/prometheus/edited.yml"]
    assert (edited.content, edited.copied, edited.host_path) == ("edited: inside\n", True, "")


def test_the_api_is_asked_inside_the_container(engine: dict[str, Any]) -> None:
    """No port is published: the probe asks with the container's own wget."""
    answers = engine["inv"].apis[engine["prom"]]
    assert answers["/api/v1/status/buildinfo"].status == 200
    assert answers["/api/v1/status/config"].body["data"]["yaml"].startswith("global:")


def test_another_containers_file_and_read_only_folder_not_its_writable_one(
    engine: dict[str, Any],
) -> None:
    files = engine["inv"].config_files[engine["app"]]
    assert sorted(files) == ["/etc/app/app.conf", "/etc/app/conf.d/x.yml"]
    app_conf = files["/etc/app/app.conf"]
    assert app_conf.content == APP_CONF.replace("EngineConfPw", marker("EngineConfPw"))
    assert (app_conf.host_path, app_conf.copied) == (str(engine["root"] / "app.conf"), False)
    assert files["/etc/app/conf.d/x.yml"].content == f"token: {marker('EngineRoPw')}\nname: x\n"


def test_what_docker_inspect_says_of_the_container(engine: dict[str, Any]) -> None:
    app = container(engine, "app")
    assert app.env["APP_PASSWORD"] == marker("EngineEnvPw")
    assert app.config["hostname"] == "apphost"
    # Docker 20.10 says CAP_NET_ADMIN, later engines NET_ADMIN as given.
    assert [c.removeprefix("CAP_") for c in app.host_config["cap_add"]] == ["NET_ADMIN"]
    assert app.host_config["extra_hosts"] == ["relay:10.0.0.7"]
    assert app.log_options == {"max-size": "1m"}
    (attachment,) = app.networks
    assert "web" in attachment.aliases
    data = app.mount_at("/data")
    ro = app.mount_at("/etc/app/conf.d")
    assert data is not None
    assert ro is not None
    assert (data.rw, ro.rw) == (True, False)
    assert data.propagation == "rprivate"


def test_the_images_defaults(engine: dict[str, Any]) -> None:
    prom = container(engine, "prom")
    image = engine["inv"].image_of(prom)
    assert image.user == "nobody"
    assert image.exposed == ("9090/tcp",)
    assert image.volumes == ("/prometheus",)
    assert image.entrypoint == ("/bin/prometheus",)
    assert image.cmd == (
        "--config.file=/etc/prometheus/prometheus.yml",
        "--storage.tsdb.path=/prometheus",
    )
    assert image.labels["org.beast-observatory.test"] == "1"
    assert "PATH" in image.env
