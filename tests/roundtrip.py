"""Render -> run -> read back: a bundle deployed on a host (as the probe reports it), exported
as a spec again, and that spec rendered once more."""

from __future__ import annotations

from typing import Any

import yaml

from beast_observatory.bundle.bundle import Bundle
from beast_observatory.discover.export import ExportResult, export_spec
from beast_observatory.plan.semantic import Changes, bundle_changes
from beast_observatory.spec.load import parse_spec
from beast_observatory.spec.models import Services
from beast_observatory.spec.resolve import resolve
from bundles import render
from inventory_builder import deployed


def read_back(bundle: Bundle, env: str = "local") -> ExportResult:
    """The spec `observatory export` writes for a host running bundle."""
    return export_spec(deployed(bundle), environment=env)


def exported_services(result: ExportResult, env: str = "local") -> Services:
    return resolve(parse_spec(result.spec_text, "exported.yaml"), env).services


def rerendered(result: ExportResult, env: str = "local") -> Bundle:
    data: dict[str, Any] = yaml.safe_load(result.spec_text)
    return render(data, result.files, env)


def differences(bundle: Bundle) -> Changes:
    """What a takeover of a host running bundle would change, in the services' words: the
    host read back and rendered again, against bundle (empty: nothing)."""
    again = rerendered(read_back(bundle))
    return bundle_changes(again.files, bundle.files)
