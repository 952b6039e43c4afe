"""`docker inspect` output of runner containers (what support asks for, pasted into tickets).

The input is what ``docker inspect CONTAINER...`` prints (a JSON list) or one
container object (``docker inspect --format '{{json .}}'``, the Engine API's
``GET /containers/{id}/json``). A container is a runner when ``Config.Image``
is the runner image (or a declared mirror) or its environment has
``RUNNER_UUID``/``ACCOUNT_UUID``.

Python's json module gives no positions, so :func:`_locate` walks the text once
more and records where every value starts; findings then point at the line of
the mount, variable or flag they are about.
"""

from __future__ import annotations

import bisect
import json
import os
from typing import Any, Dict, List, Optional, Tuple

from doctor.inputs.common import LoadOptions, attach_docker_config
from doctor.inputs.docker_run import is_runner_image
from doctor.model import EnvVar, InputError, Mount, Origin, RunnerKind, RunnerSetup

Path = Tuple[Any, ...]
_IDENTITY_ENV = ("RUNNER_UUID", "ACCOUNT_UUID")
_WS = " \t\n\r"
_DECODER = json.JSONDecoder()


def _skip_ws(text: str, i: int) -> int:
    while i < len(text) and text[i] in _WS:
        i += 1
    return i


def _locate(text: str, i: int, path: Path, out: Dict[Path, int]) -> int:
    """Record the offset of the value at ``text[i]`` (and of everything inside it); return its end.

    Only called on text that json.loads accepted, so the structure is known to be valid.
    """
    i = _skip_ws(text, i)
    out[path] = i
    c = text[i]
    if c == "{":
        i = _skip_ws(text, i + 1)
        if text[i] == "}":
            return i + 1
        while True:
            key, i = json.decoder.scanstring(text, i + 1)
            i = _skip_ws(text, i) + 1  # the ':'
            i = _locate(text, i, path + (key,), out)
            i = _skip_ws(text, i)
            if text[i] == "}":
                return i + 1
            i = _skip_ws(text, i + 1)  # after ','
    if c == "[":
        i = _skip_ws(text, i + 1)
        if text[i] == "]":
            return i + 1
        n = 0
        while True:
            i = _locate(text, i, path + (n,), out)
            n += 1
            i = _skip_ws(text, i)
            if text[i] == "]":
                return i + 1
            i += 1
    _value, end = _DECODER.raw_decode(text, i)
    return end


class _Positions:
    """Offsets of values by JSON path, turned into Origins."""

    def __init__(self, text: str, path: Optional[str]):
        self.path = path
        self.offsets: Dict[Path, int] = {}
        _locate(text, 0, (), self.offsets)
        self.line_starts = [0] + [i + 1 for i, ch in enumerate(text) if ch == "\n"]

    def origin(self, *path: Any) -> Origin:
        """Where the value at this path starts; the nearest enclosing value when it is absent."""
        key: Path = tuple(path)
        while key not in self.offsets and key:
            key = key[:-1]
        offset = self.offsets.get(key, 0)
        line = bisect.bisect_right(self.line_starts, offset)
        return Origin(self.path, line, offset - self.line_starts[line - 1] + 1)


def _get(data: Any, *keys: str) -> Any:
    for k in keys:
        if not isinstance(data, dict):
            return None
        data = data.get(k)
    return data


def _expect(value: Any, kind: type, what: str, where: Origin, path: str) -> Any:
    if value is None:
        return None
    if not isinstance(value, kind):
        want = {list: "a list", dict: "an object", str: "a string", bool: "true or false",
                int: "a number"}.get(kind, kind.__name__)
        raise InputError(path, f"line {where.line}, column {where.column}: {what} should be {want} "
                               "in docker inspect output")
    return value


def parse(text: str, path: Optional[str], opts: LoadOptions) -> List[RunnerSetup]:
    """Runner setups for the runner containers in ``docker inspect`` output. Raises InputError."""
    shown = path or "<stdin>"
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        ends_early = exc.pos >= len(text.rstrip()) or exc.msg.startswith("Unterminated string")
        cut = " - the text ends early; was the output cut off when it was copied?" if ends_early else ""
        raise InputError(shown, f"not valid JSON: {exc.msg} (line {exc.lineno}, column {exc.colno}){cut}") from None
    except RecursionError:
        raise InputError(shown, "not docker inspect output: the JSON is nested too deeply") from None
    try:
        pos = _Positions(text, path)
    except RecursionError:
        raise InputError(shown, "not docker inspect output: the JSON is nested too deeply") from None
    if isinstance(data, dict):
        containers: List[Tuple[Path, Any]] = [((), data)]
    elif isinstance(data, list):
        containers = [((i,), item) for i, item in enumerate(data)]
    else:
        raise InputError(shown, "not docker inspect output: expected a JSON list of containers or one container")
    out = []
    for prefix, item in containers:
        if not isinstance(item, dict):
            where = pos.origin(*prefix)
            raise InputError(shown, f"line {where.line}, column {where.column}: not docker inspect output: "
                                    "each entry should be a container object")
        setup = _container(item, prefix, pos, shown, opts)
        if setup is not None:
            attach_docker_config(setup, opts)
            out.append(setup)
    return out


def _container(item: Dict[str, Any], prefix: Path, pos: _Positions, shown: str,
               opts: LoadOptions) -> Optional[RunnerSetup]:
    def at(*keys: Any) -> Origin:
        return pos.origin(*prefix, *keys)

    config = _expect(item.get("Config"), dict, "Config", at("Config"), shown) or {}
    host = _expect(item.get("HostConfig"), dict, "HostConfig", at("HostConfig"), shown) or {}
    image = _expect(config.get("Image"), str, "Config.Image", at("Config", "Image"), shown)
    env_list = _expect(config.get("Env"), list, "Config.Env", at("Config", "Env"), shown) or []
    env = []
    for n, entry in enumerate(env_list):
        entry = _expect(entry, str, f"Config.Env[{n}]", at("Config", "Env", n), shown)
        if entry is None:
            continue
        name, eq, value = entry.partition("=")
        env.append(EnvVar(name, value if eq else None, at("Config", "Env", n), "inspect", raw=entry))
    identity = any(v.name in _IDENTITY_ENV for v in env)
    if not (is_runner_image(image, opts.runner_mirrors) or identity):
        return None
    raw_name = _expect(item.get("Name"), str, "Name", at("Name"), shown) or ""
    name = raw_name.lstrip("/") or None
    base_dir = os.path.dirname(os.path.abspath(shown)) if shown != "<stdin>" else opts.cwd
    setup = RunnerSetup(
        kind=RunnerKind.LINUX_DOCKER,
        form="inspect",
        origin=at(),
        label=f"container {name or str(item.get('Id') or '')[:12] or '(unnamed)'} in {shown}",
        image=image,
        image_origin=at("Config", "Image"),
        env=env,
        name=name,
        name_origin=at("Name") if name else Origin(),
        supervisor="docker",
        base_dir=base_dir,
    )
    mounts = _expect(item.get("Mounts"), list, "Mounts", at("Mounts"), shown) or []
    for n, m in enumerate(mounts):
        m = _expect(m, dict, f"Mounts[{n}]", at("Mounts", n), shown)
        if m is not None:  # a null entry, as a null in Config.Env, stands for nothing
            setup.mounts.append(_mount(m, at, n, shown))
    _flags(setup, config, host, at, shown)
    cmd = _expect(config.get("Cmd"), list, "Config.Cmd", at("Config", "Cmd"), shown) or []
    setup.command_args = [(str(a), at("Config", "Cmd", n)) for n, a in enumerate(cmd)]
    return setup


def _mount(m: Dict[str, Any], at, n: int, shown: str) -> Mount:
    mtype = _expect(m.get("Type"), str, f"Mounts[{n}].Type", at("Mounts", n, "Type"), shown) or "volume"
    target = _expect(m.get("Destination"), str, f"Mounts[{n}].Destination", at("Mounts", n, "Destination"),
                     shown) or ""
    rw = _expect(m.get("RW"), bool, f"Mounts[{n}].RW", at("Mounts", n, "RW"), shown)
    if mtype == "volume":
        source = m.get("Name") or None  # the volume's name; "Source" is its folder under the data root
    elif mtype == "bind":
        source = m.get("Source") or None
    else:
        source = None
    mode = m.get("Mode") if isinstance(m.get("Mode"), str) else ""
    raw = json.dumps({k: m[k] for k in ("Type", "Source", "Destination", "RW") if k in m})
    origin = at("Mounts", n, "Source") if "Source" in m else at("Mounts", n)
    return Mount(mtype, source, target, rw is False, origin, raw, tuple(o for o in mode.split(",") if o))


def _flags(setup: RunnerSetup, config: Dict[str, Any], host: Dict[str, Any], at, shown: str) -> None:
    """The docker flags the rules look at, as `docker run` would have recorded them."""
    policy = _expect(host.get("RestartPolicy"), dict, "HostConfig.RestartPolicy",
                     at("HostConfig", "RestartPolicy"), shown) or {}
    restart = policy.get("Name")
    if isinstance(restart, str) and restart not in ("", "no"):
        retries = policy.get("MaximumRetryCount")
        if restart == "on-failure" and isinstance(retries, int) and retries > 0:
            restart = f"on-failure:{retries}"
        setup.flags["restart"] = (restart, at("HostConfig", "RestartPolicy", "Name"))
    memory = host.get("Memory")
    if isinstance(memory, int) and not isinstance(memory, bool) and memory > 0:
        setup.flags["memory"] = (str(memory), at("HostConfig", "Memory"))
    for flag, section, key in (("tty", config, ("Config", "Tty")), ("interactive", config, ("Config", "OpenStdin")),
                               ("privileged", host, ("HostConfig", "Privileged")),
                               ("rm", host, ("HostConfig", "AutoRemove")),
                               ("read-only", host, ("HostConfig", "ReadonlyRootfs"))):
        if section.get(key[1]) is True:
            setup.flags[flag] = ("", at(*key))
    network = host.get("NetworkMode")
    if isinstance(network, str) and network not in ("", "default"):
        setup.flags["network"] = (network, at("HostConfig", "NetworkMode"))
    user = config.get("User")
    if isinstance(user, str) and user:
        setup.flags["user"] = (user, at("Config", "User"))
