"""The support bundle document: built from a run, read back into the subjects and live facts of that run.

Layout (``doctor/schemas/bundle.schema.json``, ``bundle_version`` 1)::

    bundle_version, tool {name, version}, created (UTC), command (argv, passwords masked), cwd,
    options      what the run was asked: targets, offline, hosts, containers, timeout, selection, mirrors
    subjects     the parsed subjects (doctor.model, via doctor.bundle.codec), secrets replaced
    daemons      each Docker Engine's facts (version, info, containers' inspect data, names, logs, images,
                 problem); subjects and "context" point at them with {"@ref": "#/daemons/N"}
    objects      other shared model objects (an autoscaler configuration and its groups)
    context      {"daemon": ..., "daemon_tried": ...}: the engine the TARGET files were checked against
    registry     the registry stage's results (null when the run had none)
    host_files   the answers this machine gave the live rules (doctor.bundle.hostfiles)
    suppressions the inline suppressions of the TARGET files: each file's lines that hold one, the others
                 reduced to what decides which runner a suppression belongs to (blank, comment, other)
    rules        the rules that ran, and the selection
    findings     the report as the run made it (messages masked as every report is)
    secrets      one row per masked secret: fingerprint, length, where its stand-in is
"""

from __future__ import annotations

import datetime as dt
import json
import os
from dataclasses import dataclass
from typing import Any, Dict, List, Optional, Sequence, Tuple

from doctor import __version__
from doctor.bundle import masking
from doctor.bundle.codec import CodecError, Decoder, Encoder
from doctor.bundle.hostfiles import Recorded, Recording
from doctor.bundle.standins import StandIns
from doctor.model import Finding, InputError, Subject
from doctor.rulebase import Context

FORMAT = 1
MAX_BYTES = 64 * 1024 * 1024
SCHEMA = "schemas/bundle.schema.json"


class BundleError(InputError):
    """A bundle that cannot be used: exit 2 with one line naming the file and the reason."""


def _finding(f: Finding, redact) -> Dict[str, Any]:
    out = f.to_json()
    for key in ("message", "remediation"):
        out[key] = redact(out[key])
    out.update(evidence=redact(f.evidence), docs=f.docs, suppressed=redact(f.suppressed),
               suppressed_until=f.suppressed_until)
    return out


def skeleton(text: str) -> str:
    """A file's text reduced to what suppressions need: their own lines, and which other lines are blank or comments."""
    out = []
    for line in text.splitlines():
        if "runner-doctor:" in line:
            out.append(line)
        elif not line.strip():
            out.append("")
        else:
            out.append("#" if line.lstrip().startswith(("#", ";")) else "-")
    return "\n".join(out) + "\n"


def build(subjects: Sequence[Subject], ctx: Context, findings: Sequence[Finding], rules_ran: Sequence[str],
          options: Dict[str, Any], redact, command: Optional[Sequence[str]] = None,
          suppression_texts: Optional[Dict[str, str]] = None, key: Optional[bytes] = None) -> Dict[str, Any]:
    """The bundle of one run (nothing in it is a secret)."""
    s = StandIns(key)
    masked, (daemon, tried) = masking.masked_copy(subjects, [ctx.daemon, ctx.daemon_tried], s)
    pairs = masking.secrets_known(subjects, [ctx.daemon, ctx.daemon_tried], s,
                                  ctx.registry.logins if ctx.registry is not None else ())
    encoder = Encoder(masking.marker(s))
    encoded = [encoder.encode(subject, Subject) for subject in masked]
    context = {"daemon": encoder.encode(daemon), "daemon_tried": encoder.encode(tried)}
    registry = masking.registry(ctx.registry.to_dict(), s) if ctx.registry is not None else None
    recording = ctx.extra.get("host_files")
    doc: Dict[str, Any] = {
        "bundle_version": FORMAT,
        "tool": {"name": "runner-doctor", "version": __version__},
        "created": dt.datetime.now(dt.timezone.utc).replace(microsecond=0).isoformat().replace("+00:00", "Z"),
        "command": [masking.url_passwords(a) for a in command] if command is not None else None,
        "cwd": os.getcwd(),
        "options": {k: ([masking.url_passwords(x) for x in v] if k == "hosts" else v) for k, v in options.items()},
        "subjects": encoded,
        "daemons": encoder.tables["daemons"],
        "objects": encoder.tables["objects"],
        "context": context,
        "registry": registry,
        "host_files": recording.to_dict() if isinstance(recording, Recording) else None,
        "suppressions": {path: skeleton(text) for path, text in (suppression_texts or {}).items()},
        "rules": {"ran": list(rules_ran), "select": list(options.get("select") or []),
                  "ignore": list(options.get("ignore") or [])},
        "findings": [_finding(f, redact) for f in findings],
    }
    doc = masking.scrub(doc, pairs)
    doc["secrets"] = masking.secrets_table(doc, s)
    return doc


# ---------------------------------------------------------------- reading

@dataclass
class Replay:
    """A bundle read back: the run's subjects and live facts, for the rules to check again without live contact."""

    path: str
    subjects: List[Subject]
    daemon: Any
    daemon_tried: Any
    registry: Any
    host_files: Recorded
    texts: Dict[str, str]
    created: dt.date
    offline: bool
    runner_mirrors: Tuple[str, ...]

    def context(self, offline: bool, mirrors: Sequence[str] = ()) -> Context:
        """The run's context: its daemon facts, registry results and host answers (offline when it was, or asked)."""
        ctx = Context(offline=offline or self.offline,
                      runner_mirrors=tuple(dict.fromkeys([*self.runner_mirrors, *mirrors])),
                      host_files=self.host_files)
        ctx.daemon, ctx.daemon_tried, ctx.registry = self.daemon, self.daemon_tried, self.registry
        return ctx

    def suppress(self, findings: List[Finding], selected: Sequence) -> List[Finding]:
        """The bundle's inline suppressions applied as on the day it was made; the RD900 findings."""
        if not self.texts:
            return []
        from doctor import suppress

        return suppress.apply(findings, self.subjects, self.texts, [r.id for r in selected], today=self.created)


def _text(path: str) -> str:
    import sys

    try:
        if path == "-":
            data = sys.stdin.buffer.read(MAX_BYTES + 1)
        else:
            with open(path, "rb") as fh:
                data = fh.read(MAX_BYTES + 1)
    except FileNotFoundError:
        raise BundleError(path, "no such file") from None
    except IsADirectoryError:
        raise BundleError(path, "is a folder, not a bundle file") from None
    except OSError as exc:
        raise BundleError(path, exc.strerror or "cannot be read") from None
    if len(data) > MAX_BYTES:
        raise BundleError(path, f"too large for a support bundle (over {MAX_BYTES} bytes)")
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise BundleError(path, f"not a support bundle: not UTF-8 text (byte {exc.start})") from None


def _validate(doc: Any, path: str) -> None:
    if not isinstance(doc, dict) or "bundle_version" not in doc:
        raise BundleError(path, "not a runner-doctor support bundle (no bundle_version; make one with "
                                "'runner-doctor bundle')")
    version = doc["bundle_version"]
    if isinstance(version, int) and not isinstance(version, bool) and version > FORMAT:
        raise BundleError(path, f"a bundle of format {version}, made by a newer runner-doctor; this one "
                                f"({__version__}) reads format {FORMAT}: upgrade it")
    import jsonschema
    from importlib import resources

    schema = json.loads(resources.files("doctor").joinpath(SCHEMA).read_text(encoding="utf-8"))
    error = jsonschema.exceptions.best_match(jsonschema.Draft202012Validator(schema).iter_errors(doc))
    if error is not None:
        where = "/".join(str(p) for p in error.absolute_path) or "(top level)"
        raise BundleError(path, f"not a valid support bundle: {where}: {error.message[:200]}")


def _after_decoding(subjects: List[Subject], cwd: Optional[str]) -> None:
    """What the bundle does not store, derived again: config data, display folders, the steps' runners."""
    from doctor.inputs.common import parse_config_text

    seen = set()
    for subject in subjects:
        cfg = subject.config
        if cfg is None or id(cfg) in seen:
            continue
        seen.add(id(cfg))
        parse_config_text(cfg)
        if cwd and cfg.how == "mounted" and cfg.resolved:
            # a mounted config is shown relative to the folder the doctor ran in, when it is below it
            rel = os.path.relpath(cfg.resolved, cwd)
            if not rel.startswith(".."):
                cfg.resolved = os.path.join(os.getcwd(), rel)
    if any(s.kind == "pipeline-step" for s in subjects):
        from doctor.inputs import pipelines

        pipelines.link(subjects)


def read(path: str) -> Replay:
    """A bundle file read back. Raises BundleError (exit 2) when it cannot be used."""
    text = _text(path)
    try:
        doc = json.loads(text)
    except json.JSONDecodeError as exc:
        raise BundleError(path, f"not a support bundle: not valid JSON ({exc.msg}, line {exc.lineno}, column "
                                f"{exc.colno})") from None
    except RecursionError:
        raise BundleError(path, "not a support bundle: nested too deeply") from None
    _validate(doc, path)
    decoder = Decoder({"daemons": doc.get("daemons") or [], "objects": doc.get("objects") or []})
    try:
        subjects = [decoder.decode(item, Subject, f"subjects/{i}") for i, item in enumerate(doc["subjects"])]
        context = doc.get("context") or {}
        daemon = decoder.decode(context.get("daemon"), Any, "context/daemon")
        tried = decoder.decode(context.get("daemon_tried"), Any, "context/daemon_tried")
        _after_decoding(subjects, doc.get("cwd"))
    except (CodecError, TypeError, ValueError, AttributeError) as exc:
        raise BundleError(path, f"not a usable support bundle: {exc}") from None
    options = doc.get("options") or {}
    created = dt.date.today()
    try:
        created = dt.datetime.fromisoformat(str(doc.get("created", "")).replace("Z", "+00:00")).date()
    except ValueError:
        pass
    return Replay(path, subjects, daemon, tried, _registry(doc.get("registry"), path),
                  Recorded(doc.get("host_files") or {}), dict(doc.get("suppressions") or {}), created,
                  bool(options.get("offline")), tuple(options.get("runner_images") or ()))


def _registry(data: Any, path: str):
    if data is None:
        return None
    from doctor.registry.results import RegistryResults

    try:
        return RegistryResults.from_dict(data)
    except (TypeError, ValueError, AttributeError) as exc:
        raise BundleError(path, f"not a usable support bundle: registry: {exc}") from None
