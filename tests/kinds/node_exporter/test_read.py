"""A running node-exporter read back (kinds/node_exporter/read.py): its layout and flags."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from bundles import render, spec_data, stack_of
from roundtrip import differences, exported_services, read_back


@settings(max_examples=20, deadline=None)
@given(
    root=st.sampled_from(["/host", "/rootfs", None]),
    flags=st.lists(st.sampled_from(["--collector.systemd", "--no-collector.wifi"]), unique=True),
)
def test_render_then_read_gives_the_node_exporter_section_back(
    root: str | None, flags: list[str]
) -> None:
    data = spec_data({"node_exporter": {"enabled": True, "host_root": root, "extra_flags": flags}})
    bundle = render(data)
    back = exported_services(read_back(bundle)).node_exporter
    original = stack_of(data).services.node_exporter
    assert (back.enabled, back.host_root, back.extra_flags) == (True, root, flags)
    assert back.port == original.port
    assert differences(bundle) == {}
