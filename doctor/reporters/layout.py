"""The report's lines and table as rich lays them out and writes them, without importing rich.

rich costs ~35 ms of start-up to import. The rich report needs only a little of it: ``Text``
(words wrapped to the width, long words folded), a borderless ``Table`` and a few styles. This
module does that much the way rich 15 does - ``rich._wrap.divide_line``, ``Text.wrap``, ``Text.divide``,
``Table._calculate_column_widths``, ``Padding``, ``Measurement``, ``Style`` and ``Console``'s choice of
terminal, width and colours - for text of one-cell characters (printable ASCII and the report's
marks, :func:`fits`), on POSIX, with standard colours. Anything else is left to rich itself; tests
compare the two byte for byte on every fixture, in colour and without.
"""

from __future__ import annotations

import os
import re
import sys
from typing import Dict, List, NamedTuple, Optional, Sequence, Tuple

# characters one cell wide in every terminal and in rich's measure: printable ASCII, and the report's marks
ONE_CELL = frozenset(map(chr, range(0x20, 0x7F))) | frozenset("✓✗▌…")
_WORD = re.compile(r"\s*\S+\s*")  # rich._wrap.re_word
_TRAILING_SPACE = re.compile(r"\s+$")
MIN_WIDTH = 40  # narrower consoles are left to rich (its last-resort column squeezing is not done here)
_ATTRIBUTES = {"bold": "1", "dim": "2"}  # in rich's order of SGR codes
_COLOURS = {"red": "31", "green": "32", "yellow": "33", "magenta": "35", "cyan": "36"}  # standard: one code everywhere


class Styled(NamedTuple):
    """What a rich Text holds: the text, its base style, and styled spans (start, end, style) in order."""

    text: str
    style: str = ""
    spans: Tuple[Tuple[int, int, str], ...] = ()


class Console(NamedTuple):
    """What rich's Console would do with a stream: its width, and whether it writes colours."""

    width: int
    terminal: bool  # styles are written as ANSI codes
    colour: bool  # colours too (not with NO_COLOR)


def console_for(stream, width: Optional[int] = None, no_color: bool = False) -> Optional[Console]:
    """What ``rich.console.Console(file=stream, width=width, no_color=no_color)`` would do, when this
    module can do the same; None when only rich can (Windows, Jupyter, IDLE, FORCE_COLOR, TTY_COMPATIBLE,
    a dumb terminal, a console narrower than MIN_WIDTH)."""
    env = os.environ
    if sys.platform == "win32" or "FORCE_COLOR" in env or "TTY_COMPATIBLE" in env:
        return None
    if "get_ipython" in getattr(sys.modules.get("builtins"), "__dict__", {}):
        return None
    if getattr(sys.stdin, "__module__", "").startswith("idlelib"):
        return None
    try:
        terminal = bool(stream.isatty())
    except (AttributeError, ValueError):
        return None
    if terminal and env.get("TERM", "").lower() in ("dumb", "unknown"):
        return None
    if width is None:
        columns = env.get("COLUMNS")
        if columns is not None and columns.isdigit():
            width = int(columns)
        else:
            for fd in (0, 1, 2):  # rich asks standard input, output and error, in that order
                try:
                    width = os.get_terminal_size(fd).columns
                except (AttributeError, ValueError, OSError):
                    continue
                break
            width = width or 80
    if width < MIN_WIDTH:
        return None
    return Console(width, terminal, terminal and not no_color and env.get("NO_COLOR", "") == "")


def is_unicode(stream) -> bool:
    """Does the stream take the report's marks (rich's Console.encoding is utf-8 or utf-16)?"""
    encoding = (getattr(stream, "encoding", "utf-8") or "utf-8").lower()
    return encoding.replace("-", "") in ("utf8", "utf16")


def fits(text: str) -> bool:
    """Is the text made only of characters this module measures as rich does (newlines allowed)?"""
    return ONE_CELL.issuperset(text.replace("\n", ""))


# ---------------------------------------------------------------- Text

def _divide(st: Styled, offsets: Sequence[int]) -> List[Styled]:
    """Text.divide: the pieces between the offsets, each span cut to the pieces it covers."""
    if not offsets:
        return [st]
    bounds = [0, *offsets, len(st.text)]
    pieces = []
    for start, end in zip(bounds, bounds[1:]):
        spans = tuple((max(0, a - start), min(b - start, end - start), style) for a, b, style in st.spans
                      if min(b - start, end - start) > max(0, a - start))
        pieces.append(Styled(st.text[start:end], st.style, spans))
    return pieces


def _cut(st: Styled, length: int) -> Styled:
    """The text cut to ``length`` characters, spans too (Text.right_crop, Text._trim_spans)."""
    return Styled(st.text[:length], st.style,
                  tuple((a, min(b, length), style) for a, b, style in st.spans if a < length))


def _divide_line(text: str, width: int, fold: bool) -> List[int]:
    """rich._wrap.divide_line: where to break a line so that its words fit in ``width``."""
    breaks: List[int] = []
    offset = 0
    for match in _WORD.finditer(text):  # the words follow each other: rich's words() matches at each end
        start, word = match.start(), match.group()
        length = len(word.rstrip())
        if width - offset >= length:
            offset += len(word)
        elif length > width:
            if fold:
                pieces = [word[i:i + width] for i in range(0, len(word), width)]
                for piece in pieces[:-1]:
                    if start:
                        breaks.append(start)
                    start += len(piece)
                if start:
                    breaks.append(start)
                offset = len(pieces[-1])
            else:
                if start:
                    breaks.append(start)
                offset = len(word)
        elif offset and start:
            breaks.append(start)
            offset = len(word)
    return breaks


def _truncate(st: Styled, width: int, overflow: str, pad: bool = False) -> Styled:
    """Text.truncate (a pad is not covered by the spans)."""
    length = len(st.text)
    if overflow != "ignore":
        if length > width:
            if overflow == "ellipsis":
                cut = _cut(st, width)  # the plain setter keeps the spans up to the new length
                st = Styled(cut.text[:max(width - 1, 0)] + "…", cut.style, cut.spans)
            else:
                st = _cut(st, width)
        if pad and length < width:
            st = Styled(st.text + " " * (width - length), st.style, st.spans)
    return st


def wrap(st: Styled, width: int, overflow: str = "fold", justify: str = "default",
         no_wrap: bool = False) -> List[Styled]:
    """Text.wrap: the lines of the text at this width (``justify`` "default" or "left")."""
    if justify not in ("default", "left"):
        raise ValueError(f"justify {justify!r} is left to rich")
    breaks = [i for i, ch in enumerate(st.text) if ch == "\n"]
    lines = [piece for piece in _divide(st, [b for i in breaks for b in (i, i + 1)]) if piece.text != "\n"]
    out: List[Styled] = []
    for line in lines:
        if no_wrap:
            pieces = [line]
        else:
            pieces = _divide(line, _divide_line(line.text, width, overflow == "fold"))
            for k, piece in enumerate(pieces):  # Text.rstrip_end
                if len(piece.text) > width:
                    space = _TRAILING_SPACE.search(piece.text)
                    if space:
                        pieces[k] = _cut(piece, len(piece.text) - min(len(space.group()), len(piece.text) - width))
        if justify == "left":
            pieces = [_truncate(piece, width, overflow, pad=True) for piece in pieces]
        out.extend(_truncate(piece, width, overflow) for piece in pieces)
    return out


# ---------------------------------------------------------------- styles and segments

Segment = Tuple[str, Optional[str]]  # text, style ("" or None: none)


def _segments(line: Styled) -> List[Segment]:
    """A line as rich renders it (Text.join, then Text.render): split at every span boundary, each
    piece in the styles of the spans over it, in order (the line's own style first)."""
    spans = ([(0, len(line.text), line.style)] if line.style else []) + list(line.spans)
    if not spans:
        return [(line.text, None)] if line.text else []
    cuts = sorted({0, len(line.text), *(a for a, _b, _s in spans), *(b for _a, b, _s in spans)})
    out = []
    for start, end in zip(cuts, cuts[1:]):
        if end > start:
            styles = [style for a, b, style in spans if a <= start and end <= b]
            out.append((line.text[start:end], " ".join(styles)))
    return out


_SGR: Dict[Tuple[str, bool], str] = {}


def _sgr(style: str, colour: bool) -> str:
    """The SGR codes of a combination of styles ("bold red dim"), as rich's Style writes them."""
    key = (style, colour)
    if key not in _SGR:
        words = style.split()
        unknown = [w for w in words if w not in _ATTRIBUTES and w not in _COLOURS]
        if unknown:
            raise ValueError(f"style {unknown[0]!r} is left to rich")
        codes = [code for name, code in _ATTRIBUTES.items() if name in words]
        colours = [_COLOURS[w] for w in words if w in _COLOURS]
        if colour and colours:
            codes.append(colours[-1])  # the last colour wins
        _SGR[key] = ";".join(codes)
    return _SGR[key]


def write(segments: Sequence[Segment], console: Console) -> str:
    """Console._render_buffer: each styled segment in its codes on a terminal; the text alone elsewhere."""
    if not console.terminal:
        return "".join(text for text, _style in segments)
    out = []
    for text, style in segments:
        codes = _sgr(style, console.colour) if style else ""
        out.append(f"\x1b[{codes}m{text}\x1b[0m" if codes and text else text)
    return "".join(out)


def print_text(st: Styled, console: Console) -> str:
    """``Console.print(Text)``: wrapped at the console width, folding words longer than a line."""
    lines = wrap(st, console.width)
    segments: List[Segment] = []
    for line in lines:
        segments += _segments(_cut(line, console.width)) + [("\n", None)]
    return write(segments, console)


# ---------------------------------------------------------------- Table

class Column(NamedTuple):
    width: Optional[int] = None  # a fixed width
    no_wrap: bool = False
    overflow: str = "ellipsis"  # rich's Column default
    style: str = ""


def _measure_text(text: str, max_width: int) -> Tuple[int, int]:
    """Measurement.get of a Text: (minimum, maximum) width."""
    if max_width < 1:
        return 0, 0
    lines = text.splitlines()
    longest = max(map(len, lines)) if lines else 0
    words = text.split()
    lo, hi = (max(map(len, words)) if words else longest), longest
    lo = max(0, min(max(0, lo), hi))  # normalize
    lo, hi = min(lo, max_width), min(max(0, max(lo, hi)), max_width)  # with_maximum
    if hi < 1:
        return 0, 0
    return max(0, min(lo, hi)), hi


def _measure_cell(text: str, left: int, right: int, max_width: int) -> Tuple[int, int]:
    """Measurement.get of a Padding around a Text (rich measures the Text at the full width)."""
    if max_width < 1:
        return 0, 0
    extra = left + right
    if max_width - extra < 1:
        lo = hi = max_width
    else:
        lo, hi = _measure_text(text, max_width)
        lo, hi = min(lo + extra, max_width), min(hi + extra, max_width)
    lo = max(0, min(max(0, lo), hi))  # normalize, with_maximum
    lo, hi = min(lo, max_width), min(max(0, max(lo, hi)), max_width)
    if hi < 1:
        return 0, 0
    return max(0, min(lo, hi)), hi


def _with(style: str, segments: List[Segment]) -> List[Segment]:
    """Segment.apply_style: the cell's style under each segment's own."""
    return [(text, " ".join(filter(None, (style, own)))) for text, own in segments] if style else segments


def table(rows: Sequence[Sequence[Styled]], columns: Sequence[Column], console: Console) -> Optional[str]:
    """A borderless Table without header, padding (0, 1) and no padding at the edges, as rich prints it
    (every line as wide as the table); None when rich would squeeze the columns further than this does."""
    max_width = console.width
    last = len(columns) - 1
    pads = [(0 if i == 0 else 1, 0 if i == last else 1) for i in range(len(columns))]

    def measure(index: int, column: Column, width: int) -> int:
        left, right = pads[index]
        if width < 1:
            return 0
        if column.width is not None:
            return min(column.width + left + right, width)
        sizes = [_measure_cell(row[index].text, left, right, width) for row in rows]
        return min(max((hi for _lo, hi in sizes), default=width), width)

    widths = [measure(i, c, max_width) or 1 for i, c in enumerate(columns)]
    if sum(widths) > max_width:
        excess = sum(widths) - max_width
        wrapable = [c.width is None and not c.no_wrap for c in columns]
        if wrapable.count(True) != 1:
            return None
        k = wrapable.index(True)
        widths[k] -= min(excess, widths[k])
        if sum(widths) > max_width:
            return None  # rich's last resort: every column narrower
        widths = [measure(i, c, w) or 0 for i, (c, w) in enumerate(zip(columns, widths))]
    segments: List[Segment] = []
    for row in rows:
        cells = []
        for (left, right), column, width, st in zip(pads, columns, widths, row):
            inner = width - left - right
            if inner < 1 and st.text:
                return None
            lines = wrap(st, inner, column.overflow, "left", column.no_wrap) if inner > 0 else [Styled("")]
            cells.append([_with(column.style, [(" " * left, None)] * bool(left) + _segments(_cut(line, inner))
                                + [(" " * right, None)] * bool(right)) for line in lines])
        for n in range(max(map(len, cells))):
            for cell, column, width in zip(cells, columns, widths):
                segments += cell[n] if n < len(cell) else [(" " * width, column.style or None)]
            segments.append(("\n", None))
    return write(segments, console)
