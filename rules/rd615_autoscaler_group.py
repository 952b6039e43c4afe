r"""In the autoscaler's runners_config.yaml, each group has a name, a namespace of its own and a known strategy.

**What it checks.** For every group:

- `name`, `namespace` and `strategy` are set: a missing one fails (the
  autoscaler refuses the group);
- `namespace` is not `bitbucket-runner-control-plane`, which the autoscaler
  reserves for itself: fail;
- `strategy` is `percentageRunnersIdle`, the only one the autoscaler knows:
  fail otherwise;
- at most 10 groups in the file: the 11th and later fail.

**Why.** The autoscaler validates these when it reads the file and stops on
the first error, so no group is scaled at all. The name is the name the
runners get in Bitbucket; the namespace is where their Jobs are created.

**Fails**

```yaml
groups:
  - name: "Linux Docker runners"
    namespace: "bitbucket-runner-control-plane"
    strategy: "percentageIdle"
```

**Passes**

```yaml
groups:
  - name: "Linux Docker runners"
    namespace: "bitbucket-runners"
    strategy: "percentageRunnersIdle"
```

**Fix.** Set a name, a namespace for the runners' Jobs (not the autoscaler's
own) and `strategy: "percentageRunnersIdle"`; split more than 10 groups over
several autoscaler installations.

**References.** The runners autoscaler's config validation and README
(Limitations: at most 10 groups); `../shared/reference/bitbucket-runners.md` §6.2.
"""

import difflib

from doctor.inputs.autoscaler import MAX_GROUPS, RESERVED_NAMESPACE, STRATEGIES
from doctor.model import Severity
from doctor.rulebase import Rule


class AutoscalerGroup(Rule):
    id = "RD615"
    name = "autoscaler-group"
    severity = Severity.ERROR
    applies_to = ("autoscaler-group",)

    def check(self, subject, ctx):
        group = subject.group
        problems = []
        for key, example in (("name", '"Linux Docker runners"'), ("namespace", '"bitbucket-runners"'),
                             ("strategy", '"percentageRunnersIdle"')):
            value = group.fields.get(key)
            if value is None or not (value.text or "").strip():
                problems.append(self.fail(f"group {group.name!r} has no {key}: the autoscaler refuses it",
                                          f"add {key}: {example}", at=value.origin if value else group.origin))
        namespace = group.fields.get("namespace")
        if namespace is not None and (namespace.text or "").strip() == RESERVED_NAMESPACE:
            problems.append(self.fail(f"namespace {RESERVED_NAMESPACE} is reserved for the autoscaler itself",
                                      'use a namespace for the runners, e.g. namespace: "bitbucket-runners"',
                                      at=namespace.origin, evidence=namespace.raw))
        strategy = group.fields.get("strategy")
        if strategy is not None and strategy.text and strategy.text.strip() not in STRATEGIES:
            near = difflib.get_close_matches(strategy.text.strip(), STRATEGIES, n=1, cutoff=0.5)
            problems.append(self.fail(f"strategy {strategy.text!r} is not supported (the autoscaler knows "
                                      f"{', '.join(STRATEGIES)})", f'strategy: "{(near or STRATEGIES)[0]}"',
                                      at=strategy.origin, evidence=strategy.raw))
        if group.index >= MAX_GROUPS:
            problems.append(self.fail(f"this is group {group.index + 1} of {len(group.config.groups)}: the "
                                      f"autoscaler allows at most {MAX_GROUPS} and refuses the file",
                                      "split the groups over several autoscaler installations", at=group.origin))
        yield from problems
        if not problems:
            yield self.ok(f"group {group.name!r}: runners in namespace {namespace.text}, strategy {strategy.text}",
                          at=group.origin)


RULE = AutoscalerGroup()
