"""Facts from a live Docker Engine, gathered once per host, read-only, every call bounded by a timeout.

:func:`gather` never raises: what it could not learn is recorded as a
:class:`DaemonProblem` with the precise reason (no socket, permission denied,
not a socket, connection refused, timeout, ...) and the fix, and the facts it
did learn are kept. The only calls made are reads: ``/version``, ``/info``,
``/containers/json``, ``/containers/{id}/json``, ``/containers/{id}/logs``
(the tail of a failing runner's log) and ``/images/json`` (the local image store,
for RD403). The socket or port is first connected to
directly, to tell a missing, refused or silent endpoint apart; the calls run in
a worker thread that a watchdog abandons when a step outlives ``timeout``.
"""

from __future__ import annotations

import json
import os
import socket
import stat
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any, Callable, Dict, List, Optional, Sequence
from urllib.parse import urlparse

from doctor.live.hosts import HostChoice, scheme, unix_socket_path

LOG_TAIL = 15
WATCHDOG_GRACE = 1.0  # seconds a step may run past --timeout before the watchdog abandons it


@dataclass
class DaemonProblem:
    # no-socket | permission | not-a-socket | refused | timeout | dns | tls | no-paramiko | ssh | choice | bad-url
    # | reset (the connection broke mid-answer) | api
    kind: str
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
    images: Optional[List[Dict[str, Any]]] = None  # the local image store (/images/json); None: not read
    timeout: float = 10.0
    choice: Optional[HostChoice] = field(default=None, repr=False, compare=False)  # how to connect again

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
    if scheme(url) == "ssh":
        problem = _classify_ssh(url, lowered, step)
        if problem:
            return problem
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
    broken = _broken_connection(chain, lowered)
    if broken:
        return DaemonProblem("reset", f"the daemon at {url} {broken} during '{step}'",
                             "check that the daemon is healthy (sudo systemctl status docker; journalctl -u docker) "
                             "and run the doctor again", step)
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


def _broken_connection(chain: List[BaseException], lowered: str) -> Optional[str]:
    """What went wrong with a connection that broke while the daemon answered (reset, closed, cut off), or None."""
    names = {type(x).__name__ for x in chain}
    if any(isinstance(x, ConnectionResetError) for x in chain) or "connection reset" in lowered:
        return "reset the connection"
    if "IncompleteRead" in names or "incompleteread" in lowered or "connection broken" in lowered:
        return "closed the connection in the middle of its answer"
    if "RemoteDisconnected" in names or "remote end closed" in lowered or any(
            isinstance(x, (BrokenPipeError, ConnectionAbortedError)) for x in chain):
        return "closed the connection without answering"
    if "BadStatusLine" in names:
        return "gave an answer that is not HTTP (cut off, or not a Docker daemon?)"
    if any(isinstance(x, json.JSONDecodeError) for x in chain):
        return "gave an answer that is not JSON (cut off?)"
    return None


def _classify_ssh(url: str, lowered: str, step: str) -> Optional[DaemonProblem]:
    parsed = urlparse(url)
    login = f"{parsed.username + '@' if parsed.username else ''}{parsed.hostname}"
    port = f"-p {parsed.port} " if parsed.port else ""
    if "known_hosts" in lowered:
        return DaemonProblem("ssh", f"{url}: the ssh host key of {parsed.hostname} is not in ~/.ssh/known_hosts",
                             f"check and accept the host's key once: ssh {port}{login} true", step)
    key_fix = ("the key must be in ~/.ssh (id_ed25519, id_rsa, ...), in ssh-agent or named by IdentityFile in "
               "~/.ssh/config, and in the host's authorized_keys for that user")
    if "no authentication methods available" in lowered:
        return DaemonProblem("ssh", f"{url}: ssh authentication failed: no key to log in with", key_fix, step)
    if "authentication failed" in lowered or "authenticationexception" in lowered:
        return DaemonProblem("ssh", f"{url}: ssh authentication failed: the host refused the keys offered",
                             key_fix, step)
    if "remote end closed" in lowered or "remotedisconnected" in lowered:
        return DaemonProblem("ssh", f"{url}: ssh logged in, but 'docker system dial-stdio' on the host gave no "
                                    "answer (no docker CLI there, or it cannot reach its daemon)",
                             f"check on that host: ssh {port}{login} docker version", step)
    return None


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


def _client(choice: HostChoice, timeout: float, version: Optional[str] = None):
    import docker  # the docker SDK, only when a daemon is used

    kwargs: Dict[str, Any] = {"base_url": choice.url, "version": version or "auto", "timeout": timeout}
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


class _Abandoned(Exception):
    """The watchdog gave up on this gathering: the worker stops without touching the facts."""


class _Gathering:
    """One daemon's facts, gathered in a worker thread that a watchdog can abandon mid-step.

    The worker changes ``facts`` only through :meth:`store` (under the lock), so once the
    watchdog has abandoned it the facts it returned never change again.
    """

    def __init__(self, choice: HostChoice, timeout: float, progress: Optional[Callable[[str], None]]):
        self.choice = choice
        self.facts = DaemonFacts(choice.url, choice.source, timeout=timeout, choice=choice)
        self.say = progress or (lambda _msg: None)
        self.lock = threading.Lock()
        self.abandoned = False
        self.step = "connect"
        self.step_started = time.monotonic()

    def begin(self, step: str, message: str = "") -> None:
        with self.lock:
            if self.abandoned:
                raise _Abandoned()
            self.step, self.step_started = step, time.monotonic()
        if message:
            self.say(message)

    def store(self, **fields: Any) -> None:
        with self.lock:
            if self.abandoned:
                raise _Abandoned()
            for name, value in fields.items():
                setattr(self.facts, name, value)

    def overdue(self, grace: float) -> float:
        """Seconds until the current step is overdue (<= 0: it is)."""
        return self.step_started + self.facts.timeout + grace - time.monotonic()

    def abandon_if_overdue(self, grace: float) -> Optional[DaemonFacts]:
        """Give up on an overdue step: the facts so far, with the step named as the problem."""
        with self.lock:
            if self.overdue(grace) > 0:
                return None  # a new step began meanwhile
            self.abandoned = True
            step, timeout, url = self.step, self.facts.timeout, self.choice.url
            if step == "ssh connect":
                what, fix = "did not complete the ssh connection", "check that sshd on the host answers " \
                    "(ssh -v to it), or raise --timeout"
            else:
                what, fix = f"did not answer '{step}'", "check that the daemon is healthy " \
                    "(sudo systemctl status docker; journalctl -u docker), or raise --timeout"
            self.facts.problem = DaemonProblem("timeout", f"the daemon at {url} {what} within {timeout:g} s", fix, step)
            return self.facts


def _precheck_tcp(url: str, timeout: float, tls: bool) -> Optional[DaemonProblem]:
    """tcp:// and ssh://: the port accepts a connection (refused, unresolvable, silent: said precisely)."""
    parsed = urlparse(url)
    try:
        port = parsed.port or (22 if scheme(url) == "ssh" else 2376 if tls else 2375)
    except ValueError:
        return DaemonProblem("bad-url", f"{url}: the port is not a number",
                             "use unix:///path, tcp://host:port or ssh://user@host[:port]", "connect")
    host = parsed.hostname
    if not host:
        return DaemonProblem("bad-url", f"{url}: no host name", "use tcp://host:port or ssh://user@host", "connect")
    where = f"{host}:{port}"
    try:
        socket.create_connection((host, port), timeout=timeout).close()
    except socket.gaierror:
        return DaemonProblem("dns", f"{url}: the host name {host} does not resolve", "check the host name in --host",
                             "connect")
    except ConnectionRefusedError:
        return DaemonProblem("refused", f"{url}: the connection to {where} was refused (nothing listens there)",
                             "start the daemon (or sshd for ssh://), or check the port in --host / DOCKER_HOST",
                             "connect")
    except socket.timeout:
        return DaemonProblem("timeout", f"{url}: connecting to {where} took longer than {timeout:g} s",
                             "check that the host is up and no firewall drops the port, or raise --timeout",
                             "connect")
    except OSError as exc:
        return DaemonProblem("api", f"{url}: cannot connect to {where} ({exc.strerror or exc})", "", "connect")
    return None


def _paramiko_missing() -> bool:
    try:
        import paramiko  # noqa: F401 - the docker SDK's ssh transport
    except ImportError:
        return True
    return False


def _gather(work: _Gathering, wanted: Sequence[str], mirrors: Sequence[str]) -> None:
    facts, url, timeout = work.facts, work.choice.url, work.facts.timeout
    work.begin("connect", f"connecting to {url}")
    sock = unix_socket_path(url)
    if work.choice.error:
        problem = DaemonProblem("choice", work.choice.error, work.choice.fix, "choose the host")
    elif sock:
        problem = _precheck_unix(sock, timeout)
    elif scheme(url) == "ssh" and _paramiko_missing():
        problem = DaemonProblem("no-paramiko", f"{url}: ssh:// needs the paramiko package, which is not installed",
                                "install the ssh extra: pip install 'runner-doctor[ssh]'", "connect")
    elif scheme(url) in ("tcp", "ssh"):
        problem = _precheck_tcp(url, timeout, work.choice.tls_verify)
    else:
        problem = None
    if problem:
        work.store(problem=problem)
        return
    # the SDK's constructor connects (ssh) and asks /version (to choose the API version)
    work.begin("ssh connect" if scheme(url) == "ssh" else "version")
    client = _client(work.choice, timeout)
    try:
        work.begin("version")
        work.store(version=client.version(api_version=False))
        work.begin("info", f"reading docker info from {url}")
        work.store(info=client.info())
        work.begin("list containers", f"listing containers on {url}")
        summaries = client.containers(all=True)
        names = {n.lstrip("/"): s["Id"] for s in summaries for n in s.get("Names") or []}
        picked = [s for s in summaries if _is_candidate(s, wanted, mirrors)]
        found_names = {n.lstrip("/") for s in picked for n in s.get("Names") or []}
        missing = [w for w in wanted if w not in found_names and not any(s["Id"].startswith(w) for s in picked)]
        work.store(names=names, missing=missing)
        from docker.errors import NotFound

        for s in picked:
            label = (s.get("Names") or [s["Id"][:12]])[0].lstrip("/")
            work.begin(f"inspect {label}", f"inspecting {label} on {url}")
            try:
                data = client.inspect_container(s["Id"])
            except NotFound:
                work.store(vanished=facts.vanished + [label])
                continue
            work.store(containers=facts.containers + [data])
            state = data.get("State") or {}
            if state.get("Restarting") or (not state.get("Running") and state.get("ExitCode")):
                work.begin(f"logs of {label}")
                try:
                    raw = client.logs(s["Id"], stdout=True, stderr=True, tail=LOG_TAIL, timestamps=False)
                except NotFound:  # removed after its inspect data was read: checked from that, without its log
                    work.store(vanished=facts.vanished + [label])
                    continue
                text = raw.decode("utf-8", "replace") if isinstance(raw, bytes) else str(raw)
                work.store(logs={**facts.logs, s["Id"]: text})
        work.begin("list images", f"listing images on {url}")
        work.store(images=[{k: i.get(k) for k in ("Id", "RepoTags", "RepoDigests", "Created")}
                           for i in client.images()])
        work.begin("done")
    finally:
        try:
            client.close()
        except Exception:  # noqa: BLE001 - closing must not hide the facts
            pass


def _work(work: _Gathering, wanted: Sequence[str], mirrors: Sequence[str]) -> None:
    try:
        _gather(work, wanted, mirrors)
    except _Abandoned:
        pass
    except Exception as exc:  # noqa: BLE001 - every failure becomes a described problem
        problem = _classify(exc, work.choice.url, work.facts.timeout, work.step)
        if work.facts.reachable and problem.kind in ("no-socket", "refused"):
            # it answered at first: it stopped (or its socket went) while the doctor ran
            problem.message = f"the daemon stopped answering during '{work.step}': {problem.message}"
        try:
            work.store(problem=problem)
        except _Abandoned:
            pass


def gather(choice: HostChoice, timeout: float = 10.0, wanted: Sequence[str] = (), mirrors: Sequence[str] = (),
           progress: Optional[Callable[[str], None]] = None) -> DaemonFacts:
    """Everything the rules need from one daemon. Never raises, and no step takes much longer than `timeout`.

    The SDK bounds its HTTP calls itself; a watchdog also bounds what it does not (an ssh
    handshake, a daemon that trickles bytes): a step running `timeout` + a grace second is
    abandoned and named in the problem.
    """
    work = _Gathering(choice, timeout, progress)
    worker = threading.Thread(target=_work, args=(work, wanted, mirrors), name=f"gather {choice.url}", daemon=True)
    worker.start()
    while True:
        worker.join(max(0.0, work.overdue(WATCHDOG_GRACE)))
        if not worker.is_alive():
            return work.facts
        facts = work.abandon_if_overdue(WATCHDOG_GRACE)
        if facts is not None:
            return facts


def gather_all(choices: Sequence[HostChoice], timeout: float, wanted: Sequence[str] = (),
               mirrors: Sequence[str] = (), progress: Optional[Callable[[str], None]] = None) -> List[DaemonFacts]:
    """Several hosts at once, each its own facts, in the order given."""
    if len(choices) == 1:
        return [gather(choices[0], timeout, wanted, mirrors, progress)]
    with ThreadPoolExecutor(max_workers=min(8, len(choices))) as pool:
        futures = [pool.submit(gather, c, timeout, wanted, mirrors, progress) for c in choices]
        return [f.result() for f in futures]
