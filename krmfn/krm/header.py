"""What identifies an item, read with a line scan where the text allows it.

Every input item's header (apiVersion, kind, name, namespace) and annotations are asked for,
but only the few items a concern manages are ever parsed. :func:`scan` reads them from
block-style text without a parser, and returns None whenever a parser is needed to be sure:
an odd top-level line, an anchor, a value in flow style, or a line where a quoted scalar or
flow collection stays open (libyaml lets such a scalar's next lines start at any column, so
``kind: X"`` there is text, not a key). :func:`composed_header` reads the node tree instead.
Neither raises: a document that is not a mapping, or lacks a field, has empty fields.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

import yaml
from yaml.nodes import MappingNode, Node, ScalarNode

_STRINGS = {"tag:yaml.org,2002:str", "tag:yaml.org,2002:value"}
_resolver: Any = yaml.resolver.Resolver()


@dataclass(frozen=True)
class Header:
    """What identifies a resource; a field the item does not have (as a string) is ``""``."""

    api_version: str = ""
    kind: str = ""
    name: str = ""
    namespace: str = ""

    @property
    def group(self) -> str:
        return self.api_version.rpartition("/")[0]

    @property
    def is_resource(self) -> bool:
        """apiVersion, kind and metadata.name are non-empty strings."""
        return bool(self.api_version and self.kind and self.name)


EMPTY = Header()


@dataclass(frozen=True)
class Scan:
    """A line scan's findings: *annotations* is None when they need a parser."""

    header: Header
    annotations: dict[str, str] | None
    sops: bool


# --- open flow scalars and collections -------------------------------------------------

_FLOWY_LINE = re.compile(r"^[^\n\"'\[{]*[\"'\[{].*$", re.M)
# A line whose quotes all close on it: plain runs, a quote or hash glued to a word (`don't`,
# `a#b`), a comment, a quoted scalar, a bracket (counted separately).
_CLOSED_LINE = re.compile(
    r"""(?:[^"'\[\]{}#\n]++|(?<=[^\s\[{,:])["'#]|\#.*+|"(?:[^"\\\n]|\\.)*+"|'(?:[^'\n]|'')*+'|[\[\]{}])*+"""
)
_BLOCK_HEADER = re.compile(r"(?:^|[ :-])[|>][-+1-9]*[ \t]*(?:#.*)?$")


def flow_closed(text: str) -> bool:
    """True when no line leaves a quoted scalar or a flow collection open (block scalars aside).

    Conservative: a line that merely might (an odd quote in plain text) counts as open.
    """
    inside_until = -1  # the end of the block scalar the last open-looking line was in
    for match in _FLOWY_LINE.finditer(text):
        if match.start() < inside_until:
            continue
        line = match.group()
        if _CLOSED_LINE.fullmatch(line) and line.count("[") + line.count("{") == line.count("]") + line.count("}"):
            continue
        end = _block_scalar_end(text, match.start(), len(line) - len(line.lstrip(" ")))
        if end is None:
            return False
        inside_until = end
    return True


def _block_scalar_end(text: str, start: int, indent: int) -> int | None:
    """Where the block scalar holding the line at *start* ends, or None if it is in none.

    A block scalar's content is every line after its header (``key: |``) indented more than
    the header's line; the first less indented line that is not blank ends it.
    """
    end = start - 1
    while end > 0:
        begin = text.rfind("\n", 0, end) + 1
        line = text[begin:end]
        stripped = line.lstrip(" ")
        header_indent = len(line) - len(stripped)
        if stripped and header_indent < indent:
            if stripped.startswith("#") or not _BLOCK_HEADER.search(line):
                return None
            after = _dedent_line(header_indent).search(text, start)
            return len(text) if after is None else after.start()
        end = begin - 1
    return None


@lru_cache(maxsize=64)
def _dedent_line(indent: int) -> re.Pattern[str]:
    """A line that is not blank and is indented *indent* spaces or less."""
    return re.compile(rf"^ {{0,{indent}}}[^ \n]", re.M)


# --- the scan --------------------------------------------------------------------------


@lru_cache(maxsize=16)
def _patterns(column: int) -> tuple[re.Pattern[str], re.Pattern[str]]:
    """Top-level key lines, and lines a block mapping at *column* cannot hold as written."""
    pad = " " * column
    top = re.compile(rf"^{pad}(apiVersion|kind|metadata|sops):(.*)$", re.M)
    odd = re.compile(rf"^(?!{pad}(?:[A-Za-z_][\w.-]*:(?: |$)|-(?: |$)|#)|{pad} | *#| *$)", re.M)
    return top, odd


def scan(text: str, column: int = 0, *, flow_checked: bool = False) -> Scan | None:
    """Header, annotations and SOPS mark of block-style text whose keys start at *column*.

    For a sequence entry (``- apiVersion: v1`` at some indentation) *column* is where its
    content starts; the dash on the first line is read as indentation. *flow_checked* says
    :func:`flow_closed` already holds for the whole input. None when a parser is needed.
    """
    if column:
        text = " " * column + text[column:]
    top, odd = _patterns(column)
    if odd.search(text) or ("&" in text and _ANCHOR.search(text)):
        return None
    if not flow_checked and not flow_closed(text):
        return None
    found: dict[str, tuple[str, int]] = {}
    for match in top.finditer(text):
        if match.group(1) in found:
            return None
        found[match.group(1)] = (match.group(2), match.end())
    values = {}
    for key in ("apiVersion", "kind"):
        if key in found:
            value = _value(text, *found[key], column)
            if value is None:
                return None
            values[key] = value
    meta: dict[str, str] = {}
    annotations: dict[str, str] | None = {}
    if "metadata" in found:
        rest, at = found["metadata"]
        if rest.strip() and not rest.strip().startswith("#"):
            return None  # flow style, an anchor, a tag: the parser reads it
        children = _children(text, at + 1, column)
        if children is None:
            return None
        for key in ("name", "namespace"):
            if key in children:
                rest, at, indent = children[key]
                value = _value(text, rest, at, indent)
                if value is None:
                    return None
                meta[key] = value
        if "annotations" in children:
            rest, at, _ = children["annotations"]
            annotations = None if rest.strip() and not rest.strip().startswith("#") else _annotations(text, at + 1)
    header = Header(
        values.get("apiVersion", ""), values.get("kind", ""), meta.get("name", ""), meta.get("namespace", "")
    )
    return Scan(header, annotations, "sops" in found)


_ANCHOR = re.compile(r"(?:^|[\s\[{,])&[^\s]")


def _value(text: str, rest: str, end: int, indent: int) -> str | None:
    """The string after ``key:`` (*rest*, the line ending at *end*), or None if a parser must say.

    Nothing after the colon is null (not a string) unless a more indented line follows: then
    the value is there, in a form the scan does not read.
    """
    value = simple_scalar(rest)
    if value is NOT_A_STRING and (not rest.strip() or rest.strip().startswith("#")):
        pos = end + 1
        while pos < len(text):
            nl = text.find("\n", pos)
            line = text[pos : len(text) if nl < 0 else nl]
            stripped = line.lstrip(" ")
            if stripped and not stripped.startswith("#"):
                return None if len(line) - len(stripped) > indent else NOT_A_STRING
            if nl < 0:
                break
            pos = nl + 1
    return value


_CONTENT_AT = re.compile(r"^( *)[^ \n#]", re.M)


@lru_cache(maxsize=64)
def _block_end(column: int) -> re.Pattern[str]:
    """The first line of content (not a comment) at *column* or less: where a nested block ends."""
    return re.compile(rf"^ {{0,{column}}}[^ \n#]", re.M)


@lru_cache(maxsize=64)
def _child_keys(indent: int) -> re.Pattern[str]:
    return re.compile(rf"^ {{{indent}}}(name|namespace|annotations)([ \t]*):(.*)$", re.M)


def _children(text: str, at: int, column: int) -> dict[str, tuple[str, int, int]] | None:
    """The ``name``, ``namespace`` and ``annotations`` lines one level under the key that ends at
    *at*; None when one is repeated or written oddly (``name :``)."""
    found = _block_end(column).search(text, at)
    end = len(text) if found is None else found.start()
    first = _CONTENT_AT.search(text, at, end)
    if first is None:
        return {}
    indent = len(first.group(1))
    out: dict[str, tuple[str, int, int]] = {}
    for match in _child_keys(indent).finditer(text, at, end):
        key = match.group(1)
        if key in out or match.group(2):
            return None
        out[key] = (match.group(3), match.end(), indent)
    return out


_ANNOTATION = re.compile(r"""^( +)([^\s#'"{}\[\],&*!|>%@`][^:\n]*?|"[^"\\\n]*"|'[^'\n]*'):(?: (.*))?$""")


def _annotations(text: str, at: int) -> dict[str, str] | None:
    """``key: value`` lines of an annotations block, or None when a value needs a parser."""
    out: dict[str, str] = {}
    indent = None
    pos = at
    while pos < len(text):
        end = text.find("\n", pos)
        end = len(text) if end < 0 else end
        line = text[pos:end]
        pos = end + 1
        stripped = line.lstrip(" ")
        if not stripped or stripped.startswith("#"):
            continue
        here = len(line) - len(stripped)
        if indent is None:
            indent = here
        if here < indent:
            break
        match = _ANNOTATION.match(line)
        if here > indent or match is None:
            return None  # a value over several lines, a nested mapping: the parser reads it
        key = match.group(2)
        if key[0] in "'\"":
            key = key[1:-1]
        value = simple_scalar(match.group(3) or "")
        if value is None or key in out:
            return None
        if value is not NOT_A_STRING:
            out[key] = value
    return out


class _NotAString(str):
    """``""`` for a header field; an annotation scan drops it (a number, a boolean, null)."""

    __slots__ = ()


NOT_A_STRING = _NotAString("")


def simple_scalar(raw: str) -> str | None:
    """The string a one-line scalar reads as when that is clear without a parser, else None.

    A plain scalar that YAML reads as a number, a boolean or null is not a string:
    :data:`NOT_A_STRING`, which equals ``""``.
    """
    value = raw.strip()
    hash_at = value.find(" #")
    if hash_at >= 0 and not value.startswith(("'", '"')):
        value = value[:hash_at].rstrip()
    if not value:
        return NOT_A_STRING
    if value[0] == '"':
        match = re.fullmatch(r'"([^"\\]*)"(?:\s+#.*)?', value)
        return match.group(1) if match else None
    if value[0] == "'":
        match = re.fullmatch(r"'([^']*)'(?:\s+#.*)?", value)
        return match.group(1) if match else None
    if value[0] in "&*!|>%@`{[#-?:" or ": " in value or value.endswith(":"):
        return None
    if value[0] in "0123456789+.~nNtTfFyYoO" and _resolver.resolve(ScalarNode, value, (True, False)) not in _STRINGS:
        return NOT_A_STRING
    return value


def composed_header(node: Node | None) -> Header:
    """The header of a composed document; empty fields for what is missing or not a string."""
    top = _string_children(node, ("apiVersion", "kind", "metadata"))
    if top is None:
        return EMPTY
    meta = _string_children(top.get("metadata"), ("name", "namespace")) or {}
    return Header(
        _string(top.get("apiVersion")),
        _string(top.get("kind")),
        _string(meta.get("name")),
        _string(meta.get("namespace")),
    )


def composed_annotations(node: Node | None) -> dict[str, str]:
    """String annotations of a composed document (aliases are not followed into values)."""
    meta = _string_children((_string_children(node, ("metadata",)) or {}).get("metadata"), ("annotations",)) or {}
    block = _string_children(meta.get("annotations"), ()) or {}
    return {key: value.value for key, value in block.items() if isinstance(value, ScalarNode) and value.tag in _STRINGS}


def _string_children(node: Node | None, wanted: tuple[str, ...]) -> dict[str, Node] | None:
    """A mapping node's children by string key, first occurrence; None if not a mapping or if
    one of the *wanted* keys is repeated (which of the two it is, is the parser's error to give)."""
    if not isinstance(node, MappingNode):
        return None
    out: dict[str, Node] = {}
    for key, value in node.value:
        if isinstance(key, ScalarNode) and key.tag in _STRINGS:
            if key.value in out:
                if key.value in wanted:
                    return None
                continue
            out[key.value] = value
    return out


def _string(node: Node | None) -> str:
    return node.value if isinstance(node, ScalarNode) and node.tag in _STRINGS else ""
