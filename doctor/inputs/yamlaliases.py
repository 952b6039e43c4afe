"""What YAML aliases make a file stand for: refused when they loop or expand it beyond a limit.

PyYAML composes an alias (``*name``) as the very node of its anchor, so a small
file can stand for billions of values (the "billion laughs" file: each anchor
holds nine aliases of the one before) and an anchor can even contain itself
(``&a [*a]``). Every reader walks the nodes it needs, so before any walks them
the expanded size is counted once, each distinct node once (linear time).
"""

from __future__ import annotations

from typing import Callable, Dict, Iterator, List, Optional, Sequence, Tuple

from yaml.nodes import MappingNode, Node, SequenceNode

# values that aliases may add to a file, beyond those written in it (real files: a few hundred)
MAX_ALIASED_VALUES = 100_000
_CAP = 10 ** 12  # sizes are counted up to this: any larger is over the limit anyway


def _children(node: Node) -> Iterator[Node]:
    if isinstance(node, MappingNode):
        for key, value in node.value:
            yield key
            yield value
    elif isinstance(node, SequenceNode):
        yield from node.value


def _mark(node: Node) -> Tuple[int, int]:
    return node.start_mark.line + 1, node.start_mark.column + 1


def alias_problem(documents: Sequence[Node], locate: Callable[[Node], Tuple[int, int]] = _mark) -> Optional[str]:
    """Why these composed documents are refused (an alias loop, too many aliased values), or None.

    A loop is reported with the line and column (``locate``; default: in the text composed)
    of the anchored value that contains itself.
    """
    size: Dict[int, int] = {}  # expanded size of each finished node, by id
    on_path: set = set()  # ids of the nodes being expanded: the current path from a root
    for root in documents:
        stack: List[tuple] = [(root, False)]
        while stack:
            node, finished = stack.pop()
            key = id(node)
            if finished:
                on_path.discard(key)
                size[key] = min(_CAP, 1 + sum(size[id(child)] for child in _children(node)))
                continue
            if key in size:
                continue
            on_path.add(key)
            stack.append((node, True))
            for child in _children(node):
                if id(child) in on_path:
                    line, column = locate(child)
                    return (f"not valid YAML: line {line}, column {column}: this anchored value contains an alias "
                            "of itself (an alias loop)")
                if id(child) not in size:
                    stack.append((child, False))
    aliased = sum(size[id(root)] for root in documents) - len(size)
    if aliased > MAX_ALIASED_VALUES:
        return (f"its YAML aliases (*name) stand for more than {MAX_ALIASED_VALUES:,} values beyond those written "
                "(the limit; a \"billion laughs\" file?)")
    return None
