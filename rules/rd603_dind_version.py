r"""On Kubernetes, the dind sidecar's image is pinned to a Docker version.

**What it checks.** The image of each dind sidecar in the runner's pod (other
runner forms, and pods without a sidecar: skip):

- a tag that names a version (`docker:27.3-dind`, `docker:20.10.7-dind`,
  `docker:27-dind`) or a digest: pass;
- a tag that moves (`docker:dind`, `docker:latest`, `docker:stable-dind`, no
  tag): warn;
- a reference Docker would not accept: fail.

**Why.** `docker:dind` becomes a new Docker release whenever the node pulls it
again (a new node, an evicted pod), so the daemon that runs your steps changes
without anyone changing the manifest. Users report builds failing when the
dind version differed from what the cluster and the runner were used with,
e.g. `failed to adjust OOM score for shim: set shim OOM score: write
/proc/.../oom_score_adj: invalid argument`, fixed by aligning the version. A
pinned version makes an upgrade a deliberate change you can roll back.

**Fails** (warns)

```yaml
        - name: docker
          image: docker:dind
          securityContext:
            privileged: true
```

**Passes**

```yaml
        - name: docker
          image: docker:27.3-dind
          securityContext:
            privileged: true
```

**Fix.** Pin the sidecar to the Docker version you tested with
(`docker:27.3-dind`, or a digest), ideally the one the nodes run, and upgrade it
on purpose.

**References.** `../shared/reference/bitbucket-runners.md` §3.3 (the OOM-score
error and its fix), §6.1; Docker Hub, the `docker` image's tags.
"""

import re

from doctor.imageref import InvalidReference, parse_reference, unresolved_variable
from doctor.model import Severity
from doctor.rules._kubernetes import KubernetesRule, kubernetes_facts

VERSIONED = re.compile(r"^\d+(\.\d+)*")


class DindVersion(KubernetesRule):
    id = "RD603"
    name = "dind-version"
    severity = Severity.WARNING

    def check(self, subject, ctx):
        facts = kubernetes_facts(subject)
        if not facts.daemons:
            yield self.skip("no dind sidecar in the pod (RD601)")
            return
        for c in facts.daemons:
            yield self._judge(c)

    def _judge(self, c):
        image, at = c.image or "", c.image_origin
        if unresolved_variable(image) or "<%" in image:
            return self.skip(f"the image of {c.name} is filled in later ({image}): its tag is not checked here", at=at)
        try:
            ref = parse_reference(image)
        except InvalidReference as exc:
            return self.fail(f"the image of {c.name}, {image!r}, is not a valid image reference: {exc}",
                             "write it as docker:<version>-dind, e.g. docker:27.3-dind", at=at, evidence=image,
                             severity=Severity.ERROR)
        if ref.digest is not None:
            return self.ok(f"{c.name} runs {ref.familiar_name} pinned by digest", at=at, evidence=image)
        tag = ref.tag or "latest"
        if VERSIONED.match(tag):
            return self.ok(f"{c.name} runs {ref.familiar_name}:{tag}, a fixed Docker version", at=at, evidence=image)
        how = "has no tag (latest)" if ref.tag is None else f"uses the moving tag '{tag}'"
        return self.warn(f"the dind sidecar {c.name} {how}: the Docker daemon that runs your steps changes with "
                         "each release whenever the image is pulled again",
                         f"pin it to the version you tested: {ref.familiar_name}:<version>-dind (e.g. "
                         f"{ref.familiar_name}:27.3-dind)", at=at, evidence=image)


RULE = DindVersion()
