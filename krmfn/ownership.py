"""Owning what the function generates, so that re-running it changes nothing (STYLE §4).

Every generated resource carries ``krmfn.dev/owned-by: MultiDomain/<name>``. On each run
the owned resources in the input are matched with what the config wants now: an
unchanged one is kept byte-for-byte, a changed one is edited in place, a missing one is
added next to the config file, and one the config no longer wants is pruned.
"""

from __future__ import annotations

import posixpath
from dataclasses import dataclass, field
from typing import Any

from krmfn.context import OWNER_ANNOTATION, Generated, _identity, owner_value, ref_of
from krmfn.errors import KrmfnError
from krmfn.krm import results as r
from krmfn.krm.item import INDEX_ANNOTATIONS, PATH_ANNOTATIONS, Item, is_orchestrator_annotation
from krmfn.krm.results import ResourceRef, Result

__all__ = ["OWNER_ANNOTATION", "is_owned", "owner_value", "reconcile"]


def is_owned(item: Item, owner: str) -> bool:
    if not item.mentions(owner.rpartition("/")[2]):
        return False
    try:
        return item.annotation(OWNER_ANNOTATION) == owner
    except KrmfnError:  # not a mapping: nothing krmfn wrote
        return False


@dataclass
class Reconciled:
    #: What each owned input item became (absent: pruned).
    replacement: dict[int, Item] = field(default_factory=dict)
    new_items: list[Item] = field(default_factory=list)
    results: list[Result] = field(default_factory=list)
    generated: int = 0
    adopted: int = 0
    updated: int = 0
    unchanged: int = 0
    pruned: int = 0


def reconcile(
    items: list[Item],
    owned: list[Item],
    wanted: list[Generated],
    owner: str,
    directory: str | None,
    *,
    adopting: dict[int, str] | None = None,
) -> Reconciled:
    """Match *wanted* with the *owned* input items; new ones get a file in *directory*.

    *items* are the other input items (their path annotations take file slots too);
    *directory* None means a plain stream, where no file annotations are written;
    *adopting* names the owned items taken over in this run (id → why), which gain the
    owner mark where they are.
    """
    adopting = adopting or {}
    by_identity: dict[tuple[str, str, str, str], Item] = {}
    for item in owned:
        h = item.header
        by_identity[_identity(h.api_version, h.kind, h.namespace, h.name)] = item
    out = Reconciled()
    replacement = out.replacement
    new_items = out.new_items
    used_slots = {(item.path, _index(item)) for item in [*items, *owned] if item.path}
    for gen in wanted:
        data = _with_owner(gen.data, owner)
        existing = by_identity.pop(gen.identity, None)
        if existing is not None:
            merged = _keep_orchestrator_annotations(data, existing)
            updated = existing.with_data(merged)
            replacement[id(existing)] = updated
            if id(existing) in adopting:
                out.adopted += 1
                out.results.append(
                    r.info(
                        f"adopted {ref_of(existing).describe()}: {adopting[id(existing)]}",
                        resource=ref_of(existing),
                        file=existing.path,
                    )
                )
            elif updated is existing:
                out.unchanged += 1
            else:
                out.updated += 1
                out.results.append(
                    r.info(f"updated {ref_of(existing).describe()}", resource=ref_of(existing), file=existing.path)
                )
            continue
        if directory is not None:
            path = posixpath.join(directory, gen.file) if directory else gen.file
            index = 0
            while (path, index) in used_slots:
                index += 1
            used_slots.add((path, index))
            annotations = data["metadata"].setdefault("annotations", {})
            for key in PATH_ANNOTATIONS:
                annotations[key] = path
            for key in INDEX_ANNOTATIONS:
                annotations[key] = str(index)
        item = Item.from_data(data)
        new_items.append(item)
        out.generated += 1
        out.results.append(r.info(f"generated {ref_of(item).describe()}", resource=ref_of(item), file=item.path))
    for item in owned:
        if id(item) not in replacement:
            out.pruned += 1
            out.results.append(
                r.info(
                    f"pruned {ref_of(item).describe()}: the config no longer generates it",
                    resource=ResourceRef(
                        item.header.api_version, item.header.kind, item.header.name, item.header.namespace
                    ),
                    file=item.path,
                )
            )
    return out


def _index(item: Item) -> int:
    for key in INDEX_ANNOTATIONS:
        value = item.annotation(key)
        if value is not None and value.isdigit():
            return int(value)
    return 0


def _with_owner(data: dict[str, Any], owner: str) -> dict[str, Any]:
    meta = dict(data["metadata"])
    annotations = {OWNER_ANNOTATION: owner, **meta.get("annotations", {})}
    meta["annotations"] = annotations
    return {**data, "metadata": meta}


def _keep_orchestrator_annotations(data: dict[str, Any], existing: Item) -> dict[str, Any]:
    """kpt's and kustomize's bookkeeping on an owned item is theirs: keep it as it is."""
    kept = {k: v for k, v in existing.annotations().items() if is_orchestrator_annotation(k)}
    if not kept:
        return data
    meta = dict(data["metadata"])
    annotations = {k: v for k, v in meta.get("annotations", {}).items() if not is_orchestrator_annotation(k)}
    annotations.update(kept)
    meta["annotations"] = annotations
    return {**data, "metadata": meta}
