r"""In bitbucket-pipelines.yml, a self-hosted Docker step that pulls from a private registry gives credentials.

**What it checks.** The images a Linux Docker step pulls - its `image:` (or
the file's default image) and the images of its services:

- an Amazon ECR registry (`<account>.dkr.ecr.<region>.amazonaws.com`) without
  `aws:` credentials (`access-key`/`secret-key`, or `oidc-role`): fail, ECR
  has no anonymous pulls;
- another registry that is not a public one (your own
  `registry.example.com:5443`, `*.azurecr.io`, `*.jfrog.io`...) without
  `username`/`password`: warn - fine if the image is public there;
- Docker Hub and the well-known public registries (`ghcr.io`, `quay.io`,
  `gcr.io`, `mcr.microsoft.com`, `public.ecr.aws`...): pass; credentials given:
  pass (RD704 checks how they are written).

Shell, Windows and macOS steps pull no images: skip. Whether an image really
is private is only known to the registry (the pull check is for a later
version).

**Why.** The runner pulls step images with the credentials written in the
step, not with a `docker login` of the runner's host or its Docker config
(those are for the runner's own helper images). A private image without them
fails the step at the pull: `pull access denied ... may require 'docker
login'`.

**Fails**

```yaml
      - step:
          runs-on: [self.hosted, linux]
          image: 123456789012.dkr.ecr.eu-west-1.amazonaws.com/build/node:20
```

**Passes**

```yaml
      - step:
          runs-on: [self.hosted, linux]
          image:
            name: 123456789012.dkr.ecr.eu-west-1.amazonaws.com/build/node:20
            aws:
              access-key: $AWS_ACCESS_KEY_ID
              secret-key: $AWS_SECRET_ACCESS_KEY
```

**Fix.** Use the block form, with secured repository or workspace variables:
`image: {name: ..., username: $REGISTRY_USER, password: $REGISTRY_PASSWORD}`,
or `aws: {access-key: ..., secret-key: ...}` / `aws: {oidc-role: ...}` for ECR.

**References.** Atlassian, "Docker image options" (private images, ECR);
`../shared/reference/bitbucket-runners.md` §5.6, §3.1.
"""

import re

from doctor.imageref import InvalidReference, parse_reference, unresolved_variable
from doctor.model import Severity
from doctor.rulebase import Rule
from doctor.rules._steps import pulled_images

ECR = re.compile(r"^\d{12}\.dkr\.ecr(-fips)?\.[a-z0-9-]+\.amazonaws\.com(\.cn)?(:\d+)?$")
PUBLIC = ("docker.io", "ghcr.io", "quay.io", "gcr.io", "mcr.microsoft.com", "public.ecr.aws", "registry.k8s.io",
          "registry.gitlab.com", "docker-public.packages.atlassian.com", "docker-hub.packages.atlassian.com")


class PrivateImageCredentials(Rule):
    id = "RD703"
    name = "private-image-credentials"
    severity = Severity.ERROR
    applies_to = ("pipeline-step",)

    def check(self, subject, ctx):
        images, done = pulled_images(self, subject.step)
        if done is not None:
            yield done
            return
        problems, notes = [], []
        for image in images:
            result, note = self._judge(image)
            if result is not None:
                problems.append(result)
            if note:
                notes.append(note)
        yield from problems
        if not problems:
            yield self.ok("; ".join(notes), at=images[0].origin)

    def _judge(self, image):
        name, at = image.name, image.origin
        if not name:
            return self.fail(f"{image.what} has no name", "add name: <image>", at=at), None
        if unresolved_variable(name):
            return None, f"{image.what} is given by a variable ({name})"
        try:
            ref = parse_reference(name)
        except InvalidReference:
            return None, f"{image.what} is not a valid reference (RD705)"
        if image.has_credentials:
            return None, f"{image.what} ({ref.familiar}) has credentials"
        if ECR.match(ref.domain):
            return self.fail(f"{image.what} is in Amazon ECR ({ref.domain}), which has no anonymous pulls, and the "
                             "step gives no aws: credentials: the pull fails",
                             "use image: {name: ..., aws: {access-key: $AWS_ACCESS_KEY_ID, secret-key: "
                             "$AWS_SECRET_ACCESS_KEY}} (or aws: {oidc-role: ...})", at=at, evidence=name), None
        if ref.domain in PUBLIC or ref.domain.endswith(".packages.atlassian.com"):
            where = "Docker Hub" if ref.is_docker_hub else ref.domain
            return None, f"{image.what} ({ref.familiar}) is on {where} (if it is private, add username and password)"
        return self.warn(f"{image.what} comes from {ref.domain}, not a public registry the doctor knows, and the "
                         "step gives no credentials: if the image is private there, the pull fails",
                         "if it is private: image: {name: " + name + ", username: $REGISTRY_USER, password: "
                         "$REGISTRY_PASSWORD} (secured repository variables)", at=at, evidence=name,
                         severity=Severity.WARNING), None


RULE = PrivateImageCredentials()
