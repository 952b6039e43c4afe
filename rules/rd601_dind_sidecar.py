r"""On Kubernetes, the pod runs a Docker daemon for the runner: a privileged `docker:dind` sidecar.

**What it checks.** For a runner container in a Kubernetes pod (other runner
forms: skip):

- a container of the pod runs dockerd (a `docker:*dind*` image, or `dockerd`
  as its command) with `securityContext.privileged: true`: pass; without it:
  fail;
- the daemon as an init container: pass as a native sidecar
  (`restartPolicy: Always` on the init container, Kubernetes 1.29 and later);
  a plain init container never finishes, so the pod never starts: fail;
- a rootless image (`docker:dind-rootless`): warn, its socket is
  `/run/user/1000/docker.sock`, not where the runner and the dind setup look;
- no daemon in the pod: fail, unless the runner mounts the node's own socket
  (`hostPath`; RD101 warns about that).

**Why.** Kubernetes nodes do not give pods a Docker daemon (since Kubernetes
1.24 most run containerd without Docker Engine), so Atlassian's Job runs
dockerd in a `docker:dind` sidecar and shares its socket with the runner.
dockerd needs privileges to create the namespaces, cgroups and mounts of the
step containers: unprivileged, the sidecar stops at start (its log shows errors
such as `mount: permission denied (are you root?)`), no socket appears, and the
runner cannot start any step.

**Fails**

```yaml
      containers:
        - name: runner
          image: docker-public.packages.atlassian.com/sox/atlassian/bitbucket-pipelines-runner:1
          ...
        - name: docker
          image: docker:27.3-dind
          volumeMounts:
            - {name: var-run, mountPath: /var/run}
```

**Passes**

```yaml
        - name: docker
          image: docker:27.3-dind
          securityContext:
            privileged: true
          volumeMounts:
            - {name: var-run, mountPath: /var/run}
```

**Fix.** Add `securityContext: {privileged: true}` to the dind container (the
namespace's Pod Security level must allow privileged pods). Without a sidecar,
add one as in Atlassian's Job: `docker:dind`-based, privileged, sharing
`emptyDir` volumes at `/var/run`, `/tmp` and `/var/lib/docker/containers` with
the runner.

**References.** Atlassian, "Deploying the Docker-based runner on Kubernetes";
`../shared/reference/bitbucket-runners.md` §6.1, §1.5.
"""

from doctor.model import Severity
from doctor.rules._kubernetes import KubernetesRule, find_daemon, kubernetes_facts


class DindSidecar(KubernetesRule):
    id = "RD601"
    name = "dind-sidecar"
    severity = Severity.ERROR

    def check(self, subject, ctx):
        facts = kubernetes_facts(subject)
        runner = subject.runner
        daemons = facts.daemons
        if not daemons:
            daemon, _why, _fix = find_daemon(runner)
            if daemon is not None and daemon.where == "node":
                yield self.ok("no dind sidecar: the runner uses the node's Docker Engine through a hostPath "
                              "socket (RD101 says what that needs)", at=daemon.mount.origin)
                return
            yield self.fail(f"no container of the pod runs a Docker daemon: the runner {runner.name} has no Docker "
                            "to start steps with (Kubernetes nodes give pods none)",
                            "add a privileged docker:dind sidecar sharing emptyDir volumes at /var/run, /tmp and "
                            "/var/lib/docker/containers with the runner, as in Atlassian's Kubernetes Job",
                            at=facts.workload_origin)
            return
        problems = []
        for c in daemons:
            problems.extend(self._judge(c))
        yield from problems
        if not problems:
            names = ", ".join(f"{c.name} ({c.image})" for c in daemons)
            native = " as a native sidecar" if any(c.init for c in daemons) else ""
            yield self.ok(f"the dind sidecar {names} runs privileged{native}", at=daemons[0].origin)

    def _judge(self, c):
        out = []
        if c.init:
            policy = c.restart_policy[0] if c.restart_policy else None
            if policy != "Always":
                out.append(self.fail(
                    f"the dind container {c.name} is an init container: the pod starts the runner only after every "
                    "init container has finished, and dockerd never finishes, so the pod stays in Init",
                    f"add 'restartPolicy: Always' to {c.name} (a native sidecar, Kubernetes 1.29+) or move it to "
                    "containers:", at=c.origin))
        privileged = c.privileged[0].lower() if c.privileged else None
        if privileged != "true":
            at = c.privileged[1] if c.privileged else c.origin
            how = "securityContext.privileged is false" if c.privileged else "it is not privileged"
            out.append(self.fail(
                f"the dind sidecar {c.name} ({c.image}) cannot run dockerd: {how}, and dockerd needs privileges to "
                "create the step containers (the sidecar stops with errors such as 'mount: permission denied (are "
                "you root?)')", f"add to {c.name}: securityContext: {{privileged: true}}", at=at,
                evidence=f"privileged: {c.privileged[0]}" if c.privileged else ""))
        if "rootless" in (c.image or ""):
            out.append(self.warn(
                f"{c.name} runs {c.image}: rootless dockerd listens on /run/user/1000/docker.sock, not on "
                "/var/run/docker.sock where the runner looks, and needs its own setup",
                "use the standard dind image (docker:<version>-dind), privileged", at=c.image_origin,
                evidence=c.image or "", severity=Severity.WARNING))
        return out


RULE = DindSidecar()
