"""Env files: ``docker run --env-file``, compose ``env_file``, systemd ``EnvironmentFile=``.

The dialects differ: docker's CLI takes each ``KEY=VALUE`` line literally (quotes
become part of the value); compose and systemd remove surrounding quotes.
"""

from __future__ import annotations

import os

from doctor.inputs.files import read_text, resolve_host_path
from doctor.model import EnvFileRef, EnvVar, Origin

TYPE_CHECKING = False
if TYPE_CHECKING:  # typing for type checkers only: not imported at run time (start-up, issue 7)
    from typing import List, Optional, Sequence, Tuple


def parse_env_text(text: str, path: str, dialect: str = "docker", env_file: Optional[str] = None) -> List[EnvVar]:
    """Variables of an env file; ``path`` is shown in origins, ``env_file`` (default: path) identifies the file."""
    env_file = env_file or path
    out: List[EnvVar] = []
    for lineno, line in enumerate(text.splitlines(), 1):
        stripped = line.strip()
        if not stripped or stripped.startswith("#"):
            continue
        if dialect != "docker" and stripped.startswith("export "):
            stripped = stripped[len("export "):].lstrip()
        name, eq, value = stripped.partition("=")
        name = name.strip()
        if not eq:
            out.append(EnvVar(name, None, Origin(path, lineno, 1), "inherited", raw=name, env_file=env_file))
            continue
        if dialect == "docker":
            value = line.split("=", 1)[1]  # docker keeps the value as is, leading blanks included
            value = value.rstrip("\r")
        else:
            value = value.strip()
            if len(value) >= 2 and value[0] == value[-1] and value[0] in "'\"":
                value = value[1:-1]
            elif dialect == "compose" and " #" in value:
                value = value.split(" #", 1)[0].rstrip()
        out.append(EnvVar(name, value, Origin(path, lineno, 1), "env-file", raw=value, env_file=env_file))
    return out


def read_env_file(
    written: str,
    origin: Origin,
    base_dirs: Sequence[Optional[str]],
    dialect: str = "docker",
    optional: bool = False,
) -> Tuple[EnvFileRef, List[EnvVar]]:
    """Find and read an env file named in a configuration.

    A relative path is tried relative to each of ``base_dirs`` in turn (the input
    file's folder, then the current folder), as the file could be run from either.
    Variables read from it carry the file's path relative to the last of ``base_dirs``
    (the current folder) when it lies below it, else its absolute path.
    """
    candidates: List[str] = []
    for base in base_dirs:
        resolved = resolve_host_path(written, base)
        if resolved and resolved not in candidates:
            candidates.append(resolved)
    last_error = "cannot be resolved on this machine (it uses a variable)"
    for cand in candidates:
        text, err, mode = read_text(cand)
        if text is not None:
            # shown relative to the current folder (the last base dir) when it is below it
            rel = os.path.relpath(cand, base_dirs[-1] or os.getcwd()) if base_dirs else os.path.relpath(cand)
            shown = cand if os.path.isabs(written) or rel.startswith("..") else rel
            return EnvFileRef(written, cand, origin, mode, None, optional), parse_env_text(text, shown, dialect, env_file=cand)
        last_error = err or "cannot be read"
        if err != "no such file":
            return EnvFileRef(written, cand, origin, mode, err, optional), []
    return EnvFileRef(written, None, origin, None, last_error, optional), []
