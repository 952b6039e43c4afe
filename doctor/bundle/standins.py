"""Stand-ins for secrets: values of the same shape that give the rules the same verdicts, and fingerprints.

A support bundle holds no secret, yet checking it again must give the report the
customer saw. So each secret value is replaced by a *stand-in* of the same length
whose ASCII letters and digits are drawn at random (other characters - punctuation,
blanks, line breaks, NUL bytes - stay where they are; other letters become random
letters of the same UTF-8 length), with the structure the rules look into rebuilt
around it:

- an ``auth`` blob stays the base64 of ``user:password`` with the user name kept (user
  names are no secret), the same padding and the same line breaks; a blob docker cannot
  decode keeps the offending byte and the reason docker gives;
- base64 that decodes to text (a Kubernetes Secret's data, encoded once or twice) stays the
  base64 of the stand-in of that text, layer by layer, with its line breaks;
- a value the rules take for a placeholder or a redaction marker (``<secret>``,
  ``changeme``, ``****``) stays one.

Each candidate is compared with the original on the verdicts the rules reach
(:func:`shape`, :func:`auth_shape`) and drawn again when one differs.

The randomness comes from an HMAC of the secret under a key drawn for each bundle
and never stored: within one bundle equal secrets get equal stand-ins and equal
fingerprints, and neither leads back to a short secret by trying candidates.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
import os
import random
import re
import string
from typing import Dict, Optional, Tuple

from doctor.dockerconfig import AuthDecodeError, _go_base64_error, decode_auth
from doctor.rules._kubernetes import text_of_base64

ALNUM = string.ascii_letters + string.digits
TRIES = 64  # candidates drawn before a stand-in that keeps every verdict is given up on
FINGERPRINT_HEX = 16
# letters of each UTF-8 length, for non-ASCII letters (the byte length of a base64-encoded text must not change)
_WIDE = {2: (0xC0, 0xFF, "×÷"), 3: (0x4E00, 0x9FFF, ""), 4: (0x20000, 0x2A6DF, "")}
_B64_CHARS = frozenset(ALNUM + "+/=")


def _utf8(text: str) -> bytes:
    return text.encode("utf-8", "surrogatepass")


def _base64_state(text: str) -> str:
    """'invalid', 'binary' or 'text': what one base64 decoding of the value gives."""
    try:
        raw = base64.b64decode("".join(text.split()), validate=True)
    except (binascii.Error, ValueError):
        return "invalid"
    try:
        decoded = raw.decode("utf-8")
    except UnicodeDecodeError:
        return "binary"
    return "text" if decoded.strip().isprintable() else "binary"


def shape(text: str) -> Tuple:
    """What the rules can tell about a secret value (placeholder, quoting, blanks, base64 layers)."""
    from doctor.rules._env import is_placeholder, is_redacted, quote_char

    inner = text_of_base64(text)
    return (len(text), is_placeholder(text), is_redacted(text), quote_char(text), text != text.strip(),
            text.endswith("\n"), _base64_state(text), shape(inner) if inner is not None else None)


def auth_shape(value: str) -> Tuple:
    """What docker (and RD303) make of an ``auth`` value: its user, an empty password, or the exact error."""
    try:
        user, password = decode_auth(value)
    except AuthDecodeError as exc:
        return ("error", str(exc))
    return ("ok", user, bool(password))


def relayout(original: str, compact: str, keep=str.isspace) -> str:
    """``compact`` laid out like ``original``: the characters ``keep`` selects stay where they were."""
    chars = iter(compact)
    out = [ch if keep(ch) else next(chars) for ch in original]
    return "".join(out) + "".join(chars)


def _go_layout(ch: str) -> bool:
    return ch in "\r\n"


class StandIns:
    """The stand-ins and fingerprints of one bundle (one random key)."""

    def __init__(self, key: Optional[bytes] = None):
        self._key = key or os.urandom(32)
        self.known: Dict[str, str] = {}  # original -> stand-in
        self.origin_of: Dict[str, str] = {}  # stand-in -> original (for fingerprints and the secrets table)

    # ---- randomness and fingerprints
    def _mac(self, purpose: str, value: str, attempt: int = 0) -> bytes:
        return hmac.new(self._key, f"{purpose}\0{attempt}\0".encode() + _utf8(value), hashlib.sha256).digest()

    def fingerprint(self, value: str) -> str:
        """HMAC-SHA256 of the value under this bundle's key: equal values, equal fingerprints; no way back."""
        return self._mac("fingerprint", value).hex()[:FINGERPRINT_HEX]

    def _rng(self, purpose: str, value: str, attempt: int) -> random.Random:
        return random.Random(self._mac(purpose, value, attempt))

    def _remember(self, original: str, stand_in: str) -> str:
        self.known[original] = stand_in
        self.origin_of.setdefault(stand_in, original)
        return stand_in

    # ---- characters
    @staticmethod
    def _char(ch: str, rng: random.Random) -> str:
        if ch in ALNUM:
            return rng.choice(ALNUM)
        if ord(ch) < 128 or not ch.isalpha():
            return ch
        first, last, skip = _WIDE[len(_utf8(ch))]
        while True:
            new = chr(rng.randint(first, last))
            if new.isalpha() and new not in skip:
                return new

    def _chars(self, text: str, rng: random.Random) -> str:
        return "".join(self._char(ch, rng) for ch in text)

    # ---- secret text (env values, passwords, tokens, Secret data)
    def text(self, value: str) -> str:
        """The stand-in of a secret text (base64 of text is rebuilt layer by layer)."""
        if not value:
            return value
        if value in self.known:
            return self.known[value]
        want = shape(value)
        inner = text_of_base64(value)
        if inner is not None:
            encoded = base64.b64encode(_utf8(self.text(inner))).decode()
            if len(encoded) == sum(1 for ch in value if not ch.isspace()):
                candidate = relayout(value, encoded)
                if shape(candidate) == want:
                    return self._remember(value, candidate)
        candidate = value
        for attempt in range(TRIES):
            candidate = self._chars(value, self._rng("text", value, attempt))
            if shape(candidate) == want:
                return self._remember(value, candidate)
        # only a placeholder word (changeme, TODO, ****, your-...) keeps no shape under new letters: it is no secret
        return self._remember(value, value if want[1] or want[2] else candidate)

    def data(self, raw: bytes) -> bytes:
        """The stand-in of secret bytes of the same length (text through :meth:`text`)."""
        try:
            decoded = raw.decode("utf-8")
        except UnicodeDecodeError:
            rng = self._rng("bytes", base64.b64encode(raw).decode(), 0)
            return bytes(ord(self._char(chr(b), rng)) if b < 128 else rng.randrange(0x80, 0x100) for b in raw)
        return _utf8(self.text(decoded))

    # ---- Docker config values
    def auth(self, value: str) -> str:
        """The stand-in of an ``auth`` value: base64 of ``user:<stand-in password>``, decoded by docker the same way."""
        if not value or not isinstance(value, str):
            return value
        if value in self.known:
            return self.known[value]
        want = auth_shape(value)
        if _go_base64_error(value) is None:
            raw = base64.b64decode(value.replace("\r", "").replace("\n", ""))
            user, colon, password = raw.partition(b":")
            new = user + b":" + self.data(password) if colon else self.data(raw)
            candidate = relayout(value, base64.b64encode(new).decode(), _go_layout)
            if auth_shape(candidate) == want:
                return self._remember(value, candidate)
        candidate = value
        for attempt in range(TRIES):  # docker refuses it: keep where and why, draw the rest
            rng = self._rng("auth", value, attempt)
            candidate = "".join(self._char(ch, rng) if ch in _B64_CHARS else ch for ch in value)
            if auth_shape(candidate) == want:
                break
        return self._remember(value, candidate)

    def config_text(self, text: str) -> str:
        """A config.json's text with every auth, password and token value replaced, positions kept."""
        return _SECRET_FIELD_RE.sub(self._config_field, text)

    def _config_field(self, m: "re.Match") -> str:
        field, body = m.group(1).lower(), m.group(3)
        try:
            value = json.loads(f'"{body}"')
        except ValueError:  # broken escapes: the text is not JSON there; keep its characters' kinds
            new_body = self._chars(body, self._rng("text", body, 0))
        else:
            stand_in = self.auth(value) if field == "auth" else self.text(value)
            new_body = _json_body(body, value, stand_in)
        return m.group(0)[: m.start(3) - m.start(0)] + new_body + '"'


# "auth": "...", "password": "...", "identitytoken": "...", "registrytoken": "..." (any case, as Go reads them)
_SECRET_FIELD_RE = re.compile(r'"(auth|password|identitytoken|registrytoken)"(\s*:\s*)"((?:[^"\\]|\\.)*)"', re.I)
_JSON_TOKEN_RE = re.compile(r"\\u[dD][89abAB][0-9a-fA-F]{2}\\u[dD][c-fC-F][0-9a-fA-F]{2}|\\u[0-9a-fA-F]{4}|\\.|.",
                            re.S)


def _json_body(body: str, value: str, stand_in: str) -> str:
    """The JSON string body of ``stand_in``, written with the escapes of ``body`` where they still fit."""
    tokens = _JSON_TOKEN_RE.findall(body)
    if len(tokens) != len(value) or len(stand_in) != len(value):
        return json.dumps(stand_in)[1:-1]
    out = []
    for token, old, new in zip(tokens, value, stand_in):
        if old == new:
            out.append(token)
        elif token.startswith("\\u") and len(token) == 6 and ord(new) < 0x10000:
            out.append(f"\\u{ord(new):04x}")
        else:
            out.append(json.dumps(new, ensure_ascii=False)[1:-1])
    return "".join(out)
