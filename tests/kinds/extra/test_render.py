"""Extra services (kinds/extra/render.py): the compose fragment as written, shipped files
under files/, and the tool's labels."""

from __future__ import annotations

from typing import Any

from beast_observatory.yamlio import load_yaml
from bundles import render, spec_data


def rendered(
    fragment: dict[str, Any], assets: dict[str, bytes] | None = None
) -> tuple[dict[str, Any], dict[str, bytes]]:
    bundle = render(spec_data({"extra": {"web": fragment}}), assets)
    return load_yaml(bundle.files["docker-compose.yml"])["services"]["web"], dict(bundle.files)


def test_the_fragment_is_written_as_it_is_with_the_tools_labels() -> None:
    fragment = {
        "image": "nginx:1.27",
        "x-owner": "web-team",
        "depends_on": {"prometheus": {"condition": "service_healthy"}},
        "labels": ["team=web"],
        "networks": ["observatory"],
    }
    svc, _ = rendered(fragment)
    assert svc["x-owner"] == "web-team"
    assert svc["depends_on"] == fragment["depends_on"]
    assert svc["labels"]["team"] == "web"
    assert svc["labels"]["org.beast-observatory.service"] == "web"
    assert "org.beast-observatory.kind" not in svc["labels"]  # no known kind


def test_relative_sources_and_env_files_are_shipped_with_the_release() -> None:
    fragment = {
        "image": "nginx:1.27",
        "volumes": [
            "./nginx/nginx.conf:/etc/nginx/nginx.conf:ro",
            {"type": "bind", "source": "./site", "target": "/usr/share/nginx/html"},
            "/srv/logs:/var/log/nginx",
        ],
        "env_file": ["./web.env", {"path": "./more.env", "required": False}],
    }
    assets = {
        "nginx/nginx.conf": b"events {}\n",
        "site/index.html": b"<p>hi</p>\n",
        "web.env": b"MODE=web\n",
        "more.env": b"X=1\n",
    }
    svc, files = rendered(fragment, assets)
    assert svc["volumes"] == [
        "./files/nginx/nginx.conf:/etc/nginx/nginx.conf:ro",
        {"source": "./files/site", "target": "/usr/share/nginx/html", "type": "bind"},
        "/srv/logs:/var/log/nginx",
    ]
    assert svc["env_file"] == ["./files/web.env", {"path": "./files/more.env", "required": False}]
    assert {p: d for p, d in files.items() if p.startswith("files/")} == {
        f"files/{p}": d for p, d in assets.items()
    }
    before = svc["labels"]["org.beast-observatory.restart-hash"]
    again, _ = rendered(fragment, {**assets, "web.env": b"MODE=other\n"})
    assert again["labels"]["org.beast-observatory.restart-hash"] != before
