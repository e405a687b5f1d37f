"""Line endings: read as LF, written back as they came. The one place that converts.

libyaml reads CRLF and CR line breaks as line breaks, but the line scans and the editor
work on ``\\n``. The reader therefore scans an LF view of the input (:func:`lf_view`) and
cuts each item's original characters from the input itself (:meth:`LfView.original` maps
a position back), so an unchanged item keeps its bytes whatever its line endings. Each item
remembers its ending (:func:`newline_of`); text krmfn writes into it, or writes next to
it, gets that ending back from :func:`restore`.

NEL, LINE SEPARATOR and PARAGRAPH SEPARATOR are line breaks to libyaml too, but they can
be scalar content (LS and PS are kept in it), so they are never converted; an input that
holds them is cut by the parser's own marks instead of a line scan.
"""

from __future__ import annotations

from bisect import bisect_left
from dataclasses import dataclass, field

#: Line breaks of YAML 1.1 that the line scans do not see as such.
UNSCANNED_BREAKS = ("\x85", "\u2028", "\u2029")


def newline_of(text: str) -> str:
    """The line ending *text* mostly uses (``\\n`` when it has none)."""
    if "\r" not in text:
        return "\n"
    crlf = text.count("\r\n")
    counts = {"\r\n": crlf, "\n": text.count("\n") - crlf, "\r": text.count("\r") - crlf}
    return max(counts, key=lambda k: (counts[k], k == "\n"))


def restore(text: str, newline: str) -> str:
    """LF *text* written with *newline* line endings."""
    return text if newline == "\n" else text.replace("\n", newline)


def has_unscanned_breaks(text: str) -> bool:
    return any(c in text for c in UNSCANNED_BREAKS)


@dataclass(frozen=True)
class LfView:
    """*text* with CRLF and CR read as LF, and the way back to positions in the original."""

    text: str
    #: View positions of the ``\n`` that stand for a ``\r\n`` (each shortens the view by one).
    pairs: list[int] = field(default_factory=list)

    def original(self, pos: int) -> int:
        """The position in the original input of view position *pos*."""
        return pos + bisect_left(self.pairs, pos) if self.pairs else pos


def lf_view(text: str) -> LfView:
    if "\r" not in text:
        return LfView(text)
    pairs: list[int] = []
    at = text.find("\r\n")
    while at >= 0:
        pairs.append(at - len(pairs))
        at = text.find("\r\n", at + 2)
    return LfView(text.replace("\r\n", "\n").replace("\r", "\n"), pairs)
