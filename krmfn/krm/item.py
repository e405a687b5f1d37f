"""One item of the input or output, as text first and data on demand.

The API concerns code against:

- :attr:`Item.header` never raises. It is a :class:`~krmfn.krm.header.Header` whose fields
  are ``""`` where the item has no such string: a kustomize ``Kustomization`` has kind
  ``Kustomization``, group ``kustomize.config.k8s.io`` and name ``""``; a document that is
  a list, a scalar or empty has an all-empty header. It is read with a line scan when the
  text allows, else from the node tree without converting it (so an alias bomb or a bad
  tag in an item krmfn only passes through is never expanded, and never an error).
- :attr:`Item.is_resource` is True when apiVersion, kind and metadata.name are non-empty
  strings. Only resources are ever handed to a concern.
- :attr:`Item.data` parses the item. Anything wrong in its content (a value that does not
  fit its tag, a repeated key, an alias bomb, nesting too deep) raises
  :class:`~krmfn.errors.ItemError` then, and only then, located in the item's file
  (``config.kubernetes.io/path``, with the document index) and the line within that
  document, or, without a path annotation, its position and line in the input.
  :meth:`Item.with_data` raises it too when an edit cannot be made exactly (an anchor that
  other places share, a key a merge key provides that must go).
- :meth:`Item.annotation`, :attr:`Item.path`, :attr:`Item.is_local_config` and
  :attr:`Item.is_sops_encrypted` never raise either: they read what can be read.

An item read from the input keeps its exact original characters (:attr:`Item.raw`, line
endings included) so that an unchanged item is written back as it came. Its parseable text
(:attr:`Item.source`) is the LF view of the same span; for an entry of a ResourceList's
``items`` that is the entry as written, dash and indentation included, and :attr:`frame`
says where the item's node sits in it. Edits are made in that text at its real columns, so
nothing around them moves; :attr:`Item.text` is the item as a column-0 document, for
reading and diffs.
"""

from __future__ import annotations

from functools import cached_property
from typing import Any

from yaml.nodes import Node

from krmfn.errors import ItemError
from krmfn.krm.composer import Document
from krmfn.krm.header import EMPTY, Header, Scan, composed_annotations, composed_header, scan
from krmfn.krm.yamledit import same, update_text
from krmfn.krm.yamltext import at_frame, compose_document, dump, to_data

__all__ = ["INDEX_ANNOTATIONS", "LOCAL_CONFIG", "PATH_ANNOTATIONS", "Header", "Item", "is_orchestrator_annotation"]

PATH_ANNOTATIONS = ("internal.config.kubernetes.io/path", "config.kubernetes.io/path")
INDEX_ANNOTATIONS = ("internal.config.kubernetes.io/index", "config.kubernetes.io/index")
LOCAL_CONFIG = "config.kubernetes.io/local-config"
_ORCHESTRATOR_PREFIXES = (
    "internal.config.kubernetes.io/",
    "config.kubernetes.io/",
    "config.k8s.io/",
    "kustomize.config.k8s.io/",
)

_UNSET: Any = object()

#: Where an item's node sits in its source: () the document root, (0,) the only entry of a
#: one-entry sequence (a ResourceList item as written), ("functionConfig",) a mapping value.
Frame = tuple[int | str, ...]


def is_orchestrator_annotation(key: str) -> bool:
    """Annotations kpt and kustomize keep for themselves; a function must not change them."""
    return key.startswith(_ORCHESTRATOR_PREFIXES) and key != LOCAL_CONFIG


class Item:
    """A resource (or any YAML document): its text, its original characters, its data on demand."""

    def __init__(
        self,
        text: str | None = None,
        *,
        data: Any = _UNSET,
        raw: str | None = None,
        where: str = "item",
        line: int = 1,
        frame: Frame = (),
        column: int = 0,
        newline: str = "\n",
        scannable: bool = True,
        flow_checked: bool = False,
    ) -> None:
        if text is None and data is _UNSET:
            raise ValueError("an Item needs text or data")
        self._source = text
        self._data = data
        self._document: Document | None = None
        self.raw = raw
        self.where = where
        self.line = line
        self.frame = frame
        self.column = column
        self.newline = newline
        self._scannable = scannable
        self._flow_checked = flow_checked
        #: The input item this one was edited from, so the writer can keep its place.
        self.origin: Item | None = None
        #: The file it was read from, when no path annotation says so (:mod:`krmfn.krm.package`).
        self.file: str | None = None
        #: The package directory it was read from (:mod:`krmfn.krm.package`), as kpt's package-path says.
        self.package: str | None = None

    @classmethod
    def from_data(cls, data: dict[str, Any]) -> Item:
        meta = data.get("metadata")
        name = meta.get("name", "") if isinstance(meta, dict) else ""
        return cls(data=data, where=f"{data.get('kind', 'item')} {name}")

    # --- text ------------------------------------------------------------------------

    @property
    def source(self) -> str:
        """The LF text the item is parsed from and edited in (see :attr:`frame`)."""
        if self._source is None:
            self._source = dump(self._data)
        return self._source

    @cached_property
    def text(self) -> str:
        """The item as a column-0 YAML document (LF), for reading and diffs."""
        if not self.frame and not self.column:
            return self.source
        lines = self.source.split("\n")
        if self.frame and isinstance(self.frame[0], str):
            first, lines = lines[0].partition(":")[2].strip(), lines[1:]
            head = [first] if first and not first.startswith("#") else []
        else:
            first = lines[0][self.column :] if lines[0][: self.column].strip(" -") == "" else lines[0].lstrip(" -")
            head, lines = [first] if first.strip() else [], lines[1:]
        col = self.column
        body = [x[col:] if not x[:col].strip() else x.lstrip(" ") for x in lines]
        return "\n".join(head + body)

    def mentions(self, needle: str) -> bool:
        """Cheap pre-check: could this item contain *needle* at all?"""
        return needle in self.source

    # --- data ------------------------------------------------------------------------

    def _node(self) -> Node | None:
        """The item's node (composed once and kept); raises ItemError, not yet located."""
        if self._document is None:
            self._document = compose_document(self.source)
        return at_frame(self._document.root, self.frame)

    @property
    def value(self) -> Any:
        """The item as data, whatever its shape (a mapping, a list, a scalar, None)."""
        if self._data is _UNSET:
            try:
                node = self._node()
                self._data = None if node is None else to_data(node)
            except ItemError as exc:
                raise self.located(exc) from None
            # Keep the data, not the node tree: it is several times larger, and an edit
            # composes the text again anyway (yamledit); on 10,000 routes this halves peak RSS.
            self._document = None
        return self._data

    @property
    def data(self) -> dict[str, Any]:
        """The item as a mapping; anything else is an ItemError (see the module docstring)."""
        value = self.value
        if not isinstance(value, dict):
            raise self.located(ItemError(f"must be a mapping (a Kubernetes resource), not {_kind_of(value)}", line=1))
        return value

    @cached_property
    def _scan(self) -> Scan | None:
        if self._data is not _UNSET or not self._scannable:
            return None
        return scan(self.source, self.column, flow_checked=self._flow_checked)

    @cached_property
    def header(self) -> Header:
        """apiVersion, kind, name and namespace; never raises (see the module docstring)."""
        if self._data is not _UNSET:
            return _header_of(self._data)
        if self._scan is not None:
            return self._scan.header
        try:
            return composed_header(self._node())
        except ItemError:
            return EMPTY

    @property
    def is_resource(self) -> bool:
        return self.header.is_resource

    def annotations(self) -> dict[str, Any]:
        meta = self.data.get("metadata")
        annotations = meta.get("annotations") if isinstance(meta, dict) else None
        return annotations if isinstance(annotations, dict) else {}

    def annotation(self, key: str) -> str | None:
        """An annotation's string value, read as cheaply as possible; never raises."""
        if not self.mentions(key.rpartition("/")[2]):
            return None
        if self._scan is not None and self._scan.annotations is not None:
            return self._scan.annotations.get(key)
        try:
            value = self.annotations().get(key)
        except ItemError:
            try:
                return composed_annotations(self._node()).get(key)
            except ItemError:
                return None
        return value if isinstance(value, str) else None

    @property
    def is_local_config(self) -> bool:
        return str(self.annotation(LOCAL_CONFIG)).lower() == "true"

    @property
    def is_sops_encrypted(self) -> bool:
        """A top-level ``sops`` key; when the item cannot be read, any line that may be one."""
        if not self.mentions("sops"):
            return False
        if self._scan is not None:
            return self._scan.sops
        try:
            return isinstance(self.data.get("sops"), dict)
        except ItemError:
            return True  # unreadable and possibly encrypted: never touched

    @property
    def path(self) -> str | None:
        for key in PATH_ANNOTATIONS:
            value = self.annotation(key)
            if value:
                return value
        return self.file

    @property
    def index(self) -> int | None:
        for key in INDEX_ANNOTATIONS:
            value = self.annotation(key)
            if value is not None and value.isdigit():
                return int(value)
        return None

    @property
    def changed(self) -> bool:
        """True when the item must be written from :attr:`source` rather than :attr:`raw`."""
        return self.raw is None

    def describe(self) -> str:
        """``Kind namespace/name`` for a resource, else what is known (``Kustomization``, ``document 3``)."""
        h = self.header
        if h.kind and h.name:
            return f"{h.kind} {h.namespace + '/' if h.namespace else ''}{h.name}"
        return h.kind or self.where

    def located(self, exc: ItemError) -> ItemError:
        """*exc* placed in this item: its file and document index, or its place in the input."""
        return exc.located(
            subject=self.describe(), file=self.path, index=self.index, where=self.where, first_line=self.line
        )

    def with_data(self, new: dict[str, Any]) -> Item:
        """This item holding *new*; the text changes only where the data does.

        Raises ItemError when no exact edit exists (an anchor shared with other places must
        change, or a key a merge key provides must go): the item is refused alone.
        """
        if same(new, self.data):
            return self
        try:
            text = update_text(self.source, new, self.describe(), frame=self.frame)
        except ItemError as exc:
            raise self.located(exc) from None
        edited = Item(
            text,
            data=new,
            where=self.where,
            line=self.line,
            frame=self.frame,
            column=self.column,
            newline=self.newline,
        )
        edited.origin = self.origin or self
        edited.file = self.file
        return edited


def _header_of(data: Any) -> Header:
    if not isinstance(data, dict):
        return EMPTY
    meta = data.get("metadata")
    meta = meta if isinstance(meta, dict) else {}

    def string(value: Any) -> str:
        return value if isinstance(value, str) else ""

    return Header(
        string(data.get("apiVersion")),
        string(data.get("kind")),
        string(meta.get("name")),
        string(meta.get("namespace")),
    )


def _kind_of(value: Any) -> str:
    if value is None:
        return "an empty document"
    if isinstance(value, list):
        return "a list"
    return f"a scalar ({type(value).__name__})"
