"""Support bundles: everything a run looked at and found, with every secret replaced, to attach to a ticket.

``runner-doctor bundle [TARGET...] -o bundle.json`` runs what ``check`` runs and
writes the bundle (:mod:`.document`) instead of a report; ``runner-doctor check
--bundle bundle.json`` checks a bundle again with the current rules and no live
contact: the daemon facts, registry results and answers about host files come from
the bundle. Secrets become stand-ins of the same shape (:mod:`.standins`,
:mod:`.masking`), so the rules reach the verdicts they reached on the customer's
machine.

The command-line parts live here and import nothing heavy (``--help`` builds this
parser); the rest is imported when a bundle is written or read.
"""

from __future__ import annotations

import os
import sys

TYPE_CHECKING = False
if TYPE_CHECKING:  # typing for type checkers only: not imported at run time (start-up, issue 7)
    from typing import Dict, Optional


EPILOG = """\
The bundle holds the parsed inputs (runner setups with their mounts, variables and
flags, Docker config structure), the Docker Engine's facts (version, info, the runner
containers' inspect data and last log lines, local images), registry probe results,
the answers this machine gave about mounted host paths, the rules that ran and their
findings. Every secret (OAuth client secret, registry passwords, auth values, tokens,
Kubernetes Secret data) is replaced by a stand-in of the same length and shape, marked
with its length and a fingerprint that is only comparable within the same bundle.
Check it again, anywhere, with: runner-doctor check --bundle bundle.json
exit codes: 0 the bundle was written (whatever its findings); 2 usage or input error.
examples:
  runner-doctor bundle start-runner.sh -o bundle.json
  sudo runner-doctor bundle -o bundle.json              # the live host and its runner containers
  runner-doctor bundle --host ssh://ci@build-2 -o - | gzip > bundle.json.gz
"""


def add_parser(subparsers, check_parser):
    """The `bundle` command: check's inputs and live options, and where to write the bundle."""
    import argparse

    parser = subparsers.add_parser(
        "bundle", help="write a support bundle (what the doctor looked at and found, secrets masked)",
        description="Check as `check` does, and write everything the doctor looked at and found to a\n"
                    "JSON support bundle, with every secret masked, to attach to a support ticket.",
        epilog=EPILOG, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.set_defaults(**vars(check_parser.parse_args([])))  # what `check` reads of the options not given here
    parser.add_argument("targets", nargs="*", metavar="TARGET",
                        help="the files to check, as for check (none: the live host)")
    parser.add_argument("-o", "--output", dest="write_bundle", metavar="FILE", required=True,
                        help="where to write the bundle ('-': standard output)")
    parser.add_argument("--docker-config", metavar="PATH", help="the Docker config.json the runner will read")
    parser.add_argument("--offline", action="store_true", default=None,
                        help="use no daemon and no network (the bundle then holds the files only)")
    parser.add_argument("--host", action="append", default=[], metavar="URL",
                        help="a Docker Engine to check (unix://, tcp://, ssh://); repeatable")
    parser.add_argument("--container", action="append", default=[], metavar="NAME",
                        help="check this container (by name or id); repeatable")
    parser.add_argument("--certs-d", metavar="DIR", default="/etc/docker/certs.d",
                        help="where Docker's per-registry CA certificates are (default /etc/docker/certs.d)")
    parser.add_argument("--timeout", type=float, default=None, metavar="SECONDS",
                        help="the longest any one daemon or registry request may take (default 10)")
    parser.add_argument("--select", action="append", metavar="IDS", help="only these rules (ids, prefixes, names)")
    parser.add_argument("--ignore", action="append", metavar="IDS", help="leave out these rules")
    parser.add_argument("--runner-image", action="append", metavar="REPOSITORY", default=[],
                        help="also accept this repository as the runner image (a mirror); repeatable")
    parser.add_argument("--config", metavar="PATH", help="the configuration file (default: searched upwards)")
    return parser


def recording():
    """The host-file answers of this run, recorded for the bundle (put in ``ctx.extra["host_files"]``)."""
    from doctor.bundle.hostfiles import Recording

    return Recording()


def read(path: str):
    """A bundle file read back (:class:`~doctor.bundle.document.Replay`); BundleError (an InputError) if unusable."""
    from doctor.bundle.document import read as read_document

    return read_document(path)


def _suppression_texts(targets, stdin_text: Optional[str]) -> Dict[str, str]:
    from doctor.inputs import STDIN
    from doctor.inputs.files import read_text

    texts = {}
    for path in targets:
        text = (stdin_text or "") if path == "-" else read_text(path)[0]
        if text is not None and "runner-doctor:" in text:
            texts[STDIN if path == "-" else path] = text
    return texts


def write(args, settings, subjects, ctx, findings, rules, redact, stdin_text=None) -> int:
    """Write the bundle of a finished check run to ``args.write_bundle``; the exit code (0, or 2 on an error)."""
    import json

    from doctor import engine
    from doctor.bundle.document import build
    from doctor.bundle.hostfiles import Recording

    ran = [r.id for r in rules]
    if isinstance(ctx.extra.get("host_files"), Recording):
        # every rule asks its questions of the host, so that rules not selected now can be checked later
        rest = engine.load([i for i in engine.catalog().values() if i.id not in ran], {s.kind for s in subjects})
        engine.run(subjects, rest, ctx)
    options = {"targets": list(args.targets), "offline": bool(settings["offline"]),
               "hosts": list(settings["host"]), "containers": list(args.container),
               "docker_config": settings["docker_config"], "timeout": settings["timeout"],
               "select": list(settings["select"]), "ignore": list(settings["ignore"]),
               "runner_images": list(settings["runner_images"]), "severity": dict(settings["severity"])}
    doc = build(subjects, ctx, findings, ran, options, redact, getattr(args, "command_line", None),
                _suppression_texts(args.targets, stdin_text))
    text = json.dumps(doc, indent=2) + "\n"
    path = args.write_bundle
    try:
        if path == "-":
            sys.stdout.write(text)
        else:
            folder = os.path.dirname(path)
            if folder:
                os.makedirs(folder, exist_ok=True)
            with open(path, "w", encoding="utf-8") as fh:
                fh.write(text)
    except OSError as exc:
        sys.stderr.write(f"runner-doctor: {path}: {exc.strerror or 'cannot be written'} (bundle -o {path})\n")
        return 2
    problems = sum(1 for f in findings if f.status.value in ("fail", "error"))
    shown = "standard output" if path == "-" else path
    sys.stderr.write(f"runner-doctor: wrote the support bundle to {shown}: {len(subjects)} subject"
                     f"{'s' if len(subjects) != 1 else ''}, {len(findings)} findings ({problems} failing), "
                     f"{len(doc['secrets'])} secret{'s' if len(doc['secrets']) != 1 else ''} masked\n")
    return 0
