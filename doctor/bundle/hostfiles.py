"""This machine's files as the live rules saw them: recorded when a bundle is written, answered when it is checked.

The live rules (RD101, RD102, RD104) ask :class:`~doctor.rules._live.HostFiles`
where a mount's host path is, what is there and whether two paths are the same
file. :class:`Recording` asks this machine and keeps every answer;
:class:`Recorded` gives the kept answers back on another machine, so the rules
reach the verdicts they reached on the customer's host. A question the bundle has
no answer for (a rule newer than the bundle) is answered as for a path that cannot
be examined: the path is not known here.
"""

from __future__ import annotations

import posixpath
from typing import Any, Dict, List, Optional, Tuple

from doctor.rules._live import LIVE_FILES, HostFiles

NOT_RECORDED = "error: not recorded in this support bundle"


class Recording(HostFiles):
    """Asks this machine and remembers every answer."""

    def __init__(self):
        self.resolved: Dict[Tuple[str, Optional[str]], Optional[str]] = {}
        self.kinds: Dict[str, str] = {}
        self.same: Dict[Tuple[str, str], bool] = {}
        self.listening: Dict[str, str] = {}

    def resolve(self, source, base_dir):
        key = (source, base_dir)
        if key not in self.resolved:
            self.resolved[key] = LIVE_FILES.resolve(source, base_dir)
        return self.resolved[key]

    def kind(self, path):
        if path not in self.kinds:
            self.kinds[path] = LIVE_FILES.kind(path)
        return self.kinds[path]

    def same_file(self, a, b):
        if (a, b) not in self.same:
            self.same[(a, b)] = LIVE_FILES.same_file(a, b)
        return self.same[(a, b)]

    def listens(self, path, timeout):
        if path not in self.listening:
            self.listening[path] = LIVE_FILES.listens(path, timeout)
        return self.listening[path]

    def to_dict(self) -> Dict[str, Any]:
        return {
            "resolved": [{"source": s, "base_dir": b, "path": p} for (s, b), p in self.resolved.items()],
            "kinds": dict(self.kinds),
            "same_file": [{"a": a, "b": b, "same": same} for (a, b), same in self.same.items()],
            "listens": dict(self.listening),
        }


class Recorded(HostFiles):
    """The answers of a :class:`Recording`, given back without looking at this machine."""

    def __init__(self, data: Dict[str, Any]):
        self.resolved = {(r["source"], r.get("base_dir")): r.get("path") for r in _rows(data.get("resolved"), "source")}
        self.kinds = {str(k): str(v) for k, v in (data.get("kinds") or {}).items()}
        self.same = {(r["a"], r["b"]): bool(r.get("same")) for r in _rows(data.get("same_file"), "a", "b")}
        self.listening = {str(k): str(v) for k, v in (data.get("listens") or {}).items()}

    def resolve(self, source, base_dir):
        return self.resolved.get((source, base_dir))  # not recorded: the path is not known here

    def kind(self, path):
        return self.kinds.get(path, NOT_RECORDED)

    def same_file(self, a, b):
        found = self.same.get((a, b), self.same.get((b, a)))
        return found if found is not None else posixpath.normpath(a) == posixpath.normpath(b)

    def listens(self, path, timeout):
        return self.listening.get(path, "not recorded in this support bundle")


def _rows(value, *required: str) -> List[Dict[str, Any]]:
    return [r for r in value or () if isinstance(r, dict) and all(isinstance(r.get(k), str) for k in required)]
