r"""In bitbucket-pipelines.yml, the images a self-hosted Docker step pulls are references Docker reads as meant.

**What it checks.** The step's image (or the file's default image) and its
services' images, parsed the way Docker parses them, with the same checks as
RD401: an invalid reference fails with Docker's reason; `host:port` with no
repository fails (Docker reads the port as a tag of a Docker Hub image); a
first component that is not a registry host warns (it is a Docker Hub
namespace) - except that step images from Docker Hub (`node:20`,
`atlassian/default-image:4`) pass, since that is what steps usually mean.
Images given by a `$VARIABLE` are skipped, and so are the steps of Linux
Shell, Windows and macOS runners (RD702).

Whether the image can be pulled (it exists, the credentials work) needs the
registry: that is the image-pullable check (RD402), planned for the live
version; it does not exist yet.

**Why.** The runner hands the reference to Docker as written. A private
registry written without its domain is looked up on Docker Hub, which answers
"pull access denied" for a repository that does not exist there: the step fails
at its first second with an error that looks like a credentials problem.

**Fails**

```yaml
      - step:
          runs-on: [self.hosted, linux]
          image: registry.acme.example:5443
```

**Passes**

```yaml
      - step:
          runs-on: [self.hosted, linux]
          image: registry.acme.example:5443/build/node:20
```

**Fix.** Write `registry-host[:port]/path[:tag]`, lowercase, e.g.
`registry.acme.example:5443/build/node:20`; for Docker Hub images,
`docker.io/namespace/name:tag` says so.

**References.** distribution/reference (`normalize.go`, `regexp.go`);
`../shared/reference/registry-and-docker-config.md` §2.1;
`../shared/reference/bitbucket-runners.md` §5.6.
"""

from doctor.imageref import InvalidReference, parse_reference
from doctor.model import Severity
from doctor.rulebase import Rule
from doctor.rules._steps import pulled_images
from doctor.rules._images import NamedImage, port_read_as_tag
from doctor.rules.rd401_image_reference import RULE as IMAGE_REFERENCE


class StepImageReference(Rule):
    id = "RD705"
    name = "step-image-reference"
    severity = Severity.ERROR
    applies_to = ("pipeline-step",)

    def check(self, subject, ctx):
        images, done = pulled_images(self, subject.step)
        if done is not None:
            yield done
            return
        for image in images:
            yield self._judge(image)

    def _judge(self, image):
        name = image.name or ""
        try:
            ref = parse_reference(name)
        except InvalidReference:
            ref = None
        if ref is not None and ref.is_docker_hub and not ref.explicit_domain and not port_read_as_tag(name, ref) \
                and ("/" in name.split("@", 1)[0] or "." not in ref.path):
            # node:20, atlassian/default-image:4: Docker Hub is what steps usually mean
            first = name.split("/", 1)[0] if "/" in name else None
            note = f" (if {first} is a registry of yours, write its full host name)" if first else ""
            return self.ok(f"{image.what} is {ref.familiar} from Docker Hub{note}", at=image.origin, evidence=name)
        # everything else gets the judgement RD401 gives the runner's own images
        return IMAGE_REFERENCE._check_one(NamedImage(image.what, image.name, image.origin))


RULE = StepImageReference()
