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

Live, with a reachable daemon: the host side must be `<DockerRootDir>/containers`
of THAT daemon (`docker info -f '{{ .DockerRootDir }}'`; for a configuration
file, the daemon the docker CLI here uses). A daemon with a non-default
data-root and a runner mounting `/var/lib/docker/containers` fails: that folder
is empty or missing there. Which container path the runner reads with a
non-default data-root is not documented (`/var/lib/docker/containers`, or the
log path the daemon reports for each container, `<root>/containers/<id>/<id>-json.log`),
so the fix mounts the folder at both; a runner that mounts the right folder at
`/var/lib/docker/containers` only gets an info-level warning with the same
advice.

**On Kubernetes.** The runner mounts the volume the dind sidecar's dockerd
writes its containers folder to (the `emptyDir` `docker-containers` at
`/var/lib/docker/containers` in both containers, or the sidecar's whole
`/var/lib/docker`), with `readOnly: true` in the runner and writable in the
sidecar. Not mounted, writable in the runner, or a volume the sidecar does not
have at `<data-root>/containers`: fail.

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
`<DockerRootDir>/containers` instead, at both paths:
`-v <root>/containers:/var/lib/docker/containers:ro -v <root>/containers:<root>/containers:ro`.

**References.** Atlassian's generated start command; `../shared/reference/bitbucket-runners.md` §1.5, §4.
"""

import posixpath

from doctor import suggest
from doctor.model import Severity, Status, normpath
from doctor.runner_facts import CONTAINERS_DIR
from doctor.rulebase import Rule
from doctor.rules._live import host_files, local_path



class ContainersDirReadonly(Rule):
    id = "RD102"
    name = "containers-dir-readonly"
    severity = Severity.ERROR

    def check(self, subject, ctx):
        runner = subject.runner
        if runner.form == "kubernetes":  # a pod: the Kubernetes meaning is in rules/_kubernetes.py
            from doctor.rules import _kubernetes

            yield from _kubernetes.containers_dir(self, runner)
            return
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
        live = self._live(subject, ctx, m)
        if live is not None and live.status is not Status.PASS:
            yield live
        if not m.read_only:
            fix = (f"add ':ro': {suggest.mount(runner, m.source, m.target, True)}" if ":" in m.raw
                   else "mount it read-only (compose 'read_only: true', --mount ...,readonly)")
            yield self.fail(f"{CONTAINERS_DIR} is mounted writable: the runner only reads logs there", fix,
                            at=m.origin, evidence=m.raw)
            return
        if live is not None:
            if live.status is Status.PASS:
                yield live
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

    def _live(self, subject, ctx, m):
        """Live: the host side is <DockerRootDir>/containers of the daemon the runner runs on (None: unknown)."""
        facts = ctx.daemon_for(subject)
        root = facts.root_dir if facts is not None else None
        if not root or not m.source or "$" in m.source:
            return None
        runner = subject.runner
        expected = normpath(posixpath.join(root, "containers"))
        files = host_files(ctx)
        host = local_path(facts, m.source, runner.base_dir, files)
        daemon = f"the daemon at {facts.url}"
        where = dict(at=m.origin, evidence=m.raw)
        both = (f"{suggest.mount(runner, expected, CONTAINERS_DIR, True)} and "
                f"{suggest.mount(runner, expected, expected, True)}")
        why_both = (f"with a non-default data-root it is not documented which path the runner reads: "
                    f"{CONTAINERS_DIR}, or the log paths the daemon reports under {expected}; both mounts serve either")
        if (files.same_file(host, expected) if host else normpath(m.source) == expected):
            if expected == CONTAINERS_DIR or runner.mounts_at(expected):
                return self.ok(f"{m.source} is the containers folder of {daemon} (data-root {root})", **where)
            return self.warn(f"{m.source} is the containers folder of {daemon} (data-root {root}); {why_both}",
                             f"mount it at both paths: {both}", severity=Severity.INFO, **where)
        fix = (f"mount {expected} at both paths: {both} ({why_both})" if expected != CONTAINERS_DIR
               else f"mount it: {suggest.mount(runner, expected, CONTAINERS_DIR, True)}")
        if host is None:  # a remote daemon: its paths cannot be resolved from here
            return self.warn(f"{m.source} is not the containers folder {daemon} reports ({expected}, data-root "
                             f"{root}), unless it links there on that host: the runner would find no step logs",
                             fix, severity=Severity.WARNING, **where)
        missing = "" if files.exists(host) else f", and {m.source} does not exist on this host"
        return self.fail(f"{m.source} is not the containers folder of {daemon}: its data-root is {root}, so the "
                         f"step containers' logs are in {expected}{missing}; the runner would find none", fix, **where)


RULE = ContainersDirReadonly()
