"""Reading and writing the function's input and output with full YAML fidelity.

Three input forms are accepted and answered in kind:

- a ResourceList (``config.kubernetes.io/v1`` or ``v1beta1``, or a ``v1 List``) in YAML,
  as kpt and kustomize send it;
- a plain multi-document YAML stream (``krmfn --config md.yaml < stream.yaml``);
- JSON (a ResourceList or resources).

YAML is never re-serialised. libyaml checks the whole input first; :mod:`krmfn.krm.cut`
cuts it into items at exact places (a line scan where that is exact, the parser's marks
elsewhere); :mod:`krmfn.krm.layout` writes the answer as the input with only the changed
items' text replaced. Any YAML document is an item: a kustomize Kustomization, a Helm
values file, a list, a scalar; what is not a resource is passed through as it came.
Line endings (CRLF, CR) are kept (:mod:`krmfn.krm.lines`). JSON has no comments or styles
to keep, so JSON is answered re-indented; it is held to the same limits as YAML.
"""

from __future__ import annotations

import json
import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

from krmfn.errors import InputError
from krmfn.krm.composer import MAX_DEPTH
from krmfn.krm.cut import RESOURCE_LIST_VERSIONS, check_wrapper, cut
from krmfn.krm.item import Item
from krmfn.krm.layout import ListLayout, StreamLayout, write_list, write_stream
from krmfn.krm.lines import lf_view
from krmfn.krm.yamltext import MAX_INT_DIGITS, syntax_check

__all__ = ["MAX_INPUT_BYTES", "RESOURCE_LIST_VERSIONS", "Input", "decode", "read", "write"]

Form = Literal["resourcelist", "stream", "json"]
#: Inputs larger than this are refused before parsing, with a message instead of an OOM kill.
MAX_INPUT_BYTES = 64 * 1024 * 1024


@dataclass
class Input:
    """What was read: the items, the function config, and how to write the answer."""

    form: Form
    items: list[Item]
    function_config: Item | None = None
    wrapper_api_version: str = "config.kubernetes.io/v1"
    wrapper_kind: str = "ResourceList"
    prior_results: list[Any] = field(default_factory=list)
    layout: StreamLayout | ListLayout | None = None


def decode(data: bytes) -> str:
    """UTF-8 text of the input (a leading byte order mark is dropped; line endings are kept)."""
    if len(data) > MAX_INPUT_BYTES:
        raise InputError(
            f"input must not exceed {MAX_INPUT_BYTES // (1024 * 1024)} MiB; "
            f"got {len(data) / (1024 * 1024):.1f} MiB (split the package, or run per directory)"
        )
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise InputError(f"input must be UTF-8: byte 0x{data[exc.start]:02x} at offset {exc.start} is not") from None
    if text.startswith("\ufeff"):
        text = text[1:]
    if "\x00" in text:
        raise InputError(f"input must not contain NUL characters (found at offset {text.index(chr(0))})")
    return text


def read(text: str) -> Input:
    """Parse the input in whatever form it came."""
    stripped = text.lstrip()
    if stripped.startswith(("{", "[")):
        value = _load_json(text)
        if value is not _NOT_JSON:
            return _read_json(value)
    syntax_check(text)
    if not stripped:
        return Input(form="stream", items=[], layout=StreamLayout(text, "\n", tail=0))
    found = cut(text, lf_view(text))
    form: Form = "resourcelist" if found.form == "resourcelist" else "stream"
    return Input(
        form=form,
        items=found.items,
        function_config=found.function_config,
        wrapper_api_version=found.wrapper_api_version,
        wrapper_kind=found.wrapper_kind,
        prior_results=found.prior_results,
        layout=found.layout,
    )


# --- JSON --------------------------------------------------------------------------------

_NOT_JSON: Any = object()


def _load_json(text: str) -> Any:
    """The JSON value of *text*, within the limits YAML input has; _NOT_JSON if it is not JSON."""

    def no_constant(name: str) -> Any:
        raise InputError(f"JSON input must not hold {name}: it has no meaning in a Kubernetes resource")

    def bounded_int(digits: str) -> int:
        if len(digits.lstrip("-")) > MAX_INT_DIGITS:
            raise InputError(f"JSON input must not hold an integer of more than {MAX_INT_DIGITS} digits")
        return int(digits)

    def finite_float(literal: str) -> float:
        value = float(literal)
        if math.isinf(value):
            raise InputError(f"JSON input must not hold a number out of range ({len(literal)} characters)")
        return value

    try:
        value = json.loads(text, parse_constant=no_constant, parse_int=bounded_int, parse_float=finite_float)
    except json.JSONDecodeError:
        return _NOT_JSON  # flow-style YAML: read below like any YAML
    except RecursionError:
        raise InputError(f"JSON input must not nest deeper than {MAX_DEPTH} levels") from None
    _check_depth(value)
    return value


def _check_depth(value: Any) -> None:
    stack = [(value, 0)]
    while stack:
        node, depth = stack.pop()
        if depth > MAX_DEPTH:
            raise InputError(f"JSON input must not nest deeper than {MAX_DEPTH} levels")
        if isinstance(node, dict):
            stack.extend((v, depth + 1) for v in node.values())
        elif isinstance(node, list):
            stack.extend((v, depth + 1) for v in node)


def _read_json(value: Any) -> Input:
    if isinstance(value, dict) and value.get("kind") in ("ResourceList", "List"):
        check_wrapper(value.get("apiVersion"), value.get("kind"))
        items = value.get("items") or []
        if not isinstance(items, list):
            raise InputError("ResourceList `items` must be a list")
        out = Input(
            form="json",
            items=[],
            wrapper_api_version=str(value["apiVersion"]),
            wrapper_kind=str(value["kind"]),
        )
        out.items = [Item(data=item, where=f"items[{n}]") for n, item in enumerate(items)]
        config = value.get("functionConfig")
        if isinstance(config, dict) and config:
            out.function_config = Item(data=config, where="functionConfig")
        prior = value.get("results")
        out.prior_results = prior if isinstance(prior, list) else []
        return out
    documents = value if isinstance(value, list) else [value]
    return Input(
        form="json",
        items=[Item(data=doc, where=f"document {n + 1}") for n, doc in enumerate(documents)],
        wrapper_kind="",
    )


# --- writing -------------------------------------------------------------------------


def write(inp: Input, items: Sequence[Item], results: Sequence[dict[str, Any]]) -> str:
    """The answer, in the form the input came in."""
    if inp.form == "json":
        return _write_json(inp, items, results)
    layout = inp.layout
    if isinstance(layout, StreamLayout):
        return write_stream(layout, items)
    assert isinstance(layout, ListLayout)
    return write_list(layout, items, [*inp.prior_results, *results])


def _write_json(inp: Input, items: Sequence[Item], results: Sequence[dict[str, Any]]) -> str:
    if not inp.wrapper_kind:
        docs = [item.value for item in items]
        return json.dumps(docs[0] if len(docs) == 1 else docs, indent=2, ensure_ascii=False) + "\n"
    out: dict[str, Any] = {"apiVersion": inp.wrapper_api_version, "kind": inp.wrapper_kind}
    out["items"] = [item.value for item in items]
    if inp.wrapper_kind == "ResourceList":
        if inp.function_config is not None:
            out["functionConfig"] = inp.function_config.value
        if results or inp.prior_results:
            out["results"] = [*inp.prior_results, *results]
    return json.dumps(out, indent=2, ensure_ascii=False) + "\n"
