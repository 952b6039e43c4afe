"""The direct registry probe (doctor/registry) against real Debian docker-registry instances.

Every verdict and reason RD402 gives comes from here: each case runs against
the registry lab (tests/lab/registry.py: open, htpasswd, token and TLS
registries on 127.0.0.1) or one of the fault servers (tests/lab/netfaults.py).
"""

import os
import socket
import tempfile
import time

import pytest

from doctor.imageref import parse_reference
from doctor.registry import results as R
from doctor.registry.plan import Credentials, Pull
from doctor.registry.probe import Policy, Prober, parse_challenges
from doctor.registry.transport import NetError, Transport
from tests.lab import netfaults
from tests.lab.pki import certs_d
from tests.lab.registry import HTPASSWD_USERS, PUBLIC_REPO, TOKEN_USERS, start_registry
from tests.lab.tokenserver import start_token_server

SECURE = {"InsecureRegistryCIDRs": [], "IndexConfigs": {}}  # a daemon that trusts no registry without TLS
PASSWORD = HTPASSWD_USERS["ci-bot"]


def pull(host, name, user=None, password=None, what="PAUSE_IMAGE"):
    creds = Credentials(user, password, "/srv/runner/docker/config.json", host) if user else None
    text = f"{host}/{name}"
    return Pull(what, text, parse_reference(text), None, creds)


@pytest.fixture
def probe():
    probers = []

    def run(p, timeout=5.0, policy=None, certs=None):
        prober = Prober(timeout, policy or Policy(loopback_only=True),
                        Transport(timeout, certs or "/nonexistent/certs.d"))
        probers.append(prober)
        return prober.probe(p)

    yield run
    for p in probers:
        p.close()


# ---- what the registry has ----

@pytest.mark.parametrize("kind,media_type", [
    ("schema2", "application/vnd.docker.distribution.manifest.v2+json"),
    ("oci", "application/vnd.oci.image.manifest.v1+json"),
    ("oci-index", "application/vnd.oci.image.index.v1+json"),
    ("list", "application/vnd.docker.distribution.manifest.list.v2+json"),
])
def test_every_manifest_kind_resolves_to_its_digest(registry_lab, probe, kind, media_type):
    digest = registry_lab.open.push(f"kinds/{kind}", "1", kind, platforms=(("linux", "amd64"), ("linux", "arm64", "v8")))
    got = probe(pull(registry_lab.open.host, f"kinds/{kind}:1"))
    assert got.outcome == R.OK, got
    assert got.digest == digest and got.media_type == media_type
    if kind in ("oci-index", "list"):
        assert got.platforms == ["linux/amd64", "linux/arm64/v8"]
    else:
        assert got.platforms == [] and any("config blob" in n for n in got.notes)


def test_a_pinned_digest_resolves(registry_lab, probe):
    digest = registry_lab.open.push("pinned/pause", "3.9")
    got = probe(pull(registry_lab.open.host, f"pinned/pause@{digest}"))
    assert got.outcome == R.OK and got.digest == digest


def test_a_tag_never_pushed_is_not_found(registry_lab, probe):
    registry_lab.open.push("acme/clone", "1")
    got = probe(pull(registry_lab.open.host, "acme/clone:2"))
    assert got.outcome == R.NOT_FOUND
    assert "no tag 2 in repository acme/clone" in got.message and "docker push" in got.fix


def test_a_deleted_manifest_is_not_found(registry_lab, probe):
    digest = registry_lab.open.push("acme/deleted", "1")
    assert probe(pull(registry_lab.open.host, "acme/deleted:1")).outcome == R.OK
    registry_lab.open.delete("acme/deleted", digest)
    assert probe(pull(registry_lab.open.host, "acme/deleted:1")).outcome == R.NOT_FOUND


def test_only_head_and_no_blob_is_requested(registry_lab, probe):
    registry_lab.open.push("readonly/pause", "1")
    registry_lab.open.push("readonly/index", "1", "oci-index")
    before = len(registry_lab.open.requests_log())
    for name in ("readonly/pause:1", "readonly/index:1"):
        assert probe(pull(registry_lab.open.host, name)).outcome == R.OK
    mine = [r for r in registry_lab.open.requests_log()[before:] if "runner-doctor" in (r.get("user_agent") or "")]
    assert mine, "the registry's log shows no request of runner-doctor"
    assert not [r for r in mine if "/blobs/" in r["path"]]
    manifests = [(r["method"], r["path"].rsplit("/", 1)[-1]) for r in mine if "/manifests/" in r["path"]]
    # a HEAD per image; the index is then read by digest (GET) to list its platforms
    assert ("HEAD", "1") in manifests and all(m == "HEAD" for m, ref in manifests if ref == "1")
    assert all(ref.startswith("sha256:") for m, ref in manifests if m == "GET")


# ---- credentials ----

def test_htpasswd_with_the_right_password(registry_lab, probe):
    registry_lab.htpasswd.push("acme/pause", "1")
    got = probe(pull(registry_lab.htpasswd.host, "acme/pause:1", "ci-bot", PASSWORD))
    assert got.outcome == R.OK, got


def test_htpasswd_with_a_wrong_password(registry_lab, probe):
    registry_lab.htpasswd.push("acme/pause", "1")
    got = probe(pull(registry_lab.htpasswd.host, "acme/pause:1", "ci-bot", "not-the-password"))
    assert got.outcome == R.UNAUTHORIZED
    assert "refused the credentials of ci-bot" in got.message and "/srv/runner/docker/config.json" in got.fix


def test_htpasswd_without_credentials(registry_lab, probe):
    registry_lab.htpasswd.push("acme/pause", "1")
    got = probe(pull(registry_lab.htpasswd.host, "acme/pause:1"))
    assert got.outcome == R.UNAUTHORIZED and "requires credentials" in got.message
    assert "/root/.docker" in got.fix


def test_token_auth_with_pull_access(registry_lab, probe):
    registry_lab.token.push("acme/pause", "1")
    got = probe(pull(registry_lab.token.host, "acme/pause:1", "ci-bot", TOKEN_USERS["ci-bot"]))
    assert got.outcome == R.OK, got
    asked = [r for r in registry_lab.token_server.requests if r["query"].get("scope") == ["repository:acme/pause:pull"]]
    assert asked and asked[-1]["authorization"] == "Basic" and asked[-1]["user"] == "ci-bot"


def test_token_scope_refused(registry_lab, probe):
    registry_lab.token.push("other/tools", "1")
    got = probe(pull(registry_lab.token.host, "other/tools:1", "ci-bot", TOKEN_USERS["ci-bot"]))
    assert got.outcome == R.INSUFFICIENT_SCOPE
    assert "ci-bot" in got.message and "insufficient_scope" in got.message


def test_token_service_refuses_a_wrong_password(registry_lab, probe):
    got = probe(pull(registry_lab.token.host, "acme/pause:1", "ci-bot", "wrong"))
    assert got.outcome == R.UNAUTHORIZED and "token service" in got.message


def test_anonymous_token_for_a_public_and_a_private_repository(registry_lab, probe):
    registry_lab.token.push(PUBLIC_REPO, "1")
    registry_lab.token.push("acme/private", "1")
    assert probe(pull(registry_lab.token.host, f"{PUBLIC_REPO}:1")).outcome == R.OK
    got = probe(pull(registry_lab.token.host, "acme/private:1"))
    assert got.outcome == R.UNAUTHORIZED and "anonymous" in got.message


def test_no_credentials_to_a_plain_http_token_realm_on_another_host():
    folder = tempfile.mkdtemp(prefix="rdrealm-")
    try:
        server = start_token_server(os.path.join(folder, "ts"), users=dict(TOKEN_USERS),
                                    grants={"ci-bot": {"acme/*": ["pull"]}, "admin": {"*": ["pull", "push", "delete"]}},
                                    host="127.0.0.2")
    except Exception as exc:  # noqa: BLE001
        pytest.skip(f"cannot start a token server on 127.0.0.2: {exc}")
    try:
        with start_registry(os.path.join(folder, "reg"), "token", token_server=server) as reg:
            reg.push("acme/pause", "1")
            seen = len(server.requests)
            prober = Prober(5, Policy(loopback_only=True), Transport(5))
            try:
                got = prober.probe(pull(reg.host, "acme/pause:1", "ci-bot", TOKEN_USERS["ci-bot"]))
            finally:
                prober.close()
            mine = server.requests[seen:]
            assert mine and all(r["authorization"] is None for r in mine), mine
            assert got.outcome == R.UNSAFE_REALM, got
            assert "did not send it the credentials of ci-bot" in got.message and "https" in got.fix
    finally:
        server.stop()


def test_a_redirect_to_another_host_carries_no_credentials_and_stays_a_head(probe):
    with netfaults.Recorder("127.0.0.2") as elsewhere:
        with netfaults.RedirectingFront(f"http://{elsewhere.host}") as front:
            got = probe(pull(front.host, "acme/pause:1", "ci-bot", PASSWORD))
            assert front.requests and any(r["authorization"] for r in front.requests)
            manifests = [r for r in elsewhere.requests if "/manifests/" in r["path"]]
            assert manifests, elsewhere.requests
            assert manifests[0]["method"] == "HEAD", manifests  # the redirect kept the method
            assert not any(r["authorization"] for r in manifests), manifests
            # the Recorder's 200 has no digest: like docker, the probe then GETs the manifest - and says so
            if len(manifests) > 1:
                assert any("read with GET" in n for n in got.notes), got.notes
            assert any("sent without credentials" in step for step in got.trail)


# ---- TLS and plain HTTP ----

def test_tls_with_an_unknown_authority_names_certs_d(registry_lab, probe):
    registry_lab.tls.push("acme/pause", "1")
    got = probe(pull(registry_lab.tls.host, "acme/pause:1"), policy=Policy(SECURE, loopback_only=True))
    assert got.outcome == R.TLS and "unknown authority" in got.message
    assert f"/etc/docker/certs.d/{registry_lab.tls.host}/ca.crt" in got.fix


def test_tls_trusted_through_certs_d(registry_lab, probe):
    registry_lab.tls.push("acme/pause", "1")
    folder = certs_d(tempfile.mkdtemp(prefix="rdcerts-"), registry_lab.tls.host, registry_lab.ca)
    got = probe(pull(registry_lab.tls.host, "acme/pause:1"), policy=Policy(SECURE, loopback_only=True), certs=folder)
    assert got.outcome == R.OK, got


def test_tls_certificate_for_another_name(registry_lab, probe):
    """A TLS endpoint whose certificate (from the lab's CA) names only registry.acme.example, reached as 127.0.0.1."""
    import ssl
    import threading
    from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

    class V2(BaseHTTPRequestHandler):
        def do_GET(self):
            self.send_response(200)
            self.send_header("Content-Length", "2")
            self.end_headers()
            self.wfile.write(b"{}")

        def log_message(self, *args):
            pass

    folder = tempfile.mkdtemp(prefix="rdmismatch-")
    tls = registry_lab.ca.issue(["registry.acme.example"], os.path.join(folder, "tls"))
    server = ThreadingHTTPServer(("127.0.0.1", 0), V2)
    ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ctx.load_cert_chain(tls.cert, tls.key)
    server.socket = ctx.wrap_socket(server.socket, server_side=True)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        host = f"127.0.0.1:{server.server_address[1]}"
        trusted = certs_d(os.path.join(folder, "certs.d"), host, registry_lab.ca)
        got = probe(pull(host, "acme/pause:1"), policy=Policy(SECURE, loopback_only=True), certs=trusted)
    finally:
        server.shutdown()
        server.server_close()
    assert got.outcome == R.TLS and "not valid for that name" in got.message


def test_insecure_registry_over_tls_without_verification(registry_lab, probe):
    """Docker skips verification for insecure registries (loopback is always insecure)."""
    registry_lab.tls.push("acme/insecure", "1")
    assert probe(pull(registry_lab.tls.host, "acme/insecure:1")).outcome == R.OK


def test_http_only_registry_that_docker_would_reach_over_https(registry_lab, probe):
    got = probe(pull(registry_lab.open.host, "acme/pause:1"), policy=Policy(SECURE, loopback_only=True))
    assert got.outcome == R.HTTP_ONLY and "insecure-registries" in got.fix


def test_insecure_registry_falls_back_to_http(registry_lab, probe):
    registry_lab.open.push("acme/fallback", "1")
    got = probe(pull(registry_lab.open.host, "acme/fallback:1"))
    assert got.outcome == R.OK and any("plain HTTP" in n for n in got.notes)


# ---- network faults ----

def _free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


def test_connection_refused(probe):
    got = probe(pull(f"127.0.0.1:{_free_port()}", "acme/pause:1"))
    assert got.outcome == R.REFUSED and "refused" in got.message


def test_a_server_that_never_answers_costs_the_timeout(probe):
    with netfaults.SilentServer() as silent:
        started = time.monotonic()
        got = probe(pull(silent.host, "acme/pause:1"), timeout=1.0)
        assert time.monotonic() - started < 1.0 * 2 + 2  # https then http, each bounded
    assert got.outcome == R.TIMEOUT and "within 1 s" in got.message


def test_a_blackholed_registry_costs_the_timeout(probe):
    host, close = netfaults.blackhole()
    try:
        started = time.monotonic()
        got = probe(pull(host, "acme/pause:1"), timeout=1.0)
        assert time.monotonic() - started < 1.0 * 2 + 2
    finally:
        close()
    assert got.outcome == R.TIMEOUT


def test_slowloris_is_cut_at_the_timeout(probe):
    with netfaults.FaultyRegistry(manifest_status=200, slowloris=True) as faulty:
        started = time.monotonic()
        got = probe(pull(faulty.host, "acme/pause:1"), timeout=1.5)
        assert time.monotonic() - started < 1.5 + 3
    assert got.outcome == R.TIMEOUT


def test_rate_limited_with_the_limit_headers(probe):
    with netfaults.FaultyRegistry(manifest_status=429) as faulty:
        got = probe(pull(faulty.host, "acme/pause:1"))
    assert got.outcome == R.RATE_LIMITED
    assert "0 of 100 pulls left per 6 h" in got.message and "198.51.100.7" in got.message
    assert got.rate_limit.remaining == 0 and got.rate_limit.window == 21600


@pytest.mark.parametrize("status", [500, 503])
def test_server_errors(probe, status):
    with netfaults.FaultyRegistry(manifest_status=status) as faulty:
        got = probe(pull(faulty.host, "acme/pause:1"))
    assert got.outcome == R.SERVER_ERROR and str(status) in got.message


def test_access_denied(registry_lab, probe):
    with netfaults.FaultyRegistry(registry_lab.htpasswd.url, manifest_status=403) as faulty:
        got = probe(pull(faulty.host, "acme/pause:1", "ci-bot", PASSWORD))
    assert got.outcome == R.DENIED and "denies ci-bot access to acme/pause (403)" in got.message


def test_a_malformed_error_body_is_still_reported_by_status(probe):
    with netfaults.FaultyRegistry(manifest_status=500, bad_json=True) as faulty:
        got = probe(pull(faulty.host, "acme/pause:1"))
    assert got.outcome == R.SERVER_ERROR


def test_an_oversized_answer_is_not_read(registry_lab):
    with netfaults.FaultyRegistry(manifest_status=200, oversized=True) as faulty:
        transport = Transport(5)
        try:
            with pytest.raises(NetError) as info:
                transport.request("GET", f"http://{faulty.host}/v2/acme/pause/manifests/1", max_body=1024)
        finally:
            transport.close()
    assert info.value.kind == R.PROTOCOL and "bytes" in info.value.message


def test_one_ping_per_registry_and_connections_reused(registry_lab):
    names = [f"reuse/img{i}" for i in range(6)]
    for n in names:
        registry_lab.open.push(n, "1")
    reg_host, reg_port = registry_lab.open.host.split(":")
    with netfaults.DelayProxy(reg_host, int(reg_port), 0.0) as proxy:
        from concurrent.futures import ThreadPoolExecutor

        prober = Prober(5, Policy(loopback_only=True), Transport(5))
        try:
            with ThreadPoolExecutor(6) as pool:
                got = list(pool.map(lambda n: prober.probe(pull(proxy.host, f"{n}:1")), names))
            again = [prober.probe(pull(proxy.host, f"{n}:1")) for n in names]
        finally:
            prober.close()
        assert all(g.outcome == R.OK for g in got + again), got
        # the https attempt of the single ping, plus at most one connection per concurrent probe
        assert proxy.connections <= 1 + len(names) + 1, proxy.connections


# ---- what only Docker Hub does (it cannot run here: its answers are built from the documented headers) ----

def test_challenge_parsing():
    got = parse_challenges('Bearer realm="https://auth.docker.io/token",service="registry.docker.io",'
                           'scope="repository:library/alpine:pull",error="insufficient_scope", Basic realm="x"')
    assert got == [("bearer", {"realm": "https://auth.docker.io/token", "service": "registry.docker.io",
                               "scope": "repository:library/alpine:pull", "error": "insufficient_scope"}),
                   ("basic", {"realm": "x"})]


def test_docker_hub_401_is_ambiguous():
    from doctor.registry.probe import _Registry
    from doctor.registry.transport import Response

    reg = _Registry("docker.io")
    resp = Response(401, {"www-authenticate": 'Bearer realm="https://auth.docker.io/token",service="registry.docker.io",'
                                              'error="insufficient_scope"'}, b"", "https://registry-1.docker.io/v2/x",
                    [("WWW-Authenticate", 'Bearer realm="https://auth.docker.io/token",service="registry.docker.io",'
                                          'error="insufficient_scope"')])
    p = Pull("CLONE_IMAGE", "acme/clone:1", parse_reference("acme/clone:1"), None, None)
    got = Prober(1, Policy(loopback_only=True))._interpret(resp, reg, p, None, [], [])
    assert got.outcome == R.AMBIGUOUS and "will not say which" in got.message
    assert reg.api == "registry-1.docker.io" and p.ref.path == "acme/clone"
    assert parse_reference("alpine:3.20").path == "library/alpine"
