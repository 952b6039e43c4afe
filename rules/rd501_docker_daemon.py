r"""The Docker Engine answers, is version 19.03 or newer, and runs Linux on x86_64 or arm64.

**What it checks.** On the live host (`runner-doctor check` with no TARGET, or
`--host URL`): the daemon is reachable through its API, and when it is not, the
precise reason - no socket at the path, permission denied on the socket, a path
that is not a socket, a stale socket file nobody listens on, connection refused,
a name that does not resolve, a daemon that does not answer within `--timeout`
(naming the step), a connection that breaks mid-answer or a daemon that stops
while the doctor reads it (naming the step; what it answered before is still
checked), TLS errors, a docker context that does not exist, and for
`ssh://`: paramiko missing, an unknown host key, no usable key, or no `docker`
CLI on the remote host (a password written in the URL is refused, never shown).
Then the server version is at least
19.03 and the daemon runs Linux on x86_64 or arm64 (aarch64).

**Why.** The Linux Docker runner starts every step as a container on this
daemon. Atlassian requires Docker 19.03 or newer on a 64-bit Linux host (x86_64,
or arm64 for the "Linux Docker (arm64)" runner).

**Fails**

```console
$ runner-doctor check
Docker Engine at unix:///var/run/docker.sock (default)
  RD501 docker-daemon  permission denied on /var/run/docker.sock
        fix: add your user to the docker group (sudo usermod -aG docker $USER, then log in again) ...
```

**Passes**

```console
$ sudo runner-doctor check
Docker Engine at unix:///var/run/docker.sock (default)
  RD501 docker-daemon  Docker 28.2.2 (API 1.50) on linux/x86_64
```

**Fix.** Start the daemon (`sudo systemctl start docker`), use a user in the
`docker` group, or point `--host` / `DOCKER_HOST` at the daemon's socket (a
rootless daemon listens on `unix://$XDG_RUNTIME_DIR/docker.sock`). Upgrade
Docker Engine older than 19.03.

**References.** Atlassian, "Runners" (requirements: Docker 19.03+, 64-bit Linux,
8 GB); `../shared/reference/bitbucket-runners.md` §3.3, §8;
`../shared/reference/registry-and-docker-config.md` §6.
"""

import re

from doctor.model import Severity
from doctor.rulebase import Rule

MIN_VERSION = (19, 3)
ARCHES = {"x86_64": "x86_64", "amd64": "x86_64", "aarch64": "arm64", "arm64": "arm64"}


def _version_tuple(text):
    m = re.match(r"(\d+)\.(\d+)", text or "")
    return (int(m.group(1)), int(m.group(2))) if m else None


class DockerDaemon(Rule):
    id = "RD501"
    name = "docker-daemon"
    severity = Severity.ERROR
    applies_to = ("host",)
    docker_only = False

    def check(self, subject, ctx):
        facts = subject.host
        if not facts.reachable:
            p = facts.problem
            yield self.fail(f"the Docker daemon cannot be reached: {p.message}" if p else
                            "the Docker daemon cannot be reached", p.fix if p else "")
            return
        if facts.problem is not None:
            # reached, but a later step failed or hung: name it
            yield self.fail(facts.problem.message, facts.problem.fix)
        v = facts.version
        server = v.get("Version") or "?"
        api = v.get("ApiVersion") or "?"
        os_name = (facts.info.get("OSType") or v.get("Os") or "").lower()
        arch = facts.info.get("Architecture") or v.get("Arch") or ""
        ok = True
        parsed = _version_tuple(server)
        if parsed is not None and parsed < MIN_VERSION:
            ok = False
            yield self.fail(f"Docker {server} is older than 19.03, the oldest version the runner supports",
                            "upgrade Docker Engine (https://docs.docker.com/engine/install/)")
        if os_name and os_name != "linux":
            ok = False
            yield self.fail(f"the daemon runs {os_name} containers: the Linux Docker runner needs a Linux daemon",
                            "use a Linux host (or switch Docker Desktop to Linux containers)")
        if arch and arch.lower() not in ARCHES:
            ok = False
            yield self.fail(f"the host architecture is {arch}: the runner supports x86_64 and arm64",
                            "use an x86_64 or arm64 host")
        if ok and facts.problem is None:
            yield self.ok(f"Docker {server} (API {api}) on {os_name or '?'}/{ARCHES.get(arch.lower(), arch) or '?'}")


RULE = DockerDaemon()
