r"""In the autoscaler's runners_config.yaml, no two groups have the same label set.

**What it checks.** The labels of each group (with `self.hosted` and `linux`,
which the autoscaler adds, and in any order) differ from those of every
earlier group of the same file, for the same workspace and repository. A
group with the same set as an earlier one fails.

**Why.** The autoscaler counts a group's runners by their labels: two groups
with one label set both count all those runners and scale them up and down
against each other ("they will fight each other", in the autoscaler's README),
and newer versions refuse the file ("Every group should have unique set of
labels").

**Fails**

```yaml
groups:
  - name: "Team A runners"
    workspace: "{3f9b1c2e-6d4a-4b8e-9f0a-1c2d3e4f5a6b}"
    labels: ["build"]
    ...
  - name: "Team B runners"
    workspace: "{3f9b1c2e-6d4a-4b8e-9f0a-1c2d3e4f5a6b}"
    labels: ["linux", "build"]
    ...
```

**Passes**

```yaml
groups:
  - name: "Team A runners"
    labels: ["team.a"]
    ...
  - name: "Team B runners"
    labels: ["team.b"]
    ...
```

**Fix.** Give each group a label of its own (`team.a`, `team.b`) and use it in
the steps' `runs-on`.

**References.** The runners autoscaler's README (Limitations) and its config
validation; `../shared/reference/bitbucket-runners.md` §6.2.
"""

from doctor.model import Severity
from doctor.rulebase import Rule


def _scope(group):
    return tuple((group.fields[k].text or "").strip().lower() if k in group.fields else "" for k in
                 ("workspace", "repository"))


class AutoscalerDuplicateLabels(Rule):
    id = "RD614"
    name = "autoscaler-duplicate-labels"
    severity = Severity.ERROR
    applies_to = ("autoscaler-group",)

    def check(self, subject, ctx):
        group = subject.group
        mine = group.label_set()
        at = group.labels_value.origin if group.labels_value else group.origin
        for other in group.config.groups[:group.index]:
            if other.label_set() == mine and _scope(other) == _scope(group):
                yield self.fail(f"group {group.name!r} has the same labels as group {other.name!r} (line "
                                f"{other.origin.line}): {', '.join(sorted(mine))}; the two groups scale the same "
                                "runners against each other", f"give {group.name!r} a label of its own", at=at)
                return
        yield self.ok(f"no earlier group has the labels {', '.join(sorted(mine))}", at=at)


RULE = AutoscalerDuplicateLabels()
