"""Test hosts of our own: each a network namespace with its own Docker engine and its own
sshd, on a bridge of the test's (10.231.N.0/24, N the pytest-xdist worker) in the machine's
root namespace.

``TestHosts`` makes them and always takes them down again (engines stopped, namespaces and
links deleted, the forwarding rules removed, the engines' data deleted), including when a test
fails. Traffic only goes to the addresses made here and to loopback.

- ``nsenter --net=...`` starts dockerd and sshd inside a namespace (``ip netns exec`` would
  remount /sys, and dockerd then fails with "Devices cgroup isn't mounted");
- images reach an engine with ``docker save | docker -H ... load`` (no registry);
- each sshd is started with ``SetEnv=DOCKER_HOST=...``, so ``docker`` over SSH answers from
  that host's own engine; one ssh config names every host (``Host fleet-a`` ...).
"""

from __future__ import annotations

import contextlib
import os
import shutil
import socket
import subprocess
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from host.sshd import keygen, sshd_argv

# One set a pytest-xdist worker (gw0, gw1 ...): workers' hosts never meet.
WORKER = int(os.environ.get("PYTEST_XDIST_WORKER", "gw0").removeprefix("gw") or 0)
SUBNET = f"10.231.{WORKER}"
BRIDGE = f"obst-br{WORKER}"
GATEWAY = f"{SUBNET}.1"
_PREFIX = f"obst{WORKER}-"  # namespaces, links and engine folders of this worker's hosts


def run(
    *argv: str, check: bool = True, timeout: float = 60, **kw: object
) -> subprocess.CompletedProcess[str]:
    done = subprocess.run(list(argv), capture_output=True, text=True, timeout=timeout, **kw)  # type: ignore[call-overload]
    if check and done.returncode != 0:
        raise RuntimeError(f"{' '.join(argv)}: {done.stderr.strip()}")
    return done  # type: ignore[no-any-return]


@dataclass
class TestHost:
    """One host: its namespace, address, engine and sshd."""

    __test__ = False

    name: str  # also its ssh alias
    index: int
    root: Path
    engine: subprocess.Popen[bytes] | None = None
    sshd: subprocess.Popen[bytes] | None = None

    @property
    def netns(self) -> str:
        return f"{_PREFIX}{self.name}"

    @property
    def address(self) -> str:
        return f"{SUBNET}.{self.index}"

    @property
    def socket(self) -> str:
        return f"/run/{_PREFIX}{self.name}.sock"

    @property
    def docker_host(self) -> str:
        return f"unix://{self.socket}"

    @property
    def data_root(self) -> Path:
        return Path(f"/var/lib/{_PREFIX}docker-{self.name}")

    def docker(
        self, *args: str, check: bool = True, timeout: float = 120
    ) -> subprocess.CompletedProcess[str]:
        return run("docker", "-H", self.docker_host, *args, check=check, timeout=timeout)

    def nsenter(self, *argv: str) -> list[str]:
        return ["nsenter", f"--net=/var/run/netns/{self.netns}", *argv]


@dataclass
class TestHosts:
    """Context manager: hosts named ``names``, reachable at 10.231.0.2, .3, ... over SSH."""

    __test__ = False

    names: Sequence[str]
    root: Path
    images: Sequence[str] = ()
    hosts: list[TestHost] = field(default_factory=list)
    ssh_config: Path = field(init=False)
    known_hosts: Path = field(init=False)
    client_key: Path = field(init=False)

    def __post_init__(self) -> None:
        self.ssh_config = self.root / "ssh_config"
        self.known_hosts = self.root / "known_hosts"
        self.client_key = self.root / "id_ed25519"

    def __enter__(self) -> TestHosts:
        cleanup_leftovers()
        self.root.mkdir(parents=True, exist_ok=True)
        try:
            self._network()
            authorized = self.root / "authorized_keys"
            authorized.write_text(keygen(self.client_key) + "\n")
            for i, name in enumerate(self.names, start=2):
                host = TestHost(name, i, self.root / name)
                self.hosts.append(host)
                self._namespace(host)
                self._engine(host)
                self._sshd(host, authorized)
            for host in self.hosts:
                self._wait_engine(host)
                for image in self.images:
                    self.load(host, image)
            self._client_files()
        except BaseException:
            self.__exit__(None, None, None)
            raise
        return self

    def __exit__(self, *exc: object) -> None:
        for host in self.hosts:
            for proc in (host.sshd, host.engine):
                if proc is not None and proc.poll() is None:
                    proc.terminate()
                    with contextlib.suppress(subprocess.TimeoutExpired):
                        proc.wait(timeout=20)
                    if proc.poll() is None:
                        proc.kill()
                        proc.wait()
        cleanup_leftovers()

    def host(self, name: str) -> TestHost:
        return next(h for h in self.hosts if h.name == name)

    # ------------------------------------------------------------------ making them

    def _network(self) -> None:
        run("ip", "link", "add", BRIDGE, "type", "bridge")
        run("ip", "addr", "add", f"{GATEWAY}/24", "dev", BRIDGE)
        run("ip", "link", "set", BRIDGE, "up")
        # The main engine's containers (a Prometheus scraping the fleet) reach the hosts
        # through the root namespace: Docker's FORWARD policy would drop that.
        for direction in ("-s", "-d"):
            run("iptables", "-I", "FORWARD", direction, f"{SUBNET}.0/24", "-j", "ACCEPT")

    def _namespace(self, host: TestHost) -> None:
        outer, inner = f"{_PREFIX}{host.name}-o"[:15], f"{_PREFIX}{host.name}-i"[:15]
        run("ip", "netns", "add", host.netns)
        run("ip", "link", "add", outer, "type", "veth", "peer", "name", inner)
        run("ip", "link", "set", inner, "netns", host.netns)
        run("ip", "link", "set", outer, "master", BRIDGE)
        run("ip", "link", "set", outer, "up")
        ns = ["ip", "netns", "exec", host.netns]
        run(*ns, "ip", "addr", "add", f"{host.address}/24", "dev", inner)
        run(*ns, "ip", "link", "set", inner, "up")
        run(*ns, "ip", "link", "set", "lo", "up")
        run(*ns, "ip", "route", "add", "default", "via", GATEWAY)

    def _engine(self, host: TestHost) -> None:
        host.root.mkdir(parents=True, exist_ok=True)
        log = (host.root / "dockerd.log").open("wb")
        argv = host.nsenter(
            "dockerd",
            "--data-root",
            str(host.data_root),
            "--exec-root",
            f"/run/{_PREFIX}docker-{host.name}",
            "-p",
            f"/run/{_PREFIX}docker-{host.name}.pid",
            "-H",
            host.docker_host,
            "--bip",
            f"172.{30 + host.index}.0.1/24",  # its own docker0, apart from the main engine's
        )
        host.engine = subprocess.Popen(argv, stdout=log, stderr=log, stdin=subprocess.DEVNULL)

    def _wait_engine(self, host: TestHost, timeout: float = 60) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if host.docker("info", check=False, timeout=10).returncode == 0:
                return
            if host.engine is not None and host.engine.poll() is not None:
                break
            time.sleep(0.5)
        log = (host.root / "dockerd.log").read_text(errors="replace")[-2000:]
        raise RuntimeError(f"{host.name}: its engine did not start:\n{log}")

    def _sshd(self, host: TestHost, authorized: Path) -> None:
        key = host.root / "ssh_host_ed25519_key"
        keygen(key)
        Path("/run/sshd").mkdir(parents=True, exist_ok=True)
        argv = sshd_argv(
            listen=host.address,
            port=22,
            host_key=key,
            authorized_keys=authorized,
            pidfile=host.root / "sshd.pid",
            log=host.root / "sshd.log",
            SetEnv=f"DOCKER_HOST={host.docker_host}",
        )
        host.sshd = subprocess.Popen(host.nsenter(*argv), stdin=subprocess.DEVNULL)
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            with (
                contextlib.suppress(OSError),
                socket.create_connection((host.address, 22), timeout=0.5),
            ):
                return
            time.sleep(0.1)
        raise RuntimeError(f"{host.name}: sshd did not listen on {host.address}:22")

    def load(self, host: TestHost, image: str) -> None:
        """An image of the main engine, into the host's engine (no registry here)."""
        save = subprocess.Popen(["docker", "save", image], stdout=subprocess.PIPE)
        loaded = subprocess.run(
            ["docker", "-H", host.docker_host, "load", "-q"],
            stdin=save.stdout,
            capture_output=True,
            text=True,
            timeout=300,
        )
        save.wait()
        if loaded.returncode != 0:
            raise RuntimeError(f"{host.name}: loading {image}: {loaded.stderr}")

    def _client_files(self) -> None:
        lines, known = [], []
        for host in self.hosts:
            lines += [
                f"Host {host.name}",
                f"    HostName {host.address}",
                "    User root",
                f"    IdentityFile {self.client_key}",
                "    IdentitiesOnly yes",
                "",
            ]
            kind, blob = (host.root / "ssh_host_ed25519_key.pub").read_text().split()[:2]
            known.append(f"{host.address} {kind} {blob}")
        self.ssh_config.write_text("\n".join(lines))
        self.known_hosts.write_text("\n".join(known) + "\n")

    # ------------------------------------------------------------------ in a test

    def stop_sshd(self, name: str) -> None:
        host = self.host(name)
        if host.sshd is not None:
            host.sshd.terminate()
            host.sshd.wait(timeout=10)
            host.sshd = None


def cleanup_leftovers() -> None:
    """Everything an earlier run of these tests left: engines, namespaces, links, rules."""
    for pidfile in Path("/run").glob(f"{_PREFIX}docker-*.pid"):
        with contextlib.suppress(ValueError, OSError):
            pid = int(pidfile.read_text().strip())
            os.kill(pid, 15)
            for _ in range(100):
                if not Path(f"/proc/{pid}").exists():
                    break
                time.sleep(0.2)
            else:
                os.kill(pid, 9)
        pidfile.unlink(missing_ok=True)
    for ns in run("ip", "netns", "list", check=False).stdout.split("\n"):
        name = ns.split(" ")[0]
        if name.startswith(_PREFIX):
            # sshd and anything else still inside
            for pid in run("ip", "netns", "pids", name, check=False).stdout.split():
                with contextlib.suppress(OSError):
                    os.kill(int(pid), 9)
            run("ip", "netns", "del", name, check=False)
    run("ip", "link", "del", BRIDGE, check=False)
    for direction in ("-s", "-d"):
        while (
            run(
                "iptables",
                "-D",
                "FORWARD",
                direction,
                f"{SUBNET}.0/24",
                "-j",
                "ACCEPT",
                check=False,
            ).returncode
            == 0
        ):
            pass
    for folder in Path("/var/lib").glob(f"{_PREFIX}docker-*"):
        # a stopped engine leaves mounts of its containers behind at times: unmount first
        with contextlib.suppress(OSError):
            mounts = Path("/proc/mounts").read_text().splitlines()
            for line in reversed(mounts):
                point = line.split()[1]
                if point.startswith(str(folder)):
                    run("umount", "-l", point, check=False)
        shutil.rmtree(folder, ignore_errors=True)
    for folder in Path("/run").glob(f"{_PREFIX}docker-*"):
        shutil.rmtree(folder, ignore_errors=True)


@contextlib.contextmanager
def running_hosts(
    names: Sequence[str], root: Path, images: Sequence[str] = ()
) -> Iterator[TestHosts]:
    with TestHosts(names, root, images) as hosts:
        yield hosts
