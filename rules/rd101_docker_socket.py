r"""The host's Docker socket is bind-mounted into the runner at /var/run/docker.sock.

**What it checks.** A Linux Docker runner has a bind mount whose container path
is `/var/run/docker.sock` and whose host path is the Docker socket
(`/var/run/docker.sock`, or `/run/docker.sock`, which is the same file on
current distributions).

Live, when the daemon runs on this machine (a unix socket; `runner-doctor
check` with no TARGET, `--host unix://...`, or a TARGET checked on a host whose
daemon answers): the mounted host path must be the socket of THAT daemon - the
one the runner container runs on (or, for a file, the one the docker CLI here
uses: `--host`, `DOCKER_HOST`, the docker context). The daemon's own socket
passes even at a non-default path; a path that does not exist, is a folder, is
not a socket, or is another socket (a stale file, or another daemon's) fails.

**Why.** The runner does not run your build itself: it asks the host's Docker
daemon to start sibling containers for each step (build, clone, pause,
auth-proxy, services). Without the socket the runner cannot start any step.
A socket mounted at another path inside the container is not found by the
runner. A named volume called `docker.sock` is an empty folder, not the socket.
A rootless daemon listens on `$XDG_RUNTIME_DIR/docker.sock`, a daemon started
with another `--host` elsewhere: mounting `/var/run/docker.sock` then gives the
runner no daemon, or another daemon than the one it runs on.

**On Kubernetes.** There is no host path to mount: the socket is the one
dockerd creates in a privileged `docker:dind` sidecar, shared through an
`emptyDir` mounted at `/var/run` in both containers (Atlassian's Job). The
runner needs a volume covering `/var/run/docker.sock` that a dind sidecar
mounts where its dockerd creates the socket (`/var/run`, or the folder of its
`--host unix://...`); otherwise: fail. A `hostPath` of the node's
`/var/run/docker.sock` warns: only nodes that run Docker Engine have one.

**Fails**

```sh
docker container run -it \
  -v /tmp:/tmp \
  -v /var/lib/docker/containers:/var/lib/docker/containers:ro \
  ...
  docker-public.packages.atlassian.com/sox/atlassian/bitbucket-pipelines-runner:1
```

**Passes**

```sh
docker container run -it \
  -v /tmp:/tmp \
  -v /var/run/docker.sock:/var/run/docker.sock \
  -v /var/lib/docker/containers:/var/lib/docker/containers:ro \
  ...
```

**Fix.** Add `-v /var/run/docker.sock:/var/run/docker.sock` (compose:
`- /var/run/docker.sock:/var/run/docker.sock`). For a rootless daemon, or one
started with another `--host`, mount that daemon's socket at
`/var/run/docker.sock` inside the container.

**References.** Atlassian, "Use your Docker images in self-hosted runners"
(the generated start command); `../shared/reference/bitbucket-runners.md` §1.5.
"""

from doctor import suggest
from doctor.model import Severity, normpath
from doctor.rulebase import Rule
from doctor.rules._live import host_files, local_path

TARGET = "/var/run/docker.sock"
KNOWN_HOST_SOCKETS = ("/var/run/docker.sock", "/run/docker.sock")


class DockerSocket(Rule):
    id = "RD101"
    name = "docker-socket"
    severity = Severity.ERROR

    def check(self, subject, ctx):
        runner = subject.runner
        if runner.form == "kubernetes":  # a pod: the Kubernetes meaning is in rules/_kubernetes.py
            from doctor.rules import _kubernetes

            yield from _kubernetes.socket(self, runner)
            return
        at_target = runner.mounts_at(TARGET)
        if not at_target:
            near = [m for m in runner.mounts if m.source and normpath(m.source) in KNOWN_HOST_SOCKETS]
            if near:
                m = near[-1]
                yield self.fail(
                    f"the Docker socket is mounted at {m.target}, but the runner looks for it at {TARGET}",
                    f"mount it at the same path: {suggest.mount(runner, m.source, TARGET)}", at=m.origin, evidence=m.raw)
                return
            where = [m for m in runner.mounts if m.target.endswith("docker.sock")]
            yield self.fail(
                "the host's Docker socket is not mounted: the runner cannot start step containers",
                f"add {suggest.mount(runner, TARGET, TARGET)}", at=where[-1].origin if where else runner.origin)
            return
        m = at_target[-1]
        if not m.is_bind:
            yield self.fail(
                f"{TARGET} is a {m.type} ({m.source or 'anonymous'}), not the host's socket",
                f"add {suggest.mount(runner, TARGET, TARGET)}", at=m.origin, evidence=m.raw)
            return
        if m.read_only:
            # ro on a socket bind does not stop connect(); docker allows it. Not a failure.
            pass
        live = self._live(subject, ctx, m)
        if live is not None:
            yield live
            return
        src = normpath(m.source or "")
        if src in KNOWN_HOST_SOCKETS:
            yield self.ok(f"host socket {m.source} is mounted at {TARGET}", at=m.origin, evidence=m.raw)
            return
        if "$" in (m.source or ""):
            yield self.ok(f"{m.source} is mounted at {TARGET} (a variable: make sure it names the daemon's socket)",
                          at=m.origin, evidence=m.raw)
            return
        if src.endswith(".sock"):
            yield self.warn(
                f"{m.source} is mounted at {TARGET}: that is not the default socket path; it is right only "
                "when it is the socket of the daemon this host runs (e.g. a rootless daemon's)",
                "check with: docker context inspect --format '{{.Endpoints.docker.Host}}'", at=m.origin,
                evidence=m.raw, severity=Severity.WARNING)
            return
        yield self.fail(f"{m.source} is mounted at {TARGET}, but it does not look like a Docker socket",
                        f"add {suggest.mount(runner, TARGET, TARGET)}", at=m.origin, evidence=m.raw)

    def _live(self, subject, ctx, m):
        """Live: the mounted host path is the socket of the daemon the runner runs on (None: not checkable here)."""
        facts = ctx.daemon_for(subject)
        files = host_files(ctx)
        host = local_path(facts, m.source, subject.runner.base_dir, files)
        if host is None:
            return None
        sock = facts.socket_path
        daemon = f"the daemon at {facts.url}" + ("" if subject.runner.facts.get("container") else f" ({facts.source})")
        if files.same_file(host, sock):
            return self.ok(f"host socket {m.source} is the socket of {daemon}, mounted at {TARGET}", at=m.origin,
                           evidence=m.raw)
        kind = files.kind(host)
        if kind == "missing":
            what = "it does not exist on this host"
        elif kind.startswith("error: "):
            what = f"it cannot be checked ({kind[len('error: '):]})"
        elif kind == "socket":
            what = f"it is another socket ({files.listens(host, facts.timeout)})"
        elif kind == "folder":
            what = "it is a folder (docker creates one when the path to mount is missing)"
        else:
            what = "it is not a socket"
        return self.fail(f"{m.source} is not the socket of {daemon}, which listens on {sock}: {what}",
                         f"mount that daemon's socket: {suggest.mount(subject.runner, sock, TARGET)}", at=m.origin,
                         evidence=m.raw)


RULE = DockerSocket()
