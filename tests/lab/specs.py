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
