"""ConfigMaps a kustomize ``configMapGenerator`` makes from files, as items a function can change.

A repository may keep a program's own config as a plain file that a ``configMapGenerator``
turns into a ConfigMap (phycoforce/home-ops: cloudflared's ``configs/config.yaml``). kpt
refuses YAML without ``apiVersion`` in a package, so such a file is ``.krmignore``d and never
reaches the function; the ConfigMap exists only once kustomize builds the directory. Under
``kpt fn render`` every item carries the absolute package path
(``internal.config.kubernetes.io/package-path``) and its own path, so the file can be found:

- :func:`read` makes one ConfigMap item per generator entry whose files can be read (UTF-8
  text), unless the input already holds that ConfigMap (kustomize built it);
- after the expansion, :func:`split` takes those items out of the output again and says which
  files changed; :func:`write` writes them, only when the run succeeded.

``krmfn plan DIR`` (and ``diff``, ``check``, ``init``) read the package themselves and know
its directory the same way. Nothing is read where the package path is unknown (a pipe, a
plain stream, kustomize).
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from krmfn.errors import KrmfnError
from krmfn.krm.item import Item

#: On a ConfigMap item made here: the file each data key was read from (JSON), never written out.
SOURCE = "internal.krmfn.dev/generator-files"
PACKAGE_PATH = "internal.config.kubernetes.io/package-path"
KUSTOMIZE_GROUP = "kustomize.config.k8s.io"


@dataclass(frozen=True)
class Changed:
    """A generator file whose content the expansion changed: its package, its path there, its new text."""

    package: str
    path: str
    text: str

    @property
    def full_path(self) -> str:
        return os.path.join(self.package, self.path)


def _kustomization(item: Item) -> dict[str, Any] | None:
    if not item.mentions("configMapGenerator"):
        return None  # parse nothing else: most items are never read
    try:
        data = item.data
    except KrmfnError:
        return None
    api_version = str(data.get("apiVersion", ""))
    if data.get("kind") not in ("Kustomization", "Component") or not api_version.startswith(KUSTOMIZE_GROUP + "/"):
        return None
    return data


def _files(entry: dict[str, Any], package: str, directory: str) -> dict[str, str] | None:
    """``{key: path in the package}`` of a generator entry's ``files``; None unless each is a file in the
    kustomization's directory tree (kustomize's default load restriction)."""
    files = entry.get("files")
    if not isinstance(files, list) or not files:
        return None
    out: dict[str, str] = {}
    for spec in files:
        if not isinstance(spec, str) or not spec:
            return None
        key, sep, path = spec.partition("=")
        if not sep:
            key, path = os.path.basename(spec), spec
        full = os.path.normpath(os.path.join(package, directory, path))
        root = os.path.normpath(os.path.join(package, directory))
        if os.path.commonpath([full, root]) != root or not os.path.isfile(full):
            return None
        out[key] = os.path.relpath(full, package)
    return out


def read(items: Sequence[Item]) -> list[Item]:
    """A ConfigMap item for every ``configMapGenerator`` entry of the input whose files this run can read."""
    kustomizations = [item for item in items if item.mentions("configMapGenerator")]
    if not kustomizations:
        return []
    existing = set()
    for item in items:
        try:
            h = item.header
        except KrmfnError:
            continue
        if h.kind == "ConfigMap":
            existing.add(h.name)
    out = []
    for item in kustomizations:
        data = _kustomization(item)
        package = (item.annotation(PACKAGE_PATH) or item.package) if data is not None else None
        if not package or data is None or not item.path:
            continue
        directory = os.path.dirname(item.path)
        for entry in data.get("configMapGenerator") or []:
            if not isinstance(entry, dict) or not isinstance(entry.get("name"), str) or entry["name"] in existing:
                continue
            if entry.get("behavior") not in (None, "create"):
                continue  # `merge` and `replace` change a ConfigMap made elsewhere
            files = _files(entry, package, directory)
            content = _contents(package, files) if files else None
            if files is None or content is None:
                continue
            out.append(_configmap(entry, data, {"package": package, "files": files}, content))
    return out


def _contents(package: str, files: dict[str, str]) -> dict[str, str] | None:
    content = {}
    for key, path in files.items():
        try:
            with open(os.path.join(package, path), encoding="utf-8", newline="") as handle:
                content[key] = handle.read()
        except (OSError, UnicodeDecodeError):
            return None
    return content


def _configmap(
    entry: dict[str, Any], kustomization: dict[str, Any], source: dict[str, Any], data: dict[str, str]
) -> Item:
    metadata: dict[str, Any] = {"name": entry["name"], "annotations": {SOURCE: json.dumps(source, sort_keys=True)}}
    namespace = entry.get("namespace") or kustomization.get("namespace")
    if isinstance(namespace, str) and namespace:
        metadata["namespace"] = namespace
    return Item.from_data({"apiVersion": "v1", "kind": "ConfigMap", "metadata": metadata, "data": dict(data)})


def split(items: Iterable[Item], made: Sequence[Item]) -> tuple[list[Item], list[Changed]]:
    """The items without those :func:`read` *made*, and the files whose content changed."""
    ours = {id(item) for item in made}
    kept: list[Item] = []
    changed: list[Changed] = []
    for item in items:
        if id(item) not in ours and id(item.origin) not in ours:
            kept.append(item)  # never read here: generated items have no text to look at cheaply
            continue
        source = item.annotation(SOURCE)
        if source is None:  # pragma: no cover - read() marks every item it makes
            kept.append(item)
            continue
        if item.origin is None:
            continue  # unchanged
        where = json.loads(source)
        data = item.data.get("data")
        before = item.origin.data.get("data")
        for key, path in where["files"].items():
            text = data.get(key) if isinstance(data, dict) else None
            if isinstance(text, str) and isinstance(before, dict) and text != before.get(key):
                changed.append(Changed(where["package"], path, text))
    return kept, changed


def write(changed: Iterable[Changed]) -> None:
    for change in changed:
        with open(change.full_path, "w", encoding="utf-8", newline="") as handle:
            handle.write(change.text)
