r"""When runner configurations are checked with bitbucket-pipelines.yml, some runner can run each self-hosted step.

**What it checks.** For every self-hosted step, against the runners checked in
the same run (start scripts, compose files, units, Kubernetes manifests, and
the groups of the runners autoscaler):

- the step's labels ask for a runner kind (`linux`/none: Linux Docker,
  `linux.arm64`, `linux.shell`, `windows`, `macos`); a runner of another kind
  cannot run it;
- an autoscaler group's runners have exactly `self.hosted`, `linux` and the
  group's labels, on amd64 nodes;
- the custom labels of other runners are set in Bitbucket, not in their start
  command: a runner of the right kind passes with a note to check its labels.

No runner of the right kind (and labels) among those checked: warn, with what
each checked runner lacks. No runner configuration checked with the file:
skip.

**Why.** A step runs only on an online runner that has all its labels; when
none has them the step fails ("no runner is active" / no matching runner) or
waits. Checking the pipelines file with the runner configuration catches a
shell step without a shell runner, an ARM step on x86 nodes, or a label no
autoscaler group gives, before the first run.

**Fails** (warns)

```sh
runner-doctor check runners_config.yaml bitbucket-pipelines.yml
```

```yaml
# runners_config.yaml: one group, labels [build.large]
# bitbucket-pipelines.yml:
      - step:
          runs-on: [self.hosted, linux, gpu]
```

**Passes**

```yaml
      - step:
          runs-on: [self.hosted, linux, build.large]
```

**Fix.** Give a runner the labels the step asks for (in Bitbucket, or in the
autoscaler group's `labels`), start a runner of the kind it needs, or change
the step's `runs-on`.

**References.** Atlassian, "Configure your runner in bitbucket-pipelines.yml";
`../shared/reference/bitbucket-runners.md` §5.5, §6.2.
"""

from doctor.inputs.pipelines import serve
from doctor.model import Severity
from doctor.rulebase import Rule


class StepRunnerMatch(Rule):
    id = "RD706"
    name = "step-runner-match"
    severity = Severity.WARNING
    applies_to = ("pipeline-step",)

    def check(self, subject, ctx):
        step = subject.step
        if not step.servers:
            yield self.skip("no runner configuration was checked with this file: name the runners' start files or "
                            "manifests too (runner-doctor check start-runner.sh bitbucket-pipelines.yml)")
            return
        labels = step.labels
        verdicts = [(server, *serve(server, labels)) for server in step.servers]
        yes = [(s, why) for s, verdict, why in verdicts if verdict == "yes"]
        maybe = [(s, why) for s, verdict, why in verdicts if verdict == "maybe"]
        if yes:
            s = yes[0][0]
            more = f" (and {len(yes) - 1} more)" if len(yes) > 1 else ""
            yield self.ok(f"{s.title} can run it{more}", at=step.runs_on_origin)
            return
        if maybe:
            s, why = maybe[0]
            yield self.ok(f"{s.title} can run it {why}", at=step.runs_on_origin)
            return
        why = "; ".join(f"{s.title}: {reason}" for s, _verdict, reason in verdicts)
        yield self.warn(f"no runner checked here can run this step (runs-on: {', '.join(labels)}): {why}",
                        "give a runner these labels (in Bitbucket, or in the autoscaler group's labels), start a "
                        "runner of the kind the step needs, or change runs-on", at=step.runs_on_origin,
                        severity=Severity.WARNING)


RULE = StepRunnerMatch()
