"""Taking every secret out of what goes into a bundle, so that the rules still see the same shapes.

:func:`masked_copy` copies the subjects and daemon facts and puts stand-ins
(:mod:`doctor.bundle.standins`) wherever the model holds a secret value: the
secret-named variables of every runner (OAuth client secret, ``*_PASSWORD``,
``*_TOKEN``...), the ``auth``/``password``/token values in a config.json's text,
the Kubernetes Secret data a runner reads, literal image passwords and AWS secret
keys of pipeline steps, the secret-named variables in containers' inspect data,
and the lists of secret values the readers keep for the redactor.

:func:`scrub` then replaces any occurrence left anywhere in the bundle's JSON
(a log line, a syntax problem quoting the command, the command line) of every
secret the redactor knows, and its base64 form, by the same stand-in.
:func:`marker` tells the encoder which strings are stand-ins, so they are stored as
``{"@secret": "set", "length": ..., "fingerprint": ..., "stand_in": ...}``.
"""

from __future__ import annotations

import base64
import copy
import re
from typing import Any, Callable, Dict, Iterable, List, Optional, Sequence, Set, Tuple

from doctor.bundle.codec import SECRET_KEY
from doctor.bundle.standins import StandIns, relayout
from doctor.model import Subject, is_secret_name
from doctor.redact import MIN_SECRET_LEN, RAW_NOT_A_VALUE, collect_secrets

_URL_PASSWORD_RE = re.compile(r"(?P<head>[A-Za-z][A-Za-z0-9+.\-]*://[^/@\s:]*:)(?P<password>[^/@\s]+)(?=@)")
_IDENTITY_RE = re.compile(r"@[0-9a-f]{12}$")


def masked_copy(subjects: Sequence[Subject], daemons: Sequence[Any], s: StandIns) -> Tuple[List[Subject], List[Any]]:
    """Copies of the subjects and daemon facts with every secret value replaced by its stand-in."""
    subjects, daemons = copy.deepcopy((list(subjects), list(daemons)))
    for subject in subjects:  # first the Secret data: the variables fed from it take the same stand-ins
        if subject.runner is not None and subject.runner.facts.get("kubernetes") is not None:
            _secret_keys(subject.runner.facts["kubernetes"], s)
    done: Set[int] = set()
    for subject in subjects:
        runner = subject.runner
        if runner is not None:
            for var in runner.env:
                _env_var(var, s)
            if runner.facts.get("secrets"):
                runner.facts["secrets"] = {s.text(v) for v in runner.facts["secrets"]}
            _once(runner.facts.get("daemon"), done, lambda d: _daemon(d, s, done))
            _once(runner.facts.get("container"), done, lambda c: _inspect(c, s))
        if getattr(subject, "secrets", None):
            subject.secrets = frozenset(s.text(v) for v in subject.secrets)
        if getattr(subject, "step", None) is not None:
            _step(subject.step, s)
        _once(subject.config, done, lambda cfg: _config(cfg, s))
        _once(subject.host, done, lambda d: _daemon(d, s, done))
    for facts in daemons:
        _once(facts, done, lambda d: _daemon(d, s, done))
    return subjects, daemons


def _once(obj: Any, done: Set[int], action: Callable[[Any], None]) -> None:
    if obj is not None and id(obj) not in done:
        done.add(id(obj))
        action(obj)


def _env_var(var, s: StandIns) -> None:
    from doctor.rules._env import known_value

    value = known_value(var) if var.is_secret else None
    if not value:  # not secret, empty, or only a reference ($VAR, inherited): nothing to hide
        return
    stand_in = s.text(value)
    if var.raw and var.source not in RAW_NOT_A_VALUE:  # the value as written (not a $REFERENCE to it)
        if value in var.raw:
            var.raw = var.raw.replace(value, stand_in)
        elif "$" not in var.raw:
            var.raw = s.text(var.raw)
    var.value = stand_in


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode()


def _secret_keys(facts, s: StandIns) -> None:
    """The Secret keys a Kubernetes runner reads (not those feeding public variables such as ACCOUNT_UUID)."""
    for sk in facts.secret_keys:
        if sk.kind != "Secret" or not sk.found or sk.template or sk.raw is None:
            continue
        if sk.variables and not any(is_secret_name(v) for v in sk.variables):
            continue
        original = sk.raw
        if sk.section == "data" and sk.decoded is not None:  # valid base64: the decoded bytes get the stand-in
            new = s.data(sk.decoded)
            encoded = _b64(new)
            compact = "".join(original.split())
            sk.raw = relayout(original, encoded) if len(encoded) == len(compact) else encoded
            s.known.setdefault(sk.decoded.decode("utf-8", "replace"), new.decode("utf-8", "replace"))
            sk.decoded = new
        elif sk.section == "data":  # not base64 (the API server refuses it): keep that
            sk.raw = s.text(original)
        else:  # stringData: the value itself
            sk.raw = s.text(original)
            sk.decoded = sk.raw.encode("utf-8", "surrogatepass")
        s.known[original] = sk.raw
        s.origin_of.setdefault(sk.raw, original)


def _step(step, s: StandIns) -> None:
    from doctor.inputs.pipelines import is_variable

    specs = [step.image, step.default_image, *step.service_images.values()]
    for spec in specs:
        if spec is None:
            continue
        for text in (spec.password, spec.aws.get("secret-key")):
            if text is not None and text.value and not is_variable(text.value):
                text.value = s.text(text.value)


def _config(cfg, s: StandIns) -> None:
    if cfg.text:
        cfg.text = s.config_text(cfg.text)
    cfg.data = None  # derived from the text again when the bundle is read
    cfg.__dict__.pop("_doctor_view", None)


def _daemon(facts, s: StandIns, done: Set[int]) -> None:
    for data in facts.containers:
        _once(data, done, lambda c: _inspect(c, s))


def _inspect(data: Dict[str, Any], s: StandIns) -> None:
    """Secret-named variables in a container's inspect data (Config.Env)."""
    config = data.get("Config") if isinstance(data, dict) else None
    env = config.get("Env") if isinstance(config, dict) else None
    if not isinstance(env, list):
        return
    for i, entry in enumerate(env):
        if isinstance(entry, str):
            name, eq, value = entry.partition("=")
            if eq and value and is_secret_name(name):
                env[i] = f"{name}={s.text(value)}"


# ---------------------------------------------------------------- the rest of the bundle

def secrets_known(subjects: Sequence[Subject], daemons: Iterable[Any], s: StandIns,
                  logins: Iterable[Any] = ()) -> List[Tuple[str, str]]:
    """(secret, stand-in) of every secret of the run that may appear inside other text, longest first;
    ``logins``: other config.json files the run used (the host's docker login of the registry stage)."""
    found = set(collect_secrets(subjects, logins))
    for facts in daemons:
        for data in getattr(facts, "containers", None) or ():
            for entry in ((data.get("Config") or {}).get("Env") or []):
                name, eq, value = str(entry).partition("=")
                if eq and is_secret_name(name) and len(value) >= MIN_SECRET_LEN:
                    found.update((value, _b64(value.encode("utf-8", "surrogatepass"))))
    found.update(k for k in s.known if len(k) >= MIN_SECRET_LEN)
    pairs = [(secret, s.known.get(secret) or s.text(secret)) for secret in found]
    return sorted(((a, b) for a, b in pairs if a != b), key=lambda p: len(p[0]), reverse=True)


def scrub(value: Any, pairs: Sequence[Tuple[str, str]]) -> Any:
    """A JSON value with every occurrence of each secret replaced by its stand-in (markers left alone)."""
    if isinstance(value, str):
        for secret, stand_in in pairs:
            if secret in value:
                value = value.replace(secret, stand_in)
        return value
    if isinstance(value, dict):
        if SECRET_KEY in value:
            return value
        return {scrub(k, pairs): scrub(v, pairs) for k, v in value.items()}
    if isinstance(value, list):
        return [scrub(v, pairs) for v in value]
    return value


def url_passwords(text: str) -> str:
    """A password written in a URL (ssh://user:pw@host) replaced by ****."""
    return _URL_PASSWORD_RE.sub(lambda m: m.group("head") + "****", text)


def marker(s: StandIns) -> Callable[[str], Optional[Dict[str, Any]]]:
    """For the encoder: the stored form of a string that is the stand-in of a secret, else None."""

    def mark(value: str) -> Optional[Dict[str, Any]]:
        original = s.origin_of.get(value) if value else None
        if original is None:
            return None
        return {SECRET_KEY: "set", "length": len(original), "fingerprint": s.fingerprint(original),
                "stand_in": value}

    return mark


def registry(data: Dict[str, Any], s: StandIns) -> Dict[str, Any]:
    """Registry results with each credential's identity (a short unkeyed hash of the password) re-keyed."""

    def rekey(key: str) -> str:
        ref, bar, who = key.rpartition("|")
        if not bar or not _IDENTITY_RE.search(who):
            return key
        return f"{ref}|{who[:-12]}{s.fingerprint(who)[:12]}"

    out = dict(data)
    out["checks"] = [dict(c, key=rekey(str(c.get("key", "")))) if isinstance(c, dict) else c
                     for c in data.get("checks") or []]
    out["pulls"] = {sid: {what: rekey(str(key)) for what, key in (m or {}).items()}
                    for sid, m in (data.get("pulls") or {}).items()}
    return out


def secrets_table(document: Any, s: StandIns) -> List[Dict[str, Any]]:
    """Each masked secret once: its fingerprint, length and where the bundle holds its stand-in (JSON pointers)."""
    stand_ins = [(v, k) for v, k in s.origin_of.items() if len(v) >= MIN_SECRET_LEN]
    places: Dict[str, List[str]] = {}

    def walk(value: Any, pointer: str) -> None:
        if isinstance(value, dict):
            if SECRET_KEY in value:
                places.setdefault(s.origin_of.get(value.get("stand_in"), ""), []).append(pointer)
                return
            for k, v in value.items():
                walk(v, f"{pointer}/{_escape(k)}")
        elif isinstance(value, list):
            for i, v in enumerate(value):
                walk(v, f"{pointer}/{i}")
        elif isinstance(value, str):
            for stand_in, original in stand_ins:
                if stand_in in value:
                    places.setdefault(original, []).append(pointer)

    walk(document, "")
    return [{"fingerprint": s.fingerprint(original), "length": len(original), "places": sorted(set(where))}
            for original, where in sorted(places.items(), key=lambda kv: sorted(kv[1])) if original]


def _escape(key: str) -> str:
    return key.replace("~", "~0").replace("/", "~1")
