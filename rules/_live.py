"""What the rules that read a live daemon share: containers' inspect data, and host paths on this machine."""

from __future__ import annotations

import os
from typing import Any, Dict, List, Optional

from doctor.inputs.files import resolve_host_path
from doctor.rules._env import UUID_RE

Inspect = Dict[str, Any]


def container_name(data: Inspect) -> str:
    return (data.get("Name") or "").lstrip("/") or str(data.get("Id") or "")[:12]


def env_list(data: Inspect) -> List[str]:
    env = (data.get("Config") or {}).get("Env") or []
    return [e for e in env if isinstance(e, str)]


def env_value(data: Inspect, name: str) -> Optional[str]:
    """The value of a variable in a container's environment (the last one wins)."""
    found = None
    for entry in env_list(data):
        key, eq, value = entry.partition("=")
        if eq and key == name:
            found = value
    return found


def same_uuid_key(value: Optional[str]) -> Optional[str]:
    """A RUNNER_UUID reduced to what identifies the runner: the UUID, lower case, without braces."""
    if not value or not value.strip():
        return None
    m = UUID_RE.search(value)
    return m.group(0).lower() if m else value.strip().lower()


def runner_uuid(data: Inspect) -> Optional[str]:
    return same_uuid_key(env_value(data, "RUNNER_UUID"))


def state(data: Inspect) -> str:
    """The container's status: created, running, paused, restarting, removing, exited or dead."""
    st = data.get("State") or {}
    if st.get("Status"):
        return st["Status"]
    if st.get("Restarting"):
        return "restarting"
    return "running" if st.get("Running") else "exited"


def is_active(data: Inspect) -> bool:
    """Running now, or about to run again (restarting)."""
    return state(data) in ("running", "restarting", "paused")


def own_id(subject) -> Optional[str]:
    """The container id of a live container subject, None for a configuration file."""
    runner = subject.runner
    data = runner.facts.get("container") if runner is not None else None
    return data.get("Id") if data else None


def local_path(facts, source: Optional[str], base_dir: Optional[str]) -> Optional[str]:
    """A mount's host path on this machine, when the daemon runs here and the path is known."""
    if facts is None or not facts.local or not source:
        return None
    return resolve_host_path(source, base_dir)


def same_file(a: str, b: str) -> bool:
    try:
        return os.path.samefile(a, b)
    except OSError:
        return os.path.realpath(a) == os.path.realpath(b)
