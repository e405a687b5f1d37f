"""Change YAML text into new data while keeping everything the change does not touch.

:func:`update_text` walks the node tree of the old text beside the new data and edits only
the spans whose data differ: a mapping loses or gains single keys, a sequence keeps the
lines (and comments) of entries that stay, a scalar keeps its quoting style. Comments,
key order, block scalars and flow style elsewhere are left byte-for-byte. Edits are made
at the text's own columns, so a ResourceList entry is edited where it stands.

Aliases and merge keys are edited exactly or not at all: a value written as ``*name`` that
must differ is written out in place of the alias (the anchor and its other uses stay); a
key that a merge key (``<<: *defaults``) provides and that must change is written as an
explicit key, which YAML lets override the merged one. What cannot be done that way (an
anchored value that must change while its aliases must not, a merged key that must go)
raises :class:`~krmfn.errors.ItemError`, which refuses that item alone.

The result is read back and compared with the intended data; a mismatch is a bug here and
raises :class:`~krmfn.errors.EditError` instead of writing something else than meant.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from difflib import SequenceMatcher
from typing import Any

from yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode

from krmfn.errors import EditError, InputError, ItemError
from krmfn.krm.composer import Document
from krmfn.krm.yamltext import (
    at_frame,
    block_scalar,
    compose_document,
    dump,
    dump_flow,
    dump_pair,
    is_block_string,
    scalar,
    to_data,
)

_MERGE = "tag:yaml.org,2002:merge"
_ANCHOR_PROPERTY = re.compile(r"&[^\s,\[\]{}]+")

#: Where a child sits in its parent: (id(parent), index of the sequence entry or mapping pair).
Site = tuple[int, int]


def same(a: Any, b: Any) -> bool:
    """Deep equality that tells ``True`` from ``1`` and ``1`` from ``1.0``."""
    if type(a) is not type(b):
        return False
    if isinstance(a, dict):
        return a.keys() == b.keys() and all(same(v, b[k]) for k, v in a.items())
    if isinstance(a, list):
        return len(a) == len(b) and all(same(x, y) for x, y in zip(a, b, strict=True))
    return bool(a == b)


def _key(value: Any) -> str:
    return json.dumps(value, sort_keys=True, default=str)


@dataclass
class _Edits:
    text: str
    indentless: bool
    doc: Document
    edits: list[tuple[int, int, str]] = field(default_factory=list)
    cache: dict[int, Any] = field(default_factory=dict)
    #: What an anchored node reads as after the edits made where it is defined.
    defined: dict[int, Any] = field(default_factory=dict)

    def data(self, node: Node) -> Any:
        key = id(node)
        if key not in self.cache:
            self.cache[key] = to_data(node)
        return self.cache[key]

    def replace(self, start: int, end: int, new: str) -> None:
        # A block scalar's span ends with its line break; what replaces it must too.
        if new and end > start and self.text[end - 1] == "\n" and not new.endswith("\n"):
            new += "\n"
        self.edits.append((start, end, new))

    # --- positions -------------------------------------------------------------------

    def start(self, node: Node, site: Site | None) -> int:
        """Where a child is written: its alias (``*name``) if it is one, else its node."""
        alias = self.doc.aliases.get(site) if site is not None else None
        return alias[0] if alias else node.start_mark.index

    def line_start(self, pos: int) -> int:
        return self.text.rfind("\n", 0, pos) + 1

    def line_end(self, pos: int) -> int:
        """The index just past the newline that ends the line holding ``pos - 1``."""
        if pos > 0 and self.text[pos - 1] == "\n":
            return pos
        nl = self.text.find("\n", pos)
        return len(self.text) if nl < 0 else nl + 1

    def content_end(self, node: Node, site: Site | None = None) -> int:
        """End of the node's own text, without the blank lines and comments PyYAML adds."""
        alias = self.doc.aliases.get(site) if site is not None else None
        if alias:
            return alias[1]
        if isinstance(node, ScalarNode):
            end = node.end_mark.index
            if node.style in ("|", ">"):
                header = self.text[node.start_mark.index : self.text.find("\n", node.start_mark.index)]
                if "+" not in header:
                    body = self.text[node.start_mark.index : end].rstrip(" \n")
                    return self.line_end(node.start_mark.index + len(body))
            return end
        if isinstance(node, MappingNode | SequenceNode) and not node.flow_style and node.value:
            last = node.value[-1][1] if isinstance(node, MappingNode) else node.value[-1]
            return self.content_end(last, (id(node), len(node.value) - 1))
        return node.end_mark.index

    def starts_line(self, pos: int) -> bool:
        """Whether only indentation stands before *pos* on its line."""
        return not self.text[self.line_start(pos) : pos].strip()

    def entry_start(self, seq: SequenceNode, i: int) -> int:
        """Start of the line holding the ``-`` that introduces entry *i*."""
        dash = self.text.rfind("-", 0, self.start(seq.value[i], (id(seq), i)))
        return self.line_start(dash)

    def entry_start_with_comments(self, seq: SequenceNode, i: int) -> int:
        """Like :meth:`entry_start`, but before the comment lines right above the entry.

        A comment written on its own line above an entry is about that entry: it goes
        where the entry goes, and new entries are inserted above it, not between the two.
        """
        start = self.entry_start(seq, i)
        if not self.starts_line(self.text.rfind("-", 0, self.start(seq.value[i], (id(seq), i)))):
            return start
        while start > 0:
            previous = self.line_start(start - 1)
            if not self.text[previous:start].strip().startswith("#"):
                break
            start = previous
        return start

    def indicator_before(self, pos: int) -> tuple[str, int]:
        """The character (``:``, ``-`` or none) a node at *pos* follows, and where it is."""
        i = pos - 1
        while i >= 0 and self.text[i] in " \n":
            i -= 1
        if i >= 0 and self.text[i] in ":-" and (i + 1 == len(self.text) or self.text[i + 1] in " \n"):
            return self.text[i], i
        return "", pos

    # --- the walk --------------------------------------------------------------------

    def update_child(self, node: Node, new: Any, indent: int, site: Site, path: str) -> None:
        """Make the child at *site* hold *new*: through its own text, or instead of its alias."""
        alias = self.doc.aliases.get(site)
        if alias is None:
            self.update(node, new, indent, path)
            return
        reads = self.defined.get(id(node), self.data(node))
        if not same(reads, new):
            self.replace_node(node, new, indent, span=alias)

    def update(self, node: Node, new: Any, indent: int, path: str) -> None:
        """Make *node* hold *new*; *indent* is the column its block children start at."""
        if same(self.data(node), new):
            return
        if id(node) in self.doc.shared:
            self.defined[id(node)] = new
        if isinstance(node, MappingNode) and not node.flow_style and node.value and isinstance(new, dict) and new:
            self.update_mapping(node, new, path)
        elif isinstance(node, SequenceNode) and not node.flow_style and node.value and isinstance(new, list) and new:
            self.update_sequence(node, new, path)
        elif isinstance(node, MappingNode | SequenceNode) and node.flow_style and isinstance(new, dict | list):
            start = self.value_start(node)
            lead = " " if start != node.start_mark.index else ""
            self.replace(start, node.end_mark.index, lead + self.restyle_flow(node, new))
        else:
            self.replace_node(node, new, indent)

    def update_mapping(self, node: MappingNode, new: dict[Any, Any], path: str) -> None:
        merges = [pair for pair in node.value if pair[0].tag == _MERGE]
        indent = node.value[0][0].start_mark.column
        first_key = self.data(node.value[0][0]) if not merges or node.value[0] not in merges else None
        if first_key is not None and first_key not in new and not self.starts_line(node.start_mark.index):
            # `- name: a` loses `name`: deleting its line would take the dash with it.
            self.replace_node(node, new, indent)
            return
        merged = self.merged(merges, path)
        seen = set()
        for index, (key_node, value_node) in enumerate(node.value):
            if key_node.tag == _MERGE:
                continue
            key = self.data(key_node)
            seen.add(_key(key))
            where = f"{path}.{key}" if path else str(key)
            if key in new:
                self.update_child(value_node, new[key], indent + 2, (id(node), index), where)
                continue
            if key in merged:
                raise ItemError(
                    f"cannot drop `{where}` exactly: the merge key `<<` (line {merges[0][0].start_mark.line + 1}) "
                    "would provide it again; change the item by hand"
                )
            start = self.line_start(key_node.start_mark.index)
            self.replace(start, self.line_end(self.content_end(value_node, (id(node), index))), "")
        for key in merged:
            if _key(key) not in seen and key not in new:
                where = f"{path}.{key}" if path else str(key)
                raise ItemError(
                    f"cannot drop `{where}` exactly: it comes from the merge key `<<` "
                    f"(line {merges[0][0].start_mark.line + 1}), which other places may share; change the item by hand"
                )
        # Keys the mapping does not write itself; one a merge gives unchanged stays inherited.
        added = {k: v for k, v in new.items() if _key(k) not in seen and not (k in merged and same(merged[k], v))}
        if added:
            last = len(node.value) - 1
            at = self.line_end(self.content_end(node.value[-1][1], (id(node), last)))
            lead = "" if at == 0 or self.text[at - 1] == "\n" else "\n"
            text = "".join(dump_pair(k, v, indent, self.indentless) for k, v in added.items())
            self.replace(at, at, lead + text)

    def merged(self, merges: list[tuple[Node, Node]], path: str) -> dict[Any, Any]:
        """What the merge keys of a mapping provide, as YAML resolves them."""
        out: dict[Any, Any] = {}
        for _, value_node in merges:
            sources = value_node.value if isinstance(value_node, SequenceNode) else [value_node]
            for source in sources:
                for key, value in self.data(source).items():
                    out.setdefault(key, value)
        return out

    def update_sequence(self, node: SequenceNode, new: list[Any], path: str) -> None:
        entries = node.value
        site0 = (id(node), 0)
        dash = self.text.rfind("-", 0, self.start(entries[0], site0))
        dash_col = dash - self.entry_start(node, 0)
        old = [self.data(e) for e in entries]
        matcher = SequenceMatcher(a=[_key(v) for v in old], b=[_key(v) for v in new], autojunk=False)
        opcodes = matcher.get_opcodes()
        touches_first = any(
            tag != "equal" and i1 == 0 and (tag != "replace" or i2 - i1 != j2 - j1) for tag, i1, i2, j1, j2 in opcodes
        )
        if touches_first and not self.starts_line(dash):
            # `- - a`: the first entry shares its line with the parent's dash.
            self.replace_node(node, new, dash_col + 2)
            return
        for tag, i1, i2, j1, j2 in opcodes:
            if tag == "equal":
                continue
            if tag == "replace" and i2 - i1 == j2 - j1:
                for k in range(i2 - i1):
                    i = i1 + k
                    self.update_child(entries[i], new[j1 + k], dash_col + 2, (id(node), i), f"{path}[{i}]")
                continue
            if i2 > i1:  # delete (or the removal half of an uneven replace)
                start = self.entry_start_with_comments(node, i1)
                self.replace(start, self.line_end(self.content_end(entries[i2 - 1], (id(node), i2 - 1))), "")
            if j2 > j1:
                if i1 < len(entries):
                    at = self.entry_start_with_comments(node, i1)
                    lead = ""
                else:
                    at = self.line_end(self.content_end(entries[-1], (id(node), len(entries) - 1)))
                    lead = "" if self.text[at - 1] == "\n" else "\n"
                self.replace(at, at, lead + dump(new[j1:j2], dash_col, self.indentless))

    def value_start(self, node: Node) -> int:
        """Where a node's value starts: after its anchor (kept for its aliases) and tag (dropped)."""
        start = node.start_mark.index
        if id(node) not in self.doc.anchors:
            return start
        anchor = _ANCHOR_PROPERTY.match(self.text, start) or _ANCHOR_PROPERTY.search(self.text, start)
        if anchor is None:  # pragma: no cover - an anchored node starts with its anchor or tag
            return start
        # `&a value` → the value after `&a `; the anchor stays for the aliases that use it.
        self.replace(start, anchor.start(), "")
        return anchor.end()

    def replace_node(self, node: Node, new: Any, indent: int, span: tuple[int, int] | None = None) -> None:
        """Replace a node whose shape changes (or a scalar, or an alias) with freshly written text."""
        if span is None:
            start, end = self.value_start(node), self.content_end(node)
            keeps_anchor = start != node.start_mark.index
        else:
            (start, end), keeps_anchor = span, False
        indicator, at = self.indicator_before(node.start_mark.index if span is None else start)
        block = (isinstance(new, dict | list) and bool(new)) or is_block_string(new)
        if keeps_anchor:
            indicator, at = "&", start - 1  # the new value follows the anchor
        if isinstance(node, ScalarNode) and span is None and not block and not isinstance(new, dict | list):
            self.replace(start, end, (" " if keeps_anchor else "") + self.restyle_scalar(node, new))
            return
        if not block:
            if indicator:
                start = at + 1
            self.replace(start, end, " " + dump_flow(new) if indicator else dump_flow(new))
            return
        if isinstance(new, str):
            lead = " " if indicator else ""
            text = block_scalar(new, self.block_indent(node, indent) if span is None else indent)
            if self.text[end - 1 : end] != "\n":
                text = text.rstrip("\n")
            self.replace(at + 1 if indicator else start, end, lead + text)
            return
        if indicator == "-":
            col = at - self.line_start(at) + 2  # where the entry's content starts, after "- "
            body = dump(new, col, self.indentless)[col:]
            self.replace(at + 2, end, body.rstrip("\n"))
        elif indicator in (":", "&"):
            child = indent - 2 if isinstance(new, list) and self.indentless else indent
            self.replace(at + 1, end, "\n" + dump(new, child, self.indentless).rstrip("\n"))
        else:
            self.replace(start, end, dump(new, indent, self.indentless)[indent:].rstrip("\n"))

    def block_indent(self, node: Node, default: int) -> int:
        """The column an existing block scalar's lines start at, so unchanged lines stay as they are."""
        if not (isinstance(node, ScalarNode) and node.style in ("|", ">")):
            return default
        header_end = self.text.find("\n", node.start_mark.index)
        for line in self.text[header_end + 1 : node.end_mark.index].split("\n"):
            if line.strip():
                return len(line) - len(line.lstrip(" "))
        return default

    def restyle_flow(self, node: MappingNode | SequenceNode, new: dict[Any, Any] | list[Any]) -> str:
        """A flow sequence of strings keeps the quoting its first string had."""
        first = node.value[0] if isinstance(node, SequenceNode) and node.value else None
        if isinstance(first, ScalarNode) and isinstance(new, list) and all(isinstance(v, str) for v in new):
            return "[" + ", ".join(self.restyle_scalar(first, v, flow=True) for v in new) + "]"
        return dump_flow(new)

    def restyle_scalar(self, node: ScalarNode, new: Any, flow: bool = False) -> str:
        """The new scalar written in the old one's quoting style where that is possible."""
        if isinstance(new, str) and "\n" not in new:
            if node.style == "'" and new.isprintable():
                return "'" + new.replace("'", "''") + "'"
            if node.style == '"':
                return json.dumps(new, ensure_ascii=False)
        return scalar(new, flow=flow)


def _detect_indentless(root: Node) -> bool:
    """Whether block sequences under keys start at the key's column (kubectl's style)."""
    stack: list[Node] = [root]
    seen: set[int] = set()
    while stack:
        node = stack.pop()
        if id(node) in seen:
            continue
        seen.add(id(node))
        if isinstance(node, MappingNode):
            for key_node, value_node in node.value:
                if isinstance(value_node, SequenceNode) and not value_node.flow_style and value_node.value:
                    first = value_node.value[0]
                    return bool(first.start_mark.column - 2 <= key_node.start_mark.column)
                stack.append(value_node)
        elif isinstance(node, SequenceNode):
            stack.extend(node.value)
    return True


def update_text(text: str, new: Any, what: str = "item", frame: tuple[int | str, ...] = ()) -> str:
    """Return *text* changed as little as possible so that the node at *frame* reads as *new*."""
    doc = compose_document(text)
    node = at_frame(doc.root, frame)
    if node is None:
        if frame:  # pragma: no cover - the reader only frames nodes that exist
            raise EditError(f"editing {what}: nothing at {frame}; this is a bug in krmfn")
        return _checked(dump(new), new, what, frame)
    ctx = _Edits(text, _detect_indentless(node), doc)
    indent = node.value[0][0].start_mark.column if isinstance(node, MappingNode) and node.value else 0
    ctx.update(node, new, indent, "")
    out = text
    # Back to front, so offsets stay valid; of two inserts at one offset the later
    # (outer) one goes first, which leaves the inner one before it.
    ordered = sorted(enumerate(ctx.edits), key=lambda e: (e[1][0], e[1][1], e[0]), reverse=True)
    for _, (start, end, replacement) in ordered:
        out = out[:start] + replacement + out[end:]
    if doc.shared and not _reads_as(out, new, frame):
        raise _shared_anchor_error(ctx)
    return _checked(out, new, what, frame)


def _shared_anchor_error(ctx: _Edits) -> ItemError:
    """An edit landed inside an anchored value that aliases elsewhere also read."""
    names = [
        (ctx.doc.anchors[key], node)
        for key, node in _anchored_nodes(ctx)
        if any(node.start_mark.index <= s < ctx.content_end(node) for s, _, _ in ctx.edits)
    ]
    if not names:  # pragma: no cover - a failing read-back with aliases always has a touched anchor
        return ItemError("cannot be changed exactly: the change falls inside an anchor that aliases also read")
    name, node = names[0]
    return ItemError(
        f"cannot be changed exactly: the change falls inside the anchor `&{name}`, which aliases elsewhere in it "
        "also read; write the value out where it must differ, or make the change by hand",
        line=node.start_mark.line + 1,
    )


def _anchored_nodes(ctx: _Edits) -> list[tuple[int, Node]]:
    found: dict[int, Node] = {}
    stack = [ctx.doc.root] if ctx.doc.root is not None else []
    while stack:
        node = stack.pop()
        if id(node) in found:
            continue
        if id(node) in ctx.doc.shared:
            found[id(node)] = node
        if isinstance(node, MappingNode):
            stack.extend(n for pair in node.value for n in pair)
        elif isinstance(node, SequenceNode):
            stack.extend(node.value)
    return list(found.items())


def _reads_as(text: str, new: Any, frame: tuple[int | str, ...]) -> bool:
    try:
        node = at_frame(compose_document(text).root, frame)
        return same(None if node is None else to_data(node), new)
    except InputError:
        return False


def _checked(out: str, new: Any, what: str, frame: tuple[int | str, ...] = ()) -> str:
    try:
        node = at_frame(compose_document(out).root, frame)
        check = None if node is None else to_data(node)
    except InputError as exc:
        problem = exc.problem if isinstance(exc, ItemError) else str(exc)
        raise EditError(f"editing {what} produced invalid YAML ({problem}); this is a bug in krmfn") from None
    if not same(check, new):
        raise EditError(f"editing {what} did not produce the intended data; this is a bug in krmfn")
    return out
