"""How deeply JSON text nests, told without parsing it: deeper input is refused before a parser recurses into it.

A runner's JSON inputs (``docker inspect`` output, a ``config.json``, a Kubernetes
manifest) nest fewer than 20 levels; Python's parser would stop at its recursion
limit with an error that names no place.
"""

from __future__ import annotations

import re

TYPE_CHECKING = False
if TYPE_CHECKING:  # typing for type checkers only: not imported at run time (start-up, issue 7)
    from typing import Optional, Tuple

MAX_JSON_DEPTH = 100

# a string (to skip: brackets inside it do not count; an unclosed one runs to the end) or a bracket
_TOKEN = re.compile(r'"[^"\\]*(?:\\.[^"\\]*)*"?|[\[\]{}]', re.S)


def too_deep(text: str, limit: int = MAX_JSON_DEPTH) -> Optional[Tuple[int, int]]:
    """(line, column) of the first bracket that opens level ``limit + 1``, or None."""
    if text.count("[") + text.count("{") <= limit:  # the common case, in C
        return None
    depth = 0
    for m in _TOKEN.finditer(text):
        ch = m.group(0)
        if ch in "[{":
            depth += 1
            if depth > limit:
                offset = m.start()
                line_start = text.rfind("\n", 0, offset) + 1
                return text.count("\n", 0, offset) + 1, offset - line_start + 1
        elif ch in "]}":
            depth = max(0, depth - 1)
    return None


def reason(where: Tuple[int, int], limit: int = MAX_JSON_DEPTH) -> str:
    """The input error for JSON nested too deeply at ``where``."""
    return f"line {where[0]}, column {where[1]}: the JSON is nested more than {limit} levels deep (the limit)"
