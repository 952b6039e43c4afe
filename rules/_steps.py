"""What the pipeline-step rules (RD7xx) share."""

from doctor.inputs.pipelines import target
from doctor.model import RunnerKind


def pulled_images(rule, step):
    """The images a step's runner pulls, and the result that ends the rule's check instead (or None).

    Linux Shell, Windows and macOS steps pull no images (RD702 says so); a step without `image:` runs
    in the runner's default build image.
    """
    want = target(step.labels)
    if want is not None and want.kind is not RunnerKind.LINUX_DOCKER:
        return [], rule.skip(f"a {want.kind.label} step pulls no images (RD702)")
    images = step.images()
    if not images:
        return [], rule.ok("no image: the runner uses its default build image", at=step.origin)
    return images, None
