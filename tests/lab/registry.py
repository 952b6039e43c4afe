"""Real registries for tests: Debian's ``docker-registry`` (2.8) on 127.0.0.1, in three auth modes.

``start_registry(folder, mode)`` writes its own ``config.yml`` (never the package's default config,
never port 5000: ``http.addr: 127.0.0.1:0``, the port is read from the log line "listening on
127.0.0.1:NNNNN"), runs ``/usr/bin/docker-registry serve`` with storage under `folder`, and waits
(bounded) until ``GET /v2/`` answers 200 or 401. Modes:

- ``open``: no auth, ``GET /v2/`` answers 200;
- ``htpasswd``: bcrypt entries made with ``htpasswd -Bbn`` from `users` (user -> password); any valid
  user may push and pull everything (registry 2.8 has no per-repository ACLs);
- ``token``: Bearer auth against a ``tests.lab.tokenserver.TokenServer`` (its realm, service, issuer
  and rootcertbundle).

With ``tls`` (a ``tests.lab.pki.Tls``) it serves https with that certificate.

``Registry.push`` uploads small images over the v2 API (blobs first, then the manifest) with the
admin credentials; the layer is a real gzip tar and the config names its diff id, so a Docker
daemon can pull them. ``Registry.requests_log()`` parses the registry's access log.

The pytest session fixture ``registry_lab`` starts one registry per mode, a token server and a TLS
registry (see ``RegistryLab``). It needs ``docker-registry`` and ``htpasswd`` (packages
``docker-registry`` and ``apache2-utils``) and the ``cryptography`` module; without them tests skip,
except under ``CI=true`` where that is a failure. ``python -m tests.lab.registry`` starts the lab,
prints the URLs and waits for Ctrl-C.
"""

from __future__ import annotations

import base64
import gzip
import hashlib
import http.client
import io
import json
import os
import re
import shutil
import signal
import ssl
import subprocess
import sys
import tarfile
import tempfile
import time
import uuid
from dataclasses import dataclass, field
from typing import Dict, List, Optional, Sequence, Tuple
from urllib.parse import urlencode, urlsplit

import pytest

from tests.lab.dockerd import LabUnavailable, fail_or_skip, log_tail
from tests.lab.pki import Ca, Tls, make_ca
from tests.lab.tokenserver import ADMIN_ACTIONS, TokenServer, start_token_server

REGISTRY_BIN = "/usr/bin/docker-registry"
HTPASSWD_BIN = "/usr/bin/htpasswd"
READY_TIMEOUT = 20.0  # seconds for the port to be logged and /v2/ to answer
STOP_TIMEOUT = 10.0
HTTP_TIMEOUT = 10.0  # per request the lab makes
LOG_SYNC_TIMEOUT = 5.0  # seconds requests_log() waits for its marker request to be logged
LAB_USER_AGENT = "runner-doctor-lab/1"  # the lab's own requests (push, delete, readiness)
SYNC_USER_AGENT = "runner-doctor-lab-sync/1"

SCHEMA2 = "application/vnd.docker.distribution.manifest.v2+json"
MANIFEST_LIST = "application/vnd.docker.distribution.manifest.list.v2+json"
OCI_MANIFEST = "application/vnd.oci.image.manifest.v1+json"
OCI_INDEX = "application/vnd.oci.image.index.v1+json"
MANIFEST_TYPES = (SCHEMA2, MANIFEST_LIST, OCI_MANIFEST, OCI_INDEX)
ACCEPT_ALL = ", ".join(MANIFEST_TYPES)
KINDS = {"schema2": SCHEMA2, "oci": OCI_MANIFEST, "oci-index": OCI_INDEX, "list": MANIFEST_LIST}
_CONFIG_TYPES = {SCHEMA2: "application/vnd.docker.container.image.v1+json",
                 OCI_MANIFEST: "application/vnd.oci.image.config.v1+json"}
_LAYER_TYPES = {SCHEMA2: "application/vnd.docker.image.rootfs.diff.tar.gzip",
                OCI_MANIFEST: "application/vnd.oci.image.layer.v1.tar+gzip"}

# gorilla/handlers' combined log line: 127.0.0.1 - - [date] "HEAD /v2/x HTTP/1.1" 404 93 "referer" "agent"
_ACCESS_LINE = re.compile(r'^(?P<remote>\S+) \S+ \S+ \[[^\]]*\] "(?P<method>\S+) (?P<path>\S+) [^"]*" '
                          r'(?P<status>\d{3}) \S+ "(?:[^"\\]|\\.)*" "(?P<agent>(?:[^"\\]|\\.)*)"\s*$')
_LISTENING = re.compile(r"listening on 127\.0\.0\.1:(\d+)")


class RegistryError(Exception):
    """The lab registry answered something unexpected (status and body in the message)."""


@dataclass
class Registry:
    mode: str  # "open" | "htpasswd" | "token"
    folder: str
    config_path: str
    log_path: str
    process: subprocess.Popen
    host: str  # "127.0.0.1:PORT"
    scheme: str  # "http" | "https"
    users: Dict[str, str] = field(default_factory=dict)  # htpasswd users, or the token server's users
    token_server: Optional[TokenServer] = None
    ca: Optional[str] = None  # the CA certificate (PEM path) a client needs for https

    @property
    def url(self) -> str:
        return f"{self.scheme}://{self.host}"

    @property
    def admin(self) -> Optional[Tuple[str, str]]:
        """The (user, password) the lab pushes with: htpasswd's first user, the token server's admin."""
        if self.mode == "htpasswd":
            user = next(iter(self.users))
            return user, self.users[user]
        if self.mode == "token":
            return self.token_server.admin
        return None

    # -- writing fixtures -------------------------------------------------------------------------

    def push(self, repo: str, tag: str, kind: str = "schema2",
             platforms: Sequence[Tuple[str, ...]] = (("linux", "amd64"),)) -> str:
        """Push a small image as `repo:tag` and return the digest the tag resolves to.

        kind: "schema2", "oci" (one manifest for ``platforms[0]``), "oci-index" or "list" (an OCI
        index / Docker manifest list over one child manifest per platform; the index's digest is
        returned). A platform is (os, architecture[, variant]).
        """
        if kind not in KINDS:
            raise ValueError(f"unknown image kind {kind!r}; one of {', '.join(KINDS)}")
        with _Session(self, repo, ("pull", "push")) as session:
            if kind in ("schema2", "oci"):
                body = _image_manifest(session, KINDS[kind], platforms[0])
            else:
                child_type = OCI_MANIFEST if kind == "oci-index" else SCHEMA2
                children = []
                for platform in platforms:
                    child = _image_manifest(session, child_type, platform)
                    digest = session.put_manifest(_digest(child), child, child_type)
                    entry = {"mediaType": child_type, "digest": digest, "size": len(child),
                             "platform": {"architecture": platform[1], "os": platform[0]}}
                    if len(platform) > 2:
                        entry["platform"]["variant"] = platform[2]
                    children.append(entry)
                body = _canonical({"schemaVersion": 2, "mediaType": KINDS[kind], "manifests": children})
            return session.put_manifest(tag, body, KINDS[kind])

    def delete(self, repo: str, digest: str) -> None:
        """DELETE the manifest `digest` (all tags pointing at it disappear); 202 expected."""
        with _Session(self, repo, ("pull", "delete")) as session:
            status, _, body = session.request("DELETE", f"/v2/{repo}/manifests/{digest}")
            if status != 202:
                raise RegistryError(f"DELETE {repo}@{digest}: {status} {body[:300]!r}")

    # -- reading what happened --------------------------------------------------------------------

    def requests_log(self, *, lab: bool = False) -> List[dict]:
        """The requests the registry logged, oldest first: dicts with method, path (the URI with its
        query), status (int), user_agent and remote (the client's address, e.g. "127.0.0.1").

        Every request is logged, 401s included (the access log, not the "response completed" lines,
        which skip requests refused before routing). The lab's own requests (push, delete, readiness;
        user agent ``LAB_USER_AGENT``) are left out unless `lab` is true. The list only grows, so
        ``n = len(reg.requests_log())`` before an action and ``reg.requests_log()[n:]`` after it are
        the action's requests. Waits (bounded) until a marker request it sends is logged, so the
        requests answered before the call are all in.
        """
        marker = f"/lab-sync/{uuid.uuid4().hex}"
        conn = _connection(self.host, self.scheme == "https", self.ca)
        try:
            conn.request("GET", marker, headers={"User-Agent": SYNC_USER_AGENT})
            conn.getresponse().read()
        finally:
            conn.close()
        deadline = time.monotonic() + LOG_SYNC_TIMEOUT
        while True:
            entries = _parse_access_log(self.log_path)
            if any(e["path"] == marker for e in entries) or time.monotonic() > deadline:
                break
            time.sleep(0.02)
        return [e for e in entries if e["user_agent"] != SYNC_USER_AGENT
                and (lab or e["user_agent"] != LAB_USER_AGENT)]

    def log_tail(self, lines: int = 20) -> str:
        return log_tail(self.log_path, lines)

    def stop(self) -> None:
        _stop(self.process)

    def __enter__(self) -> "Registry":
        return self

    def __exit__(self, *exc) -> None:
        self.stop()


def check_prerequisites() -> None:
    """Raise LabUnavailable naming what is missing to run lab registries."""
    if not os.access(REGISTRY_BIN, os.X_OK):
        raise LabUnavailable(f"{REGISTRY_BIN} is missing (apt-get install docker-registry)")
    if not os.access(HTPASSWD_BIN, os.X_OK):
        raise LabUnavailable(f"{HTPASSWD_BIN} is missing (apt-get install apache2-utils)")
    try:
        import cryptography  # noqa: F401
    except ImportError:
        raise LabUnavailable("the cryptography Python package is not installed (pip install -e '.[test]')") from None


def start_registry(folder: str, mode: str = "open", *, users: Optional[Dict[str, str]] = None,
                   token_server: Optional[TokenServer] = None, tls: Optional[Tls] = None) -> Registry:
    """Start a docker-registry on 127.0.0.1:0 with its config, storage and log in `folder`.

    Raises LabUnavailable when it does not answer within READY_TIMEOUT (with its log's tail).
    """
    check_prerequisites()
    if mode not in ("open", "htpasswd", "token"):
        raise ValueError(f"unknown registry mode {mode!r}; one of open, htpasswd, token")
    if mode == "htpasswd" and not users:
        raise ValueError("an htpasswd registry needs users (user -> password)")
    if mode == "token" and token_server is None:
        raise ValueError("a token registry needs a token_server")
    os.makedirs(folder, exist_ok=True)
    config = {
        "version": 0.1,
        "log": {"level": "info", "formatter": "json"},
        "storage": {"filesystem": {"rootdirectory": os.path.join(folder, "data")}, "delete": {"enabled": True},
                    "maintenance": {"uploadpurging": {"enabled": False}}},
        "http": {"addr": "127.0.0.1:0", "secret": uuid.uuid4().hex},
    }
    if tls is not None:
        config["http"]["tls"] = {"certificate": tls.cert, "key": tls.key}
    if mode == "htpasswd":
        config["auth"] = {"htpasswd": {"realm": "runner-doctor-lab", "path": _write_htpasswd(folder, users)}}
    elif mode == "token":
        config["auth"] = {"token": {"realm": token_server.realm, "service": token_server.service,
                                    "issuer": token_server.issuer,
                                    "rootcertbundle": token_server.rootcertbundle}}
    config_path = os.path.join(folder, "config.yml")
    with open(config_path, "w") as fh:
        json.dump(config, fh, indent=2)  # JSON is YAML: the registry reads it as its config.yml
    log_path = os.path.join(folder, "registry.log")
    with open(log_path, "wb") as log:
        process = subprocess.Popen([REGISTRY_BIN, "serve", config_path], stdout=log, stderr=subprocess.STDOUT,
                                   stdin=subprocess.DEVNULL, start_new_session=True, preexec_fn=_die_with_parent,
                                   env={"PATH": "/usr/bin:/bin", "HOME": folder})
    registry = Registry(mode=mode, folder=folder, config_path=config_path, log_path=log_path, process=process,
                        host="", scheme="https" if tls else "http",
                        users=dict(users or (token_server.users if token_server else {})),
                        token_server=token_server, ca=tls.ca if tls else None)
    try:
        _wait_ready(registry, time.monotonic() + READY_TIMEOUT)
    except BaseException:
        registry.stop()
        raise
    return registry


def _die_with_parent() -> None:
    """In the child before exec: SIGTERM it when the thread that started it ends (Linux PR_SET_PDEATHSIG),
    so a test session that is killed leaves no registry behind. Start registries from a thread that
    lives as long as they should (the main thread, as pytest and the benchmark do)."""
    import ctypes

    try:
        ctypes.CDLL(None, use_errno=True).prctl(1, signal.SIGTERM)  # 1 = PR_SET_PDEATHSIG
    except (OSError, AttributeError):
        pass  # not Linux: stop() still stops it


def _wait_ready(registry: Registry, deadline: float) -> None:
    while time.monotonic() < deadline and registry.process.poll() is None:
        if not registry.host:
            with open(registry.log_path, errors="replace") as fh:
                found = _LISTENING.search(fh.read())
            if found:
                registry.host = f"127.0.0.1:{found.group(1)}"
        if registry.host and _ping(registry) in (200, 401):
            return
        time.sleep(0.05)
    state = "exited" if registry.process.poll() is not None else "did not answer GET /v2/"
    raise LabUnavailable(f"docker-registry ({registry.mode}) {state} within {READY_TIMEOUT:.0f}s; "
                         f"its log ends:\n{registry.log_tail()}")


def _ping(registry: Registry) -> Optional[int]:
    conn = _connection(registry.host, registry.scheme == "https", registry.ca, timeout=2)
    try:
        conn.request("GET", "/v2/", headers={"User-Agent": LAB_USER_AGENT})
        response = conn.getresponse()
        response.read()
        return response.status
    except (OSError, http.client.HTTPException):
        return None
    finally:
        conn.close()


def _stop(process: subprocess.Popen) -> None:
    """Stop the registry we started (its own process group): SIGTERM, then SIGKILL."""
    if process.poll() is None:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=STOP_TIMEOUT)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=5)


def _write_htpasswd(folder: str, users: Dict[str, str]) -> str:
    lines = []
    for user, password in users.items():
        proc = subprocess.run([HTPASSWD_BIN, "-Bbn", user, password], capture_output=True, text=True, timeout=30)
        if proc.returncode:
            raise LabUnavailable(f"htpasswd -Bbn {user} failed: {proc.stderr.strip()}")
        lines.append(proc.stdout.strip())
    path = os.path.join(folder, "htpasswd")
    with open(path, "w") as fh:
        fh.write("\n".join(lines) + "\n")
    return path


def _parse_access_log(path: str) -> List[dict]:
    entries = []
    with open(path, errors="replace") as fh:
        for line in fh:
            found = _ACCESS_LINE.match(line)
            if found:
                agent = found.group("agent").replace('\\"', '"').replace("\\\\", "\\")
                entries.append({"method": found.group("method"), "path": found.group("path"),
                                "status": int(found.group("status")), "user_agent": agent,
                                "remote": found.group("remote")})
    return entries


# -- the lab's own v2 client (push and delete only) -----------------------------------------------


def _connection(host: str, https: bool, ca: Optional[str], timeout: float = HTTP_TIMEOUT):
    name, port = host.rsplit(":", 1)
    if https:
        return http.client.HTTPSConnection(name, int(port), timeout=timeout,
                                           context=ssl.create_default_context(cafile=ca))
    return http.client.HTTPConnection(name, int(port), timeout=timeout)


class _Session:
    """One connection to the registry with the admin's authorization for `repo` (Basic, or a token
    fetched from the token server for the wanted actions)."""

    def __init__(self, registry: Registry, repo: str, actions: Sequence[str]):
        self.registry = registry
        self.repo = repo
        self.headers = {"User-Agent": LAB_USER_AGENT}
        if registry.mode == "htpasswd":
            user, password = registry.admin
            self.headers["Authorization"] = "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode()
        elif registry.mode == "token":
            self.headers["Authorization"] = "Bearer " + _fetch_token(registry.token_server, repo, actions)
        self.conn = _connection(registry.host, registry.scheme == "https", registry.ca)

    def request(self, method: str, path: str, body: Optional[bytes] = None,
                headers: Optional[Dict[str, str]] = None):
        self.conn.request(method, path, body=body, headers={**self.headers, **(headers or {})})
        response = self.conn.getresponse()
        return response.status, response.headers, response.read()

    def upload(self, data: bytes) -> str:
        digest = _digest(data)
        status, headers, body = self.request("POST", f"/v2/{self.repo}/blobs/uploads/")
        if status != 202:
            raise RegistryError(f"POST {self.repo} blob upload: {status} {body[:300]!r}")
        location = urlsplit(headers["Location"])
        target = location.path + "?" + "&".join(filter(None, [location.query, urlencode({"digest": digest})]))
        status, _, body = self.request("PUT", target, data, {"Content-Type": "application/octet-stream"})
        if status != 201:
            raise RegistryError(f"PUT {self.repo} blob {digest}: {status} {body[:300]!r}")
        return digest

    def put_manifest(self, reference: str, body: bytes, media_type: str) -> str:
        status, headers, answer = self.request("PUT", f"/v2/{self.repo}/manifests/{reference}", body,
                                               {"Content-Type": media_type})
        if status != 201:
            raise RegistryError(f"PUT {self.repo}:{reference} ({media_type}): {status} {answer[:300]!r}")
        digest = headers.get("Docker-Content-Digest")
        if digest != _digest(body):
            raise RegistryError(f"PUT {self.repo}:{reference}: digest {digest}, expected {_digest(body)}")
        return digest

    def __enter__(self) -> "_Session":
        return self

    def __exit__(self, *exc) -> None:
        self.conn.close()


def _fetch_token(server: TokenServer, repo: str, actions: Sequence[str]) -> str:
    user, password = server.admin
    realm = urlsplit(server.realm)
    query = urlencode({"service": server.service, "scope": f"repository:{repo}:{','.join(actions)}"})
    conn = _connection(realm.netloc, realm.scheme == "https", server.ca)
    try:
        auth = base64.b64encode(f"{user}:{password}".encode()).decode()
        conn.request("GET", f"{realm.path}?{query}", headers={"Authorization": f"Basic {auth}",
                                                              "User-Agent": LAB_USER_AGENT})
        response = conn.getresponse()
        body = response.read()
    finally:
        conn.close()
    if response.status != 200:
        raise RegistryError(f"token server: {response.status} {body[:300]!r}")
    return json.loads(body)["token"]


def _image_manifest(session: _Session, media_type: str, platform: Tuple[str, ...]) -> bytes:
    """Upload a unique config and one tiny layer; return the manifest (bytes) that names them."""
    nonce = uuid.uuid4().hex
    layer_tar = _layer_tar(nonce)
    layer = gzip.compress(layer_tar, mtime=0)
    config = {"architecture": platform[1], "os": platform[0], "created": "2026-01-01T00:00:00Z",
              "config": {"Cmd": ["/lab.txt"], "Labels": {"runner-doctor-lab": nonce}},
              "rootfs": {"type": "layers", "diff_ids": [_digest(layer_tar)]}, "history": [{"comment": "lab"}]}
    if len(platform) > 2:
        config["variant"] = platform[2]
    config_bytes = _canonical(config)
    config_digest = session.upload(config_bytes)
    layer_digest = session.upload(layer)
    manifest = {"schemaVersion": 2, "mediaType": media_type,
                "config": {"mediaType": _CONFIG_TYPES[media_type], "size": len(config_bytes), "digest": config_digest},
                "layers": [{"mediaType": _LAYER_TYPES[media_type], "size": len(layer), "digest": layer_digest}]}
    return _canonical(manifest)


def _layer_tar(nonce: str) -> bytes:
    buf = io.BytesIO()
    data = f"runner-doctor lab layer {nonce}\n".encode()
    with tarfile.open(fileobj=buf, mode="w", format=tarfile.PAX_FORMAT) as tar:
        info = tarfile.TarInfo("lab.txt")
        info.size = len(data)
        info.mode = 0o644
        tar.addfile(info, io.BytesIO(data))
    return buf.getvalue()


def _canonical(doc: dict) -> bytes:
    return json.dumps(doc, separators=(",", ":"), sort_keys=True).encode()


def _digest(data: bytes) -> str:
    return "sha256:" + hashlib.sha256(data).hexdigest()


# -- the session lab ------------------------------------------------------------------------------

HTPASSWD_USERS = {"ci-bot": "s3cret-pa55:with-colon", "admin": "adm1n-pa55"}
TOKEN_USERS = {"ci-bot": "s3cret-pa55:with-colon", "admin": "adm1n-pa55"}
# on the token registry ci-bot may pull acme/<anything> (fnmatch "acme/*"), the admin does everything,
# and anyone (anonymous included) may pull PUBLIC_REPO
TOKEN_GRANTS = {"ci-bot": {"acme/*": ["pull"]}, "admin": {"*": list(ADMIN_ACTIONS)}}
PUBLIC_REPO = "public/hello"


@dataclass
class RegistryLab:
    folder: str
    ca: Ca
    token_server: TokenServer
    open: Registry
    htpasswd: Registry  # users HTPASSWD_USERS
    token: Registry  # users TOKEN_USERS, TOKEN_GRANTS, anonymous pull of PUBLIC_REPO
    tls: Registry  # open, https with a certificate for 127.0.0.1 and localhost signed by `ca`

    def stop(self) -> None:
        for server in (self.open, self.htpasswd, self.token, self.tls, self.token_server):
            if server is not None:
                server.stop()


def start_lab(folder: str) -> RegistryLab:
    """Start the four registries and the token server in `folder`; all stopped again on failure."""
    check_prerequisites()
    started: list = []
    try:
        ca = make_ca(os.path.join(folder, "ca"))
        token_server = start_token_server(os.path.join(folder, "token-server"), users=TOKEN_USERS,
                                          grants=TOKEN_GRANTS, anonymous=[PUBLIC_REPO])
        started.append(token_server)
        registries = {}
        for name, mode, kwargs in (
            ("open", "open", {}),
            ("htpasswd", "htpasswd", {"users": HTPASSWD_USERS}),
            ("token", "token", {"token_server": token_server}),
            ("tls", "open", {"tls": ca.issue(["127.0.0.1", "localhost"], os.path.join(folder, "tls"))}),
        ):
            registries[name] = start_registry(os.path.join(folder, name), mode, **kwargs)
            started.append(registries[name])
    except BaseException:
        for server in reversed(started):
            server.stop()
        raise
    return RegistryLab(folder=folder, ca=ca, token_server=token_server, **registries)


@pytest.fixture(scope="session")
def registry_lab():
    """The running registry lab (see RegistryLab); everything is stopped and removed at the end."""
    folder = tempfile.mkdtemp(prefix="rdreg-")
    try:
        lab = start_lab(folder)
    except LabUnavailable as exc:
        shutil.rmtree(folder, ignore_errors=True)
        fail_or_skip(f"registry lab: {exc}")
        return
    try:
        yield lab
    finally:
        lab.stop()
        shutil.rmtree(folder, ignore_errors=True)


if __name__ == "__main__":
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    where = tempfile.mkdtemp(prefix="rdreg-")
    running = start_lab(where)
    try:
        for label in ("open", "htpasswd", "token", "tls"):
            print(f"{label:9} {getattr(running, label).url}")
        print(f"token realm {running.token_server.realm}; CA {running.ca.cert}  (Ctrl-C stops the lab)")
        while True:
            time.sleep(3600)
    except KeyboardInterrupt:
        pass
    finally:
        running.stop()
        shutil.rmtree(where, ignore_errors=True)
