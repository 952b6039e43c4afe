r"""The host's /var/lib/docker/containers is bind-mounted read-only at /var/lib/docker/containers.

**What it checks.** A bind mount with container path `/var/lib/docker/containers`,
read-only (`:ro`, `--mount ...,readonly`, compose `read_only: true`), whose host
side is the Docker daemon's containers folder (`<DockerRootDir>/containers`,
`/var/lib/docker/containers` by default). Missing: fail. Writable: fail. A named
volume: fail.

**Why.** The runner reads the log files of the step containers it starts
(`<id>/<id>-json.log` in that folder) to stream build logs. It only needs to
read them; a writable mount lets a compromised or buggy runner change any
container's files on the host. With a non-default daemon data-root the folder is
elsewhere (checked against the live daemon, not offline).

**Fails**

```sh
docker container run -it \
  -v /tmp:/tmp \
  -v /var/run/docker.sock:/var/run/docker.sock \
  -v /var/lib/docker/containers:/var/lib/docker/containers \
  ...
```

**Passes**

```sh
docker container run -it \
  -v /tmp:/tmp \
  -v /var/run/docker.sock:/var/run/docker.sock \
  -v /var/lib/docker/containers:/var/lib/docker/containers:ro \
  ...
```

**Fix.** Add `-v /var/lib/docker/containers:/var/lib/docker/containers:ro`
(compose: `- /var/lib/docker/containers:/var/lib/docker/containers:ro`). With a
non-default data-root (`docker info -f '{{ .DockerRootDir }}'`), mount
`<DockerRootDir>/containers` there instead.

**References.** Atlassian's generated start command; `../shared/reference/bitbucket-runners.md` §1.5, §4.
"""

from doctor import suggest
from doctor.model import Severity, normpath
from doctor.runner_facts import CONTAINERS_DIR
from doctor.rulebase import Rule



class ContainersDirReadonly(Rule):
    id = "RD102"
    name = "containers-dir-readonly"
    severity = Severity.ERROR

    def check(self, subject, ctx):
        runner = subject.runner
        mounts = runner.mounts_at(CONTAINERS_DIR)
        if not mounts:
            elsewhere = [m for m in runner.mounts if m.source and normpath(m.source).endswith("/containers")
                         and "docker" in m.source]
            if elsewhere:
                m = elsewhere[-1]
                yield self.fail(f"{m.source} is mounted at {m.target}, but the runner reads {CONTAINERS_DIR}",
                                f"mount it at {CONTAINERS_DIR}: {suggest.mount(runner, m.source, CONTAINERS_DIR, True)}",
                                at=m.origin, evidence=m.raw)
                return
            yield self.fail(f"{CONTAINERS_DIR} is not mounted: the runner cannot read the step containers' logs",
                            f"add {suggest.mount(runner, CONTAINERS_DIR, CONTAINERS_DIR, True)}", at=runner.origin)
            return
        m = mounts[-1]
        if not m.is_bind:
            yield self.fail(f"{CONTAINERS_DIR} is a {m.type} ({m.source or 'anonymous'}), not the host's folder",
                            f"add {suggest.mount(runner, CONTAINERS_DIR, CONTAINERS_DIR, True)}", at=m.origin, evidence=m.raw)
            return
        if not m.read_only:
            fix = (f"add ':ro': {suggest.mount(runner, m.source, m.target, True)}" if ":" in m.raw
                   else "mount it read-only (compose 'read_only: true', --mount ...,readonly)")
            yield self.fail(f"{CONTAINERS_DIR} is mounted writable: the runner only reads logs there", fix,
                            at=m.origin, evidence=m.raw)
            return
        src = normpath(m.source or "")
        if src == CONTAINERS_DIR:
            yield self.ok(f"{CONTAINERS_DIR} is mounted read-only", at=m.origin, evidence=m.raw)
        elif "$" in src:
            yield self.ok(f"{m.source} is mounted read-only at {CONTAINERS_DIR} (a variable: make sure it is "
                          "<DockerRootDir>/containers)", at=m.origin, evidence=m.raw)
        else:
            yield self.ok(f"{m.source} is mounted read-only at {CONTAINERS_DIR}: right only when it is the "
                          "daemon's <DockerRootDir>/containers (the live check compares it)", at=m.origin,
                          evidence=m.raw)


RULE = ContainersDirReadonly()
