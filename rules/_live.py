"""What the rules that read a live daemon share: containers' inspect data, and host paths on this machine."""

from __future__ import annotations

import os
import stat

from doctor.inputs.files import resolve_host_path
from doctor.rules._env import UUID_RE

TYPE_CHECKING = False
if TYPE_CHECKING:  # typing for type checkers only: not imported at run time (start-up, issue 7)
    from typing import Any, Dict, List, Optional

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


class HostFiles:
    """What the live rules ask of this machine's files: where a host path is, what is there, which is which.

    The rules ask through :func:`host_files` rather than :mod:`os`, so that a support bundle can
    record the answers when it is written and give them back when it is checked elsewhere
    (:mod:`doctor.bundle.hostfiles`).
    """

    def resolve(self, source: str, base_dir: Optional[str]) -> Optional[str]:
        return resolve_host_path(source, base_dir)

    def kind(self, path: str) -> str:
        """"socket", "folder", "file", "other", "missing", or "error: <reason>" (it cannot be examined)."""
        try:
            st = os.stat(path)
        except FileNotFoundError:
            return "missing"
        except OSError as exc:
            return f"error: {exc.strerror or exc}"
        if stat.S_ISSOCK(st.st_mode):
            return "socket"
        if stat.S_ISDIR(st.st_mode):
            return "folder"
        return "file" if stat.S_ISREG(st.st_mode) else "other"

    def exists(self, path: str) -> bool:
        """As os.path.exists: the path can be examined and is there."""
        kind = self.kind(path)
        return kind != "missing" and not kind.startswith("error: ")

    def same_file(self, a: str, b: str) -> bool:
        try:
            return os.path.samefile(a, b)
        except OSError:
            return os.path.realpath(a) == os.path.realpath(b)

    def listens(self, path: str, timeout: float) -> str:
        """Whether something listens on a unix socket (a bounded connect; nothing is sent)."""
        import socket

        s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        s.settimeout(timeout)
        try:
            s.connect(path)
            return "something listens there: another daemon?"
        except PermissionError:
            return "this user may not connect to it"
        except OSError:
            return "nothing listens there: a stale socket file"
        finally:
            s.close()


LIVE_FILES = HostFiles()


def host_files(ctx) -> HostFiles:
    """This machine's files, or the answers a support bundle recorded (``ctx.extra["host_files"]``)."""
    return ctx.extra.get("host_files") or LIVE_FILES


def local_path(facts, source: Optional[str], base_dir: Optional[str], files: HostFiles = LIVE_FILES) -> Optional[str]:
    """A mount's host path on this machine, when the daemon runs here and the path is known."""
    if facts is None or not facts.local or not source:
        return None
    return files.resolve(source, base_dir)
