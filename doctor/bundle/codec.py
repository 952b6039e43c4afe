"""The bundle's model codec: the dataclasses of ``doctor.*`` to plain JSON and back, guided by their type hints.

A dataclass becomes an object of its fields (``"@type": "doctor.model.RunnerSetup"``
is added only where the declared type does not say which class it is: ``Any``, a
subclass of ``Subject``); enums become their values, tuples and sets lists, bytes
text (or ``{"@base64": ...}``). A few classes are stored once in a table and
referenced (``{"@ref": "#/daemons/0"}``): a daemon's facts are shared by the host
and its containers, an autoscaler configuration by its groups (which it also lists).

Decoding follows the same hints and is lenient the way an old bundle needs: an
unknown field is ignored, a missing one takes its default (one without a default is
an error). Only dataclasses of ``doctor`` modules are created.
"""

from __future__ import annotations

import base64
import binascii
import dataclasses
import enum
import importlib
import typing
from typing import Any, Callable, Dict, List, Optional

# classes stored once in a table of the bundle, and the table's name
SHARED = {"doctor.live.daemon.DaemonFacts": "daemons", "doctor.inputs.autoscaler.AutoscalerConfig": "objects"}
# fields that are not stored: how to reconnect (never needed again), and what is derived from the stored text
SKIPPED = {"doctor.live.daemon.DaemonFacts": ("choice",), "doctor.model.DockerConfig": ("data",)}
SECRET_KEY = "@secret"  # a masked value: {"@secret": "set", "length": n, "fingerprint": ..., "stand_in": ...}


class CodecError(ValueError):
    """A bundle part that does not decode; the message says where."""


def type_name(cls: type) -> str:
    return f"{cls.__module__}.{cls.__qualname__}"


_HINTS: Dict[type, Dict[str, Any]] = {}
# typing's names that annotations of doctor's dataclasses use
_TYPING_NAMES = {name: getattr(typing, name) for name in (
    "Any", "Callable", "Dict", "FrozenSet", "IO", "Iterable", "Iterator", "List", "Mapping", "Optional",
    "Sequence", "Set", "Tuple", "Union")}


def _hints(cls: type) -> Dict[str, Any]:
    if cls not in _HINTS:
        try:  # the model's modules import typing's names for type checkers only (start-up time): lent here
            _HINTS[cls] = typing.get_type_hints(cls, localns=_TYPING_NAMES)
        except Exception:  # noqa: BLE001 - an annotation that cannot be resolved: store the field untyped
            _HINTS[cls] = {}
    return _HINTS[cls]


def _fields(cls: type):
    skipped = SKIPPED.get(type_name(cls), ())
    return [f for f in dataclasses.fields(cls) if f.name not in skipped]


def _is_dataclass_type(hint: Any) -> bool:
    return isinstance(hint, type) and dataclasses.is_dataclass(hint)


class Encoder:
    """Turns model objects into JSON values; the shared tables fill up as objects are met."""

    def __init__(self, marker: Optional[Callable[[str], Optional[Dict[str, Any]]]] = None):
        self.tables: Dict[str, List[Any]] = {table: [] for table in SHARED.values()}
        self._refs: Dict[int, str] = {}
        self._keep: List[Any] = []  # the objects referenced, alive while their ids are in _refs
        self._marker = marker  # a secret marker for a string, or None

    def encode(self, value: Any, hint: Any = Any) -> Any:
        if value is None or isinstance(value, (bool, int, float)):
            return value
        if isinstance(value, str):
            marked = self._marker(value) if self._marker else None
            return marked if marked is not None else value
        if isinstance(value, enum.Enum):
            return value.value
        if dataclasses.is_dataclass(value) and not isinstance(value, type):
            return self._dataclass(value, hint)
        args = typing.get_args(hint)
        if isinstance(value, bytes):
            try:
                return value.decode("utf-8") if hint is not Any else {"@base64": base64.b64encode(value).decode()}
            except UnicodeDecodeError:
                return {"@base64": base64.b64encode(value).decode()}
        if isinstance(value, dict):
            item_hint = args[1] if len(args) == 2 else Any
            out = {str(k): self.encode(v, item_hint) for k, v in value.items()}
            return {"@dict": out} if hint is Any and any(k.startswith("@") for k in out) else out
        if isinstance(value, (set, frozenset)):
            items = sorted((self.encode(v, args[0] if args else Any) for v in value), key=str)
            return {"@set": items} if hint is Any else items
        if isinstance(value, (list, tuple)):
            if typing.get_origin(hint) is tuple and args and args[-1] is not Ellipsis and len(args) == len(value):
                return [self.encode(v, a) for v, a in zip(value, args)]
            return [self.encode(v, args[0] if args else Any) for v in value]
        raise CodecError(f"a {type(value).__name__} cannot be stored in a bundle")

    def _dataclass(self, value: Any, hint: Any) -> Dict[str, Any]:
        cls = type(value)
        name = type_name(cls)
        table = SHARED.get(name)
        if table is not None:
            ref = self._refs.get(id(value))
            if ref is None:
                rows = self.tables[table]
                ref = self._refs[id(value)] = f"#/{table}/{len(rows)}"
                self._keep.append(value)
                rows.append(None)  # taken before the fields: a cycle back to it becomes a reference
                rows[-1] = self._fields(value, {"@type": name})
            return {"@ref": ref}
        head = {} if _concrete(hint) is cls else {"@type": name}
        return self._fields(value, head)

    def _fields(self, value: Any, out: Dict[str, Any]) -> Dict[str, Any]:
        hints = _hints(type(value))
        for f in _fields(type(value)):
            out[f.name] = self.encode(getattr(value, f.name), hints.get(f.name, Any))
        return out


def _concrete(hint: Any) -> Optional[type]:
    """The dataclass a hint names (``Optional[X]`` -> X), or None."""
    if _is_dataclass_type(hint):
        return hint
    args = [a for a in typing.get_args(hint) if a is not type(None)]
    if typing.get_origin(hint) is typing.Union and len(args) == 1 and _is_dataclass_type(args[0]):
        return args[0]
    return None


def resolve_type(name: Any) -> type:
    """A dataclass of the doctor package by its full name; nothing else may be created from a bundle."""
    if not isinstance(name, str) or "." not in name:
        raise CodecError(f"{name!r} is not a type name")
    module, _, qualname = name.rpartition(".")
    if module != "doctor" and not module.startswith("doctor."):
        raise CodecError(f"{name} is not a runner-doctor type")
    try:
        cls = getattr(importlib.import_module(module), qualname)
    except (ImportError, AttributeError):
        raise CodecError(f"unknown type {name} (a bundle of a newer runner-doctor?)") from None
    if not _is_dataclass_type(cls):
        raise CodecError(f"{name} is not a runner-doctor model type")
    return cls


class Decoder:
    """Turns a bundle's JSON values back into model objects (``tables``: the shared objects)."""

    def __init__(self, tables: Dict[str, Any]):
        self.tables = tables
        self._memo: Dict[str, Any] = {}

    def decode(self, data: Any, hint: Any = Any, where: str = "") -> Any:
        if isinstance(data, dict):
            special = self._special(data, where)
            if special is not _NONE:
                return special
        if hint is Any or hint is object:
            return self._untyped(data, where)
        origin, args = typing.get_origin(hint), typing.get_args(hint)
        if origin is typing.Union:
            options = [a for a in args if a is not type(None)]
            if data is None:
                return None
            if len(options) == 1:
                return self.decode(data, options[0], where)
            return self._untyped(data, where)
        if data is None:
            return None
        if _is_dataclass_type(hint):
            return self._dataclass(data, hint, where)
        if isinstance(hint, type) and issubclass(hint, enum.Enum):
            try:
                return hint(data)
            except ValueError:
                raise CodecError(f"{where}: {data!r} is not a {hint.__name__}") from None
        if hint is bytes:
            if isinstance(data, str):
                return data.encode("utf-8", "surrogatepass")
            raise CodecError(f"{where}: bytes expected")
        if origin in (list, tuple, set, frozenset) or hint in (list, tuple, set, frozenset):
            if not isinstance(data, list):
                raise CodecError(f"{where}: a list expected, not {type(data).__name__}")
            if origin is tuple and args and args[-1] is not Ellipsis:
                if len(args) != len(data):
                    raise CodecError(f"{where}: {len(args)} items expected")
                return tuple(self.decode(v, a, f"{where}/{i}") for i, (v, a) in enumerate(zip(data, args)))
            item = args[0] if args else Any
            items = [self.decode(v, item, f"{where}/{i}") for i, v in enumerate(data)]
            return (origin or hint)(items) if (origin or hint) is not list else items
        if origin is dict or hint is dict:
            if not isinstance(data, dict):
                raise CodecError(f"{where}: an object expected, not {type(data).__name__}")
            item = args[1] if len(args) == 2 else Any
            return {k: self.decode(v, item, f"{where}/{k}") for k, v in data.items()}
        if hint in (str, int, float, bool):
            if hint is bool or isinstance(data, bool):
                ok = isinstance(data, bool) and hint is bool
            else:
                ok = isinstance(data, hint) or (hint is float and isinstance(data, int))
            if not ok:
                raise CodecError(f"{where}: {hint.__name__} expected, not {type(data).__name__}")
            return data
        return self._untyped(data, where)

    def _special(self, data: Dict[str, Any], where: str) -> Any:
        if SECRET_KEY in data:
            stand_in = data.get("stand_in")
            if not isinstance(stand_in, str):
                raise CodecError(f"{where}: a masked value without its stand_in")
            return stand_in
        if "@ref" in data:
            return self._shared(data["@ref"], where)
        if "@base64" in data:
            try:
                return base64.b64decode(data["@base64"], validate=True)
            except (binascii.Error, ValueError, TypeError):
                raise CodecError(f"{where}: not base64") from None
        if "@set" in data:
            return {self._untyped(v, where) for v in data["@set"] or ()}
        if "@dict" in data:
            return {k: self._untyped(v, f"{where}/{k}") for k, v in (data["@dict"] or {}).items()}
        return _NONE

    def _untyped(self, data: Any, where: str) -> Any:
        if isinstance(data, dict):
            special = self._special(data, where)
            if special is not _NONE:
                return special
            if "@type" in data:
                return self._dataclass(data, resolve_type(data["@type"]), where)
            return {k: self._untyped(v, f"{where}/{k}") for k, v in data.items()}
        if isinstance(data, list):
            return [self._untyped(v, f"{where}/{i}") for i, v in enumerate(data)]
        return data

    def _dataclass(self, data: Any, hint: type, where: str) -> Any:
        if not isinstance(data, dict):
            raise CodecError(f"{where}: an object expected for {hint.__name__}, not {type(data).__name__}")
        cls = hint
        if "@type" in data:
            cls = resolve_type(data["@type"])
            if not issubclass(cls, hint):
                raise CodecError(f"{where}: {type_name(cls)} where a {hint.__name__} belongs")
        return cls(**self._values(cls, data, where))

    def _values(self, cls: type, data: Dict[str, Any], where: str) -> Dict[str, Any]:
        hints = _hints(cls)
        values = {}
        for f in _fields(cls):
            if f.name in data:
                values[f.name] = self.decode(data[f.name], hints.get(f.name, Any), f"{where}/{f.name}")
            elif f.default is dataclasses.MISSING and f.default_factory is dataclasses.MISSING:
                raise CodecError(f"{where}: {cls.__name__} has no {f.name!r}")
        return values

    def _shared(self, ref: Any, where: str) -> Any:
        if ref in self._memo:
            return self._memo[ref]
        parts = ref.split("/") if isinstance(ref, str) else []
        if len(parts) != 3 or parts[0] != "#" or parts[1] not in SHARED.values() or not parts[2].isdigit():
            raise CodecError(f"{where}: {ref!r} is not a reference to a shared object")
        rows = self.tables.get(parts[1]) or []
        index = int(parts[2])
        if index >= len(rows) or not isinstance(rows[index], dict):
            raise CodecError(f"{where}: {ref} does not exist")
        row = rows[index]
        cls = resolve_type(row.get("@type"))
        obj = cls.__new__(cls)  # made before its fields: a cycle back to it finds it
        self._memo[ref] = obj
        values = self._values(cls, row, ref[1:])
        for f in dataclasses.fields(cls):
            if f.name not in values:
                values[f.name] = f.default_factory() if f.default_factory is not dataclasses.MISSING else f.default
        obj.__dict__.update(values)
        return obj


class _Missing:
    pass


_NONE = _Missing()
