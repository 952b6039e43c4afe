r"""WORKING_DIRECTORY is set, absolute, and bind-mounted at the same path on the host and in the runner.

**What it checks.** `WORKING_DIRECTORY` is an absolute path, and a bind mount
covers it with the same host and container path (`-v /tmp:/tmp` for
`WORKING_DIRECTORY=/tmp`, or a parent mounted at the same path). A different
host path (`-v /tmp/runner-1:/tmp`), a named volume, a read-only mount or no
mount at all fail.

**Why.** The runner prepares each step's files (the clone, the Docker CLI it
mounts into builds, caches) under WORKING_DIRECTORY and then asks the *host's*
Docker daemon to start step containers with bind mounts of those folders. The
daemon resolves bind-mount paths on the host, so the folder must exist at the
same path there. With `/tmp/runner-1:/tmp` the runner writes into
`/tmp/runner-1/...` on the host but the steps mount `/tmp/...`: builds see empty
folders, fail with `docker: command not found`, or runners on one host share
and delete each other's files.

**On Kubernetes.** The dind sidecar's dockerd starts the steps and resolves
their mounts in its own filesystem, so WORKING_DIRECTORY must be on a volume
mounted at the same path in the runner and in the sidecar (the `emptyDir` `tmp`
at `/tmp` in Atlassian's Job). The runner's own folder, a volume the sidecar
does not mount, or one it mounts at another path: fail. With the node's socket
(`hostPath`) it must be a `hostPath` at the same path.

**Fails**

```sh
docker container run -it \
  -v /tmp/runner-1:/tmp \
  -e WORKING_DIRECTORY=/tmp \
  ...
```

**Passes**

```sh
docker container run -it \
  -v /tmp/runner-1:/tmp/runner-1 \
  -e WORKING_DIRECTORY=/tmp/runner-1 \
  ...
```

**Fix.** Use the same absolute path on both sides of the mount and in
WORKING_DIRECTORY: `-v /srv/runner-1:/srv/runner-1 -e WORKING_DIRECTORY=/srv/runner-1`.
Several runners on one host each get their own folder this way.

**References.** `../shared/reference/bitbucket-runners.md` §1.5 (same-path rule,
real-world `/tmp/runner-N:/tmp` configurations).
"""

import posixpath

from doctor import suggest
from doctor.inputs.files import resolve_host_path
from doctor.model import Severity, normpath
from doctor.rulebase import Rule


def _covering_mount(runner, path):
    """The mount whose target is `path` or its nearest parent (the last one wins, as in docker)."""
    best = None
    for m in runner.mounts:
        t = normpath(m.target)
        if path == t or path.startswith(t.rstrip("/") + "/"):
            if best is None or len(t) >= len(normpath(best.target)):
                best = m
    return best


class WorkingDirectory(Rule):
    id = "RD103"
    name = "working-directory"
    severity = Severity.ERROR

    def check(self, subject, ctx):
        runner = subject.runner
        if runner.form == "kubernetes":  # a pod: the Kubernetes meaning is in rules/_kubernetes.py
            from doctor.rules import _kubernetes

            yield from _kubernetes.working_directory(self, runner)
            return
        var = runner.env_var("WORKING_DIRECTORY")
        if var is None:
            yield self.fail("WORKING_DIRECTORY is not set: the runner does not know where to prepare steps",
                            f"add {suggest.env(runner, 'WORKING_DIRECTORY', '/tmp')} and "
                            f"{suggest.mount(runner, '/tmp', '/tmp')} (or another folder, the same path on both "
                            "sides)", at=runner.origin)
            return
        if var.value is None:
            yield self.skip(f"WORKING_DIRECTORY is {var.describe()}: its mount cannot be checked here",
                            at=var.origin)
            return
        wd = var.value.strip()
        if not wd.startswith("/"):
            yield self.fail(f"WORKING_DIRECTORY={wd!r} is not an absolute path",
                            "use an absolute path, e.g. WORKING_DIRECTORY=/tmp with -v /tmp:/tmp", at=var.origin)
            return
        wd = normpath(wd)
        m = _covering_mount(runner, wd)
        same = suggest.mount(runner, wd, wd)
        if m is None:
            yield self.fail(f"WORKING_DIRECTORY={wd} is not mounted from the host: step containers, created by "
                            "the host's daemon, will not see what the runner prepares there",
                            f"add {same}", at=var.origin)
            return
        if not m.is_bind:
            yield self.fail(f"{m.target} is a {m.type} ({m.source or 'anonymous'}): the host's daemon resolves "
                            f"{wd} on the host, where this volume's files are not",
                            f"bind-mount a host folder at the same path: {same}", at=m.origin, evidence=m.raw)
            return
        if m.read_only:
            yield self.fail(f"{m.target} is mounted read-only: the runner must write there",
                            f"remove ':ro' from the mount of {m.target}", at=m.origin, evidence=m.raw)
            return
        source = m.source or ""
        if "$" in source:
            prefix = source.split("$", 1)[0]
            target = normpath(m.target)
            if target.startswith(prefix) or not prefix.startswith("/"):
                yield self.ok(f"{m.target} is mounted from {source} (a variable: it must expand to {m.target})",
                              at=m.origin, evidence=m.raw)
                return
            yield self.fail(
                f"host {source} is mounted at {m.target}: whatever the variable holds, the host path starts "
                f"with {prefix}, not {m.target}; step containers, created by the host's daemon, look for "
                f"{wd} on the host",
                f"use the same path on both sides: {suggest.mount(runner, source, source)} and "
                f"{suggest.env(runner, 'WORKING_DIRECTORY', source)}",
                at=m.origin, evidence=m.raw)
            return
        host = resolve_host_path(source, runner.base_dir) if not source.startswith("/") else normpath(source)
        rel = posixpath.relpath(wd, normpath(m.target))
        host_wd = normpath(posixpath.join(host, rel)) if rel != "." else host
        if host_wd == wd:
            yield self.ok(f"WORKING_DIRECTORY={wd} is mounted at the same path on the host", at=m.origin,
                          evidence=m.raw)
            return
        shown_host = source if source.startswith("/") else f"{source} ({host})"
        yield self.fail(
            f"host {shown_host} is mounted at {m.target}, so WORKING_DIRECTORY={wd} is {host_wd} on the host: "
            "step containers are created by the host's daemon, which looks for "
            f"{wd} on the host",
            f"use the same path on both sides: {suggest.mount(runner, host_wd, host_wd)} and "
            f"{suggest.env(runner, 'WORKING_DIRECTORY', host_wd)}",
            at=m.origin, evidence=m.raw)


RULE = WorkingDirectory()
