"""One resource of the input or output, as text first and data on demand.

An item read from the input keeps its exact original bytes (:attr:`Item.raw`) so that an
unchanged item is written back byte-for-byte. Its data is parsed only when something asks
for it; :attr:`Item.header` (apiVersion, kind, name, namespace) is read with a line scan
that avoids a full parse for the items the function never touches.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import cached_property
from typing import Any

from yaml.nodes import MappingNode, Node, ScalarNode

from krmfn.errors import InputError
from krmfn.krm.yamledit import same, update_text
from krmfn.krm.yamltext import compose, dump, to_data

_STR = "tag:yaml.org,2002:str"

PATH_ANNOTATIONS = ("internal.config.kubernetes.io/path", "config.kubernetes.io/path")
INDEX_ANNOTATIONS = ("internal.config.kubernetes.io/index", "config.kubernetes.io/index")
LOCAL_CONFIG = "config.kubernetes.io/local-config"
_ORCHESTRATOR_PREFIXES = (
    "internal.config.kubernetes.io/",
    "config.kubernetes.io/",
    "config.k8s.io/",
    "kustomize.config.k8s.io/",
)


def is_orchestrator_annotation(key: str) -> bool:
    """Annotations kpt and kustomize keep for themselves; a function must not change them."""
    return key.startswith(_ORCHESTRATOR_PREFIXES) and key != LOCAL_CONFIG


@dataclass(frozen=True)
class Header:
    """What identifies a resource."""

    api_version: str
    kind: str
    name: str
    namespace: str | None

    @property
    def group(self) -> str:
        return self.api_version.rpartition("/")[0]


_TOP_KEY = re.compile(r"^(apiVersion|kind|metadata|sops):(.*)$", re.M)
_ODD_TOP_LINE = re.compile(r"^(?!\Z|[ #\r\n]|[A-Za-z_][\w.-]*:(?: |$))", re.M)
_ANCHOR = re.compile(r"(?:^|[\s\[{,])&[^\s]")


def _simple_scalar(raw: str) -> str | None:
    """The value of a one-line scalar when it is unambiguous without a parser, else None."""
    value = raw.strip()
    hash_at = value.find(" #")
    if hash_at >= 0 and not value.startswith(("'", '"')):
        value = value[:hash_at].rstrip()
    if not value:
        return None
    if value[0] == '"':
        match = re.fullmatch(r'"([^"\\]*)"', value)
        return match.group(1) if match else None
    if value[0] == "'":
        match = re.fullmatch(r"'([^']*)'", value)
        return match.group(1) if match else None
    if value[0] in "&*!|>%@`{[#-?:" or value in ("~", "null", "Null", "NULL"):
        return None
    return value


def _scan_header(text: str) -> Header | None:
    """Header from a line scan of block-style text; None whenever a parser is needed."""
    if _ODD_TOP_LINE.search(text) or ("&" in text and _ANCHOR.search(text)):
        return None
    found: dict[str, tuple[str, int]] = {}
    for match in _TOP_KEY.finditer(text):
        if match.group(1) in found:
            return None
        found[match.group(1)] = (match.group(2), match.end())
    if "apiVersion" not in found or "kind" not in found or "metadata" not in found:
        return None
    api_version = _simple_scalar(found["apiVersion"][0])
    kind = _simple_scalar(found["kind"][0])
    rest, at = found["metadata"]
    if rest.strip() and not rest.strip().startswith("#"):
        return None
    meta: dict[str, str | None] = {}
    child_indent = None
    for line in text[at + 1 :].split("\n"):
        stripped = line.lstrip(" ")
        if not stripped or stripped.startswith("#"):
            continue
        indent = len(line) - len(stripped)
        if indent == 0:
            break
        if child_indent is None:
            child_indent = indent
        if indent == child_indent:
            key, sep, value = stripped.partition(":")
            if key in ("name", "namespace"):
                if key in meta or not sep:
                    return None
                meta[key] = _simple_scalar(value)
                if meta[key] is None:
                    return None
    if api_version is None or kind is None or not meta.get("name"):
        return None
    return Header(api_version, kind, str(meta["name"]), meta.get("namespace"))


def _composed_header(text: str, line: int) -> Header | None:
    """Header from the node tree, without converting it: aliases are not expanded, so an
    item that is only passed through never pays for (or trips over) an alias bomb."""
    node = compose(text, line_offset=line - 1)
    top = _string_children(node)
    meta = _string_children(top.get("metadata")) if top else None
    if top is None or meta is None:
        return None
    values = {key: _string(n) for key, n in [*top.items(), *meta.items()] if key in ("apiVersion", "kind", "name")}
    api_version, kind, name = values.get("apiVersion"), values.get("kind"), _string(meta.get("name"))
    if not api_version or not kind or not name:
        return None
    return Header(api_version, kind, name, _string(meta.get("namespace")))


def _string_children(node: Node | None) -> dict[str, Node] | None:
    """A mapping node's children by key, or None if it is not a plain mapping with unique string keys."""
    if not isinstance(node, MappingNode):
        return None
    out: dict[str, Node] = {}
    for key, value in node.value:
        if not isinstance(key, ScalarNode) or key.tag != _STR or key.value in out:
            return None
        out[key.value] = value
    return out


def _string(node: Node | None) -> str | None:
    return node.value if isinstance(node, ScalarNode) and node.tag == _STR else None


class Item:
    """A resource: its text, its original bytes if it came from the input, its data on demand."""

    def __init__(
        self,
        text: str | None = None,
        *,
        data: Any = None,
        raw: str | None = None,
        where: str = "item",
        line: int = 1,
    ) -> None:
        if text is None and data is None:
            raise ValueError("an Item needs text or data")
        self._text = text
        self._data = data
        self.raw = raw
        self.where = where
        self.line = line
        #: The input item this one was edited from, so the writer can keep its place.
        self.origin: Item | None = None
        #: The file it was read from, when no path annotation says so (:mod:`krmfn.krm.package`).
        self.file: str | None = None

    @classmethod
    def from_data(cls, data: dict[str, Any]) -> Item:
        return cls(data=data, where=f"{data.get('kind', 'item')} {data.get('metadata', {}).get('name', '')}")

    @property
    def text(self) -> str:
        if self._text is None:
            self._text = dump(self._data)
        return self._text

    @property
    def data(self) -> dict[str, Any]:
        if self._data is None:
            node = compose(self.text, line_offset=self.line - 1)
            value = None if node is None else to_data(node, self.where)
            if not isinstance(value, dict):
                raise InputError(f"{self.where} must be a mapping (a Kubernetes resource), not {_kind_of(value)}")
            self._data = value
        return self._data  # type: ignore[no-any-return]

    @cached_property
    def header(self) -> Header:
        """apiVersion, kind and name, from a line scan when possible."""
        if self._data is None and self._text is not None:
            scanned = _scan_header(self._text) or _composed_header(self._text, self.line)
            if scanned is not None:
                return scanned
        data = self.data
        meta = data.get("metadata")
        api_version, kind = data.get("apiVersion"), data.get("kind")
        name = meta.get("name") if isinstance(meta, dict) else None
        if not isinstance(api_version, str) or not api_version:
            raise InputError(f"{self.where} must have a string `apiVersion`")
        if not isinstance(kind, str) or not kind:
            raise InputError(f"{self.where} must have a string `kind`")
        if not isinstance(name, str) or not name:
            raise InputError(f"{self.where} ({kind}) must have a string `metadata.name`")
        namespace = meta.get("namespace") if isinstance(meta, dict) else None
        return Header(api_version, kind, name, namespace if isinstance(namespace, str) else None)

    def mentions(self, needle: str) -> bool:
        """Cheap pre-check: could this item contain *needle* at all?"""
        return needle in (self._text if self._text is not None else dump(self._data))

    def annotations(self) -> dict[str, Any]:
        meta = self.data.get("metadata")
        annotations = meta.get("annotations") if isinstance(meta, dict) else None
        return annotations if isinstance(annotations, dict) else {}

    def annotation(self, key: str) -> str | None:
        """An annotation's value, reading the text only when it can hold the key."""
        if not self.mentions(key.rpartition("/")[2]):
            return None
        value = self.annotations().get(key)
        return value if isinstance(value, str) else None

    @property
    def is_local_config(self) -> bool:
        return str(self.annotation(LOCAL_CONFIG)).lower() == "true"

    @property
    def is_sops_encrypted(self) -> bool:
        return self.mentions("sops") and isinstance(self.data.get("sops"), dict)

    @property
    def path(self) -> str | None:
        for key in PATH_ANNOTATIONS:
            value = self.annotation(key)
            if value:
                return value
        return self.file

    @property
    def changed(self) -> bool:
        """True when the item must be written from :attr:`text` rather than :attr:`raw`."""
        return self.raw is None

    def with_data(self, new: dict[str, Any]) -> Item:
        """This item holding *new*; the text changes only where the data does."""
        if same(new, self.data):
            return self
        text = update_text(self.text, new, self.where) if self._text is not None else None
        edited = Item(text, data=new, where=self.where, line=self.line)
        edited.origin = self.origin or self
        edited.file = self.file
        return edited


def _kind_of(value: Any) -> str:
    if value is None:
        return "an empty document"
    if isinstance(value, list):
        return "a list"
    return f"a scalar ({type(value).__name__})"
