"""The direct probe: resolve an image's manifest in its registry over the HTTP API v2, no layers.

Per registry (once per run): ``GET /v2/`` tells whether and how it wants
authentication. Per image: a Bearer token from the realm the registry names
(with the basic credentials when the realm may have them, else anonymously), or
Basic credentials, then ``HEAD /v2/<path>/manifests/<tag|digest>`` with all four
manifest media types in ``Accept``. For a multi-platform image the index is
then read by digest (a GET; not on Docker Hub, where a manifest GET counts as a
pull) to list its platforms. Blobs are never requested.

Where credentials may go (reference §5): to the registry's own host, and to a
token realm over https; over plain http only when the registry itself is
loopback or insecure and the realm is on the registry's host. A redirect is
followed by hand, with the same method, and without ``Authorization`` when it
leaves the origin.
"""

from __future__ import annotations

import base64
import ipaddress
import json
import os
import re
import socket
import threading
from typing import Dict, List, Optional, Sequence, Tuple
from urllib.parse import urlencode, urljoin, urlsplit

from doctor.registry import results as R
from doctor.registry.plan import Pull
from doctor.registry.results import Probe, RateLimit
from doctor.registry.transport import MAX_MANIFEST_BODY, NetError, Response, Transport, is_loopback_host, split_host

MANIFEST_TYPES = (
    "application/vnd.docker.distribution.manifest.v2+json",
    "application/vnd.docker.distribution.manifest.list.v2+json",
    "application/vnd.oci.image.manifest.v1+json",
    "application/vnd.oci.image.index.v1+json",
)
INDEX_TYPES = MANIFEST_TYPES[1], MANIFEST_TYPES[3]
HUB_DOMAIN = "docker.io"
HUB_API = "registry-1.docker.io"
DEFAULT_INSECURE = ("127.0.0.0/8", "::1/128")
MAX_REDIRECTS = 3
LOOPBACK_ONLY_ENV = "RUNNER_DOCTOR_LOOPBACK_ONLY"

_PARAM_RE = re.compile(r'\s*([A-Za-z0-9_.-]+)\s*=\s*(?:"((?:[^"\\]|\\.)*)"|([^,\s]*))\s*,?')


def parse_challenges(header: str) -> List[Tuple[str, Dict[str, str]]]:
    """``WWW-Authenticate`` → [(scheme lower-case, {param: value})]; several challenges may be given."""
    out: List[Tuple[str, Dict[str, str]]] = []
    rest = header.strip()
    while rest:
        m = re.match(r"\s*([A-Za-z][A-Za-z0-9_-]*)\s*", rest)
        if not m:
            break
        scheme, rest = m.group(1).lower(), rest[m.end():]
        params: Dict[str, str] = {}
        while True:
            pm = _PARAM_RE.match(rest)
            if not pm or (pm.group(2) is None and pm.group(3) is None):
                break
            # a following challenge starts with a bare word: stop when the "param" has no '=' (checked by regex)
            params[pm.group(1).lower()] = pm.group(2) if pm.group(2) is not None else pm.group(3)
            rest = rest[pm.end():]
        out.append((scheme, params))
        rest = rest.lstrip(", ")
    return out


class Policy:
    """Which registries the daemon treats as insecure (https without verification, then plain http)."""

    def __init__(self, registry_config: Optional[dict] = None, loopback_only: Optional[bool] = None):
        cfg = registry_config or {}
        cidrs = cfg.get("InsecureRegistryCIDRs") if "InsecureRegistryCIDRs" in cfg else list(DEFAULT_INSECURE)
        self.cidrs = []
        for c in cidrs or []:
            try:
                self.cidrs.append(ipaddress.ip_network(c, strict=False))
            except ValueError:
                continue
        self.insecure_names = {name for name, index in (cfg.get("IndexConfigs") or {}).items()
                               if isinstance(index, dict) and index.get("Secure") is False}
        if loopback_only is None:
            loopback_only = os.environ.get(LOOPBACK_ONLY_ENV, "") not in ("", "0")
        self.loopback_only = loopback_only

    def contacts(self, domain: str) -> bool:
        """May this run contact the registry of an image on `domain`? (Not with the loopback-only guard, unless
        the registry is on this machine.)"""
        return not self.loopback_only or is_loopback_host(HUB_API if domain == HUB_DOMAIN else domain)

    def insecure(self, hostport: str) -> bool:
        if hostport in self.insecure_names:
            return True
        host = split_host(hostport, 0)[0]
        try:
            addrs = [ipaddress.ip_address(host)]
        except ValueError:
            if host.lower() == "localhost":
                return True
            try:
                addrs = {ipaddress.ip_address(i[4][0].split("%")[0])
                         for i in socket.getaddrinfo(host, None, type=socket.SOCK_STREAM)}
            except (OSError, UnicodeError, ValueError):
                return False
        return any(a in net for a in addrs for net in self.cidrs if a.version == net.version)


class _Registry:
    """One registry's API endpoint as pinged once per run."""

    def __init__(self, domain: str):
        self.domain = domain
        self.api = HUB_API if domain == HUB_DOMAIN else domain
        self.lock = threading.Lock()
        self.done = False
        self.scheme = "https"
        self.verify = True
        self.insecure = False
        self.challenges: List[Tuple[str, Dict[str, str]]] = []
        self.error: Optional[NetError] = None
        self.trail: List[str] = []
        self.notes: List[str] = []

    @property
    def base(self) -> str:
        return f"{self.scheme}://{self.api}"


class Prober:
    """Direct probes for one run: shares pings, tokens and connections between the images."""

    def __init__(self, timeout: float, policy: Policy, transport: Optional[Transport] = None):
        self.timeout = timeout
        self.policy = policy
        self.transport = transport or Transport(timeout)
        self._registries: Dict[str, _Registry] = {}
        self._tokens: Dict[Tuple[str, str, str, str], Tuple[Optional[str], Optional[Probe]]] = {}
        self._lock = threading.Lock()

    def close(self) -> None:
        self.transport.close()

    # ---- per registry ----
    def registry(self, domain: str) -> _Registry:
        with self._lock:
            reg = self._registries.get(domain)
            if reg is None:
                reg = self._registries[domain] = _Registry(domain)
        with reg.lock:
            if not reg.done:
                self._ping(reg)
                reg.done = True
        return reg

    def _ping(self, reg: _Registry) -> None:
        reg.insecure = reg.domain != HUB_DOMAIN and self.policy.insecure(reg.api)
        attempts = [("https", not reg.insecure)] + ([("http", False)] if reg.insecure else [])
        first_error: Optional[NetError] = None
        for scheme, verify in attempts:
            url = f"{scheme}://{reg.api}/v2/"
            try:
                resp = self.transport.request("GET", url, verify=verify)
            except NetError as exc:
                reg.trail.append(f"GET {url} -> {exc.kind}")
                first_error = first_error or exc
                continue
            reg.trail.append(f"GET {url} -> {resp.status}")
            reg.scheme, reg.verify = scheme, verify
            if scheme == "http":
                reg.notes.append(f"{reg.api} is reached over plain HTTP (Docker treats it as an insecure registry)")
            if resp.status == 401:
                reg.challenges = parse_challenges(", ".join(resp.headers_named("WWW-Authenticate")))
                if not reg.challenges:
                    reg.error = NetError(R.PROTOCOL, f"{url} asks for authentication (401) without saying how "
                                         "(no WWW-Authenticate header)", "check that this is a Docker registry")
            elif resp.status in (301, 302, 303, 307, 308):
                reg.error = NetError(R.PROTOCOL, f"{url} redirects to {resp.header('Location') or '?'}; a registry "
                                     "API does not redirect /v2/", "use the registry's own address (check the "
                                     "image's registry host)")
            elif resp.status != 200:
                reg.error = _status_error(resp, url, f"{url} answers {resp.status}: this address is not a Docker "
                                          "registry's API (GET /v2/ must answer 200 or 401)")
            return
        reg.error = first_error
        if reg.insecure and first_error is not None:
            reg.error = NetError(first_error.kind, first_error.message + " (tried https, then http)", first_error.fix)

    # ---- per image ----
    def probe(self, pull: Pull) -> Probe:
        reg_domain = pull.ref.domain
        if not self.policy.contacts(reg_domain):
            return Probe("direct", R.NOT_CONTACTED, f"{reg_domain} was not contacted: {LOOPBACK_ONLY_ENV} is set, "
                         "so only loopback registries are")
        reg = self.registry(reg_domain)
        trail = list(reg.trail)
        notes = list(reg.notes)
        if reg.error is not None:
            return Probe("direct", reg.error.kind, reg.error.message, reg.error.fix, trail=trail, notes=notes)
        authz, problem, withheld = self._authorization(reg, pull, trail, notes)
        if problem is not None:
            return _unsafe(problem, withheld) if withheld else problem
        reference = pull.ref.digest or pull.ref.effective_tag
        url = f"{reg.base}/v2/{pull.ref.path}/manifests/{reference}"
        try:
            resp = self._head(url, reg, authz, trail)
        except NetError as exc:
            return Probe("direct", exc.kind, exc.message, exc.fix, trail=trail, notes=notes)
        probe = self._interpret(resp, reg, pull, authz, trail, notes)
        if probe.ok:
            self._platforms(probe, reg, pull, authz, trail)
            if withheld:
                probe.notes.append(withheld)
        elif withheld:
            return _unsafe(probe, withheld)
        return probe

    def _authorization(self, reg: _Registry, pull: Pull, trail: List[str],
                       notes: List[str]) -> Tuple[Optional[str], Optional[Probe], Optional[str]]:
        """(Authorization header, a failure, why credentials were withheld from the token service)."""
        schemes = {s: p for s, p in reversed(reg.challenges)}
        creds = pull.credentials
        if not reg.challenges:
            return None, None, None
        if "bearer" in schemes:
            return self._token(reg, schemes["bearer"], pull, trail, notes)
        if "basic" in schemes:
            if creds is None:
                return None, None, None
            raw = f"{creds.user}:{creds.password}".encode("utf-8", "surrogateescape")
            return "Basic " + base64.b64encode(raw).decode("ascii"), None, None
        names = ", ".join(sorted(schemes))
        return None, Probe("direct", R.PROTOCOL, f"{reg.api} asks for an authentication scheme Docker does not "
                           f"speak ({names})", "check that this is a Docker registry", trail=trail, notes=notes), None

    def _token(self, reg: _Registry, params: Dict[str, str], pull: Pull, trail: List[str],
               notes: List[str]) -> Tuple[Optional[str], Optional[Probe], Optional[str]]:
        realm = params.get("realm", "")
        service = params.get("service", "")
        scope = f"repository:{pull.ref.path}:pull"
        creds = pull.credentials
        parts = urlsplit(realm)
        if parts.scheme not in ("http", "https") or not parts.netloc:
            return None, Probe("direct", R.PROTOCOL, f"{reg.api} names a token service that is not an http(s) URL "
                               f"({realm!r})", "check the registry's auth.token.realm setting", trail=trail,
                               notes=notes), None
        withheld = None
        if creds is not None and parts.scheme == "http":
            realm_host = (parts.hostname or "").lower()
            reg_host = urlsplit(reg.base).hostname or ""
            if not (reg.scheme == "http" or reg.insecure) or realm_host != reg_host.lower():
                withheld = (f"the token service {realm} is plain HTTP on another host, so runner-doctor did not "
                            f"send it the credentials of {creds.user} (Docker would, in clear text)")
        send_creds = creds is not None and withheld is None
        cache_key = (realm, service, scope, creds.identity if (creds and send_creds) else "anonymous")
        with self._lock:
            cached = self._tokens.get(cache_key)
        if cached is not None:
            token, failure = cached
            return ("Bearer " + token if token else None), (_copy(failure, trail, notes) if failure else None), \
                withheld
        query = {"service": service, "scope": scope} if service else {"scope": scope}
        if creds is not None and send_creds:
            query["account"] = creds.user
        sep = "&" if parts.query else "?"
        url = realm + sep + urlencode(query)
        headers = {}
        if creds is not None and send_creds:
            raw = f"{creds.user}:{creds.password}".encode("utf-8", "surrogateescape")
            headers["Authorization"] = "Basic " + base64.b64encode(raw).decode("ascii")
        token, failure = None, None
        try:
            resp = self.transport.request("GET", url, headers, verify=reg.verify or parts.scheme == "https")
            trail.append(f"GET {realm} (token, {'as ' + creds.user if creds and send_creds else 'anonymous'}) "
                         f"-> {resp.status}")
        except NetError as exc:
            trail.append(f"GET {realm} (token) -> {exc.kind}")
            failure = Probe("direct", exc.kind, f"the token service {realm}: {exc.message}", exc.fix, trail=trail,
                            notes=notes)
        else:
            if resp.status == 200:
                try:
                    data = json.loads(resp.body.decode("utf-8"))
                    token = data.get("token") or data.get("access_token") if isinstance(data, dict) else None
                except (ValueError, UnicodeDecodeError):
                    token = None
                if not token or not isinstance(token, str):
                    failure = Probe("direct", R.PROTOCOL, f"the token service {realm} answered 200 without a token",
                                    "check the registry's token service", trail=trail, notes=notes)
            elif resp.status == 401 and creds is not None and send_creds:
                failure = Probe("direct", R.UNAUTHORIZED, f"the token service {realm} refused the credentials of "
                                f"{creds.user} (401): wrong user name or password",
                                f"fix the password for {creds.user} in {creds.source} (\"{creds.key}\")",
                                trail=trail, notes=notes)
            elif resp.status in (301, 302, 303, 307, 308):
                failure = Probe("direct", R.PROTOCOL, f"the token service {realm} redirects to "
                                f"{resp.header('Location') or '?'}; runner-doctor does not follow token redirects "
                                "with credentials", "point the registry's token realm at the final URL",
                                trail=trail, notes=notes)
            else:
                err = _status_error(resp, realm, f"the token service {realm} answered {resp.status}")
                failure = Probe("direct", err.kind, err.message, err.fix, trail=trail, notes=notes,
                                rate_limit=_rate_limit(resp))
        with self._lock:
            self._tokens[cache_key] = (token, failure)
        return ("Bearer " + token if token else None), failure, withheld

    def _head(self, url: str, reg: _Registry, authz: Optional[str], trail: List[str],
              method: str = "HEAD", accept: Sequence[str] = MANIFEST_TYPES) -> Response:
        origin = _origin(reg.base)  # credentials go to the registry's own origin only
        current = url
        for _hop in range(MAX_REDIRECTS + 1):
            headers = {"Accept": ", ".join(accept)}
            if authz and _origin(current) == origin:
                headers["Authorization"] = authz
            verify = reg.verify if _origin(current) == origin else True
            resp = self.transport.request(method, current, headers, verify=verify,
                                          max_body=MAX_MANIFEST_BODY)
            trail.append(f"{method} {current} -> {resp.status}"
                         + ("" if "Authorization" in headers or not authz else " (sent without credentials)"))
            if resp.status not in (301, 302, 303, 307, 308) or not resp.header("Location"):
                return resp
            current = urljoin(current, resp.header("Location"))
        raise NetError(R.PROTOCOL, f"{url} redirects more than {MAX_REDIRECTS} times",
                       "check the registry or the proxy in front of it")

    def _interpret(self, resp: Response, reg: _Registry, pull: Pull, authz: Optional[str], trail: List[str],
                   notes: List[str]) -> Probe:
        rate = _rate_limit(resp)
        hub = reg.domain == HUB_DOMAIN
        where = f"{reg.api}"
        tagged = f"tag {pull.ref.effective_tag}" if pull.ref.digest is None else f"digest {pull.ref.digest}"
        creds = pull.credentials
        if resp.status == 200:
            digest = resp.header("Docker-Content-Digest")
            ctype = resp.header("Content-Type").split(";")[0].strip()
            if not digest and pull.ref.digest:
                digest = pull.ref.digest
            if not digest:
                # docker does the same: repeat as a GET to learn the digest (said, because on Hub it counts)
                notes.append("the registry gave no digest on HEAD, so the manifest was read with GET"
                             + (" (on Docker Hub that counts as a pull)" if hub else ""))
                try:
                    reference = pull.ref.digest or pull.ref.effective_tag
                    got = self._head(f"{reg.base}/v2/{pull.ref.path}/manifests/{reference}", reg, authz, trail,
                                     method="GET")
                    digest = got.header("Docker-Content-Digest")
                except NetError:
                    digest = ""
            if rate is not None:
                notes.append(f"Docker Hub pull limit: {rate.describe()}")
            return Probe("direct", R.OK, f"{where} resolves {tagged} to {digest or 'a manifest'}"
                         + (f" ({_kind(ctype)})" if ctype else ""), digest=digest, media_type=ctype, trail=trail,
                         notes=notes, rate_limit=rate)
        if resp.status == 404:
            if resp.header("Content-Type").startswith("text/plain"):
                return Probe("direct", R.BAD_NAME, f"{where} does not accept the name {pull.ref.path} ({tagged}): "
                             "its API answers a plain 404 page", "check the repository path", trail=trail,
                             notes=notes)
            return Probe("direct", R.NOT_FOUND, f"{where} has no {tagged} in repository {pull.ref.path}: the tag was "
                         "never pushed, the repository does not exist, or it was deleted",
                         f"push {pull.ref} to the registry (docker push), or correct the tag", trail=trail,
                         notes=notes)
        if resp.status == 401:
            challenge = dict(parse_challenges(", ".join(resp.headers_named("WWW-Authenticate"))))
            error = (challenge.get("bearer") or {}).get("error", "")
            if hub:
                return Probe("direct", R.AMBIGUOUS, f"Docker Hub answers 401 for {pull.ref.familiar_name} ("
                             + ("anonymously" if creds is None else f"as {creds.user}") + "): it answers so both "
                             "for repositories that do not exist and for private ones these credentials cannot read, "
                             "and will not say which", "check the name on hub.docker.com; for a private repository "
                             "add credentials for \"https://index.docker.io/v1/\" to the runner's config.json",
                             trail=trail, notes=notes, rate_limit=rate)
            if error == "insufficient_scope":
                if creds is None:
                    return Probe("direct", R.UNAUTHORIZED, f"{where} does not let anonymous clients pull "
                                 f"{pull.ref.path} (insufficient_scope): it needs credentials",
                                 _creds_fix(pull), trail=trail, notes=notes)
                return Probe("direct", R.INSUFFICIENT_SCOPE, f"{where} lets {creds.user} log in but not pull "
                             f"{pull.ref.path} (401 insufficient_scope)",
                             f"grant {creds.user} pull access to {pull.ref.path} in the registry, or use an account "
                             "that has it", trail=trail, notes=notes)
            if creds is None:
                return Probe("direct", R.UNAUTHORIZED, f"{where} requires credentials to pull {pull.ref.path} (401), "
                             "and the runner has none for it" + (f" ({pull.why_anonymous})" if pull.why_anonymous
                                                                 else ""), _creds_fix(pull), trail=trail, notes=notes)
            return Probe("direct", R.UNAUTHORIZED, f"{where} refused the credentials of {creds.user} (401): wrong user "
                         "name or password" + (" (or an invalid token)" if error == "invalid_token" else ""),
                         f"fix the password for {creds.user} in {creds.source} (\"{creds.key}\")", trail=trail,
                         notes=notes)
        if resp.status == 403:
            who = "anonymous clients" if creds is None else creds.user
            return Probe("direct", R.DENIED, f"{where} denies {who} access to {pull.ref.path} (403)",
                         "grant pull access in the registry, or use an account that has it", trail=trail, notes=notes)
        err = _status_error(resp, resp.url, f"{where} answered {resp.status} for {tagged} of {pull.ref.path}")
        return Probe("direct", err.kind, err.message, err.fix, trail=trail, notes=notes, rate_limit=rate)

    def _platforms(self, probe: Probe, reg: _Registry, pull: Pull, authz: Optional[str], trail: List[str]) -> None:
        if probe.media_type not in INDEX_TYPES:
            if probe.media_type:
                probe.notes.append("a single-platform image: its platform is written in its config blob, which "
                                   "runner-doctor does not download")
            return
        if reg.domain == HUB_DOMAIN:
            probe.notes.append("a multi-platform image; its platforms are not listed here because reading the index "
                               "from Docker Hub counts as a pull")
            return
        url = f"{reg.base}/v2/{pull.ref.path}/manifests/{probe.digest}"
        try:
            resp = self._head(url, reg, authz, trail, method="GET", accept=INDEX_TYPES)
            data = json.loads(resp.body.decode("utf-8")) if resp.status == 200 else None
        except (NetError, ValueError, UnicodeDecodeError):
            data = None
        if not isinstance(data, dict):
            probe.notes.append("the platform list could not be read")
            return
        found = []
        for m in data.get("manifests") or []:
            plat = m.get("platform") if isinstance(m, dict) else None
            if isinstance(plat, dict) and plat.get("os") and plat.get("architecture") and plat.get("os") != "unknown":
                found.append("/".join(str(x) for x in (plat["os"], plat["architecture"], plat.get("variant")) if x))
        probe.platforms = found


def _unsafe(probe: Probe, withheld: str) -> Probe:
    """A failure after credentials were withheld from an unsafe token service: that is the finding."""
    return Probe("direct", R.UNSAFE_REALM, f"{withheld}; without them the registry does not let it pull "
                 f"({probe.message})", "make the registry's token realm (auth.token.realm) an https URL, or serve it "
                 "from the registry's own host", trail=probe.trail, notes=probe.notes)


def _copy(p: Probe, trail: List[str], notes: List[str]) -> Probe:
    return Probe(p.via, p.outcome, p.message, p.fix, trail=list(trail) + p.trail[-1:], notes=list(notes),
                 rate_limit=p.rate_limit)


def _origin(url: str) -> Tuple[str, str]:
    p = urlsplit(url)
    return p.scheme, p.netloc.rpartition("@")[2].lower()


def _kind(ctype: str) -> str:
    return {
        MANIFEST_TYPES[0]: "Docker image manifest", MANIFEST_TYPES[1]: "Docker manifest list",
        MANIFEST_TYPES[2]: "OCI image manifest", MANIFEST_TYPES[3]: "OCI image index",
    }.get(ctype, ctype)


def _creds_fix(pull: Pull) -> str:
    if pull.what == "the runner image":
        return f"docker login {pull.ref.domain} on the host (basic credentials), or use a public image"
    return (f"add \"{pull.ref.domain}\": {{\"auth\": \"<base64 of user:password>\"}} to auths in the config.json "
            "mounted at /root/.docker (see RD104, RD304)")


_RATE_RE = re.compile(r"^\s*(\d+)\s*(?:;\s*w\s*=\s*(\d+))?")


def _rate_limit(resp: Response) -> Optional[RateLimit]:
    def first(*names: str) -> str:
        for n in names:
            v = resp.header(n)
            if v:
                return v
        return ""

    limit = first("ratelimit-limit", "x-ratelimit-limit")
    remaining = first("ratelimit-remaining", "x-ratelimit-remaining")
    if not limit and not remaining and resp.status != 429:
        return None
    rl = RateLimit(source=first("docker-ratelimit-source"), retry_after=first("retry-after"))
    for text, attr in ((limit, "limit"), (remaining, "remaining")):
        m = _RATE_RE.match(text)
        if m:
            setattr(rl, attr, int(m.group(1)))
            if m.group(2):
                rl.window = int(m.group(2))
    return rl


def _error_codes(resp: Response) -> Tuple[List[str], str]:
    """The registry's error codes and first message from a JSON error body (empty when it is not one)."""
    try:
        data = json.loads(resp.body.decode("utf-8"))
    except (ValueError, UnicodeDecodeError):
        return [], ""
    errors = data.get("errors") if isinstance(data, dict) else None
    if not isinstance(errors, list):
        return [], ""
    codes = [str(e.get("code")) for e in errors if isinstance(e, dict) and e.get("code")]
    message = next((str(e.get("message")) for e in errors if isinstance(e, dict) and e.get("message")), "")
    return codes, message[:200]


def _status_error(resp: Response, url: str, default: str) -> NetError:
    codes, message = _error_codes(resp)
    said = f" ({', '.join(codes)}{': ' + message if message else ''})" if codes else ""
    if resp.status == 429:
        rl = _rate_limit(resp)
        detail = f": {rl.describe()}" if rl and rl.describe() else ""
        return NetError(R.RATE_LIMITED, f"the registry refuses more pulls for now (429 Too Many Requests){detail}",
                        "wait for the window to pass, log in (authenticated pulls have a higher limit), or use a "
                        "mirror or your own registry")
    if 500 <= resp.status < 600:
        return NetError(R.SERVER_ERROR, f"{default}: a server error{said}", "the registry is failing: try again "
                        "later, or check the registry's logs")
    return NetError(R.PROTOCOL, default + said, "")
