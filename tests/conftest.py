import os
import sys

import pytest

from tests.lab.dockerd import docker_lab, docker_lab_log_none  # noqa: F401  (private Docker engines)
from tests.lab.registry import registry_lab  # noqa: F401  (real docker-registry instances)

# The tests talk only to this machine: the registry checks contact loopback registries only (the others are
# reported "not contacted"), whatever image a fixture names. Subprocesses inherit it.
os.environ["RUNNER_DOCTOR_LOOPBACK_ONLY"] = "1"

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
FIXTURES = os.path.join(ROOT, "fixtures")


@pytest.fixture
def fixture_path():
    def get(*parts):
        return os.path.join(FIXTURES, *parts)

    return get


def run_cli(args, cwd=None, env=None, stdin=None):
    """Run `python -m doctor` as a user would; returns CompletedProcess (text)."""
    import subprocess

    full_env = dict(os.environ)
    full_env.pop("FORCE_COLOR", None)
    full_env.update({"COLUMNS": "80", "NO_COLOR": "1"})
    if env:
        full_env.update(env)
    return subprocess.run([sys.executable, "-m", "doctor", *args], cwd=cwd or ROOT, env=full_env,
                          capture_output=True, text=True, input=stdin, timeout=120)


@pytest.fixture(scope="session", autouse=True)
def _no_host_paths_created():
    """Tests must not change this machine: a started lab container whose bind source is missing makes
    dockerd create that path as a folder (e.g. /var/run/docker.sock), which changes what the doctor sees."""
    watched = ["/var/run/docker.sock", "/run/docker.sock", "/var/lib/docker/containers"]
    before = {p: os.path.lexists(p) for p in watched}
    yield
    created = [p for p in watched if os.path.lexists(p) and not before[p]]
    assert not created, f"the tests created {created} on this machine; mount only existing paths in started specs"
