"""What the environment rules (RD201-RD206) share: how a variable is shown, set and judged.

A runner's variables come from ``-e``, env files, compose ``environment:``,
systemd, ``docker inspect`` or, for the shell/Windows/macOS runners, the start
script's arguments (``--accountUuid`` ...), which the model maps to the same
names with ``source == "argument"``.
"""

from __future__ import annotations

import re

from doctor.model import EnvVar, RunnerKind, RunnerSetup

TYPE_CHECKING = False
if TYPE_CHECKING:  # typing for type checkers only: not imported at run time (start-up, issue 7)
    from typing import Optional

# start.sh / start.ps1 argument names of the runner variables
ARGUMENTS = {
    "ACCOUNT_UUID": "accountUuid",
    "REPOSITORY_UUID": "repositoryUuid",
    "RUNNER_UUID": "runnerUuid",
    "OAUTH_CLIENT_ID": "OAuthClientId",
    "OAUTH_CLIENT_SECRET": "OAuthClientSecret",
    "WORKING_DIRECTORY": "workingDirectory",
}

UUID_RE = re.compile(r"[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}")
# A placeholder is "<...>" anywhere in the value, or a whole value such as "your-client-id". Two patterns,
# not one alternation: search() of "A|^B" tries both at every position of the value (0.65 us a value); a
# value without "<" needs only the anchored match of the second (0.2 us; 7,000 values in 1,000 files, issue 7).
_ANGLE_PLACEHOLDER_RE = re.compile(r"<[^<>]*>")  # <client-secret>, {<workspace-uuid>}
_WORD_PLACEHOLDER_RE = re.compile(
    r"^\{?(your[-_ ].*|changeme|change[-_]me|replace[-_]?me|todo|tbd|x{4,}|\.\.\.|…)\}?$", re.I)
_REDACTED_RE = re.compile(r"^(\*{3,}|•{3,}|\[?redacted\]?|<redacted>|<hidden>|hidden|removed)$", re.I)
_REF_RE = re.compile(r"\$(?:\{[^}]*\}|[A-Za-z_][A-Za-z0-9_]*|\()")


def is_start_script(runner: RunnerSetup) -> bool:
    return runner.form == "start-script"


def shown_name(runner: RunnerSetup, name: str, var: Optional[EnvVar] = None) -> str:
    """How the user wrote (or would write) the variable: ``--OAuthClientSecret`` for start scripts."""
    if name in ARGUMENTS and is_start_script(runner) and (var is None or var.source in ("argument", "reference")):
        dash = "-" if runner.kind is RunnerKind.WINDOWS else "--"
        return dash + ARGUMENTS[name]
    return name


def known_value(var: EnvVar) -> Optional[str]:
    """The value the runner will see, or None when it is only known at run time (a $VAR, inherited)."""
    if var.value is None or var.source == "reference":
        return None
    if var.source in ("inherited", "env-file"):
        # from an env file or a variable assigned in the script: taken literally
        return var.value
    if _REF_RE.search(var.value) and var.is_reference:
        return None
    return var.value


def provided_how(runner: RunnerSetup, var: EnvVar, with_option: bool = True) -> str:
    """A secret-safe phrase for a value that is only known at run time."""
    if var.source == "inherited" and var.value is None:
        if is_start_script(runner):
            return "inherited from the environment"
        option = f" (-e {var.name})" if with_option else ""
        return f"inherited from the environment docker runs in{option}"
    shown = var.raw or var.value or ""
    if shown and not _REF_RE.search(shown):
        shown = ""
    return f"given at run time by {shown}" if shown else "given at run time"


def is_placeholder(value: str) -> bool:
    value = value.strip()
    return ("<" in value and _ANGLE_PLACEHOLDER_RE.search(value) is not None) or \
        _WORD_PLACEHOLDER_RE.match(value) is not None


def is_redacted(value: str) -> bool:
    return bool(_REDACTED_RE.match(value.strip()))


def quote_char(value: str) -> Optional[str]:
    """The quote wrapped around the whole value (kept by docker's --env-file), or None."""
    v = value.strip()
    if len(v) >= 2 and v[0] == v[-1] and v[0] in "'\"":
        return v[0]
    return None


def unquoted(value: str) -> str:
    return value.strip()[1:-1] if quote_char(value) else value


def setting_example(runner: RunnerSetup, name: str, value: str) -> str:
    """How to set a variable in the runner's own form (a start-script argument, compose, docker run)."""
    if is_start_script(runner) and name in ARGUMENTS:
        if runner.kind is RunnerKind.WINDOWS:
            return f"-{ARGUMENTS[name]} '{value}'"
        return f"--{ARGUMENTS[name]} {value}"
    if runner.form == "compose":
        return f'{name}: "{value}"'
    if runner.form == "kubernetes":
        return f"'- {{name: {name}, value: \"{value}\"}}' in the container's env"
    return f"-e {name}={value}"
