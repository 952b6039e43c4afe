"""The runner containers the lab creates (and that fixtures/inspect/*.json were captured from).

Identifiers and secrets are fakes in the shape Bitbucket generates (see fixtures/docker-run/dialog.sh).
"""

from dataclasses import dataclass, field
from typing import List, Optional

RUNNER_UUID = "{0f1e2d3c-4b5a-5968-8776-a5b4c3d2e1f0}"
DIALOG_ENV = [
    "ACCOUNT_UUID={3f9b1c2e-6d4a-4b8e-9f0a-1c2d3e4f5a6b}",
    "REPOSITORY_UUID={7a8b9c0d-1e2f-4a3b-8c4d-5e6f7a8b9c0d}",
    f"RUNNER_UUID={RUNNER_UUID}",
    "RUNTIME_PREREQUISITES_ENABLED=true",
    "OAUTH_CLIENT_ID=Zq4VtW8yXk2LmN9pRs5TuB7cDe3FgH6J",
    "OAUTH_CLIENT_SECRET=ATOAx9K2mP7qR4sT8vW1yZ3bC6dF0gH5jL9nQ2rS7uV4wX8zA1cE5fG3hJ6kM0pR4tV8xZ2bD",
    "WORKING_DIRECTORY=/tmp",
]
SECRET = DIALOG_ENV[5].split("=", 1)[1]


@dataclass
class ContainerSpec:
    name: str
    volumes: List[str]
    env: List[str] = field(default_factory=lambda: list(DIALOG_ENV))
    restart: Optional[str] = None
    memory: Optional[str] = None
    fixture: Optional[str] = None  # fixtures/inspect/<fixture> captured from it
    command: Optional[List[str]] = None  # instead of the image's CMD (sleep 3600)
    start: bool = False  # started, not only created (live rule cases; a failing command with a restart policy loops)


# `docker container run -it --restart unless-stopped ...` with the dialog's three mounts
DIALOG = ContainerSpec(
    name="runner-0f1e2d3c-4b5a-5968-8776-a5b4c3d2e1f0",
    volumes=["/tmp:/tmp", "/var/run/docker.sock:/var/run/docker.sock",
             "/var/lib/docker/containers:/var/lib/docker/containers:ro"],
    restart="unless-stopped",
    fixture="runner-container.json",
)

# a per-runner folder mounted at /tmp, the containers folder writable, 256 MiB of memory
BROKEN = ContainerSpec(
    name="runner-2",
    volumes=["/tmp/runner-1:/tmp", "/var/run/docker.sock:/var/run/docker.sock",
             "/var/lib/docker/containers:/var/lib/docker/containers"],
    restart="unless-stopped",
    memory="256m",
    fixture="runner-container-broken.json",
)

SPECS = [DIALOG, BROKEN]


# ---- live rule scenarios (RD101/RD102/RD104/RD206/RD301/RD502/RD503): tests/test_live_rules.py
# "{lab}" in a volume stands for the lab's folder (lab.root): its socket is {lab}/docker.sock and its
# data-root {lab}/data, a non-default one. A spec that is started mounts only paths that exist ({lab}/..., /tmp):
# starting a container whose bind source is missing would make dockerd create it as a folder on this machine.
LAB_SOCKET = "{lab}/docker.sock"
LAB_CONTAINERS = "{lab}/data/containers"


def live_env(runner_uuid: str, *extra: str) -> List[str]:
    """The dialog's variables with another RUNNER_UUID (each scenario its own runner), plus extra ones."""
    return [f"RUNNER_UUID={runner_uuid}" if e.startswith("RUNNER_UUID=") else e for e in DIALOG_ENV] + list(extra)


LIVE_MOUNTS = ["/tmp:/tmp", f"{LAB_SOCKET}:/var/run/docker.sock",
               f"{LAB_CONTAINERS}:/var/lib/docker/containers:ro", f"{LAB_CONTAINERS}:{LAB_CONTAINERS}:ro"]
# planted in a crashing runner's log next to the OAuth secret: both must come out masked
LOG_CANARY = "canary-registry-pw-5e1f"

# the lab's own socket and containers folder (at both paths), 1 GiB, running: every live check passes
LIVE_GOOD = ContainerSpec(
    name="runner-5e1f0001-0000-4000-8000-000000000001",
    volumes=LIVE_MOUNTS,
    env=live_env("{5e1f0001-0000-4000-8000-000000000001}"),
    restart="unless-stopped",
    memory="1g",
    start=True,
)

# the dialog's mounts on a daemon that listens elsewhere and keeps its data elsewhere; 256 MiB; never started
LIVE_DEFAULT_PATHS = ContainerSpec(
    name="runner-5e1f0002-0000-4000-8000-000000000002",
    volumes=["/tmp:/tmp", "/var/run/docker.sock:/var/run/docker.sock",
             "/var/lib/docker/containers:/var/lib/docker/containers:ro"],
    env=live_env("{5e1f0002-0000-4000-8000-000000000002}"),
    restart="unless-stopped",
    memory="256m",
)

# stopped: the runner exited 0 (as after `docker stop` of a process that exits cleanly)
LIVE_STOPPED = ContainerSpec(
    name="runner-5e1f0003-0000-4000-8000-000000000003",
    volumes=LIVE_MOUNTS,
    env=live_env("{5e1f0003-0000-4000-8000-000000000003}"),
    command=["sh", "-c", "exit 0"],
    start=True,
)

# restarting in a loop: exits 3 under --restart always, logging the secret and a canary first
LIVE_RESTARTING = ContainerSpec(
    name="runner-5e1f0004-0000-4000-8000-000000000004",
    volumes=LIVE_MOUNTS,
    env=live_env("{5e1f0004-0000-4000-8000-000000000004}", f"REGISTRY_PASSWORD={LOG_CANARY}"),
    restart="always",
    command=["sh", "-c", 'echo "runner starting"; echo "login failed: client secret $OAUTH_CLIENT_SECRET, '
                         'registry password $REGISTRY_PASSWORD"; exit 3'],
    start=True,
)

# crashed: exited 2, no restart policy
LIVE_CRASHED = ContainerSpec(
    name="runner-5e1f0005-0000-4000-8000-000000000005",
    volumes=LIVE_MOUNTS,
    env=live_env("{5e1f0005-0000-4000-8000-000000000005}"),
    command=["sh", "-c", 'echo "fatal: cannot reach the Docker daemon"; exit 2'],
    start=True,
)

# two running containers with one RUNNER_UUID
_TWIN_UUID = "{5e1f0006-0000-4000-8000-000000000006}"
LIVE_TWIN_A = ContainerSpec(name="runner-twin-a", volumes=LIVE_MOUNTS, env=live_env(_TWIN_UUID), start=True)
LIVE_TWIN_B = ContainerSpec(name="runner-twin-b", volumes=LIVE_MOUNTS, env=live_env(_TWIN_UUID), start=True)

# a config folder mount whose host folder does not exist (never started, so dockerd does not create it)
LIVE_CONFIG_MISSING = ContainerSpec(
    name="runner-5e1f0007-0000-4000-8000-000000000007",
    volumes=LIVE_MOUNTS + ["{lab}/no-docker-config:/root/.docker:ro"],
    env=live_env("{5e1f0007-0000-4000-8000-000000000007}"),
)

LIVE_SPECS = [LIVE_GOOD, LIVE_DEFAULT_PATHS, LIVE_STOPPED, LIVE_RESTARTING, LIVE_CRASHED, LIVE_TWIN_A, LIVE_TWIN_B,
              LIVE_CONFIG_MISSING]

# running (the image's sleep), mounting only /tmp: usable by the YAML rule cases as it is (no "{lab}" paths)
LIVE_RUNNING = ContainerSpec(
    name="runner-5e1f0008-0000-4000-8000-000000000008",
    volumes=["/tmp:/tmp"],
    env=live_env("{5e1f0008-0000-4000-8000-000000000008}"),
    restart="unless-stopped",
    start=True,
)
LIVE_SPECS.append(LIVE_RUNNING)
