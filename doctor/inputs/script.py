"""Shell scripts and pasted text: `docker run` runner commands and the shell/Windows/macOS start scripts."""

from __future__ import annotations

import os
import re

from doctor.inputs.common import LoadOptions, attach_docker_config
from doctor.inputs.docker_run import build_runner, find_docker_run, is_runner_image
from doctor.inputs.envfile import read_env_file
from doctor.inputs.shellwords import Command, Word, split_assignment, split_commands
from doctor.model import EnvVar, Origin, RunnerKind, RunnerSetup

TYPE_CHECKING = False
if TYPE_CHECKING:  # typing for type checkers only: not imported at run time (start-up, issue 7)
    from typing import Dict, List, Mapping, Optional, Sequence

_CRON_RE = re.compile(
    r"^\s*(@(reboot|yearly|annually|monthly|weekly|daily|midnight|hourly)\s+"
    r"|([\d*][\d*/,\-]*\s+){2}([\d*/,\-A-Za-z?LW#]+\s+){3})(?=\S)")
_IDENTITY_ENV = ("ACCOUNT_UUID", "RUNNER_UUID")

# start.sh / start.ps1 arguments and the runner variables they stand for
START_ARGS = {
    "accountuuid": "ACCOUNT_UUID",
    "repositoryuuid": "REPOSITORY_UUID",
    "runneruuid": "RUNNER_UUID",
    "oauthclientid": "OAUTH_CLIENT_ID",
    "oauthclientsecret": "OAUTH_CLIENT_SECRET",
    "workingdirectory": "WORKING_DIRECTORY",
    "runtime": "RUNTIME",
}


# \b(docker|podman)\b, written so that the search looks for a "d" or "p" first: a pattern starting with \b
# is tried at every character (issue 7: 2.6 us a 1 KiB script, this 1.1 us)
_DOCKER_WORD = re.compile(r"[dp](?<=\b[dp])(?:ocker|odman)\b")
_RUN_WORD = re.compile(r"\b(run|create)\b")


def looks_like(text: str) -> bool:
    """``docker``/``podman`` and later on the same line ``run``/``create``, or ``start.sh``/``start.ps1``."""
    if re.search(r"start\.(sh|ps1)\b", text):
        return True
    pos = 0
    while True:  # one regular expression for both would retry the rest of a line at every "docker" (quadratic)
        m = _DOCKER_WORD.search(text, pos)
        if m is None:
            return False
        end = text.find("\n", m.end())
        end = len(text) if end < 0 else end
        if _RUN_WORD.search(text, m.end(), end):
            return True
        pos = end


def _strip_cron(text: str) -> (str, bool):
    """The text with the schedule of each crontab line that runs docker blanked out; whether it had one."""
    if "docker" not in text:  # a line that runs docker holds the word (issue 7: no split and join then)
        return text, False
    lines = text.split("\n")
    cron = False
    for k, line in enumerate(lines):
        if "docker" not in line:  # as above, and cheaper than the schedule's expression
            continue
        m = _CRON_RE.match(line)
        if m and re.search(r"\bdocker\b", line) and not line.lstrip().startswith("#"):
            cron = True
            lines[k] = " " * len(m.group(0)) + line[len(m.group(0)):]
    return ("\n".join(lines) if cron else text), cron


def _assignments(cmd: Command, environ: Dict[str, EnvVar]) -> bool:
    """Record `NAME=value` / `export NAME=value` commands; True when the command was only that."""
    words = cmd.words
    if words and words[0].text in ("export", "readonly", "declare", "typeset", "local"):
        words = [w for w in words[1:] if not w.text.startswith("-")]
        if not words:
            return True
    pairs = []
    for w in words:
        pair = split_assignment(w.text)
        if pair is None:  # a command (most often its first word already says so: issue 7)
            return False
        pairs.append((pair, w))
    if not pairs:
        return False
    for (name, value), w in pairs:
        if w.expands and "$" in value:
            environ[name] = EnvVar(name, None, w.origin, "reference", raw=value)
        else:
            environ[name] = EnvVar(name, value, w.origin, "literal", raw=value)
    return True


def _start_script(cmd: Command, base_dir: Optional[str]) -> Optional[RunnerSetup]:
    """The runner a ``start.sh``/``start.ps1`` command starts; base_dir: the folder of the file it is in."""
    words = cmd.words
    idx = None
    for i, w in enumerate(words):
        base = w.text.replace("\\", "/").rsplit("/", 1)[-1]
        if base in ("start.sh", "start.ps1") or (base.endswith("start.ps1") and base.startswith(".")):
            idx = i
            break
    if idx is None:
        return None
    script = words[idx].text
    args = words[idx + 1:]
    values: Dict[str, Word] = {}
    i = 0
    while i < len(args):
        t = args[i].text
        if t.startswith("-"):
            key = t.lstrip("-")
            key, eq, val = key.partition("=")
            if key.lower() in START_ARGS:
                if eq:
                    values[START_ARGS[key.lower()]] = Word(val, args[i].raw, args[i].origin)
                elif i + 1 < len(args):
                    values[START_ARGS[key.lower()]] = args[i + 1]
                    i += 1
        i += 1
    runtime = values.pop("RUNTIME", None)
    if script.endswith("ps1"):
        kind = RunnerKind.WINDOWS
    elif runtime is not None and runtime.text.startswith("macos"):
        kind = RunnerKind.MACOS
    elif runtime is not None and runtime.text.startswith("linux-docker"):
        kind = RunnerKind.LINUX_DOCKER
    else:
        kind = RunnerKind.LINUX_SHELL
    if not values and runtime is None:
        return None
    setup = RunnerSetup(kind=kind, form="start-script", origin=words[0].origin,
                        label=f"{kind.label} runner start command at {words[0].origin}",
                        base_dir=base_dir)
    for name, w in values.items():
        if w.expands and "$" in w.text:
            setup.env.append(EnvVar(name, None, w.origin, "reference", raw=w.text))
        else:
            setup.env.append(EnvVar(name, w.text, w.origin, "argument", raw=w.raw))
    if runtime is not None:
        setup.flags["runtime"] = (runtime.text, runtime.origin)
    return setup


def _has_identity(setup: RunnerSetup) -> bool:
    """The setup gives the runner's ACCOUNT_UUID or RUNNER_UUID (asked only when its image is not the runner's)."""
    return any(setup.env_var(n) is not None for n in _IDENTITY_ENV)


def runners_from_commands(
    commands: Sequence[Command],
    path: Optional[str],
    opts: LoadOptions,
    supervisor: Optional[str] = None,
    environ: Optional[Mapping[str, EnvVar]] = None,
    env_dialect: str = "docker",
) -> List[RunnerSetup]:
    """Runner setups started by a sequence of commands (a script, a unit's ExecStart, ...)."""
    env: Dict[str, EnvVar] = dict(environ or {})
    base_dir = os.path.dirname(os.path.abspath(path)) if path else opts.cwd
    out: List[RunnerSetup] = []

    def read_env(written: str, origin: Origin, _base: Optional[str]):
        return read_env_file(written, origin, [base_dir, opts.cwd], env_dialect)

    for cmd in commands:
        if _assignments(cmd, env):
            continue
        found = find_docker_run(cmd.words)
        if found is not None:
            start, _globals = found
            args, setup = build_runner(cmd.words, start, path, base_dir, env, supervisor, read_env)
            if not (is_runner_image(setup.image, opts.runner_mirrors) or (_has_identity(setup) and (
                    setup.image is None or "$" in (setup.image or "")))):
                continue
            setup.syntax_problems[:0] = cmd.problems
            attach_docker_config(setup, opts)
            out.append(setup)
            continue
        setup = _start_script(cmd, base_dir if path else None)
        if setup is not None:
            setup.syntax_problems[:0] = cmd.problems
            out.append(setup)
    return out


def parse(text: str, path: Optional[str], opts: LoadOptions) -> List[RunnerSetup]:
    text, cron = _strip_cron(text)
    if "start.ps1" in text:
        # PowerShell continues lines with a backtick
        text = re.sub(r"`[ \t]*\n", " \\\n", text)
    commands = split_commands(text, path)
    return runners_from_commands(commands, path, opts, supervisor="cron" if cron else None)
