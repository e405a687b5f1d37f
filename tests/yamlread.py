"""YAML as the tools that apply it read it, for tests that inspect files: PyYAML with one change.

YAML 1.2 (and Go's yaml.v3, which kustomize and Flux use) lets a document define an anchor
again; later aliases name the newest one. PyYAML refuses that ("found duplicate anchor"),
and real repositories do it (onedr0p/home-ops' HelmReleases re-use `&app`), so the oracles
read files with this loader instead of ``yaml.safe_load_all``.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import yaml
from yaml.events import AliasEvent
from yaml.nodes import Node


class Loader(yaml.SafeLoader):
    def compose_node(self, parent: Node | None, index: Any) -> Node | None:
        event = self.peek_event()  # type: ignore[no-untyped-call]
        anchor = getattr(event, "anchor", None)
        if anchor is not None and not isinstance(event, AliasEvent):
            self.anchors.pop(anchor, None)  # a re-definition replaces the old one
        return super().compose_node(parent, index)


def load_all(text: str | bytes) -> Iterator[Any]:
    return yaml.load_all(text, Loader=Loader)
