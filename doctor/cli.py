"""The command line: `runner-doctor check | rules | explain`."""

from __future__ import annotations

from doctor import startup  # before argparse: startup imports it without gettext (start-up, issue 7)

import argparse
import gc
import os
import sys

from doctor import __version__
from doctor.reporters import FORMATS

TYPE_CHECKING = False
if TYPE_CHECKING:  # typing for type checkers only: not imported at run time (start-up, issue 7)
    from typing import List, Optional, Sequence

EXIT_OK, EXIT_FAIL, EXIT_USAGE = 0, 1, 2

DESCRIPTION = """\
Preflight doctor for Bitbucket Pipelines self-hosted runners.

Reads how a Linux Docker runner is (or will be) started - a shell script or pasted
`docker run` command, a Docker Compose file, a systemd unit, `docker inspect` output -
plus the Docker config.json the runner will read, and reports what is wrong, with
a rule id, where it is, and how to fix it.
"""

CHECK_EPILOG = """\
With no TARGET, the live host is checked: the Docker Engine (chosen as the docker CLI
does: --host, DOCKER_HOST, the current docker context, else /var/run/docker.sock), its
runner containers (found by image, or named with --container) and the host rules.
With TARGETs, the files are checked, and against this machine's daemon when it answers.
TARGET forms are detected from the content. `-` reads standard input.
exit codes: 0 no failing check; 1 at least one check failed (status fail or error, or
            warn with --fail-on warn; suppressed and baselined findings do not count);
            2 usage or input error (one line on stderr). --exit-zero: always 0.
inline suppression, in a script, unit or compose file, right above the runner:
  # runner-doctor: ignore RD205 until 2027-03-01 -- secret is rotated by the vault agent
examples:
  runner-doctor check start-runner.sh
  runner-doctor check docker-compose.yml --docker-config ~/.docker/config.json
  runner-doctor check --format json --select RD1 runner.service
  docker inspect runner-1234 | runner-doctor check -
  runner-doctor check                           # this host's daemon and runner containers
  runner-doctor check --host tcp://10.0.0.5:2376 --host ssh://ci@build-2
"""


def _rule_list(values: Optional[List[str]]) -> List[str]:
    return [v for v in (values or []) if v.strip()]


def build_parser(command: Optional[str] = None) -> argparse.ArgumentParser:
    """The command line's parser; for a run of ``command`` check, without the other commands (start-up time)."""
    parser = startup.ArgumentParser(  # argparse's, without importing shutil for the help width
        prog="runner-doctor", description=DESCRIPTION, formatter_class=argparse.RawDescriptionHelpFormatter,
        epilog="Run 'runner-doctor COMMAND --help' for a command's options. "
               "With no COMMAND, 'check' is assumed.")
    parser.add_argument("--version", action="version", version=f"runner-doctor {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")

    check = sub.add_parser("check", help="check runner configurations (the default command)",
                           description="Check runner configurations.", epilog=CHECK_EPILOG,
                           formatter_class=argparse.RawDescriptionHelpFormatter)
    check.add_argument("targets", nargs="*", metavar="TARGET",
                       help="a start script, compose file, systemd unit, docker inspect JSON or Docker config.json")
    check.add_argument("--docker-config", metavar="PATH",
                       help="the Docker config.json the runner will read (overrides the one found at its mount)")
    check.add_argument("--offline", action="store_true", default=None,
                       help="use no daemon and no network: rules that need them are reported as skip")
    check.add_argument("--host", action="append", default=[], metavar="URL",
                       help="a Docker Engine to check (unix://, tcp://, ssh://); repeatable, checked concurrently")
    check.add_argument("--container", action="append", default=[], metavar="NAME",
                       help="check this container (by name or id) instead of finding runners by image; repeatable")
    check.add_argument("--certs-d", metavar="DIR", default="/etc/docker/certs.d",
                       help="where Docker's per-registry CA certificates are (<DIR>/<host:port>/ca.crt); "
                            "default /etc/docker/certs.d")
    check.add_argument("--timeout", type=float, default=None, metavar="SECONDS",
                       help="the longest any one daemon or registry request may take (default 10)")
    check.add_argument("--format", choices=FORMATS, default=None,
                       help="rich: the report for people (default); json, sarif, junit, markdown, github "
                            "(workflow annotations): for machines and tickets")
    check.add_argument("--output", action="append", default=[], metavar="FORMAT=PATH",
                       help="also write a report in FORMAT to PATH (e.g. junit=test-results/runner-doctor.xml); "
                            "repeatable")
    check.add_argument("--fail-on", choices=("warn", "fail"), default=None,
                       help="the lowest status that makes the exit code 1 (default fail)")
    check.add_argument("--exit-zero", action="store_true", help="always exit 0 when the run completes (report only)")
    check.add_argument("--config", metavar="PATH",
                       help="the configuration file (default: runner-doctor.toml or [tool.runner-doctor] in "
                            "pyproject.toml, searched from the current folder upwards)")
    check.add_argument("--show-config", action="store_true",
                       help="print the merged settings and where each came from, then exit")
    check.add_argument("--baseline", metavar="FILE", help="report only findings that are not in this baseline")
    check.add_argument("--write-baseline", metavar="FILE",
                       help="write this run's warn/fail findings as a baseline for later runs")
    check.add_argument("--select", action="append", metavar="IDS",
                       help="only these rules: ids, prefixes (RD1 = RD1xx) or names, comma-separated; repeatable")
    check.add_argument("--ignore", action="append", metavar="IDS", help="leave out these rules; same forms")
    check.add_argument("--runner-image", action="append", metavar="REPOSITORY", default=[],
                       help="also accept this repository as the runner image (a mirror); repeatable")
    check.add_argument("--bundle", metavar="FILE",
                       help="check a support bundle (runner-doctor bundle) instead of TARGETs and the live host: "
                            "the current rules on what it holds, with no daemon and no network")

    if command == "check":  # the other commands' parsers would serve only the top-level --help
        return parser
    rules = sub.add_parser("rules", help="list the rules")
    rules.add_argument("--format", choices=("rich", "json", "markdown"), default="rich",
                       help="markdown prints the rule documentation page (docs/rules.md)")
    rules.add_argument("--config", metavar="PATH",
                       help="the configuration file whose selection and severities the status column shows")

    from doctor import fix

    fix.add_parser(sub)
    from doctor import bundle

    bundle.add_parser(sub, check)

    explain = sub.add_parser("explain", help="show a rule's documentation")
    explain.add_argument("rule", metavar="RULE", help="a rule id (RD102) or name (containers-dir-readonly)")
    return parser


def _stderr(msg: str) -> None:
    sys.stderr.write(f"runner-doctor: {msg}\n")


def _console(file=None):
    from rich.console import Console

    return Console(file=file or sys.stdout, highlight=False, soft_wrap=False)


def _settings(args):
    """The configuration file merged with the flags (ConfigError for a bad file)."""
    from doctor import config

    path = args.config or config.find(os.getcwd())
    cfg = config.load(path) if path else config.FileConfig()
    return config.merge(args, cfg), cfg


def _outputs(entries):
    out = []
    for entry in entries:
        fmt, eq, path = entry.partition("=")
        if not eq or not path or fmt not in FORMATS:
            raise ValueError(f"--output {entry!r}: write FORMAT=PATH with FORMAT one of {', '.join(FORMATS)}")
        out.append((fmt, path))
    return out


def cmd_check(args) -> int:
    from doctor import config, engine
    from doctor.inputs import load_targets
    from doctor.inputs.common import LoadOptions
    from doctor.model import InputError, Status
    from doctor.redact import Redactor, collect_secrets
    from doctor.rulebase import Context

    try:
        settings, cfg = _settings(args)
    except config.ConfigError as exc:
        _stderr(str(exc))
        return EXIT_USAGE
    if args.show_config:
        sys.stdout.write(config.show(settings, cfg))
        return EXIT_OK
    offline, timeout, docker_config = settings["offline"], settings["timeout"], settings["docker_config"]
    mirrors = tuple(settings["runner_images"])
    replay = None
    if getattr(args, "bundle", None) and (args.targets or args.host or args.container or args.docker_config):
        _stderr("--bundle checks what the bundle holds: give no TARGET, --host, --container or --docker-config")
        return EXIT_USAGE
    if not args.targets and offline and not getattr(args, "bundle", None):
        _stderr("nothing to check: without TARGET files the live host is checked, and --offline forbids that")
        return EXIT_USAGE
    if timeout <= 0:
        _stderr("--timeout must be a positive number of seconds")
        return EXIT_USAGE
    if args.targets.count("-") > 1:
        _stderr("'-' (standard input) can be given only once")
        return EXIT_USAGE
    try:
        outputs = _outputs(args.output)
    except ValueError as exc:
        _stderr(str(exc))
        return EXIT_USAGE
    if docker_config:
        from doctor.inputs.files import read_text

        _text, err, _mode = read_text(docker_config)
        if err:
            _stderr(f"{docker_config}: {err} (given with --docker-config)")
            return EXIT_USAGE
    off = [rid for rid, level in settings["severity"].items() if level == "off"]
    try:
        selected = engine.selected(settings["select"], list(settings["ignore"]) + off)
    except engine.SelectionError as exc:
        _stderr(str(exc))
        return EXIT_USAGE
    known = None
    if settings["baseline"]:
        from doctor import baseline

        try:
            known = baseline.read(settings["baseline"])
        except baseline.BaselineError as exc:
            _stderr(str(exc))
            return EXIT_USAGE
    opts = LoadOptions(docker_config=docker_config, runner_mirrors=mirrors)
    stdin_text = None
    if "-" in args.targets:
        from doctor.inputs.files import read_stream

        stdin_text, err = read_stream(sys.stdin.buffer)
        if err:
            _stderr(f"<stdin>: {err}")
            return EXIT_USAGE
    try:
        if getattr(args, "bundle", None):  # a support bundle's subjects and live facts; no live contact
            from doctor import bundle

            replay = bundle.read(args.bundle)
            subjects, ctx = replay.subjects, replay.context(offline, mirrors)
        else:
            subjects = load_targets(args.targets, opts, stdin_text) if args.targets else []
    except InputError as exc:
        _stderr(f"{exc.path}: {exc.reason}")
        return EXIT_USAGE
    if replay is None:
        ctx = Context(offline=offline, runner_mirrors=mirrors)
        if getattr(args, "write_bundle", None):  # runner-doctor bundle: keep the answers about host files
            from doctor import bundle

            ctx.extra["host_files"] = bundle.recording()
        if not offline:
            subjects = _add_live(settings, args.container, opts, subjects, ctx)
    fmt = settings["format"]
    # only the rule modules that can apply to these subjects, and only when a rule runs (not when it is
    # skipped for --offline or the runner kind), are imported; SARIF lists every selected rule
    kinds = None if "sarif" in [fmt] + [f for f, _path in outputs] else {s.kind for s in subjects}
    rules = engine.load(selected, kinds, deferred=True)
    if not offline and replay is None and any("network" in r.needs for r in rules):
        ctx.registry = _check_registries(subjects, ctx, timeout, args.certs_d)
    findings = engine.run(subjects, rules, ctx)
    findings, _dropped = config.apply_severity(findings, settings["severity"])
    # the host's docker login gave the runner image's credentials to the registry stage: mask those too
    redact = Redactor(collect_secrets(subjects, ctx.registry.logins if ctx.registry is not None else ()))
    from doctor import suppress

    if replay is not None:
        findings += replay.suppress(findings, selected)
    else:
        findings += suppress.apply_to_targets(args.targets, stdin_text, subjects, findings, selected, opts.texts)
    if getattr(args, "write_bundle", None):
        from doctor import bundle

        return bundle.write(args, settings, subjects, ctx, findings, rules, redact, stdin_text)
    notes = []
    if known is not None:
        from doctor import baseline

        findings, hidden = baseline.filter_known(findings, known, redact)
        if hidden:
            notes.append(f"{hidden} known finding{'s' if hidden != 1 else ''} hidden by the baseline "
                         f"{settings['baseline']}")
    if args.write_baseline:
        from doctor import baseline

        n = baseline.write(args.write_baseline, findings, redact)
        notes.append(f"wrote {n} finding{'s' if n != 1 else ''} to the baseline {args.write_baseline}")
    from doctor.reporters import render

    render(fmt, subjects, findings, rules, redact, sys.stdout, notes, _console)  # rich itself only on a terminal
    for out_fmt, path in outputs:
        try:
            folder = os.path.dirname(path)
            if folder:
                os.makedirs(folder, exist_ok=True)
            with open(path, "w", encoding="utf-8") as fh:
                render(out_fmt, subjects, findings, rules, redact, fh, notes)
        except OSError as exc:
            _stderr(f"{path}: {exc.strerror or 'cannot be written'} (--output {out_fmt}={path})")
            return EXIT_USAGE
    if args.exit_zero:
        return EXIT_OK
    threshold = (Status.FAIL, Status.ERROR) + ((Status.WARN,) if settings["fail_on"] == "warn" else ())
    failed = any(f.status in threshold and f.counts for f in findings)
    return EXIT_FAIL if failed else EXIT_OK


def _add_live(settings, containers, opts, subjects, ctx):
    """Gather the daemon facts (concurrently per host, with a spinner on a terminal) and add the live subjects."""
    from doctor.live.run import add_live

    with _progress() as say:
        return add_live(subjects, ctx, opts, settings["host"], containers, settings["timeout"], say)


def _check_registries(subjects, ctx, timeout, certs_d):
    """Resolve every image the runners pull in its registry (concurrently, with a spinner on a terminal)."""
    from doctor.registry.stage import check_images

    with _progress("checking the registries") as say:
        return check_images(subjects, ctx, timeout, certs_d, say)


class _progress:
    """A spinner naming the current step, on a terminal (stderr) only."""

    def __init__(self, first: str = "checking the Docker host"):
        self.first = first

    def __enter__(self):
        self.status = None
        if sys.stderr.isatty():
            from rich.console import Console

            self.status = Console(stderr=True).status(self.first)
            self.status.__enter__()
        return self.say

    def say(self, message: str) -> None:
        if self.status is not None:
            self.status.update(message)

    def __exit__(self, *exc):
        if self.status is not None:
            self.status.__exit__(*exc)
        return False


def cmd_rules(args) -> int:
    from doctor import engine
    from doctor.reporters import rule_docs

    rules = list(engine.all_rules().values())
    if args.format == "markdown":  # the documentation page: the same whatever the configuration
        sys.stdout.write(rule_docs.markdown(rules))
        return EXIT_OK
    from doctor import config

    try:
        path = args.config or config.find(os.getcwd())
        cfg = config.load(path) if path else config.FileConfig()
    except config.ConfigError as exc:
        _stderr(str(exc))
        return EXIT_USAGE
    status = rule_docs.statuses(rules, cfg)
    if args.format == "json":
        import json

        json.dump(rule_docs.as_json(rules, status), sys.stdout, indent=2)
        sys.stdout.write("\n")
    else:
        rule_docs.table(rules, _console(), status, cfg.path)
    return EXIT_OK


def cmd_explain(args) -> int:
    from doctor import engine
    from doctor.reporters import rule_docs

    wanted = args.rule.strip()
    for rule in engine.all_rules().values():
        if rule.id == wanted.upper() or rule.name == wanted.lower():
            rule_docs.explain(rule, _console())
            return EXIT_OK
    _stderr(f"no rule {wanted!r}; 'runner-doctor rules' lists them")
    return EXIT_USAGE


def cmd_fix(args) -> int:
    from doctor import fix

    return fix.main(args)


COMMANDS = {"check": cmd_check, "rules": cmd_rules, "explain": cmd_explain, "fix": cmd_fix,
            "bundle": cmd_check}  # bundle: the check run, written as a support bundle (args.write_bundle)


def main(argv: Optional[Sequence[str]] = None) -> int:
    command_line = argv is None  # this process's own command line: it ends when main returns
    if command_line:  # a run leaves almost nothing in reference cycles (~250 objects in 1,000 files): refcounts
        gc.disable()  # free the rest, and the collector's passes over the growing heap cost ~10% of a batch
    argv = list(sys.argv[1:] if argv is None else argv)
    startup.defer()  # standard modules a run seldom uses load on first use
    for stream in (sys.stdout, sys.stderr):
        # a terminal or log that cannot show every character gets '?' instead of a crash
        try:
            stream.reconfigure(errors="replace")
        except (AttributeError, ValueError):
            pass
    if not argv or (argv[0] not in COMMANDS and argv[0] not in ("-h", "--help", "--version")):
        argv.insert(0, "check")
    parser = build_parser(argv[0] if argv[0] in COMMANDS else None)
    try:
        args = parser.parse_args(argv)
        args.command_line = ["runner-doctor", *argv]  # recorded in a support bundle (passwords masked)
        return COMMANDS[args.command](args)
    except SystemExit as exc:  # argparse: --help/--version (0) and usage errors (2)
        return int(exc.code or 0) if isinstance(exc.code, int) or exc.code is None else EXIT_USAGE
    except KeyboardInterrupt:
        _stderr("interrupted")
        return 130
    except BrokenPipeError:
        try:
            sys.stdout = open(os.devnull, "w")
        except OSError:
            pass
        return EXIT_OK
    except Exception as exc:  # noqa: BLE001 - never a traceback for the user
        _stderr(f"internal error ({type(exc).__name__}); please report it with the command you ran")
        return EXIT_USAGE
    finally:
        if command_line:  # what is left is freed at exit: the collector need not look for cycles in it (~4 ms)
            gc.freeze()


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
