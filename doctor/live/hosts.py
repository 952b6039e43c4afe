"""Which Docker Engine to talk to, chosen the way the docker CLI chooses it.

Precedence (docker/cli ``resolveContextName``): ``--host`` > ``DOCKER_HOST`` >
``DOCKER_CONTEXT`` > ``currentContext`` in the CLI's config.json > the default
socket ``unix:///var/run/docker.sock``. A context's endpoint is read from
``<config dir>/contexts/meta/<sha256(name)>/meta.json`` and its TLS files from
``<config dir>/contexts/tls/<sha256(name)>/docker/``. A context that does not
exist is an error, as it is for the docker CLI (not a silent fall-back).
"""

from __future__ import annotations

import hashlib
import json
import os
from dataclasses import dataclass
from typing import Any, Dict, Optional, Tuple
from urllib.parse import urlparse

DEFAULT_HOST = "unix:///var/run/docker.sock"


@dataclass(frozen=True)
class HostChoice:
    url: str
    source: str  # "--host", "DOCKER_HOST", "context NAME", "default"
    tls_verify: bool = False
    cert_path: Optional[str] = None
    error: Optional[str] = None  # the choice itself is broken (a context that does not exist): no daemon to ask
    fix: str = ""  # for the error


def cli_config_dir(environ: Dict[str, str]) -> str:
    return environ.get("DOCKER_CONFIG") or os.path.join(os.path.expanduser("~"), ".docker")


def _read_json(path: str) -> Tuple[Any, Optional[str]]:
    """(data, None) or (None, why not): read with the input limits (a FIFO is never opened), nesting bounded."""
    from doctor.inputs.files import read_text
    from doctor.inputs.jsondepth import reason, too_deep

    text, err, _mode = read_text(path)
    if text is None:
        return None, err or "cannot be read"
    deep = too_deep(text)
    if deep:
        return None, reason(deep)
    try:
        return json.loads(text), None
    except ValueError as exc:
        return None, f"not valid JSON: {exc}"


def _context_endpoint(name: str, environ: Dict[str, str]) -> Tuple[Optional[HostChoice], Optional[str]]:
    """The context's Docker endpoint (with its TLS files, as `docker context create` stores them), or why not."""
    digest = hashlib.sha256(name.encode()).hexdigest()
    contexts = os.path.join(cli_config_dir(environ), "contexts")
    meta = os.path.join(contexts, "meta", digest, "meta.json")
    data, err = _read_json(meta)
    if err == "no such file":
        return None, f"no such context in {contexts}"
    if err:
        return None, f"{meta} cannot be read ({err})"
    try:
        endpoint = data["Endpoints"]["docker"]
        host = endpoint["Host"]
    except (KeyError, TypeError):
        return None, f"{meta} has no Docker endpoint"
    if not isinstance(host, str) or not host:
        return None, f"{meta} has no Docker endpoint"
    tls_dir = os.path.join(contexts, "tls", digest, "docker")
    has_tls = os.path.isdir(tls_dir)
    verify = has_tls and not endpoint.get("SkipTLSVerify", False)
    return HostChoice(normalise(host), f"context {name}", verify, tls_dir if has_tls else None), None


def _current_context(environ: Dict[str, str]) -> Tuple[Optional[str], str]:
    """The context name the docker CLI would use, and where it comes from."""
    if environ.get("DOCKER_CONTEXT"):
        return environ["DOCKER_CONTEXT"], "DOCKER_CONTEXT"
    path = os.path.join(cli_config_dir(environ), "config.json")
    data, _err = _read_json(path)  # one that cannot be read names no context (the CLI only warns)
    if isinstance(data, dict):
        for key, value in data.items():
            if key.lower() == "currentcontext" and isinstance(value, str) and value:  # Go's JSON: any case
                return value, f"currentContext in {path}"
    return None, ""


def choose(explicit: Optional[str] = None, environ: Optional[Dict[str, str]] = None) -> HostChoice:
    env = dict(os.environ if environ is None else environ)
    tls = bool(env.get("DOCKER_TLS_VERIFY"))
    certs = env.get("DOCKER_CERT_PATH") or None
    if explicit:
        return _no_password(HostChoice(normalise(explicit), "--host", tls, certs))
    if env.get("DOCKER_HOST"):
        return _no_password(HostChoice(normalise(env["DOCKER_HOST"]), "DOCKER_HOST", tls, certs))
    name, origin = _current_context(env)
    if name and name != "default":
        choice, why = _context_endpoint(name, env)
        if choice is not None:
            return _no_password(choice)
        return HostChoice(f"context {name}", origin,
                          error=f"the docker context {name!r} (from {origin}) is unusable: {why}",
                          fix="list the contexts (docker context ls) and choose one (docker context use NAME, or "
                              "DOCKER_CONTEXT), or give --host")
    return HostChoice(DEFAULT_HOST, "default")


def _no_password(choice: HostChoice) -> HostChoice:
    """A password in the URL (ssh://user:pw@host) is refused, as the docker CLI refuses it, and never shown."""
    try:
        parsed = urlparse(choice.url)
        password = parsed.password
    except ValueError:
        return choice
    if not password:
        return choice
    shown = choice.url.replace(f":{password}@", ":***@", 1)
    return HostChoice(shown, choice.source, error=f"{shown}: a password in the host URL is not supported (the docker "
                                                  "CLI refuses it too)",
                      fix="remove the password; log in with an ssh key (ssh-agent, ~/.ssh, or IdentityFile in "
                          "~/.ssh/config)")


def normalise(url: str) -> str:
    """A host URL docker-py accepts: a bare socket path becomes unix://PATH."""
    url = url.strip()
    if url.startswith("/"):
        return "unix://" + url
    return url


def unix_socket_path(url: str) -> Optional[str]:
    """The socket file of a unix:// URL, or None for other schemes."""
    if not url.startswith("unix://"):
        return None
    path = url[len("unix://"):]
    return path if path.startswith("/") else "/" + path


def scheme(url: str) -> str:
    return urlparse(url).scheme or "unix"
