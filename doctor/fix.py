"""``runner-doctor fix TARGET``: print the corrected runner start command or compose service.

The corrected text goes to standard output, the list of what changed (and what
is left to do) to standard error; neither ever holds a secret's value. With
``--write`` the TARGET is rewritten in place - only the runner's command (or
ExecStart=, or compose service) changes - after a backup TARGET.bak.
"""

from __future__ import annotations

import argparse
import sys

TYPE_CHECKING = False
if TYPE_CHECKING:  # typing for type checkers only: not imported at run time (start-up, issue 7)
    from typing import List, Optional, Sequence


EXIT_OK, EXIT_USAGE = 0, 2
MAX_STDIN = 4 * 1024 * 1024

DESCRIPTION = """\
Print the corrected runner start command (a script's or a pasted `docker run`,
a crontab line, a systemd ExecStart=) or compose service for a broken setup: the
Docker socket and a read-only /var/lib/docker/containers mounted, the working
directory at the same path on host and runner, docker options before the image,
continuations and quotes repaired, the Docker config mounted at /root/.docker,
UUIDs in braces, a valid --name, a run mode that fits systemd, cron or a shell,
and secrets given at run time instead of written in the command. What changed,
and what is left to do, goes to standard error.
"""

EPILOG = """\
Nothing is written unless --write is given; then only the runner's command (or
ExecStart=, or compose service) in TARGET changes, and the old file is kept as
TARGET.bak (TARGET.bak.1, ... when that exists). A secret written literally in the
command is replaced by a reference: fix does not write then, so that the value is
not lost - store it where the notes say, then run fix --write again.
exit codes: 0 a fix was printed (or there was nothing to fix); 2 usage or input
            error, a form fix cannot rewrite, or --write refused.
examples:
  runner-doctor fix start-runner.sh
  runner-doctor fix --write /etc/systemd/system/bitbucket-runner.service
  pbpaste | runner-doctor fix -
"""


def add_parser(subparsers) -> argparse.ArgumentParser:
    """Add the ``fix`` subcommand to the CLI's subparsers."""
    parser = subparsers.add_parser(
        "fix", help="print the corrected runner start command or compose service",
        description=DESCRIPTION, epilog=EPILOG, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("target", metavar="TARGET",
                        help="a start script, pasted docker run command, crontab, systemd unit or compose file; "
                             "- reads standard input")
    parser.add_argument("--write", action="store_true",
                        help="rewrite TARGET in place (only the runner's command or service), keeping a backup")
    parser.add_argument("--docker-config", metavar="PATH",
                        help="the Docker config.json for private helper images: mounted at /root/.docker when "
                             "the command mounts none")
    parser.add_argument("--runner-image", action="append", metavar="REPOSITORY", default=[],
                        help="also accept this repository as the runner image (a mirror); repeatable")
    return parser


def _err(msg: str) -> None:
    sys.stderr.write(f"runner-doctor: {msg}\n")


def _read(args):
    """(path, text) of the TARGET, or an error message."""
    from doctor.inputs import STDIN
    from doctor.inputs.files import decode_text, read_text

    if args.target == "-":
        if args.write:
            return None, None, "--write needs a file: standard input cannot be rewritten"
        text, err = decode_text(sys.stdin.buffer.read(MAX_STDIN + 1))
        if text is not None and len(text) > MAX_STDIN:
            text, err = None, f"too large (over {MAX_STDIN} bytes)"
        return STDIN, text, (f"{STDIN}: {err}" if err else None)
    text, err, _mode = read_text(args.target)
    return args.target, text, (f"{args.target}: {err}" if err else None)


def main(args) -> int:
    """Run ``fix`` for parsed arguments: 0 printed a fix (or nothing to fix), 2 otherwise."""
    from doctor.fixer import CannotFix, fix_text
    from doctor.fixer.output import NotWritten, write_fixed
    from doctor.fixer.shell import CannotLocate
    from doctor.inputs.common import LoadOptions
    from doctor.inputs.files import read_text
    from doctor.redact import Redactor
    from doctor.model import InputError

    if args.docker_config:
        _text, err, _mode = read_text(args.docker_config)
        if err:
            _err(f"{args.docker_config}: {err} (given with --docker-config)")
            return EXIT_USAGE
    path, text, err = _read(args)
    if err:
        _err(err)
        return EXIT_USAGE
    opts = LoadOptions(docker_config=args.docker_config, runner_mirrors=tuple(args.runner_image))
    try:
        result = fix_text(path, text, opts)
    except InputError as exc:
        _err(f"{exc.path}: {exc.reason}")
        return EXIT_USAGE
    except CannotFix as exc:
        _err(f"{path}: {exc}")
        return EXIT_USAGE
    except CannotLocate as exc:
        _err(f"{path}: cannot fix it: {exc}")
        return EXIT_USAGE
    redact = Redactor(result.secrets)
    sys.stdout.write(redact(printed(result)))
    for line in report_lines(result):
        sys.stderr.write(redact(line) + "\n")
    if not args.write:
        return EXIT_OK
    if not result.changed:
        _err(f"{path}: nothing to fix, nothing written")
        return EXIT_OK
    if result.refusal:
        _err(redact(f"{path}: not written: {result.refusal}"))
        return EXIT_USAGE
    try:
        backup = write_fixed(path, result.original, result.fixed)
    except (NotWritten, OSError) as exc:
        reason = str(exc) if isinstance(exc, NotWritten) else (exc.strerror or str(exc))
        _err(f"{path}: not written: {reason}")
        return EXIT_USAGE
    _err(f"{path}: written; the previous version is in {backup}")
    return EXIT_OK


def printed(result) -> str:
    """Standard output: each runner's corrected text, with a comment line naming it when there are several."""
    shown = [r for r in result.runners if r.printed]
    several = len(result.runners) > 1
    if result.form == "compose":
        out = ["services:"]
        for fix in shown:
            if several:
                indent = " " * ((fix.setup.origin.column or 1) - 1 or 2)
                out.append(f"{indent}# {_heading(fix)}")
            out.append(fix.printed.rstrip("\n"))
        return "\n".join(out) + "\n"
    blocks = []
    for fix in shown:
        head = f"# {_heading(fix)}\n" if several else ""
        blocks.append(head + fix.printed.rstrip("\n") + "\n")
    return "\n".join(blocks)


def _heading(fix) -> str:
    state = f"{len(fix.changes)} change{'s' if len(fix.changes) != 1 else ''}" if fix.changes else "nothing to fix"
    return f"{fix.title}: {state}"


def report_lines(result) -> List[str]:
    """Standard error: per runner, what changed, what to do, and what check still reports."""
    out: List[str] = []
    for fix in result.runners:
        if fix.skipped:
            out.append(f"{fix.title}: not fixed: {fix.skipped}")
            continue
        out.append(f"{fix.title}: " + ("fixed" if fix.changes else "nothing to fix"))
        out.extend(f"  fixed {c.rule}: {c.message}" for c in fix.changes)
        out.extend(f"  to do: {n}" for n in fix.notes)
        out.extend(f"  left {f.rule} ({f.status.value}" + (f", suppressed: {f.suppressed}" if f.suppressed else "")
                   + f"): {f.message}" for f in fix.remaining)
    return out


def _standalone(argv: Optional[Sequence[str]] = None) -> int:
    """``python -m doctor.fix TARGET``: the same command without the rest of the CLI."""
    parser = argparse.ArgumentParser(prog="runner-doctor")
    add_parser(parser.add_subparsers(dest="command", required=True))
    args = parser.parse_args(["fix", *(sys.argv[1:] if argv is None else argv)])
    try:
        return main(args)
    except Exception as exc:  # noqa: BLE001 - never a traceback for the user
        _err(f"internal error ({type(exc).__name__}); please report it with the file you fixed (secrets removed)")
        return EXIT_USAGE


if __name__ == "__main__":  # pragma: no cover - `python -m doctor.fix TARGET`
    sys.exit(_standalone())
