"""Cutting the input into items, exactly, whatever its shape.

Two cutters give the same answer, a list of items and a :mod:`~krmfn.krm.layout`:

- a line scan, for the shapes runners write (a block ResourceList, a plain stream): fast,
  and only used where it is exact. In a stream, ``---`` and ``...`` at column 0 are
  always document markers in valid YAML (libyaml ends or refuses any scalar there). In a
  ResourceList an entry starts at ``- `` at the sequence's indentation, except inside a
  quoted scalar or flow collection left open on an earlier line (libyaml does not hold
  their continuation lines to any indentation); when a line may leave one open, every
  entry is checked to be valid YAML on its own, which a cut inside one never is.
- libyaml's own marks (:func:`krmfn.krm.composer.compose_events` and the event stream), for
  everything else: flow-style ``items``, quoted or complex wrapper keys, anchors across
  the wrapper, directives after content, line breaks the scan does not see.

Both work on the input's LF view (:mod:`krmfn.krm.lines`) and cut each item's original
characters from the input itself.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

import yaml
from yaml.events import (
    CollectionEndEvent,
    CollectionStartEvent,
    DocumentEndEvent,
    DocumentStartEvent,
    ScalarEvent,
    StreamEndEvent,
)
from yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode

from krmfn.errors import InputError, ItemError
from krmfn.krm.composer import Document, compose_events, mark
from krmfn.krm.header import flow_closed, simple_scalar
from krmfn.krm.item import Item
from krmfn.krm.layout import ListLayout, Span, StreamLayout
from krmfn.krm.lines import LfView, has_unscanned_breaks, newline_of
from krmfn.krm.yamltext import to_data

try:  # pragma: no branch
    from yaml import CSafeLoader as _Loader
except ImportError:  # pragma: no cover
    from yaml import SafeLoader as _Loader  # type: ignore[assignment]

RESOURCE_LIST_VERSIONS = ("config.kubernetes.io/v1", "config.kubernetes.io/v1beta1")


@dataclass
class Cut:
    """What a cutter found."""

    form: str
    items: list[Item]
    layout: StreamLayout | ListLayout
    function_config: Item | None = None
    wrapper_api_version: str = "config.kubernetes.io/v1"
    wrapper_kind: str = "ResourceList"
    prior_results: list[Any] = field(default_factory=list)


@dataclass
class _Source:
    """The input, its LF view, and what every item cut from it shares."""

    original: str
    view: LfView
    newline: str
    scannable: bool
    flow_checked: bool = False

    @property
    def text(self) -> str:
        return self.view.text

    def item(
        self,
        start: int,
        end: int,
        *,
        where: str,
        line: int,
        frame: tuple[int, ...] = (),
        column: int = 0,
        flow_checked: bool | None = None,
    ) -> Item:
        """The item whose text is view[start:end]."""
        text = self.view.text[start:end]
        # Without line endings to translate, the view is the input: one string for both
        # (on 10,000 items a second copy would be a tenth of the peak memory).
        identical = self.view.text is self.original
        raw = text if identical else self.original[self.view.original(start) : self.view.original(end)]
        return Item(
            text,
            raw=raw,
            where=where,
            line=line,
            frame=frame,
            column=column,
            newline=newline_of(raw) if self.view.pairs or "\r" in raw else "\n",
            scannable=self.scannable,
            flow_checked=self.flow_checked if flow_checked is None else flow_checked,
        )

    def span(self, gap: int, body: int, end: int) -> Span:
        o = self.view.original
        return Span(o(gap), o(body), o(end))


def cut(original: str, view: LfView) -> Cut:
    """Items and layout of a YAML input (already checked to be valid YAML)."""
    src = _Source(original, view, newline_of(original), scannable=not has_unscanned_breaks(original))
    docs = _split_lines(src.text) if src.scannable else None
    if docs is None:
        docs = _split_events(src.text)
    content = [d for d in docs[0] if d.has_content]
    if len(content) == 1 and _may_be_wrapper(src.text, content[0]):
        found = _list_by_lines(src, content[0]) if src.scannable else None
        if found is None:
            found = _list_by_events(src)
        if found is not None:
            return found
    src.flow_checked = src.scannable and flow_closed(src.text)
    return _stream(src, *docs)


# --- streams ---------------------------------------------------------------------------

_MARKER = re.compile(r"^(?:---|\.\.\.)(?=[ \t]|$).*$", re.M)
_BARE_MARKER = re.compile(r"(?:---|\.\.\.)[ \t]*(?:#.*)?")
_CONTENT_LINE = re.compile(r"^[ \t]*[^\s#]", re.M)
_DIRECTIVE_LINE = re.compile(r"^%", re.M)
_NOT_DIRECTIVE_LINE = re.compile(r"^(?:[ \t]+[^\s#]|[^\s#%])", re.M)


@dataclass
class _Doc:
    """A document's gap (from *gap*) and body (*body* to *end*), in view positions."""

    gap: int
    body: int
    end: int
    has_content: bool


def _split_lines(text: str) -> tuple[list[_Doc], int] | None:
    """Documents by their marker lines; None when a ``%`` line needs the parser to place it."""
    docs: list[_Doc] = []
    prev_end = 0  # where the next gap starts
    start = 0  # where the current region starts
    directives: int | None = None
    for match in [*_MARKER.finditer(text), None]:
        stop = match.start() if match else len(text)
        region = text[start:stop]
        if _CONTENT_LINE.search(region):
            percent = _DIRECTIVE_LINE.search(region) if "%" in region else None
            only_directives = percent is not None and not _NOT_DIRECTIVE_LINE.search(region)
            if only_directives and match and match.group().startswith("---"):
                directives = start + percent.start()  # type: ignore[union-attr]
            elif percent is not None:
                return None
            else:
                body = directives if directives is not None else start
                docs.append(_Doc(prev_end, body, stop, True))
                prev_end, directives = stop, None
        if match is None:
            break
        marker = match.group()
        if marker.startswith("---") and not _BARE_MARKER.fullmatch(marker):
            start = match.start()  # `--- !!map`, `--- |`: the marker line is the document's
        else:
            start = min(match.end() + 1, len(text))
    return docs, prev_end


def _split_events(text: str) -> tuple[list[_Doc], int]:
    """Documents at libyaml's marks: a body starts at its directives, else after its ``---``
    (or at its content), and ends where the next token starts."""
    loader: Any = _Loader(text)
    docs: list[_Doc] = []
    prev_end = body = depth = 0
    empty = False
    try:
        while not loader.check_event(StreamEndEvent):
            event: Any = loader.get_event()
            if isinstance(event, DocumentStartEvent):
                start = mark(event).index
                body = start if event.explicit and text.startswith("%", start) else mark(event, "end").index
                empty, depth = True, 0
            elif isinstance(event, DocumentEndEvent):
                if not empty:
                    docs.append(_Doc(prev_end, body, mark(event).index, True))
                    prev_end = mark(event).index
            elif isinstance(event, CollectionStartEvent):
                empty, depth = False, depth + 1
            elif isinstance(event, CollectionEndEvent):
                depth -= 1
            elif depth == 0 and not (isinstance(event, ScalarEvent) and _is_empty(event)):
                empty = False
    except yaml.MarkedYAMLError as exc:  # pragma: no cover - the input passed the syntax check
        raise InputError(f"input must be valid YAML ({type(exc).__name__})") from None
    finally:
        loader.dispose()
    return docs, prev_end


def _is_empty(event: ScalarEvent) -> bool:
    """The null an empty document reads as (``---`` with nothing after it)."""
    return event.value == "" and event.tag is None and event.anchor is None and event.style in (None, "")


def _stream(src: _Source, docs: list[_Doc], tail: int) -> Cut:
    layout = StreamLayout(src.original, src.newline, tail=src.view.original(tail))
    items: list[Item] = []
    line = 1
    counted = 0
    for n, doc in enumerate(docs):
        line += src.text.count("\n", counted, doc.body)
        counted = doc.body
        item = src.item(doc.body, doc.end, where=f"document {n + 1}", line=line)
        layout.index[id(item)] = len(layout.spans)
        layout.spans.append(src.span(doc.gap, doc.body, doc.end))
        items.append(item)
    return Cut("stream", items, layout, wrapper_kind="")


# --- ResourceLists by lines ------------------------------------------------------------

_WRAPPER_KIND = re.compile(r"^[\"']?kind[\"']?[ \t]*:[ \t]*[\"']?(?:ResourceList|List)[\"']?[ \t]*(?:#.*)?$", re.M)
_TOP_KEY = re.compile(r"^([A-Za-z_][A-Za-z0-9_]*):(?: (.*))?$")


def _may_be_wrapper(text: str, doc: _Doc) -> bool:
    body = text[doc.body : doc.end]
    return "List" in body and (bool(_WRAPPER_KIND.search(body)) or not _plain_top_level(body))


def _plain_top_level(body: str) -> bool:
    """Every column-0 line is a simple ``key:``, a ``- `` entry, a comment or blank."""
    return not re.search(r"^(?![ #\n]|$|-(?:[ \t]|$)|[A-Za-z_][A-Za-z0-9_]*:(?:[ \t]|$))", body, re.M)


def _list_by_lines(src: _Source, doc: _Doc) -> Cut | None:
    """A block-style ResourceList cut by lines; None when its shape needs the parser."""
    text = src.text
    body = text[doc.body : doc.end]
    if not _plain_top_level(body):
        return None
    keys: dict[str, tuple[int, int, str]] = {}  # key → (line start, segment end, inline value) in view positions
    order: list[str] = []
    for match in re.finditer(r"^[A-Za-z_][A-Za-z0-9_]*:.*$", body, re.M):
        key_match = _TOP_KEY.match(match.group())
        if key_match is None:  # pragma: no cover - _plain_top_level let only keys through
            return None
        key = key_match.group(1)
        if key in keys:
            raise InputError(f"the ResourceList must not repeat the key `{key}`")
        if order:
            prev = keys[order[-1]]
            keys[order[-1]] = (prev[0], doc.body + match.start(), prev[2])
        keys[key] = (doc.body + match.start(), doc.end, key_match.group(2) or "")
        order.append(key)
    kind = simple_scalar(keys["kind"][2]) if "kind" in keys else None
    api_version = simple_scalar(keys["apiVersion"][2]) if "apiVersion" in keys else None
    if kind is None or api_version is None:
        return None  # an anchor, a tag, a flow value: the parser says
    if kind not in ("ResourceList", "List") or not ({"items", "functionConfig"} & set(keys)):
        return None
    check_wrapper(api_version, kind)
    layout = ListLayout(src.original, src.newline, "missing", append_at=src.view.original(doc.end))
    cut = Cut("resourcelist", [], layout, wrapper_api_version=api_version, wrapper_kind=kind)
    if "items" in keys and not _items_by_lines(src, keys["items"], cut):
        return None
    items_start, items_end, _ = keys.get("items", (doc.end, doc.end, ""))
    if not (flow_closed(text[doc.body : items_start]) and flow_closed(text[items_end : doc.end])):
        return None  # a quoted scalar may run over what look like keys: the parser says
    if "functionConfig" in keys:
        start, end, inline = keys["functionConfig"]
        cut.function_config = _value_item(src, start, end, inline, "functionConfig")
    if "results" in keys:
        start, end, _ = keys["results"]
        layout.results = (src.view.original(start), src.view.original(end))
        cut.prior_results = _prior_results(src, start, end)
    return cut


def _items_by_lines(src: _Source, segment: tuple[int, int, str], cut: Cut) -> bool:
    text = src.text
    start, end, inline = segment
    layout = cut.layout
    assert isinstance(layout, ListLayout)
    key_line_end = text.find("\n", start)
    region_start = end if key_line_end < 0 or key_line_end >= end else key_line_end + 1
    colon = start + len("items:")
    value = inline.partition(" #")[0].strip() if not inline.lstrip().startswith("#") else ""
    if value in ("[]", "null", "~", "Null", "NULL"):
        at = text.index(value, colon)
        layout.style, layout.value = "empty", (src.view.original(at), src.view.original(at + len(value)))
        return True
    if value:
        return False  # flow style, an anchor, a tag: the parser says
    lines = text[region_start:end].split("\n")
    content = [x for x in lines if x.strip() and not x.lstrip().startswith("#")]
    if not content:
        layout.style, layout.value = "empty", (src.view.original(colon), src.view.original(colon))
        return True
    sp = len(content[0]) - len(content[0].lstrip(" "))
    entry = re.compile(rf"^ {{{sp}}}-(?:[ \t]|$)", re.M)
    if not entry.match(content[0]) or any(len(x) - len(x.lstrip(" ")) <= sp and not entry.match(x) for x in content):
        return False
    layout.style = "block"
    layout.region = (src.view.original(region_start), src.view.original(end))
    layout.value = (src.view.original(colon), src.view.original(colon))
    layout.seq_indent = sp
    src.flow_checked = flow_closed(text[region_start:end])
    bodies = _entry_bodies(text, region_start, end, entry, sp)
    if not src.flow_checked and not all(_valid_alone(text[b:e]) for b, e, _ in bodies):
        return False
    line = text.count("\n", 0, region_start) + 1
    counted = region_start
    prev_end = region_start
    for n, (b, e, column) in enumerate(bodies):
        line += text.count("\n", counted, b)
        counted = b
        item = src.item(b, e, where=f"items[{n}]", line=line, frame=(0,), column=column)
        layout.index[id(item)] = n
        layout.spans.append(src.span(prev_end, b, e))
        cut.items.append(item)
        prev_end = e
        layout.content_indent = column
    return True


def _entry_bodies(text: str, start: int, end: int, entry: re.Pattern[str], sp: int) -> list[tuple[int, int, int]]:
    """(start, end, content column) of each entry, without the blank lines and outdented
    comments after it (they are about what follows)."""
    starts = [m.start() for m in entry.finditer(text, start, end)]
    out = []
    for i, b in enumerate(starts):
        e = starts[i + 1] if i + 1 < len(starts) else end
        e = _trim_entry(text, b, e, sp)
        out.append((b, e, _content_column(text, b, e, sp)))
    return out


def _trim_entry(text: str, start: int, end: int, sp: int) -> int:
    while end > start:
        line_start = text.rfind("\n", start, end - 1) + 1
        if line_start <= start:
            break
        line = text[line_start:end].rstrip("\n")
        stripped = line.lstrip(" ")
        if stripped and not (stripped.startswith("#") and len(line) - len(stripped) <= sp):
            break
        end = line_start
    return end


def _content_column(text: str, start: int, end: int, sp: int) -> int:
    """Where an entry's content starts: after ``- ``, or at its first content line below."""
    first_end = text.find("\n", start, end)
    first = text[start : end if first_end < 0 else first_end]
    after = first[sp + 1 :]
    rest = after.lstrip(" \t")
    if rest and not rest.startswith("#"):
        return sp + 1 + len(after) - len(rest)
    for line in text[start:end].split("\n")[1:]:
        stripped = line.lstrip(" ")
        if stripped and not stripped.startswith("#"):
            return len(line) - len(stripped)
    return sp + 2


def _valid_alone(text: str) -> bool:
    loader: Any = _Loader(text)
    try:
        loader.raw_parse()
        return True
    except yaml.YAMLError:
        return False
    finally:
        loader.dispose()


def _value_item(src: _Source, start: int, end: int, inline: str, where: str) -> Item | None:
    """The value of a top-level key (``functionConfig``) as an item of its own."""
    text = src.text
    value = inline.partition(" #")[0].strip() if not inline.lstrip().startswith("#") else ""
    if value in ("{}", "null", "~", "Null", "NULL"):
        return None
    line = text.count("\n", 0, start) + 1
    if value:
        at = text.index(value, start + len(where) + 1)
        return src.item(at, end, where=where, line=line, flow_checked=False)
    key_line_end = text.find("\n", start, end)
    if key_line_end < 0:
        return None
    body_start = key_line_end + 1
    lines = text[body_start:end].split("\n")
    content = [x for x in lines if x.strip() and not x.lstrip().startswith("#")]
    if not content:
        return None
    column = len(content[0]) - len(content[0].lstrip(" "))
    return src.item(body_start, end, where=where, line=line + 1, column=column, flow_checked=False)


def _prior_results(src: _Source, start: int, end: int) -> list[Any]:
    from krmfn.krm.yamltext import load

    try:
        data = load(src.text[start:end])
    except ItemError as exc:
        raise InputError(f"the ResourceList's `results` {exc.problem}") from None
    prior = data.get("results") if isinstance(data, dict) else None
    return prior if isinstance(prior, list) else []


def check_wrapper(api_version: Any, kind: Any) -> None:
    if kind == "List" and api_version == "v1":
        return
    if kind != "ResourceList":
        raise InputError(f"input `kind` must be ResourceList or List, not {kind!r}")
    if api_version not in RESOURCE_LIST_VERSIONS:
        raise InputError(
            f"ResourceList `apiVersion` must be one of {', '.join(RESOURCE_LIST_VERSIONS)}, not {api_version!r}"
        )


# --- ResourceLists by the parser's marks -------------------------------------------------


def _list_by_events(src: _Source) -> Cut | None:
    """Any ResourceList, cut at the parser's marks; None when the document is not one."""
    text = src.text
    loader: Any = _Loader(text)
    try:
        doc = compose_events(loader, max_depth=1_000_000)
    except ItemError as exc:
        if exc.problem.startswith("must hold a single"):
            return None  # more documents than one (empty ones count): a stream, not a ResourceList
        raise InputError(f"input {exc.problem}" + (f" (line {exc.line})" if exc.line else "")) from None
    except yaml.MarkedYAMLError:  # pragma: no cover - one document was found by the split
        return None
    finally:
        loader.dispose()
    root = doc.root
    if not isinstance(root, MappingNode):
        return None
    top: dict[str, tuple[Node, Node]] = {}
    for key, value in root.value:
        if isinstance(key, ScalarNode) and key.tag in ("tag:yaml.org,2002:str",):
            if key.value in top:
                raise InputError(f"the ResourceList must not repeat the key `{key.value}`")
            top[key.value] = (key, value)
    kind = _scalar(top.get("kind"))
    if kind not in ("ResourceList", "List") or not ({"items", "functionConfig"} & set(top)):
        return None
    api_version = _scalar(top.get("apiVersion"))
    check_wrapper(api_version, kind)
    flow_root = bool(root.flow_style)
    append_at = root.end_mark.index - 1 if flow_root else _node_end(text, root)
    layout = ListLayout(
        src.original, src.newline, "missing", append_at=src.view.original(append_at), flow_root=flow_root
    )
    cut = Cut("resourcelist", [], layout, wrapper_api_version=str(api_version), wrapper_kind=str(kind))
    if "items" in top:
        _items_by_events(src, doc, *top["items"], cut)
    if "functionConfig" in top:
        config = top["functionConfig"][1]
        if not (isinstance(config, ScalarNode) and config.tag.endswith(":null")) and not (
            isinstance(config, MappingNode) and not config.value
        ):
            cut.function_config = _node_item(src, config, "functionConfig")
    if "results" in top:
        key, value = top["results"]
        start, end = _key_span(text, key, value, flow_root)
        layout.results = (src.view.original(start), src.view.original(end))
        try:
            prior = to_data(value)
        except ItemError as exc:
            raise InputError(f"the ResourceList's `results` {exc.problem}") from None
        cut.prior_results = prior if isinstance(prior, list) else []
    return cut


def _scalar(pair: tuple[Node, Node] | None) -> Any:
    return pair[1].value if pair and isinstance(pair[1], ScalarNode) else None


def _items_by_events(src: _Source, doc: Document, key: Node, items: Node, cut: Cut) -> None:
    text = src.text
    layout = cut.layout
    assert isinstance(layout, ListLayout)
    o = src.view.original
    if isinstance(items, ScalarNode) and items.tag.endswith(":null"):
        layout.style, layout.value = "empty", (o(items.start_mark.index), o(items.end_mark.index))
        return
    if not isinstance(items, SequenceNode):
        raise InputError("ResourceList `items` must be a list")
    if items.flow_style:
        region = (items.start_mark.index + 1, items.end_mark.index - 1)
        if not items.value and not layout.flow_root:
            layout.style, layout.value = "empty", (o(items.start_mark.index), o(items.end_mark.index))
            return
        layout.style = "flow"
    else:
        key_line_end = text.find("\n", key.end_mark.index)
        region = (key_line_end + 1, _node_end(text, items))
        colon = text.find(":", key.end_mark.index)
        layout.style, layout.value = "block", (o(colon + 1), o(colon + 1))
    layout.region = (o(region[0]), o(region[1]))
    prev = region[0]
    for n, node in enumerate(items.value):
        alias = doc.aliases.get((id(items), n))
        start, end = alias if alias else (node.start_mark.index, node.end_mark.index)
        frame: tuple[int, ...] = ()
        column = 0
        if not items.flow_style:
            start, dash, column = _entry_start(text, start)
            if dash >= 0:
                frame = (0,)
                layout.seq_indent, layout.content_indent = dash, column
            end = _trim_entry(text, start, _through_line(text, end if alias else _line_end(text, end)), max(dash, 0))
        item = src.item(
            start, end, where=f"items[{n}]", line=text.count("\n", 0, start) + 1, frame=frame, column=column
        )
        layout.index[id(item)] = n
        layout.spans.append(src.span(prev, start, end))
        cut.items.append(item)
        prev = end


def _entry_start(text: str, start: int) -> tuple[int, int, int]:
    """Where a block entry whose node starts at *start* begins (the line of its ``-``), the
    dash's column (-1 when the node cannot be cut with it) and the node's column."""
    line_start = text.rfind("\n", 0, start) + 1
    column = start - line_start
    prefix = text[line_start:start]
    if re.fullmatch(r" *-[ \t]+", prefix):
        return line_start, len(prefix) - len(prefix.lstrip(" ")), column
    if prefix.strip(" "):
        return start, -1, 0  # something else shares the line: the node alone
    pos = line_start
    while pos > 0:
        prev_start = text.rfind("\n", 0, pos - 1) + 1
        line = text[prev_start : pos - 1]
        if re.fullmatch(r" *-(?:[ \t]+#.*)?[ \t]*", line):
            return prev_start, len(line) - len(line.lstrip(" ")), column
        if line.strip() and not line.lstrip().startswith("#"):
            break
        pos = prev_start
    return line_start, -1, column


def _through_line(text: str, pos: int) -> int:
    """*pos*, moved past the end of its line when only spaces or a comment follow it there."""
    if pos > 0 and text[pos - 1] == "\n":
        return pos
    nl = text.find("\n", pos)
    rest = text[pos : len(text) if nl < 0 else nl].strip(" \t")
    if rest and not rest.startswith("#"):
        return pos
    return len(text) if nl < 0 else nl + 1


def _line_end(text: str, pos: int) -> int:
    """*pos*, moved back to just after the last line break before it when only spaces follow that."""
    back = text.rfind("\n", 0, pos)
    if back >= 0 and not text[back + 1 : pos].strip(" \t"):
        return back + 1
    return pos


def _node_end(text: str, node: Node) -> int:
    """Where a block node's own text ends: its end mark, less the indentation of the next line."""
    return _line_end(text, node.end_mark.index) if not getattr(node, "flow_style", False) else node.end_mark.index


def _node_item(src: _Source, node: Node, where: str) -> Item:
    text = src.text
    start, end = node.start_mark.index, _node_end(text, node)
    line_start = text.rfind("\n", 0, start) + 1
    line = text.count("\n", 0, start) + 1
    if isinstance(node, MappingNode) and not node.flow_style and not text[line_start:start].strip():
        return src.item(line_start, end, where=where, line=line, column=start - line_start)
    return src.item(start, end, where=where, line=line)


def _key_span(text: str, key: Node, value: Node, flow_root: bool) -> tuple[int, int]:
    """The text of a top-level ``key: value`` to remove (with its comma in a flow mapping)."""
    start, end = key.start_mark.index, _node_end(text, value)
    if not flow_root:
        return text.rfind("\n", 0, start) + 1, end
    before = text[:start].rstrip(" \t\n")
    if before.endswith(","):
        return len(before) - 1, end
    after = re.compile(r"[ \t\n]*,[ \t\n]*").match(text, end)
    return start, after.end() if after else end
