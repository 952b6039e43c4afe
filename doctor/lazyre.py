"""Regular expressions compiled the first time they are used, not when their module is imported.

Python compiles a pattern in pure Python (``re._parser``, ``re._compiler``): 0.05 to 0.5 ms each, and
a check's modules hold dozens, many of which a given run never uses (the cron syntax of a start
script, Kubernetes quantities, suppression comments in a file without any). ``compile(pattern,
flags)`` returns a stand-in that compiles on the first call and then puts the compiled pattern's bound
methods on itself, so later calls cost what calls of the compiled pattern cost (issue 7).
"""

from __future__ import annotations

import re

_METHODS = ("match", "fullmatch", "search", "sub", "subn", "split", "findall", "finditer", "scanner")


class LazyPattern:
    """Stands for ``re.compile(pattern, flags)``; the pattern is compiled when first used."""

    def __init__(self, pattern: str, flags: int = 0):
        self.pattern = pattern
        self.flags = flags

    def compiled(self) -> re.Pattern:
        pattern = re.compile(self.pattern, self.flags)
        for name in _METHODS:
            setattr(self, name, getattr(pattern, name))
        self.groups, self.groupindex, self.flags = pattern.groups, pattern.groupindex, pattern.flags
        self.compiled = lambda: pattern
        return pattern

    def __getattr__(self, name: str):  # an attribute not set yet: the pattern's first use
        if name.startswith("__"):
            raise AttributeError(name)
        return getattr(self.compiled(), name)

    def __repr__(self) -> str:
        return f"lazyre.compile({self.pattern!r}, {self.flags!r})"


def compile(pattern: str, flags: int = 0) -> LazyPattern:  # noqa: A001 - the name re gives it
    """Like :func:`re.compile`, compiled on first use; flags are the ``re`` flags."""
    return LazyPattern(pattern, flags)
