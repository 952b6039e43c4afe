"""A private sshd on 127.0.0.1 for ``ssh://`` Docker hosts, touching nothing of the system's ssh setup.

It runs Debian's ``sshd`` (package ``openssh-server``) in the foreground with its
own config, host key, ``authorized_keys`` and pid file in a fresh temporary
folder, on a free port of 127.0.0.1 (never 22), key authentication only. The
login's environment gets ``DOCKER_HOST`` (``SetEnv``) pointing at the lab's
socket, so the docker SDK's ``docker system dial-stdio`` over ssh reaches the
lab daemon. The client side is a HOME folder holding the generated key and a
``known_hosts`` line for the server: run the doctor with ``HOME`` set to it.
The only thing outside the folder is sshd's privilege separation folder
``/run/sshd``, created (empty, as the package's service would) when missing.
"""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from dataclasses import dataclass

from tests.lab.dockerd import LabUnavailable

START_TIMEOUT = 10.0
USER = "root"  # the lab socket is root's; sshd needs a real account with a shell


@dataclass
class Sshd:
    root: str
    process: subprocess.Popen
    port: int

    @property
    def url(self) -> str:
        return f"ssh://{USER}@127.0.0.1:{self.port}"

    @property
    def client_home(self) -> str:
        """HOME for the ssh client: .ssh/id_ed25519 and .ssh/known_hosts."""
        return os.path.join(self.root, "client")

    def log(self) -> str:
        try:
            with open(os.path.join(self.root, "sshd.log"), errors="replace") as fh:
                return fh.read()[-3000:]
        except OSError:
            return ""

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=5)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=5)
        shutil.rmtree(self.root, ignore_errors=True)


def _tool(name: str) -> str:
    found = shutil.which(name) or next((p for p in (f"/usr/sbin/{name}", f"/usr/bin/{name}") if os.path.exists(p)),
                                       None)
    if found is None:
        raise LabUnavailable(f"{name} is not installed (apt-get install openssh-server)")
    return found


def check_prerequisites() -> str:
    """The sshd binary, or raise LabUnavailable saying what is missing."""
    if os.geteuid() != 0:
        raise LabUnavailable("a private sshd logging in as root needs root")
    sshd = _tool("sshd")
    _tool("ssh-keygen")
    if shutil.which("docker") is None:
        raise LabUnavailable("the docker CLI (for `docker system dial-stdio` over ssh) is not installed")
    try:
        import paramiko  # noqa: F401
    except ImportError:
        raise LabUnavailable("paramiko is not installed (pip install -e '.[ssh]')") from None
    return sshd


def _keygen(path: str) -> str:
    subprocess.run([_tool("ssh-keygen"), "-q", "-t", "ed25519", "-N", "", "-C", "runner-doctor-lab", "-f", path],
                   check=True, capture_output=True, timeout=30)
    with open(path + ".pub") as fh:
        return fh.read().strip()


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _answers(port: int) -> bool:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=1) as s:
            return s.recv(4).startswith(b"SSH-")
    except OSError:
        return False


def start_sshd(docker_host: str) -> Sshd:
    """Start sshd for `docker_host` (the lab's DOCKER_HOST) and wait for its banner. Raises LabUnavailable."""
    sshd = check_prerequisites()
    root = tempfile.mkdtemp(prefix="rdssh-", dir="/tmp")
    try:
        os.makedirs(os.path.join(root, "client", ".ssh"), mode=0o700)
        host_key = _keygen(os.path.join(root, "host_key"))
        client_key = _keygen(os.path.join(root, "client", ".ssh", "id_ed25519"))
        with open(os.path.join(root, "authorized_keys"), "w") as fh:
            fh.write(client_key + "\n")
        os.makedirs("/run/sshd", mode=0o755, exist_ok=True)
    except (OSError, subprocess.SubprocessError) as exc:
        shutil.rmtree(root, ignore_errors=True)
        raise LabUnavailable(f"cannot prepare sshd: {exc}") from None
    for _attempt in range(3):  # the free port may be taken between choosing and binding
        port = _free_port()
        config = os.path.join(root, "sshd_config")
        with open(config, "w") as fh:
            fh.write(f"""ListenAddress 127.0.0.1
Port {port}
HostKey {root}/host_key
PidFile {root}/sshd.pid
AuthorizedKeysFile {root}/authorized_keys
AuthenticationMethods publickey
PasswordAuthentication no
KbdInteractiveAuthentication no
UsePAM no
StrictModes no
PermitRootLogin prohibit-password
AllowUsers {USER}
SetEnv DOCKER_HOST={docker_host} DOCKER_CONFIG={root}/docker-cli
LogLevel VERBOSE
""")
        with open(os.path.join(root, "sshd.log"), "w") as log:
            proc = subprocess.Popen([sshd, "-D", "-e", "-f", config], stdout=log, stderr=subprocess.STDOUT,
                                    stdin=subprocess.DEVNULL, start_new_session=True)
        server = Sshd(root, proc, port)
        deadline = time.monotonic() + START_TIMEOUT
        while time.monotonic() < deadline and proc.poll() is None and not _answers(port):
            time.sleep(0.1)
        if proc.poll() is None and _answers(port):
            with open(os.path.join(root, "client", ".ssh", "known_hosts"), "w") as fh:
                fh.write(f"[127.0.0.1]:{port} {' '.join(host_key.split()[:2])}\n")
            return server
        if proc.poll() is None:
            os.kill(proc.pid, signal.SIGTERM)
            proc.wait(timeout=5)
        if "Address already in use" not in server.log():
            break
    tail = server.log()
    shutil.rmtree(root, ignore_errors=True)
    raise LabUnavailable(f"sshd did not answer on 127.0.0.1:{port} within {START_TIMEOUT:.0f}s; its log ends:\n{tail}")
