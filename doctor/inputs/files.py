"""Reading input files safely: size limits, text decoding, and an error a user can act on."""

from __future__ import annotations

import os
import stat
from typing import Optional, Tuple

# Inputs larger than this are refused (a runner configuration is a few KiB).
MAX_INPUT_BYTES = 4 * 1024 * 1024


def read_text(path: str, limit: int = MAX_INPUT_BYTES) -> Tuple[Optional[str], Optional[str], Optional[int]]:
    """Read a text file: (text, error, permission bits). Never raises.

    The error is a short reason such as "no such file", "permission denied",
    "is a folder", "not a regular file", "not text (binary)", "too large".
    """
    try:
        st = os.stat(path)
    except FileNotFoundError:
        return None, "no such file", None
    except PermissionError:
        return None, "permission denied", None
    except OSError as exc:
        return None, exc.strerror or "cannot be read", None
    mode = stat.S_IMODE(st.st_mode)
    if stat.S_ISDIR(st.st_mode):
        return None, "is a folder, not a file", mode
    if not stat.S_ISREG(st.st_mode):
        return None, "not a regular file", mode
    if st.st_size > limit:
        return None, f"too large ({st.st_size} bytes; the limit is {limit} bytes)", mode
    try:
        with open(path, "rb") as fh:
            data = fh.read(limit + 1)
    except PermissionError:
        return None, "permission denied", mode
    except OSError as exc:
        return None, exc.strerror or "cannot be read", mode
    if len(data) > limit:
        return None, f"too large (over {limit} bytes)", mode
    text, err = decode_text(data)
    return text, err, mode


def decode_text(data: bytes) -> Tuple[Optional[str], Optional[str]]:
    if data.startswith(b"\xef\xbb\xbf"):
        data = data[3:]
    elif data.startswith((b"\xff\xfe", b"\xfe\xff")):
        try:
            return data.decode("utf-16"), None
        except UnicodeDecodeError:
            return None, "not valid UTF-16 text"
    if b"\x00" in data:
        return None, "not text (binary data)"
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        return None, f"not valid UTF-8 text (byte {exc.start})"
    return text.replace("\r\n", "\n"), None


def resolve_host_path(path: str, base_dir: Optional[str]) -> Optional[str]:
    """Where a host path written in a configuration is on this machine, if it can be known.

    ``~`` and ``$HOME`` expand to this user's home; relative paths are taken
    relative to the input file's folder. Paths with other unresolved variables
    give None.
    """
    p = path
    if p.startswith("~/") or p == "~":
        p = os.path.expanduser(p)
    for var in ("$HOME", "${HOME}"):
        if p.startswith(var):
            p = os.path.expanduser("~") + p[len(var):]
    for var in ("$PWD", "${PWD}", "$(pwd)"):
        if p.startswith(var):
            p = (base_dir or os.getcwd()) + p[len(var):]
    if "$" in p:
        return None
    if not os.path.isabs(p):
        p = os.path.join(base_dir or os.getcwd(), p)
    return os.path.normpath(p)
