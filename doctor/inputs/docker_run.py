"""Parse a ``docker run`` / ``docker container run`` argument list into a RunnerSetup.

The option table follows ``docker container run --help`` (Docker 28): which
options take a value, which are booleans, their short forms, and the combined
short flags (``-dit``). Everything after the image is the container's command,
so docker options written there (``... runner:1 --restart=always``) are
recorded as a syntax problem rather than applied.
"""

from __future__ import annotations

import os
import re

from doctor.inputs.shellwords import Word, references
from doctor.model import EnvVar, Mount, RunnerKind, RunnerSetup, SyntaxProblem

TYPE_CHECKING = False
if TYPE_CHECKING:  # typing for type checkers only: not imported at run time (start-up, issue 7)
    from typing import Dict, List, Mapping, Optional, Sequence, Tuple

# options of `docker container run` that take a value
VALUE_OPTIONS = {
    "add-host", "annotation", "attach", "blkio-weight", "blkio-weight-device", "cap-add", "cap-drop",
    "cgroup-parent", "cgroupns", "cidfile", "cpu-count", "cpu-percent", "cpu-period", "cpu-quota",
    "cpu-rt-period", "cpu-rt-runtime", "cpu-shares", "cpus", "cpuset-cpus", "cpuset-mems", "detach-keys",
    "device", "device-cgroup-rule", "device-read-bps", "device-read-iops", "device-write-bps",
    "device-write-iops", "dns", "dns-opt", "dns-option", "dns-search", "domainname", "entrypoint", "env",
    "env-file", "expose", "gpus", "group-add", "health-cmd", "health-interval", "health-retries",
    "health-start-interval", "health-start-period", "health-timeout", "hostname", "io-maxbandwidth",
    "io-maxiops", "ip", "ip6", "ipc", "isolation", "kernel-memory", "label", "label-file", "link",
    "link-local-ip", "log-driver", "log-opt", "mac-address", "memory", "memory-reservation", "memory-swap",
    "memory-swappiness", "mount", "name", "net", "net-alias", "network", "network-alias", "oom-score-adj",
    "pid", "pids-limit", "platform", "publish", "pull", "restart", "runtime", "security-opt", "shm-size",
    "stop-signal", "stop-timeout", "storage-opt", "sysctl", "tmpfs", "ulimit", "user", "userns", "uts",
    "volume", "volume-driver", "volumes-from", "workdir",
}
# boolean options
BOOL_OPTIONS = {
    "detach", "disable-content-trust", "help", "init", "interactive", "no-healthcheck", "oom-kill-disable",
    "privileged", "publish-all", "quiet", "read-only", "rm", "sig-proxy", "tty", "use-api-socket",
}
SHORT_VALUE = {"a": "attach", "c": "cpu-shares", "e": "env", "h": "hostname", "l": "label", "m": "memory",
               "p": "publish", "u": "user", "v": "volume", "w": "workdir"}
SHORT_BOOL = {"d": "detach", "i": "interactive", "P": "publish-all", "q": "quiet", "t": "tty"}
ALIASES = {"net": "network", "net-alias": "network-alias", "dns-opt": "dns-option"}

# options of the `docker` command itself, before the subcommand
GLOBAL_VALUE = {"-H": "host", "--host": "host", "-c": "context", "--context": "context", "--config": "config",
                "-l": "log-level", "--log-level": "log-level", "--tlscacert": "", "--tlscert": "", "--tlskey": ""}
GLOBAL_BOOL = {"-D", "--debug", "--tls", "--tlsverify"}

# flags the rules look at, recorded in RunnerSetup.flags
RECORDED = {"detach", "tty", "interactive", "restart", "memory", "rm", "privileged", "network", "user",
            "read-only", "entrypoint", "platform", "pull", "log-driver", "init", "memory-swap", "cpus"}

RUNNER_REPOSITORY = "bitbucket-pipelines-runner"
_RUN_SUBCOMMANDS = (("container", "run"), ("container", "create"), ("run",), ("create",))  # longest first
_WRAPPERS = frozenset({"sudo", "exec", "env", "nohup", "time", "command", "nice", "doas", "stdbuf", "setsid"})


def image_repository_basename(image: str) -> str:
    ref = image.split("@", 1)[0]
    last = ref.rsplit("/", 1)[-1]
    return last.split(":", 1)[0]


def is_runner_image(image: Optional[str], mirrors: Sequence[str] = ()) -> bool:
    if not image:
        return False
    repo = image.split("@", 1)[0]
    if ":" in repo.rsplit("/", 1)[-1]:
        repo = repo.rsplit(":", 1)[0]
    if repo in mirrors:
        return True
    return image_repository_basename(image) == RUNNER_REPOSITORY


def find_docker_run(words: Sequence[Word]) -> Optional[Tuple[int, Dict[str, str]]]:
    """Index of the first word after ``docker [global options] (container) run``, or None.

    Wrappers in front of docker are skipped: ``sudo [-E -u user ...]``, ``exec``,
    ``env A=B``, ``nohup``, ``time``, ``command``, leading ``VAR=value`` assignments.
    Returns the docker global options found (``host``, ``context``, ``config``).
    """
    i = 0
    n = len(words)
    while i < n:
        t = words[i].text
        base = os.path.basename(t)
        if base in ("docker", "docker.exe", "podman"):
            break
        if base in _WRAPPERS:
            i += 1
            # options of the wrapper (sudo -u user, nice -n 5, env -i)
            while i < n and words[i].text.startswith("-") and words[i].text != "--":
                if words[i].text in ("-u", "-g", "-n", "-C", "-h", "-p", "-U", "-D", "-R", "-T"):
                    i += 1
                i += 1
            if i < n and words[i].text == "--":
                i += 1
            continue
        if re.match(r"^[A-Za-z_][A-Za-z0-9_]*=", t):
            i += 1
            continue
        return None
    else:
        return None
    i += 1
    global_opts: Dict[str, str] = {}
    while i < n and words[i].text.startswith("-"):
        t = words[i].text
        key, eq, val = t.partition("=")
        if key in GLOBAL_VALUE:
            if not eq:
                i += 1
                val = words[i].text if i < n else ""
            if GLOBAL_VALUE[key]:
                global_opts[GLOBAL_VALUE[key]] = val
        elif key not in GLOBAL_BOOL:
            return None
        i += 1
    for sub in _RUN_SUBCOMMANDS:
        if tuple(w.text for w in words[i: i + len(sub)]) == sub:
            return i + len(sub), global_opts
    return None


class RunArgs:
    """The options and positional words of one `docker run`, as docker would read them."""

    def __init__(self) -> None:
        self.options: List[Tuple[str, str, Word]] = []  # (long name, value, word holding the option)
        self.image: Optional[Word] = None
        self.args: List[Word] = []
        self.problems: List[SyntaxProblem] = []


def _intended(w: Word) -> Word:
    """A word that starts with a backslash-escaped blank (" -v") as its author meant it ("-v").

    The mistake itself is reported from the word splitter (RD003); parsing the intent lets the other
    rules still check what the command was meant to do.
    """
    if not w.escaped_space_start:
        return w
    return Word(w.text.lstrip(" \t"), w.raw, w.origin, w.quoted, w.expands, False)


def _value_word(option: Word, value: Word) -> Word:
    """An option given its value in the next word: the option's origin, the value word's quoting/expansion."""
    return Word(value.text, value.raw, option.origin, value.quoted, value.expands, value.escaped_space_start)


def parse_run_args(words: Sequence[Word]) -> RunArgs:
    out = RunArgs()
    words = [_intended(w) if w.escaped_space_start else w for w in words]  # a call for the rare one only
    i = 0
    n = len(words)
    while i < n:
        w = words[i]
        t = w.text
        if t == "--":
            i += 1
            break
        if t.startswith("--") and len(t) > 2:
            name, eq, val = t[2:].partition("=")
            name = ALIASES.get(name, name)
            if name in VALUE_OPTIONS:
                if not eq:
                    if i + 1 >= n:
                        out.problems.append(SyntaxProblem(
                            "missing-value", f"--{name} needs a value", w.origin, f"give --{name} a value"))
                        i += 1
                        continue
                    i += 1
                    val = words[i].text
                    w = _value_word(w, words[i])
                out.options.append((name, val, w))
            elif name in BOOL_OPTIONS:
                out.options.append((name, val if eq else "", w))
            else:
                out.problems.append(SyntaxProblem(
                    "unknown-option", f"docker run has no option --{name}: docker refuses the command "
                    f"(\"unknown flag: --{name}\")", w.origin, f"remove --{name} or correct its spelling"))
                # recovery: a misspelt option most likely takes a value when a plain word follows and
                # the image still comes after it
                if not eq and i + 2 < n and not words[i + 1].text.startswith("-"):
                    i += 1
            i += 1
            continue
        if t.startswith("-") and len(t) > 1:
            j = 1
            while j < len(t):
                c = t[j]
                if c in SHORT_BOOL:
                    if t.startswith("=", j + 1):  # not t[j + 1:]: a copy per letter is quadratic in -dddd...
                        out.options.append((SHORT_BOOL[c], t[j + 2:], w))
                        break
                    out.options.append((SHORT_BOOL[c], "", w))
                    j += 1
                    continue
                if c in SHORT_VALUE:
                    rest = t[j + 1:]
                    if rest.startswith("="):
                        rest = rest[1:]
                    if not rest:
                        if i + 1 >= n:
                            out.problems.append(SyntaxProblem(
                                "missing-value", f"-{c} needs a value", w.origin, f"give -{c} a value"))
                            break
                        i += 1
                        rest = words[i].text
                        w = _value_word(w, words[i])
                    out.options.append((SHORT_VALUE[c], rest, w))
                    break
                out.problems.append(SyntaxProblem(
                    "unknown-option", f"docker run has no option -{c} (in {t!r}): docker refuses the command",
                    w.origin, f"remove -{c} or correct it"))
                break
            i += 1
            continue
        out.image = w
        i += 1
        break
    out.args = list(words[i:])
    for a in out.args:
        name = a.text[2:].partition("=")[0] if a.text.startswith("--") else None
        short = a.text[1:2] if re.match(r"^-[A-Za-z]", a.text) else None
        if (name and (ALIASES.get(name, name) in VALUE_OPTIONS or name in BOOL_OPTIONS)) or (
            short and (short in SHORT_BOOL or short in SHORT_VALUE)
        ):
            image_text = out.image.text if out.image else "the image"
            out.problems.append(SyntaxProblem(
                "option-after-image",
                f"{a.text!r} comes after the image {image_text!r}: docker passes it to the container as an "
                f"argument, so it has no effect as a docker option",
                a.origin,
                f"move {a.text!r} (and its value) before the image name",
            ))
    return out


def parse_volume(value: str, word: Word, base_dir: Optional[str]) -> Mount:
    """`-v [SRC:]DST[:OPTS]`"""
    parts = value.split(":")
    opts: Tuple[str, ...] = ()
    if len(parts) == 1:
        return Mount("volume", None, parts[0], False, word.origin, f"-v {value}")
    if len(parts) >= 3:
        src, dst, opts = parts[0], parts[1], tuple(o for o in ":".join(parts[2:]).split(",") if o)
    else:
        src, dst = parts
        # "-v /data:ro" is not a thing; two parts is always SRC:DST
    is_bind = src.startswith(("/", ".", "~", "$")) or src == ""
    ro = "ro" in opts or "readonly" in opts
    return Mount("bind" if is_bind else "volume", src, dst, ro, word.origin, f"-v {value}", opts)


def _truthy(v: str) -> bool:
    return v.lower() in ("", "1", "true", "yes")


def parse_mount(value: str, word: Word) -> Tuple[Optional[Mount], Optional[str]]:
    """`--mount type=bind,source=/x,target=/y,readonly`: (mount, error)."""
    import csv  # only for --mount (start-up time)

    try:
        fields = next(csv.reader([value]))
    except (csv.Error, StopIteration):
        return None, f"cannot read --mount {value!r}"
    kv: Dict[str, str] = {}
    flags: List[str] = []
    for f in fields:
        k, eq, v = f.partition("=")
        k = k.strip().lower()
        if eq:
            kv[k] = v
        else:
            flags.append(k)
            kv[k] = ""
    mtype = kv.get("type", "volume")
    src = kv.get("source", kv.get("src"))
    dst = kv.get("target", kv.get("destination", kv.get("dst")))
    if not dst:
        return None, f"--mount {value!r} has no target (target=/path)"
    ro = False
    for key in ("readonly", "ro"):
        if key in kv:
            ro = _truthy(kv[key])
    opts = tuple(f for f in fields)
    return Mount(mtype, src, dst, ro, word.origin, f"--mount {value}", opts), None


def env_from_assignment(text: str, word: Word, environ: Mapping[str, EnvVar], source: str = "literal") -> EnvVar:
    """`-e KEY=VALUE` or `-e KEY` (inherited from the environment docker runs in)."""
    name, eq, val = text.partition("=")
    if not eq:
        inherited = environ.get(name)
        if inherited is not None and inherited.value is not None:
            return EnvVar(name, inherited.value, word.origin, "inherited", raw=name,
                          env_file=inherited.env_file)
        return EnvVar(name, None, word.origin, "inherited", raw=name)
    if word.expands and "$" in val:
        refs = references(val)
        if refs and all(r in environ and environ[r].value is not None for r in refs):
            resolved = val
            for r in refs:
                resolved = re.sub(r"\$\{" + r + r"[^}]*\}|\$" + r + r"\b", lambda _m, r=r: environ[r].value, resolved)
            # a value that comes from an env file is not written in the command itself
            from_file = next((environ[r] for r in refs if environ[r].source == "env-file"), None)
            if from_file is not None:
                return EnvVar(name, resolved, word.origin, "env-file", raw=val, env_file=from_file.env_file)
            return EnvVar(name, resolved, word.origin, "literal", raw=val)
        return EnvVar(name, None, word.origin, "reference", raw=val)
    return EnvVar(name, val, word.origin, source, raw=val)


def build_runner(
    words: Sequence[Word],
    start: int,
    path: Optional[str],
    base_dir: Optional[str],
    environ: Mapping[str, EnvVar],
    supervisor: Optional[str],
    read_env_file,
) -> Tuple[RunArgs, RunnerSetup]:
    """Turn the words after `docker run` into a RunnerSetup (whether or not it is a runner)."""
    args = parse_run_args(words[start:])
    first = words[0]
    setup = RunnerSetup(
        kind=RunnerKind.LINUX_DOCKER,
        form="docker-run",
        origin=first.origin,
        label=f"docker run at {first.origin}",
        supervisor=supervisor,
        base_dir=base_dir,
    )
    setup.syntax_problems.extend(args.problems)
    # docker reads every --env-file before every -e, whatever their order on the command line
    # (cli/command/container/opts.go: readKVStrings(envFiles, env)), so a -e always wins
    from_files: List[EnvVar] = []
    for name, val, w in args.options:
        if name == "env":
            setup.env.append(env_from_assignment(val, w, environ))
        elif name == "env-file":
            ref, vars_ = read_env_file(val, w.origin, base_dir)
            setup.env_files.append(ref)
            from_files.extend(vars_)
        elif name == "volume":
            setup.mounts.append(parse_volume(val, w, base_dir))
        elif name == "mount":
            m, err = parse_mount(val, w)
            if m:
                setup.mounts.append(m)
            else:
                setup.syntax_problems.append(SyntaxProblem("bad-mount", err or "bad --mount", w.origin,
                                                           "write --mount type=bind,source=HOST,target=CONTAINER"))
        elif name == "tmpfs":
            setup.mounts.append(Mount("tmpfs", None, val.split(":", 1)[0], False, w.origin, f"--tmpfs {val}"))
        elif name == "name":
            setup.name, setup.name_origin = val, w.origin
        elif name == "network":
            setup.flags["network"] = (val, w.origin)
        if name in RECORDED:
            setup.flags[name] = (val, w.origin)
    setup.env[:0] = from_files
    if args.image is not None:
        image = args.image.text
        if args.image.expands:
            refs = references(image)
            if refs and all(r in environ and environ[r].value for r in refs):
                for r in refs:
                    image = re.sub(r"\$\{" + r + r"[^}]*\}|\$" + r + r"\b", lambda _m, r=r: environ[r].value, image)
        setup.image, setup.image_origin = image, args.image.origin
    setup.command_args = [(a.text, a.origin) for a in args.args]
    return args, setup
