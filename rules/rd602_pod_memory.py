r"""On Kubernetes, the runner container may use at least 512 MiB, and the dind sidecar enough for the steps.

**What it checks.** The `resources` of the runner container and of the dind
sidecar in a Kubernetes pod (other runner forms: skip):

- a memory limit or request the API server refuses (`512MB`, `1 Gi`), or a
  request above the limit: fail;
- `m` as the unit: it means *milli*, so `512m` is half a byte: fail;
- a runner memory limit below 512 MiB: fail; a request below 512 MiB (limit
  higher or none): warn;
- a memory limit on the dind sidecar below 4 GiB: warn, the steps run inside
  it;
- no memory settings: pass (a LimitRange of the namespace may still set some);
- the autoscaler's job template: skip, the autoscaler fills the values in from
  `runners_config.yaml` (RD616 checks them).

**Why.** Atlassian asks for at least 512 MB for the runner container; below
it the kubelet kills the runner's Java process (`OOMKilled`) and the runner
keeps restarting. A request below it lets the scheduler put the runner on a
node that cannot give it that much. The step containers are children of the
sidecar's dockerd, so the sidecar's limit caps every step and service together:
a 1x step may use up to 4 GB (2x: 8 GB).

**Fails**

```yaml
        - name: runner
          image: docker-public.packages.atlassian.com/sox/atlassian/bitbucket-pipelines-runner:1
          resources:
            requests: {memory: 128Mi}
            limits: {memory: 256Mi}
```

**Passes**

```yaml
          resources:
            requests: {memory: 1Gi, cpu: 500m}
            limits: {memory: 2Gi}
```

**Fix.** Give the runner container at least `512Mi` (request and limit; `1Gi`
leaves room), and the dind sidecar at least `4Gi` per concurrent 1x step plus
its services, or no limit. Write binary units: `Mi`, `Gi`.

**References.** Atlassian, "Runners" (memory requirements);
`../shared/reference/bitbucket-runners.md` §1.2, §8, §6.2 (the autoscaler's
default 4Gi); Kubernetes, "Resource Management for Pods and Containers".
"""

from doctor.model import Severity
from doctor.rules._kubernetes import KubernetesRule, human, kubernetes_facts, parse_quantity
from doctor.runner_facts import MIN_CONTAINER_MEMORY

STEP_MEMORY = 4 * 2 ** 30  # a 1x step


class PodMemory(KubernetesRule):
    id = "RD602"
    name = "pod-memory"
    severity = Severity.ERROR

    def check(self, subject, ctx):
        facts = kubernetes_facts(subject)
        runner = facts.runner
        if facts.template:
            yield self.skip("the autoscaler fills the runner's memory in from runners_config.yaml (resources; "
                            "default 4Gi): RD616 checks it there", at=runner.origin)
            return
        problems = list(self._container(runner, is_runner=True))
        for c in facts.daemons:
            problems.extend(self._container(c, is_runner=False))
        yield from problems
        if problems:
            return
        res = runner.resources
        if res.memory_limit or res.memory_request:
            shown = ", ".join(f"{what} {value[0]}" for what, value in (("request", res.memory_request),
                                                                       ("limit", res.memory_limit)) if value)
            yield self.ok(f"the runner container's memory: {shown} (at least 512 MiB)",
                          at=(res.memory_limit or res.memory_request)[1])
            return
        yield self.ok("no memory request or limit on the runner container: it may use what the node has (a "
                      "LimitRange of the namespace may set defaults)", at=runner.origin)

    def _container(self, c, is_runner):
        sizes = {}
        for what, value in (("request", c.resources.memory_request), ("limit", c.resources.memory_limit)):
            if value is None:
                continue
            text, origin = value
            size = parse_quantity(text)
            evidence = f"{what}s.memory: {text}"
            if size is None:
                yield self.fail(f"the memory {what} of {c.name}, {text!r}, is not a quantity Kubernetes accepts",
                                "write it as a number with a binary unit: 512Mi, 1Gi", at=origin, evidence=evidence)
                continue
            if text.strip().endswith("m"):
                yield self.fail(f"the memory {what} of {c.name} is {text}: 'm' means milli, so that is "
                                f"{size:g} bytes, not megabytes", f"write {text.strip()[:-1]}Mi", at=origin,
                                evidence=evidence)
                continue
            sizes[what] = (size, origin, evidence)
        if "request" in sizes and "limit" in sizes and sizes["request"][0] > sizes["limit"][0]:
            size, origin, evidence = sizes["request"]
            yield self.fail(f"the memory request of {c.name} ({human(size)}) is above its limit "
                            f"({human(sizes['limit'][0])}): the API server refuses the pod",
                            "make the request at most the limit", at=origin, evidence=evidence)
            return
        if is_runner:
            yield from self._runner(c, sizes)
        elif "limit" in sizes and sizes["limit"][0] < STEP_MEMORY:
            size, origin, evidence = sizes["limit"]
            yield self.warn(f"the dind sidecar {c.name} may use only {human(size)}: the step containers run inside "
                            "it, and one 1x step may use up to 4 GB (2x: 8 GB) plus its services, so builds are "
                            "killed when they need more", f"raise {c.name}'s memory limit to at least 4Gi per "
                            "concurrent step, or remove it", at=origin, evidence=evidence, severity=Severity.WARNING)

    def _runner(self, c, sizes):
        if "limit" in sizes and sizes["limit"][0] < MIN_CONTAINER_MEMORY:
            size, origin, evidence = sizes["limit"]
            yield self.fail(f"the runner container may use only {human(size)} of memory: the runner needs at least "
                            "512 MiB, and the kubelet kills it (OOMKilled) when it uses more",
                            "set limits.memory: 1Gi (at least 512Mi)", at=origin, evidence=evidence)
        elif "request" in sizes and sizes["request"][0] < MIN_CONTAINER_MEMORY:
            size, origin, evidence = sizes["request"]
            yield self.warn(f"the runner container requests only {human(size)} of memory: the scheduler may place "
                            "it on a node that cannot give it the 512 MiB the runner needs, and it is among the "
                            "first to be evicted under memory pressure", "set requests.memory: 512Mi or more",
                            at=origin, evidence=evidence, severity=Severity.WARNING)


RULE = PodMemory()
