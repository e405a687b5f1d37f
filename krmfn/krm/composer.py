"""Node trees for the documents PyYAML's own composer refuses or cannot survive.

PyYAML refuses an anchor defined twice in one document (``- name: &name A`` … ``- name:
&name B``), which YAML allows (an alias names the latest definition) and kubectl, kyaml and
Flux accept; onedr0p-style HelmReleases do it in every ``env`` list. Its C composer also
recurses once per nesting level without a guard and crashes the interpreter on a document
nested tens of thousands deep. This composer reads libyaml's events (still parsed in C)
without recursion, lets anchors be re-defined, stops at :data:`MAX_DEPTH`, and records what
an editor needs to change a document with aliases exactly: where each alias was written,
and which nodes are shared.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import yaml
from yaml.events import (
    AliasEvent,
    CollectionEndEvent,
    CollectionStartEvent,
    ScalarEvent,
    SequenceStartEvent,
    StreamEndEvent,
)
from yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode

from krmfn.errors import ItemError

#: Deeper than this is not a manifest; it is refused with a message instead of a crash.
MAX_DEPTH = 200

_resolver: Any = yaml.resolver.Resolver()


@dataclass
class Document:
    """A composed document and its aliases.

    *aliases* maps ``(id(parent), position)`` to the span of the ``*name`` text written
    there (*position*: a sequence index, or a mapping pair's index for its value);
    *anchors* maps ``id(node)`` of every anchored node to its anchor name, and *shared*
    holds the ids of the anchored nodes some alias uses.
    """

    root: Node | None
    aliases: dict[tuple[int, int], tuple[int, int]] = field(default_factory=dict)
    anchors: dict[int, str] = field(default_factory=dict)
    shared: set[int] = field(default_factory=set)


def compose_events(loader: Any, max_depth: int = MAX_DEPTH) -> Document:
    """Compose the single document of *loader* (a ``CParser``) from its events.

    *max_depth* bounds the nesting; a whole ResourceList is composed with a larger one, so
    that its items' depth is judged when they are read, as in any other layout.
    """
    loader.get_event()  # stream start
    if loader.check_event(StreamEndEvent):
        return Document(None)
    loader.get_event()  # document start
    doc = Document(None)
    by_name: dict[str, Node] = {}
    # Each open collection, with the key waiting for its value when it is a mapping.
    stack: list[tuple[Node, Node | None]] = []
    while True:
        event: Any = loader.get_event()
        if isinstance(event, CollectionEndEvent):
            ended = stack.pop()[0]
            ended.end_mark = mark(event, "end")
            if not stack:
                break
            continue
        if isinstance(event, AliasEvent):
            if event.anchor not in by_name:
                raise ItemError(f"must define the anchor `&{event.anchor}` before its alias", line=mark(event).line + 1)
            node = by_name[event.anchor]
            doc.shared.add(id(node))
            if stack:
                parent, pending = stack[-1]
                at = (id(parent), _position(parent, pending))
                doc.aliases[at] = (mark(event).index, mark(event, "end").index)
        else:
            node = _start(event)
            if event.anchor is not None:
                by_name[event.anchor] = node
                doc.anchors[id(node)] = event.anchor
        is_root = not stack
        _attach(stack, node, doc)
        if isinstance(event, CollectionStartEvent):
            if len(stack) >= max_depth:
                raise ItemError(f"must not nest deeper than {max_depth} levels", line=mark(event).line + 1)
            stack.append((node, None))
        elif is_root:
            break
    loader.get_event()  # document end
    if not loader.check_event(StreamEndEvent):
        raise ItemError("must hold a single YAML document", line=mark(loader.peek_event()).line + 1)
    return doc


def mark(event: Any, which: str = "start") -> Any:
    """An event's start or end mark (libyaml always sets both)."""
    return event.start_mark if which == "start" else event.end_mark


def _start(event: Any) -> Node:
    e: Any = event  # libyaml's marks, typed loosely by the stubs
    explicit = e.tag not in (None, "!")
    if isinstance(event, ScalarEvent):
        tag = e.tag if explicit else _resolver.resolve(ScalarNode, e.value, e.implicit)
        return ScalarNode(tag, e.value, e.start_mark, e.end_mark, style=e.style)
    if isinstance(event, SequenceStartEvent):
        tag = e.tag if explicit else _resolver.resolve(SequenceNode, None, e.implicit)
        return SequenceNode(tag, [], e.start_mark, None, flow_style=e.flow_style)
    tag = e.tag if explicit else _resolver.resolve(MappingNode, None, e.implicit)
    return MappingNode(tag, [], e.start_mark, None, flow_style=e.flow_style)


def _position(parent: Node, pending_key: Node | None) -> int:
    """Where the next child of *parent* goes: a sequence index or a mapping pair index."""
    if isinstance(parent, SequenceNode):
        return len(parent.value)
    return len(parent.value) if pending_key is not None else -1 - len(parent.value)


def _attach(stack: list[tuple[Node, Node | None]], node: Node, doc: Document) -> None:
    """Give *node* to the open collection, or make it the document's root."""
    if not stack:
        doc.root = node
        return
    parent, pending = stack[-1]
    if isinstance(parent, SequenceNode):
        parent.value.append(node)
    elif pending is None:
        stack[-1] = (parent, node)
    else:
        parent.value.append((pending, node))
        stack[-1] = (parent, None)
