r"""The runner image is Atlassian's runner (or a mirror you named) on the tag `1`.

**What it checks.** The image of a Linux Docker runner is
`docker-public.packages.atlassian.com/sox/atlassian/bitbucket-pipelines-runner`,
or a repository you declared as a mirror of it (`--runner-image REPOSITORY`),
with the tag `1` that the Bitbucket "Add runner" dialog gives.

- `1`: pass. A digest pin (`@sha256:…`): pass, with a note that updates then
  need a new digest.
- `latest`, or no tag at all (which is `latest`): warn.
- Atlassian's internal tags `stg-stable` and `ddev-stable`: warn.
- Another tag: warn.
- Another repository called `bitbucket-pipelines-runner` (a mirror you did not
  declare) or a container that only looks like a runner by its variables:
  warn.
- An image that is not a valid reference: fail. An image given by a variable
  that is not set in the file (`$RUNNER_IMAGE`): skip.

**Why.** `1` is the major-version tag Atlassian moves with each compatible
release, so the runner stays compatible and supported. `latest` is what Docker
pulls when no tag is written; a few Atlassian pages show the image untagged,
but the generated command never does, and `latest` can move to a new major
version.
`stg-stable` and `ddev-stable` appear in Atlassian UI code for staging and
development environments; they are not meant for customers and may carry
unreleased runners.

**Fails**

```sh
docker container run -it \
  ...
  docker-public.packages.atlassian.com/sox/atlassian/bitbucket-pipelines-runner:stg-stable
```

(warn) — and with no tag at all:

```sh
  docker-public.packages.atlassian.com/sox/atlassian/bitbucket-pipelines-runner
```

**Passes**

```sh
docker container run -it \
  ...
  docker-public.packages.atlassian.com/sox/atlassian/bitbucket-pipelines-runner:1
```

**Fix.** Use `…/bitbucket-pipelines-runner:1`, as the dialog prints it. If
you pull the runner through your own registry, keep the tag `1` there and run
the doctor with `--runner-image your.registry.example/bitbucket-pipelines-runner`.

**References.** Atlassian, "Adding a new runner in Linux Docker" (the
generated start command); `../shared/reference/bitbucket-runners.md` §1.1;
`../shared/reference/registry-and-docker-config.md` §2.1 (reference grammar).
"""

from doctor.imageref import InvalidReference, parse_reference
from doctor.inputs.docker_run import RUNNER_REPOSITORY as RUNNER_NAME
from doctor.model import Severity
from doctor.rulebase import Rule
from doctor.rules._images import NamedImage
from doctor.runner_facts import INTERNAL_RUNNER_TAGS, RUNNER_REPOSITORY, RUNNER_TAG

RECOMMENDED = f"{RUNNER_REPOSITORY}:{RUNNER_TAG}"


def _normalized_mirrors(mirrors):
    out = set()
    for text in mirrors:
        try:
            ref = parse_reference(text)
        except InvalidReference:
            out.add(text)
            continue
        out.add(ref.repository)
    return out


class RunnerImage(Rule):
    id = "RD002"
    name = "runner-image"
    severity = Severity.WARNING

    def check(self, subject, ctx):
        runner = subject.runner
        image, at = runner.image, runner.image_origin
        if image is None:
            yield self.skip("the runner's image is not given here, so it cannot be checked", at=runner.origin)
            return
        unknown = NamedImage("the runner image", image, at).unknown_because
        if unknown:
            yield self.skip(f"{unknown}: check that it expands to {RECOMMENDED}", at=at)
            return
        try:
            ref = parse_reference(image)
        except InvalidReference as exc:
            yield self.fail(f"the runner image {image!r} is not a valid image reference: {exc}",
                            f"use {RECOMMENDED}", at=at, evidence=image, severity=Severity.ERROR)
            return
        mirror = ref.repository in _normalized_mirrors(ctx.runner_mirrors)
        if ref.repository != RUNNER_REPOSITORY and not mirror:
            yield self._other_repository(ref, at)
            return
        which = "a mirror of the runner image you declared" if mirror else "Atlassian's runner image"
        if ref.digest is not None:
            yield self.ok(f"{ref.familiar_name} is {which}, pinned by digest: it never changes; to update "
                          f"the runner you must look up the new digest of tag {RUNNER_TAG}", at=at, evidence=image)
            return
        if ref.tag is None or ref.tag == "latest":
            how = "has no tag, so Docker uses 'latest'" if ref.tag is None else "uses the tag 'latest'"
            yield self.warn(
                f"the runner image {how}: Bitbucket's dialog uses the major-version tag '{RUNNER_TAG}'; 'latest' "
                "is not the documented tag and can move to a new major version",
                f"use {ref.familiar_name}:{RUNNER_TAG}", at=at, evidence=image)
            return
        if ref.tag in INTERNAL_RUNNER_TAGS:
            yield self.warn(
                f"the runner image uses '{ref.tag}', an Atlassian-internal tag (staging/development builds, "
                "not meant for customers): the runner may be unreleased or stop working without notice",
                f"use {ref.familiar_name}:{RUNNER_TAG}", at=at, evidence=image)
            return
        if ref.tag != RUNNER_TAG:
            yield self.warn(
                f"the runner image uses the tag '{ref.tag}', not '{RUNNER_TAG}' as Bitbucket's dialog gives: "
                "a fixed version does not get Atlassian's runner updates",
                f"use {ref.familiar_name}:{RUNNER_TAG}", at=at, evidence=image)
            return
        yield self.ok(f"{ref.familiar} is {which} on the tag '{RUNNER_TAG}'", at=at, evidence=image)

    def _other_repository(self, ref, at):
        basename = ref.path.rsplit("/", 1)[-1]
        if basename == RUNNER_NAME:
            return self.warn(
                f"{ref.familiar_name} is not Atlassian's runner repository ({RUNNER_REPOSITORY}); "
                "if it is a mirror, configure it as one (so the doctor checks it as the runner)",
                f"run the doctor with --runner-image {ref.familiar_name}, or use {RECOMMENDED}",
                at=at, evidence=ref.original)
        return self.warn(
            f"this container has the runner's variables but its image {ref.familiar} is not the Bitbucket "
            "runner image: an image built from the runner does not get Atlassian's runner updates",
            f"use {RECOMMENDED}, or, if the image mirrors it, run the doctor with "
            f"--runner-image {ref.familiar_name}", at=at, evidence=ref.original)


RULE = RunnerImage()
