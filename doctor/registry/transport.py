"""HTTP to registries, with nothing hidden: no redirects, no proxies, no netrc, every request bounded.

Built on :mod:`http.client` so that what goes on the wire is exactly what the
probe asks for: a HEAD stays a HEAD, an ``Authorization`` header is sent only
with the request it was given to (the probe decides where credentials may go),
and redirects are returned to the caller instead of being followed.

Each request is bounded twice: the socket timeout bounds each connect and read,
and a timer shuts the socket down when the whole request outlives ``timeout``
(a server that trickles a byte every few seconds cannot hold a probe). Bodies
are read up to a limit. Connections are kept and reused per registry endpoint.

Failures raise :class:`NetError` with a kind (dns, refused, timeout, tls,
http-only, network, protocol) and a message a person can act on.
"""

from __future__ import annotations

import glob
import http.client
import ipaddress
import os
import socket
import ssl
import threading
from dataclasses import dataclass
from typing import Dict, List, Optional, Tuple
from urllib.parse import urlsplit

from doctor import __version__
from doctor.registry import results as R

USER_AGENT = f"runner-doctor/{__version__}"
DEFAULT_CERTS_D = "/etc/docker/certs.d"
MAX_ERROR_BODY = 64 * 1024
MAX_MANIFEST_BODY = 4 * 1024 * 1024
IDLE_PER_ENDPOINT = 16


class NetError(Exception):
    def __init__(self, kind: str, message: str, fix: str = ""):
        super().__init__(message)
        self.kind, self.message, self.fix = kind, message, fix


@dataclass
class Response:
    status: int
    headers: Dict[str, str]  # lower-case names; repeated headers joined with ", "
    body: bytes
    url: str
    all_headers: List[Tuple[str, str]]

    def header(self, name: str) -> str:
        return self.headers.get(name.lower(), "")

    def headers_named(self, name: str) -> List[str]:
        return [v for k, v in self.all_headers if k.lower() == name.lower()]


def is_loopback_host(host: str) -> bool:
    """localhost, 127.0.0.0/8 or ::1 written as such, with or without a port (no name resolution)."""
    name = split_host(host, 0)[0].strip("[]").lower()
    if name == "localhost" or name.endswith(".localhost"):
        return True
    try:
        return ipaddress.ip_address(name).is_loopback
    except ValueError:
        return False


def split_host(hostport: str, default_port: int) -> Tuple[str, int]:
    """("registry.acme.example", 5443) from "registry.acme.example:5443"; IPv6 in brackets."""
    if hostport.startswith("["):
        inner, _, rest = hostport[1:].partition("]")
        return inner, int(rest[1:]) if rest.startswith(":") and rest[1:].isdigit() else default_port
    name, colon, port = hostport.rpartition(":")
    if colon and port.isdigit() and ":" not in name:
        return name, int(port)
    return hostport, default_port


def tls_context(hostport: str, verify: bool, certs_d: str) -> ssl.SSLContext:
    """Docker's TLS for a registry: the system CAs plus ``<certs.d>/<host[:port]>/*.crt`` (and client
    ``*.cert``/``*.key`` pairs); no verification at all for a registry the daemon treats as insecure."""
    if not verify:
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
        ctx.check_hostname = False
        ctx.verify_mode = ssl.CERT_NONE
        return ctx
    ctx = ssl.create_default_context()
    folder = os.path.join(certs_d, hostport)
    for ca in sorted(glob.glob(os.path.join(folder, "*.crt"))):
        try:
            ctx.load_verify_locations(cafile=ca)
        except (OSError, ssl.SSLError):
            pass  # an unreadable CA shows as "unknown authority", which names the folder
    for cert in sorted(glob.glob(os.path.join(folder, "*.cert"))):
        key = cert[:-len(".cert")] + ".key"
        if os.path.exists(key):
            try:
                ctx.load_cert_chain(cert, key)
            except (OSError, ssl.SSLError):
                pass
    return ctx


class _Connection(http.client.HTTPConnection):
    """One connection to a registry endpoint; resolves and connects itself to tell DNS failures apart."""

    def __init__(self, host: str, port: int, timeout: float, tls: Optional[ssl.SSLContext]):
        super().__init__(host, port, timeout=timeout)
        self.tls = tls

    def connect(self) -> None:
        try:
            infos = socket.getaddrinfo(self.host, self.port, type=socket.SOCK_STREAM)
        except socket.gaierror as exc:
            raise NetError(R.DNS, f"the host name {self.host} does not resolve ({exc.strerror})",
                           "check the registry host name, and this host's DNS (/etc/resolv.conf)") from None
        except UnicodeError:
            raise NetError(R.DNS, f"the host name {self.host} is not a valid DNS name",
                           "check the registry host name") from None
        last: Optional[OSError] = None
        for family, kind, proto, _name, addr in infos:
            sock = socket.socket(family, kind, proto)
            sock.settimeout(self.timeout)
            try:
                sock.connect(addr)
            except OSError as exc:
                sock.close()
                last = exc
                continue
            if self.tls is not None:
                try:
                    sock = self.tls.wrap_socket(sock, server_hostname=self.host)
                except Exception:
                    sock.close()
                    raise
            self.sock = sock
            return
        raise last if last is not None else OSError("no address to connect to")


class Endpoint:
    """``scheme://host:port`` of a registry or token service, with its idle connections."""

    def __init__(self, scheme: str, hostport: str, tls: Optional[ssl.SSLContext]):
        self.scheme, self.hostport, self.tls = scheme, hostport, tls
        self.host, self.port = split_host(hostport, 443 if scheme == "https" else 80)
        self._idle: List[_Connection] = []
        self._lock = threading.Lock()

    def take(self, timeout: float) -> _Connection:
        with self._lock:
            if self._idle:
                conn = self._idle.pop()
                conn.timeout = timeout
                return conn
        return _Connection(self.host, self.port, timeout, self.tls if self.scheme == "https" else None)

    def give_back(self, conn: _Connection) -> None:
        with self._lock:
            if len(self._idle) < IDLE_PER_ENDPOINT:
                self._idle.append(conn)
                return
        conn.close()

    def close(self) -> None:
        with self._lock:
            idle, self._idle = self._idle, []
        for conn in idle:
            conn.close()


class Transport:
    """Sends single requests; keeps one :class:`Endpoint` per scheme/host/port/TLS mode."""

    def __init__(self, timeout: float, certs_d: str = DEFAULT_CERTS_D):
        self.timeout = timeout
        self.certs_d = certs_d
        self._endpoints: Dict[Tuple[str, str, bool], Endpoint] = {}
        self._lock = threading.Lock()

    def endpoint(self, scheme: str, hostport: str, verify: bool = True) -> Endpoint:
        key = (scheme, hostport, verify)
        with self._lock:
            found = self._endpoints.get(key)
            if found is None:
                tls = tls_context(hostport, verify, self.certs_d) if scheme == "https" else None
                found = self._endpoints[key] = Endpoint(scheme, hostport, tls)
            return found

    def close(self) -> None:
        with self._lock:
            endpoints = list(self._endpoints.values())
        for e in endpoints:
            e.close()

    def request(self, method: str, url: str, headers: Optional[Dict[str, str]] = None, *, verify: bool = True,
                max_body: int = MAX_ERROR_BODY) -> Response:
        """One request, never redirected; raises :class:`NetError`."""
        parts = urlsplit(url)
        scheme = parts.scheme
        hostport = parts.netloc.rpartition("@")[2]
        target = parts.path or "/"
        if parts.query:
            target += "?" + parts.query
        endpoint = self.endpoint(scheme, hostport, verify)
        sent = {"User-Agent": USER_AGENT, **(headers or {})}
        for attempt in (1, 2):
            conn = endpoint.take(self.timeout)
            reused = conn.sock is not None
            timer = _Deadline(conn, self.timeout)
            try:
                conn.request(method, target, headers=sent)
                resp = conn.getresponse()
                body = _read_body(resp, method, max_body, url)
                if timer.fired:
                    raise socket.timeout("deadline")
            except NetError:
                conn.close()
                raise
            except (http.client.RemoteDisconnected, BrokenPipeError, ConnectionResetError) as exc:
                conn.close()
                if timer.fired:
                    raise _timeout(url, self.timeout) from None
                if reused and attempt == 1:
                    continue  # the registry closed an idle kept-alive connection: once more on a new one
                raise _classify(exc, url, scheme, self.timeout) from None
            except Exception as exc:  # noqa: BLE001 - every failure becomes a NetError
                conn.close()
                if timer.fired:
                    raise _timeout(url, self.timeout) from None
                raise _classify(exc, url, scheme, self.timeout) from None
            finally:
                timer.cancel()
            pairs = [(k, v) for k, v in resp.getheaders()]
            merged: Dict[str, str] = {}
            for k, v in pairs:
                lk = k.lower()
                merged[lk] = f"{merged[lk]}, {v}" if lk in merged else v
            if resp.will_close:
                conn.close()
            else:
                endpoint.give_back(conn)
            return Response(resp.status, merged, body, url, pairs)
        raise NetError(R.NETWORK, f"{url}: the connection kept closing")  # pragma: no cover - loop returns


class _Deadline:
    """Shuts a connection's socket down when a request outlives its timeout (a trickling server)."""

    def __init__(self, conn: _Connection, timeout: float):
        self.conn, self.fired = conn, False
        self.timer = threading.Timer(timeout, self._fire)
        self.timer.daemon = True
        self.timer.start()

    def _fire(self) -> None:
        self.fired = True
        sock = self.conn.sock
        if sock is not None:
            try:
                sock.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass

    def cancel(self) -> None:
        self.timer.cancel()


def _read_body(resp: http.client.HTTPResponse, method: str, limit: int, url: str) -> bytes:
    if method == "HEAD":
        resp.read()  # returns nothing, and marks the response done so the connection can be reused
        return b""
    length = resp.getheader("Content-Length")
    if length and length.isdigit() and int(length) > limit:
        resp.close()
        raise NetError(R.PROTOCOL, f"{url}: the answer is {int(length):,} bytes, more than the {limit:,} "
                       "runner-doctor reads; this is not what a registry sends here",
                       "check that the address is the registry (not a web server or proxy page)")
    data = resp.read(limit + 1)
    if len(data) > limit:
        resp.close()
        raise NetError(R.PROTOCOL, f"{url}: the answer is longer than the {limit:,} bytes runner-doctor reads; "
                       "this is not what a registry sends here",
                       "check that the address is the registry (not a web server or proxy page)")
    if not resp.isclosed():
        resp.read()  # the rest is empty: let the connection be reused
    return data


def _timeout(url: str, timeout: float) -> NetError:
    return NetError(R.TIMEOUT, f"{url} did not answer within {timeout:g} s",
                    "check that the registry is up and that no firewall drops the traffic, or raise --timeout")


def _chain(exc: BaseException) -> List[BaseException]:
    out, seen = [], set()
    e: Optional[BaseException] = exc
    while e is not None and id(e) not in seen:
        seen.add(id(e))
        out.append(e)
        e = e.__cause__ or e.__context__
    return out


def _classify(exc: BaseException, url: str, scheme: str, timeout: float) -> NetError:
    parts = urlsplit(url)
    hostport = parts.netloc.rpartition("@")[2]
    chain = _chain(exc)
    for e in chain:
        if isinstance(e, ssl.SSLCertVerificationError):
            return _cert_error(e, hostport)
    for e in chain:
        if isinstance(e, ssl.SSLError):
            reason = (getattr(e, "reason", "") or str(e)).upper()
            if any(s in reason for s in ("WRONG_VERSION_NUMBER", "RECORD_LAYER_FAILURE", "PACKET_LENGTH_TOO_LONG",
                                         "HTTP_REQUEST", "UNKNOWN_PROTOCOL")):
                return NetError(R.HTTP_ONLY, f"{hostport} answers plain HTTP, not HTTPS",
                                f"Docker pulls over HTTPS: give the registry a TLS certificate, or list \"{hostport}\" "
                                "in insecure-registries in /etc/docker/daemon.json on every runner host (then "
                                "restart dockerd)")
            return NetError(R.TLS, f"the TLS handshake with {hostport} failed ({getattr(e, 'reason', None) or e})",
                            f"check the registry's TLS setup; CA certificates for it go in "
                            f"/etc/docker/certs.d/{hostport}/ca.crt")
    for e in chain:
        if isinstance(e, (socket.timeout, TimeoutError)):
            return _timeout(url, timeout)
        if isinstance(e, ConnectionRefusedError):
            return NetError(R.REFUSED, f"the connection to {hostport} was refused (nothing listens there)",
                            "check the registry's host and port, and that it is running")
        if isinstance(e, ConnectionResetError):
            return NetError(R.NETWORK, f"{hostport} reset the connection",
                            "check the registry and any proxy or firewall in between")
        if isinstance(e, http.client.RemoteDisconnected):
            return NetError(R.NETWORK, f"{hostport} closed the connection without answering",
                            "check that this is a registry's address and that it is healthy")
        if isinstance(e, http.client.HTTPException):
            return NetError(R.PROTOCOL, f"{hostport} did not answer in HTTP ({type(e).__name__})",
                            "check that this is a registry's address")
        if isinstance(e, OSError) and e.errno is not None:
            return NetError(R.NETWORK, f"cannot reach {hostport} ({e.strerror or e})",
                            "check the network route to the registry")
    return NetError(R.NETWORK, f"cannot reach {hostport} ({type(exc).__name__}: {exc})", "")


def _cert_error(e: ssl.SSLCertVerificationError, hostport: str) -> NetError:
    code = getattr(e, "verify_code", None)
    text = (getattr(e, "verify_message", "") or str(e))
    folder = f"/etc/docker/certs.d/{hostport}/ca.crt"
    if code == 62 or "hostname mismatch" in text.lower() or "ip address mismatch" in text.lower():
        return NetError(R.TLS, f"the TLS certificate of {hostport} is not valid for that name ({text})",
                        "use the name the certificate was issued for, or reissue the certificate with this name "
                        "in its subjectAltName")
    if code == 10 or "expired" in text.lower():
        return NetError(R.TLS, f"the TLS certificate of {hostport} has expired", "renew the registry's certificate")
    if code in (18, 19, 20, 21) or "self-signed" in text.lower() or "local issuer" in text.lower():
        return NetError(R.TLS, f"the TLS certificate of {hostport} is signed by an unknown authority ({text})",
                        f"put the registry's CA certificate in {folder} on every runner host (Docker reads it "
                        "there; no restart needed), or have the certificate signed by a public CA")
    return NetError(R.TLS, f"the TLS certificate of {hostport} was not accepted ({text})",
                    f"check the certificate; a private CA goes in {folder}")
