"""What the registry stage learned about each image the runners pull: plain data, no secrets.

One :class:`ImageCheck` per (image reference, credentials) pair; it holds the
direct probe of the registry's HTTP API and, when a daemon was reachable, the
daemon's own answer (``GET /distribution/{name}/json``). The rules RD402 and
RD403 read these; the support bundle stores them (:meth:`RegistryResults.to_dict`).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field, fields
from typing import Any, Dict, List, Optional

# outcomes a probe can have; everything but OK is a reason the pull fails or could not be checked
OK = "ok"
NOT_FOUND = "not-found"  # 404 MANIFEST_UNKNOWN / NAME_UNKNOWN: tag or repository missing
AMBIGUOUS = "ambiguous"  # Docker Hub's 401: missing or private, it will not say
UNAUTHORIZED = "unauthorized"  # 401: credentials missing or refused
INSUFFICIENT_SCOPE = "insufficient-scope"  # 401 insufficient_scope: the credentials lack pull access
DENIED = "denied"  # 403
RATE_LIMITED = "rate-limited"  # 429
SERVER_ERROR = "server-error"  # 5xx
BAD_NAME = "bad-name"  # the registry's router 404 (text/plain): the name is not valid there
DNS = "dns"
REFUSED = "refused"
TIMEOUT = "timeout"
TLS = "tls"
HTTP_ONLY = "http-only"
NETWORK = "network"  # reset, unreachable, other socket errors
UNSAFE_REALM = "unsafe-realm"  # credentials withheld from a token service: the verdict cannot be trusted
PROTOCOL = "protocol"  # not a v2 registry, a malformed answer, an oversized answer, a redirect loop
NOT_CONTACTED = "not-contacted"  # the run did not contact this registry (RUNNER_DOCTOR_LOOPBACK_ONLY)

MISSING = (NOT_FOUND, AMBIGUOUS)  # what says "not in the registry" (RD403)


@dataclass
class RateLimit:
    limit: Optional[int] = None
    remaining: Optional[int] = None
    window: Optional[int] = None  # seconds
    source: str = ""
    retry_after: str = ""

    def describe(self) -> str:
        parts = []
        window = ""
        if self.window:
            window = f" per {self.window / 3600:g} h" if self.window % 3600 == 0 else f" per {self.window} s"
        if self.remaining is not None and self.limit is not None:
            parts.append(f"{self.remaining} of {self.limit} pulls left{window}")
        elif self.limit is not None:
            parts.append(f"a limit of {self.limit} pulls{window}")
        if self.source:
            parts.append(f"counted for {self.source}")
        if self.retry_after:
            parts.append(f"retry after {self.retry_after}")
        return ", ".join(parts)


@dataclass
class Probe:
    """One way of resolving one image: ``direct`` (the registry's API) or ``daemon``."""

    via: str
    outcome: str
    message: str  # what happened, in words a person can act on (never a secret)
    fix: str = ""
    digest: str = ""
    media_type: str = ""
    platforms: List[str] = field(default_factory=list)  # "linux/amd64", "linux/arm64/v8"
    notes: List[str] = field(default_factory=list)
    trail: List[str] = field(default_factory=list)  # the requests made: "HEAD https://r/v2/x/manifests/1 -> 200"
    rate_limit: Optional[RateLimit] = None

    @property
    def ok(self) -> bool:
        return self.outcome == OK

    @property
    def conclusive(self) -> bool:
        """The probe reached an answer about the image (not a guard, not a withheld credential)."""
        return self.outcome not in (NOT_CONTACTED,)

    def to_dict(self) -> Dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: Dict[str, Any]) -> "Probe":
        known = {f.name for f in fields(cls)}
        values = {k: v for k, v in data.items() if k in known}
        if isinstance(values.get("rate_limit"), dict):
            rl_known = {f.name for f in fields(RateLimit)}
            values["rate_limit"] = RateLimit(**{k: v for k, v in values["rate_limit"].items() if k in rl_known})
        return cls(**values)


@dataclass
class ImageCheck:
    key: str  # image + credentials, see doctor.registry.plan
    image: str  # the normalised reference ("docker.io/library/alpine:3.20")
    registry: str  # the reference's domain ("docker.io", "registry.acme.example:5443")
    credentials: str  # who asked, without secrets: "anonymous", "ci-bot (from /srv/runner/docker/config.json)"
    direct: Optional[Probe] = None
    daemon: Optional[Probe] = None
    daemon_url: str = ""

    @property
    def verdict(self) -> Optional[Probe]:
        """The daemon's answer when there is one (that is how the runner pulls), else the direct probe's."""
        if self.daemon is not None and self.daemon.conclusive:
            return self.daemon
        return self.direct

    def to_dict(self) -> Dict[str, Any]:
        out = {f.name: getattr(self, f.name) for f in fields(self)}
        out["direct"] = self.direct.to_dict() if self.direct else None
        out["daemon"] = self.daemon.to_dict() if self.daemon else None
        return out

    @classmethod
    def from_dict(cls, data: Dict[str, Any]) -> "ImageCheck":
        known = {f.name for f in fields(cls)}
        values = {k: v for k, v in data.items() if k in known}
        for name in ("direct", "daemon"):
            if isinstance(values.get(name), dict):
                values[name] = Probe.from_dict(values[name])
        return cls(**values)


@dataclass
class RegistryResults:
    """Every image check of a run, by key."""

    checks: Dict[str, ImageCheck] = field(default_factory=dict)
    notes: List[str] = field(default_factory=list)  # run-wide remarks (e.g. the loopback-only guard)
    pulls: Dict[str, Dict[str, str]] = field(default_factory=dict)  # subject id -> {what it is: check key}
    # the host's docker login the stage read for the runner image (its secrets are masked in every output);
    # not stored in a bundle
    logins: List[Any] = field(default_factory=list, repr=False, compare=False)

    def get(self, key: str) -> Optional[ImageCheck]:
        return self.checks.get(key)

    def for_subject(self, subject_id: str, what: str) -> Optional[ImageCheck]:
        """The check of one image of one subject ("the runner image", "PAUSE_IMAGE (default)", ...)."""
        key = self.pulls.get(subject_id, {}).get(what)
        return self.checks.get(key) if key else None

    def to_dict(self) -> Dict[str, Any]:
        return {"checks": [c.to_dict() for c in self.checks.values()], "notes": list(self.notes),
                "pulls": {s: dict(m) for s, m in self.pulls.items()}}

    @classmethod
    def from_dict(cls, data: Dict[str, Any]) -> "RegistryResults":
        checks = [ImageCheck.from_dict(c) for c in data.get("checks") or [] if isinstance(c, dict)]
        pulls = {str(s): {str(k): str(v) for k, v in m.items()} for s, m in (data.get("pulls") or {}).items()
                 if isinstance(m, dict)}
        return cls({c.key: c for c in checks}, list(data.get("notes") or []), pulls)
