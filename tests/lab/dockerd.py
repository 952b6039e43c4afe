"""A private Docker engine for tests: real inspect JSON without Docker Hub or the host's daemon.

The lab starts its own ``dockerd`` (Debian package ``docker.io``) on a socket in
a fresh temporary folder, with its own data root, exec root, pid file and an
empty daemon config, no bridge and no iptables, so it touches nothing of the
host's Docker (and works where no other daemon runs). The runner image is
built without a registry: a root filesystem holding Debian's static busybox
(package ``busybox-static``) is ``docker import``-ed and tagged as the runner
image. Containers are created, and started only when a spec asks for it
(``ContainerSpec.start``, see ``tests/lab/containers.py``).

Pytest use: the session fixture ``docker_lab`` (re-exported by
``tests/conftest.py``). Tests that need it skip when the machine cannot run a
daemon (not root, dockerd missing) — except under ``CI=true``, where anything
missing is a failure. ``python -m tests.lab.dockerd`` starts the lab, prints
the socket and waits for Ctrl-C (for poking at it by hand).
"""

from __future__ import annotations

import io
import json
import os
import shutil
import signal
import subprocess
import sys
import tarfile
import tempfile
import time
from dataclasses import dataclass, field
from typing import Dict, List, Optional, Sequence

import pytest

RUNNER_IMAGE = "docker-public.packages.atlassian.com/sox/atlassian/bitbucket-pipelines-runner"
RUNNER_TAG = "1"
BUSYBOX = "/bin/busybox"
START_TIMEOUT = 30.0  # seconds for /_ping to answer
STOP_TIMEOUT = 20.0
API_TIMEOUT = 20  # per request
# dockerd 20.10 writes its "trust key" to /etc/docker/key.json unless daemon.json names another path;
# newer releases dropped the key and refuse the directive (then the lab starts without it).
_KEY_DIRECTIVE = "deprecated-key-path"


def log_tail(path: str, lines: int = 20) -> str:
    """The last lines of a server's log ("" when it cannot be read), for error messages."""
    try:
        with open(path, errors="replace") as fh:
            return "".join(fh.readlines()[-lines:])
    except OSError:
        return ""


class LabUnavailable(Exception):
    """This machine cannot run the lab (reason in the message)."""


def fail_or_skip(reason: str) -> None:
    if os.environ.get("CI", "").lower() == "true":
        pytest.fail(f"the Docker lab is required in CI: {reason}", pytrace=False)
    pytest.skip(f"Docker lab unavailable: {reason}")


@dataclass
class Lab:
    root: str
    process: subprocess.Popen
    socket: str
    log_path: str
    containers: Dict[str, str] = field(default_factory=dict)  # name -> id
    _client: object = None

    @property
    def base_url(self) -> str:
        return f"unix://{self.socket}"

    @property
    def client(self):
        """A docker-py DockerClient for this daemon only."""
        if self._client is None:
            import docker

            self._client = docker.DockerClient(base_url=self.base_url, version="auto", timeout=API_TIMEOUT)
        return self._client

    @property
    def api(self):
        return self.client.api

    def cli(self, *args: str, timeout: float = 30) -> subprocess.CompletedProcess:
        """Run the docker CLI against the lab (never the host's daemon or the user's config)."""
        docker = shutil.which("docker")
        if docker is None:
            raise LabUnavailable("the docker CLI is not installed")
        env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "HOME": self.root,
               "DOCKER_HOST": self.base_url, "DOCKER_CONFIG": os.path.join(self.root, "cli")}
        return subprocess.run([docker, *args], env=env, capture_output=True, text=True, timeout=timeout)

    def log_tail(self, lines: int = 20) -> str:
        return log_tail(self.log_path, lines)

    def stop(self) -> None:
        if self._client is not None:
            self._client.close()
        _stop(self.process)
        shutil.rmtree(self.root, ignore_errors=True)


def _stop(proc: subprocess.Popen) -> None:
    """Stop the dockerd we started: SIGTERM, then SIGKILL of its own process group (its containerd)."""
    if proc.poll() is None:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout=STOP_TIMEOUT)
        except subprocess.TimeoutExpired:
            pass
    try:
        os.killpg(proc.pid, signal.SIGKILL)  # the group was created for this dockerd (start_new_session)
    except (ProcessLookupError, PermissionError):
        pass
    try:
        proc.wait(timeout=5)
    except subprocess.TimeoutExpired:
        pass


def check_prerequisites() -> str:
    """The dockerd binary, or raise LabUnavailable saying what is missing."""
    if os.geteuid() != 0:
        raise LabUnavailable("a private dockerd needs root")
    dockerd = shutil.which("dockerd") or ("/usr/sbin/dockerd" if os.path.exists("/usr/sbin/dockerd") else None)
    if dockerd is None:
        raise LabUnavailable("dockerd is not installed (apt-get install docker.io)")
    if not os.path.exists(BUSYBOX):
        raise LabUnavailable(f"{BUSYBOX} is missing (apt-get install busybox-static)")
    try:
        import docker  # noqa: F401
    except ImportError:
        raise LabUnavailable("the docker Python package is not installed") from None
    return dockerd


def _ready(sock: str) -> bool:
    """GET /_ping answers 200 on the socket."""
    import socket

    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.settimeout(2)
    try:
        s.connect(sock)
        s.sendall(b"GET /_ping HTTP/1.0\r\nHost: lab\r\n\r\n")
        return s.recv(64).split(b" ", 2)[1:2] == [b"200"]
    except OSError:
        return False
    finally:
        s.close()


def _launch(dockerd: str, root: str, config: dict, extra_hosts: Sequence[str] = ()) -> subprocess.Popen:
    with open(os.path.join(root, "daemon.json"), "w") as fh:
        json.dump(config, fh)
    args = [
        dockerd,
        "--host", f"unix://{root}/docker.sock",
        *[arg for host in extra_hosts for arg in ("--host", host)],
        "--data-root", f"{root}/data",
        "--exec-root", f"{root}/exec",
        "--pidfile", f"{root}/docker.pid",
        "--config-file", f"{root}/daemon.json",
        "--bridge", "none",
        "--iptables=false",
        "--ip6tables=false",
        "--storage-driver", "vfs",  # no overlay mounts: works in nested sandboxes, nothing to unmount
    ]
    env = {"PATH": os.environ.get("PATH", "/usr/sbin:/usr/bin:/sbin:/bin")}
    log = open(os.path.join(root, "dockerd.log"), "w")
    try:
        return subprocess.Popen(args, stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                                env=env, start_new_session=True)
    finally:
        log.close()


def _wait_ready(proc: subprocess.Popen, sock: str, deadline: float) -> bool:
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            return False
        if os.path.exists(sock) and _ready(sock):
            return True
        time.sleep(0.1)
    return False


def start_lab(extra_hosts: Sequence[str] = (), daemon_config: Optional[dict] = None) -> Lab:
    """Start the private dockerd and wait for /_ping (bounded). Raises LabUnavailable.

    `extra_hosts`: more addresses for it to listen on (``tcp://127.0.0.1:PORT``; loopback only).
    `daemon_config`: more daemon.json settings (e.g. ``{"log-driver": "none"}``).
    """
    assert all(h.startswith("tcp://127.0.0.1:") for h in extra_hosts), extra_hosts
    dockerd = check_prerequisites()
    root = tempfile.mkdtemp(prefix="rdlab-", dir="/tmp")  # short: unix socket paths are limited to 108 bytes
    os.chmod(root, 0o755)
    sock = f"{root}/docker.sock"
    log_path = os.path.join(root, "dockerd.log")
    deadline = time.monotonic() + START_TIMEOUT
    config = {_KEY_DIRECTIVE: f"{root}/key.json", **(daemon_config or {})}
    proc = _launch(dockerd, root, config, extra_hosts)
    if not _wait_ready(proc, sock, deadline) and proc.poll() is not None:
        with open(log_path, errors="replace") as fh:
            log = fh.read()
        if _KEY_DIRECTIVE in log:
            # newer dockerd (no trust key any more) rejects the directive: start without it
            proc = _launch(dockerd, root, dict(daemon_config or {}), extra_hosts)
            _wait_ready(proc, sock, deadline)
    lab = Lab(root=root, process=proc, socket=sock, log_path=log_path)
    if proc.poll() is not None or not _ready(sock):
        tail = lab.log_tail()
        lab.stop()
        raise LabUnavailable(f"dockerd did not answer /_ping within {START_TIMEOUT:.0f}s; its log ends:\n{tail}")
    return lab


def rootfs_tar() -> bytes:
    """A minimal root filesystem: static busybox and the applets a runner-like container would call."""
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w") as tar:
        tar.add(BUSYBOX, arcname="bin/busybox")
        for applet in ("sh", "sleep", "cat", "ls", "env"):
            link = tarfile.TarInfo(f"bin/{applet}")
            link.type = tarfile.SYMTYPE
            link.linkname = "busybox"
            tar.addfile(link)
        for folder in ("tmp", "root/.docker", "var/run", "var/lib/docker/containers"):
            info = tarfile.TarInfo(folder)
            info.type = tarfile.DIRTYPE
            info.mode = 0o755
            tar.addfile(info)
    return buf.getvalue()


def build_runner_image(lab: Lab) -> str:
    """Import the busybox root filesystem as the runner image (no registry involved)."""
    lab.api.import_image_from_data(rootfs_tar(), repository=RUNNER_IMAGE, tag=RUNNER_TAG,
                                   changes=['CMD ["/bin/sleep", "3600"]', "ENV PATH=/bin", "WORKDIR /tmp"])
    return f"{RUNNER_IMAGE}:{RUNNER_TAG}"


def create_container(lab: Lab, name: str, image: str, volumes: List[str], env: List[str],
                     restart: Optional[str] = None, memory: Optional[str] = None, tty: bool = True,
                     stdin_open: bool = True, command: Optional[List[str]] = None) -> str:
    """`docker create` a container (not started) and return its id."""
    kwargs = {}
    if command:
        kwargs["command"] = command
    if restart:
        kwargs["restart_policy"] = {"Name": restart}
    if memory:
        kwargs["mem_limit"] = memory
    container = lab.client.containers.create(image, name=name, volumes=volumes, environment=env, tty=tty,
                                             stdin_open=stdin_open, **kwargs)
    lab.containers[name] = container.id
    return container.id


@pytest.fixture(scope="session")
def docker_lab():
    """The running lab with the runner image imported; stopped (by its pid) at the end of the session."""
    try:
        lab = start_lab()
    except LabUnavailable as exc:
        fail_or_skip(str(exc))
        return
    try:
        build_runner_image(lab)
    except Exception:
        lab.stop()
        raise
    yield lab
    lab.stop()


@pytest.fixture(scope="session")
def docker_lab_log_none():
    """A second lab daemon whose default log driver keeps no files (``log-driver none``); no image."""
    try:
        lab = start_lab(daemon_config={"log-driver": "none"})
    except LabUnavailable as exc:
        fail_or_skip(str(exc))
        return
    yield lab
    lab.stop()


if __name__ == "__main__":
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))  # `kill`/`timeout` stop the lab too, not only Ctrl-C
    started = start_lab()
    try:
        build_runner_image(started)
        print(f"lab running: DOCKER_HOST={started.base_url}  (Ctrl-C stops it)")
        while True:
            time.sleep(3600)
    except KeyboardInterrupt:
        pass
    finally:
        started.stop()
