"""Keeping secrets out of every output.

Rules are written never to put a secret in a message. As a second line of
defence every reporter passes all text through :class:`Redactor`, which knows
every secret string found in this run's inputs (OAuth client secrets, registry
passwords, ``auth`` blobs, tokens) and replaces any occurrence with ``****``.
"""

from __future__ import annotations

import base64

from doctor.model import DockerConfig, Subject

TYPE_CHECKING = False
if TYPE_CHECKING:  # typing for type checkers only: not imported at run time (start-up, issue 7)
    from typing import Dict, Iterable, List, Set

MASK = "****"
MIN_SECRET_LEN = 4  # shorter values would mask ordinary words
RAW_NOT_A_VALUE = ("inherited", "reference", "secret", "configmap")  # EnvVar sources whose raw is no value


def _config_secrets(cfg) -> Set[str]:
    try:
        from doctor.dockerconfig import secret_strings
    except ImportError:  # pragma: no cover - the module ships with the package
        return set()
    try:
        return set(secret_strings(cfg))
    except Exception:  # noqa: BLE001 - a broken config must not break redaction
        return set()


def collect_secrets(subjects: Iterable[Subject], configs: Iterable[DockerConfig] = ()) -> Set[str]:
    """Every secret value of the subjects (and of other config.json files the run read), with base64 forms."""
    found: Set[str] = set()
    for cfg in configs:
        found |= _config_secrets(cfg)
    for subject in subjects:
        runner = subject.runner
        if runner is not None:
            for var in runner.env:
                if var.is_secret:  # (is_secret_name remembers its answer per name: ~6,500 in 1,000 files)
                    # an inherited variable's raw is its name (-e NAME), not a value; nor is the raw of a
                    # reference or of a value read from a Kubernetes Secret (secretKeyRef NAME/KEY)
                    for v in (var.value, var.raw if var.source not in RAW_NOT_A_VALUE else None):
                        if v and "$" not in v:
                            found.add(v)
            found.update(runner.facts.get("secrets", ()))
        # values an input recorded as secret besides the env: Kubernetes Secret data, step image passwords
        found.update(getattr(subject, "secrets", ()) or ())
        cfg = subject.config
        if cfg is not None:
            found |= _config_secrets(cfg)
    # the base64 forms too: an auth blob is base64("user:password")
    for s in list(found):
        found.add(base64.b64encode(s.encode()).decode())
    return {s for s in found if len(s) >= MIN_SECRET_LEN}


class Redactor:
    def __init__(self, secrets: Iterable[str] = ()):
        # longest first, so that a secret containing another is masked whole
        self.secrets: List[str] = sorted(set(secrets), key=len, reverse=True)
        self._masked: Dict[str, str] = {}  # a batch run repeats the same messages thousands of times

    def __call__(self, text):
        if not text or not self.secrets or not isinstance(text, str):
            return text
        done = self._masked.get(text)
        if done is not None:
            return done
        masked = text
        for s in self.secrets:
            if s in masked:
                masked = masked.replace(s, MASK)
        self._masked[text] = masked
        return masked
