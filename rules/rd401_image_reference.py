r"""The runner and helper images (PAUSE_IMAGE, AUTH_PROXY_IMAGE, CLONE_IMAGE) are references Docker reads as meant.

**What it checks.** Each of these images is parsed the way Docker parses it
(distribution/reference), one finding per image, at the line that sets it:

- not a valid reference (uppercase repository, bad tag, unknown digest
  algorithm, …): fail with Docker's reason;
- no `/` and a `:port` after a host name (`registry.acme.example:5443`): fail —
  Docker reads that as the Docker Hub repository `library/registry.acme.example`
  with the *tag* `5443`;
- a first component that is not a registry host (`my-private-registry/my-pause`,
  or no `/` at all): warn — Docker pulls it from Docker Hub. Writing
  `docker.io/…` says that Docker Hub is meant;
- a value given by a variable that is not set in the file: that image is
  skipped.

**Why.** Docker only treats the part before the first `/` as a registry when
it is `localhost`, contains a `.` or a `:`, or has an uppercase letter;
everything else is a Docker Hub namespace. A private registry written without
its domain is therefore looked up on Docker Hub, which answers "unauthorized"
for a repository that does not exist, so the mistake shows up as a confusing
authentication error in the step log.

**Fails**

```sh
docker container run -it \
  ...
  -e PAUSE_IMAGE=registry.acme.example:5443 \
  -e CLONE_IMAGE=my-private-registry/dvcs-tools:prod-stable \
  docker-public.packages.atlassian.com/sox/atlassian/bitbucket-pipelines-runner:1
```

**Passes**

```sh
docker container run -it \
  ...
  -e PAUSE_IMAGE=registry.acme.example:5443/google/pause:3.9 \
  -e CLONE_IMAGE=my-private-registry.acme.example/dvcs-tools:prod-stable \
  docker-public.packages.atlassian.com/sox/atlassian/bitbucket-pipelines-runner:1
```

**Fix.** Write the registry host (with its port) before the repository path:
`registry.acme.example:5443/google/pause:3.9`. For an image that really is on
Docker Hub, write `docker.io/namespace/name:tag`.

**References.** distribution/reference `normalize.go` (`splitDockerDomain`)
and `regexp.go`; `../shared/reference/registry-and-docker-config.md` §2.1;
`../shared/reference/bitbucket-runners.md` §1.2 (the helper image variables).
"""

import re

from doctor.imageref import InvalidReference, parse_reference
from doctor.model import Severity
from doctor.rulebase import Rule
from doctor.rules._images import all_images, lowercase_suggestion, port_read_as_tag


class ImageReference(Rule):
    id = "RD401"
    name = "image-reference"
    severity = Severity.ERROR

    def check(self, subject, ctx):
        for image in all_images(subject.runner):
            yield self._check_one(image)

    def _check_one(self, image):
        what, text, at = image.what, image.text, image.origin
        unknown = image.unknown_because
        if unknown:
            return self.skip(f"{unknown}: its reference is not checked", at=at)
        if text == "":
            return self.warn(f"{what} is set but empty", f"remove {what} to use the default, or set an image",
                             at=at)
        try:
            ref = parse_reference(text)
        except InvalidReference as exc:
            fix = "write it as [registry-host[:port]/]path[:tag][@sha256:digest]"
            if "must be lowercase" in str(exc):
                fix = f"write the repository path in lowercase: {lowercase_suggestion(text)}"
            return self.fail(f"{what} {text!r} is not a valid image reference: {exc}", fix, at=at, evidence=text)
        if port_read_as_tag(text, ref):
            return self.fail(
                f"{what} {text!r} has no '/', so Docker reads it as the Docker Hub repository {ref.path} "
                f"with the tag '{ref.tag}', not as the registry {text}",
                f"add the repository path after the registry: {text}/<repository>:<tag>", at=at, evidence=text)
        if "/" not in text and "." in ref.path:
            name = text.split("@", 1)[0].split(":", 1)[0]
            return self.warn(
                f"{what} {text!r} has no '/', so Docker reads it as the Docker Hub repository {ref.path}, "
                "not as a registry host",
                f"add the repository path after the registry: {name}/<repository>:<tag>", at=at, evidence=text,
                severity=Severity.WARNING)
        if not ref.explicit_domain:
            first = ref.path.split("/", 1)[0] if "/" in text.split("@", 1)[0] else None
            if first is not None:
                return self.warn(
                    f"{what} is pulled from Docker Hub ({ref.repository}): to Docker, '{first}' is not a registry "
                    "host (no '.' or ':'). Did you mean a registry host?",
                    f"add its domain, e.g. {first}.example.com/{text.split('/', 1)[1]}; if Docker Hub is "
                    f"meant, write docker.io/{text}", at=at, evidence=text, severity=Severity.WARNING)
            return self.warn(
                f"{what} {text!r} is pulled from Docker Hub ({ref.repository})",
                f"if it lives in your registry, write its host first (registry.example.com/{text}); if Docker Hub "
                f"is meant, write docker.io/{ref.path.split('/', 1)[1]}", at=at, evidence=text,
                severity=Severity.WARNING)
        if "." not in ref.domain and ":" not in ref.domain and re.search(r"[A-Z]", ref.domain):
            return self.warn(
                f"{what} {text!r}: '{ref.domain}' is read as a registry host only because it has an uppercase "
                "letter; if it is a Docker Hub namespace, it must be lowercase",
                "write the registry's full host name (registry.example.com/...), or the namespace in lowercase",
                at=at, evidence=text, severity=Severity.WARNING)
        if ref.digest is not None:
            version = f"digest {ref.digest[:19]}…"
        else:
            version = f"tag {ref.tag}" if ref.tag is not None else "tag latest (none written)"
        return self.ok(f"{what} is registry {ref.domain}, repository {ref.path}, {version}", at=at, evidence=text)


RULE = ImageReference()
