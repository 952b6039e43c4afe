"""Which Docker Engine to talk to, chosen the way the docker CLI chooses it.

Precedence (docker/cli ``resolveContextName``): ``--host`` > ``DOCKER_HOST`` >
``DOCKER_CONTEXT`` > ``currentContext`` in the CLI's config.json > the default
socket ``unix:///var/run/docker.sock``. A context's endpoint is read from
``<config dir>/contexts/meta/<sha256(name)>/meta.json``.
"""

from __future__ import annotations

import hashlib
import json
import os
from dataclasses import dataclass
from typing import Dict, Optional
from urllib.parse import urlparse

DEFAULT_HOST = "unix:///var/run/docker.sock"


@dataclass(frozen=True)
class HostChoice:
    url: str
    source: str  # "--host", "DOCKER_HOST", "context NAME", "default"
    tls_verify: bool = False
    cert_path: Optional[str] = None


def cli_config_dir(environ: Dict[str, str]) -> str:
    return environ.get("DOCKER_CONFIG") or os.path.join(os.path.expanduser("~"), ".docker")


def _context_host(name: str, environ: Dict[str, str]) -> Optional[str]:
    digest = hashlib.sha256(name.encode()).hexdigest()
    meta = os.path.join(cli_config_dir(environ), "contexts", "meta", digest, "meta.json")
    try:
        with open(meta, encoding="utf-8") as fh:
            data = json.load(fh)
        return data["Endpoints"]["docker"]["Host"]
    except (OSError, ValueError, KeyError, TypeError):
        return None


def _current_context(environ: Dict[str, str]) -> Optional[str]:
    if environ.get("DOCKER_CONTEXT"):
        return environ["DOCKER_CONTEXT"]
    try:
        with open(os.path.join(cli_config_dir(environ), "config.json"), encoding="utf-8") as fh:
            data = json.load(fh)
    except (OSError, ValueError):
        return None
    if isinstance(data, dict):
        for key, value in data.items():
            if key.lower() == "currentcontext" and isinstance(value, str) and value:
                return value
    return None


def choose(explicit: Optional[str] = None, environ: Optional[Dict[str, str]] = None) -> HostChoice:
    env = dict(os.environ if environ is None else environ)
    tls = bool(env.get("DOCKER_TLS_VERIFY"))
    certs = env.get("DOCKER_CERT_PATH") or None
    if explicit:
        return HostChoice(normalise(explicit), "--host", tls, certs)
    if env.get("DOCKER_HOST"):
        return HostChoice(normalise(env["DOCKER_HOST"]), "DOCKER_HOST", tls, certs)
    name = _current_context(env)
    if name and name != "default":
        host = _context_host(name, env)
        if host:
            return HostChoice(normalise(host), f"context {name}")
    return HostChoice(DEFAULT_HOST, "default")


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
