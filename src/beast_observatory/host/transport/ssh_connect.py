"""Connecting to a host over SSH: Fabric's Connection, made strict about host keys.

Fabric reads the ssh config (Host alias, HostName, User, Port, IdentityFile, ProxyJump); this
module adds what it lacks: known_hosts, our timeouts, and one clear error per way a connection
fails. Fabric and paramiko are imported inside functions, when a remote host is used.
"""

from __future__ import annotations

import logging
import socket
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any, cast

from beast_observatory.errors import TransportError
from beast_observatory.host.transport.base import HostTarget

if TYPE_CHECKING:
    from paramiko import MissingHostKeyPolicy, PKey, SSHClient

_SYSTEM_KNOWN_HOSTS = (Path("/etc/ssh/ssh_known_hosts"), Path("/etc/ssh/ssh_known_hosts2"))
_log = logging.getLogger(__name__)


def describe(connection: Any) -> str:
    """How messages name a host: its alias as the user typed it, and what it resolves to."""
    return f"{connection.original_host} ({connection.user}@{connection.host}:{connection.port})"


def fabric_connection(target: HostTarget) -> Any:
    from fabric import Config, Connection  # noqa: PLC0415 - heavy: only for remote hosts

    if target.ssh_config_path is not None and not target.ssh_config_path.is_file():
        raise TransportError(f"the ssh config file {target.ssh_config_path} does not exist")
    path = target.ssh_config_path
    config = Config() if path is None else Config(runtime_ssh_path=str(path))
    try:
        connection = Connection(target.host, user=target.user, port=target.port, config=config)
    except ValueError as exc:  # e.g. a user both in "user@host" and in --user
        raise TransportError(f"{target.host}: {exc}") from exc
    if target.identity_file is not None:
        # An explicit key replaces the ssh config's IdentityFile instead of adding to it.
        connection.connect_kwargs["key_filename"] = [str(target.identity_file.expanduser())]
    for hop in hops(connection):
        harden(hop, target, only_given_keys=hop is connection and bool(target.identity_file))
    return connection


def hops(connection: Any) -> Iterator[Any]:
    """The connection, then its ProxyJump gateways outward (Fabric nests them)."""
    hop = connection
    while hop is not None and not isinstance(hop, (str, bool)):
        yield hop
        hop = hop.gateway


def open_hop(hop: Any, target: HostTarget) -> None:
    try:
        hop.open()
    except Exception as exc:
        raise connect_error(exc, hop, target) from exc


# Host keys. Fabric's Connection sets AutoAddPolicy and never loads known_hosts, so it would
# trust any key, even a changed one (fabric/fabric#1804): every hop gets known_hosts and a
# policy that refuses unknown keys, or records them when trust-on-first-use was asked for.


class UnknownHostKeyError(Exception):
    """The host's key is in no known_hosts file (raised by the host key policy)."""

    def __init__(self, name: str, key: PKey) -> None:
        super().__init__(f"{name} is not in known_hosts")
        self.name = name
        self.key = key


class _HostKeyPolicy:
    """A paramiko MissingHostKeyPolicy; duck-typed, as paramiko only calls this method and a
    subclass would import paramiko with this module."""

    def __init__(self, record_into: Path | None) -> None:
        self._record_into = record_into

    def missing_host_key(self, client: SSHClient, hostname: str, key: PKey) -> None:
        if self._record_into is None:
            raise UnknownHostKeyError(hostname, key)
        record_host_key(self._record_into, hostname, key)
        client.get_host_keys().add(hostname, key.get_name(), key)
        _log.warning("recorded the new host key of %s in %s", hostname, self._record_into)


def harden(hop: Any, target: HostTarget, *, only_given_keys: bool) -> None:
    """Strict host keys and our timeouts for one Fabric connection (a target or a jump host)."""
    user_file = user_known_hosts(hop, target)
    keys = hop.client.get_host_keys()
    for path in (*_SYSTEM_KNOWN_HOSTS, user_file):
        try:
            if path.is_file():
                keys.load(str(path))
        except OSError as exc:
            raise TransportError(f"cannot read the known_hosts file {path}: {exc}") from exc
    policy = _HostKeyPolicy(user_file if target.accept_new_host_key else None)
    hop.client.set_missing_host_key_policy(cast("MissingHostKeyPolicy", policy))
    timeout = target.connect_timeout
    hop.connect_timeout = timeout  # Fabric's own ConnectTimeout handling truncates to an int
    kwargs = {**hop.connect_kwargs, "banner_timeout": timeout, "auth_timeout": timeout}
    # Without it a ProxyJump channel waits up to paramiko's default of an hour.
    kwargs["channel_timeout"] = timeout
    if only_given_keys or hop.ssh_config.get("identitiesonly", "").lower() == "yes":
        kwargs.update(look_for_keys=False, allow_agent=False)
    hop.connect_kwargs = kwargs


def user_known_hosts(hop: Any, target: HostTarget) -> Path:
    """The known_hosts file that is read with the system one, and that accept-new appends to."""
    if target.known_hosts_path is not None:
        return target.known_hosts_path
    configured = hop.ssh_config.get("userknownhostsfile", "").split()
    return Path(configured[0] if configured else "~/.ssh/known_hosts").expanduser()


def known_hosts_name(host: str, port: int) -> str:
    """How known_hosts names a host: ``[host]:port`` for any port but 22 (as ssh does)."""
    return host if int(port) == 22 else f"[{host}]:{port}"  # noqa: PLR2004 - the SSH port


def record_host_key(path: Path, name: str, key: PKey) -> None:
    """Append one known_hosts line, as ssh's StrictHostKeyChecking=accept-new does."""
    path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    text = path.read_text() if path.exists() else ""
    separator = "\n" if text and not text.endswith("\n") else ""
    with path.open("a") as handle:
        handle.write(f"{separator}{name} {key.get_name()} {key.get_base64()}\n")


# Connection failures: one paragraph each, naming the host and what to do.


def connect_error(exc: Exception, hop: Any, target: HostTarget) -> TransportError:
    """The user-facing error for an exception raised while connecting to one hop."""
    where = describe(hop)
    explained = (
        _host_key_error(exc, where, hop, target)
        or _auth_error(exc, where, hop)
        or _network_error(exc, where, hop, target)
    )
    return explained or TransportError(f"{where}: the SSH connection failed: {exc}")


def _host_key_error(
    exc: Exception, where: str, hop: Any, target: HostTarget
) -> TransportError | None:
    from paramiko import BadHostKeyException  # noqa: PLC0415 - heavy: only for remote hosts

    if isinstance(exc, UnknownHostKeyError):
        return _unknown_host_key(exc, where, user_known_hosts(hop, target))
    if isinstance(exc, BadHostKeyException):
        name = known_hosts_name(hop.host, hop.port)
        return _changed_host_key(exc, where, name, user_known_hosts(hop, target))
    return None


def _network_error(
    exc: Exception, where: str, hop: Any, target: HostTarget
) -> TransportError | None:
    from paramiko import ChannelException  # noqa: PLC0415 - heavy: only for remote hosts

    if _is_timeout(exc):
        return TransportError(
            f"{where}: no SSH answer from {hop.host}:{hop.port} within {target.connect_timeout:g}s",
            hint="check that the host is up, that the port is right and that no firewall "
            "drops the traffic; a slow link needs a longer connect timeout",
        )
    if isinstance(exc, ChannelException):
        return TransportError(
            f"{where}: the jump host could not connect to {hop.host}:{hop.port}: {exc}",
            hint="check the HostName and Port as the jump host sees them (ProxyJump)",
        )
    if isinstance(exc, OSError):
        return _socket_error(exc, where, hop)
    return None


def _unknown_host_key(exc: UnknownHostKeyError, where: str, user_file: Path) -> TransportError:
    return TransportError(
        f"{where}: the host's key ({exc.key.get_name()} {exc.key.fingerprint}) is not in "
        f"known_hosts, so it cannot be told apart from an impostor; refusing to connect",
        hint=f"compare the fingerprint with the one the host's administrator sees "
        f"(`ssh-keygen -lf /etc/ssh/ssh_host_*_key.pub` on the host), then record it by "
        f"connecting once with ssh, or trust it on first use with --accept-new-host-key "
        f"(it is then added to {user_file})",
    )


def _changed_host_key(exc: Any, where: str, name: str, user_file: Path) -> TransportError:
    return TransportError(
        f"{where}: the host key has CHANGED: the host offered {exc.key.get_name()} "
        f"{exc.key.fingerprint}, but known_hosts holds {exc.expected_key.fingerprint} for "
        f"{name}. Someone may be intercepting the connection (a man-in-the-middle attack), "
        f"or the host was reinstalled with new keys; refusing to connect",
        hint=f"find out which with the host's administrator; only if the change is expected, "
        f"remove the old key with `ssh-keygen -R '{name}' -f {user_file}` and connect again",
    )


def _auth_error(exc: Exception, where: str, hop: Any) -> TransportError | None:
    from paramiko import (  # noqa: PLC0415 - heavy: only for remote hosts
        AuthenticationException,
        PasswordRequiredException,
    )

    if not isinstance(exc, AuthenticationException):
        return None
    keys = ", ".join(hop.connect_kwargs.get("key_filename") or []) or "the default keys"
    if isinstance(exc, PasswordRequiredException):
        return TransportError(
            f"{where}: the private key is protected by a passphrase ({keys})",
            hint="load it into ssh-agent with ssh-add, then run the command again",
        )
    return TransportError(
        f"{where}: authentication failed: the host accepted none of the keys offered for "
        f"user {hop.user} ({keys})",
        hint="check User and IdentityFile in your ssh config (or --user / --identity-file), "
        "and that the public key is in that user's ~/.ssh/authorized_keys on the host",
    )


def _is_timeout(exc: Exception) -> bool:
    # paramiko reports a server that stays silent in one of two ways, whichever timer fires
    # first: SSHException("Error reading SSH protocol banner") raised while handling a socket
    # timeout, or, when the handshake wait gives up, SSHException("No existing session") from
    # asking for the host key of a handshake that never finished.
    return (
        isinstance(exc, TimeoutError)
        or isinstance(exc.__context__, TimeoutError)
        or str(exc) == "No existing session"
    )


def _socket_error(exc: OSError, where: str, hop: Any) -> TransportError:
    from paramiko.ssh_exception import (  # noqa: PLC0415 - heavy: only for remote hosts
        NoValidConnectionsError,
    )

    address = f"{hop.host}:{hop.port}"
    if isinstance(exc, socket.gaierror):
        return TransportError(
            f"{where}: cannot resolve the host name {hop.host!r}: {exc.strerror}",
            hint="check the spelling, the HostName in your ssh config and this machine's DNS",
        )
    causes = exc.errors.values() if isinstance(exc, NoValidConnectionsError) else [exc]
    if all(isinstance(cause, ConnectionRefusedError) for cause in causes):
        return TransportError(
            f"{where}: connection refused on {address}: nothing accepts SSH connections there",
            hint="check the Port in your ssh config and that sshd runs on the host",
        )
    return TransportError(
        f"{where}: cannot connect to {address}: {exc.strerror or exc}",
        hint="check the network path to the host",
    )
