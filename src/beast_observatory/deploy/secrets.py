"""``observatory secrets``: the secrets a stack reads from its host's .env, set and listed
without anyone opening a shell there (IO through a Transport).

A value travels only on the stdin of one command on the host (never in an argument, a log or
a plan) and lands in ``<deploy_dir>/.env`` (mode 0600, replaced by rename, under the host
lock). Listing reads the names in .env, never the values.
"""

from __future__ import annotations

import posixpath
import re
from dataclasses import dataclass

from beast_observatory.bundle.bundle import Bundle
from beast_observatory.deploy.operations import StackView
from beast_observatory.deploy.target import Placement
from beast_observatory.errors import ObservatoryError
from beast_observatory.host.lock import HostLock
from beast_observatory.host.shell import deploy_script
from beast_observatory.host.transport.base import Transport
from beast_observatory.names import ENV_FILE

NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
SECRET_NAMES = deploy_script("secret-names.sh")
SECRET_SET = deploy_script("secret-set.sh")


@dataclass(frozen=True)
class SecretState:
    name: str
    needed: bool  # the spec reads it (.env.example lists it)
    on_host: bool


def env_path(placement: Placement) -> str:
    return posixpath.join(placement.directory, ENV_FILE)


def names_on_host(transport: Transport, placement: Placement) -> set[str]:
    result = transport.run(SECRET_NAMES.argv(env_path(placement)))
    if not result.ok:
        raise ObservatoryError(
            f"cannot read the names in {env_path(placement)} on {placement.where}: "
            + result.stderr.decode("utf-8", "replace").strip()[-300:]
        )
    return set(result.text.split())


def list_secrets(transport: Transport, placement: Placement, bundle: Bundle) -> list[SecretState]:
    needed = set(StackView.of(bundle).secret_variables)
    present = names_on_host(transport, placement)
    return [SecretState(name, name in needed, name in present) for name in sorted(needed | present)]


def set_secret(
    transport: Transport, placement: Placement, bundle: Bundle, name: str, value: str
) -> None:
    if not NAME.match(name):
        raise ObservatoryError(
            f"{name!r} is not a variable name", hint="use letters, digits and _, e.g. SMTP_PASSWORD"
        )
    needed = set(StackView.of(bundle).secret_variables)
    if name not in needed:
        known = ", ".join(sorted(needed)) or "none"
        raise ObservatoryError(
            f"environment {bundle.environment} does not read {name} from .env",
            hint=f"the spec reads: {known} (see generated/{bundle.environment}/.env.example)",
        )
    with HostLock(transport, placement.lock_path) as host:
        result = host.run(SECRET_SET.argv(env_path(placement), name), stdin=value.encode())
    if not result.ok:
        raise ObservatoryError(
            f"{name} was not set in {env_path(placement)} on {placement.where}: "
            + result.stderr.decode("utf-8", "replace").strip()[-300:],
            hint="the .env on the host was not changed",
        )
