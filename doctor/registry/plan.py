"""Which images a runner pulls, and with which credentials: the registry stage's work list.

The runner pulls its three helper images (PAUSE_IMAGE, AUTH_PROXY_IMAGE,
CLONE_IMAGE: the configured ones or the documented defaults) with the basic
credentials of the ``config.json`` mounted at ``/root/.docker``, looked up the
way the docker CLI looks them up. The runner image itself is pulled on the host
by ``docker container run``, with the host's own docker login (``DOCKER_CONFIG``
or ``~/.docker/config.json``), of which only basic credentials are used here:
runner-doctor never runs a credential helper.

Both the stage (which probes) and the rules (which read the results) call
:func:`pulls`, so they agree on the key of each check.
"""

from __future__ import annotations

import hashlib
import hmac
import os
from dataclasses import dataclass, field
from typing import List, Optional, Tuple

from doctor.imageref import ImageRef, InvalidReference, parse_reference
from doctor.model import NOWHERE, DockerConfig, Origin, Subject
from doctor.runner_facts import HELPER_IMAGE_DEFAULTS


_RUN_KEY = os.urandom(32)


@dataclass
class Credentials:
    """Basic credentials for one registry. ``password`` is a secret: never print it, never store it."""

    user: str
    password: str = field(repr=False)
    source: str  # the config file they come from
    key: str  # its `auths` key

    @property
    def label(self) -> str:
        return f"{self.user} (from {self.source}, \"{self.key}\")"

    @property
    def identity(self) -> str:
        """Tells credentials apart in a key without revealing them: an HMAC under a key drawn per run and never
        stored, so the value cannot be used to guess a short password."""
        h = hmac.new(_RUN_KEY, f"{self.source}\0{self.key}\0{self.user}\0{self.password}".encode("utf-8", "replace"),
                     hashlib.sha256)
        return f"{self.user}@{h.hexdigest()[:12]}"


@dataclass
class Pull:
    """One image a runner pulls."""

    what: str  # "the runner image", "PAUSE_IMAGE", "PAUSE_IMAGE (default)"
    text: str  # as written
    ref: ImageRef
    origin: Origin
    credentials: Optional[Credentials]
    why_anonymous: str = ""  # when credentials is None and a reason is worth saying

    @property
    def key(self) -> str:
        who = self.credentials.identity if self.credentials else "anonymous"
        return f"{self.ref}|{who}"

    @property
    def credentials_label(self) -> str:
        return self.credentials.label if self.credentials else "anonymous"


@dataclass
class Unknown:
    """An image whose reference cannot be known or used here (a variable, an invalid reference)."""

    what: str
    reason: str
    origin: Origin


def host_docker_config() -> Optional[DockerConfig]:
    """The host's docker login, as the docker CLI finds it (DOCKER_CONFIG, else ~/.docker)."""
    from doctor.inputs.common import load_docker_config

    folder = os.environ.get("DOCKER_CONFIG") or os.path.join(os.path.expanduser("~"), ".docker")
    path = os.path.join(folder, "config.json")
    if not os.path.isfile(path):
        return None
    return load_docker_config(path, NOWHERE, "given")


def basic_credentials(config: Optional[DockerConfig], domain: str) -> Tuple[Optional[Credentials], str]:
    """(credentials, why none) for a registry from a config.json, as the runner uses it: basic auth only."""
    from doctor import dockerconfig

    if config is None:
        return None, ""
    if config.data is None or not isinstance(config.data, dict):
        return None, f"{config.path} cannot be read or parsed (RD301), so no credentials are sent"
    found = dockerconfig.find_entry(config.data, domain)
    if found is None:
        return None, ""
    key, _entry = found
    entry = next((e for e in dockerconfig.view(config).entries if e.key == key), None)
    if entry is None or not entry.is_basic:
        why = entry.problem if entry is not None else "it is not basic auth"
        return None, f"the entry \"{key}\" in {config.path} is not usable basic auth ({why}), so no credentials are sent"
    auth = entry.fields.get("auth")
    if isinstance(auth, str) and auth:
        user, password = dockerconfig.decode_auth(auth)
    else:
        user, password = str(entry.fields.get("username")), str(entry.fields.get("password"))
    return Credentials(user, password, config.path, key), ""


def _reference(what: str, text: Optional[str], origin: Origin, var=None):
    """(ImageRef, None) or (None, Unknown) for one image as written."""
    from doctor.imageref import unresolved_variable

    if var is not None and var.value is None:
        return None, Unknown(what, f"{what} is {var.describe()}, so it is not known here", origin)
    variable = unresolved_variable(text)
    if variable:
        return None, Unknown(what, f"{what} is given by {variable}, which is not set here", origin)
    try:
        return parse_reference(text or ""), None
    except InvalidReference as exc:
        return None, Unknown(what, f"{what} {text!r} is not a valid image reference ({exc}; see RD401)", origin)


def pulls(subject: Subject, host_config: Optional[DockerConfig] = None) -> Tuple[List[Pull], List[Unknown]]:
    """The images this runner subject pulls, and those that cannot be known here.

    ``host_config`` is the host's docker login, used for the runner image (see the module docstring).
    """
    runner = subject.runner
    out: List[Pull] = []
    unknown: List[Unknown] = []
    if runner is None or not runner.is_docker:
        return out, unknown
    if runner.image is not None:
        ref, problem = _reference("the runner image", runner.image, runner.image_origin)
        if problem:
            unknown.append(problem)
        else:
            if runner.form == "kubernetes":
                creds, why = None, ("the kubelet pulls it with the pod's imagePullSecrets, which runner-doctor "
                                    "does not read: checked without credentials")
            else:
                creds, why = basic_credentials(host_config, ref.domain)
                if creds is None and not why and host_config is not None and _uses_helper(host_config, ref.domain):
                    why = (f"the host's docker login ({host_config.path}) keeps credentials for {ref.domain} in a "
                           "credential helper, which runner-doctor does not run: checked without credentials")
            out.append(Pull("the runner image", runner.image, ref, runner.image_origin, creds, why))
    for name, default in HELPER_IMAGE_DEFAULTS.items():
        var = runner.env_var(name)
        if var is None:
            what, text, origin = f"{name} (default)", default, NOWHERE
        else:
            what, text, origin = name, var.value, var.origin
        ref, problem = _reference(what, text, origin, var)
        if problem:
            unknown.append(problem)
            continue
        creds, why = basic_credentials(runner.docker_config, ref.domain)
        out.append(Pull(what, text or "", ref, origin, creds, why))
    return out, unknown


def _uses_helper(config: DockerConfig, domain: str) -> bool:
    """The config sends this registry's credentials to a credential store or helper (keys as Go reads them:
    any case, the last one wins)."""
    from doctor.dockerconfig import auth_key_for, view

    v = view(config)
    stores, helpers = v.top("credsStore"), v.top("credHelpers")
    helper_map = helpers[-1][1] if helpers else None
    return bool(stores and stores[-1][1]) or (isinstance(helper_map, dict) and auth_key_for(domain) in helper_map)
