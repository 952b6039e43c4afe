"""Network faults for the registry tests, all on 127.0.0.0/8 with ports chosen by the kernel.

- ``SilentServer``: accepts TCP connections and never answers.
- ``blackhole()``: a listener whose backlog is full, so connecting hangs.
- ``FaultyRegistry``: enough of the registry v2 API to answer manifests with 429/5xx, a slowloris
  trickle, a 50 MB body or broken JSON.
- ``RedirectingFront``: asks for Basic credentials on ``/v2/``, then redirects every request to
  another host (a ``Recorder`` on 127.0.0.2), to catch clients that carry Authorization along.
- ``Recorder``: answers 200 ``{}`` to everything and records whether Authorization arrived.
- ``DelayProxy``: a TCP proxy adding latency per round trip (the benchmark's "network").
- ``dns_isolated()``: runs a command with its own /etc/hosts and /etc/resolv.conf (root only).

Servers run in daemon threads, are context managers, and ``stop()`` closes everything they
opened. Requests are recorded as dicts ``{"method", "path", "authorization": bool}`` - never a
header's value.
"""

from __future__ import annotations

import hashlib
import http.client
import json
import os
import queue
import re
import shutil
import socket
import ssl
import subprocess
import tempfile
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import MappingProxyType
from typing import Callable, Dict, List, Mapping, Optional, Sequence, Tuple, Union
from urllib.parse import urlsplit

from tests.lab.broken import HungDaemon, accept_until
from tests.lab.dockerd import LabUnavailable

ACCEPT_POLL = 0.2  # seconds between checks of the stop flag
HANDLER_TIMEOUT = 10  # seconds an idle client connection is kept open
UPSTREAM_TIMEOUT = 10  # seconds for a forwarded request
SLOWLORIS_INTERVAL = 2.0  # seconds between two bytes of a slowloris response
OVERSIZED_BYTES = 50 * 1024 * 1024
CHUNK = 64 * 1024
API_VERSION = ("Docker-Distribution-Api-Version", "registry/2.0")
MANIFEST_PATH = re.compile(r"^/v2/(?P<name>.+)/manifests/(?P<reference>[^/]+)$")
ERROR_CODES = {401: ("UNAUTHORIZED", "authentication required"), 403: ("DENIED", "requested access to the "
               "resource is denied"), 404: ("MANIFEST_UNKNOWN", "manifest unknown"),
               429: ("TOOMANYREQUESTS", "You have reached your pull rate limit. You may increase the limit by "
                     "authenticating and upgrading: https://www.docker.com/increase-rate-limit"),
               500: ("UNKNOWN", "unknown error"), 502: ("UNKNOWN", "bad gateway"),
               503: ("UNAVAILABLE", "service unavailable")}
RATE_LIMIT_HEADERS = MappingProxyType({"ratelimit-limit": "100;w=21600", "ratelimit-remaining": "0;w=21600",
                                       "docker-ratelimit-source": "198.51.100.7", "Retry-After": "60"})
DEFAULT_HOSTS = MappingProxyType({"registry.test": "127.0.0.1"})


def error_body(status: int) -> bytes:
    """The registry's JSON error document for `status` (``{"errors": [{"code", "message", "detail"}]}``)."""
    code, message = ERROR_CODES.get(status, ("UNKNOWN", "unknown error"))
    return json.dumps({"errors": [{"code": code, "message": message, "detail": None}]}).encode()


# -- raw TCP ---------------------------------------------------------------------------------------


class SilentServer(HungDaemon):
    """Accepts TCP connections on 127.0.0.1:0 and never answers (the hung daemon of tests/lab/broken.py);
    ``host`` is "127.0.0.1:PORT"."""

    def __init__(self):
        super().__init__()
        self.host = self.url[len("tcp://"):]

    def __enter__(self) -> "SilentServer":
        return self

    def __exit__(self, *exc) -> None:
        self.stop()


def blackhole() -> Tuple[str, Callable[[], None]]:
    """("127.0.0.1:PORT", closer): a listener with backlog 0 whose one queue slot is already taken, so
    the kernel drops further SYNs and a connect() hangs until the client's own timeout.

    Linux drops the SYN when the accept queue is full (it does not answer RST, syncookies or not);
    a kernel with ``net.ipv4.tcp_abort_on_overflow=1`` would refuse instead - the lab's tests check
    that connecting really hangs.
    """
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(0)
    filler = socket.create_connection(listener.getsockname(), timeout=2)

    def close() -> None:
        filler.close()
        listener.close()

    return f"127.0.0.1:{listener.getsockname()[1]}", close


class DelayProxy:
    """A TCP proxy on 127.0.0.1:0 to `upstream_host:upstream_port` adding `delay` seconds per round trip.

    Each forwarded chunk leaves ``delay / 2`` after it arrived, in each direction, in order (a queue
    per direction, so the latency does not limit throughput). A new connection also pays one round
    trip for its TCP handshake: its first bytes to the upstream leave no earlier than ``1.5 * delay``
    after it was accepted, as on a real link. ``delay`` may be changed between uses; a connection
    keeps the value it started with.
    """

    def __init__(self, upstream_host: str, upstream_port: int, delay: float):
        self.upstream = (upstream_host, int(upstream_port))
        self.delay = delay
        self.listener = socket.socket()
        self.listener.bind(("127.0.0.1", 0))
        self.listener.listen(128)
        self.listener.settimeout(ACCEPT_POLL)
        self.host = f"127.0.0.1:{self.listener.getsockname()[1]}"
        self.connections = 0
        self._sockets: List[socket.socket] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=accept_until, args=(self.listener, self._stop, self._opened),
                                        name=f"delay proxy {self.host}", daemon=True)
        self._thread.start()

    def _opened(self, client: socket.socket) -> None:
        self.connections += 1
        threading.Thread(target=self._link, args=(client, time.monotonic(), self.delay),
                         name=f"delay proxy link {self.host}", daemon=True).start()

    def _link(self, client: socket.socket, opened: float, delay: float) -> None:
        self._sockets.append(client)
        try:
            upstream = socket.create_connection(self.upstream, timeout=UPSTREAM_TIMEOUT)
        except OSError:
            client.close()
            return
        upstream.settimeout(None)
        client.settimeout(None)
        self._sockets.append(upstream)
        for src, dst, not_before in ((client, upstream, opened + 1.5 * delay), (upstream, client, 0.0)):
            lane: queue.Queue = queue.Queue()
            threading.Thread(target=self._read, args=(src, lane, delay / 2, not_before), daemon=True).start()
            threading.Thread(target=self._write, args=(lane, dst), daemon=True).start()

    def _read(self, src: socket.socket, lane: queue.Queue, half: float, not_before: float) -> None:
        while True:
            try:
                data = src.recv(CHUNK)
            except OSError:
                data = b""
            lane.put((max(time.monotonic() + half, not_before), data))
            if not data:
                return

    def _write(self, lane: queue.Queue, dst: socket.socket) -> None:
        while not self._stop.is_set():
            try:
                due, data = lane.get(timeout=ACCEPT_POLL)
            except queue.Empty:
                continue
            wait = due - time.monotonic()
            if wait > 0 and self._stop.wait(wait):
                return
            try:
                if not data:
                    dst.shutdown(socket.SHUT_WR)
                    return
                dst.sendall(data)
            except OSError:
                return

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(timeout=5)
        self.listener.close()
        for sock in self._sockets:
            try:
                sock.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
            sock.close()

    def __enter__(self) -> "DelayProxy":
        return self

    def __exit__(self, *exc) -> None:
        self.stop()


# -- HTTP ------------------------------------------------------------------------------------------


class _HttpServer:
    """A threaded HTTP/1.1 server on `host`:0 that records requests and lets a subclass answer."""

    def __init__(self, host: str = "127.0.0.1"):
        self.requests: List[dict] = []  # appended by handler threads (list.append is atomic)
        self._stopping = threading.Event()
        self._server = ThreadingHTTPServer((host, 0), _Handler)
        self._server.daemon_threads = True
        self._server.owner = self
        self.host = f"{host}:{self._server.server_address[1]}"
        self.url = f"http://{self.host}"
        self._thread = threading.Thread(target=self._server.serve_forever, kwargs={"poll_interval": 0.05},
                                        name=f"{type(self).__name__} {self.host}", daemon=True)
        self._thread.start()

    def dispatch(self, handler: "_Handler") -> None:
        self.requests.append({"method": handler.command, "path": handler.path,
                              "authorization": "Authorization" in handler.headers})
        self.answer(handler)

    def answer(self, handler: "_Handler") -> None:
        raise NotImplementedError

    def stop(self) -> None:
        self._stopping.set()
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=5)

    def __enter__(self):
        return self

    def __exit__(self, *exc) -> None:
        self.stop()


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    timeout = HANDLER_TIMEOUT

    def log_message(self, *args) -> None:  # no stderr noise in test output
        pass

    def _any(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        self.body = self.rfile.read(min(length, CHUNK * 16)) if length else b""
        self.server.owner.dispatch(self)

    do_GET = do_HEAD = do_POST = do_PUT = do_PATCH = do_DELETE = _any

    def reply(self, status: int, headers: Sequence[Tuple[str, str]] = (), body: bytes = b"") -> None:
        """Send a complete response (HEAD: the headers only, with the body's Content-Length)."""
        self.send_response(status)
        names = {name.lower() for name, _ in headers}
        for name, value in headers:
            self.send_header(name, value)
        if "content-length" not in names:
            self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if self.command != "HEAD" and body:
            self.wfile.write(body)


class Recorder(_HttpServer):
    """Answers 200 ``{}`` to every request and records method, path and whether Authorization came."""

    def __init__(self, host: str = "127.0.0.2"):
        super().__init__(host)

    def answer(self, handler: _Handler) -> None:
        handler.reply(200, [("Content-Type", "application/json"), API_VERSION], b"{}")


class RedirectingFront(_HttpServer):
    """A "registry" on 127.0.0.1 that asks for Basic credentials on ``/v2/`` (401 ``WWW-Authenticate:
    Basic realm="x"`` when the request has no Authorization) and answers every other request -
    ``/v2/`` with credentials included - with a `status` redirect to ``target_url + path``."""

    def __init__(self, target_url: str, *, status: int = 307):
        self.target_url = target_url.rstrip("/")
        self.status = status
        super().__init__("127.0.0.1")

    def answer(self, handler: _Handler) -> None:
        path = urlsplit(handler.path).path
        if path in ("/v2", "/v2/") and "Authorization" not in handler.headers:
            handler.reply(401, [("Content-Type", "application/json; charset=utf-8"), API_VERSION,
                                ("WWW-Authenticate", 'Basic realm="x"')], error_body(401))
            return
        handler.reply(self.status, [("Location", self.target_url + handler.path), API_VERSION])


class FaultyRegistry(_HttpServer):
    """Speaks enough of the v2 API to produce one fault on manifest requests.

    - ``/v2/`` answers `ping_status` (``{}`` for 200, else the JSON error; 401 comes with a Basic
      challenge) with ``Docker-Distribution-Api-Version``. With `upstream` (a registry's URL,
      e.g. ``Registry.url``), ``/v2/`` and every other non-manifest request are forwarded there
      instead, so its auth challenges and token flow work as usual.
    - manifest HEAD/GET (``/v2/<name>/manifests/<ref>``) answer `manifest_status` with `headers`
      (default: the Docker Hub rate-limit headers and Retry-After for 429, none otherwise; a given
      mapping replaces the defaults) and `body` (default: the registry's JSON error for the status,
      e.g. TOOMANYREQUESTS; for 200 a small schema2 manifest with its digest). Other methods on a
      manifest get 405.
    - `slowloris`: the response trickles out one byte every 2 s (status line and headers first);
      `oversized`: the body is 50 MB; `bad_json`: the body is truncated JSON.
    """

    def __init__(self, upstream: Optional[str] = None, *, manifest_status: int = 429,
                 headers: Optional[Mapping[str, str]] = None, body: Union[bytes, str, None] = None,
                 ping_status: int = 200, slowloris: bool = False, oversized: bool = False,
                 bad_json: bool = False):
        self.upstream = upstream.rstrip("/") if upstream else None
        self.manifest_status = manifest_status
        if headers is None:
            headers = RATE_LIMIT_HEADERS if manifest_status == 429 else {}
        self.headers = dict(headers)
        self.body = body.encode() if isinstance(body, str) else body
        self.ping_status = ping_status
        self.slowloris = slowloris
        self.oversized = oversized
        self.bad_json = bad_json
        super().__init__("127.0.0.1")

    def answer(self, handler: _Handler) -> None:
        path = urlsplit(handler.path).path
        if MANIFEST_PATH.match(path):
            if handler.command not in ("GET", "HEAD"):
                handler.reply(405, [API_VERSION, ("Content-Type", "application/json; charset=utf-8")],
                              error_body(405))
            else:
                self._manifest(handler)
        elif self.upstream:
            _forward(handler, self.upstream)
        elif path in ("/v2", "/v2/"):
            headers = [API_VERSION, ("Content-Type", "application/json; charset=utf-8")]
            if self.ping_status == 401:
                headers.append(("WWW-Authenticate", 'Basic realm="faulty"'))
            handler.reply(self.ping_status, headers, b"{}" if self.ping_status == 200 else error_body(self.ping_status))
        else:
            handler.reply(404, [API_VERSION, ("Content-Type", "application/json; charset=utf-8")], error_body(404))

    def _manifest(self, handler: _Handler) -> None:
        status = self.manifest_status
        content_type = "application/json; charset=utf-8"
        headers = [API_VERSION]
        if self.bad_json:
            body = b'{"errors": [{"code": "TOOMANYREQUESTS", "message": "You have reached'
        elif self.body is not None:
            body = self.body
        elif status == 200:
            body = json.dumps({"schemaVersion": 2, "mediaType": "application/vnd.docker.distribution.manifest.v2+json",
                               "config": {"mediaType": "application/vnd.docker.container.image.v1+json",
                                          "size": 2, "digest": "sha256:" + hashlib.sha256(b"{}").hexdigest()},
                               "layers": []}).encode()
            content_type = "application/vnd.docker.distribution.manifest.v2+json"
            headers.append(("Docker-Content-Digest", "sha256:" + hashlib.sha256(body).hexdigest()))
        else:
            body = error_body(status)
        headers += [("Content-Type", content_type), *self.headers.items()]
        if self.oversized:
            self._oversized(handler, status, headers)
        elif self.slowloris:
            self._trickle(handler, status, headers, body)
        else:
            handler.reply(status, headers, body)

    def _oversized(self, handler: _Handler, status: int, headers: List[Tuple[str, str]]) -> None:
        handler.reply(status, headers + [("Content-Length", str(OVERSIZED_BYTES))])
        if handler.command == "HEAD":
            return
        sent = 0
        chunk = b'{"errors":[{"code":"UNKNOWN","message":"' + b"x" * (CHUNK - 40)
        try:
            while sent < OVERSIZED_BYTES and not self._stopping.is_set():
                part = chunk[:OVERSIZED_BYTES - sent]
                handler.wfile.write(part)
                sent += len(part)
        except OSError:
            pass  # the client stopped reading: what a careful client does
        handler.close_connection = True

    def _trickle(self, handler: _Handler, status: int, headers: List[Tuple[str, str]], body: bytes) -> None:
        head = f"HTTP/1.1 {status} {handler.responses.get(status, ('',))[0]}\r\n"
        head += "".join(f"{name}: {value}\r\n" for name, value in headers)
        head += f"Content-Length: {len(body)}\r\n\r\n"
        data = head.encode("latin-1") + (b"" if handler.command == "HEAD" else body)
        handler.close_connection = True
        for i in range(len(data)):
            if self._stopping.wait(SLOWLORIS_INTERVAL if i else 0):
                return
            try:
                handler.wfile.write(data[i:i + 1])
                handler.wfile.flush()
            except OSError:
                return


_HOP_BY_HOP = {"connection", "keep-alive", "transfer-encoding", "te", "trailer", "upgrade", "proxy-authorization",
               "proxy-authenticate", "host", "content-length"}


def _forward(handler: _Handler, upstream: str) -> None:
    """Forward the request to `upstream` (http or https; loopback lab servers, certificate not checked)."""
    target = urlsplit(upstream)
    if target.scheme == "https":
        context = ssl.create_default_context()
        context.check_hostname = False
        context.verify_mode = ssl.CERT_NONE
        conn = http.client.HTTPSConnection(target.hostname, target.port, timeout=UPSTREAM_TIMEOUT, context=context)
    else:
        conn = http.client.HTTPConnection(target.hostname, target.port, timeout=UPSTREAM_TIMEOUT)
    try:
        headers = {k: v for k, v in handler.headers.items() if k.lower() not in _HOP_BY_HOP}
        conn.request(handler.command, handler.path, body=handler.body or None, headers=headers)
        response = conn.getresponse()
        body = response.read()
    except (OSError, http.client.HTTPException) as exc:
        handler.reply(502, [("Content-Type", "text/plain")], f"upstream {upstream}: {exc}".encode())
        return
    finally:
        conn.close()
    headers = [(k, v) for k, v in response.getheaders() if k.lower() not in _HOP_BY_HOP]
    handler.reply(response.status, headers + [("Content-Length", str(len(body)))], body)


# -- DNS -------------------------------------------------------------------------------------------

_BIND_AND_RUN = ('set -e; mount --bind "$1" /etc/hosts; mount --bind "$2" /etc/resolv.conf; '
                 'if [ -n "$3" ]; then mount --bind "$3" /etc/nsswitch.conf; fi; shift 3; exec "$@"')


def dns_isolated(cmd: Sequence[str], env: Optional[Mapping[str, str]], hosts: Mapping[str, str] = DEFAULT_HOSTS,
                 nameserver: str = "127.0.0.1", timeout: float = 60.0) -> subprocess.CompletedProcess:
    """Run `cmd` (text output captured) in a private mount namespace whose /etc/hosts holds `hosts`
    (plus localhost) and whose /etc/resolv.conf names only `nameserver` (one try, 1 s), with
    ``hosts: files dns`` in /etc/nsswitch.conf: names not in `hosts` fail quickly - with the default
    127.0.0.1, where no DNS server listens, the query is refused at once.

    Needs root and ``unshare``/``mount`` (util-linux); raises LabUnavailable otherwise. The machine's
    own files are untouched (bind mounts inside the namespace only).
    """
    if os.geteuid() != 0:
        raise LabUnavailable("dns_isolated needs root (unshare --mount)")
    unshare = shutil.which("unshare")
    if unshare is None or shutil.which("mount") is None:
        raise LabUnavailable("unshare/mount are missing (apt-get install util-linux mount)")
    for path in ("/etc/hosts", "/etc/resolv.conf"):
        if not os.path.exists(path):
            raise LabUnavailable(f"{path} does not exist (or is a dangling link); nothing to bind over")
    with tempfile.TemporaryDirectory(prefix="rd-dns-") as tmp:
        files = {
            "hosts": "127.0.0.1 localhost\n::1 localhost\n" + "".join(f"{ip} {name}\n" for name, ip in hosts.items()),
            "resolv.conf": f"nameserver {nameserver}\noptions timeout:1 attempts:1\n",
            "nsswitch.conf": "hosts: files dns\n",
        }
        paths: Dict[str, str] = {}
        for name, text in files.items():
            paths[name] = os.path.join(tmp, name)
            with open(paths[name], "w") as fh:
                fh.write(text)
            os.chmod(paths[name], 0o644)
        nss = paths["nsswitch.conf"] if os.path.exists("/etc/nsswitch.conf") else ""
        return subprocess.run([unshare, "--mount", "--propagation", "private", "/bin/sh", "-c", _BIND_AND_RUN,
                               "sh", paths["hosts"], paths["resolv.conf"], nss, *cmd],
                              env=None if env is None else dict(env), capture_output=True, text=True,
                              timeout=timeout)
