import os
import sys

import pytest

from tests.lab.dockerd import docker_lab  # noqa: F401  (private Docker engine fixture)

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
