"""RD402/RD403 end to end: the CLI against the registry lab, the lab daemon, and broken networks."""

import base64
import json
import os
import shutil
import sys
import tempfile
import time

import pytest

from doctor import engine
from doctor.inputs import load_targets
from doctor.inputs.common import LoadOptions
from doctor.registry import results as R
from doctor.registry.results import ImageCheck, Probe, RegistryResults
from doctor.rulebase import Context
from tests.conftest import ROOT, run_cli
from tests.lab import netfaults
from tests.lab.dockerd import RUNNER_IMAGE, RUNNER_TAG, LabUnavailable, fail_or_skip
from tests.lab.registry import HTPASSWD_USERS

FIXTURE = os.path.join(ROOT, "fixtures", "registry", "private-helpers.sh")
NO_DAEMON = {"DOCKER_HOST": "unix:///nonexistent/runner-doctor-tests/docker.sock"}
HELPERS = ("bitbucket/pause:3.9", "bitbucket/auth-proxy:prod-stable", "bitbucket/dvcs-tools:prod-stable")


def script(folder, host, replace=None, name="start.sh"):
    with open(FIXTURE, encoding="utf-8") as fh:
        text = fh.read().replace("registry.lab.example:5443", host)
    for old, new in (replace or {}).items():
        text = text.replace(old, new)
    path = os.path.join(folder, name)
    with open(path, "w", encoding="utf-8") as fh:
        fh.write(text)
    return path


def config(folder, host, user, password):
    path = os.path.join(folder, "config.json")
    auth = base64.b64encode(f"{user}:{password}".encode()).decode()
    with open(path, "w", encoding="utf-8") as fh:
        json.dump({"auths": {host: {"auth": auth}}}, fh)
    return path


def findings(proc, rule):
    assert proc.returncode in (0, 1), proc.stderr
    return [f for f in json.loads(proc.stdout)["findings"] if f["rule"] == rule]


@pytest.fixture
def folder():
    path = tempfile.mkdtemp(prefix="rdregrule-")
    yield path
    shutil.rmtree(path, ignore_errors=True)


def test_an_unreachable_registry_costs_the_timeout_and_the_rest_still_reports(registry_lab, folder):
    registry_lab.open.push("bitbucket/pause", "3.9")
    hole, close = netfaults.blackhole()
    try:
        path = script(folder, registry_lab.open.host, {
            f"{registry_lab.open.host}/bitbucket/auth-proxy": f"{hole}/bitbucket/auth-proxy",
            f"{registry_lab.open.host}/bitbucket/dvcs-tools": f"{hole}/bitbucket/dvcs-tools"})
        started = time.monotonic()
        proc = run_cli(["check", "--format", "json", "--timeout", "2", path], env=NO_DAEMON)
        elapsed = time.monotonic() - started
    finally:
        close()
    assert elapsed < 2 * 2 + 6, elapsed  # https then http to the blackhole, each bounded; plus start-up
    doc = json.loads(proc.stdout)
    by = {(f["rule"], f["status"]) for f in doc["findings"]}
    assert ("RD101", "pass") in by and ("RD201", "pass") in by  # the other rules report
    rd402 = [f for f in doc["findings"] if f["rule"] == "RD402"]
    assert any(f["status"] == "pass" and "PAUSE_IMAGE" in f["message"] for f in rd402)
    slow = [f for f in rd402 if hole in f["message"]]
    assert len(slow) == 2 and all(f["status"] == "fail" and "did not answer within 2 s" in f["message"] for f in slow)
    assert proc.returncode == 1


def test_passwords_never_appear_in_any_output(registry_lab, folder):
    for ref in HELPERS:
        registry_lab.htpasswd.push(*ref.split(":"))
    path = script(folder, registry_lab.htpasswd.host)
    for password in ("an-old-pa55word-canary", HTPASSWD_USERS["ci-bot"]):
        cfg = config(folder, registry_lab.htpasswd.host, "ci-bot", password)
        forms = {password, base64.b64encode(f"ci-bot:{password}".encode()).decode(),
                 base64.b64encode(password.encode()).decode().rstrip("=")}
        for fmt in ("rich", "json", "sarif", "markdown", "junit", "github"):
            proc = run_cli(["check", "--format", fmt, "--select", "RD402", "--docker-config", cfg, path], env=NO_DAEMON)
            out = proc.stdout + proc.stderr
            if "canary" in password:
                assert "ci-bot" in out, out  # the refused user is named
            for form in forms:
                assert form not in out, f"{fmt} shows a secret"
        statuses = {f["status"] for f in findings(run_cli(["check", "--format", "json", "--select", "RD402",
                                                           "--docker-config", cfg, path], env=NO_DAEMON), "RD402")}
        assert statuses == ({"fail", "skip"} if "canary" in password else {"pass", "skip"})


def test_dns_failure_and_a_registry_by_name(registry_lab, folder):
    registry_lab.open.push("bitbucket/pause", "3.9")
    port = registry_lab.open.host.rsplit(":", 1)[1]
    path = script(folder, registry_lab.open.host, {
        f"{registry_lab.open.host}/bitbucket/pause": f"registry.test:{port}/bitbucket/pause",
        f"{registry_lab.open.host}/bitbucket/auth-proxy": "registry.nowhere.test:5443/bitbucket/auth-proxy",
        f"{registry_lab.open.host}/bitbucket/dvcs-tools": "registry.nowhere.test:5443/bitbucket/dvcs-tools"})
    env = {**os.environ, **NO_DAEMON, "RUNNER_DOCTOR_LOOPBACK_ONLY": "0", "NO_COLOR": "1", "PYTHONPATH": ROOT}
    try:
        proc = netfaults.dns_isolated([sys.executable, "-m", "doctor", "check", "--format", "json", "--select",
                                       "RD402", "--timeout", "3", path], env,
                                      hosts={"registry.test": "127.0.0.1"})
    except LabUnavailable as exc:
        fail_or_skip(str(exc))
        return
    got = findings(proc, "RD402")
    by_what = {f["message"].split(" ", 1)[0]: f for f in got}
    assert by_what["PAUSE_IMAGE"]["status"] == "pass", by_what
    assert by_what["CLONE_IMAGE"]["status"] == "fail"
    assert "registry.nowhere.test does not resolve" in by_what["CLONE_IMAGE"]["message"]
    runner = [f for f in got if f["message"].startswith("the runner image")]
    assert runner and runner[0]["status"] == "fail" and "does not resolve" in runner[0]["message"]


def _push_from_lab(daemon, name):
    for args in (("tag", f"{RUNNER_IMAGE}:{RUNNER_TAG}", name), ("push", name)):
        proc = daemon.cli(*args, timeout=60)
        assert proc.returncode == 0, proc.stderr


def test_rd403_never_pushed_deleted_and_present(registry_lab, docker_lab, folder):
    reg = registry_lab.open
    for ref in HELPERS[:2]:
        reg.push(*ref.split(":"))
    clone = f"{reg.host}/bitbucket/dvcs-tools"
    cases = {}
    try:
        # never pushed: only tagged in the lab daemon
        proc = docker_lab.cli("tag", f"{RUNNER_IMAGE}:{RUNNER_TAG}", f"{clone}:never-pushed")
        assert proc.returncode == 0, proc.stderr
        cases["never-pushed"] = "fail"
        # pushed with docker push from the lab daemon, then deleted from the registry
        _push_from_lab(docker_lab, f"{clone}:deleted")
        digest = [d for d in docker_lab.client.images.get(f"{clone}:deleted").attrs["RepoDigests"]
                  if d.startswith(clone)][0].split("@")[1]
        reg.delete("bitbucket/dvcs-tools", digest)
        cases["deleted"] = "fail"
        # pushed and still there
        _push_from_lab(docker_lab, f"{clone}:present")
        cases["present"] = "pass"
        for tag, want in cases.items():
            path = script(folder, reg.host, {"dvcs-tools:prod-stable": f"dvcs-tools:{tag}"}, f"{tag}.sh")
            proc = run_cli(["check", "--format", "json", "--select", "RD402,RD403", "--host", docker_lab.base_url,
                            path])
            got = [f for f in findings(proc, "RD403") if f["message"].startswith("CLONE_IMAGE")]
            assert [f["status"] for f in got] == [want], (tag, got)
            if want == "fail":
                assert "every time" in got[0]["message"] and "docker push" in got[0]["remediation"]
            rd402 = [f for f in findings(proc, "RD402") if f["message"].startswith("CLONE_IMAGE")]
            assert rd402[0]["status"] == want and "the daemon at" in rd402[0]["message"]
    finally:
        for tag in ("never-pushed", "deleted", "present"):
            docker_lab.cli("rmi", f"{clone}:{tag}")


def test_rd403_by_digest(registry_lab, docker_lab, folder):
    reg = registry_lab.open
    for ref in HELPERS[:2]:
        reg.push(*ref.split(":"))
    clone = f"{reg.host}/bitbucket/dvcs-tools"
    try:
        _push_from_lab(docker_lab, f"{clone}:pinned")
        digest = [d for d in docker_lab.client.images.get(f"{clone}:pinned").attrs["RepoDigests"]
                  if d.startswith(clone)][0].split("@")[1]
        path = script(folder, reg.host, {"dvcs-tools:prod-stable": f"dvcs-tools@{digest}"})
        proc = run_cli(["check", "--format", "json", "--select", "RD403", "--host", docker_lab.base_url, path])
        got = [f for f in findings(proc, "RD403") if f["message"].startswith("CLONE_IMAGE")]
        assert got[0]["status"] == "pass" and "in the local image store" in got[0]["message"], got
    finally:
        docker_lab.cli("rmi", f"{clone}:pinned")


# ---- how RD402 weighs the daemon's answer against the direct probe (results built by hand) ----

def _report(direct, daemon):
    subject = load_targets([os.path.join(ROOT, "fixtures", "registry", "private-helpers.sh")], LoadOptions())[0]
    ctx = Context()
    results = RegistryResults()
    key = "k"
    results.checks[key] = ImageCheck(key, "registry.lab.example:5443/bitbucket/pause:3.9", "registry.lab.example:5443",
                                     "anonymous", direct, daemon, "unix:///run/docker.sock")
    results.pulls[subject.id] = {"PAUSE_IMAGE": key}
    ctx.registry = results
    found = engine.run([subject], engine.select_rules(["RD402"]), ctx)
    return [f for f in found if f.message.startswith("PAUSE_IMAGE")][0]


def test_the_daemon_is_the_verdict_and_the_direct_probe_explains():
    direct = Probe("direct", R.TLS, "the TLS certificate of registry.lab.example:5443 is signed by an unknown authority",
                   "put the CA in /etc/docker/certs.d/registry.lab.example:5443/ca.crt")
    daemon = Probe("daemon", R.TLS, "the daemon cannot resolve it: x509: certificate signed by unknown authority")
    got = _report(direct, daemon)
    assert got.status.value == "fail" and "why, from the direct probe" in got.message
    assert "certs.d" in got.remediation


def test_a_daemon_that_fails_where_the_doctor_succeeds_points_at_its_network_view():
    direct = Probe("direct", R.OK, "resolves tag 3.9 to sha256:" + "a" * 64, digest="sha256:" + "a" * 64)
    daemon = Probe("daemon", R.DNS, "the daemon cannot resolve it: no such host")
    got = _report(direct, daemon)
    assert got.status.value == "fail" and "daemon's network view" in got.message


def test_a_daemon_that_succeeds_where_the_doctor_fails_passes_with_a_note():
    direct = Probe("direct", R.TIMEOUT, "registry.lab.example:5443 did not answer within 10 s")
    daemon = Probe("daemon", R.OK, "the daemon resolves it", digest="sha256:" + "b" * 64)
    got = _report(direct, daemon)
    assert got.status.value == "pass" and "the daemon reaches the registry another way" in got.message


def test_an_image_without_the_daemons_platform_fails():
    direct = Probe("direct", R.OK, "resolves", digest="sha256:" + "c" * 64, platforms=["linux/arm64/v8"])
    subject = load_targets([os.path.join(ROOT, "fixtures", "registry", "private-helpers.sh")], LoadOptions())[0]
    ctx = Context()
    from doctor.live.daemon import DaemonFacts

    ctx.daemon = DaemonFacts("unix:///run/docker.sock", "default", version={"ApiVersion": "1.41"},
                             info={"Architecture": "x86_64"})
    results = RegistryResults({"k": ImageCheck("k", "x", "x", "anonymous", direct)}, [],
                              {subject.id: {"PAUSE_IMAGE": "k"}})
    ctx.registry = results
    found = [f for f in engine.run([subject], engine.select_rules(["RD402"]), ctx) if f.message.startswith("PAUSE")]
    assert found[0].status.value == "fail" and "linux/amd64" in found[0].message


def test_results_round_trip_through_a_dict():
    probe = Probe("direct", R.RATE_LIMITED, "429", rate_limit=R.RateLimit(100, 0, 21600, "198.51.100.7", "60"))
    results = RegistryResults({"k": ImageCheck("k", "i", "r", "anonymous", probe)}, ["n"], {"s": {"PAUSE_IMAGE": "k"}})
    again = RegistryResults.from_dict(json.loads(json.dumps(results.to_dict())))
    assert again == results


class _EchoingTokenService:
    """A registry on 127.0.0.1 whose token service answers 500 with an error echoing the Authorization it got
    (decoded too) - what a broken token service or proxy does; the doctor prints token errors."""

    def __init__(self):
        import threading
        from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

        owner = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self):  # noqa: N802
                if self.path.startswith("/v2/"):
                    self._reply(401, b'{"errors":[{"code":"UNAUTHORIZED","message":"authentication required"}]}',
                                ("WWW-Authenticate", f'Bearer realm="http://{owner.host}/token",service="echo"'))
                    return
                got = self.headers.get("Authorization", "")
                decoded = base64.b64decode(got.split(" ", 1)[-1]).decode() if got else ""
                body = json.dumps({"errors": [{"code": "UNKNOWN", "message": f"cannot issue a token for {got} "
                                                                             f"({decoded})"}]}).encode()
                self._reply(500, body)

            do_HEAD = do_GET

            def _reply(self, status, body, *headers):
                self.send_response(status)
                for k, v in (("Content-Type", "application/json"), ("Content-Length", str(len(body))), *headers):
                    self.send_header(k, v)
                self.end_headers()
                if self.command != "HEAD":
                    self.wfile.write(body)

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.host = f"127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def stop(self):
        self.server.shutdown()
        self.server.server_close()


def test_a_token_service_echoing_the_credentials_in_its_error_is_masked(folder):
    password = "echoed-pa55word-canary"
    blob = base64.b64encode(f"ci-bot:{password}".encode()).decode()
    echo = _EchoingTokenService()
    try:
        path = script(folder, echo.host)
        cfg = config(folder, echo.host, "ci-bot", password)
        for fmt in ("rich", "json", "markdown", "sarif"):
            proc = run_cli(["check", "--format", fmt, "--select", "RD402", "--docker-config", cfg, path],
                           env=NO_DAEMON)
            assert proc.returncode == 1, proc.stderr
            assert "cannot issue a token" in " ".join(proc.stdout.split()), proc.stdout
            assert password not in proc.stdout and blob not in proc.stdout, fmt
    finally:
        echo.stop()


def test_the_host_login_used_for_the_runner_image_is_masked(folder):
    """The runner image is pulled with the host's docker login (DOCKER_CONFIG): its password is a secret too."""
    password = "host-login-canary-pa55"
    blob = base64.b64encode(f"ci-bot:{password}".encode()).decode()
    echo = _EchoingTokenService()
    try:
        path = script(folder, echo.host, {
            "docker-public.packages.atlassian.com/sox/atlassian/bitbucket-pipelines-runner:1":
                f"{echo.host}/sox/atlassian/bitbucket-pipelines-runner:1"})
        login = os.path.join(folder, "login")
        os.makedirs(login)
        config(login, echo.host, "ci-bot", password)
        proc = run_cli(["check", "--format", "json", "--select", "RD402", path],
                       env={**NO_DAEMON, "DOCKER_CONFIG": login})
        runner = [f for f in findings(proc, "RD402") if f["message"].startswith("the runner image")]
        assert runner and runner[0]["status"] == "fail" and "cannot issue a token" in runner[0]["message"], runner
        assert "ci-bot" in runner[0]["evidence"]
        assert password not in proc.stdout and blob not in proc.stdout
        bundle = os.path.join(folder, "bundle.json")
        proc = run_cli(["bundle", "--select", "RD402", "-o", bundle, path], env={**NO_DAEMON, "DOCKER_CONFIG": login})
        assert proc.returncode == 0, proc.stderr
        with open(bundle, encoding="utf-8") as fh:
            text = fh.read()
        assert "cannot issue a token" in text and password not in text and blob not in text
    finally:
        echo.stop()
