"""What a concern module sees and may do during one expansion.

Concern modules (certificates, issuers, gateways, …) are pure: they read the config and
the input items through a :class:`Context`, ask it to generate resources, to replace an
item's data, and to report results. The context enforces the rules every concern shares:
SOPS-encrypted items are never changed, a missing patch target is an error (or, in
generator mode, one warning), and every generated resource carries the ownership marks.

Lookups go through an index built once, by (kind, name) and by kind, that :meth:`Context.replace`
keeps in step; :attr:`Context.lookups` counts them. A resource's namespace is the one it
lands in (:mod:`krmfn.layout`): its own, or the one its kustomization or Flux Kustomization
gives it, or :data:`~krmfn.layout.ANY` when nothing says, which matches every namespace.
Items that are not named resources (kustomizations, non-Kubernetes YAML) are never found.
"""

from __future__ import annotations

import posixpath
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

from krmfn.api.config import Config
from krmfn.errors import ItemError
from krmfn.krm import results as r
from krmfn.krm.item import Item
from krmfn.krm.results import ResourceRef, Result
from krmfn.layout import ANY, Layout, Namespaces, resource_header

OWNER_ANNOTATION = "krmfn.dev/owned-by"


def owner_value(config: Config) -> str:
    """The owner mark's value: ``MultiDomain/<name>`` (``MultiDomain/<namespace>/<name>`` when namespaced)."""
    meta = config.model.metadata
    return f"MultiDomain/{meta.namespace}/{meta.name}" if meta.namespace else f"MultiDomain/{meta.name}"


@dataclass
class Generated:
    """A resource a concern wants to exist, and the file it belongs in."""

    data: dict[str, Any]
    file: str

    @property
    def identity(self) -> tuple[str, str, str, str]:
        meta = self.data["metadata"]
        return _identity(self.data["apiVersion"], self.data["kind"], meta.get("namespace"), meta["name"])


def _identity(api_version: str, kind: str, namespace: str | None, name: str) -> tuple[str, str, str, str]:
    return (api_version.rpartition("/")[0], kind, namespace or "", name)


def ref_of(item: Item) -> ResourceRef:
    h = item.header
    return ResourceRef(h.api_version, h.kind, h.name, h.namespace)


def resource_of(item: Item) -> ResourceRef | None:
    """The result's ``resourceRef`` for *item*; None for a document that is no resource (a Helm values file)."""
    return ref_of(item) if item.is_resource else None


def subject(item: Item) -> str:
    """How a message names *item*: ``Kind namespace/name``, or the file of a document that is no resource."""
    if item.is_resource:
        return ref_of(item).describe()
    return f"values file {item.path}" if item.path else item.describe()


def normalized_path(path: str) -> str:
    return posixpath.normpath(path.strip()).removeprefix("./")


@dataclass(frozen=True)
class ManagedCertificate:
    """The Certificate that serves a domain, generated or adopted: what gateways and the plan must name."""

    namespace: str | None
    name: str
    secret: str
    data: dict[str, Any]
    #: "generated" by krmfn, or a hand-written one krmfn "adopted".
    origin: str = "generated"


def matches(namespaces: Namespaces, namespace: str | None) -> bool:
    """Whether a resource landing in *namespaces* can be the one wanted in *namespace* (None: any)."""
    return namespace is None or namespaces is ANY or namespace in namespaces


@dataclass
class Context:
    """One expansion's shared state."""

    config: Config
    items: list[Item]
    generator_mode: bool = False
    #: Resources an earlier run generated (or adopted); read-only here, :mod:`krmfn.ownership` reconciles them.
    owned: list[Item] = field(default_factory=list)
    layout: Layout = field(default_factory=lambda: Layout([]))
    results: list[Result] = field(default_factory=list)
    generated: list[Generated] = field(default_factory=list)
    #: Each domain's Certificate by domain name, once the certificates concern has run.
    certificates: dict[str, ManagedCertificate] = field(default_factory=dict)
    patched: int = 0
    #: Input items being adopted (id → why), see :meth:`adopt`.
    adopting: dict[int, str] = field(default_factory=dict)
    #: Where generated files go (``<config dir>/<MultiDomain name>``); None in a plain stream.
    generated_directory: str | None = None
    #: Index lookups made (find, of_kind), for the CI proxy that keeps lookups from growing per route.
    lookups: int = 0
    _skipped_warned: bool = False

    def __post_init__(self) -> None:
        self._position: dict[int, int] = {}
        self._by_name: dict[tuple[str, str], list[int]] = {}
        self._by_kind: dict[str, list[int]] = {}
        self._namespaces: dict[int, Namespaces] = {}
        self._by_path: dict[str, list[int]] | None = None
        for position, item in enumerate(self.items):
            self._position[id(item)] = position
            header = resource_header(item)
            if header is None:
                continue
            self._by_name.setdefault((header.kind, header.name), []).append(position)
            self._by_kind.setdefault(header.kind, []).append(position)
            self._namespaces[position] = self.layout.namespaces(item, header.namespace)

    # --- reading ---------------------------------------------------------------------

    def namespaces(self, item: Item) -> Namespaces:
        """Where *item* lands: its own namespace, or the one its build gives it, or ANY."""
        position = self._position.get(id(item))
        if position is not None and position in self._namespaces:
            return self._namespaces[position]
        header = resource_header(item)
        return self.layout.namespaces(item, header.namespace if header else None)

    def namespace_of(self, item: Item) -> str | None:
        """The one namespace *item* lands in, or None when that is unknown or several."""
        lands = self.namespaces(item)
        return next(iter(lands)) if lands is not None and len(lands) == 1 else None

    def find(self, kind: str, name: str, namespace: str | None = None, group: str | None = None) -> list[Item]:
        """Input resources of *kind* named *name* that can be in *namespace* (any, when None)."""
        self.lookups += 1
        found = []
        for position in self._by_name.get((kind, name), ()):
            item = self.items[position]
            if group is not None and item.header.group != group:
                continue
            if matches(self._namespaces[position], namespace):
                found.append(item)
        return found

    def of_kind(self, kinds: Iterable[str], group: str | None = None) -> list[Item]:
        """Input resources of any of *kinds*, in input order."""
        self.lookups += 1
        positions = sorted(p for kind in set(kinds) for p in self._by_kind.get(kind, ()))
        items = (self.items[p] for p in positions)
        return [i for i in items if group is None or i.header.group == group]

    def at_path(self, path: str) -> list[Item]:
        """Input items read from the file *path* (kpt's path annotation, or the file of ``krmfn plan DIR``)."""
        self.lookups += 1
        return [self.items[p] for p in self._paths().get(normalized_path(path), ())]

    def paths(self) -> list[str]:
        """Every file the input items come from, in input order."""
        self.lookups += 1
        return list(self._paths())

    def _paths(self) -> dict[str, list[int]]:
        # Built on first use: only values files are looked up by path, and most runs have none.
        if self._by_path is None:
            self._by_path = {}
            for position, item in enumerate(self.items):
                if item.path:
                    self._by_path.setdefault(normalized_path(item.path), []).append(position)
        return self._by_path

    def target_file(self, path: str, field_path: str) -> Item | None:
        """The one document of the input file *path* a patch must change, or None after reporting why not."""
        found = self.at_path(path)
        if len(found) == 1:
            return found[0]
        if found:
            message = f"{path} named in `{field_path}` must hold one YAML document to edit; it holds {len(found)}"
        elif self.generator_mode:
            self._generator_warning(f"values file {path}")
            return None
        else:
            message = (
                f"{path} named in `{field_path}` must be in the input; it is not. A Helm values file is not a "
                "Kubernetes resource: `kpt fn render` refuses it, so there it must be kpt-ignored and krmfn never "
                "sees it. Run krmfn on the package source instead: `kpt fn source PKG --fn-config CONFIG | krmfn | "
                "kpt fn sink OUT` (with `set -o pipefail`), or `krmfn plan DIR`"
            )
        self.results.append(r.error(message, field=f"{field_path}.file", resource=self.config_ref))
        return None

    def owned_of_kind(self, kind: str, group: str) -> list[Item]:
        """Resources of *kind* an earlier run generated or adopted."""
        self.lookups += 1
        return [i for i in self.owned if (h := resource_header(i)) is not None and (h.group, h.kind) == (group, kind)]

    def target(
        self, kind: str, name: str, namespace: str | None, field_path: str, group: str | None = None
    ) -> Item | None:
        """The one input item a patch must change, or None after reporting why not."""
        found = self.find(kind, name, namespace, group)
        where = f"{namespace}/{name}" if namespace else name
        if len(found) == 1:
            return found[0]
        if len(found) > 1:
            self.results.append(
                r.error(
                    f"{kind} {where} must appear once in the input; found {len(found)}",
                    field=field_path,
                    resource=self.config_ref,
                )
            )
            return None
        if self.generator_mode:
            self._generator_warning(f"{kind} {where}")
            return None
        self.results.append(
            r.error(
                f"{kind} {where} named in `{field_path}` must be in the input; it is not",
                field=field_path,
                resource=self.config_ref,
            )
        )
        return None

    def _generator_warning(self, first: str) -> None:
        if not self._skipped_warned:
            self._skipped_warned = True
            self.results.append(
                r.warning(
                    "generator mode: the input holds only the function config, so existing resources "
                    f"(starting with {first}) were not patched; run krmfn as a transformer to patch them"
                )
            )

    @property
    def config_ref(self) -> ResourceRef:
        meta = self.config.model.metadata
        return ResourceRef(self.config.model.api_version, self.config.model.kind, meta.name, meta.namespace)

    # --- changing --------------------------------------------------------------------

    def generate(self, data: dict[str, Any], file: str) -> None:
        """Ask for *data* to exist as a generated, owned resource in *file* (e.g. ``certificates.yaml``)."""
        self.generated.append(Generated(data, file))

    def replace(self, item: Item, new: dict[str, Any], why: str) -> bool:
        """Give input *item* the data *new*; refuse (with an error) for SOPS-encrypted items."""
        index = self._position.get(id(item))
        if index is None:  # pragma: no cover - concerns only pass items they found here
            raise ValueError("replace() needs an item of this context")
        if item.is_sops_encrypted:
            self.results.append(
                r.error(
                    f"{subject(item)} is SOPS-encrypted and must not be modified, but {why}; "
                    "make the change in the decrypted file and re-encrypt it",
                    resource=resource_of(item),
                    file=item.path,
                )
            )
            return False
        try:
            updated = item.with_data(new)
        except ItemError as exc:  # no exact edit exists: this item is refused, alone
            self.results.append(r.error(exc.message, resource=resource_of(item), file=exc.file, file_index=exc.index))
            return False
        if updated is item:
            return False
        self.items[index] = updated
        del self._position[id(item)]
        self._position[id(updated)] = index
        self.patched += 1
        self.results.append(r.info(f"patched {subject(item)}: {why}", resource=resource_of(item), file=item.path))
        return True

    def adopt(self, item: Item, new: dict[str, Any], file: str, why: str) -> bool:
        """Take input *item* over as the generated resource *new*: owned from now on, kept where it is.

        It leaves the lookups (it is no longer the user's), joins :attr:`owned`, and *new*
        is generated with its identity, so that :mod:`krmfn.ownership` edits it in place,
        marks it, and prunes it later like any generated resource.
        """
        if item.is_sops_encrypted:
            self.results.append(
                r.error(
                    f"{ref_of(item).describe()} is SOPS-encrypted and must not be modified, but it must be adopted: "
                    f"{why}; make the change in the decrypted file and re-encrypt it",
                    resource=ref_of(item),
                    file=item.path,
                )
            )
            return False
        position, header = self._position[id(item)], item.header
        self._by_name[(header.kind, header.name)].remove(position)
        self._by_kind[header.kind].remove(position)
        self.owned.append(item)
        self.adopting[id(item)] = why
        self.generate(new, file)
        return True

    def report(self, result: Result) -> None:
        self.results.append(result)

    def report_all(self, results: Sequence[Result]) -> None:
        self.results.extend(results)
