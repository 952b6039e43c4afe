r"""In bitbucket-pipelines.yml, a step for a Linux Shell, Windows or macOS runner sets no image or services.

**What it checks.** A self-hosted step whose `runs-on` names `linux.shell`,
`windows` or `macos`:

- `image:` on the step: warn, these runners ignore it;
- `services:` on the step: warn, the same.

Linux Docker steps (`linux`, `linux.arm64`, or no OS label) pass. A top-level
`image:` is not reported: it is there for the file's other steps.

**Why.** Only the Linux Docker runner (and Bitbucket Cloud) runs steps in
containers. Linux Shell, Windows and macOS runners run the script directly on
their host, with the tools installed there: a step image or a service
container is silently not started, so a step that relies on one fails later,
or works only because the host happens to have the tool.

**Fails** (warns)

```yaml
      - step:
          name: Integration tests
          runs-on: [self.hosted, linux.shell]
          image: node:20
          services:
            - postgres
```

**Passes**

```yaml
      - step:
          name: Integration tests
          runs-on: [self.hosted, linux]
          image: node:20
          services:
            - postgres
```

**Fix.** Run the step on a Linux Docker runner (`runs-on: [self.hosted,
linux]`), or remove `image:` and `services:` and install the tools and the
database on the shell runner's host.

**References.** Atlassian, "Docker image options" and "Configure your runner
in bitbucket-pipelines.yml"; `../shared/reference/bitbucket-runners.md` §5.5.
"""

from doctor.inputs.pipelines import target
from doctor.model import RunnerKind, Severity
from doctor.rulebase import Rule


class IgnoredImage(Rule):
    id = "RD702"
    name = "ignored-image"
    severity = Severity.WARNING
    applies_to = ("pipeline-step",)

    def check(self, subject, ctx):
        step = subject.step
        want = target(step.labels)
        if want is None:
            yield self.skip("runs-on names two OS labels (RD701): the runner kind is not known")
            return
        if want.kind is RunnerKind.LINUX_DOCKER:
            yield self.ok("a Linux Docker step: its image and services are used", at=step.runs_on_origin)
            return
        kind = want.kind.label
        problems = []
        if step.image is not None:
            problems.append(self.warn(f"image: is ignored by {kind} runners: they run the script on their host, "
                                      "not in a container", f"remove image: and install the tools on the {kind} "
                                      "host, or run the step on a Linux Docker runner (runs-on: [self.hosted, linux])",
                                      at=step.image.origin, evidence=step.image.name or ""))
        if step.services:
            names = ", ".join(s.value or "?" for s in step.services)
            problems.append(self.warn(f"services ({names}) are not started by {kind} runners: they use no "
                                      "containers", f"remove services: and run them on the {kind} host, or run the "
                                      "step on a Linux Docker runner", at=step.services[0].origin, evidence=names))
        yield from problems
        if not problems:
            yield self.ok(f"a {kind} step with no image or services of its own", at=step.runs_on_origin)


RULE = IgnoredImage()
