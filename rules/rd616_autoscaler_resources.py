r"""In the autoscaler's runners_config.yaml, each group gives its runner containers at least 512 MiB.

**What it checks.** The optional `resources` of every group, which the
autoscaler writes into the runner container of each Job it creates:

- no `resources`: pass (the autoscaler's defaults, 4Gi of memory and 1000m of
  CPU for requests and limits);
- a memory or CPU value Kubernetes refuses, `m` (milli) as a memory unit, or a
  request above its limit: fail;
- a memory request or limit below 512 MiB: fail.

**Why.** The runner is a Java process that needs at least 512 MB (Atlassian's
requirement); with less the kubelet kills it (`OOMKilled`) and the Job
restarts it until it gives up. Values Kubernetes refuses make every Job the
autoscaler creates fail.

**Fails**

```yaml
    resources:
      requests:
        memory: "256Mi"
      limits:
        memory: "256Mi"
```

**Passes**

```yaml
    resources:
      requests:
        memory: "2Gi"
        cpu: "1000m"
      limits:
        memory: "2Gi"
        cpu: "1000m"
```

**Fix.** Give at least `512Mi` (the template's `2Gi`, or leave `resources`
out for the 4Gi default); write memory in `Mi`/`Gi` and CPU in cores or `m`.

**References.** The runners autoscaler's `runners_config.yaml` template and
job template; Atlassian, "Runners" (memory); `../shared/reference/bitbucket-runners.md`
§6.2, §8.
"""

from doctor.model import Severity
from doctor.rulebase import Rule
from doctor.rules._kubernetes import human, parse_quantity
from doctor.runner_facts import MIN_CONTAINER_MEMORY


class AutoscalerResources(Rule):
    id = "RD616"
    name = "autoscaler-resources"
    severity = Severity.ERROR
    applies_to = ("autoscaler-group",)

    def check(self, subject, ctx):
        group = subject.group
        if not group.resources:
            yield self.ok("no resources: the autoscaler gives each runner 4Gi of memory and 1000m of CPU",
                          at=group.origin)
            return
        problems, sizes = [], {}
        for key, value in group.resources.items():
            section, resource = key.split(".", 1)
            text = (value.text or "").strip()
            size = parse_quantity(text) if text else None
            evidence = f"{key}: {value.raw}"
            if size is None:
                problems.append(self.fail(f"{key} is {value.raw!r}, not a quantity Kubernetes accepts: every runner "
                                          "Job of this group fails", "write e.g. memory: \"2Gi\", cpu: \"1000m\"",
                                          at=value.origin, evidence=evidence))
                continue
            if resource == "memory" and text.endswith("m"):
                problems.append(self.fail(f"{key} is {text}: 'm' means milli, so that is {size:g} bytes",
                                          f'write "{text[:-1]}Mi"', at=value.origin, evidence=evidence))
                continue
            sizes[key] = (size, value, evidence)
            if resource == "memory" and size < MIN_CONTAINER_MEMORY:
                problems.append(self.fail(f"{key} is {human(size)}: the runner needs at least 512 MiB, and the "
                                          "kubelet kills it when it uses more", f'{resource}: "1Gi"',
                                          at=value.origin, evidence=evidence))
        for resource in ("memory", "cpu"):
            req, lim = sizes.get(f"requests.{resource}"), sizes.get(f"limits.{resource}")
            if req and lim and req[0] > lim[0]:
                problems.append(self.fail(f"requests.{resource} is above limits.{resource}: Kubernetes refuses the "
                                          "runner's pod", "make the request at most the limit", at=req[1].origin,
                                          evidence=req[2]))
        yield from problems
        if not problems:
            shown = ", ".join(f"{k} {v[1].text}" for k, v in sizes.items())
            yield self.ok(f"runner resources: {shown}", at=group.origin)


RULE = AutoscalerResources()
