r"""In the autoscaler's runners_config.yaml, each group's labels are valid runner labels, at most 10.

**What it checks.** The `labels` list of every group:

- present and not empty: the autoscaler requires at least one label (fail);
- each label is lowercase letters, digits and dots (`my.group`, `gpu`,
  `build.large`): anything else fails - Bitbucket accepts no other runner label;
- at most 10 custom labels (besides `self.hosted` and `linux`, which the
  autoscaler adds to every runner): fail above;
- the OS labels of other runner kinds (`linux.shell`, `linux.arm64`,
  `windows`, `macos`): fail, the autoscaler creates Linux Docker runners on
  amd64 nodes, so the steps that ask for them would run on the wrong kind.

**Why.** The autoscaler registers every runner of the group with these labels
and counts only the online runners that carry exactly them. A label Bitbucket
refuses makes every runner creation fail; an OS label of another kind sends
steps that ask for it to a runner that cannot run them.

**Fails**

```yaml
    labels:
      - "Build_Large"
      - "windows"
```

**Passes**

```yaml
    labels:
      - "build.large"
```

**Fix.** Use lowercase letters, digits and dots only, at most 10 labels per
group, and leave the OS labels to the runner kind (the autoscaler adds
`self.hosted` and `linux`).

**References.** `../shared/reference/bitbucket-runners.md` §5.5 (labels), §6.2;
the runners autoscaler's README and `runners_config.yaml` template.
"""

from doctor.inputs.autoscaler import DEFAULT_LABELS
from doctor.inputs.pipelines import LABEL_RE, MAX_CUSTOM_LABELS, OS_LABELS
from doctor.model import Severity
from doctor.rulebase import Rule


class AutoscalerLabels(Rule):
    id = "RD613"
    name = "autoscaler-labels"
    severity = Severity.ERROR
    applies_to = ("autoscaler-group",)

    def check(self, subject, ctx):
        group = subject.group
        if group.labels_value is None or group.labels is None:
            yield self.fail(f"group {group.name!r} has no labels: the autoscaler requires at least one",
                            'add labels: ["my.group"]', at=group.origin)
            return
        if group.labels_value.yaml_type != "sequence" or not group.labels:
            shown = group.labels_value.raw or "empty"
            yield self.fail(f"labels is {shown}, not a list of labels: the autoscaler requires at least one",
                            'write a list: labels: ["my.group"]', at=group.labels_value.origin,
                            evidence=group.labels_value.raw)
            return
        problems = []
        custom = []
        for value in group.labels:
            text = value.text
            if text is None or value.yaml_type != "str":
                problems.append(self.fail(f"the label {value.raw} is a YAML {value.yaml_type}, not text",
                                          f'quote it: "{value.raw}"', at=value.origin, evidence=value.raw))
                continue
            if not LABEL_RE.match(text):
                fixed = "".join(c if LABEL_RE.match(c) else "." for c in text.lower()).strip(".") or "my.label"
                problems.append(self.fail(f"the label {text!r} is not valid: Bitbucket accepts lowercase letters, "
                                          "digits and dots only, so the runners of this group cannot be created",
                                          f'write "{fixed}"', at=value.origin, evidence=text))
                continue
            if text in OS_LABELS and text not in DEFAULT_LABELS:
                problems.append(self.fail(f"the label {text!r} names another runner kind: the autoscaler creates "
                                          "Linux Docker runners on amd64 nodes, so steps asking for it would run "
                                          "on the wrong kind", f"remove {text!r}", at=value.origin, evidence=text))
                continue
            if text not in DEFAULT_LABELS and text not in custom:
                custom.append(text)
        if len(custom) > MAX_CUSTOM_LABELS:
            problems.append(self.fail(f"the group has {len(custom)} custom labels: a runner can have at most "
                                      f"{MAX_CUSTOM_LABELS}", "keep at most 10 labels",
                                      at=group.labels_value.origin))
        yield from problems
        if not problems:
            yield self.ok(f"labels {', '.join(sorted(group.label_set()))} (self.hosted and linux are added by the "
                          "autoscaler)", at=group.labels_value.origin)


RULE = AutoscalerLabels()
