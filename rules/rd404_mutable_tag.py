r"""Custom helper images are pinned to a tag or digest, not `latest`.

**What it checks.** For each helper image you override with your own (a value
that is not the documented default), the reference names a tag other than
`latest`, or a digest. `latest` or no tag at all (which Docker reads as
`latest`) is an info-level warning. No overrides, or only the defaults
written out: pass. Images that are not valid references are left to RD401;
values only known at run time are skipped.

**Why.** The runner pulls these images for every step. With `latest`, what
your steps run changes whenever someone pushes to your registry, and two
runners can run different versions at the same time. A fixed tag (or a
digest) makes an update a deliberate change to the runner's configuration.
The documented defaults are Atlassian's responsibility and are not flagged.

**Fails**

(info-level warn)

```sh
docker container run -it \
  ...
  -e PAUSE_IMAGE=registry.acme.example/mirror/pause \
  -e CLONE_IMAGE=registry.acme.example/mirror/bitbucket-pipelines-dvcs-tools:latest \
  docker-public.packages.atlassian.com/sox/atlassian/bitbucket-pipelines-runner:1
```

**Passes**

```sh
docker container run -it \
  ...
  -e PAUSE_IMAGE=registry.acme.example/mirror/pause:3.9 \
  -e CLONE_IMAGE=registry.acme.example/mirror/bitbucket-pipelines-dvcs-tools@sha256:<64 hex digits> \
  docker-public.packages.atlassian.com/sox/atlassian/bitbucket-pipelines-runner:1
```

**Fix.** Push the helper image to your registry under a version tag (e.g. the
date you mirrored it, or the upstream version) and use that tag, or pin it by
digest (`docker buildx imagetools inspect IMAGE` prints it).

**References.** `../shared/reference/bitbucket-runners.md` §1.2 (the helper
image variables and their defaults) and §3.2 (private registries);
`../shared/reference/registry-and-docker-config.md` §2.1 (default tag).
"""

from doctor.imageref import InvalidReference, parse_reference
from doctor.model import Severity
from doctor.rulebase import Rule
from doctor.rules._images import helper_images, is_default, port_read_as_tag


class MutableTag(Rule):
    id = "RD404"
    name = "mutable-tag"
    severity = Severity.INFO

    def check(self, subject, ctx):
        custom = [image for image in helper_images(subject.runner) if not is_default(image)]
        if not custom:
            yield self.ok("no custom helper images: the runner uses Atlassian's defaults")
            return
        for image in custom:
            yield self._check_one(image)

    def _check_one(self, image):
        what, text, at = image.what, image.text, image.origin
        unknown = image.unknown_because
        if unknown:
            return self.skip(f"{unknown}: its tag is not checked", at=at)
        try:
            ref = parse_reference(text)
        except InvalidReference:
            return self.skip(f"{what} is not a valid image reference (see RD401): its tag is not checked", at=at)
        if port_read_as_tag(text, ref):
            return self.skip(f"{what} names a registry host and port, not an image (see RD401): its tag is not "
                             "checked", at=at)
        if ref.digest is not None:
            return self.ok(f"{what} is pinned by digest", at=at, evidence=text)
        if ref.tag is None or ref.tag == "latest":
            how = "has no tag, so Docker pulls 'latest'" if ref.tag is None else "uses the tag 'latest'"
            return self.warn(
                f"{what} {how}: the image your steps run changes whenever 'latest' is pushed",
                f"pin it: {ref.familiar_name}:<version> or {ref.familiar_name}@sha256:<digest>",
                at=at, evidence=text, severity=Severity.INFO)
        return self.ok(f"{what} is pinned to the tag '{ref.tag}'", at=at, evidence=text)


RULE = MutableTag()
