"""The rest of a container's compose service read from docker inspect (kinds/identity.py):
what the author set, not docker's defaults nor the image's own settings."""

from __future__ import annotations

import pytest

from beast_observatory.discover.context import ExportContext
from beast_observatory.host.probe.inventory import Image
from beast_observatory.kinds.identity import identity, memory
from inventory_builder import container, inventory


@pytest.mark.parametrize(
    ("size", "text"),
    [(512 * 1024**2, "512m"), (2 * 1024**3, "2g"), (64 * 1024, "64k"), (1000, "1000b")],
)
def test_sizes_as_compose_writes_them(size: int, text: str) -> None:
    assert memory(size) == text


def read(**fields: object) -> dict[str, object]:
    c = container("app", "app:1", **fields)  # type: ignore[arg-type]
    image = Image(
        c.image_id,
        user="app",
        working_dir="/srv",
        stop_signal="SIGQUIT",
        labels={"org.opencontainers.image.title": "app"},
        exposed=("8080/tcp",),
    )
    inv = inventory(c, images=[image])
    return identity(ExportContext(inv, "beast", [c]), c, entrypoint=False)


def test_docker_defaults_and_the_images_settings_are_left_out() -> None:
    assert (
        read(
            user="app",
            config={
                "working_dir": "/srv",
                "stop_signal": "SIGQUIT",
                "hostname": container("app", "app:1").id[:12],  # docker's: the container's id
                "exposed": {"8080/tcp": {}},
            },
            host_config={
                "shm_size": 64 * 1024 * 1024,
                "ipc_mode": "private",
                "pid_mode": "",
                "log_type": "json-file",
            },
            labels={"org.opencontainers.image.title": "app", "com.docker.compose.config-hash": "x"},
        )
        == {}
    )


def test_what_the_author_set_is_carried() -> None:
    out = read(
        container_name="app-main",
        user="0",
        config={"hostname": "app", "exposed": {"9000/udp": {}}},
        host_config={
            "shm_size": 256 * 1024 * 1024,
            "ulimits": [
                {"Name": "nofile", "Soft": 1024, "Hard": 4096},
                {"Name": "core", "Soft": 0, "Hard": 0},
            ],
            "devices": [
                {
                    "PathOnHost": "/dev/fuse",
                    "PathInContainer": "/dev/fuse",
                    "CgroupPermissions": "rwm",
                }
            ],
            "tmpfs": {"/run": "size=64m", "/tmp": ""},
            "ipc_mode": "host",
        },
        labels={"team": "web"},
    )
    assert out == {
        "container_name": "app-main",
        "hostname": "app",
        "user": "0",
        "ipc": "host",
        "tmpfs": ["/run:size=64m", "/tmp"],
        "shm_size": "256m",
        "devices": ["/dev/fuse:/dev/fuse"],
        "ulimits": {"nofile": {"soft": 1024, "hard": 4096}, "core": 0},
        "labels": {"team": "web"},
        "expose": ["9000/udp"],
    }
