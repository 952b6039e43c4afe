"""The daemon's verdict: ``GET /distribution/{name}/json``, the way the runner's pull really goes.

The daemon resolves the image from its own network view (its proxies, registry
mirrors, ``insecure-registries``, ``/etc/docker/certs.d``), with the credentials
given in ``X-Registry-Auth`` (built here from the runner's basic credentials;
``{}`` for an anonymous check, so the doctor's own docker login is never used by
mistake). It reads the manifest with GET, and for a single-platform image its
config blob, to report platforms: on Docker Hub that may count as a pull.
"""

from __future__ import annotations

import base64
import json
import threading
from typing import Any, Dict

from doctor.registry import results as R
from doctor.registry.plan import Pull
from doctor.registry.results import Probe

HUB_NOTE = "checked through the daemon, which reads the manifest with GET: on Docker Hub that counts as a pull"


class DaemonProber:
    """One docker-py client per daemon, shared by the image checks of a run."""

    def __init__(self, facts: Any, timeout: float):
        self.facts = facts
        self.timeout = timeout
        self._client = None
        self._lock = threading.Lock()

    def _api(self):
        with self._lock:
            if self._client is None:
                from doctor.live.daemon import _client

                version = (self.facts.version or {}).get("ApiVersion")
                self._client = _client(self.facts.choice, self.timeout, version)
            return self._client

    def close(self) -> None:
        with self._lock:
            if self._client is not None:
                try:
                    self._client.close()
                except Exception:  # noqa: BLE001 - closing must not hide results
                    pass
                self._client = None

    def probe(self, pull: Pull) -> Probe:
        from docker.errors import APIError

        name = str(pull.ref)
        creds = pull.credentials
        auth: Dict[str, str] = {}
        if creds is not None:
            auth = {"username": creds.user, "password": creds.password, "serveraddress": pull.ref.domain}
        header = base64.urlsafe_b64encode(json.dumps(auth).encode("utf-8")).decode("ascii")
        notes = [HUB_NOTE] if pull.ref.is_docker_hub else []
        trail = [f"GET /distribution/{name}/json on {self.facts.url} "
                 + ("(anonymous)" if creds is None else f"(as {creds.user})")]
        try:
            api = self._api()
            res = api._get(api._url("/distribution/{0}/json", name), headers={"X-Registry-Auth": header})
            data = api._result(res, True)
        except APIError as exc:
            status = exc.status_code or 0
            text = str(exc.explanation or exc)
            trail[-1] += f" -> {status}"
            kind = classify(status, text, pull.ref.is_docker_hub)
            return Probe("daemon", kind, f"the daemon at {self.facts.url} cannot resolve it: {_short(text)}",
                         _fix(kind, pull), notes=notes, trail=trail)
        except Exception as exc:  # noqa: BLE001 - a failing daemon is reported, not raised
            from doctor.live.daemon import _classify

            problem = _classify(exc, self.facts.url, self.timeout, "distribution")
            trail[-1] += f" -> {problem.kind}"
            return Probe("daemon", R.NOT_CONTACTED if problem.kind != "timeout" else R.TIMEOUT,
                         f"the daemon at {self.facts.url} could not be asked: {problem.message}", problem.fix,
                         notes=notes, trail=trail)
        trail[-1] += " -> 200"
        descriptor = (data or {}).get("Descriptor") or {}
        platforms = []
        for p in (data or {}).get("Platforms") or []:
            if isinstance(p, dict) and p.get("os") and p.get("architecture") and p.get("os") != "unknown":
                platforms.append("/".join(str(x) for x in (p["os"], p["architecture"], p.get("variant")) if x))
        digest = str(descriptor.get("digest") or "")
        return Probe("daemon", R.OK, f"the daemon at {self.facts.url} resolves it to {digest or 'a manifest'}",
                     digest=digest, media_type=str(descriptor.get("mediaType") or ""), platforms=platforms,
                     notes=notes, trail=trail)


def classify(status: int, text: str, hub: bool) -> str:
    """The outcome from the daemon's error (it wraps the registry's answer in its own message)."""
    t = text.lower()
    if "toomanyrequests" in t or "too many requests" in t or "rate limit" in t:
        return R.RATE_LIMITED
    if "no such host" in t or "server misbehaving" in t or "temporary failure in name resolution" in t:
        return R.DNS
    if "connection refused" in t:
        return R.REFUSED
    if "http response to https client" in t:
        return R.HTTP_ONLY
    if "x509" in t or "certificate" in t or "tls:" in t:
        return R.TLS
    if "timeout" in t or "deadline exceeded" in t or "i/o timeout" in t:
        return R.TIMEOUT
    if "manifest unknown" in t or "not found" in t or status == 404:
        if hub and ("pull access denied" in t or "may require" in t):
            return R.AMBIGUOUS
        return R.NOT_FOUND
    if "insufficient_scope" in t or "insufficient scope" in t:
        return R.AMBIGUOUS if hub else R.INSUFFICIENT_SCOPE
    if "denied" in t or status == 403:
        return R.AMBIGUOUS if hub else R.DENIED
    if "unauthorized" in t or "authentication required" in t or status == 401:
        return R.AMBIGUOUS if hub else R.UNAUTHORIZED
    if status >= 500:
        return R.SERVER_ERROR
    return R.PROTOCOL


def _short(text: str) -> str:
    text = " ".join(text.split())
    return text if len(text) <= 300 else text[:297] + "..."


def _fix(kind: str, pull: Pull) -> str:
    return {
        R.NOT_FOUND: f"push {pull.ref} to its registry, or correct the reference",
        R.UNAUTHORIZED: "check the credentials the runner uses for this registry",
        R.TLS: f"put the registry's CA certificate in /etc/docker/certs.d/{pull.ref.domain}/ca.crt on the runner host",
        R.HTTP_ONLY: f"list \"{pull.ref.domain}\" in insecure-registries in /etc/docker/daemon.json, or give the "
                     "registry TLS",
        R.DNS: "check the registry host name and the runner host's DNS",
    }.get(kind, "")

