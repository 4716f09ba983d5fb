"""Per-environment view of a spec: overrides deep-merged onto ``services`` (pure)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from beast_observatory.spec.models import Environment, Network, Services, Spec

DEFAULT_DEPLOY_ROOT = "/opt/observatory"


@dataclass(frozen=True)
class Stack:
    """Everything one environment runs: the input of the renderers."""

    project: str
    env_name: str
    environment: Environment
    services: Services
    networks: Mapping[str, Network]

    @property
    def is_remote(self) -> bool:
        return self.environment.ssh is not None

    @property
    def deploy_dir(self) -> str:
        return self.environment.deploy_dir or f"{DEFAULT_DEPLOY_ROOT}/{self.project}"


def deep_merge(base: Any, override: Any) -> Any:
    """Mappings merge key by key; anything else (lists included) is replaced by the override."""
    if isinstance(base, Mapping) and isinstance(override, Mapping):
        merged = dict(base)
        for key, value in override.items():
            merged[key] = deep_merge(base[key], value) if key in base else value
        return merged
    return override


def merged_services_data(spec: Spec, env_name: str) -> dict[str, Any]:
    """The services section of env_name as plain data, before validation."""
    base = spec.services.model_dump(by_alias=True, exclude_unset=False)
    overrides = spec.environments[env_name].services
    merged: dict[str, Any] = deep_merge(base, overrides)
    return merged


def resolve(spec: Spec, env_name: str) -> Stack:
    """The stack of one environment; raises pydantic.ValidationError on a bad override."""
    environment = spec.environments[env_name]
    services = Services.model_validate(merged_services_data(spec, env_name))
    return Stack(
        project=spec.project,
        env_name=env_name,
        environment=environment,
        services=services,
        networks=dict(sorted(spec.networks.items())),
    )
