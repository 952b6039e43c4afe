"""The read-only promise, watched from the outside during full runs.

The private lab daemon's event stream, the lab registries' access logs and the
token server's request log are recorded while the doctor checks runners whose
helper images live in those registries (every rule, every output format), and
the files it reads are compared before and after.
"""

import base64
import json
import os
import shutil
import tempfile
import time

from tests.conftest import ROOT, run_cli
from tests.lab import containers
from tests.lab.registry import HTPASSWD_USERS, TOKEN_USERS

WRITES = ("POST", "PUT", "PATCH", "DELETE")


def _snapshot(folder):
    out = {}
    for name in sorted(os.listdir(folder)):
        path = os.path.join(folder, name)
        with open(path, "rb") as fh:
            out[name] = (fh.read(), os.stat(path).st_mtime_ns)
    return out


def _events(lab, since, until):
    return [(e.get("Type"), e.get("Action"), (e.get("Actor") or {}).get("Attributes", {}).get("name"))
            for e in lab.api.events(since=f"{since:.9f}", until=f"{until:.9f}", decode=True)]


def test_full_runs_only_read(registry_lab, docker_lab):
    folder = tempfile.mkdtemp(prefix="rdreadonly-")
    try:
        scripts = []
        for reg, users, name in ((registry_lab.htpasswd, HTPASSWD_USERS, "htpasswd"),
                                 (registry_lab.token, TOKEN_USERS, "token")):
            repos = ("acme/pause:3.9", "acme/auth-proxy:prod-stable", "acme/dvcs-tools:prod-stable")
            for ref in repos:
                reg.push(*ref.split(":"))
            with open(os.path.join(ROOT, "fixtures", "registry", "token-helpers.sh"), encoding="utf-8") as fh:
                text = fh.read().replace("registry.lab.example:5443", reg.host)
            text = text.replace("/srv/runner/docker", folder)
            path = os.path.join(folder, f"{name}.sh")
            with open(path, "w", encoding="utf-8") as fh:
                fh.write(text)
            scripts.append(path)
        auths = {reg.host: {"auth": base64.b64encode(f"ci-bot:{HTPASSWD_USERS['ci-bot']}".encode()).decode()}
                 for reg in (registry_lab.htpasswd, registry_lab.token)}
        with open(os.path.join(folder, "config.json"), "w", encoding="utf-8") as fh:
            json.dump({"auths": auths}, fh)
        os.chmod(os.path.join(folder, "config.json"), 0o600)
        before_files = _snapshot(folder)
        logs = [(r, len(r.requests_log())) for r in (registry_lab.htpasswd, registry_lab.token)]
        token_seen = len(registry_lab.token_server.requests)
        with containers.holding(docker_lab, ["DIALOG"]):
            time.sleep(0.1)
            since = time.time()
            time.sleep(0.1)
            for fmt in ("rich", "json", "sarif"):
                proc = run_cli(["check", "--format", fmt, "--host", docker_lab.base_url, *scripts])
                assert proc.returncode in (0, 1) and proc.stderr == "", proc.stderr
            time.sleep(0.1)
            until = time.time()
            during = _events(docker_lab, since, until)
        assert during == [], f"the doctor changed the daemon: {during}"
        assert _snapshot(folder) == before_files, "a file the doctor read changed (content or mtime)"
        for reg, seen in logs:
            new = reg.requests_log()[seen:]
            mine = [r for r in new if (r.get("user_agent") or "").startswith("runner-doctor/")]
            assert mine, f"no request of runner-doctor reached {reg.host}"
            for r in mine:
                path = r["path"].split("?")[0]
                assert path == "/v2/" or (
                    "/manifests/" in path and r["method"] in ("HEAD", "GET")), f"runner-doctor sent {r}"
                assert "/blobs/" not in path
            # the daemon's own lookups (/distribution) read too: nothing is written to the registry
            assert not [r for r in new if r["method"] in WRITES], [r for r in new if r["method"] in WRITES]
        token = registry_lab.token_server.requests[token_seen:]
        assert token and all(r["method"] == "GET" and r["path"] == "/token" for r in token), token
    finally:
        shutil.rmtree(folder, ignore_errors=True)
