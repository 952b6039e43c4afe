"""A small Docker token server (distribution "token" auth) for the registry lab.

``start_token_server(folder, users=..., grants=...)`` serves ``GET /token?service=..&scope=..`` on
``host:0`` (any 127/8 address works; Linux routes all of it locally) from a thread, and signs ES256
JWTs whose header carries the signing certificate (``x5c``), as Debian's ``docker-registry`` 2.8
verifies them against ``rootcertbundle``. The key is an EC P-256 key with a self-signed certificate.

Who gets what:
- ``users`` maps user -> password, checked from HTTP Basic on the token request; a wrong password or
  an unknown user gets ``401`` with a JSON error. No Authorization = an anonymous request.
- ``grants`` maps user -> {repository pattern: [actions]}; patterns are ``fnmatch`` globs ("acme/*"
  matches "acme/app" and "acme/a/b", "*" matches everything).
- ``anonymous``: repository patterns anyone (anonymous or any valid user) may pull.
- A request for a scope the user lacks still gets a token (as Docker Hub does) whose ``access``
  claim leaves that repository or action out, so the registry answers 401 ``insufficient_scope``.

``requests`` records each request: method, path, query (``urllib.parse.parse_qs`` dict, values are
lists), ``authorization`` (the scheme only: "Basic", "Bearer" or None) and ``user`` when Basic.
Passwords are never stored.
"""

from __future__ import annotations

import base64
import binascii
import datetime
import fnmatch
import json
import os
import ssl
import threading
import time
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Dict, Iterable, List, Optional, Tuple

from tests.lab.pki import Tls

TOKEN_LIFETIME = 300  # seconds
SERVICE = "runner-doctor-lab"
ISSUER = "runner-doctor-lab-token-server"
ADMIN_ACTIONS = ["pull", "push", "delete"]
HANDLER_TIMEOUT = 10  # seconds an idle client connection is kept


class TokenServer:
    """A running token server (see the module docstring). ``realm`` is the URL clients are sent to
    (``http(s)://host:port/token``; it may be pointed elsewhere, e.g. at a proxy, before a registry is
    started with it), ``service``/``issuer`` what the tokens carry, ``rootcertbundle`` the signing
    certificate (PEM path) the registry verifies them with, ``ca`` the CA for an https realm."""

    def __init__(self, folder: str, users: Dict[str, str], grants: Dict[str, Dict[str, List[str]]],
                 anonymous: Iterable[str], host: str, tls: Optional[Tls]):
        self.folder = folder
        self.users = dict(users)
        self.grants = {user: dict(repos) for user, repos in grants.items()}
        self.anonymous = list(anonymous)
        self.service = SERVICE
        self.issuer = ISSUER
        self.requests: List[dict] = []  # appended by handler threads (list.append is atomic), read by tests
        self._key, self._x5c, self.rootcertbundle = _signing_key(folder)
        self._server = ThreadingHTTPServer((host, 0), _handler_for(self))
        self._server.daemon_threads = True
        self.ca = tls.ca if tls is not None else None  # the CA a client needs for an https realm
        scheme = "http"
        if tls is not None:
            ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
            ctx.load_cert_chain(tls.cert, tls.key)
            self._server.socket = ctx.wrap_socket(self._server.socket, server_side=True)
            scheme = "https"
        port = self._server.server_address[1]
        self.host = f"{host}:{port}"
        self.realm = f"{scheme}://{self.host}/token"
        self._thread = threading.Thread(target=self._server.serve_forever, kwargs={"poll_interval": 0.2},
                                        name=f"token server {self.host}", daemon=True)
        self._thread.start()

    @property
    def admin(self) -> Tuple[str, str]:
        """(user, password) of the first user granted push on every repository ("*")."""
        for user, repos in self.grants.items():
            if "push" in repos.get("*", ()) and user in self.users:
                return user, self.users[user]
        raise LookupError("no user of this token server is granted push on '*'")

    def actions_for(self, user: Optional[str], repo: str, wanted: Iterable[str]) -> List[str]:
        """The actions of `wanted` that `user` (None = anonymous) may do on `repo`."""
        allowed = set()
        if any(fnmatch.fnmatchcase(repo, pattern) for pattern in self.anonymous):
            allowed.add("pull")
        if user is not None:
            for pattern, actions in self.grants.get(user, {}).items():
                if fnmatch.fnmatchcase(repo, pattern):
                    allowed.update(actions)
        return [a for a in wanted if a in allowed or "*" in allowed]

    def issue(self, user: Optional[str], scopes: Iterable[str]) -> str:
        """A signed JWT for `user` with the access it has among the requested `scopes`."""
        access = []
        for scope in scopes:
            kind, _, rest = scope.partition(":")
            name, _, actions = rest.rpartition(":")
            if kind != "repository" or not name:
                continue
            granted = self.actions_for(user, name, actions.split(","))
            if granted:
                access.append({"type": "repository", "name": name, "actions": granted})
        now = int(time.time())
        claims = {"iss": self.issuer, "sub": user or "", "aud": self.service, "exp": now + TOKEN_LIFETIME,
                  "nbf": now - 10, "iat": now, "jti": uuid.uuid4().hex, "access": access}
        header = {"typ": "JWT", "alg": "ES256", "x5c": [self._x5c]}
        signing_input = _b64(json.dumps(header).encode()) + "." + _b64(json.dumps(claims).encode())
        return signing_input + "." + _b64(_es256(self._key, signing_input.encode()))

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=5)

    def __enter__(self) -> "TokenServer":
        return self

    def __exit__(self, *exc) -> None:
        self.stop()


def start_token_server(folder: str, *, users: Dict[str, str], grants: Dict[str, Dict[str, List[str]]],
                       anonymous: Iterable[str] = (), host: str = "127.0.0.1",
                       tls: Optional[Tls] = None) -> TokenServer:
    """Start a token server on `host`:0 (a thread); its key and certificate go to `folder`."""
    os.makedirs(folder, exist_ok=True)
    return TokenServer(folder, users, grants, anonymous, host, tls)


def _handler_for(server: TokenServer):
    from urllib.parse import parse_qs, urlsplit

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"
        timeout = HANDLER_TIMEOUT

        def log_message(self, *args) -> None:  # no stderr noise in test output
            pass

        def do_GET(self) -> None:
            url = urlsplit(self.path)
            query = parse_qs(url.query)
            scheme, user, password = _basic(self.headers.get("Authorization"))
            record = {"method": "GET", "path": url.path, "query": query, "authorization": scheme}
            if scheme == "Basic":
                record["user"] = user
            server.requests.append(record)
            if url.path != "/token":
                return self._json(404, {"errors": [{"code": "NOT_FOUND", "message": "no such endpoint"}]})
            if scheme == "Basic" and (user not in server.users or server.users[user] != password):
                return self._json(401, {"errors": [{"code": "UNAUTHORIZED",
                                                    "message": "incorrect username or password"}]},
                                  {"WWW-Authenticate": 'Basic realm="token"'})
            if scheme not in (None, "Basic"):
                return self._json(400, {"errors": [{"code": "UNSUPPORTED", "message": "use HTTP Basic"}]})
            token = server.issue(user if scheme == "Basic" else None, query.get("scope", []))
            issued = datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")
            self._json(200, {"token": token, "access_token": token, "expires_in": TOKEN_LIFETIME,
                             "issued_at": issued})

        def _json(self, status: int, doc: dict, headers: Optional[Dict[str, str]] = None) -> None:
            body = json.dumps(doc).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            for name, value in (headers or {}).items():
                self.send_header(name, value)
            self.end_headers()
            self.wfile.write(body)

    return Handler


def _basic(header: Optional[str]) -> Tuple[Optional[str], Optional[str], Optional[str]]:
    """(scheme, user, password) of an Authorization header; user/password only for valid Basic."""
    if not header:
        return None, None, None
    scheme, _, value = header.partition(" ")
    scheme = scheme.capitalize()
    if scheme != "Basic":
        return scheme, None, None
    try:
        user, sep, password = base64.b64decode(value.strip(), validate=True).decode().partition(":")
    except (binascii.Error, UnicodeDecodeError):
        return scheme, None, None
    return (scheme, user, password) if sep else (scheme, None, None)


def _signing_key(folder: str):
    """An EC P-256 key and a self-signed certificate: (key, base64 DER for x5c, PEM bundle path)."""
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, ISSUER)])
    now = datetime.datetime.now(datetime.timezone.utc)
    cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - datetime.timedelta(minutes=5))
            .not_valid_after(now + datetime.timedelta(days=2))
            .sign(key, hashes.SHA256()))
    bundle = os.path.join(folder, "token-signer.crt")
    with open(bundle, "wb") as fh:
        fh.write(cert.public_bytes(serialization.Encoding.PEM))
    x5c = base64.b64encode(cert.public_bytes(serialization.Encoding.DER)).decode()
    return key, x5c, bundle


def _es256(key, data: bytes) -> bytes:
    """An ES256 JWS signature: raw r || s, 32 bytes each (not DER)."""
    from cryptography.hazmat.primitives import hashes
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.hazmat.primitives.asymmetric.utils import decode_dss_signature

    r, s = decode_dss_signature(key.sign(data, ec.ECDSA(hashes.SHA256())))
    return r.to_bytes(32, "big") + s.to_bytes(32, "big")


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()
