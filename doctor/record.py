"""The base of the dataclasses a check creates: ``==``, ``hash()`` and ``repr()`` written once, not per class.

Python 3.11 compiles each method that ``@dataclass`` generates separately when the class is created
(~0.1 ms each); a check creates about twenty dataclasses, and their ``__eq__``, ``__repr__`` (and, when
frozen, ``__hash__``) cost ~4 ms of a ~50 ms run (issue 7). A class declared
``@dataclass(eq=False, repr=False)`` on :class:`Record` (frozen: on :class:`FrozenRecord`, below)
stays a dataclass (``fields``, ``asdict``, ``replace`` see no
difference) and compares, hashes and prints exactly as the generated methods would: equal when of the
same class with equal fields (the ``compare=True`` ones, in order); unhashable, or when frozen hashed by
its fields; ``Name(field=value!r, ...)`` without the ``repr=False`` fields, ``...`` for an object met
again while it is being printed.

Creating ``__init__`` costs the same again (exec of generated source, ~0.2 ms a class when a run
starts): the classes a check creates write it themselves and are declared ``@dataclass(init=False,
eq=False, repr=False)``. Such an ``__init__`` takes the fields in their order, with their defaults
(``None`` for a ``default_factory`` field, which then gets ``factory()``) - what ``@dataclass`` would
write; tests/test_records.py compares the two for every such class. A frozen record is declared
without ``frozen=True`` (that too generates methods): :class:`FrozenRecord` refuses ``setattr`` and
``delattr`` with :class:`dataclasses.FrozenInstanceError`, and its ``__init__`` puts the fields in the
instance's ``__dict__`` (the generated one calls ``object.__setattr__`` for each: ~0.2 us slower, and a
batch makes ~30,000 ``Origin``).
"""

from __future__ import annotations

import _thread
import dataclasses

_COMPARED: dict = {}  # class -> the names of the fields == compares
_SHOWN: dict = {}  # class -> the names of the fields repr() shows
_HASHED: dict = {}  # class -> the names of the fields hash() of a frozen record reads
_PRINTING: set = set()  # (id, thread) of the records being printed


def _names(cache: dict, cls: type, flag: str) -> tuple:
    names = cache.get(cls)
    if names is None:
        fields = dataclasses.fields(cls)
        if flag == "hash":  # hash=None: as compare says
            names = tuple(f.name for f in fields if (f.compare if f.hash is None else f.hash))
        else:
            names = tuple(f.name for f in fields if getattr(f, flag))
        cache[cls] = names
    return names


class Record:
    """``__eq__``, ``__hash__`` (none) and ``__repr__`` of a non-frozen dataclass, for all of them."""

    __slots__ = ()
    __hash__ = None  # as @dataclass(eq=True) makes a mutable class

    def __eq__(self, other):
        if other.__class__ is not self.__class__:
            return NotImplemented
        names = _names(_COMPARED, self.__class__, "compare")
        return tuple(getattr(self, n) for n in names) == tuple(getattr(other, n) for n in names)

    def __repr__(self):
        key = (id(self), _thread.get_ident())
        if key in _PRINTING:
            return "..."
        _PRINTING.add(key)
        try:
            shown = ", ".join(f"{n}={getattr(self, n)!r}" for n in _names(_SHOWN, self.__class__, "repr"))
            return f"{self.__class__.__qualname__}({shown})"
        finally:
            _PRINTING.discard(key)


class FrozenRecord(Record):
    """The same for a frozen dataclass, hashable as ``@dataclass(frozen=True)`` makes it: by its
    ``hash=True`` fields, else its ``compare=True`` ones; its fields cannot be set or deleted."""

    __slots__ = ()

    def __setattr__(self, name, value):
        raise dataclasses.FrozenInstanceError(f"cannot assign to field {name!r}")

    def __delattr__(self, name):
        raise dataclasses.FrozenInstanceError(f"cannot delete field {name!r}")

    def __hash__(self):
        return hash(tuple(getattr(self, n) for n in _names(_HASHED, self.__class__, "hash")))
