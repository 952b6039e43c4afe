"""What the image rules (RD002, RD401, RD404) share: which images a runner setup names, and where."""

from __future__ import annotations

from dataclasses import dataclass

from doctor.imageref import ImageRef, InvalidReference, parse_reference, unresolved_variable
from doctor.model import EnvVar, Origin, RunnerSetup
from doctor.record import Record
from doctor.runner_facts import HELPER_IMAGE_DEFAULTS

TYPE_CHECKING = False
if TYPE_CHECKING:  # typing for type checkers only: not imported at run time (start-up, issue 7)
    from typing import Iterator, List, Optional


@dataclass(init=False, eq=False, repr=False)  # ==, repr(): Record; __init__ written out (doctor/record.py)
class NamedImage(Record):
    """An image the runner uses: the runner image itself or a helper image set by an env var."""

    what: str  # "the runner image" or "PAUSE_IMAGE"
    text: Optional[str]  # the reference, None when only known at run time
    origin: Origin
    var: Optional[EnvVar] = None

    def __init__(self, what, text, origin, var=None):
        self.what = what
        self.text = text
        self.origin = origin
        self.var = var

    @property
    def unknown_because(self) -> Optional[str]:
        """Why the reference cannot be checked here, or None when it can."""
        if self.var is not None:
            if self.var.value is None:
                return f"{self.what} is {self.var.describe()}, so it is not known here"
            if not self.var.is_reference:
                return None
        ref = unresolved_variable(self.text)
        if ref:
            return f"{self.what} is given by {ref}, which is not set in this file"
        return None


def helper_images(setup: RunnerSetup) -> List[NamedImage]:
    """PAUSE_IMAGE, AUTH_PROXY_IMAGE and CLONE_IMAGE as set for the runner (the last one of a name wins)."""
    out = []
    for name in HELPER_IMAGE_DEFAULTS:
        var = setup.env_var(name)
        if var is not None:
            out.append(NamedImage(name, var.value, var.origin, var))
    return out


def is_default(image: NamedImage) -> bool:
    """The helper image is the documented default (written out, perhaps in another spelling)."""
    default = HELPER_IMAGE_DEFAULTS.get(image.what)
    if default is None or image.text is None:
        return False
    if image.text == default:
        return True
    try:
        return str(parse_reference(image.text)) == str(parse_reference(default))
    except InvalidReference:
        return False


def port_read_as_tag(text: str, ref: ImageRef) -> bool:
    """`registry.acme.example:5443`: a host and port with no path, which Docker reads as a Hub tag."""
    if "/" in text:
        return False
    name = text.split("@", 1)[0].split(":", 1)[0]
    return ("." in name or name == "localhost") and ref.tag is not None and ref.tag.isdigit()


def lowercase_suggestion(text: str) -> str:
    """The reference with its repository path in lowercase (the registry host kept as written)."""
    first, sep, rest = text.partition("/")
    if sep and ("." in first or ":" in first or first == "localhost"):
        path, at, digest = rest.partition("@")
        return f"{first}/{path.lower()}{at}{digest}"
    path, at, digest = text.partition("@")
    return f"{path.lower()}{at}{digest}"


def all_images(setup: RunnerSetup) -> Iterator[NamedImage]:
    if setup.image is not None:
        yield NamedImage("the runner image", setup.image, setup.image_origin)
    yield from helper_images(setup)
