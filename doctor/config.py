"""The configuration file: runner-doctor.toml, or [tool.runner-doctor] in pyproject.toml.

Found from the current folder upwards (the first folder holding either file;
``runner-doctor.toml`` wins over ``pyproject.toml`` in the same folder), or named
with ``--config PATH``. Validated with ``doctor/schemas/config.schema.json``; an
error names the file, the line and the key. Command-line flags override it, and
``--show-config`` prints the merged settings with where each value came from.
"""

from __future__ import annotations

import json
import os
import re
import sys
from dataclasses import dataclass, field

from doctor.record import Record

TYPE_CHECKING = False
if TYPE_CHECKING:  # typing for type checkers only: not imported at run time (start-up, issue 7)
    from typing import Any, Dict, List, Optional, Tuple

FILE_NAME = "runner-doctor.toml"
PYPROJECT = "pyproject.toml"
SEVERITY_LEVELS = ("error", "warning", "info", "off")


class ConfigError(Exception):
    """An unusable configuration file: exit 2 with this one-line message."""


def _toml():
    if sys.version_info >= (3, 11):
        import tomllib
    else:  # pragma: no cover - older Pythons
        import tomli as tomllib
    return tomllib


@dataclass(init=False, eq=False, repr=False)  # ==, repr(): Record; __init__ written out (doctor/record.py)
class FileConfig(Record):
    """A configuration file as read: its path, its settings table, and which table it was."""

    path: Optional[str] = None
    data: Dict[str, Any] = field(default_factory=dict)
    table: str = ""  # "" for runner-doctor.toml, "tool.runner-doctor" for pyproject.toml

    def __init__(self, path=None, data=None, table=""):
        self.path = path
        self.data = {} if data is None else data
        self.table = table


def find(start: str) -> Optional[str]:
    """The configuration file that applies in ``start``: searched from there upwards."""
    folder = os.path.abspath(start)
    while True:
        own = os.path.join(folder, FILE_NAME)
        if os.path.isfile(own):
            return own
        py = os.path.join(folder, PYPROJECT)
        if os.path.isfile(py) and _has_tool_table(py):
            return py
        parent = os.path.dirname(folder)
        if parent == folder:
            return None
        folder = parent


def _has_tool_table(path: str) -> bool:
    try:
        with open(path, "rb") as fh:
            return "runner-doctor" in (_toml().load(fh).get("tool") or {})
    except (OSError, ValueError):
        return False


def _line_of(text: str, key: str, table: str) -> Optional[int]:
    """The line where ``key`` is set (inside ``[table]`` when given): for error messages."""
    in_table = not table
    for n, line in enumerate(text.splitlines(), 1):
        stripped = line.strip()
        header = re.match(r"^\[\s*([^\]]+?)\s*\]$", stripped)
        if header:
            in_table = header.group(1).replace('"', "") == table if table else False
            continue
        if in_table and re.match(rf'^"?{re.escape(key)}"?\s*=', stripped):
            return n
    return None


def load(path: str) -> FileConfig:
    """Read and validate a configuration file. Raises ConfigError."""
    try:
        with open(path, "rb") as fh:
            raw = fh.read()
    except OSError as exc:
        raise ConfigError(f"{path}: {exc.strerror or 'cannot be read'}") from None
    try:
        text = raw.decode("utf-8")
        doc = _toml().loads(text)
    except UnicodeDecodeError:
        raise ConfigError(f"{path}: not UTF-8 text") from None
    except ValueError as exc:  # tomllib.TOMLDecodeError
        raise ConfigError(f"{path}: not valid TOML: {exc}") from None
    table = ""
    if os.path.basename(path) == PYPROJECT:
        table = "tool.runner-doctor"
        doc = (doc.get("tool") or {}).get("runner-doctor")
        if doc is None:
            raise ConfigError(f"{path}: has no [tool.runner-doctor] table")
    _validate(doc, text, path, table)
    return FileConfig(path, doc, table)


def _validate(doc: Dict[str, Any], text: str, path: str, table: str) -> None:
    import jsonschema
    from importlib import resources

    schema = json.loads(resources.files("doctor").joinpath("schemas/config.schema.json").read_text())
    errors = sorted(jsonschema.Draft202012Validator(schema).iter_errors(doc), key=lambda e: list(e.absolute_path))
    if not errors:
        _check_rule_names(doc, text, path, table)
        return
    err = errors[0]
    where = list(err.absolute_path)
    if err.validator == "additionalProperties":
        extra = sorted(set(err.instance) - set(err.schema.get("properties", {})))
        where = where + extra[:1]
        message = f"unknown key {extra[0]!r}" if extra else err.message
    elif err.validator == "propertyNames":
        message = f"{err.instance!r} is not a rule id (RDnnn)"
    else:
        message = err.message
    key = ".".join(str(p) for p in where) or "(top level)"
    sub = ".".join([table] + [str(p) for p in where[:-1] if isinstance(p, str)]) if len(where) > 1 else table
    last = next((p for p in reversed(where) if isinstance(p, str)), "")
    line = _line_of(text, last, sub.strip(".")) if last else None
    at = f":{line}" if line else ""
    raise ConfigError(f"{path}{at}: {key}: {message}")


def _check_rule_names(doc: Dict[str, Any], text: str, path: str, table: str) -> None:
    from doctor import engine

    known = engine.catalog()
    for key in ("select", "ignore"):
        try:
            engine._expand(doc.get(key) or [], known)
        except engine.SelectionError as exc:
            line = _line_of(text, key, table)
            raise ConfigError(f"{path}{':' + str(line) if line else ''}: {key}: {exc}") from None
    for rid in doc.get("severity") or {}:
        if rid not in known:
            line = _line_of(text, rid, ".".join(filter(None, [table, "severity"])))
            raise ConfigError(f"{path}{':' + str(line) if line else ''}: severity.{rid}: no such rule "
                              "(see 'runner-doctor rules')")


# ---- merging with the command line ----

CHECK_DEFAULTS: Dict[str, Any] = {"format": "rich", "offline": False, "timeout": 10.0, "fail_on": "fail",
                                  "docker_config": None, "host": [], "baseline": None}


@dataclass(init=False, eq=False, repr=False)  # ==, repr(): Record; __init__ written out (doctor/record.py)
class Settings(Record):
    """The merged settings of a run, with where each value came from."""

    values: Dict[str, Any]
    sources: Dict[str, str]

    def __init__(self, values, sources):
        self.values = values
        self.sources = sources

    def __getitem__(self, key: str) -> Any:
        return self.values[key]


def merge(args, cfg: FileConfig) -> Settings:
    """CLI flags over the file over the built-in defaults; ``args`` holds None where a flag was not given."""
    values: Dict[str, Any] = {}
    sources: Dict[str, str] = {}
    file_defaults = {k.replace("-", "_"): v for k, v in (cfg.data.get("defaults") or {}).items()}
    where = f"{cfg.path} [{'.'.join(filter(None, [cfg.table, 'defaults']))}]" if cfg.path else ""
    for key, default in CHECK_DEFAULTS.items():
        given = getattr(args, key, None)
        if given not in (None, [], False) or (key == "offline" and given):
            values[key], sources[key] = given, "command line"
        elif key in file_defaults:
            values[key], sources[key] = file_defaults[key], where
        else:
            values[key], sources[key] = default, "default"
    file_where = f"{cfg.path}" + (f" [{cfg.table}]" if cfg.table else "") if cfg.path else ""
    for key, attr in (("select", "select"), ("ignore", "ignore")):
        given = [v for v in (getattr(args, attr, None) or []) if v.strip()]
        if given:
            values[key], sources[key] = given, "command line"
        elif cfg.data.get(key):
            values[key], sources[key] = list(cfg.data[key]), file_where
        else:
            values[key], sources[key] = [], "default"
    images = list(getattr(args, "runner_image", None) or [])
    values["runner_images"] = images + [i for i in cfg.data.get("runner-images", []) if i not in images]
    sources["runner_images"] = ", ".join(filter(None, ["command line" if images else "",
                                                        file_where if cfg.data.get("runner-images") else ""])) \
        or "default"
    values["severity"] = dict(cfg.data.get("severity") or {})
    sources["severity"] = file_where if values["severity"] else "default"
    return Settings(values, sources)


def show(settings: Settings, cfg: FileConfig) -> str:
    lines = [f"# configuration file: {cfg.path or '(none found)'}"]
    for key in sorted(settings.values):
        lines.append(f"{key.replace('_', '-')} = {json.dumps(settings.values[key])}    # {settings.sources[key]}")
    return "\n".join(lines) + "\n"


def apply_severity(findings: List, overrides: Dict[str, str]) -> Tuple[List, List[str]]:
    """Per-rule severity overrides: error/warning/info reshape non-passing findings; off drops the rule."""
    if not overrides:  # the usual run: a copy, without a look-up per finding (~1.2 ms in 33,000; issue 7)
        return list(findings), []
    from doctor.model import Severity, Status

    out = []
    for f in findings:
        level = overrides.get(f.rule)
        if level is None:
            out.append(f)
            continue
        if level == "off":
            continue
        if f.status in (Status.WARN, Status.FAIL):
            if level == "error":
                f.status, f.severity = Status.FAIL, Severity.ERROR
            elif level == "warning":
                f.status, f.severity = Status.WARN, Severity.WARNING
            else:
                f.status, f.severity = Status.WARN, Severity.INFO
        else:
            f.severity = Severity(level)
        out.append(f)
    return out, [r for r, lv in overrides.items() if lv == "off"]
