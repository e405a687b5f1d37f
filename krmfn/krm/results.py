"""KRM function results: what the function tells the user, as data.

A result is written into the output ResourceList (kpt shows them) and, for errors and
warnings, also printed to stderr as one line, because kustomize ignores results.
:func:`summarise` turns many infos of one kind into one line with a count, so that a run
over a thousand routes reads as a few lines; warnings and errors stay one per problem.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Any, Literal

Severity = Literal["error", "warning", "info"]


@dataclass(frozen=True)
class ResourceRef:
    """The resource a result is about."""

    api_version: str
    kind: str
    name: str
    namespace: str | None = None

    def describe(self) -> str:
        where = f"{self.namespace}/{self.name}" if self.namespace else self.name
        return f"{self.kind} {where}"


@dataclass(frozen=True)
class Result:
    """One result, with an explicit severity (the spec's default is error, kyaml's is info)."""

    message: str
    severity: Severity
    resource: ResourceRef | None = None
    field: str | None = None
    file: str | None = None
    file_index: int | None = None
    #: What reported it (a concern's name, ``ownership``), for :func:`summarise`; never written out.
    source: str | None = dataclasses.field(default=None, compare=False)

    def to_data(self) -> dict[str, Any]:
        out: dict[str, Any] = {"message": self.message, "severity": self.severity}
        if self.resource is not None:
            ref: dict[str, Any] = {
                "apiVersion": self.resource.api_version,
                "kind": self.resource.kind,
                "name": self.resource.name,
            }
            if self.resource.namespace:
                ref["namespace"] = self.resource.namespace
            out["resourceRef"] = ref
            if self.field:
                out["field"] = {"path": self.field}
        if self.file:
            file: dict[str, Any] = {"path": self.file}
            if self.file_index:
                file["index"] = self.file_index
            out["file"] = file
        return out

    def line(self) -> str:
        """The one readable stderr line for this result."""
        where = []
        if self.resource is not None and self.resource.describe() not in self.message:
            where.append(self.resource.describe())
        if self.field:
            where.append(f"`{self.field}`")
        if self.file and self.file not in self.message:
            where.append(f"in {self.file}")
        suffix = f" ({', '.join(where)})" if where else ""
        return f"krmfn: {self.severity}: {self.message}{suffix}"


def error(message: str, **kwargs: Any) -> Result:
    return Result(message, "error", **kwargs)


def warning(message: str, **kwargs: Any) -> Result:
    return Result(message, "warning", **kwargs)


def info(message: str, **kwargs: Any) -> Result:
    return Result(message, "info", **kwargs)


def has_errors(results: list[Result]) -> bool:
    return any(r.severity == "error" for r in results)


#: How the infos that report one change to one resource begin (``patched Gateway envoy-external: …``).
VERBS = ("generated", "updated", "adopted", "pruned", "patched")
#: Names a summary lists before it says how many more there are.
NAMES_SHOWN = 3


def summarise(results: list[Result], about: ResourceRef | None) -> list[Result]:
    """*results* with the infos of one source about one kind of resource folded into one.

    Infos are grouped by their source, their verb (:data:`VERBS`; the other infos are notes,
    grouped by what they say besides names and values) and the kind of resource they are
    about. A group of up to :data:`NAMES_SHOWN` is kept as it is; a larger one becomes one info about *about*
    (the function config) at the place of its first member,
    with the count and the first names: ``gateways: patched 2 Gateways (envoy-external,
    envoy-internal)``. What each one says is what ``krmfn plan`` and ``krmfn diff`` show.
    Warnings, errors and infos without a source are never folded.
    """
    groups: dict[tuple[str, str, str, str], list[Result]] = {}
    for res in results:
        if res.severity == "info" and res.source is not None:
            groups.setdefault(_group_of(res), []).append(res)
    out: list[Result] = []
    for res in results:
        if res.severity != "info" or res.source is None:
            out.append(res)
            continue
        group = groups[_group_of(res)]
        if len(group) <= NAMES_SHOWN:  # the summary would name each anyway, and lose what each says
            out.append(res)
        elif group[0] is res:
            out.append(_folded(group, about))
    return out


def _group_of(res: Result) -> tuple[str, str, str, str]:
    """(source, verb, kind, the words of a note): notes fold only with notes that say the same."""
    verb = res.message.partition(" ")[0]
    kind = res.resource.kind if res.resource is not None else ""
    if verb in VERBS:
        return (res.source or "", verb, kind, "")
    return (res.source or "", "", kind, _words(res))


def _words(res: Result) -> str:
    """A note without what varies from one resource to the next: names, hostnames, numbers, quotes."""
    own = {res.resource.name, res.resource.namespace} if res.resource is not None else set()
    words = (token.strip(":;,.()") for token in res.message.split())
    return " ".join(w for w in words if w.isalpha() and w not in own)


def _folded(group: list[Result], about: ResourceRef | None) -> Result:
    source, verb, kind, _ = _group_of(group[0])
    names = [_name(res) for res in group]
    more = len(names) - NAMES_SHOWN
    shown = ", ".join(names[:NAMES_SHOWN]) + (f" and {more} more" if more > 0 else "")
    what = plural(kind) if kind else "files"
    if verb:
        message = f"{source}: {verb} {len(group)} {what} ({shown}); `krmfn diff` shows each change"
    else:
        first = group[0].message
        message = f"{source}: {len(group)} notes on {what} ({shown}), the first: {first}; `krmfn plan` shows all"
    return info(message, resource=about, source=source)


def _name(res: Result) -> str:
    if res.resource is not None:
        ref = res.resource
        return f"{ref.namespace}/{ref.name}" if ref.namespace else ref.name
    return res.file or "?"


def plural(kind: str) -> str:
    """How a summary names several resources of *kind* (``Gateways``, ``Ingresses``, ``NetworkPolicies``)."""
    if kind.endswith(("s", "x", "ch", "sh")):
        return kind + "es"
    if kind.endswith("y") and kind[-2:-1] not in ("a", "e", "o", "u"):
        return kind[:-1] + "ies"
    return kind + "s"
