"""Image references parsed the way Docker parses them (distribution/reference).

``parse_reference(text)`` reproduces ``reference.ParseNormalizedNamed`` from
github.com/distribution/reference (v0.6, the version docker/cli and moby use):
the grammar of ``regexp.go``, the registry-host guess of ``splitDockerDomain``
in ``normalize.go`` and the digest checks of go-digest. See
``../shared/reference/registry-and-docker-config.md`` §2.1.

What matters for a runner configuration:

- a name with no ``/`` is always Docker Hub: ``pause`` is
  ``docker.io/library/pause``, and ``registry.acme.example:5443`` is the Hub
  repository ``library/registry.acme.example`` with the *tag* ``5443``;
- the first component is a registry host only when it is ``localhost``,
  contains ``.`` or ``:``, or has an uppercase letter, so
  ``my-private-registry/my-pause`` is the Hub repository
  ``my-private-registry/my-pause``.
"""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass

from doctor import lazyre
from doctor.record import FrozenRecord

TYPE_CHECKING = False
if TYPE_CHECKING:  # typing for type checkers only: not imported at run time (start-up, issue 7)
    from typing import Optional

DEFAULT_DOMAIN = "docker.io"
LEGACY_DEFAULT_DOMAIN = "index.docker.io"
OFFICIAL_REPO_PREFIX = "library/"
LOCALHOST = "localhost"
NAME_TOTAL_LENGTH_MAX = 255  # v0.6: counts the path only

# ---- regexp.go ----
_ALNUM = r"[a-z0-9]+"
_SEPARATOR = r"(?:[._]|__|[-]+)"
_PATH_COMPONENT = _ALNUM + r"(?:" + _SEPARATOR + _ALNUM + r")*"
_DOMAIN_COMPONENT = r"(?:[a-zA-Z0-9]|[a-zA-Z0-9][a-zA-Z0-9-]*[a-zA-Z0-9])"
_DOMAIN_NAME = _DOMAIN_COMPONENT + r"(?:\." + _DOMAIN_COMPONENT + r")*"
_IPV6 = r"\[(?:[a-fA-F0-9:]+)\]"
_HOST = r"(?:" + _DOMAIN_NAME + r"|" + _IPV6 + r")"
_DOMAIN_AND_PORT = _HOST + r"(?::[0-9]+)?"
# Go's \w is ASCII only
_TAG = r"[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}"
_DIGEST = r"[A-Za-z][A-Za-z0-9]*(?:[-_+.][A-Za-z][A-Za-z0-9]*)*:[0-9a-fA-F]{32,}"
_REMOTE_NAME = _PATH_COMPONENT + r"(?:/" + _PATH_COMPONENT + r")*"
_NAME = r"(?:" + _DOMAIN_AND_PORT + r"/)?" + _REMOTE_NAME

# compiled on first use (doctor/lazyre.py): ~1 ms of a check's start-up when no image is parsed
REFERENCE_RE = lazyre.compile(r"^(" + _NAME + r")(?::(" + _TAG + r"))?(?:@(" + _DIGEST + r"))?$")
ANCHORED_NAME_RE = lazyre.compile(r"^(?:(" + _DOMAIN_AND_PORT + r")/)?(" + _REMOTE_NAME + r")$")
ANCHORED_DOMAIN_RE = lazyre.compile(r"^" + _DOMAIN_AND_PORT + r"$")
IDENTIFIER_RE = lazyre.compile(r"^[a-f0-9]{64}$")
TAG_RE = lazyre.compile(r"^" + _TAG + r"$")

# go-digest: the algorithms Docker registers, and the length of their hex part
DIGEST_HEX_LENGTHS = {"sha256": 64, "sha384": 96, "sha512": 128}

_VARIABLE_RE = lazyre.compile(r"\$(\{[^}]*\}?|[A-Za-z_][A-Za-z0-9_]*)")


class InvalidReference(ValueError):
    """Docker would refuse this image reference; the message says why."""


@dataclass(init=False, eq=False, repr=False)  # frozen: FrozenRecord (doctor/record.py)
class ImageRef(FrozenRecord):
    """A parsed image reference, as docker's reference package reads it."""

    original: str  # the text as written
    domain: str  # "docker.io" for Docker Hub
    path: str  # "library/ubuntu", "sox/atlassian/bitbucket-pipelines-runner"
    tag: Optional[str] = None  # None when no tag was written
    digest: Optional[str] = None  # "sha256:..." when pinned by digest
    explicit_domain: bool = False  # the user wrote a registry host (docker.io counts)

    def __init__(self, original, domain, path, tag=None, digest=None, explicit_domain=False):
        fields = self.__dict__  # not self.x = ...: FrozenRecord refuses that
        fields["original"] = original
        fields["domain"] = domain
        fields["path"] = path
        fields["tag"] = tag
        fields["digest"] = digest
        fields["explicit_domain"] = explicit_domain

    @property
    def repository(self) -> str:
        """The full repository name, ``domain/path``."""
        return f"{self.domain}/{self.path}"

    @property
    def is_docker_hub(self) -> bool:
        return self.domain == DEFAULT_DOMAIN

    @property
    def familiar_name(self) -> str:
        """The repository as docker prints it (``ubuntu``, ``myorg/app``, ``myreg:5000/app``)."""
        if not self.is_docker_hub:
            return self.repository
        path = self.path
        if path.startswith(OFFICIAL_REPO_PREFIX) and "/" not in path[len(OFFICIAL_REPO_PREFIX):]:
            path = path[len(OFFICIAL_REPO_PREFIX):]
        return path

    @property
    def familiar(self) -> str:
        """The reference as docker prints it (``ubuntu:22.04``, ``myreg:5000/app@sha256:...``)."""
        out = self.familiar_name
        if self.tag is not None:
            out += ":" + self.tag
        if self.digest is not None:
            out += "@" + self.digest
        return out

    @property
    def effective_tag(self) -> Optional[str]:
        """The tag docker pulls: the one written, ``latest`` when none; None when pinned by digest."""
        if self.digest is not None:
            return None
        return self.tag if self.tag is not None else "latest"

    def __str__(self) -> str:
        out = self.repository
        if self.tag is not None:
            out += ":" + self.tag
        if self.digest is not None:
            out += "@" + self.digest
        return out


def unresolved_variable(text: Optional[str]) -> Optional[str]:
    """The first shell/compose variable reference in the text (``$REG``, ``${TAG}``), or None."""
    if not text:
        return None
    m = _VARIABLE_RE.search(text)
    return m.group(0) if m else None


def split_docker_domain(name: str):
    """normalize.go ``splitDockerDomain``: (domain, remainder, the user wrote the domain)."""
    maybe_domain, sep, maybe_remote = name.partition("/")
    if not sep:
        return DEFAULT_DOMAIN, OFFICIAL_REPO_PREFIX + name, False
    if maybe_domain == LOCALHOST:
        domain, remote = maybe_domain, maybe_remote
    elif maybe_domain == LEGACY_DEFAULT_DOMAIN:
        domain, remote = DEFAULT_DOMAIN, maybe_remote
    elif "." in maybe_domain or ":" in maybe_domain:
        domain, remote = maybe_domain, maybe_remote
    elif maybe_domain.lower() != maybe_domain:
        domain, remote = maybe_domain, maybe_remote
    else:
        return DEFAULT_DOMAIN, _official(name), False
    if domain == DEFAULT_DOMAIN:
        remote = _official(remote)
    return domain, remote, True


def _official(remote: str) -> str:
    # only the repository part counts: "ubuntu:22.04" and "ubuntu@sha256:..." have no "/"
    return remote if "/" in remote else OFFICIAL_REPO_PREFIX + remote


def _check_digest(digest: str) -> None:
    algorithm, _, hexpart = digest.partition(":")
    if algorithm not in DIGEST_HEX_LENGTHS:
        raise InvalidReference(
            f"unsupported digest algorithm {algorithm!r}: docker knows sha256, sha384 and sha512")
    want = DIGEST_HEX_LENGTHS[algorithm]
    if len(hexpart) != want:
        raise InvalidReference(
            f"invalid checksum digest length: a {algorithm} digest has {want} hex digits, this one has {len(hexpart)}")
    if not re.fullmatch(r"[a-f0-9]+", hexpart):
        raise InvalidReference("invalid checksum digest format: the hex digits must be lowercase")


@functools.lru_cache(maxsize=256)
def parse_reference(text: str) -> ImageRef:
    """Parse an image reference like ``docker pull`` does; raises :class:`InvalidReference`.

    Remembered (256 texts): the rules parse the same references again and again (the runner image of
    nearly every file is the same text; 3,200 parses per 1,000 files, 1,300 of them distinct; issue 7).
    A pure function of the text, and an ImageRef cannot be changed, so nothing remembered goes stale;
    an invalid reference raises each time (exceptions are not remembered)."""
    if text is None or text == "":
        raise InvalidReference("the image reference is empty")
    if text != text.strip():
        raise InvalidReference(f"invalid reference format: {text!r} has leading or trailing whitespace")
    if IDENTIFIER_RE.match(text):
        raise InvalidReference(
            f"invalid repository name ({text}), cannot specify 64-byte hexadecimal strings "
            "(that is an image ID, not a name)")
    domain, remainder, explicit = split_docker_domain(text)
    remote = remainder.split(":", 1)[0]
    if remote.lower() != remote:
        raise InvalidReference(
            f"invalid reference format: repository name ({remote}) must be lowercase")
    full = domain + "/" + remainder
    m = REFERENCE_RE.match(full)
    if m is None:
        raise InvalidReference(_why_invalid(text, domain, remainder))
    name, tag, digest = m.group(1), m.group(2), m.group(3)
    nm = ANCHORED_NAME_RE.match(name)
    if nm is None or nm.group(1) is None or nm.group(1) != domain:
        # docker's regexp would read the whole name as a path without a registry; no pull can work
        raise InvalidReference(
            f"invalid reference format: {domain!r} is not a valid registry host "
            "(letters, digits, '-' and '.', an optional :port, or an [IPv6] address)")
    path = nm.group(2)
    if len(path) > NAME_TOTAL_LENGTH_MAX:
        raise InvalidReference(f"repository name must not be more than {NAME_TOTAL_LENGTH_MAX} characters")
    if digest is not None:
        _check_digest(digest)
    return ImageRef(original=text, domain=domain, path=path, tag=tag, digest=digest, explicit_domain=explicit)


def _why_invalid(text: str, domain: str, remainder: str) -> str:
    """A specific reason for 'invalid reference format', when one can be named."""
    rest, at, digest = remainder.partition("@")
    repo, colon, tag = rest.partition(":")
    if domain != DEFAULT_DOMAIN or text.startswith(("docker.io/", "index.docker.io/")):
        if not ANCHORED_DOMAIN_RE.match(domain):
            return (f"invalid reference format: {domain!r} is not a valid registry host "
                    "(letters, digits, '-' and '.', an optional :port, or an [IPv6] address)")
    if at and not re.fullmatch(_DIGEST, digest):
        return f"invalid reference format: {digest!r} is not a digest (algorithm:hex, e.g. sha256:<64 hex digits>)"
    if colon and not TAG_RE.match(tag):
        if not tag:
            return "invalid reference format: the tag after ':' is empty"
        if len(tag) > 128:
            return f"invalid reference format: the tag is {len(tag)} characters long; the limit is 128"
        return (f"invalid reference format: tag {tag!r} may contain only letters, digits, '_', '.' and '-' "
                "and must not start with '.' or '-'")
    bad = [c for c in repo.split("/") if not re.fullmatch(_PATH_COMPONENT, c)]
    if bad:
        return (f"invalid reference format: {bad[0]!r} is not a valid repository name component "
                "(lowercase letters and digits, separated by '.', '_', '__' or '-')")
    return "invalid reference format"
