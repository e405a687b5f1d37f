"""What a concern module sees and may do during one expansion.

Concern modules (certificates, issuers, gateways, …) are pure: they read the config and
the input items through a :class:`Context`, ask it to generate resources, to replace an
item's data, and to report results. The context enforces the rules every concern shares:
SOPS-encrypted items are never changed, a missing patch target is an error (or, in
generator mode, one warning), and every generated resource carries the ownership marks.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

from krmfn.api.config import Config
from krmfn.krm import results as r
from krmfn.krm.item import Item
from krmfn.krm.results import ResourceRef, Result


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


@dataclass
class Context:
    """One expansion's shared state."""

    config: Config
    items: list[Item]
    generator_mode: bool = False
    results: list[Result] = field(default_factory=list)
    generated: list[Generated] = field(default_factory=list)
    patched: int = 0
    _skipped_warned: bool = False

    # --- reading ---------------------------------------------------------------------

    def find(self, kind: str, name: str, namespace: str | None = None, group: str | None = None) -> list[Item]:
        """Input items of *kind* named *name* (in *namespace*, when given)."""
        found = []
        for item in self.items:
            h = item.header
            if h.kind != kind or h.name != name:
                continue
            if namespace is not None and (h.namespace or None) not in (namespace, None):
                continue
            if group is not None and h.group != group:
                continue
            found.append(item)
        return found

    def of_kind(self, kinds: Iterable[str], group: str | None = None) -> list[Item]:
        wanted = set(kinds)
        return [i for i in self.items if i.header.kind in wanted and (group is None or i.header.group == group)]

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
            if not self._skipped_warned:
                self._skipped_warned = True
                self.results.append(
                    r.warning(
                        "generator mode: the input holds only the function config, so existing resources "
                        f"(starting with {kind} {where}) were not patched; run krmfn as a transformer to patch them"
                    )
                )
            return None
        self.results.append(
            r.error(
                f"{kind} {where} named in `{field_path}` must be in the input; it is not",
                field=field_path,
                resource=self.config_ref,
            )
        )
        return None

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
        index = next((i for i, x in enumerate(self.items) if x is item), None)
        if index is None:  # pragma: no cover - concerns only pass items they found here
            raise ValueError("replace() needs an item of this context")
        if item.is_sops_encrypted:
            self.results.append(
                r.error(
                    f"{ref_of(item).describe()} is SOPS-encrypted and must not be modified, but {why}; "
                    "make the change in the decrypted file and re-encrypt it",
                    resource=ref_of(item),
                    file=item.path,
                )
            )
            return False
        updated = item.with_data(new)
        if updated is item:
            return False
        self.items[index] = updated
        self.patched += 1
        self.results.append(r.info(f"patched {ref_of(item).describe()}: {why}", resource=ref_of(item), file=item.path))
        return True

    def report(self, result: Result) -> None:
        self.results.append(result)

    def report_all(self, results: Sequence[Result]) -> None:
        self.results.extend(results)
