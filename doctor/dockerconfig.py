"""The Docker client ``config.json`` as the docker CLI reads it: shape, credentials and registry lookup.

The loader (:func:`doctor.inputs.common.load_docker_config`) reads the file
and parses it with :mod:`json`. This module adds what the RD3xx rules share:

- :func:`schema_issues`: violations of the JSON Schema in
  ``doctor/schemas/docker-config.schema.json`` (:func:`load_schema`), each with its JSON path and
  the line/column of the offending value (found by :func:`scan_positions`,
  because Python's json gives no positions);
- :func:`decode_auth`: Go-compatible decoding of an ``auth`` value;
- :func:`auth_key_for`, :func:`convert_to_hostname`, :func:`find_entry`:
  credential lookup as the docker CLI does it;
- :func:`view`: a per-config analysis (positions, ``auths`` entries, credential
  stores), computed once and shared by every rule that reads the config;
- :func:`secret_strings`: every secret-bearing string, for the reporters to
  scrub from any output.

Go's ``encoding/json`` matches field names case-insensitively, so the CLI
reads ``"Auths"`` and ``"CredsStore"``; docker-py and most other clients do
not. The CLI view used here follows Go; :attr:`ConfigView.misspelled` lists the
non-canonical spellings. See ``../shared/reference/registry-and-docker-config.md`` §1.
"""

from __future__ import annotations

import base64
import binascii
import bisect
import functools
import json
import os
import re
from dataclasses import dataclass, field

from doctor import lazyre
from doctor.model import DockerConfig, Origin, describe_secret
from doctor.record import FrozenRecord, Record

TYPE_CHECKING = False
if TYPE_CHECKING:  # typing for type checkers only: not imported at run time (start-up, issue 7)
    from typing import Any, Dict, Iterator, List, Optional, Set, Tuple

    Path = Tuple[Any, ...]  # where a value is in the JSON document: keys and indexes

# Docker Hub's key in `auths` (docker/cli file.go: authConfigKey); the only one the CLI reads for Hub.
HUB_KEY = "https://index.docker.io/v1/"
HUB_DOMAINS = ("docker.io", "index.docker.io")
# Hosts that docker-py / containers/image map to Docker Hub, but the docker CLI does not.
HUB_HOST_ALIASES = frozenset({"docker.io", "index.docker.io", "registry-1.docker.io"})

# Canonical spellings of the fields the CLI knows (Go matches them case-insensitively).
TOP_FIELDS = (
    "auths", "HttpHeaders", "credsStore", "credHelpers", "proxies", "currentContext", "psFormat", "imagesFormat",
    "networksFormat", "pluginsFormat", "volumesFormat", "statsFormat", "detachKeys", "serviceInspectFormat",
    "servicesFormat", "tasksFormat", "secretFormat", "configFormat", "nodesFormat", "pruneFilters", "experimental",
    "cliPluginsExtraDirs", "plugins", "aliases", "features",
)
ENTRY_FIELDS = ("auth", "username", "password", "identitytoken", "registrytoken", "serveraddress", "email")
SECRET_FIELDS = ("auth", "password", "identitytoken", "registrytoken")
STORE_FIELDS = ("credsStore", "credHelpers")
_CANONICAL_TOP = {name.lower(): name for name in TOP_FIELDS}
_CANONICAL_ENTRY = {name: name for name in ENTRY_FIELDS}

# Strings shorter than this are not returned by secret_strings(): scrubbing them would garble
# ordinary words, and no rule prints a secret in the first place.
MIN_SECRET_LEN = 4


# ---------------------------------------------------------------------------------------------
# auth decoding (docker/cli cli/config/configfile/file.go: decodeAuth)

class AuthDecodeError(ValueError):
    """An ``auth`` value the docker CLI refuses to load. The message never contains the value."""


_B64_ALPHABET = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/")


def _go_base64_error(s: str) -> Optional[int]:
    """The offset Go's base64.StdEncoding reports for ``s`` ("illegal base64 data at input byte N"), or None.

    A transcription of encoding/base64 decodeQuantum: standard alphabet, '=' padding
    required, '\\r' and '\\n' skipped anywhere.
    """
    si, n = 0, len(s)
    while si < n:
        j = 0
        while j < 4:
            if si == n:
                if j == 0:
                    return None
                return si - j  # an incomplete quantum: padding is required
            ch = s[si]
            si += 1
            if ch in _B64_ALPHABET:
                j += 1
                continue
            if ch in "\r\n":
                continue
            if ch != "=":
                return si - 1
            if j in (0, 1):
                return si - 1  # '=' too early
            if j == 2:  # a second '=' must follow (newlines may come between)
                while si < n and s[si] in "\r\n":
                    si += 1
                if si == n:
                    return n
                if s[si] != "=":
                    return si - 1
                si += 1
            while si < n and s[si] in "\r\n":
                si += 1
            return si if si < n else None  # anything after the padding is an error
    return None


def _describe_base64_error(s: str, at: int) -> str:
    ch = s[at] if at < len(s) else ""
    if ch in ("-", "_"):
        hint = "it uses the URL-safe alphabet ('-' or '_') where docker needs '+' and '/'"
    elif ch == "=":
        hint = "an '=' stands where it does not belong"
    elif ch == "" or ch in _B64_ALPHABET:
        hint = "its length is not a multiple of 4: the '=' padding at the end is missing"
    elif ch == " ":
        hint = "it contains a space"
    elif ch == "\t":
        hint = "it contains a tab"
    else:
        hint = "it contains a character outside the base64 alphabet"
    return f"it is not standard base64 — {hint} (docker: illegal base64 data at input byte {at})"


def decode_auth(s: str) -> Tuple[str, str]:
    """(user, password) from an ``auth`` value, exactly as the docker CLI decodes it.

    Standard base64 with padding ('\\r'/'\\n' skipped); split at the FIRST ':';
    no ':' or an empty user name is an error; NUL bytes around the password are
    trimmed (Go: ``strings.Trim(password, "\\x00")``). An empty value means "no
    credentials" to docker and is reported here as an error too, so that callers
    test for it first. Raises :class:`AuthDecodeError`, whose message never
    contains the value.
    """
    if not isinstance(s, str):
        raise AuthDecodeError("it is not a string")
    if s == "":
        raise AuthDecodeError("it is empty")
    bad = _go_base64_error(s)
    if bad is not None:
        raise AuthDecodeError(_describe_base64_error(s, bad))
    try:
        raw = base64.b64decode(s.replace("\r", "").replace("\n", ""), validate=True)
    except (binascii.Error, ValueError):  # pragma: no cover - the Go check above accepts only valid input
        raise AuthDecodeError("it is not standard base64") from None
    text = raw.decode("utf-8", "surrogateescape")
    user, colon, password = text.partition(":")
    if not colon:
        raise AuthDecodeError("it decodes to text without a ':'; it must be the base64 of user:password")
    if not user:
        raise AuthDecodeError("it decodes to ':<password>': the user name is empty")
    return user, password.strip("\x00")


# ---------------------------------------------------------------------------------------------
# registry lookup (docker/cli credentials/file_store.go, configfile/file.go)

def auth_key_for(domain: str) -> str:
    """The `auths` key the docker CLI looks up for a registry domain (an image reference's domain)."""
    return HUB_KEY if domain in HUB_DOMAINS else domain


_SCHEME_RE = lazyre.compile(r"^[A-Za-z][A-Za-z0-9+.\-]*$")


def _url_host(url: str) -> Optional[str]:
    """host[:port] of a URL as Go's url.Parse + Hostname()/Port() give it, or None when Go fails to parse it."""
    scheme, _, rest = url.partition("://")
    if not _SCHEME_RE.match(scheme):
        return None
    authority = re.split(r"[/?#]", rest, maxsplit=1)[0].rpartition("@")[2]
    if authority.startswith("["):
        end = authority.find("]")
        if end < 0:
            return None
        host, after = authority[1:end], authority[end + 1:]
        if after and not after.startswith(":"):
            return None
        port = after[1:]
    else:
        host, colon, port = authority.rpartition(":")
        if not colon:
            host, port = authority, ""
    if port and not port.isdigit():
        return None
    if not host:
        return None
    if not port:
        return host
    return f"[{host}]:{port}" if ":" in host else f"{host}:{port}"


def convert_to_hostname(key: str) -> str:
    """docker/cli ``ConvertToHostname``: a key with ``://`` gives its URL's host[:port]; else cut at the first '/'."""
    if "://" in key:
        host = _url_host(key)
        if host:
            return host
    return key.split("/", 1)[0]


def cli_auths(data: Any) -> Dict[str, Any]:
    """The `auths` map the docker CLI sees: every case variant of the key, merged in file order."""
    merged: Dict[str, Any] = {}
    if isinstance(data, dict):
        for key, value in data.items():
            if key.lower() == "auths" and isinstance(value, dict):
                merged.update(value)
    return merged


def find_entry(config_data: Any, domain: str) -> Optional[Tuple[str, Any]]:
    """(key, entry) the docker CLI uses for a registry domain, or None.

    The exact key first (``https://index.docker.io/v1/`` for Docker Hub, else the
    domain); then any key whose :func:`convert_to_hostname` equals it. Keys are
    compared case-sensitively and the port must match exactly. Hub is found only
    under its exact key.
    """
    auths = cli_auths(config_data)
    wanted = auth_key_for(domain)
    if wanted in auths:
        return wanted, auths[wanted]
    for key, entry in auths.items():
        if convert_to_hostname(key) == wanted:
            return key, entry
    return None


def is_cli_ignored_hub_key(key: str) -> bool:
    """A key that docker-py/skopeo read for Docker Hub but the docker CLI never uses (``docker.io``, ...)."""
    if key == HUB_KEY:
        return False
    bare = re.sub(r"^[A-Za-z]+://", "", key).split("/", 1)[0]
    return bare.lower() in HUB_HOST_ALIASES


# ---------------------------------------------------------------------------------------------
# positions: a small scan of (valid) JSON text recording where each key and value starts

@dataclass(init=False, eq=False, repr=False)  # frozen: FrozenRecord (doctor/record.py)
class Position(FrozenRecord):
    """Where a key and its value start in the JSON text."""

    key: Optional[Tuple[int, int]]  # (line, column) of the key, None for the root and array items
    value: Tuple[int, int]  # (line, column) of the value

    def __init__(self, key, value):
        fields = self.__dict__  # not self.x = ...: FrozenRecord refuses that
        fields["key"] = key
        fields["value"] = value


_STRING_RE = lazyre.compile(r'"(?:[^"\\]|\\.)*"', re.S)
_SCALAR_RE = lazyre.compile(r"-?(?:Infinity|\d+(?:\.\d+)?(?:[eE][+-]?\d+)?)|true|false|null|NaN")
_WS_RE = lazyre.compile(r"[ \t\n\r]*")


class _Scanner:
    def __init__(self, text: str):
        self.text = text
        self.i = 0
        self.line_starts = [0] + [m.end() for m in re.finditer("\n", text)]
        self.found: Dict[Path, Position] = {}

    def where(self, offset: int) -> Tuple[int, int]:
        line = bisect.bisect_right(self.line_starts, offset)
        return line, offset - self.line_starts[line - 1] + 1

    def skip_ws(self) -> None:
        self.i = _WS_RE.match(self.text, self.i).end()

    def string(self) -> str:
        m = _STRING_RE.match(self.text, self.i)
        if not m:
            raise ValueError("string expected")
        self.i = m.end()
        return json.loads(m.group(0))

    def value(self, path: Path, key_at: Optional[int]) -> None:
        self.skip_ws()
        self.found[path] = Position(self.where(key_at) if key_at is not None else None, self.where(self.i))
        ch = self.text[self.i:self.i + 1]
        if ch == "{":
            self.container(path, "}", keyed=True)
        elif ch == "[":
            self.container(path, "]", keyed=False)
        elif ch == '"':
            self.string()
        else:
            m = _SCALAR_RE.match(self.text, self.i)
            if not m:
                raise ValueError("value expected")
            self.i = m.end()

    def container(self, path: Path, close: str, keyed: bool) -> None:
        self.i += 1
        self.skip_ws()
        index = 0
        while self.text[self.i:self.i + 1] != close:
            if keyed:
                key_at = self.i
                key = self.string()
                self.skip_ws()
                self.i += 1  # ':'
                self.value(path + (key,), key_at)
            else:
                self.value(path + (index,), None)
                index += 1
            self.skip_ws()
            if self.text[self.i:self.i + 1] == ",":
                self.i += 1
                self.skip_ws()
        self.i += 1


def scan_positions(text: str) -> Dict[Path, Position]:
    """Where each key and value of a JSON document starts, by JSON path (a tuple of keys and indexes).

    Meant for text that :func:`json.loads` accepted; a later duplicate key wins, as
    in json.loads. Returns what it found so far if the text is not valid JSON.
    """
    scanner = _Scanner(text)
    try:
        scanner.value((), None)
    except (ValueError, IndexError, RecursionError):
        pass
    return scanner.found


def json_path(path: Path) -> str:
    """``$.auths["registry.acme.example:5443"].auth`` for a path tuple."""
    out = "$"
    for part in path:
        if isinstance(part, int):
            out += f"[{part}]"
        elif re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", part):
            out += f".{part}"
        else:
            out += f"[{json.dumps(part)}]"
    return out


# ---------------------------------------------------------------------------------------------
# JSON Schema

SCHEMA_RESOURCE = "schemas/docker-config.schema.json"


@functools.lru_cache(maxsize=1)
def load_schema() -> Dict[str, Any]:
    """The JSON Schema (draft 2020-12) of a config, read from the package on first use."""
    with open(os.path.join(os.path.dirname(__file__), SCHEMA_RESOURCE), encoding="utf-8") as fh:
        return json.load(fh)


@functools.lru_cache(maxsize=1)
def _validator():
    from jsonschema import Draft202012Validator

    schema = load_schema()
    Draft202012Validator.check_schema(schema)
    return Draft202012Validator(schema)


_PY_TYPES = {"object": dict, "array": list, "string": str, "null": type(None)}


@functools.lru_cache(maxsize=None)
def _word_keys(pattern: str):
    """The lower-cased keys that a pattern spelling a word in either case (``^[Aa][Uu][Tt][Hh]$``, as the schema's
    are) can match - the word, and the word before a newline (``$``) - so that the patterns a config's keys
    cannot match are not compiled (start-up time); None for any other pattern."""
    body = pattern[1:-1] if pattern.startswith("^") and pattern.endswith("$") else ""
    pairs = [body[i:i + 4] for i in range(0, len(body), 4)]
    if not body or len(body) % 4 or any(p[0] + p[3] != "[]" or p[1] != p[2].upper() or p[2] != p[1].lower()
                                        or not (p[2].isascii() and p[2].isalpha()) for p in pairs):
        return None
    word = "".join(p[2] for p in pairs)
    return (word, word + "\n")


def _may_match(pattern: str, folded_key: str) -> bool:
    words = _word_keys(pattern)
    return words is None or folded_key in words


def _conforms(data: Any, schema: Dict[str, Any]) -> bool:
    """True when ``data`` surely meets ``schema``; False when it may not (then jsonschema says how).

    Reads the keywords the config schema uses (type, patternProperties, additionalProperties,
    items, local $ref), so that a valid config is checked without importing jsonschema.
    """
    if not isinstance(schema, dict):
        return schema is True
    root = load_schema()
    if "$ref" in schema:
        node: Any = root
        for part in schema["$ref"].lstrip("#/").split("/"):
            node = node[part]
        return _conforms(data, node)
    if set(schema) - {"type", "patternProperties", "additionalProperties", "items", "description", "title",
                      "$schema", "$id", "$defs"}:
        return False
    types = schema.get("type", [])
    types = [types] if isinstance(types, str) else types
    if types and not any(t in _PY_TYPES and type(data) is _PY_TYPES[t] for t in types):
        return False
    if isinstance(data, dict):
        patterns = schema.get("patternProperties", {})
        for key, value in data.items():
            folded = key.lower()
            matched = [sub for pattern, sub in patterns.items()
                       if _may_match(pattern, folded) and re.search(pattern, key)]
            if not matched and "additionalProperties" in schema:
                matched = [schema["additionalProperties"]]
            if not all(_conforms(value, sub) for sub in matched):
                return False
    if isinstance(data, list) and "items" in schema:
        return all(_conforms(item, schema["items"]) for item in data)
    return True


_JSON_TYPES = {dict: "an object", list: "an array", str: "a string", bool: "true/false", type(None): "null",
               int: "a number", float: "a number"}


_SCHEMA_TYPES = {"object": "an object", "array": "an array", "string": "a string", "number": "a number",
                 "integer": "a number", "boolean": "true/false"}


def _json_type(value: Any) -> str:
    return _JSON_TYPES.get(type(value), type(value).__name__)


@dataclass(init=False, eq=False, repr=False)  # frozen: FrozenRecord (doctor/record.py)
class SchemaIssue(FrozenRecord):
    """A place where the config does not meet the schema, and where it is in the file."""

    path: Tuple[Any, ...]  # a Path (spelled out: the alias exists for type checkers only)
    message: str  # never contains the offending value
    line: Optional[int]
    column: Optional[int]

    def __init__(self, path, message, line, column):
        fields = self.__dict__  # not self.x = ...: FrozenRecord refuses that
        fields["path"] = path
        fields["message"] = message
        fields["line"] = line
        fields["column"] = column

    @property
    def json_path(self) -> str:
        return json_path(self.path)


def schema_issues(data: Any, text: Optional[str] = None,
                  positions: Optional[Dict[Path, Position]] = None) -> List[SchemaIssue]:
    """Schema violations of parsed config data, in file order, each with the value's line and column."""
    if _conforms(data, load_schema()):
        return []
    if positions is None:
        positions = scan_positions(text) if text is not None else {}
    issues = []
    for err in _validator().iter_errors(data):
        path = tuple(err.absolute_path)
        if err.validator == "type":
            expected = err.validator_value if isinstance(err.validator_value, list) else [err.validator_value]
            wanted = " or ".join(_SCHEMA_TYPES[t] for t in expected if t != "null")
            message = f"must be {wanted}, not {_json_type(err.instance)}"
        else:
            message = f"does not have the expected shape ({err.validator})"
        pos = positions.get(path)
        line, column = pos.value if pos else (None, None)
        issues.append(SchemaIssue(path, message, line, column))
    return sorted(issues, key=lambda i: (i.line or 0, i.column or 0))


# ---------------------------------------------------------------------------------------------
# the per-config analysis the rules share

@dataclass(init=False, eq=False, repr=False)  # ==, repr(): Record; __init__ written out (doctor/record.py)
class AuthEntry(Record):
    """One `auths` entry as the docker CLI reads it, classified for the runner (basic auth only)."""

    key: str
    top_key: str  # the spelling of `auths` it was found under
    value: Any
    origin: Origin  # the key's line
    fields: Dict[str, Any] = field(default_factory=dict)  # canonical field name -> value (case-insensitive)
    kind: str = ""  # "basic" | "empty" | "identitytoken" | "registrytoken" | "bad-auth" | "partial" | "not-object"
    problem: str = ""  # why it is not basic auth, for a finding (secret-free)

    def __init__(self, key, top_key, value, origin, fields=None, kind="", problem=""):
        self.key = key
        self.top_key = top_key
        self.value = value
        self.origin = origin
        self.fields = {} if fields is None else fields
        self.kind = kind
        self.problem = problem

    @property
    def is_basic(self) -> bool:
        return self.kind == "basic"

    def evidence(self) -> str:
        """The entry with every value replaced by a secret-safe description."""
        if not isinstance(self.value, dict):
            return f"{json.dumps(self.key)}: {_json_type(self.value)}"
        parts = []
        for name, val in self.value.items():
            if isinstance(val, str):
                shown = json.dumps(val) if name.lower() == "serveraddress" else describe_secret(val)
            else:
                shown = _json_type(val)
            parts.append(f"{json.dumps(name)}: {shown}")
        return f"{json.dumps(self.key)}: {{{', '.join(parts)}}}"


def _entry_fields(value: Dict[str, Any]) -> Dict[str, Any]:
    out: Dict[str, Any] = {}
    for name, val in value.items():
        canonical = _CANONICAL_ENTRY.get(name.lower())
        if canonical and val is not None:
            out[canonical] = val
    return out


def _classify(entry: AuthEntry) -> None:
    if entry.value is None:
        entry.value = {}
    if not isinstance(entry.value, dict):
        entry.kind = "not-object"
        entry.problem = f"the entry is {_json_type(entry.value)}, not an object; docker cannot load this file"
        return
    f = entry.fields = _entry_fields(entry.value)
    if f.get("identitytoken"):
        entry.kind = "identitytoken"
        entry.problem = ("it holds an identity token (an OAuth refresh token stored by docker login), not a user "
                         "name and password; the runner supports basic auth only")
        return
    if f.get("registrytoken"):
        entry.kind = "registrytoken"
        entry.problem = "it holds a registry bearer token, not a user name and password; the runner supports basic auth only"
        return
    auth = f.get("auth")
    if isinstance(auth, str) and auth:
        try:
            _user, password = decode_auth(auth)
        except AuthDecodeError as exc:
            entry.kind = "bad-auth"
            entry.problem = f"docker cannot decode its auth value: {exc}"
            return
        if not password:
            entry.kind = "partial"
            entry.problem = "its auth value decodes to 'user:' with an empty password"
            return
        entry.kind = "basic"
        return
    user, password = f.get("username"), f.get("password")
    if user and password:
        entry.kind = "basic"
    elif user or password:
        entry.kind = "partial"
        entry.problem = f"it has a {'user name' if user else 'password'} but no {'password' if user else 'user name'}"
    else:
        entry.kind = "empty"
        entry.problem = ("it holds no credentials (an empty {} entry is the marker docker login leaves when the "
                         "password went to a credential store)")


class ConfigView:
    """What the RD3xx rules read from one config; built once per config by :func:`view`."""

    def __init__(self, config: DockerConfig):
        self.config = config
        self.data = config.data if isinstance(config.data, dict) else None

    @functools.cached_property
    def positions(self) -> Dict[Path, Position]:
        return scan_positions(self.config.text) if self.config.text is not None else {}

    @property
    def display_path(self) -> str:
        """The file as the user can open it from here."""
        cfg = self.config
        if cfg.how == "mounted" and cfg.resolved:
            rel = os.path.relpath(cfg.resolved)
            return cfg.resolved if rel.startswith("..") else rel
        return cfg.path

    def origin(self, path: Path, at_key: bool = True) -> Origin:
        """Where a key (or its value) is in the file; the file itself when unknown."""
        pos = self.positions.get(path)
        if pos is None:
            return Origin(self.display_path)
        line, column = pos.key if (at_key and pos.key) else pos.value
        return Origin(self.display_path, line, column)

    def top(self, canonical: str) -> List[Tuple[str, Any]]:
        """(spelling, value) of every top-level key Go maps to the field ``canonical``, in file order."""
        if self.data is None:
            return []
        return [(k, v) for k, v in self.data.items() if k.lower() == canonical.lower()]

    @functools.cached_property
    def schema_issues(self) -> List[SchemaIssue]:
        return schema_issues(self.data, positions=self.positions) if self.data is not None else []

    @functools.cached_property
    def entries(self) -> List[AuthEntry]:
        """Every `auths` entry the CLI reads, in file order (a later duplicate key replaces an earlier one)."""
        found: Dict[str, AuthEntry] = {}
        for top_key, auths in self.top("auths"):
            if not isinstance(auths, dict):
                continue
            for key, value in auths.items():
                entry = AuthEntry(key, top_key, value, self.origin((top_key, key)))
                _classify(entry)
                found.pop(key, None)
                found[key] = entry
        return list(found.values())

    @functools.cached_property
    def misspelled(self) -> List[Tuple[Path, str, str]]:
        """(path, spelling, canonical) of field names the CLI accepts only because Go ignores case."""
        out = []
        for key in self.data or {}:
            canonical = _CANONICAL_TOP.get(key.lower())
            if canonical and key != canonical:
                out.append(((key,), key, canonical))
        for entry in self.entries:
            if isinstance(entry.value, dict):
                for name in entry.value:
                    canonical = _CANONICAL_ENTRY.get(name.lower())
                    if canonical and name != canonical:
                        out.append(((entry.top_key, entry.key, name), name, canonical))
        return out


def view(config: DockerConfig) -> ConfigView:
    """The shared analysis of a config, computed on first use and kept on the config object."""
    cached = config.__dict__.get("_doctor_view")
    if cached is None:
        cached = ConfigView(config)
        config.__dict__["_doctor_view"] = cached
    return cached


def unavailable(config: Optional[DockerConfig]) -> Optional[str]:
    """Why a config's content cannot be checked (a skip reason pointing at RD301), or None."""
    if config is None:
        return "no Docker config is mounted or given"
    if config.error:
        return f"the Docker config {config.path} cannot be read here ({config.error}); see RD301"
    if config.parse_error:
        return f"the Docker config {config.path} is not valid JSON; see RD301"
    if not isinstance(config.data, dict):
        return f"the Docker config {config.path} is not a JSON object; see RD301"
    return None


# ---------------------------------------------------------------------------------------------
# secrets

_SECRET_TEXT_RE = re.compile(r'"(auth|password|identitytoken|registrytoken)"\s*:\s*"((?:[^"\\]|\\.)*)"', re.I)


def _secrets_of_auth(auth: str) -> Iterator[str]:
    yield auth
    yield auth.replace("\r", "").replace("\n", "")
    try:
        _user, password = decode_auth(auth)
        yield password
    except AuthDecodeError:
        # docker refuses it, but a lenient decoder may still reveal the password: scrub that too
        cleaned = re.sub(r"[^A-Za-z0-9+/]", "", auth.replace("-", "+").replace("_", "/"))
        try:
            raw = base64.b64decode(cleaned + "=" * (-len(cleaned) % 4))
        except (binascii.Error, ValueError):
            return
        text = raw.decode("utf-8", "replace")
        yield text
        yield text.partition(":")[2].strip("\x00")


def _walk_secret_values(data: Any) -> Iterator[Tuple[str, str]]:
    if isinstance(data, dict):
        for key, value in data.items():
            if isinstance(value, str) and isinstance(key, str) and key.lower() in SECRET_FIELDS:
                yield key.lower(), value
            else:
                yield from _walk_secret_values(value)
    elif isinstance(data, list):
        for item in data:
            yield from _walk_secret_values(item)


def secret_strings(config: Optional[DockerConfig]) -> Set[str]:
    """Every secret-bearing string in a config: auth blobs, decoded passwords, passwords and tokens.

    Read from the parsed data and, as a fallback for broken JSON and duplicate keys,
    from the raw text. Strings shorter than :data:`MIN_SECRET_LEN` are left out.
    """
    if config is None:
        return set()
    found: List[Tuple[str, str]] = list(_walk_secret_values(config.data))
    for m in _SECRET_TEXT_RE.finditer(config.text or ""):
        try:
            value = json.loads(f'"{m.group(2)}"')
        except ValueError:
            value = m.group(2)
        found.append((m.group(1).lower(), value))
    out: Set[str] = set()
    for name, value in found:
        out.update(_secrets_of_auth(value) if name == "auth" else (value,))
    return {s for s in out if len(s) >= MIN_SECRET_LEN}
