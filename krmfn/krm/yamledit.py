"""Change YAML text into new data while keeping everything the change does not touch.

:func:`update_text` walks the node tree of the old text beside the new data and edits only
the spans whose data differ: a mapping loses or gains single keys, a sequence keeps the
lines (and comments) of entries that stay, a scalar keeps its quoting style. Comments,
key order, block scalars and flow style elsewhere are left byte-for-byte.

The result is read back and compared with the intended data; a mismatch is a bug here and
raises :class:`~krmfn.errors.EditError` instead of writing something else than meant.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from difflib import SequenceMatcher
from typing import Any

from yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode

from krmfn.errors import EditError, InputError
from krmfn.krm.yamltext import block_scalar, compose, dump, dump_flow, dump_pair, is_block_string, scalar, to_data


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
    edits: list[tuple[int, int, str]] = field(default_factory=list)
    cache: dict[int, Any] = field(default_factory=dict)

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

    def line_start(self, pos: int) -> int:
        return self.text.rfind("\n", 0, pos) + 1

    def line_end(self, pos: int) -> int:
        """The index just past the newline that ends the line holding ``pos - 1``."""
        if pos > 0 and self.text[pos - 1] == "\n":
            return pos
        nl = self.text.find("\n", pos)
        return len(self.text) if nl < 0 else nl + 1

    def content_end(self, node: Node) -> int:
        """End of the node's own text, without the blank lines and comments PyYAML adds."""
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
            return self.content_end(last)
        return node.end_mark.index

    def starts_line(self, pos: int) -> bool:
        """Whether only indentation stands before *pos* on its line."""
        return not self.text[self.line_start(pos) : pos].strip()

    def entry_start(self, node: Node) -> int:
        """Start of the line holding the ``-`` that introduces a sequence entry."""
        dash = self.text.rfind("-", 0, node.start_mark.index)
        return self.line_start(dash)

    def entry_start_with_comments(self, node: Node) -> int:
        """Like :meth:`entry_start`, but before the comment lines right above the entry.

        A comment written on its own line above an entry is about that entry: it goes
        where the entry goes, and new entries are inserted above it, not between the two.
        """
        start = self.entry_start(node)
        if not self.starts_line(self.text.rfind("-", 0, node.start_mark.index)):
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

    def update(self, node: Node, new: Any, indent: int) -> None:
        """Make *node* hold *new*; *indent* is the column its block children start at."""
        if same(self.data(node), new):
            return
        if isinstance(node, MappingNode) and not node.flow_style and node.value and isinstance(new, dict) and new:
            self.update_mapping(node, new)
        elif isinstance(node, SequenceNode) and not node.flow_style and node.value and isinstance(new, list) and new:
            self.update_sequence(node, new)
        elif isinstance(node, MappingNode | SequenceNode) and node.flow_style and isinstance(new, dict | list):
            self.replace(node.start_mark.index, node.end_mark.index, self.restyle_flow(node, new))
        else:
            self.replace_node(node, new, indent)

    def update_mapping(self, node: MappingNode, new: dict[Any, Any]) -> None:
        indent = node.value[0][0].start_mark.column
        first_key = self.data(node.value[0][0])
        if first_key not in new and not self.starts_line(node.start_mark.index):
            # `- name: a` loses `name`: deleting its line would take the dash with it.
            self.replace_node(node, new, indent)
            return
        seen = set()
        for key_node, value_node in node.value:
            key = self.data(key_node)
            seen.add(_key(key))
            if key not in new:
                start = self.line_start(key_node.start_mark.index)
                self.replace(start, self.line_end(self.content_end(value_node)), "")
            else:
                self.update(value_node, new[key], indent + 2)
        added = {k: v for k, v in new.items() if _key(k) not in seen}
        if added:
            at = self.line_end(self.content_end(node.value[-1][1]))
            lead = "" if at == 0 or self.text[at - 1] == "\n" else "\n"
            text = "".join(dump_pair(k, v, indent, self.indentless) for k, v in added.items())
            self.replace(at, at, lead + text)

    def update_sequence(self, node: SequenceNode, new: list[Any]) -> None:
        entries = node.value
        dash_col = self.text.rfind("-", 0, entries[0].start_mark.index) - self.entry_start(entries[0])
        old = [self.data(e) for e in entries]
        matcher = SequenceMatcher(a=[_key(v) for v in old], b=[_key(v) for v in new], autojunk=False)
        opcodes = matcher.get_opcodes()
        dash = self.text.rfind("-", 0, entries[0].start_mark.index)
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
                    self.update(entries[i1 + k], new[j1 + k], dash_col + 2)
                continue
            if i2 > i1:  # delete (or the removal half of an uneven replace)
                start = self.entry_start_with_comments(entries[i1])
                self.replace(start, self.line_end(self.content_end(entries[i2 - 1])), "")
            if j2 > j1:
                if i1 < len(entries):
                    at = self.entry_start_with_comments(entries[i1])
                    lead = ""
                else:
                    at = self.line_end(self.content_end(entries[-1]))
                    lead = "" if self.text[at - 1] == "\n" else "\n"
                self.replace(at, at, lead + dump(new[j1:j2], dash_col, self.indentless))

    def replace_node(self, node: Node, new: Any, indent: int) -> None:
        """Replace a node whose shape changes (or a scalar) with freshly written text."""
        start, end = node.start_mark.index, self.content_end(node)
        indicator, at = self.indicator_before(start)
        block = (isinstance(new, dict | list) and bool(new)) or is_block_string(new)
        if isinstance(node, ScalarNode) and not block and not isinstance(new, dict | list):
            self.replace(start, end, self.restyle_scalar(node, new))
            return
        if not block:
            if indicator:
                start = at + 1
            self.replace(start, end, " " + dump_flow(new) if indicator else dump_flow(new))
            return
        if isinstance(new, str):
            lead = " " if indicator else ""
            text = block_scalar(new, self.block_indent(node, indent))
            if self.text[end - 1 : end] != "\n":
                text = text.rstrip("\n")
            self.replace(at + 1 if indicator else start, end, lead + text)
            return
        if indicator == "-":
            col = at - self.line_start(at) + 2  # where the entry's content starts, after "- "
            body = dump(new, col, self.indentless)[col:]
            self.replace(at + 2, end, body.rstrip("\n"))
        elif indicator == ":":
            child = indent - 2 if isinstance(new, list) and self.indentless else indent
            self.replace(at + 1, end, "\n" + dump(new, child, self.indentless).rstrip("\n"))
        else:
            self.replace(start, end, dump(new, 0, self.indentless).rstrip("\n"))

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
    while stack:
        node = stack.pop()
        if isinstance(node, MappingNode):
            for key_node, value_node in node.value:
                if isinstance(value_node, SequenceNode) and not value_node.flow_style and value_node.value:
                    first = value_node.value[0]
                    return bool(first.start_mark.column - 2 <= key_node.start_mark.column)
                stack.append(value_node)
        elif isinstance(node, SequenceNode):
            stack.extend(node.value)
    return True


def _has_aliases(root: Node) -> bool:
    seen: set[int] = set()
    stack: list[Node] = [root]
    while stack:
        node = stack.pop()
        if id(node) in seen:
            return True
        seen.add(id(node))
        if isinstance(node, MappingNode):
            for key_node, value_node in node.value:
                stack.extend((key_node, value_node))
        elif isinstance(node, SequenceNode):
            stack.extend(node.value)
    return False


def update_text(text: str, new: Any, what: str = "item") -> str:
    """Return *text* changed as little as possible so that it reads as *new*."""
    root = compose(text)
    if root is None:
        return _checked(dump(new), new, what)
    ctx = _Edits(text, _detect_indentless(root))
    ctx.update(root, new, 0)
    out = text
    # Back to front, so offsets stay valid; of two inserts at one offset the later
    # (outer) one goes first, which leaves the inner one before it.
    ordered = sorted(enumerate(ctx.edits), key=lambda e: (e[1][0], e[1][1], e[0]), reverse=True)
    for _, (start, end, replacement) in ordered:
        out = out[:start] + replacement + out[end:]
    if _has_aliases(root) and not _reads_as(out, new):
        # An edit landed on an anchored node that an alias elsewhere shares; only a
        # rewrite without aliases can change one use and not the other.
        out = dump(new)
    return _checked(out, new, what)


def _reads_as(text: str, new: Any) -> bool:
    try:
        node = compose(text)
        return same(None if node is None else to_data(node), new)
    except InputError:
        return False


def _checked(out: str, new: Any, what: str) -> str:
    try:
        node = compose(out)
        check = None if node is None else to_data(node)
    except InputError as exc:
        raise EditError(f"editing {what} produced invalid YAML ({exc}); this is a bug in krmfn") from None
    if not same(check, new):
        raise EditError(f"editing {what} did not produce the intended data; this is a bug in krmfn")
    return out
