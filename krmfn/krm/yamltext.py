"""Reading YAML into node trees with positions, and writing new YAML text.

Everything the function *reads* goes through :func:`compose` and :func:`to_data`;
everything it *writes* from scratch goes through :func:`dump`. Editing existing text
lives in :mod:`krmfn.krm.yamledit`, which needs the positions kept here.

PyYAML's C parser is used for speed; documents with anchors, or too deep for its C
composer, are composed from the same parser's events by :mod:`krmfn.krm.composer`. The
constructor is not used: :func:`to_data` walks the node tree itself so that it can refuse
alias bombs, repeated keys and values that do not fit their tags without quoting them,
resolve merge keys (``<<``) as YAML defines them, and keep timestamps as strings
(Kubernetes treats them as strings, and a datetime would not compare equal to what we
write back). Problems in a document raise :class:`~krmfn.errors.ItemError` with the line
within the text parsed; whoever parsed it says where that text is.
"""

from __future__ import annotations

import itertools
import json
import re
from collections.abc import Iterator
from typing import Any

import yaml
from yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode

from krmfn.errors import InputError, ItemError
from krmfn.krm.composer import MAX_DEPTH, Document, compose_events

try:  # pragma: no branch - the C loader ships with the PyYAML wheels we install
    from yaml import CSafeLoader as _Loader
except ImportError:  # pragma: no cover
    from yaml import SafeLoader as _Loader  # type: ignore[assignment]

#: More expanded nodes than this in one document means an alias bomb, not a manifest.
MAX_EXPANDED_NODES = 200_000
#: Python refuses to convert integers longer than this (``sys.get_int_max_str_digits``).
MAX_INT_DIGITS = 4300
#: The C composer recurses per nesting level; a text that may nest deeper takes the guarded one.
_C_COMPOSER_DEPTH = 5000

_TAG = "tag:yaml.org,2002:"
_STR = _TAG + "str"
_MERGE = _TAG + "merge"
#: ``=`` resolves to the YAML 1.1 value tag; as data it is the string it reads as.
_STRING_TAGS = {_STR, _TAG + "value", _TAG + "timestamp", _TAG + "binary"}
_CONSTRUCTED_TAGS = {_TAG + "int", _TAG + "float", _TAG + "bool", _TAG + "null"}
_COLLECTION_TAGS = {
    _TAG + "map": MappingNode,
    _TAG + "omap": SequenceNode,
    _TAG + "pairs": SequenceNode,
    _TAG + "set": MappingNode,
    _TAG + "seq": SequenceNode,
}
_scalar_constructor: Any = yaml.SafeLoader("")
_resolver: Any = yaml.resolver.Resolver()
# `&name` where an anchor can stand: after a space, an indicator or at a line start.
_ANCHOR = re.compile(r"(?:^|[\s\[{,])&[^\s]")


#: libyaml's parser takes time quadratic in the nesting of flow collections (20 s at 100,000
#: levels); no manifest comes near this, so deeper is refused before libyaml sees it.
MAX_FLOW_NESTING = 5000
_BRACKETS = re.compile(r"[^\[\]{}]+")
_QUOTED_OR_COMMENT = re.compile(r""""(?:[^"\\\n]|\\.)*"|'(?:[^'\n]|'')*'|(?<!\S)\#[^\n]*""")


def flow_nesting_bound(text: str) -> int:
    """An upper bound of how deep flow collections nest in *text* (cheap unless it has many)."""
    if text.count("[") + text.count("{") <= MAX_FLOW_NESTING:
        return 0
    deepest = _deepest(_BRACKETS.sub("", text))
    if deepest > MAX_FLOW_NESTING:  # brackets in strings and comments may be unbalanced: without them
        deepest = _deepest(_BRACKETS.sub("", _QUOTED_OR_COMMENT.sub("", text)))
    return deepest


_STEP = {"[": 1, "{": 1, "]": -1, "}": -1}


def _deepest(brackets: str) -> int:
    # map() over a dict lookup, not a generator: one C loop over the brackets, no Python frame each
    return max(itertools.accumulate(map(_STEP.__getitem__, brackets)), default=0)


def syntax_check(text: str) -> None:
    """Parse *text* with libyaml without building Python objects; raise InputError if invalid."""
    if flow_nesting_bound(text) > MAX_FLOW_NESTING:
        raise InputError(
            f"input must not nest flow collections (`[`, `{{`) deeper than {MAX_FLOW_NESTING} levels "
            "(YAML parsers take time quadratic in that depth)"
        )
    loader: Any = _Loader(text)
    try:
        loader.raw_parse()
    except yaml.MarkedYAMLError as exc:
        raise InputError(describe_yaml_error(exc)) from None
    except yaml.reader.ReaderError as exc:  # a character YAML does not allow (control characters)
        raise InputError(
            f"input must not contain the control character #x{exc.character:04x} (at offset {exc.position})"
        ) from None
    except yaml.YAMLError as exc:  # pragma: no cover - libyaml marks every other error
        raise InputError(f"input must be valid YAML: {type(exc).__name__}") from None
    finally:
        loader.dispose()


def describe_yaml_error(exc: yaml.MarkedYAMLError, line_offset: int = 0) -> str:
    """One line naming the problem and its position, never quoting the input.

    PyYAML's own message prints the offending line, which may hold a secret value.
    """
    mark = exc.problem_mark or exc.context_mark
    where = f" at line {mark.line + 1 + line_offset}, column {mark.column + 1}" if mark else ""
    return f"input must be valid YAML: {_problem_of(exc)}{where}"


def _problem_of(exc: yaml.MarkedYAMLError) -> str:
    """libyaml's problem, with its context when that reads as one phrase (``while scanning…``)."""
    problem = exc.problem or exc.context or "invalid YAML"
    if exc.context and exc.problem:
        return f"{problem} ({exc.context})"
    return problem


def compose(text: str, line_offset: int = 0) -> Node | None:
    """Compose one YAML document into a node tree whose marks index *text*."""
    return compose_document(text, line_offset).root


def compose_document(text: str, line_offset: int = 0) -> Document:
    """Compose one document, with what :mod:`krmfn.krm.yamledit` needs to know of its aliases.

    Errors are :class:`ItemError`s whose line counts from *line_offset* + 1.
    """
    loader: Any = _Loader(text)
    try:
        if not _needs_guarded_composer(text):
            return Document(loader.get_single_node())
        return compose_events(loader)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line = None if mark is None else mark.line + 1 + line_offset
        column = "" if mark is None else f", column {mark.column + 1}"
        raise ItemError(f"must be valid YAML: {_problem_of(exc)}{column}", line=line) from None
    except yaml.YAMLError as exc:
        raise ItemError(f"must be valid YAML ({type(exc).__name__})") from None
    except ItemError as exc:
        if exc.line is not None:
            raise ItemError(exc.problem, line=exc.line + line_offset) from None
        raise
    finally:
        loader.dispose()


def _needs_guarded_composer(text: str) -> bool:
    """Anchors (which may be re-defined), or a text that could nest past the C composer's stack."""
    if "&" in text and _ANCHOR.search(text):
        return True
    if len(text) < _C_COMPOSER_DEPTH:
        return False
    # Nesting needs a bracket or a column per level; a short text or short lines cannot nest deep.
    longest = max(map(len, text.split("\n")))
    return text.count("[") + text.count("{") + longest >= _C_COMPOSER_DEPTH


def compose_all(text: str) -> Iterator[Node]:
    """Compose every document of a stream."""
    loader: Any = _Loader(text)
    try:
        while loader.check_node():
            yield loader.get_node()
    except yaml.MarkedYAMLError as exc:
        raise InputError(describe_yaml_error(exc)) from None
    finally:
        loader.dispose()


def scalar_value(node: ScalarNode, path: str = "") -> Any:
    """The Python value of a scalar, with YAML 1.1 resolution for the plain scalars that need it.

    A value that does not fit its tag (``!!int hunter2``) is an :class:`ItemError` that names
    the place and the tag, never the value.
    """
    tag = node.tag
    if tag in _STRING_TAGS:
        if tag == _TAG + "timestamp" and _resolver.resolve(ScalarNode, node.value, (True, False)) != tag:
            raise _unfit(node, path)
        return node.value
    if tag not in _CONSTRUCTED_TAGS:
        if tag in _COLLECTION_TAGS:
            raise _unfit(node, path)
        return node.value  # an application tag (`!secret`): the text, as kubectl reads it
    if tag == _TAG + "int" and len(node.value) > MAX_INT_DIGITS:
        raise ItemError(
            f"must not hold an integer of more than {MAX_INT_DIGITS} digits (at `{path or '.'}`)",
            line=node.start_mark.line + 1,
        )
    try:
        return _scalar_constructor.yaml_constructors[tag](_scalar_constructor, node)
    except Exception:  # noqa: BLE001 - any failure means the text does not fit the tag
        raise _unfit(node, path) from None


def _unfit(node: Node, path: str) -> ItemError:
    short = node.tag.replace(_TAG, "!!")
    return ItemError(
        f"must hold a value that fits its tag `{short}` at `{path or '.'}`; it does not (the value is not shown)",
        line=node.start_mark.line + 1,
    )


def to_data(node: Node, what: str = "document") -> Any:
    """Convert a node tree to plain Python data, refusing alias bombs and repeated keys.

    Merge keys (``<<: *defaults``) are resolved as YAML 1.1 defines them: the merged
    mappings' keys come first (the first mapping of a list wins), keys written in the
    mapping itself override them.
    """
    budget = [MAX_EXPANDED_NODES]

    def convert(n: Node, path: str, depth: int) -> Any:
        budget[0] -= 1
        if budget[0] < 0:
            raise ItemError(
                f"must not expand to more than {MAX_EXPANDED_NODES} nodes "
                "(YAML anchors and aliases that expand without bound are refused)"
            )
        if depth > MAX_DEPTH:
            raise ItemError(f"must not nest deeper than {MAX_DEPTH} levels", line=n.start_mark.line + 1)
        if isinstance(n, ScalarNode):
            return scalar_value(n, path)
        expected = _COLLECTION_TAGS.get(n.tag)
        if (
            (expected is not None and not isinstance(n, expected))
            or n.tag in _CONSTRUCTED_TAGS
            or n.tag in _STRING_TAGS
        ):
            raise _unfit(n, path)
        if isinstance(n, SequenceNode):
            return [convert(child, f"{path}[{i}]", depth + 1) for i, child in enumerate(n.value)]
        assert isinstance(n, MappingNode)
        merged: dict[Any, Any] = {}
        out: dict[Any, Any] = {}
        for key_node, value_node in n.value:
            if key_node.tag == _MERGE:
                for source in _merge_sources(value_node, path):
                    for key, value in convert(source, path, depth).items():
                        merged.setdefault(key, value)
                continue
            key = convert(key_node, path, depth + 1)
            if not isinstance(key, str | int | float | bool) and key is not None:
                raise ItemError(f"must use scalar mapping keys at `{path or '.'}`", line=key_node.start_mark.line + 1)
            where = f"{path}.{key}" if path else str(key)
            if key in out:
                raise ItemError(
                    f"must not repeat a mapping key: `{where}` appears twice", line=key_node.start_mark.line + 1
                )
            out[key] = convert(value_node, where, depth + 1)
        if merged:
            return {**merged, **out}
        return out

    return convert(node, "", 0)


def _merge_sources(node: Node, path: str) -> list[Node]:
    """The mappings a merge key names, in order of precedence."""
    if isinstance(node, MappingNode):
        return [node]
    if isinstance(node, SequenceNode) and all(isinstance(n, MappingNode) for n in node.value):
        return list(node.value)
    raise ItemError(
        f"must merge (`<<`) a mapping or a list of mappings at `{path or '.'}`", line=node.start_mark.line + 1
    )


def at_frame(node: Node | None, frame: tuple[int | str, ...]) -> Node | None:
    """The node *frame* names inside *node*: an index into a sequence, a key of a mapping."""
    for step in frame:
        if isinstance(step, int):
            node = node.value[step] if isinstance(node, SequenceNode) and len(node.value) > step else None
        elif isinstance(node, MappingNode):
            node = next((v for k, v in node.value if isinstance(k, ScalarNode) and k.value == step), None)
        else:
            node = None
    return node


def load(text: str, what: str = "") -> Any:
    """Compose and convert one document (``None`` for an empty one); errors name it *what*."""
    try:
        node = compose(text)
        return None if node is None else to_data(node, what)
    except ItemError as exc:
        raise ItemError(exc.problem, line=exc.line, subject=what) from None


# --- writing -------------------------------------------------------------------------

# A leading "-" is an indicator only before a space, so `--flag=x` may stay plain.
_PLAIN_SAFE = re.compile(r"^(?:[A-Za-z0-9_/$.+=^~]|-(?=[^ \n])(?!--))(?:[A-Za-z0-9_/$.{}\[\]@%+=^~:,\-]| (?![ #]))*$")
_FLOW_UNSAFE = re.compile(r"[\[\]{},]")


def scalar(value: Any, flow: bool = False) -> str:
    """A scalar: plain when it reads back as the same string, else double-quoted.

    In a flow collection (*flow*) the flow indicators also force quotes.
    """
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return json.dumps(value)
    text = str(value)
    if (
        _PLAIN_SAFE.fullmatch(text)
        and not text.endswith((":", " "))
        and ": " not in text
        and not (flow and _FLOW_UNSAFE.search(text))
        and _resolver.resolve(ScalarNode, text, (True, False)) == _STR
    ):
        return text
    return json.dumps(text, ensure_ascii=False)


def block_scalar(text: str, indent: int) -> str:
    """A literal block scalar (header plus lines, ending in a newline) for multi-line strings."""
    if text.endswith(("\n\n", "\n \n")):
        chomp = "+"
    elif text.endswith("\n"):
        chomp = ""
    else:
        chomp = "-"
    body = text[:-1] if text.endswith("\n") else text
    lines = body.split("\n")
    pad = " " * indent
    rendered = "".join(f"{pad}{line}\n" if line else "\n" for line in lines)
    return f"|{chomp}\n{rendered}"


def is_block_string(value: Any) -> bool:
    """Whether a string reads back unchanged from a literal block scalar.

    Lines with trailing spaces, whitespace-only lines, tabs and a leading space or newline
    do not survive ``|`` reliably; such strings are written double-quoted instead.
    """
    if not isinstance(value, str) or "\n" not in value.rstrip("\n"):
        return False
    if value.startswith((" ", "\n")) or "\t" in value or "\r" in value:
        return False
    return all(line == line.rstrip(" ") and (line.isprintable() or not line) for line in value.split("\n"))


def dump(value: Any, indent: int = 0, indentless: bool = True) -> str:
    """Block-style YAML for *value* at *indent* columns; always ends in a newline.

    Sequences under a mapping key are indentless (``- `` at the key's column) like kubectl
    and kyaml write them, unless *indentless* is false.
    """
    if isinstance(value, dict) and value:
        return _dump_mapping(value, indent, indentless)
    if isinstance(value, list) and value:
        return _dump_sequence(value, indent, indentless)
    return " " * indent + _flow_leaf(value) + "\n"


def _flow_leaf(value: Any) -> str:
    if isinstance(value, dict):
        return "{}"
    if isinstance(value, list):
        return "[]"
    return scalar(value)


def dump_pair(key: Any, value: Any, indent: int, indentless: bool = True) -> str:
    """``key: value`` lines for a key written at *indent*."""
    return f"{' ' * indent}{scalar(key)}:{_dump_value_after_key(value, indent, indentless)}"


def _dump_value_after_key(value: Any, indent: int, indentless: bool) -> str:
    """What follows ``key:`` for a key written at *indent*."""
    if isinstance(value, dict) and value:
        return "\n" + _dump_mapping(value, indent + 2, indentless)
    if isinstance(value, list) and value:
        return "\n" + _dump_sequence(value, indent if indentless else indent + 2, indentless)
    if is_block_string(value):
        return " " + block_scalar(value, indent + 2)
    return " " + _flow_leaf(value) + "\n"


def _dump_mapping(value: dict[Any, Any], indent: int, indentless: bool) -> str:
    return "".join(dump_pair(key, child, indent, indentless) for key, child in value.items())


def _dump_sequence(value: list[Any], indent: int, indentless: bool) -> str:
    pad = " " * indent
    parts = []
    for child in value:
        if isinstance(child, dict) and child:
            inner = _dump_mapping(child, indent + 2, indentless)
            parts.append(f"{pad}- {inner[indent + 2 :]}")
        elif isinstance(child, list) and child:
            inner = _dump_sequence(child, indent + 2, indentless)
            parts.append(f"{pad}- {inner[indent + 2 :]}")
        elif is_block_string(child):
            parts.append(f"{pad}- {block_scalar(child, indent + 2)}")
        else:
            parts.append(f"{pad}- {_flow_leaf(child)}\n")
    return "".join(parts)


def dump_flow(value: Any) -> str:
    """One-line flow YAML (JSON-compatible) for *value*."""
    if isinstance(value, dict):
        return "{" + ", ".join(f"{scalar(k, flow=True)}: {dump_flow(v)}" for k, v in value.items()) + "}"
    if isinstance(value, list):
        return "[" + ", ".join(dump_flow(v) for v in value) + "]"
    return scalar(value, flow=True)
