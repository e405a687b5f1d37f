"""Reading YAML into node trees with positions, and writing new YAML text.

Everything the function *reads* goes through :func:`compose` and :func:`to_data`;
everything it *writes* from scratch goes through :func:`dump`. Editing existing text
lives in :mod:`krmfn.krm.yamledit`, which needs the positions kept here.

PyYAML's C parser is used for speed. Its constructor is not: :func:`to_data` walks the
node tree itself so that it can refuse alias bombs and duplicate keys, and so that
timestamps stay strings (Kubernetes treats them as strings, and a datetime would not
compare equal to what we write back).
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from typing import Any

import yaml
from yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode

from krmfn.errors import InputError

try:  # pragma: no branch - the C loader ships with the PyYAML wheels we install
    from yaml import CSafeLoader as _Loader
except ImportError:  # pragma: no cover
    from yaml import SafeLoader as _Loader  # type: ignore[assignment]

#: More expanded nodes than this in one document means an alias bomb, not a manifest.
MAX_EXPANDED_NODES = 200_000

_STR = "tag:yaml.org,2002:str"
_CONSTRUCTED_TAGS = {
    "tag:yaml.org,2002:int",
    "tag:yaml.org,2002:float",
    "tag:yaml.org,2002:bool",
    "tag:yaml.org,2002:null",
}
_scalar_constructor = yaml.SafeLoader("")


def syntax_check(text: str) -> None:
    """Parse *text* with libyaml without building Python objects; raise InputError if invalid."""
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
        raise InputError(f"input must be valid YAML: {str(exc).splitlines()[0]}") from None
    finally:
        loader.dispose()


def describe_yaml_error(exc: yaml.MarkedYAMLError, line_offset: int = 0) -> str:
    """One line naming the problem and its position, never quoting the input.

    PyYAML's own message prints the offending line, which may hold a secret value.
    """
    mark = exc.problem_mark or exc.context_mark
    problem = exc.problem or exc.context or "invalid YAML"
    where = f" at line {mark.line + 1 + line_offset}, column {mark.column + 1}" if mark else ""
    context = f" ({exc.context})" if exc.context and exc.problem else ""
    return f"input must be valid YAML: {problem}{context}{where}"


def compose(text: str, line_offset: int = 0) -> Node | None:
    """Compose one YAML document into a node tree whose marks index *text*."""
    loader: Any = _Loader(text)
    try:
        node: Node | None = loader.get_single_node()
        return node
    except yaml.MarkedYAMLError as exc:
        raise InputError(describe_yaml_error(exc, line_offset)) from None
    finally:
        loader.dispose()


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


def scalar_value(node: ScalarNode) -> Any:
    """The Python value of a scalar, with YAML 1.1 resolution for the plain scalars that need it."""
    if node.tag in _CONSTRUCTED_TAGS:
        return _scalar_constructor.construct_object(node)
    return node.value


def to_data(node: Node, what: str = "document") -> Any:
    """Convert a node tree to plain Python data, refusing alias bombs and duplicate keys."""
    budget = [MAX_EXPANDED_NODES]

    def convert(n: Node, path: str) -> Any:
        budget[0] -= 1
        if budget[0] < 0:
            raise InputError(
                f"{what} must not expand to more than {MAX_EXPANDED_NODES} nodes "
                "(YAML anchors and aliases that expand without bound are refused)"
            )
        if isinstance(n, ScalarNode):
            return scalar_value(n)
        if isinstance(n, SequenceNode):
            return [convert(child, f"{path}[{i}]") for i, child in enumerate(n.value)]
        if isinstance(n, MappingNode):
            out: dict[Any, Any] = {}
            for key_node, value_node in n.value:
                if key_node.tag == "tag:yaml.org,2002:merge":
                    raise InputError(f"{what} must not use YAML merge keys (`<<`) at `{path or '.'}`")
                key = convert(key_node, path)
                if not isinstance(key, str | int | float | bool) and key is not None:
                    raise InputError(f"{what} must use scalar mapping keys at `{path or '.'}`")
                if key in out:
                    where = f"{path}.{key}" if path else str(key)
                    raise InputError(
                        f"{what} must not repeat a mapping key: `{where}` appears twice "
                        f"(line {key_node.start_mark.line + 1})"
                    )
                out[key] = convert(value_node, f"{path}.{key}" if path else str(key))
            return out
        raise InputError(f"{what} has an unsupported YAML node at `{path}`")  # pragma: no cover

    return convert(node, "")


def load(text: str, what: str = "document") -> Any:
    """Compose and convert one document (``None`` for an empty one)."""
    node = compose(text)
    return None if node is None else to_data(node, what)


# --- writing -------------------------------------------------------------------------

# A leading "-" is an indicator only before a space, so `--flag=x` may stay plain.
_PLAIN_SAFE = re.compile(r"^(?:[A-Za-z0-9_/$.+=^~]|-(?=[^ \n])(?!--))(?:[A-Za-z0-9_/$.{}\[\]@%+=^~:,\-]| (?![ #]))*$")
_FLOW_UNSAFE = re.compile(r"[\[\]{},]")
_resolver: Any = yaml.resolver.Resolver()


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
