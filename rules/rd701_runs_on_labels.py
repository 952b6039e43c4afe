r"""In bitbucket-pipelines.yml, a self-hosted step's runs-on labels are valid and name one runner kind.

**What it checks.** The `runs-on` of every step that runs on a self-hosted
runner:

- a list of labels, not one string with commas (`runs-on: "self.hosted,
  linux"` is a single label): fail;
- every label is lowercase letters, digits and dots: `self-hosted`, `Linux`,
  `linux_shell` fail, with the label probably meant;
- `self.hosted` is there: fail otherwise (`selfhosted`...);
- at most one OS label (`linux`, `linux.shell`, `linux.arm64`, `windows`,
  `macos`): two fail, no runner has both; none means a Linux Docker step;
- at most 10 custom labels: fail above;
- a custom label that looks like an OS label (`shell`, `arm64`, `osx`): warn.

The pass message says which runner kind the step asks for.

**Why.** A step runs on an online runner that has *all* its labels; a label no
runner can have (Bitbucket accepts lowercase letters, digits and dots only)
means the step never finds one and fails. Without an OS label Bitbucket sends
the step to a Linux Docker runner, so a shell, Windows or macOS step must name
its OS label (`linux.shell`, `windows`, `macos`).

**Fails**

```yaml
      - step:
          name: Build
          runs-on:
            - self-hosted
            - Linux
          script:
            - make
```

**Passes**

```yaml
      - step:
          name: Build
          runs-on:
            - self.hosted
            - linux
          script:
            - make
```

**Fix.** Write `runs-on` as a list of the runner's labels, exactly as
Bitbucket shows them: `self.hosted`, the OS label of the runner kind, and your
custom labels.

**References.** Atlassian, "Configure your runner in bitbucket-pipelines.yml";
`../shared/reference/bitbucket-runners.md` §5.1-§5.5.
"""

import difflib

from doctor.inputs.pipelines import LABEL_RE, MAX_CUSTOM_LABELS, OS_LABELS, SELF_HOSTED, os_labels, target
from doctor.model import Severity
from doctor.rulebase import Rule

KNOWN = [SELF_HOSTED, *OS_LABELS]
# labels people write for one Bitbucket knows (GitHub habits, other spellings)
MEANT = {"self-hosted": SELF_HOSTED, "selfhosted": SELF_HOSTED, "self_hosted": SELF_HOSTED, "self": SELF_HOSTED,
         "shell": "linux.shell", "linux-shell": "linux.shell", "linux_shell": "linux.shell", "bash": "linux.shell",
         "arm64": "linux.arm64", "aarch64": "linux.arm64", "linux-arm64": "linux.arm64", "linux.arm": "linux.arm64",
         "arm": "linux.arm64", "osx": "macos", "mac": "macos", "darwin": "macos", "macos.arm64": "macos",
         "win": "windows", "windows64": "windows", "win64": "windows", "powershell": "windows"}
KIND_LABEL = {"linux": "Linux Docker (x86_64)", "linux.arm64": "Linux Docker (arm64)", "linux.shell": "Linux Shell",
              "windows": "Windows", "macos": "macOS"}


def meant(label):
    low = label.lower().strip()
    if low in MEANT:
        return MEANT[low]
    if low in KNOWN:
        return low
    close = difflib.get_close_matches(low, KNOWN, n=1, cutoff=0.8)
    return close[0] if close else None


class RunsOnLabels(Rule):
    id = "RD701"
    name = "runs-on-labels"
    severity = Severity.ERROR
    applies_to = ("pipeline-step",)

    def check(self, subject, ctx):
        step = subject.step
        if step.runs_on_string:
            text = step.runs_on[0].value or ""
            if "," in text or " " in text.strip():
                labels = [p.strip() for p in text.replace(",", " ").split() if p.strip()]
                yield self.fail(f"runs-on is one string, {text!r}: Bitbucket reads it as one label of that name, "
                                "which no runner has", f"write a list: runs-on: [{', '.join(labels)}]",
                                at=step.runs_on_origin, evidence=text)
                return
        problems, self_typos = [], []
        labels = step.labels
        for item in step.runs_on:
            if item.value is None:
                problems.append(self.fail("a runs-on entry is not a label (a YAML mapping or list)",
                                          "write each label as text", at=item.origin))
                continue
            label = item.value
            guess = meant(label)
            if guess == SELF_HOSTED and label != SELF_HOSTED and SELF_HOSTED not in labels:
                self_typos.append(item)
                continue
            if not LABEL_RE.match(label):
                hint = f": did you mean {guess}?" if guess else ""
                fix = f"write {guess}" if guess else "use lowercase letters, digits and dots only"
                problems.append(self.fail(f"the label {label!r} cannot exist: runner labels are lowercase letters, "
                                          f"digits and dots{hint}", fix, at=item.origin, evidence=label))
            elif label not in KNOWN and guess and label.lower() in MEANT:
                problems.append(self.warn(f"the label {label!r} is a custom label, not {guess}: only "
                                          f"runners you gave {label!r} in Bitbucket match it", f"write {guess}, if "
                                          "that runner kind is meant", at=item.origin, evidence=label,
                                          severity=Severity.WARNING))
        if SELF_HOSTED not in labels:
            typo = self_typos[0] if self_typos else None
            written = f": {typo.value!r} is not it (runner labels are exact)" if typo else ""
            problems.insert(0, self.fail(f"runs-on has no {SELF_HOSTED}{written}, so no self-hosted runner matches "
                                         "the step", f"write {SELF_HOSTED}" if typo else f"add {SELF_HOSTED}",
                                         at=typo.origin if typo else step.runs_on_origin,
                                         evidence=typo.value if typo else ""))
        found = os_labels(labels)
        if len(found) > 1:
            problems.append(self.fail(f"runs-on names {' and '.join(found)}: a runner has one OS label, so no runner "
                                      "can run this step", "keep the OS label of the runner kind you mean",
                                      at=step.runs_on_origin))
        custom = step.custom_labels
        if len(custom) > MAX_CUSTOM_LABELS:
            problems.append(self.fail(f"runs-on has {len(custom)} custom labels: a runner has at most "
                                      f"{MAX_CUSTOM_LABELS}, so none can match", "keep at most 10 custom labels",
                                      at=step.runs_on_origin))
        yield from problems
        if problems:
            return
        want = target(labels)
        kind = KIND_LABEL[found[0]] if found else "Linux Docker"
        how = "" if found else " (no OS label: Bitbucket sends it to a Linux Docker runner)"
        extra = f", with the label{'s' if len(custom) > 1 else ''} {', '.join(custom)}" if custom else ""
        yield self.ok(f"runs on a {kind} runner{extra}{how}" if want else "runs-on is valid", at=step.runs_on_origin)


RULE = RunsOnLabels()
