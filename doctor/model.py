"""The runner-setup model: what every input parser produces and every rule reads.

Parsers turn files into *subjects*. A subject is either a :class:`RunnerSetup`
(one runner as it will be started: kind, image, mounts, env, flags) or a
standalone :class:`DockerConfig` (a Docker client ``config.json`` checked on its
own). Every value keeps its :class:`Origin` (file, line, column) so that a
finding can point at it.
"""

from __future__ import annotations

import enum
import os
import re
from dataclasses import dataclass, field

from doctor.record import FrozenRecord, Record


TYPE_CHECKING = False
if TYPE_CHECKING:  # typing for type checkers only: not imported at run time (start-up, issue 7)
    from typing import Any, Dict, List, Optional, Tuple


class RunnerKind(str, enum.Enum):
    LINUX_DOCKER = "linux-docker"
    LINUX_SHELL = "linux-shell"
    WINDOWS = "windows"
    MACOS = "macos"

    @property
    def label(self) -> str:
        return {
            "linux-docker": "Linux Docker",
            "linux-shell": "Linux Shell",
            "windows": "Windows",
            "macos": "macOS",
        }[self.value]


class Status(str, enum.Enum):
    PASS = "pass"
    WARN = "warn"
    FAIL = "fail"
    SKIP = "skip"
    ERROR = "error"


class Severity(str, enum.Enum):
    ERROR = "error"
    WARNING = "warning"
    INFO = "info"


@dataclass(init=False, eq=False, repr=False)  # frozen: FrozenRecord (doctor/record.py)
class Origin(FrozenRecord):
    """Where a value was written: a file (None for the command line), 1-based line and column."""

    path: Optional[str] = None
    line: Optional[int] = None
    column: Optional[int] = None

    def __init__(self, path=None, line=None, column=None):
        fields = self.__dict__  # not self.x = ...: FrozenRecord refuses that
        fields["path"] = path
        fields["line"] = line
        fields["column"] = column

    def __str__(self) -> str:
        if self.path is None:
            return "<command line>"
        out = self.path
        if self.line:
            out += f":{self.line}"
            if self.column:
                out += f":{self.column}"
        return out


NOWHERE = Origin()

# Names whose values are secrets: never printed, in any format.
SECRET_ENV_NAMES = frozenset({"OAUTH_CLIENT_SECRET"})
_SECRET_NAME_RE = re.compile(r"(SECRET|PASSWORD|PASSWD|TOKEN|PRIVATE_KEY|API_KEY)", re.I)

_REF_RE = re.compile(r"\$(?:\{[^}]*\}|[A-Za-z_][A-Za-z0-9_]*)")


_SECRET_NAMES: Dict[str, bool] = {}  # name -> is_secret_name(name): a batch asks for the same names ~10,000 times


def is_secret_name(name: str) -> bool:
    secret = _SECRET_NAMES.get(name)
    if secret is None:
        secret = name in SECRET_ENV_NAMES or bool(_SECRET_NAME_RE.search(name))
        if len(_SECRET_NAMES) < 4096:  # a pure function of the name; bounded for inputs with endless names
            _SECRET_NAMES[name] = secret
    return secret


@dataclass(init=False, eq=False, repr=False)  # ==, repr(): Record; __init__ written out (doctor/record.py)
class EnvVar(Record):
    """One environment variable given to the runner.

    ``value`` is the value the runner will see, or None when it is inherited
    from the environment of the process that starts the container (``-e KEY``,
    compose ``- KEY``) or comes from an interpolation that is unset here.
    ``raw`` is the text as written (``$OAUTH_CLIENT_SECRET``, ``${X:-y}``).
    ``source`` says how it was given: "literal", "env-file", "inherited",
    "reference" (an unresolved ``$VAR``), "systemd", "inspect", "argument".
    ``yaml_type`` is set by YAML parsers when the value was not a string
    (e.g. "mapping" for an unquoted ``{uuid}`` in a compose mapping).
    """

    name: str
    value: Optional[str]
    origin: Origin = NOWHERE
    source: str = "literal"
    raw: Optional[str] = None
    yaml_type: Optional[str] = None
    env_file: Optional[str] = None  # path of the env file it came from, if any

    def __init__(self, name, value, origin=NOWHERE, source="literal", raw=None, yaml_type=None, env_file=None):
        self.name = name
        self.value = value
        self.origin = origin
        self.source = source
        self.raw = raw
        self.yaml_type = yaml_type
        self.env_file = env_file

    @property
    def is_reference(self) -> bool:
        return self.source in ("reference", "inherited") or (
            self.value is not None and bool(_REF_RE.search(self.value)) and self.source != "env-file"
        )

    @property
    def is_secret(self) -> bool:
        return is_secret_name(self.name)

    def describe(self) -> str:
        """A printable, secret-safe description of the value."""
        if self.value is None:
            if self.source == "inherited":
                return "inherited from the environment"
            return f"provided at run time ({self.raw})" if self.raw else "provided at run time"
        if self.is_secret:
            return describe_secret(self.value)
        return repr(self.value)


def describe_secret(value: str) -> str:
    if not value:
        return "empty"
    return f"set ({len(value)} characters)"


@dataclass(init=False, eq=False, repr=False)  # ==, repr(): Record; __init__ written out (doctor/record.py)
class Mount(Record):
    """A mount of the runner container (bind, volume or tmpfs)."""

    type: str  # "bind" | "volume" | "tmpfs" | other docker mount types
    source: Optional[str]  # host path (bind) or volume name; None for tmpfs / anonymous volumes
    target: str
    read_only: bool = False
    origin: Origin = NOWHERE
    raw: str = ""  # the option as written, e.g. "-v /tmp:/tmp"
    options: Tuple[str, ...] = ()

    def __init__(self, type, source, target, read_only=False, origin=NOWHERE, raw="", options=()):  # noqa: A002
        self.type = type
        self.source = source
        self.target = target
        self.read_only = read_only
        self.origin = origin
        self.raw = raw
        self.options = options

    @property
    def is_bind(self) -> bool:
        return self.type == "bind"


@dataclass(init=False, eq=False, repr=False)  # ==, repr(): Record; __init__ written out (doctor/record.py)
class EnvFileRef(Record):
    """An env file the runner setup reads (``--env-file``, compose ``env_file``, ``EnvironmentFile=``)."""

    path: str  # as written
    resolved: Optional[str]  # absolute path found on this machine, or None
    origin: Origin = NOWHERE
    mode: Optional[int] = None  # st_mode permission bits when readable here
    error: Optional[str] = None  # why it could not be read
    optional: bool = False  # systemd "EnvironmentFile=-/path"

    def __init__(self, path, resolved, origin=NOWHERE, mode=None, error=None, optional=False):
        self.path = path
        self.resolved = resolved
        self.origin = origin
        self.mode = mode
        self.error = error
        self.optional = optional


@dataclass(init=False, eq=False, repr=False)  # ==, repr(): Record; __init__ written out (doctor/record.py)
class SyntaxProblem(Record):
    """Something in the command that does not mean what it looks like (RD003)."""

    code: str  # "broken-continuation" | "unbalanced-quote" | "option-after-image" | "unknown-option" | ...
    message: str
    origin: Origin = NOWHERE
    fix: str = ""

    def __init__(self, code, message, origin=NOWHERE, fix=""):
        self.code = code
        self.message = message
        self.origin = origin
        self.fix = fix


@dataclass(init=False, eq=False, repr=False)  # ==, repr(): Record; __init__ written out (doctor/record.py)
class DockerConfig(Record):
    """A Docker client config.json as read from disk (parsed lazily by the RD3xx rules' helpers)."""

    path: str  # the path shown to the user
    resolved: Optional[str] = None  # absolute path on this machine
    text: Optional[str] = None  # file content, when readable
    error: Optional[str] = None  # why it could not be read (missing, permission, not a file, ...)
    mode: Optional[int] = None  # permission bits
    origin: Origin = NOWHERE  # where it was named (mount option, --docker-config, TARGET)
    how: str = "given"  # "given" (--docker-config / TARGET) or "mounted" (found at a mount's host side)
    member_of_dir: bool = False  # the mount was the folder; the file is <dir>/config.json
    # Filled in by doctor.dockerconfig.parse(): data, and a parse error with line/col.
    data: Any = None
    parse_error: Optional[Tuple[str, int, int]] = None

    def __init__(self, path, resolved=None, text=None, error=None, mode=None, origin=NOWHERE, how="given",
                 member_of_dir=False, data=None, parse_error=None):
        self.path = path
        self.resolved = resolved
        self.text = text
        self.error = error
        self.mode = mode
        self.origin = origin
        self.how = how
        self.member_of_dir = member_of_dir
        self.data = data
        self.parse_error = parse_error

    @property
    def readable(self) -> bool:
        return self.text is not None


@dataclass(init=False, eq=False, repr=False)  # ==, repr(): Record; __init__ written out (doctor/record.py)
class RunnerSetup(Record):
    """One runner as it will be started."""

    kind: RunnerKind
    form: str  # "docker-run" | "compose" | "systemd" | "inspect" | "start-script"
    origin: Origin  # where the runner is defined (command's first line, compose service, ...)
    label: str = ""  # a short human name: "docker run at deploy.sh:3", "service runner", ...
    image: Optional[str] = None
    image_origin: Origin = NOWHERE
    mounts: List[Mount] = field(default_factory=list)
    env: List[EnvVar] = field(default_factory=list)  # in the order given; the last one of a name wins
    env_files: List[EnvFileRef] = field(default_factory=list)
    name: Optional[str] = None
    name_origin: Origin = NOWHERE
    # docker flags that rules look at, with their origins:
    #   "detach", "tty", "interactive", "restart", "memory", "rm", "privileged", "network", ...
    # Values are strings as written ("" for boolean flags given without a value).
    flags: Dict[str, Tuple[str, Origin]] = field(default_factory=dict)
    # words after the image (the container's command / arguments)
    command_args: List[Tuple[str, Origin]] = field(default_factory=list)
    syntax_problems: List[SyntaxProblem] = field(default_factory=list)
    # what supervises the container: "systemd", "compose", "cron", "docker" (inspect) or None (a shell)
    supervisor: Optional[str] = None
    # folder used to resolve relative host paths (the input file's folder)
    base_dir: Optional[str] = None
    # the Docker client config the runner will read, if any was found/given
    docker_config: Optional[DockerConfig] = None
    # the mount that provides /root/.docker or /root/.docker/config.json, if any
    docker_config_mount: Optional[Mount] = None
    # live facts attached by later stages (daemon, registry); empty offline
    facts: Dict[str, Any] = field(default_factory=dict)

    subject_kind = "runner"

    def __init__(self, kind, form, origin, label="", image=None, image_origin=NOWHERE, mounts=None, env=None,
                 env_files=None, name=None, name_origin=NOWHERE, flags=None, command_args=None,
                 syntax_problems=None, supervisor=None, base_dir=None, docker_config=None,
                 docker_config_mount=None, facts=None):
        self.kind = kind
        self.form = form
        self.origin = origin
        self.label = label
        self.image = image
        self.image_origin = image_origin
        self.mounts = [] if mounts is None else mounts
        self.env = [] if env is None else env
        self.env_files = [] if env_files is None else env_files
        self.name = name
        self.name_origin = name_origin
        self.flags = {} if flags is None else flags
        self.command_args = [] if command_args is None else command_args
        self.syntax_problems = [] if syntax_problems is None else syntax_problems
        self.supervisor = supervisor
        self.base_dir = base_dir
        self.docker_config = docker_config
        self.docker_config_mount = docker_config_mount
        self.facts = {} if facts is None else facts

    # ---- helpers used by many rules ----
    @property
    def is_docker(self) -> bool:
        return self.kind is RunnerKind.LINUX_DOCKER

    def env_var(self, name: str) -> Optional[EnvVar]:
        """The effective variable of that name (the last one wins, as in docker)."""
        found = None
        for var in self.env:
            if var.name == name:
                found = var
        return found

    def env_all(self, name: str) -> List[EnvVar]:
        return [v for v in self.env if v.name == name]

    def env_value(self, name: str) -> Optional[str]:
        var = self.env_var(name)
        return None if var is None else var.value

    def mounts_at(self, target: str) -> List[Mount]:
        t = normpath(target)
        return [m for m in self.mounts if normpath(m.target) == t]

    def flag(self, name: str) -> Optional[Tuple[str, Origin]]:
        return self.flags.get(name)

    def secret_values(self) -> List[str]:
        out = [v.value for v in self.env if v.is_secret and v.value]
        return out


@dataclass(init=False, eq=False, repr=False)  # ==, repr(): Record; __init__ written out (doctor/record.py)
class Subject(Record):
    """What a rule is run against, with a stable id for reports."""

    id: str
    kind: str  # "runner" | "docker-config" | "host"
    path: Optional[str]
    line: Optional[int]
    title: str
    runner: Optional[RunnerSetup] = None
    docker_config: Optional[DockerConfig] = None
    host: Any = None  # doctor.live.daemon.DaemonFacts for kind "host"

    def __init__(self, id, kind, path, line, title, runner=None, docker_config=None, host=None):  # noqa: A002
        self.id = id
        self.kind = kind
        self.path = path
        self.line = line
        self.title = title
        self.runner = runner
        self.docker_config = docker_config
        self.host = host

    @property
    def config(self) -> Optional[DockerConfig]:
        """The Docker client config this subject checks (the runner's, or the standalone one)."""
        if self.runner is not None:
            return self.runner.docker_config
        return self.docker_config


def normpath(path: str) -> str:
    """Normalise a container/host path for comparison (no trailing slash, no //, no /./)."""
    if not path:
        return path
    p = os.path.normpath(path)
    if p.startswith("//"):
        p = "/" + p.lstrip("/")
    return p


@dataclass(init=False, eq=False, repr=False)  # ==, repr(): Record; __init__ written out (doctor/record.py)
class Finding(Record):
    """One rule's verdict on one subject, as every report shows it."""

    rule: str
    name: str
    status: Status
    severity: Severity
    subject: str  # Subject.id
    message: str
    remediation: str = ""
    location: Origin = NOWHERE
    evidence: str = ""  # the offending value or line, already secret-safe
    docs: str = ""
    suppressed: Optional[str] = None  # the reason of an inline suppression that covers it
    suppressed_until: Optional[str] = None  # its expiry date (YYYY-MM-DD), if any

    def __init__(self, rule, name, status, severity, subject, message, remediation="", location=NOWHERE,
                 evidence="", docs="", suppressed=None, suppressed_until=None):
        self.rule = rule
        self.name = name
        self.status = status
        self.severity = severity
        self.subject = subject
        self.message = message
        self.remediation = remediation
        self.location = location
        self.evidence = evidence
        self.docs = docs
        self.suppressed = suppressed
        self.suppressed_until = suppressed_until

    @property
    def counts(self) -> bool:
        """Does it decide the exit code? (a suppressed finding is reported but does not)"""
        return self.suppressed is None

    def to_json(self) -> Dict[str, Any]:
        return {
            "rule": self.rule,
            "name": self.name,
            "status": self.status.value,
            "severity": self.severity.value,
            "subject": self.subject,
            "message": self.message,
            "remediation": self.remediation,
            "location": {
                "path": self.location.path,
                "line": self.location.line,
                "column": self.location.column,
            },
        }


class InputError(Exception):
    """A TARGET that cannot be used: exit 2 with one line on stderr."""

    def __init__(self, path: str, reason: str):
        super().__init__(f"{path}: {reason}")
        self.path = path
        self.reason = reason
