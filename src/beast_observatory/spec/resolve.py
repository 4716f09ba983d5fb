"""Per-environment view of a spec: overrides deep-merged onto ``services`` (pure)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from pydantic import BaseModel

from beast_observatory.kinds.model import KIND_NAMES, ServiceBase
from beast_observatory.spec.models import Choice, Environment, Network, Services, Spec, Volume

DEFAULT_DEPLOY_ROOT = "/opt/observatory"


@dataclass(frozen=True)
class Stack:
    """Everything one environment runs: the input of the renderers."""

    project: str
    env_name: str
    environment: Environment
    services: Services
    networks: Mapping[str, Network]
    volumes: Mapping[str, Volume]

    def kind(self, key: str) -> ServiceBase:
        """The service of a known kind (prometheus, grafana, node_exporter...)."""
        service: ServiceBase = getattr(self.services, key)
        return service

    def service_name(self, key: str) -> str:
        """The compose service name of a known kind."""
        return self.kind(key).service_name or KIND_NAMES[key]

    def enabled_kinds(self) -> list[str]:
        return [key for key in KIND_NAMES if self.kind(key).enabled]

    @property
    def is_remote(self) -> bool:
        return self.environment.ssh is not None

    @property
    def deploy_dir(self) -> str:
        return self.environment.deploy_dir or f"{DEFAULT_DEPLOY_ROOT}/{self.project}"


KeyPath = tuple[str, ...]


def deep_merge(
    base: Any, override: Any, whole: frozenset[KeyPath] = frozenset(), at: KeyPath = ()
) -> Any:
    """Mappings merge key by key; anything else (lists included), and the mappings at the
    paths in ``whole``, are replaced by the override."""
    if isinstance(base, Mapping) and isinstance(override, Mapping) and at not in whole:
        merged = dict(base)
        for key, value in override.items():
            merged[key] = deep_merge(base[key], value, whole, (*at, key)) if key in base else value
        return merged
    return override


def choice_paths(model: BaseModel, at: KeyPath = ()) -> frozenset[KeyPath]:
    """Paths (by alias) of every ``Choice`` inside model: overrides replace those whole."""
    found: set[KeyPath] = set()
    for name, info in type(model).model_fields.items():
        value, key = getattr(model, name), info.alias or name
        if isinstance(value, Choice):
            found.add((*at, key))
        elif isinstance(value, BaseModel):
            found |= choice_paths(value, (*at, key))
    return frozenset(found)


def merged_services_data(spec: Spec, env_name: str) -> dict[str, Any]:
    """The services section of env_name as plain data, before validation."""
    base = spec.services.model_dump(by_alias=True, exclude_unset=False)
    overrides = spec.environments[env_name].services
    merged: dict[str, Any] = deep_merge(base, overrides, choice_paths(spec.services))
    return merged


def _merged_section(
    models: Mapping[str, BaseModel], overrides: Mapping[str, Any], kind: type[BaseModel]
) -> dict[str, Any]:
    """Top-level networks or volumes of an environment: overrides deep-merged per entry."""
    base = {k: v.model_dump(exclude_unset=True) for k, v in models.items()}
    merged: dict[str, Any] = deep_merge(base, dict(overrides))
    return {k: kind.model_validate(v or {}) for k, v in sorted(merged.items())}


def resolve(spec: Spec, env_name: str) -> Stack:
    """The stack of one environment; raises pydantic.ValidationError on a bad override."""
    environment = spec.environments[env_name]
    services = Services.model_validate(merged_services_data(spec, env_name))
    return Stack(
        project=spec.project,
        env_name=env_name,
        environment=environment,
        services=services,
        networks=_merged_section(spec.networks, environment.networks, Network),
        volumes=_merged_section(spec.volumes, environment.volumes, Volume),
    )
