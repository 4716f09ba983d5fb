"""A real OpenSSH server on 127.0.0.1 for the transport tests.

``TestSshd`` generates its own host and client keys, starts ``/usr/sbin/sshd`` on a free port
with no system config (``-f /dev/null``), and writes an ssh config (``Host vonnegut``) and a
known_hosts file that a client can use as they are. sshd logs one "Starting session" line per
exec or SFTP session at LogLevel VERBOSE: ``count_sessions()`` counts them, so tests can check
the round trips a transport claims against what the server saw.
"""

from __future__ import annotations

import shutil
import socket
import subprocess
import tempfile
import time
from pathlib import Path
from types import TracebackType

SSHD = Path("/usr/sbin/sshd")
ALIAS = "vonnegut"
_START_TIMEOUT = 10.0


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


def keygen(path: Path) -> str:
    """Write an ed25519 key pair at path (no passphrase); return the public key line."""
    subprocess.run(
        ["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", path.name, "-f", str(path)],
        check=True,
    )
    return path.with_suffix(".pub").read_text().strip()


def sshd_argv(
    *,
    listen: str,
    port: int,
    host_key: Path,
    authorized_keys: Path,
    pidfile: Path,
    log: Path,
    **extra: str,
) -> list[str]:
    """sshd in the foreground with no config file: key login only, as root, sftp inside."""
    options = {
        "ListenAddress": listen,
        "HostKey": str(host_key),
        "AuthorizedKeysFile": str(authorized_keys),
        "StrictModes": "no",
        "PidFile": str(pidfile),
        "Subsystem": "sftp internal-sftp",
        "LogLevel": "VERBOSE",
        "PermitRootLogin": "yes",
        "PasswordAuthentication": "no",
        "KbdInteractiveAuthentication": "no",
        "UsePAM": "no",
        **extra,
    }
    argv = [str(SSHD), "-D", "-f", "/dev/null", "-p", str(port), "-E", str(log)]
    for key, value in options.items():
        argv += ["-o", f"{key}={value}"]
    return argv


class TestSshd:
    """Context manager: a running sshd and the client files that reach it."""

    __test__ = False  # a helper, not a test class, despite its name

    def __init__(self, root: Path | None = None) -> None:
        self._own_root = root is None
        self.root = Path(tempfile.mkdtemp(prefix="observatory-sshd-")) if root is None else root
        self.port = free_port()
        self.host_key = self.root / "ssh_host_ed25519_key"
        self.client_key = self.root / "id_ed25519"
        self.authorized_keys = self.root / "authorized_keys"
        self.ssh_config = self.root / "ssh_config"
        self.known_hosts = self.root / "known_hosts"
        self.log = self.root / "sshd.log"
        self._pidfile = self.root / "sshd.pid"
        self._process: subprocess.Popen[bytes] | None = None

    @property
    def known_hosts_name(self) -> str:
        """How known_hosts names this server: OpenSSH's ``[host]:port`` for a non-22 port."""
        return f"[127.0.0.1]:{self.port}"

    def host_public_key(self) -> str:
        """``keytype base64`` of the server's host key."""
        kind, blob = self.host_key.with_suffix(".pub").read_text().split()[:2]
        return f"{kind} {blob}"

    def start(self) -> TestSshd:
        self.root.mkdir(parents=True, exist_ok=True)
        Path("/run/sshd").mkdir(parents=True, exist_ok=True)  # sshd's privilege separation dir
        keygen(self.host_key)
        self.authorized_keys.write_text(keygen(self.client_key) + "\n")
        self._process = subprocess.Popen(self._argv(), stdin=subprocess.DEVNULL)
        self._wait_until_listening()
        self._write_client_files()
        return self

    def _argv(self) -> list[str]:
        return sshd_argv(
            listen="127.0.0.1",
            port=self.port,
            host_key=self.host_key,
            authorized_keys=self.authorized_keys,
            pidfile=self._pidfile,
            log=self.log,
        )

    def _wait_until_listening(self) -> None:
        deadline = time.monotonic() + _START_TIMEOUT
        while time.monotonic() < deadline:
            assert self._process is not None
            if self._process.poll() is not None:
                raise RuntimeError(f"sshd exited early:\n{self.log_text()}")
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=0.5):
                    return
            except OSError:
                time.sleep(0.05)
        raise RuntimeError(f"sshd did not listen on {self.port}:\n{self.log_text()}")

    def _write_client_files(self) -> None:
        self.ssh_config.write_text(
            f"Host {ALIAS}\n"
            f"    HostName 127.0.0.1\n"
            f"    Port {self.port}\n"
            f"    User root\n"
            f"    IdentityFile {self.client_key}\n"
            f"    IdentitiesOnly yes\n"
        )
        self.known_hosts.write_text(f"{self.known_hosts_name} {self.host_public_key()}\n")

    def log_text(self) -> str:
        return self.log.read_text(errors="replace") if self.log.exists() else ""

    def count_sessions(self) -> int:
        """Sessions the server started so far: one per exec and one per SFTP session."""
        return self.log_text().count("Starting session")

    def wait_for_sessions(self, expected: int, timeout: float = 5.0) -> int:
        """count_sessions(), once it reaches expected (sshd logs asynchronously) or times out."""
        deadline = time.monotonic() + timeout
        count = self.count_sessions()
        while count < expected and time.monotonic() < deadline:
            time.sleep(0.02)
            count = self.count_sessions()
        return count

    def session_pids(self) -> list[int]:
        """The processes of this server that serve connections (children of its listener,
        and theirs, that are sshd themselves): killing them drops the connections."""
        assert self._process is not None, "not started"
        parents: dict[int, int] = {}
        names: dict[int, bytes] = {}
        for entry in Path("/proc").iterdir():
            if not entry.name.isdigit():
                continue
            try:
                fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
                names[int(entry.name)] = (entry / "cmdline").read_bytes()
            except OSError:  # gone meanwhile
                continue
            parents[int(entry.name)] = int(fields[1])
        found: list[int] = []
        frontier = {self._process.pid}
        while frontier:
            children = {pid for pid, ppid in parents.items() if ppid in frontier}
            found += [pid for pid in children if names.get(pid, b"").startswith(b"sshd")]
            frontier = children
        return sorted(found)

    def stop(self) -> None:
        if self._process is not None:
            self._process.terminate()
            try:
                self._process.wait(timeout=5)
            except subprocess.TimeoutExpired:
                self._process.kill()
                self._process.wait()
            self._process = None
        if self._own_root:
            shutil.rmtree(self.root, ignore_errors=True)

    def __enter__(self) -> TestSshd:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()


if __name__ == "__main__":  # pragma: no cover - manual use: start one and look at it
    with TestSshd() as server:
        print(f"ssh -F {server.ssh_config} -o UserKnownHostsFile={server.known_hosts} {ALIAS}")
        print(f"log: {server.log}  (Ctrl-C stops it)")
        try:
            while True:
                time.sleep(1)
        except KeyboardInterrupt:
            pass
