"""Reading and writing the function's input and output with full YAML fidelity.

Three input forms are accepted and answered in kind:

- a ResourceList (``config.kubernetes.io/v1`` or ``v1beta1``, or a ``v1 List``) in YAML,
  as kpt and kustomize send it;
- a plain multi-document YAML stream (``krmfn --config md.yaml < stream.yaml``);
- JSON (a ResourceList or a single resource).

Block-style YAML is not re-serialised: the text is cut into item spans by a line scan
(after libyaml has checked the whole input), and the output is the input with only the
changed spans replaced. An item the function does not change is copied byte-for-byte and
is never parsed unless the function needs to read it. Anything the line scan does not
recognise falls back to a full parse, which is slower but exact.
"""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

from yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode

from krmfn.errors import InputError
from krmfn.krm.item import Item
from krmfn.krm.yamltext import compose_all, dump, load, scalar, syntax_check, to_data

Form = Literal["resourcelist", "stream", "json"]
RESOURCE_LIST_VERSIONS = ("config.kubernetes.io/v1", "config.kubernetes.io/v1beta1")
#: Inputs larger than this are refused before parsing, with a message instead of an OOM kill.
MAX_INPUT_BYTES = 64 * 1024 * 1024


@dataclass
class _Entry:
    """An item's place in block-style input: where its text was and what followed it."""

    item: Item
    gap: str = ""


@dataclass
class Input:
    """What was read: the items, the function config, and how to write the answer."""

    form: Form
    items: list[Item]
    function_config: Item | None = None
    wrapper_api_version: str = "config.kubernetes.io/v1"
    wrapper_kind: str = "ResourceList"
    prior_results: list[Any] = field(default_factory=list)
    # Block-style layout, for splicing the answer into the original text.
    _segments: list[tuple[str, str]] = field(default_factory=list)
    _entries: list[_Entry] = field(default_factory=list)
    _items_lead: str = ""
    _seq_indent: int = 0
    _content_indent: int = 2
    _separators: dict[int, str] = field(default_factory=dict)
    _trailer: str = ""


def decode(data: bytes) -> str:
    """UTF-8 text of the input (a leading byte order mark is dropped)."""
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
    return text.replace("\r\n", "\n")


# --- reading -------------------------------------------------------------------------

_TOP_KEY_LINE = re.compile(r"^([A-Za-z_][A-Za-z0-9_]*):(.*)$", re.M)
_DOC_MARK = re.compile(r"^(---|\.\.\.)(?:[ \t]+#.*)?[ \t]*$", re.M)
_DOC_MARK_WITH_CONTENT = re.compile(r"^--- *[^\s#]", re.M)
_ODD_TOP_LINE = re.compile(r"^(?![ #\n]|$|---|\.\.\.|-(?: |$)|[A-Za-z_][A-Za-z0-9_]*:(?: |$))", re.M)


def read(text: str) -> Input:
    """Parse the input in whatever form it came."""
    stripped = text.lstrip()
    if stripped.startswith(("{", "[")):
        try:
            return _read_json(json.loads(text))
        except json.JSONDecodeError:
            pass  # flow-style YAML: handled below like any YAML
    syntax_check(text)
    if not stripped:
        return Input(form="stream", items=[])
    if _DOC_MARK_WITH_CONTENT.search(text) or _ODD_TOP_LINE.search(text):
        return _read_composed(text)
    docs = _split_documents(text)
    content = [(prefix, body, line) for prefix, body, line in docs if _has_content(body)]
    if len(content) == 1 and _is_wrapper(content[0][1]):
        return _read_block_resource_list(text)
    return _read_block_stream(docs)


def _has_content(body: str) -> bool:
    return any(line.strip() and not line.lstrip().startswith("#") for line in body.split("\n"))


def _is_wrapper(body: str) -> bool:
    kinds = [m.group(2).strip() for m in _TOP_KEY_LINE.finditer(body) if m.group(1) == "kind"]
    keys = {m.group(1) for m in _TOP_KEY_LINE.finditer(body)}
    return (
        len(kinds) == 1
        and kinds[0].strip("'\"") in ("ResourceList", "List")
        and bool(keys & {"items", "functionConfig"})
    )


def _split_documents(text: str) -> list[tuple[str, str, int]]:
    """(separator text, document text, first line number) for each document."""
    docs = []
    pos, sep, line = 0, "", 1
    for match in _DOC_MARK.finditer(text):
        end = match.end() + (1 if match.end() < len(text) else 0)
        docs.append((sep, text[pos : match.start()], line))
        line += text.count("\n", pos, end)
        sep, pos = text[match.start() : end], end
    docs.append((sep, text[pos:], line))
    return docs


def _check_wrapper(api_version: Any, kind: Any) -> None:
    if kind == "List" and api_version == "v1":
        return
    if kind != "ResourceList":  # pragma: no cover - only wrappers reach here
        raise InputError(f"input `kind` must be ResourceList or List, not {kind!r}")
    if api_version not in RESOURCE_LIST_VERSIONS:
        raise InputError(
            f"ResourceList `apiVersion` must be one of {', '.join(RESOURCE_LIST_VERSIONS)}, not {api_version!r}"
        )


def _read_block_resource_list(text: str) -> Input:
    keys = list(_TOP_KEY_LINE.finditer(text))
    segments: list[tuple[str, str]] = [("", text[: keys[0].start()] if keys else text)]
    for i, match in enumerate(keys):
        end = keys[i + 1].start() if i + 1 < len(keys) else len(text)
        segments.append((match.group(1), text[match.start() : end]))
    values = {key: body for key, body in segments if key}
    head = "".join(body for key, body in segments if key in ("apiVersion", "kind"))
    meta = load(head) if head else {}
    if not isinstance(meta, dict):  # pragma: no cover - two scalar keys always compose to a mapping
        meta = {}
    _check_wrapper(meta.get("apiVersion"), meta.get("kind"))
    out = Input(
        form="resourcelist",
        items=[],
        wrapper_api_version=str(meta.get("apiVersion")),
        wrapper_kind=str(meta.get("kind")),
        _segments=segments,
    )
    start_line = {key: text.count("\n", 0, text.find(body)) + 1 for key, body in segments if key}
    if "items" in values:
        _read_items_block(values["items"], start_line["items"], out)
    if "functionConfig" in values:
        out.function_config = _value_item(values["functionConfig"], "functionConfig", start_line["functionConfig"])
    if "results" in values:
        results = load(values["results"])
        prior = results.get("results") if isinstance(results, dict) else None
        out.prior_results = prior if isinstance(prior, list) else []
    return out


def _value_item(block: str, what: str, line: int) -> Item | None:
    """The mapping under a top-level key, dedented into an item of its own."""
    first, _, rest = block.partition("\n")
    inline = first.partition(":")[2].strip()
    if inline and not inline.startswith("#"):
        if inline in ("null", "~", "{}"):
            return None
        return Item(inline + "\n", where=what, line=line)
    lines = rest.split("\n")
    indents = [len(x) - len(x.lstrip(" ")) for x in lines if x.strip() and not x.lstrip().startswith("#")]
    if not indents:
        return None
    cut = min(indents)
    body = "\n".join(x[cut:] if x[:cut].isspace() else x.lstrip(" ") for x in lines)
    return Item(body, where=what, line=line + 1)


def _read_items_block(block: str, line: int, out: Input) -> None:
    first, _, rest = block.partition("\n")
    inline = first.partition(":")[2].strip()
    if inline and not inline.startswith("#"):
        if inline.startswith("[]"):
            return
        raise InputError("ResourceList `items` must be a list")  # pragma: no cover - composed path handles flow
    lines = rest.split("\n")
    if lines and lines[-1] == "":
        lines.pop()  # the block's final newline, not an empty line
    content = [x for x in lines if x.strip() and not x.lstrip().startswith("#")]
    if not content:
        return
    if not content[0].lstrip(" ").startswith("-"):
        raise InputError("ResourceList `items` must be a list")
    sp = len(content[0]) - len(content[0].lstrip(" "))
    entry = re.compile(rf"^ {{{sp}}}-(?: |$)")
    starts = [i for i, x in enumerate(lines) if entry.match(x)]
    out._seq_indent = sp
    out._items_lead = "\n".join(lines[: starts[0]])
    line_no = line + 1
    for n, s in enumerate(starts):
        e = starts[n + 1] if n + 1 < len(starts) else len(lines)
        chunk = lines[s:e]
        body_end = len(chunk)
        while body_end > 1 and (not chunk[body_end - 1].strip() or _is_outdented_comment(chunk[body_end - 1], sp)):
            body_end -= 1
        body, gap = chunk[:body_end], chunk[body_end:]
        raw = "\n".join(body) + "\n"
        text, content_indent = _dedent_entry(body, sp)
        out._content_indent = content_indent
        item = Item(text, raw=raw, where=f"items[{n}]", line=line_no + s)
        out.items.append(item)
        out._entries.append(_Entry(item, "\n".join(gap) + ("\n" if gap else "")))


def _is_outdented_comment(line: str, sp: int) -> bool:
    stripped = line.lstrip(" ")
    return stripped.startswith("#") and len(line) - len(stripped) <= sp


def _dedent_entry(lines: list[str], sp: int) -> tuple[str, int]:
    """The entry's text as a document at column 0, and the column its content started at."""
    first = lines[0][sp + 1 :]
    after_dash = first.lstrip(" ")
    if after_dash and not after_dash.startswith("#"):
        col = sp + 1 + len(first) - len(after_dash)
        head = [after_dash]
    else:
        later = [x for x in lines[1:] if x.strip() and not x.lstrip().startswith("#")]
        col = len(later[0]) - len(later[0].lstrip(" ")) if later else sp + 2
        head = [after_dash] if after_dash else []
    body = [x[col:] if x[:col].isspace() or not x[:col] else x.lstrip(" ") for x in lines[1:]]
    return "\n".join(head + body) + "\n", col


def _read_block_stream(docs: list[tuple[str, str, int]]) -> Input:
    out = Input(form="stream", items=[])
    pending = ""  # comment-only documents travel with the document after them
    for n, (sep, body, line) in enumerate(docs):
        if not _has_content(body):
            pending += sep + body
            continue
        item = Item(body, raw=body, where=f"document {n + 1}", line=line)
        out._separators[id(item)] = pending + sep
        pending = ""
        out.items.append(item)
    out._trailer = pending
    for item in out.items:
        if not re.search(r"^[A-Za-z_\"'][^\n]*:", item.text, re.M):
            item.data  # noqa: B018 - raises the "must be a mapping" error for lists and scalars
    return out


def _read_composed(text: str) -> Input:
    """The exact, slower path: compose everything and cut spans from node marks."""
    nodes = list(compose_all(text))
    if len(nodes) == 1 and isinstance(nodes[0], MappingNode):
        data_kind = {_scalar(k): v for k, v in nodes[0].value}
        kind_node = data_kind.get("kind")
        if isinstance(kind_node, ScalarNode) and kind_node.value in ("ResourceList", "List"):
            return _read_composed_resource_list(text, nodes[0])
    out = Input(form="stream", items=[])
    for n, node in enumerate(nodes):
        if isinstance(node, ScalarNode) and node.tag.endswith(":null") and not node.value:
            continue  # an empty document
        if not isinstance(node, MappingNode):
            raise InputError(f"document {n + 1} must be a mapping (a Kubernetes resource), not {_describe(node)}")
        out.items.append(_node_item(text, node, f"document {n + 1}"))
    out._separators = {id(item): "---\n" if i else "" for i, item in enumerate(out.items)}
    return out


def _scalar(node: Node) -> Any:
    return node.value if isinstance(node, ScalarNode) else None


def _describe(node: Node) -> str:
    if isinstance(node, SequenceNode):
        return "a list"
    return "a scalar"


def _node_item(text: str, node: Node, where: str) -> Item:
    start, end = node.start_mark.index, node.end_mark.index
    col = node.start_mark.column
    lines = text[start:end].rstrip("\n").split("\n")
    body = [lines[0]] + [x[col:] if x[:col].isspace() else x.lstrip(" ") for x in lines[1:]]
    return Item("\n".join(body) + "\n", where=where, line=node.start_mark.line + 1)


def _read_composed_resource_list(text: str, root: MappingNode) -> Input:
    top = {_scalar(k): v for k, v in root.value}
    _check_wrapper(_scalar(top.get("apiVersion", root)), _scalar(top.get("kind", root)))
    out = Input(
        form="resourcelist",
        items=[],
        wrapper_api_version=str(_scalar(top["apiVersion"])),
        wrapper_kind=str(_scalar(top["kind"])),
    )
    items = top.get("items")
    if items is not None and not (isinstance(items, SequenceNode) or _scalar(items) in ("", None)):
        raise InputError("ResourceList `items` must be a list")
    for n, node in enumerate(items.value if isinstance(items, SequenceNode) else []):
        if not isinstance(node, MappingNode):
            raise InputError(f"items[{n}] must be a mapping (a Kubernetes resource), not {_describe(node)}")
        out.items.append(_node_item(text, node, f"items[{n}]"))
    config = top.get("functionConfig")
    if isinstance(config, MappingNode) and config.value:
        out.function_config = _node_item(text, config, "functionConfig")
    results = top.get("results")
    if isinstance(results, SequenceNode):
        out.prior_results = to_data(results)
    return out


def _read_json(value: Any) -> Input:
    if isinstance(value, dict) and value.get("kind") in ("ResourceList", "List"):
        _check_wrapper(value.get("apiVersion"), value.get("kind"))
        items = value.get("items") or []
        if not isinstance(items, list):
            raise InputError("ResourceList `items` must be a list")
        out = Input(
            form="json",
            items=[],
            wrapper_api_version=str(value["apiVersion"]),
            wrapper_kind=str(value["kind"]),
        )
        for n, item in enumerate(items):
            if not isinstance(item, dict):
                raise InputError(f"items[{n}] must be a mapping (a Kubernetes resource)")
            out.items.append(Item(data=item, where=f"items[{n}]"))
        config = value.get("functionConfig")
        if isinstance(config, dict) and config:
            out.function_config = Item(data=config, where="functionConfig")
        prior = value.get("results")
        out.prior_results = prior if isinstance(prior, list) else []
        return out
    documents = value if isinstance(value, list) else [value]
    out = Input(form="json", items=[], wrapper_kind="")
    for n, doc in enumerate(documents):
        if not isinstance(doc, dict):
            raise InputError(f"document {n + 1} must be a mapping (a Kubernetes resource)")
        out.items.append(Item(data=doc, where=f"document {n + 1}"))
    return out


# --- writing -------------------------------------------------------------------------


def write(inp: Input, items: Sequence[Item], results: Sequence[dict[str, Any]]) -> str:
    """The answer, in the form the input came in."""
    if inp.form == "json":
        return _write_json(inp, items, results)
    if inp.form == "stream":
        return _write_stream(inp, items)
    return _write_resource_list(inp, items, results)


def _write_json(inp: Input, items: Sequence[Item], results: Sequence[dict[str, Any]]) -> str:
    if not inp.wrapper_kind:
        docs = [item.data for item in items]
        return json.dumps(docs[0] if len(docs) == 1 else docs, indent=2, ensure_ascii=False) + "\n"
    out: dict[str, Any] = {"apiVersion": inp.wrapper_api_version, "kind": inp.wrapper_kind}
    out["items"] = [item.data for item in items]
    if inp.wrapper_kind == "ResourceList":
        if inp.function_config is not None:
            out["functionConfig"] = inp.function_config.data
        if results or inp.prior_results:
            out["results"] = [*inp.prior_results, *results]
    return json.dumps(out, indent=2, ensure_ascii=False) + "\n"


def _write_stream(inp: Input, items: Sequence[Item]) -> str:
    parts: list[str] = []
    for item in items:
        sep = inp._separators.get(id(item.origin or item))
        if sep is None:
            sep = "---\n" if parts else ""
        if parts and not parts[-1].endswith("\n"):
            parts[-1] += "\n"
        parts.append(sep + (item.raw if item.raw is not None else item.text))
    parts.append(inp._trailer)
    return "".join(parts)


def _write_resource_list(inp: Input, items: Sequence[Item], results: Sequence[dict[str, Any]]) -> str:
    all_results = [*inp.prior_results, *results]
    if not inp._segments:
        return _write_resource_list_anew(inp, items, all_results)
    parts: list[str] = []
    for key, body in inp._segments:
        if key == "items":
            parts.append(_items_block(inp, items, body))
        elif key != "results":
            parts.append(body)
    if "items" not in {key for key, _ in inp._segments}:
        parts.append(_items_block(inp, items, "items: []\n"))
    text = "".join(parts)
    if all_results:
        if not text.endswith("\n"):
            text += "\n"
        text += "results:\n" + dump(all_results, 0)
    return text


def _items_block(inp: Input, items: Sequence[Item], original: str) -> str:
    if not items:
        return "items: []\n"
    first = original.partition("\n")[0]
    header = "items:\n" if first.partition(":")[2].strip().startswith("[]") else first + "\n"
    parts = [header, inp._items_lead + "\n" if inp._items_lead else ""]
    gaps = {id(entry.item): entry.gap for entry in inp._entries}
    for item in items:
        if item.raw is not None:
            parts.append(item.raw)
        else:
            parts.append(_indent_entry(item.text, inp._seq_indent, inp._content_indent))
        parts.append(gaps.get(id(item.origin or item), ""))
    return "".join(parts)


def _indent_entry(text: str, seq_indent: int, content_indent: int) -> str:
    lines = text.rstrip("\n").split("\n")
    dash = " " * seq_indent + "-" + " " * max(1, content_indent - seq_indent - 1)
    pad = " " * max(content_indent, seq_indent + 2)
    out = [dash + lines[0]] + [pad + x if x.strip() else "" for x in lines[1:]]
    return "\n".join(out) + "\n"


def _write_resource_list_anew(inp: Input, items: Sequence[Item], results: list[Any]) -> str:
    parts = [f"apiVersion: {scalar(inp.wrapper_api_version)}\n", f"kind: {scalar(inp.wrapper_kind)}\n"]
    if items:
        parts.append("items:\n")
        parts.extend(_indent_entry(item.text, 0, 2) for item in items)
    else:
        parts.append("items: []\n")
    if inp.function_config is not None:
        parts.append("functionConfig:\n" + _reindent(inp.function_config.text, 2))
    if results:
        parts.append("results:\n" + dump(results, 0))
    return "".join(parts)


def _reindent(text: str, by: int) -> str:
    pad = " " * by
    return "".join(pad + line if line.strip() else line for line in text.splitlines(keepends=True))
