"""Facts from a live Docker Engine, gathered once per host, read-only, every call bounded by a timeout.

:func:`gather` never raises: what it could not learn is recorded as a
:class:`DaemonProblem` with the precise reason (no socket, permission denied,
not a socket, connection refused, timeout, ...) and the fix, and the facts it
did learn are kept. The only calls made are reads: ``/_ping``, ``/version``,
``/info``, ``/containers/json``, ``/containers/{id}/json`` and
``/containers/{id}/logs`` (the tail of a failing runner's log).
"""

from __future__ import annotations

import os
import socket
import stat
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any, Callable, Dict, List, Optional, Sequence

from doctor.live.hosts import HostChoice, scheme, unix_socket_path

LOG_TAIL = 15


@dataclass
class DaemonProblem:
    kind: str  # no-socket | permission | not-a-socket | refused | timeout | dns | tls | no-paramiko | bad-url | api
    message: str
    fix: str = ""
    step: str = ""  # the step that failed ("connect", "list containers", ...)


@dataclass
class DaemonFacts:
    url: str
    source: str
    problem: Optional[DaemonProblem] = None
    version: Dict[str, Any] = field(default_factory=dict)
    info: Dict[str, Any] = field(default_factory=dict)
    containers: List[Dict[str, Any]] = field(default_factory=list)  # inspect data of the runner containers
    names: Dict[str, str] = field(default_factory=dict)  # every container's name -> id
    missing: List[str] = field(default_factory=list)  # --container names the daemon does not have
    vanished: List[str] = field(default_factory=list)  # removed between list and inspect
    logs: Dict[str, str] = field(default_factory=dict)  # container id -> last log lines (raw; reporters mask)
    timings: List[tuple] = field(default_factory=list)  # (step, seconds)
    timeout: float = 10.0

    @property
    def reachable(self) -> bool:
        """The daemon answered /version (a later step may still have failed: see problem)."""
        return bool(self.version)

    @property
    def socket_path(self) -> Optional[str]:
        return unix_socket_path(self.url)

    @property
    def local(self) -> bool:
        """The daemon runs on this machine (a unix socket), so its host paths are this machine's paths."""
        return self.socket_path is not None

    @property
    def root_dir(self) -> Optional[str]:
        return self.info.get("DockerRootDir") or None

    def unreachable_reason(self) -> str:
        if self.problem is None:
            return "the daemon gave no version"
        return self.problem.message


def _classify(exc: BaseException, url: str, timeout: float, step: str) -> DaemonProblem:
    """A precise, actionable reason from an exception raised while talking to the daemon."""
    chain = []
    seen = set()
    e: Optional[BaseException] = exc
    while e is not None and id(e) not in seen:
        seen.add(id(e))
        chain.append(e)
        e = e.__cause__ or e.__context__
    text = " ".join(f"{type(x).__name__}: {x}" for x in chain)
    lowered = text.lower()
    sock = unix_socket_path(url)
    if any(isinstance(x, PermissionError) for x in chain) or "permission denied" in lowered:
        return DaemonProblem("permission", f"permission denied on {sock or url}",
                             "add your user to the docker group (sudo usermod -aG docker $USER, then log in again) "
                             "or run runner-doctor with sudo", step)
    if any(isinstance(x, FileNotFoundError) for x in chain) or "no such file" in lowered:
        return DaemonProblem("no-socket", f"no Docker socket at {sock or url}",
                             "start the daemon (sudo systemctl start docker) or point --host / DOCKER_HOST at its "
                             "socket", step)
    if "timed out" in lowered or "timeout" in lowered or any(isinstance(x, socket.timeout) for x in chain):
        return DaemonProblem("timeout", f"the daemon at {url} did not answer '{step}' within {timeout:g} s",
                             "check that the daemon is healthy (sudo systemctl status docker; journalctl -u docker), "
                             "or raise --timeout", step)
    if any(isinstance(x, ConnectionRefusedError) for x in chain) or "connection refused" in lowered:
        what = "nothing listens on the socket (a stale socket file: the daemon is not running)" if sock else \
            "the connection was refused (nothing listens there)"
        return DaemonProblem("refused", f"{url}: {what}",
                             "start the daemon (sudo systemctl start docker) or check --host / DOCKER_HOST", step)
    if "paramiko" in lowered:
        return DaemonProblem("no-paramiko", f"{url}: ssh:// needs the paramiko package",
                             "install the ssh extra: pip install 'runner-doctor[ssh]'", step)
    if any(isinstance(x, socket.gaierror) for x in chain) or "name or service not known" in lowered \
            or "failed to resolve" in lowered or "nodename nor servname" in lowered:
        return DaemonProblem("dns", f"{url}: the host name does not resolve", "check the host name in --host", step)
    if "ssl" in lowered or "certificate" in lowered:
        return DaemonProblem("tls", f"{url}: TLS failed ({type(chain[-1]).__name__})",
                             "check DOCKER_CERT_PATH and DOCKER_TLS_VERIFY, or the daemon's TLS setup", step)
    if "invalid bind address" in lowered or "url" in type(exc).__name__.lower():
        return DaemonProblem("bad-url", f"{url}: not a Docker host address ({exc})",
                             "use unix:///path, tcp://host:port or ssh://user@host", step)
    detail = str(getattr(exc, "explanation", "") or exc).splitlines()[0][:200]
    return DaemonProblem("api", f"the daemon at {url} answered '{step}' with an error: {detail}", "", step)


def _precheck_unix(path: str, timeout: float) -> Optional[DaemonProblem]:
    """Precise reasons for a unix socket before the SDK hides them behind one error."""
    try:
        st = os.stat(path)
    except FileNotFoundError:
        return DaemonProblem("no-socket", f"no Docker socket at {path}",
                             "start the daemon (sudo systemctl start docker), or point --host / DOCKER_HOST at "
                             "the socket it listens on (a rootless daemon: unix://$XDG_RUNTIME_DIR/docker.sock)",
                             "connect")
    except PermissionError:
        return DaemonProblem("permission", f"permission denied on {path} (a folder above it cannot be read)",
                             "run runner-doctor with sudo, or as a user who may use Docker", "connect")
    if not stat.S_ISSOCK(st.st_mode):
        return DaemonProblem("not-a-socket", f"{path} is not a socket",
                             "point --host at the daemon's socket; if this is a folder, a bind mount of a missing "
                             "socket may have created it: remove it and restart the daemon", "connect")
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.settimeout(timeout)
    try:
        s.connect(path)
    except PermissionError:
        return DaemonProblem("permission", f"permission denied on {path}",
                             "add your user to the docker group (sudo usermod -aG docker $USER, then log in "
                             "again) or run runner-doctor with sudo", "connect")
    except ConnectionRefusedError:
        return DaemonProblem("refused", f"{path}: nothing listens on the socket (a stale socket file: the daemon is "
                                        "not running)", "start the daemon (sudo systemctl start docker)", "connect")
    except socket.timeout:
        return DaemonProblem("timeout", f"{path}: connecting took longer than {timeout:g} s",
                             "check the daemon (sudo systemctl status docker), or raise --timeout", "connect")
    except OSError as exc:
        return DaemonProblem("api", f"{path}: cannot connect ({exc.strerror or exc})", "", "connect")
    finally:
        s.close()
    return None


def _client(choice: HostChoice, timeout: float):
    import docker  # the docker SDK, only when a daemon is used

    kwargs: Dict[str, Any] = {"base_url": choice.url, "version": "auto", "timeout": timeout}
    if choice.tls_verify and scheme(choice.url) in ("tcp", "https"):
        certs = choice.cert_path or os.path.join(os.path.expanduser("~"), ".docker")
        kwargs["tls"] = docker.tls.TLSConfig(
            client_cert=(os.path.join(certs, "cert.pem"), os.path.join(certs, "key.pem")),
            ca_cert=os.path.join(certs, "ca.pem"), verify=True)
    return docker.APIClient(**kwargs)


def _is_candidate(summary: Dict[str, Any], wanted: Sequence[str], mirrors: Sequence[str]) -> bool:
    from doctor.inputs.docker_run import is_runner_image

    names = [n.lstrip("/") for n in summary.get("Names") or []]
    if wanted:
        return any(n in wanted for n in names) or summary.get("Id", "")[:12] in wanted
    return is_runner_image(summary.get("Image"), mirrors)


def gather(choice: HostChoice, timeout: float = 10.0, wanted: Sequence[str] = (), mirrors: Sequence[str] = (),
           progress: Optional[Callable[[str], None]] = None) -> DaemonFacts:
    """Everything the rules need from one daemon. Never raises."""
    facts = DaemonFacts(choice.url, choice.source, timeout=timeout)
    say = progress or (lambda _msg: None)
    step = "connect"
    started = time.monotonic()

    def timed(name: str):
        nonlocal started
        facts.timings.append((name, round(time.monotonic() - started, 3)))
        started = time.monotonic()

    try:
        say(f"connecting to {choice.url}")
        sock = unix_socket_path(choice.url)
        if sock:
            problem = _precheck_unix(sock, timeout)
            if problem:
                facts.problem = problem
                return facts
        client = _client(choice, timeout)
        try:
            step = "version"
            facts.version = client.version(api_version=False)
            timed(step)
            step = "info"
            say(f"reading docker info from {choice.url}")
            facts.info = client.info()
            timed(step)
            step = "list containers"
            say(f"listing containers on {choice.url}")
            summaries = client.containers(all=True)
            timed(step)
            for s in summaries:
                for n in s.get("Names") or []:
                    facts.names[n.lstrip("/")] = s["Id"]
            picked = [s for s in summaries if _is_candidate(s, wanted, mirrors)]
            found_names = {n.lstrip("/") for s in picked for n in s.get("Names") or []}
            facts.missing = [w for w in wanted if w not in found_names and not any(
                s["Id"].startswith(w) for s in picked)]
            from docker.errors import NotFound

            for s in picked:
                label = (s.get("Names") or [s["Id"][:12]])[0].lstrip("/")
                step = f"inspect {label}"
                say(f"inspecting {label} on {choice.url}")
                try:
                    data = client.inspect_container(s["Id"])
                except NotFound:
                    facts.vanished.append(label)
                    continue
                facts.containers.append(data)
                state = data.get("State") or {}
                if state.get("Restarting") or (not state.get("Running") and state.get("ExitCode")):
                    step = f"logs of {label}"
                    raw = client.logs(s["Id"], stdout=True, stderr=True, tail=LOG_TAIL, timestamps=False)
                    facts.logs[s["Id"]] = raw.decode("utf-8", "replace") if isinstance(raw, bytes) else str(raw)
                timed(step)
        finally:
            try:
                client.close()
            except Exception:  # noqa: BLE001 - closing must not hide the facts
                pass
    except Exception as exc:  # noqa: BLE001 - every failure becomes a described problem
        facts.problem = _classify(exc, choice.url, timeout, step)
    return facts


def gather_all(choices: Sequence[HostChoice], timeout: float, wanted: Sequence[str] = (),
               mirrors: Sequence[str] = (), progress: Optional[Callable[[str], None]] = None) -> List[DaemonFacts]:
    """Several hosts at once, each its own facts, in the order given."""
    if len(choices) == 1:
        return [gather(choices[0], timeout, wanted, mirrors, progress)]
    with ThreadPoolExecutor(max_workers=min(8, len(choices))) as pool:
        futures = [pool.submit(gather, c, timeout, wanted, mirrors, progress) for c in choices]
        return [f.result() for f in futures]
