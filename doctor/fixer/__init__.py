"""``runner-doctor fix``: the corrected runner start command, or compose service, for a broken setup.

:func:`fix_text` reads a file the way ``check`` does, runs the rules on each
runner, applies the fixes for the rules that reported a problem
(:mod:`.fixes`) to an editor of the runner's form (:mod:`.command` for
``docker run`` in scripts, crontabs and systemd units; :mod:`.compose` for
compose services), replaces only the text of the runner's command or service,
and checks the result again, so that what is left to do can be told. Secrets
written in the command become references; their values are never printed.
"""

from __future__ import annotations

import re
import textwrap
from dataclasses import dataclass, field
from typing import List, Optional, Set, Tuple

from doctor import engine
from doctor.fixer import fixes
from doctor.fixer.command import CommandEditor
from doctor.fixer.compose import ComposeEditor, Edit, parse_documents
from doctor.fixer.editor import Change, Editor
from doctor.fixer.shell import CannotLocate, Lines, locate, word_end
from doctor.inputs import detect, parse_target
from doctor.inputs.common import LoadOptions
from doctor.model import Finding, RunnerKind, RunnerSetup, Status, Subject
from doctor.redact import collect_secrets
from doctor.rulebase import Context

FIXABLE_FORMS = ("docker-run", "systemd", "compose")
ONLY = "fix rewrites Linux Docker runner start commands (scripts, crontabs, systemd units) and compose services"
CANNOT = {
    "docker-config": f"a Docker config.json cannot be fixed: {ONLY}; 'runner-doctor check' reports what to change "
                     "in the config",
    "inspect": f"docker inspect output cannot be fixed (it describes a container that exists already): {ONLY}; fix "
               "the one that starts the container",
    "kubernetes": f"a Kubernetes manifest cannot be fixed: {ONLY}; 'runner-doctor check' reports what to change",
    "autoscaler": f"a runners autoscaler configuration cannot be fixed: {ONLY}",
    "pipelines": f"a bitbucket-pipelines.yml cannot be fixed: {ONLY}",
}


class CannotFix(Exception):
    """The TARGET holds nothing fix can rewrite (the message says why): exit 2."""


@dataclass
class RunnerFix:
    setup: RunnerSetup
    title: str
    printed: str = ""  # the corrected text to show (the original when nothing changed)
    changes: List[Change] = field(default_factory=list)
    notes: List[str] = field(default_factory=list)
    remaining: List[Finding] = field(default_factory=list)  # fail/warn that check still reports
    skipped: Optional[str] = None  # why this runner is not fixed
    editor: Optional[Editor] = None


@dataclass
class FixResult:
    path: str
    form: str
    original: str  # the text as read
    fixed: str  # the whole text with the fixes
    runners: List[RunnerFix]
    refusal: Optional[str] = None  # why --write must not write
    secrets: Set[str] = field(default_factory=set)

    @property
    def changed(self) -> bool:
        return any(r.changes for r in self.runners)


def _subject(setup: RunnerSetup) -> Subject:
    return Subject(f"{setup.origin.path}:{setup.origin.line}", "runner", setup.origin.path, setup.origin.line,
                   setup.label, runner=setup)


def _check(setups: List[RunnerSetup], path: str, text: str, mirrors: Tuple[str, ...]) -> List[List[Finding]]:
    """Each runner's findings, as check reports them offline; inline suppressions in the text apply."""
    from doctor import suppress

    subjects = [_subject(s) for s in setups]
    rules = engine.select_rules()
    findings = engine.run(subjects, rules, Context(offline=True, runner_mirrors=mirrors))
    if "runner-doctor:" in text:
        suppress.apply(findings, subjects, {path: text}, [r.id for r in rules])
    return [[f for f in findings if f.subject == x.id] for x in subjects]


def _problems(findings: List[Finding]) -> List[Finding]:
    return [f for f in findings if f.status in (Status.FAIL, Status.WARN, Status.ERROR)]


def _runners(path: str, text: str, opts: LoadOptions) -> List[RunnerSetup]:
    return [s for s in parse_target(path, opts, text) if isinstance(s, RunnerSetup)]


def _close_quotes(text: str, runners: List[RunnerSetup]) -> Tuple[str, List[Tuple[int, str]]]:
    """Close each quote a runner command leaves open, at the end of the value it starts."""
    lines = text.split("\n")
    done: List[Tuple[int, str]] = []
    for setup in runners:
        for p in setup.syntax_problems:
            if p.code != "unbalanced-quote" or not p.origin.line:
                continue
            i, col = p.origin.line - 1, p.origin.column - 1
            line = lines[i]
            quote = line[col:col + 1]
            if quote not in ("'", '"') or quote in line[col + 1:]:
                continue
            cont = re.search(r"[ \t]*\\[ \t]*$", line)
            at = cont.start() if cont and cont.start() > col else len(line.rstrip())
            lines[i] = line[:at] + quote + line[at:]
            done.append((p.origin.line, f"line {p.origin.line}: closed the {quote} quote opened at column "
                                        f"{p.origin.column}, at the end of its value"))
    return "\n".join(lines), done


def _editor(setup: RunnerSetup, text: str, path: str, documents) -> Editor:
    if setup.form == "compose":
        return ComposeEditor(setup, text, documents)
    return CommandEditor(setup, locate(text, path, setup.origin, setup.form, setup.supervisor))


def _apply_edits(text: str, edits: List[Edit]) -> str:
    ordered = sorted(enumerate(edits), key=lambda x: (x[1].start, x[1].rank, x[0]))
    out, pos = [], 0
    for _n, e in ordered:
        if e.start < pos:
            raise CannotLocate("two changes overlap")
        out.append(text[pos:e.start])
        out.append(e.text)
        pos = e.end
    out.append(text[pos:])
    return "".join(out)


def _command_edits(ed: CommandEditor, text: str) -> Tuple[List[Edit], str]:
    """The edits for a command, and the text to print for it (its lines, or its whole ExecStart=)."""
    loc = ed.located
    lines = Lines(text)
    new = ed.render()
    edits = [Edit(loc.start, loc.end, new)]
    first, last = loc.region
    region_start = lines.starts[first]
    region_end = region_start + sum(len(lines.line_text(i)) + 1 for i in range(first, last + 1)) - 1
    shown = text[region_start:loc.start] + new + text[loc.end:region_end]
    # comment lines inside a unit's continued ExecStart= would be lost: they move below it
    inner = range(lines.line_of(loc.start) + 1, lines.line_of(loc.end))
    comments = [lines.line_text(i) for i in inner if loc.context.startswith("systemd")
                and lines.line_text(i).strip()[:1] in ("#", ";")]
    added = comments + ed.unit_lines
    if added:
        block = "".join(line + "\n" for line in added)
        at = min(region_end + 1, len(text))
        edits.append(Edit(at, at, block if at < len(text) or text.endswith("\n") else "\n" + block))
        shown += "\n" + block.rstrip("\n")
    return edits, shown


def _dedent(text: str) -> str:
    rows = text.split("\n")
    pad = min((len(r) - len(r.lstrip(" \t")) for r in rows if r.strip()), default=0)
    return "\n".join(r[pad:] for r in rows)


def fix_text(path: str, text: str, opts: LoadOptions) -> FixResult:
    """Fix every runner in one file's text. Raises InputError (unusable input) or CannotFix."""
    form = detect(text, path) if text.strip() else ""
    if form in CANNOT:
        raise CannotFix(CANNOT[form])
    runners = _runners(path, text, opts)
    as_read = text
    text, closed = _close_quotes(text, runners) if form != "compose" else (text, [])
    if closed:
        runners = _runners(path, text, opts)
    fixable = [r for r in runners if r.kind is RunnerKind.LINUX_DOCKER and r.form in FIXABLE_FORMS]
    if not fixable:
        kinds = sorted({r.kind.label for r in runners if r.kind is not RunnerKind.LINUX_DOCKER})
        what = f"a {' and '.join(kinds)} runner start command" if kinds else "this runner"
        raise CannotFix(f"{what} cannot be fixed: {ONLY}")
    documents = parse_documents(text) if form == "compose" else None
    ctx = fixes.FixContext(opts.docker_config, tuple(opts.runner_mirrors),
                           bool(re.match(r"^#!.*\b(bash|zsh)\b", text)) and form == "script")
    results: List[RunnerFix] = []
    edits: List[Edit] = []
    refusals: List[str] = []
    checked = dict(zip(map(id, runners), _check(runners, path, text, ctx.mirrors)))
    for setup in runners:
        fix = RunnerFix(setup, setup.label or f"runner at {setup.origin}")
        results.append(fix)
        if setup not in fixable:
            fix.skipped = f"a {setup.kind.label} runner start command: {ONLY}"
            continue
        try:
            fix.editor = _editor(setup, text, path, documents)
        except CannotLocate as exc:
            fix.skipped = str(exc)
            continue
        problems = _problems(checked[id(setup)])
        # a suppressed rule is left alone, except a secret written in the command: fix never prints or writes one
        flagged = {f.rule for f in problems if f.suppressed is None or f.rule == fixes.SECRET_RULE}
        edits.extend(_fix_runner(fix, text, closed, flagged, ctx, refusals))
        if any(f.rule == fixes.SECRET_RULE and f.suppressed for f in problems) and fix.editor.lost_secrets:
            fix.notes.append(f"{fixes.SECRET_RULE} is suppressed here, but fix never prints or writes a secret: "
                             "the printed command gives it at run time")
    if all(r.skipped for r in results):
        raise CannotFix(f"the runner command cannot be rewritten: {results[0].skipped}")
    result = FixResult(path, form, as_read, _apply_edits(text, edits), results, "; ".join(refusals) or None)
    _verify(result, opts)
    return result


def _fix_runner(fix: RunnerFix, text: str, closed: List[Tuple[int, str]], flagged: Set[str],
                ctx: fixes.FixContext, refusals: List[str]) -> List[Edit]:
    """Apply the fixes for the rules check flagged on one runner (not suppressed); the text edits they make."""
    ed, setup = fix.editor, fix.setup
    first, last = _lines_of(ed, setup)
    for line, message in closed:
        if first <= line <= last:
            ed.change("RD003", message)
    fixes.apply(ed, flagged, ctx)
    fix.changes, fix.notes = list(ed.changes), list(ed.notes)
    if ed.lost_secrets:
        refusals.append(f"{', '.join(sorted(set(ed.lost_secrets)))} is written literally in {setup.origin.path}; "
                        "the fix replaces it with a reference, and writing would lose the value. Store the value "
                        "first (see the notes), then run fix --write again")
    if isinstance(ed, ComposeEditor):
        if not ed.touched:
            return []
        edits = ed.edits()
        if ed.unsafe:
            refusals.append(f"service {ed.service_name} cannot be rewritten in place safely "
                            f"({'; '.join(ed.unsafe)}); it is printed flattened")
            return []
        return edits
    if not ed.touched:
        fix.printed = _original(ed, text)
        return []
    edits, fix.printed = _command_edits(ed, text)
    return edits


def _lines_of(ed: Editor, setup: RunnerSetup) -> Tuple[int, int]:
    """The first and last line of a runner's command (compose: its service key line)."""
    if isinstance(ed, CommandEditor):
        words = ed.located.command.words
        return words[0].origin.line, word_end(words[-1])[0]
    return setup.origin.line, setup.origin.line


def _original(ed: CommandEditor, text: str) -> str:
    lines = Lines(text)
    first, last = ed.located.region
    return "\n".join(lines.line_text(i) for i in range(first, last + 1))


def _verify(result: FixResult, opts: LoadOptions) -> None:
    """Check the fixed text again: what is left to do, and what to print for each runner."""
    runners = _runners(result.path, result.fixed, opts)
    if len(runners) != len(result.runners):
        raise CannotLocate("the fixed text does not hold the same runners")
    result.secrets = collect_secrets([_subject(r.setup) for r in result.runners])
    mirrors = tuple(opts.runner_mirrors)
    checked = _check(runners, result.path, result.fixed, mirrors)
    for fix, setup, findings in zip(result.runners, runners, checked):
        if fix.skipped:
            continue
        ed = fix.editor
        if isinstance(ed, ComposeEditor) and ed.touched and ed.unsafe:
            # not in the fixed text: check the service as printed
            flat = ed.flattened()
            setup = _runners(result.path, flat, opts)[0]
            findings = _check([setup], result.path, flat, mirrors)[0]
        fix.remaining = _problems(findings)
        if isinstance(ed, ComposeEditor):
            fix.printed = _service_text(result, ed, setup)
        elif result.form == "script" or ed.context == "cron":
            fix.printed = _dedent(fix.printed)
    generated = "\n".join(r.printed for r in result.runners)
    if any(s in generated for s in result.secrets):
        # only where a secret is written beside the command (in the same ExecStart=, or the same line)
        raise CannotFix("the text to print would show a secret written next to the runner's command; move the "
                        "secret out of the file (a secret store, or an env file with mode 0600) first")


def _service_text(result: FixResult, ed: ComposeEditor, setup: RunnerSetup) -> str:
    if ed.has_aliases() or ed.touched and ed.unsafe:
        # indented like the file's other services, which may be printed beside it
        body = textwrap.dedent(ed.flattened()[len("services:\n"):])
        return textwrap.indent(body, " " * ((ed.setup.origin.column or 3) - 1)).rstrip("\n")
    text = result.fixed
    lines = Lines(text)
    start = lines.line_of(lines.offset(setup.origin.line, setup.origin.column))
    documents = parse_documents(text)
    again = ComposeEditor(setup, text, documents)
    end = lines.line_of(again.hi - 1 if again.hi > again.lo else again.lo)
    return "\n".join(lines.line_text(i) for i in range(start, end + 1))
