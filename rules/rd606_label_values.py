r"""On Kubernetes, label values are valid, and UUIDs in labels are written without braces and match the env.

**What it checks.** The labels of the runner's pod template, of its workload
and of the Secrets it reads (other runner forms: skip):

- a value Kubernetes refuses: braces (`runnerUuid: {0f1e...}` - in YAML also
  a mapping), other characters than letters, digits, `-`, `_` and `.`, more
  than 63 characters, or a non-string value: fail;
- a label whose key names a runner UUID (`accountUuid`, `repositoryUuid`,
  `runnerUuid`, `account_uuid`, ...) holding another UUID than the runner's env
  variable: warn (copied from another runner?);
- the autoscaler's `<%placeholders%>` are filled in later: not checked.

**Why.** Braces are part of Bitbucket's UUIDs in the runner's env
(`ACCOUNT_UUID: "{...}"`, RD202), but Kubernetes label values cannot hold
them: `kubectl apply` fails with `a valid label must be an empty string or
consist of alphanumeric characters, '-', '_' or '.'`. Atlassian's manifests
write the UUIDs in labels without braces. Labels that name another runner's
UUID mislead whoever looks for this runner's pods (`kubectl get pods -l
runnerUuid=...`) and the autoscaler's cleaner, which finds jobs by label.

**Fails**

```yaml
    metadata:
      labels:
        accountUuid: "{3f9b1c2e-6d4a-4b8e-9f0a-1c2d3e4f5a6b}"
        runnerUuid: "{0f1e2d3c-4b5a-5968-8776-a5b4c3d2e1f0}"
```

**Passes**

```yaml
    metadata:
      labels:
        accountUuid: 3f9b1c2e-6d4a-4b8e-9f0a-1c2d3e4f5a6b
        runnerUuid: 0f1e2d3c-4b5a-5968-8776-a5b4c3d2e1f0
```

**Fix.** Write UUIDs in labels without braces (and keep them, quoted, in the
env values); use the runner's own UUIDs.

**References.** Atlassian, "Deploying the Docker-based runner on Kubernetes"
(labels without braces); `../shared/reference/bitbucket-runners.md` §1.3, §6.1;
Kubernetes, "Labels and Selectors" (syntax and character set).
"""

import re

from doctor.model import Severity
from doctor.rules._env import UUID_RE, known_value
from doctor.rules._kubernetes import KubernetesRule, kubernetes_facts

LABEL_VALUE = re.compile(r"^(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?$")
UUID_KEYS = {"account": "ACCOUNT_UUID", "repository": "REPOSITORY_UUID", "runner": "RUNNER_UUID"}


def _variable_for(key):
    """The runner variable a label key names (accountUuid, account_uuid, app/runner-uuid...), or None."""
    k = key.rsplit("/", 1)[-1].lower().replace("_", "").replace("-", "").replace(".", "")
    for word, var in UUID_KEYS.items():
        if k == f"{word}uuid":
            return var
    return None


class LabelValues(KubernetesRule):
    id = "RD606"
    name = "label-values"
    severity = Severity.ERROR

    def check(self, subject, ctx):
        from doctor.inputs.kubernetes import is_template_value

        facts = kubernetes_facts(subject)
        runner = subject.runner
        problems, checked = [], 0
        for label in facts.labels:
            if label.value is not None and is_template_value(label.value):
                continue
            checked += 1
            result = self._judge(runner, label)
            if result is not None:
                problems.append(result)
        yield from problems
        if problems:
            return
        if not checked:
            yield self.ok("no labels to check (labels are optional)")
            return
        yield self.ok(f"{checked} label value{'s' if checked != 1 else ''} Kubernetes accepts; UUIDs in labels "
                      "have no braces and match the runner's env")

    def _judge(self, runner, label):
        where = f"label {label.key} of {label.owner}"
        if label.value is None:
            found = UUID_RE.search(label.raw)
            fix = f"{label.key}: {found.group(0)}" if found else f"{label.key}: <text without braces>"
            return self.fail(f"{where} is not a string ({label.raw}): unquoted braces make a YAML mapping, and label "
                             "values cannot hold braces anyway", f"write the UUID without braces: {fix}",
                             at=label.origin, evidence=label.raw)
        value = label.value
        if not LABEL_VALUE.match(value) or len(value) > 63:
            found = UUID_RE.search(value)
            if "{" in value or "}" in value:
                why = "label values cannot hold braces"
            elif len(value) > 63:
                why = f"it is {len(value)} characters long; the limit is 63"
            else:
                why = "only letters, digits, '-', '_' and '.' are allowed, starting and ending with a letter or digit"
            fix = f"{label.key}: {found.group(0)}" if found else "write a value Kubernetes accepts"
            return self.fail(f"{where} is {value!r}: {why}, so kubectl refuses the manifest", fix,
                             at=label.origin, evidence=value)
        var_name = _variable_for(label.key)
        var = runner.env_var(var_name) if var_name else None
        env_value = known_value(var) if var is not None else None
        env_uuid = UUID_RE.search(env_value or "")
        own = UUID_RE.search(value)
        if env_uuid and own and env_uuid.group(0).lower() != own.group(0).lower():
            return self.warn(f"{where} is {value}, but {var_name} is {env_value}: a label copied from another runner?",
                             f"{label.key}: {env_uuid.group(0)}", at=label.origin, evidence=value,
                             severity=Severity.WARNING)
        return None


RULE = LabelValues()
