"""Writing a fixed file in place: the same bytes everywhere the fix changed nothing, and a backup first."""

from __future__ import annotations

import os
import re
import tempfile

BOM = b"\xef\xbb\xbf"


class NotWritten(Exception):
    """The file was left as it was (the message says why)."""


def _encoding(path: str, original: str):
    """(has BOM, CRLF line ends, bytes as read) of the file, which must still hold the text fix read."""
    try:
        with open(path, "rb") as fh:
            data = fh.read()
    except OSError as exc:
        raise NotWritten(f"cannot read it again ({exc.strerror or exc})") from None
    body = data[len(BOM):] if data.startswith(BOM) else data
    if body.startswith((b"\xff\xfe", b"\xfe\xff")):
        raise NotWritten("it is UTF-16 text; fix writes UTF-8 only")
    crlf = b"\r\n" in body
    if crlf and re.search(rb"(?<!\r)\n", body):
        raise NotWritten("it mixes CRLF and LF line ends, which a rewrite would not keep")
    try:
        text = body.decode("utf-8").replace("\r\n", "\n")
    except UnicodeDecodeError:
        raise NotWritten("it is not UTF-8 text") from None
    if text != original:
        raise NotWritten("it changed while fix was reading it")
    return data.startswith(BOM), crlf, data


def backup_name(path: str) -> str:
    """TARGET.bak, or the first free TARGET.bak.N: an existing backup is never overwritten."""
    name = f"{path}.bak"
    n = 0
    while os.path.lexists(name):
        n += 1
        name = f"{path}.bak.{n}"
    return name


def write_fixed(path: str, original: str, fixed: str) -> str:
    """Replace the file's content with ``fixed`` (same line ends, BOM and mode); returns the backup's path."""
    real = os.path.realpath(path)
    bom, crlf, data = _encoding(real, original)
    st = os.stat(real)
    mode = st.st_mode & 0o7777
    backup = backup_name(path)
    fd = os.open(backup, os.O_WRONLY | os.O_CREAT | os.O_EXCL, mode & 0o777)
    with os.fdopen(fd, "wb") as fh:
        fh.write(data)
    out = (fixed.replace("\n", "\r\n") if crlf else fixed).encode("utf-8")
    fd, tmp = tempfile.mkstemp(prefix=".runner-doctor-", dir=os.path.dirname(real))
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write((BOM if bom else b"") + out)
        os.chmod(tmp, mode)
        if os.geteuid() == 0:
            os.chown(tmp, st.st_uid, st.st_gid)
        os.replace(tmp, real)
    except OSError as exc:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise NotWritten(f"cannot write it ({exc.strerror or exc}); the backup {backup} was kept") from None
    return backup
