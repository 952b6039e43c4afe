"""RD002/RD401/RD404 cases the YAML rule cases cannot express (declared mirrors, inline variants)."""

import pytest

from doctor import api
from tests.conftest import FIXTURES

MIRROR = f"{FIXTURES}/images/runner-mirror.sh"
DIALOG = f"{FIXTURES}/docker-run/dialog.sh"
RUNNER = "docker-public.packages.atlassian.com/sox/atlassian/bitbucket-pipelines-runner"


def _findings(targets, rule, **kw):
    report = api.check(targets, select=[rule], offline=True, **kw)
    return [(f.status.value, f.message, f.location.line) for f in report.findings]


@pytest.mark.parametrize("declared", [
    "harbor.acme.example/atlassian-proxy/sox/atlassian/bitbucket-pipelines-runner",
    "harbor.acme.example/atlassian-proxy/sox/atlassian/bitbucket-pipelines-runner:1",
])
def test_declared_mirror_passes(declared):
    ((status, message, line),) = _findings([MIRROR], "RD002", runner_mirrors=[declared])
    assert status == "pass" and "mirror" in message and line == 15


def test_undeclared_mirror_warns():
    ((status, message, _),) = _findings([MIRROR], "RD002")
    assert status == "warn" and "--runner-image" not in message


def _script(tmp_path, image, *env):
    lines = ["docker run -d --restart unless-stopped \\", "  -v /tmp:/tmp \\"]
    lines += [f"  -e {e} \\" for e in env]
    lines += ["  -e RUNNER_UUID={0f1e2d3c-4b5a-5968-8776-a5b4c3d2e1f0} \\", f"  {image}", ""]
    path = tmp_path / "start.sh"
    path.write_text("\n".join(lines))
    return str(path)


@pytest.mark.parametrize("image,status,words", [
    (f"{RUNNER}:1", "pass", "tag '1'"),
    (f"{RUNNER}:ddev-stable", "warn", "internal"),
    (f"{RUNNER}:1.34", "warn", "'1.34'"),
    (f"{RUNNER}:1@sha256:" + "ab" * 32, "pass", "digest"),
    (RUNNER.replace("/sox/", "/SOX/") + ":1", "fail", "must be lowercase"),
    (f"{RUNNER}::1", "fail", "not a valid image reference"),
])
def test_runner_image_variants(tmp_path, image, status, words):
    ((got, message, line),) = _findings([_script(tmp_path, image)], "RD002")
    assert (got, line) == (status, 4)
    assert words in message


@pytest.mark.parametrize("value,status,words", [
    ("registry.acme.example:5443/google/pause:3.9", "pass", "registry registry.acme.example:5443"),
    ("localhost:5000", "fail", "with the tag '5000'"),
    ("registry.acme.example", "warn", "has no '/'"),
    ("pause:3.9", "warn", "docker.io/library/pause"),
    ("docker.io/rancher/mirrored-pause:3.9", "pass", "registry docker.io"),
    ("Registry/pause:3.9", "warn", "uppercase"),
    ("my_registry.example.com/pause", "fail", "not a valid registry host"),
    ("registry.acme.example/pause@md5:" + "a" * 32, "fail", "unsupported digest algorithm"),
    ("", "warn", "empty"),
])
def test_helper_image_variants(tmp_path, value, status, words):
    findings = _findings([_script(tmp_path, f"{RUNNER}:1", f"PAUSE_IMAGE={value}")], "RD401")
    assert findings[0][0] == "pass"  # the runner image
    got, message, line = findings[1]
    assert (got, line) == (status, 3)
    assert words in message


def test_last_definition_wins(tmp_path):
    path = _script(tmp_path, f"{RUNNER}:1", "CLONE_IMAGE=my-registry/dvcs-tools",
                   "CLONE_IMAGE=my-registry.acme.example/dvcs-tools:prod-stable")
    assert [f[0] for f in _findings([path], "RD401")] == ["pass", "pass"]
    assert [f[0] for f in _findings([path], "RD404")] == ["pass"]


def test_no_message_shows_the_oauth_secret():
    report = api.check([DIALOG, MIRROR], select=["RD002", "RD401", "RD404"], offline=True)
    secret = "ATOAx9K2mP7qR4sT8vW1yZ3bC6dF0gH5jL9nQ2rS7uV4wX8zA1cE5fG3hJ6kM0pR4tV8xZ2bD"
    for f in report.findings:
        assert secret not in f.message + f.remediation + f.evidence
