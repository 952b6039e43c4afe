"""The registry lab itself works: real docker-registry instances in each auth mode, the token server,
TLS with the lab CA, pushes of every manifest kind, deletes, the access log, and each fault server.

Uses only http.client/urllib/socket (not the doctor's code), so a failure here is the lab's.
"""

import base64
import http.client
import json
import os
import socket
import ssl
import sys
import time
import urllib.request
import uuid
from urllib.parse import urlencode, urlsplit

import pytest

from tests.lab import netfaults, pki
from tests.lab.dockerd import LabUnavailable, fail_or_skip
from tests.lab.registry import (ACCEPT_ALL, HTPASSWD_USERS, KINDS, MANIFEST_LIST, OCI_INDEX, OCI_MANIFEST,
                                PUBLIC_REPO, SCHEMA2, TOKEN_USERS)

WRONG = "not-the-password"


def _request(url, method="GET", path="/v2/", headers=None, ca=None, timeout=10):
    """(status, headers, body) of one request; `url` is "http(s)://host:port"."""
    target = urlsplit(url)
    if target.scheme == "https":
        conn = http.client.HTTPSConnection(target.hostname, target.port, timeout=timeout,
                                           context=ssl.create_default_context(cafile=ca))
    else:
        conn = http.client.HTTPConnection(target.hostname, target.port, timeout=timeout)
    try:
        conn.request(method, path, headers=headers or {})
        response = conn.getresponse()
        return response.status, response.headers, response.read()
    finally:
        conn.close()


def _basic(user, password):
    return {"Authorization": "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode()}


def _challenge(header):
    """{"scheme": ..., param: value} of a WWW-Authenticate header with one challenge."""
    scheme, _, rest = header.partition(" ")
    params = dict(part.split("=", 1) for part in rest.split(","))
    return {"scheme": scheme, **{k.strip(): v.strip('"') for k, v in params.items()}}


def _token(lab, repo, auth=None, actions="pull"):
    realm = urlsplit(lab.token_server.realm)
    query = urlencode({"service": lab.token_server.service, "scope": f"repository:{repo}:{actions}"})
    status, _, body = _request(f"{realm.scheme}://{realm.netloc}", path=f"{realm.path}?{query}", headers=auth)
    return status, json.loads(body)


def _repo(prefix="acme"):
    return f"{prefix}/lab-{uuid.uuid4().hex[:10]}"


def test_open_registry_answers_200(registry_lab):
    status, headers, body = _request(registry_lab.open.url)
    assert (status, body) == (200, b"{}")
    assert headers["Docker-Distribution-Api-Version"] == "registry/2.0"
    assert registry_lab.open.host.startswith("127.0.0.1:") and not registry_lab.open.host.endswith(":5000")


def test_htpasswd_registry_asks_for_basic_and_checks_the_password(registry_lab):
    reg = registry_lab.htpasswd
    status, headers, body = _request(reg.url)
    assert status == 401
    assert _challenge(headers["WWW-Authenticate"])["scheme"] == "Basic"
    assert json.loads(body)["errors"][0]["code"] == "UNAUTHORIZED"
    assert _request(reg.url, headers=_basic("ci-bot", HTPASSWD_USERS["ci-bot"]))[0] == 200  # a ':' in it
    assert _request(reg.url, headers=_basic("ci-bot", WRONG))[0] == 401
    assert _request(reg.url, headers=_basic("nobody", WRONG))[0] == 401


def test_token_flow_grants_what_the_user_has_and_refuses_the_rest(registry_lab):
    reg, server = registry_lab.token, registry_lab.token_server
    granted, other = _repo("acme"), _repo("other")
    reg.push(granted, "1")
    reg.push(other, "1")
    status, headers, _ = _request(reg.url)
    challenge = _challenge(headers["WWW-Authenticate"])
    assert status == 401 and challenge["scheme"] == "Bearer"
    assert (challenge["realm"], challenge["service"]) == (server.realm, server.service)

    ci_bot = _basic("ci-bot", TOKEN_USERS["ci-bot"])
    status, doc = _token(registry_lab, granted, ci_bot)
    assert status == 200 and doc["token"] == doc["access_token"] and doc["expires_in"] == 300
    bearer = {"Authorization": f"Bearer {doc['token']}", "Accept": ACCEPT_ALL}
    assert _request(reg.url, "HEAD", f"/v2/{granted}/manifests/1", bearer)[0] == 200

    _, doc = _token(registry_lab, other, ci_bot)  # a token is issued, without that repository in it
    status, headers, _ = _request(reg.url, "HEAD", f"/v2/{other}/manifests/1",
                                  {"Authorization": f"Bearer {doc['token']}", "Accept": ACCEPT_ALL})
    assert status == 401 and _challenge(headers["WWW-Authenticate"])["error"] == "insufficient_scope"

    status, doc = _token(registry_lab, granted, _basic("ci-bot", WRONG))
    assert status == 401 and doc["errors"][0]["code"] == "UNAUTHORIZED"

    reg.push(PUBLIC_REPO, "latest")
    _, doc = _token(registry_lab, PUBLIC_REPO)  # anonymous
    assert _request(reg.url, "HEAD", f"/v2/{PUBLIC_REPO}/manifests/latest",
                    {"Authorization": f"Bearer {doc['token']}", "Accept": ACCEPT_ALL})[0] == 200

    seen = list(server.requests)
    assert {"authorization": "Basic", "user": "ci-bot"}.items() <= seen[-4].items()
    assert seen[-1]["authorization"] is None and seen[-1]["query"]["scope"] == [f"repository:{PUBLIC_REPO}:pull"]
    assert TOKEN_USERS["ci-bot"] not in repr(seen) and WRONG not in repr(seen)


def test_token_server_listens_on_another_loopback_address(tmp_path):
    with netfaults.Recorder("127.0.0.2") as other:  # 127.0.0.2 is routed locally like 127.0.0.1
        assert _request(other.url)[0] == 200
    from tests.lab.tokenserver import start_token_server

    with start_token_server(str(tmp_path), users={"u": "p"}, grants={}, host="127.0.0.2") as server:
        assert server.realm.startswith("http://127.0.0.2:")
        realm = urlsplit(server.realm)
        status, _, body = _request(f"http://{realm.netloc}", path="/token?service=x&scope=repository:a:pull")
        assert status == 200 and json.loads(body)["token"].count(".") == 2


def test_tls_registry_is_trusted_through_the_lab_ca(registry_lab, tmp_path):
    reg = registry_lab.tls
    assert reg.url.startswith("https://127.0.0.1:")
    assert _request(reg.url, ca=registry_lab.ca.cert)[0] == 200
    assert _request(f"https://localhost:{reg.host.rsplit(':', 1)[1]}", ca=registry_lab.ca.cert)[0] == 200
    with pytest.raises(ssl.SSLCertVerificationError):
        _request(reg.url)  # the system's CAs do not know the lab CA
    folder = pki.certs_d(str(tmp_path / "certs.d"), reg.host, registry_lab.ca)
    assert open(os.path.join(folder, reg.host, "ca.crt")).read() == open(registry_lab.ca.cert).read()


@pytest.mark.parametrize("mode", ["open", "htpasswd", "token", "tls"])
def test_push_of_every_kind_resolves_with_all_accept_types(registry_lab, mode):
    reg = getattr(registry_lab, mode)
    repo = _repo()
    auth = {}
    if mode == "htpasswd":
        auth = _basic("ci-bot", HTPASSWD_USERS["ci-bot"])
    elif mode == "token":
        auth = {"Authorization": "Bearer " + _token(registry_lab, repo, _basic(*reg.admin))[1]["token"]}
    platforms = (("linux", "amd64"), ("linux", "arm64", "v8"))
    for kind, media_type in KINDS.items():
        digest = reg.push(repo, kind, kind, platforms=platforms)
        status, headers, body = _request(reg.url, "HEAD", f"/v2/{repo}/manifests/{kind}",
                                         {**auth, "Accept": ACCEPT_ALL}, ca=registry_lab.ca.cert)
        assert (status, body) == (200, b"")
        assert headers["Content-Type"] == media_type
        assert headers["Docker-Content-Digest"] == digest
        if kind in ("oci-index", "list"):
            _, _, manifest = _request(reg.url, "GET", f"/v2/{repo}/manifests/{digest}",
                                      {**auth, "Accept": ACCEPT_ALL}, ca=registry_lab.ca.cert)
            assert [m["platform"]["architecture"] for m in json.loads(manifest)["manifests"]] == ["amd64", "arm64"]


def test_registry_behaves_as_the_reference_says_for_naive_accept_headers(registry_lab):
    reg, repo = registry_lab.open, _repo()
    reg.push(repo, "index", "oci-index")
    reg.push(repo, "list", "list")
    status, _, body = _request(reg.url, "GET", f"/v2/{repo}/manifests/index", {"Accept": SCHEMA2})
    assert status == 404 and json.loads(body)["errors"][0]["code"] == "MANIFEST_UNKNOWN"
    _, headers, _ = _request(reg.url, "HEAD", f"/v2/{repo}/manifests/list", {"Accept": SCHEMA2})
    assert headers["Content-Type"] == SCHEMA2  # the linux/amd64 child, not the list
    assert {MANIFEST_LIST, OCI_INDEX, OCI_MANIFEST, SCHEMA2} == set(ACCEPT_ALL.split(", "))


def test_delete_then_manifest_unknown(registry_lab):
    reg, repo = registry_lab.htpasswd, _repo()
    digest = reg.push(repo, "gone")
    reg.delete(repo, digest)
    auth = {**_basic("admin", HTPASSWD_USERS["admin"]), "Accept": ACCEPT_ALL}
    assert _request(reg.url, "HEAD", f"/v2/{repo}/manifests/gone", auth)[0] == 404
    status, _, body = _request(reg.url, "GET", f"/v2/{repo}/manifests/gone", auth)
    assert status == 404 and json.loads(body)["errors"][0]["code"] == "MANIFEST_UNKNOWN"


def test_requests_log_sees_each_request_with_status_and_user_agent(registry_lab):
    reg = registry_lab.htpasswd
    before = len(reg.requests_log())
    _request(reg.url, "HEAD", "/v2/acme/none/manifests/1", {"User-Agent": "lab-test/1"})
    _request(reg.url, "HEAD", "/v2/acme/none/manifests/1", {"User-Agent": "lab-test/2", "Accept": ACCEPT_ALL,
                                                           **_basic("ci-bot", HTPASSWD_USERS["ci-bot"])})
    seen = reg.requests_log()[before:]
    assert [(e["method"], e["path"], e["status"], e["user_agent"]) for e in seen] == [
        ("HEAD", "/v2/acme/none/manifests/1", 401, "lab-test/1"),
        ("HEAD", "/v2/acme/none/manifests/1", 404, "lab-test/2")]
    assert all(e["user_agent"] != "runner-doctor-lab/1" for e in reg.requests_log())
    assert any(e["method"] == "PUT" for e in reg.requests_log(lab=True))


# -- fault servers ---------------------------------------------------------------------------------


def test_silent_server_accepts_and_never_answers():
    with netfaults.SilentServer() as silent:
        host, port = silent.host.rsplit(":", 1)
        with socket.create_connection((host, int(port)), timeout=2) as conn:
            conn.sendall(b"GET /v2/ HTTP/1.1\r\nHost: x\r\n\r\n")
            conn.settimeout(0.5)
            with pytest.raises(socket.timeout):
                conn.recv(1)


def test_blackhole_connect_hangs():
    host, close = netfaults.blackhole()
    try:
        name, port = host.rsplit(":", 1)
        with pytest.raises(socket.timeout):
            socket.create_connection((name, int(port)), timeout=0.5).close()
    finally:
        close()


def test_faulty_registry_rate_limit():
    with netfaults.FaultyRegistry() as faulty:
        status, headers, _ = _request(faulty.url)
        assert status == 200 and headers["Docker-Distribution-Api-Version"] == "registry/2.0"
        status, headers, body = _request(faulty.url, "HEAD", "/v2/library/alpine/manifests/3",
                                         {"Authorization": "Bearer x"})
        assert (status, body) == (429, b"")
        assert headers["ratelimit-limit"] == "100;w=21600" and headers["ratelimit-remaining"] == "0;w=21600"
        assert headers["docker-ratelimit-source"] and headers["Retry-After"] == "60"
        status, _, body = _request(faulty.url, "GET", "/v2/library/alpine/manifests/3")
        assert json.loads(body)["errors"][0]["code"] == "TOOMANYREQUESTS"
    assert faulty.requests == [{"method": "GET", "path": "/v2/", "authorization": False},
                               {"method": "HEAD", "path": "/v2/library/alpine/manifests/3", "authorization": True},
                               {"method": "GET", "path": "/v2/library/alpine/manifests/3", "authorization": False}]


@pytest.mark.parametrize("status, code", [(500, "UNKNOWN"), (503, "UNAVAILABLE")])
def test_faulty_registry_server_errors(status, code):
    with netfaults.FaultyRegistry(manifest_status=status) as faulty:
        answer, headers, body = _request(faulty.url, "GET", "/v2/acme/app/manifests/1")
        assert answer == status and json.loads(body)["errors"][0]["code"] == code
        assert "ratelimit-limit" not in headers


def test_faulty_registry_bad_json_and_oversized_bodies():
    with netfaults.FaultyRegistry(manifest_status=500, bad_json=True) as faulty:
        _, _, body = _request(faulty.url, "GET", "/v2/acme/app/manifests/1")
        with pytest.raises(ValueError):
            json.loads(body)
    with netfaults.FaultyRegistry(manifest_status=500, oversized=True) as faulty:
        host, port = faulty.host.rsplit(":", 1)
        conn = http.client.HTTPConnection(host, int(port), timeout=5)
        try:
            conn.request("GET", "/v2/acme/app/manifests/1")
            response = conn.getresponse()
            assert response.status == 500 and int(response.headers["Content-Length"]) == 50 * 1024 * 1024
            assert len(response.read(1024 * 1024)) == 1024 * 1024  # a careful client stops here
        finally:
            conn.close()


def test_faulty_registry_slowloris_trickles_the_headers():
    with netfaults.FaultyRegistry(manifest_status=503, slowloris=True) as faulty:
        host, port = faulty.host.rsplit(":", 1)
        with socket.create_connection((host, int(port)), timeout=5) as conn:
            conn.sendall(b"HEAD /v2/acme/app/manifests/1 HTTP/1.1\r\nHost: x\r\n\r\n")
            assert conn.recv(100) == b"H"  # one byte, then the next only after 2 s
            conn.settimeout(0.5)
            with pytest.raises(socket.timeout):
                conn.recv(100)


def test_faulty_registry_forwards_the_rest_to_an_upstream(registry_lab):
    with netfaults.FaultyRegistry(registry_lab.token.url, manifest_status=429) as faulty:
        status, headers, _ = _request(faulty.url)
        assert status == 401 and _challenge(headers["WWW-Authenticate"])["realm"] == registry_lab.token_server.realm
        assert _request(faulty.url, "HEAD", "/v2/acme/app/manifests/1")[0] == 429


def test_redirecting_front_catches_credentials_carried_to_another_host():
    with netfaults.Recorder("127.0.0.2") as recorder, netfaults.RedirectingFront(recorder.url) as front:
        status, headers, _ = _request(front.url)
        assert status == 401 and headers["WWW-Authenticate"] == 'Basic realm="x"'
        status, headers, _ = _request(front.url, "HEAD", "/v2/acme/app/manifests/1?x=1")
        assert status == 307 and headers["Location"] == f"{recorder.url}/v2/acme/app/manifests/1?x=1"

        leaky = urllib.request.Request(f"{front.url}/v2/acme/app/manifests/1", method="HEAD",
                                       headers={"Authorization": "Basic bGVhazpsZWFr"})
        urllib.request.urlopen(leaky, timeout=5).close()  # urllib carries a header-set Authorization along
        careful = urllib.request.Request(f"{front.url}/v2/acme/app/manifests/2", method="HEAD")
        careful.add_unredirected_header("Authorization", "Basic bGVhazpsZWFr")
        urllib.request.urlopen(careful, timeout=5).close()
    assert [(r["path"], r["authorization"]) for r in recorder.requests] == [
        ("/v2/acme/app/manifests/1", True), ("/v2/acme/app/manifests/2", False)]
    assert [r["authorization"] for r in front.requests[2:]] == [True, True]


def test_delay_proxy_forwards_and_adds_the_delay(registry_lab):
    host, port = registry_lab.open.host.rsplit(":", 1)
    with netfaults.DelayProxy(host, int(port), 0) as proxy:
        status, _, body = _request(f"http://{proxy.host}")
        assert (status, body) == (200, b"{}")
        proxy.delay = 0.2
        started = time.monotonic()
        assert _request(f"http://{proxy.host}")[0] == 200
        assert time.monotonic() - started >= 0.2  # a loose lower bound: at least one round trip added
        assert proxy.connections == 2


def test_dns_isolated_resolves_only_its_hosts():
    probe = ("import socket, time\n"
             "print(socket.gethostbyname('registry.test'))\n"
             "t = time.monotonic()\n"
             "try:\n    socket.getaddrinfo('registry.invalid', 443)\nexcept socket.gaierror as e:\n"
             "    print('failed', e.errno, round(time.monotonic() - t, 2))\n")
    try:
        proc = netfaults.dns_isolated([sys.executable, "-c", probe], dict(os.environ), timeout=30)
    except LabUnavailable as exc:
        fail_or_skip(str(exc))
    assert proc.returncode == 0, proc.stderr
    resolved, failed = proc.stdout.split("\n")[:2]
    assert resolved == "127.0.0.1"
    assert failed.startswith("failed") and float(failed.split()[-1]) < 5  # quickly: no DNS server is asked
    assert open("/etc/resolv.conf").read() != "nameserver 127.0.0.1\n"  # the machine's file is untouched
