"""A running Pushgateway read back (kinds/pushgateway/read.py): persistence, admin API, auth."""

from __future__ import annotations

from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from beast_observatory.discover.export import export_spec
from bundles import render, spec_data, stack_of
from inventory_builder import BCRYPT, container, inventory
from roundtrip import differences, exported_services, read_back


@settings(max_examples=25, deadline=None)
@given(
    persistence=st.fixed_dictionaries(
        {"enabled": st.booleans()},
        optional={
            "interval": st.sampled_from(["1m", "5m"]),
            "file": st.just("/pushgateway/metrics.db"),
        },
    ),
    admin=st.booleans(),
    auth=st.none() | st.just({"username": "ci", "password_hash": BCRYPT}),
    port=st.integers(9000, 9999),
)
def test_render_then_read_gives_the_pushgateway_section_back(
    persistence: dict[str, Any], admin: bool, auth: dict[str, Any] | None, port: int
) -> None:
    data = spec_data(
        {
            "pushgateway": {
                "persistence": persistence,
                "admin_api": admin,
                "web_auth": auth,
                "container_port": port,
                "extra_flags": ["--log.level=debug"],
            },
            "grafana": {"enabled": False},
        }
    )
    bundle = render(data)
    back = exported_services(read_back(bundle)).pushgateway
    original = stack_of(data).services.pushgateway
    assert back.persistence.enabled == original.persistence.enabled
    if original.persistence.enabled:
        assert back.persistence == original.persistence
    for field in ("admin_api", "web_auth", "container_port", "extra_flags"):
        assert getattr(back, field) == getattr(original, field), field
    # The default data volume comes back by its name.
    assert back.data is not None
    assert back.data.volume == "pushgateway-data"
    assert differences(bundle) == {}


def test_the_persistence_file_on_its_own_volume_is_the_data_store() -> None:
    pg = container(
        "pushgateway",
        "prom/pushgateway",
        cmd=["--persistence.file=/data/pg.db", "--persistence.interval=2m"],
        mounts=[],
    )
    result = export_spec(inventory(container("prometheus", "prom/prometheus"), pg))
    back = exported_services(result).pushgateway
    assert back.persistence.file == "/data/pg.db"
    assert back.persistence.interval == "2m"
    # The file's folder is in the container's own layer: said, and no data volume invented.
    assert back.data is None
    assert any("its data (/data) is in the container's own layer" in n for n in result.notes)
