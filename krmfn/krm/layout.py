"""Where each item stands in the input, and the output as the input with only changes spliced in.

A layout records, in the input's own characters, each item's *body* and the *gap* before
it (separators, comments, blank lines: what goes away with the item if it is pruned). The
writer copies everything that is not an item as it came, copies every unchanged item's
body as it came, and puts an edited item's text (in the item's line endings) where its
body was. New items are written after the last item, in the style around them. Nothing
is re-indented, re-quoted or re-ordered, whatever the shape of the input.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

from krmfn.krm.item import Item
from krmfn.krm.lines import restore
from krmfn.krm.yamltext import dump, dump_flow


@dataclass(frozen=True)
class Span:
    """An item's place: ``text[gap:body]`` precedes it, ``text[body:end]`` is it."""

    gap: int
    body: int
    end: int


@dataclass
class StreamLayout:
    """A multi-document stream: the items' spans, and where the text after the last one starts."""

    text: str
    newline: str
    spans: list[Span] = field(default_factory=list)
    tail: int = 0
    #: id(item) → its position in *spans*.
    index: dict[int, int] = field(default_factory=dict)


@dataclass
class ListLayout:
    """A ResourceList (or ``v1 List``) document and its ``items``.

    *style* is how ``items`` is written: a block or flow sequence whose entries live in
    *region*, an empty value (``[]``, ``null``, nothing: the span *value*), or no key at
    all. For a block sequence *value* is the point right after ``items:``. New block
    entries get *seq_indent* and *content_indent*. *results* is the span of a ``results``
    key; the answer's results are written at *append_at*, the end of the document's content.
    """

    text: str
    newline: str
    style: Literal["block", "flow", "empty", "missing"]
    region: tuple[int, int] = (0, 0)
    value: tuple[int, int] = (0, 0)
    spans: list[Span] = field(default_factory=list)
    seq_indent: int = 0
    content_indent: int = 2
    results: tuple[int, int] | None = None
    append_at: int = 0
    flow_root: bool = False
    index: dict[int, int] = field(default_factory=dict)


def body_of(item: Item, newline: str) -> str:
    """An item's input characters, or its edited text in its own line endings."""
    if item.raw is not None:
        return item.raw
    return restore(item.source, item.newline if item.origin is not None else newline)


def write_stream(layout: StreamLayout, items: Sequence[Item]) -> str:
    text, nl = layout.text, layout.newline
    parts: list[str] = []
    for item in items:
        k = layout.index.get(id(item.origin or item))
        if k is None:
            if parts and not parts[-1].endswith(("\n", "\r")):
                parts.append(nl)
            parts.append(("---" + nl if parts or layout.spans else "") + restore(item.source, nl))
            continue
        span = layout.spans[k]
        parts.append(text[span.gap : span.body] + body_of(item, nl))
    parts.append(text[layout.tail :])
    return "".join(parts)


def write_list(layout: ListLayout, items: Sequence[Item], results: list[Any]) -> str:
    """The ResourceList with *items* as its items and *results* as its results."""
    text, nl = layout.text, layout.newline
    # (start, end, new) in the input; applied back to front, inserts at one offset in order.
    edits: list[tuple[int, int, str]] = []
    written = [(layout.index.get(id(item.origin or item)), item) for item in items]
    if layout.style == "block":
        edits.append((*layout.region, _block_entries(layout, written)))
        if not written:
            edits.append((*layout.value, " []"))
    elif layout.style == "flow":
        edits.append((*layout.region, _flow_entries(layout, written)))
    elif layout.flow_root:
        if written:
            flow = ", ".join(dump_flow(item.data) for _, item in written)
            if layout.style == "empty":
                edits.append((*layout.value, f"[{flow}]"))
            else:
                edits.append((layout.append_at, layout.append_at, f", items: [{flow}]"))
    elif written:
        entries = "".join(_new_entry(layout, item) for _, item in written)
        if layout.style == "empty":
            line_end = text.find("\n", layout.value[1])
            at = len(text) if line_end < 0 else line_end + 1
            start = layout.value[0]
            while start > 0 and text[start - 1] == " ":  # `items: null` → `items:`
                start -= 1
            edits.append((start, layout.value[1], ""))
            edits.append((at, at, _line_break(text, at, nl) + entries))
        else:
            edits.append(
                (layout.append_at, layout.append_at, _line_break(text, layout.append_at, nl) + "items:" + nl + entries)
            )
    if layout.results is not None:
        edits.append((*layout.results, ""))
    if results:
        at = layout.append_at
        if layout.flow_root:
            edits.append((at, at, ", results: " + dump_flow(results)))
        else:
            edits.append((at, at, _line_break(text, at, nl) + "results:" + nl + restore(dump(results, 0), nl)))
    out = text
    ordered = sorted(enumerate(edits), key=lambda e: (e[1][0], e[1][1], e[0]), reverse=True)
    for _, (start, end, new) in ordered:
        out = out[:start] + new + out[end:]
    return out


def _block_entries(layout: ListLayout, written: list[tuple[int | None, Item]]) -> str:
    text, nl = layout.text, layout.newline
    parts: list[str] = []
    for k, item in written:
        if k is None:
            parts.append(_new_entry(layout, item))
        else:
            span = layout.spans[k]
            parts.append(text[span.gap : span.body] + body_of(item, nl))
    tail = layout.spans[-1].end if layout.spans else layout.region[0]
    return "".join(parts) + text[tail : layout.region[1]]


def _flow_entries(layout: ListLayout, written: list[tuple[int | None, Item]]) -> str:
    """A flow sequence's inside: each kept entry after the separator it had, new ones at the end."""
    text, nl = layout.text, layout.newline
    start, end = layout.region
    if not layout.spans:
        inner = text[start:end]
        return inner if not written else ", ".join(dump_flow(item.data) for _, item in written)
    parts: list[str] = []
    for k, item in written:
        if k is None:
            parts.append((", " if parts else "") + dump_flow(item.data))
            continue
        span = layout.spans[k]
        # The first one written keeps the space after `[`, whichever entry it is.
        first_gap = text[layout.spans[0].gap : layout.spans[0].body]
        gap = first_gap if not parts else text[span.gap : span.body] if k else ", "
        parts.append(gap + body_of(item, nl))
    return "".join(parts) + text[layout.spans[-1].end : end]


def _new_entry(layout: ListLayout, item: Item) -> str:
    """A generated item as a block sequence entry, at the indentation of the entries around it."""
    lines = item.text.rstrip("\n").split("\n")
    dash = " " * layout.seq_indent + "-" + " " * max(1, layout.content_indent - layout.seq_indent - 1)
    pad = " " * max(layout.content_indent, layout.seq_indent + 2)
    out = [dash + lines[0]] + [pad + x if x.strip() else "" for x in lines[1:]]
    return restore("\n".join(out) + "\n", layout.newline)


def _line_break(text: str, at: int, nl: str) -> str:
    return "" if at == 0 or text[at - 1 : at] in ("\n", "\r") else nl
