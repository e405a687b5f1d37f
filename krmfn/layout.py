"""How a GitOps tree applies its files: which namespace each resource lands in, and what applies it.

Resources in real repositories rarely carry ``metadata.namespace``: kustomize's
``namespace:`` or a Flux Kustomization's ``targetNamespace`` sets it when the directory is
built. This module replays that from the input alone, using the kpt path annotations to
know which file and directory each item came from. It is the one place that answers
"in which namespace does this resource end up?" (:meth:`Layout.namespaces`) and "does
anything apply this file?" (:meth:`Layout.applied`).

The rules replayed (checked against kustomize v5.5 and fluxcd/pkg ``kustomize_generator.go``):

- A kustomization builds the files and directories in its ``resources`` (and ``components``,
  and the old ``bases``); its ``namespace:`` is set on everything it builds, *overriding*
  namespaces set further in: the outermost ``namespace:`` of a build wins.
- A Flux Kustomization builds its ``spec.path`` (relative to the repository root, which may
  lie above the package root) with ``targetNamespace`` overriding every namespace, plus its
  ``spec.components``. When the directory has no ``kustomization.yaml``, Flux generates one
  listing every ``.yaml``/``.yml`` file below it, stopping at (and including) each
  subdirectory that has its own kustomization.
- Kustomizations that no other kustomization includes and no Flux Kustomization reaches are
  roots of their own (an Argo CD application, a ``kustomize build`` in CI).

When a file is built in several places, its resources land in every namespace those builds
give. When nothing in the input says where a resource lands and it has no namespace of its
own, its namespace is :data:`ANY`: it matches every namespace, so it never hides a duplicate.
Without path annotations (a plain stream, kustomize) every resource keeps its own namespace.
"""

from __future__ import annotations

import bisect
import posixpath
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any

from krmfn.errors import KrmfnError
from krmfn.krm.item import Header, Item

#: A namespace that is not known: it matches every namespace.
ANY = None
Namespaces = frozenset[str] | None

KUSTOMIZE_GROUP = "kustomize.config.k8s.io"
FLUX_GROUP = "kustomize.toolkit.fluxcd.io"
ARGO_GROUP = "argoproj.io"
#: kustomize's recognised file names (konfig.RecognizedKustomizationFileNames), in its order.
KUSTOMIZATION_FILES = ("kustomization.yaml", "kustomization.yml", "Kustomization")
_MANIFEST_SUFFIXES = (".yaml", ".yml")


def resource_header(item: Item) -> Header | None:
    """The item's header when it is a named Kubernetes resource, else None (a kustomization, a list…)."""
    header = item.header
    return header if header.is_resource else None


def kind_of(item: Item) -> tuple[str, str] | None:
    """(group, kind) of any mapping with ``apiVersion`` and ``kind``, named or not."""
    header = item.header  # never raises; a Kustomization's has no name, a list's is empty
    return (header.group, header.kind) if header.api_version and header.kind else None


@dataclass(frozen=True)
class Kustomization:
    """A kustomize Kustomization or Component of the input, at ``directory``."""

    item: Item
    directory: str
    file: str
    namespace: str | None
    #: ``resources``, ``components`` and ``bases`` entries as written.
    entries: tuple[str, ...]


@dataclass(frozen=True)
class FluxKustomization:
    """A Flux Kustomization and the package directory its ``spec.path`` builds (None: not in the input)."""

    item: Item
    name: str
    directory: str | None
    target_namespace: str | None
    components: tuple[str, ...]


@dataclass
class _Builds:
    #: file → the namespace each build that reaches it gives (None: the file's own).
    files: dict[str, set[str | None]] = field(default_factory=dict)
    #: directory → the namespace its own files get in each build that reaches it.
    directories: dict[str, set[str | None]] = field(default_factory=dict)
    #: directory → the Flux Kustomizations whose build reaches it.
    flux: dict[str, set[str]] = field(default_factory=dict)


class Layout:
    """The kustomizations and Flux Kustomizations of the input, and where they send each file."""

    def __init__(self, items: Sequence[Item]) -> None:
        self.files: set[str] = set()
        self.kustomizations: dict[str, Kustomization] = {}
        #: The git `path`s of the Argo CD Applications in the input (their own `source`/`sources`).
        self.argo_paths: list[str] = []
        flux_items = []
        for item in items:
            path = item.path
            if not path:
                continue
            path = _normal(path)
            self.files.add(path)
            kind = kind_of(item)
            # kustomize reads a kustomization by its file name; apiVersion and kind are optional
            if posixpath.basename(path) in KUSTOMIZATION_FILES and (kind is None or kind[0] == KUSTOMIZE_GROUP):
                self._add_kustomization(item, path)
            elif kind == (FLUX_GROUP, "Kustomization"):
                flux_items.append(item)
            elif kind == (ARGO_GROUP, "Application"):
                self.argo_paths += _argo_paths(item)
        self.directories = _directories(self.files)
        self._prefix = self._repo_prefix([_flux_path(i) for i in flux_items])
        self.flux = [self._flux(item) for item in flux_items]
        self._builds = _Builds()
        #: (directory, namespace, Flux name) already built: a directory reached by many paths is built once.
        self._built: set[tuple[str, str | None, str | None]] = set()
        self._sorted_files = sorted(self.files)
        self._build_all()

    # --- reading the input ------------------------------------------------------------

    def _add_kustomization(self, item: Item, path: str) -> None:
        directory = posixpath.dirname(path)
        data = _data(item)
        entries: list[str] = []
        for key in ("resources", "components", "bases"):
            value = data.get(key)
            entries += [e for e in value if isinstance(e, str)] if isinstance(value, list) else []
        namespace = data.get("namespace")
        kustomization = Kustomization(
            item, directory, path, namespace if isinstance(namespace, str) and namespace else None, tuple(entries)
        )
        self.kustomizations.setdefault(directory, kustomization)

    def _flux(self, item: Item) -> FluxKustomization:
        data = _data(item)
        spec = _mapping(data.get("spec"))
        meta = _mapping(data.get("metadata"))
        target = spec.get("targetNamespace")
        components = spec.get("components")
        return FluxKustomization(
            item,
            str(meta.get("name", "")),
            self._package_directory(_flux_path(item)),
            target if isinstance(target, str) and target else None,
            tuple(c for c in components if isinstance(c, str)) if isinstance(components, list) else (),
        )

    def _package_directory(self, parts: list[str]) -> str | None:
        """The input directory a repository path names, given where the package sits in the repository."""
        prefix = self._prefix.split("/") if self._prefix else []
        if parts[: len(prefix)] != prefix:
            return None
        candidate = "/".join(parts[len(prefix) :])
        return candidate if candidate in self.directories else None

    def _repo_prefix(self, paths: list[list[str]]) -> str:
        """Where the package sits in the repository, judged from every Flux path at once.

        The package may be the repository (``kubernetes/apps/…`` in the paths and the input)
        or a subtree of it (``kpt fn eval kubernetes``). Each Flux path votes for the prefixes
        under which it names an input directory; the prefix most paths agree on wins, so one
        stray ``app`` directory cannot capture a path.
        """
        votes: dict[str, int] = {}
        for parts in paths:
            for k in range(len(parts)):
                if "/".join(parts[k:]) in self.directories:
                    prefix = "/".join(parts[:k])
                    votes[prefix] = votes.get(prefix, 0) + 1
        return max(sorted(votes), key=lambda p: (votes[p], -len(p)), default="")

    # --- building ---------------------------------------------------------------------

    def _build_all(self) -> None:
        for flux in self.flux:
            if flux.directory is None:
                continue
            self._build(flux.directory, flux.target_namespace, flux.name, set())
            for component in flux.components:
                target = _join(flux.directory, component)
                if target is not None:
                    self._build(target, flux.target_namespace, flux.name, set())
        included = {
            target
            for k in self.kustomizations.values()
            for entry in k.entries
            if (target := _join(k.directory, entry)) is not None
        }
        for directory in sorted(self.kustomizations):
            if directory not in self._builds.directories and directory not in included:
                self._build(directory, None, None, set())

    def _build(self, directory: str, override: str | None, flux: str | None, seen: set[tuple[str, str | None]]) -> None:
        key = (directory, override)
        if key in seen:
            return  # a cycle; kustomize refuses it, the input is not ours to judge
        if (directory, override, flux) in self._built:
            return  # its effects depend on these three only, and are in place already
        self._built.add((directory, override, flux))
        seen = seen | {key}
        if flux is not None:
            self._builds.flux.setdefault(directory, set()).add(flux)
        kustomization = self.kustomizations.get(directory)
        if kustomization is None:
            self._scan(directory, override, flux, seen)
            return
        namespace = override if override is not None else kustomization.namespace
        self._builds.directories.setdefault(directory, set()).add(namespace)
        for entry in kustomization.entries:
            target = _join(directory, entry)
            if target is None or "://" in entry:
                continue
            if target in self.files:
                self._builds.files.setdefault(target, set()).add(namespace)
            elif target in self.directories:
                self._build(target, namespace, flux, seen)

    def _scan(self, directory: str, override: str | None, flux: str | None, seen: set[tuple[str, str | None]]) -> None:
        """What Flux builds from a directory without a kustomization: every manifest below it."""
        self._builds.directories.setdefault(directory, set()).add(override)
        prefix = f"{directory}/" if directory else ""
        for path in self._files_below(prefix):
            if not path.endswith(_MANIFEST_SUFFIXES):
                continue
            stop = self._kustomization_between(directory, posixpath.dirname(path))
            if stop is not None:
                self._build(stop, override, flux, seen)
                continue
            self._builds.directories.setdefault(posixpath.dirname(path), set()).add(override)
            self._builds.files.setdefault(path, set()).add(override)

    def _files_below(self, prefix: str) -> Iterator[str]:
        """The files whose path starts with *prefix*, in order, without looking at the others."""
        files = self._sorted_files
        at = bisect.bisect_left(files, prefix)
        while at < len(files) and files[at].startswith(prefix):
            yield files[at]
            at += 1

    def _kustomization_between(self, top: str, directory: str) -> str | None:
        """The highest directory below *top* (down to *directory*) that has a kustomization."""
        if directory == top:
            return None
        rest = directory[len(top) + 1 :] if top else directory
        walked = top
        for part in rest.split("/"):
            walked = f"{walked}/{part}" if walked else part
            if walked in self.kustomizations:
                return walked
        return None

    # --- answers ----------------------------------------------------------------------

    def namespaces(self, item: Item, own: str | None) -> Namespaces:
        """The namespaces *item* (whose ``metadata.namespace`` is *own*) lands in; :data:`ANY` if unknown."""
        path = item.path
        builds = self._builds.files.get(_normal(path)) if path else None
        return _resolve(builds, own)

    def directory_namespaces(self, directory: str, own: str | None) -> Namespaces:
        """The namespaces a file added to *directory* lands in once it is applied with its neighbours.

        A new directory (not in any build yet) takes the namespaces of the nearest one above it.
        """
        walked = directory
        while walked not in self._builds.directories and walked:
            walked = posixpath.dirname(walked)
        return _resolve(self._builds.directories.get(walked), own)

    def kustomization(self, directory: str) -> Kustomization | None:
        return self.kustomizations.get(directory)

    def applied(self, directory: str) -> bool:
        """Whether some build in the input reaches *directory*'s own files."""
        return directory in self._builds.directories

    def flux_builds(self, directory: str) -> list[str]:
        """Names of the Flux Kustomizations whose build reaches *directory*."""
        return sorted(self._builds.flux.get(directory, set()))

    @property
    def has_builds(self) -> bool:
        """True when the input says how anything is applied (a kustomization or a Flux path)."""
        return bool(self.kustomizations) or any(f.directory is not None for f in self.flux)


def _resolve(builds: set[str | None] | None, own: str | None) -> Namespaces:
    own = own or None  # a header's missing namespace is ""
    if not builds:
        return frozenset({own}) if own else ANY
    found = {namespace if namespace is not None else own for namespace in builds}
    if None in found:
        return ANY
    return frozenset(n for n in found if n is not None)


def _argo_paths(item: Item) -> list[str]:
    spec = _mapping(_data(item).get("spec"))
    listed = spec.get("sources")
    sources = [spec.get("source"), *(listed if isinstance(listed, list) else [])]
    paths = (_mapping(source).get("path") for source in sources)
    return [_normal(p).strip("/") for p in paths if isinstance(p, str)]


def _flux_path(item: Item) -> list[str]:
    spec = _data(item).get("spec")
    path = spec.get("path") if isinstance(spec, dict) else None
    return [p for p in (path if isinstance(path, str) else "").split("/") if p not in ("", ".")]


def _mapping(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def _data(item: Item) -> dict[str, Any]:
    try:
        data = item.data
    except KrmfnError:
        return {}
    return data


def _normal(path: str) -> str:
    normal = posixpath.normpath(path)
    return "" if normal == "." else normal


def _join(directory: str, entry: str) -> str | None:
    """*entry* of a kustomization in *directory*, as a package path; None outside the package."""
    if "://" in entry or entry.startswith(("github.com/", "git@")):
        return None
    joined = _normal(posixpath.join(directory, entry))
    return None if joined == ".." or joined.startswith(("../", "/")) else joined


def _directories(files: Iterable[str]) -> set[str]:
    out = {""}
    for path in files:
        directory = posixpath.dirname(path)
        while directory and directory not in out:
            out.add(directory)
            directory = posixpath.dirname(directory)
    return out
