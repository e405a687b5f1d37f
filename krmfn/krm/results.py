"""KRM function results: what the function tells the user, as data.

A result is written into the output ResourceList (kpt shows them) and, for errors and
warnings, also printed to stderr as one line, because kustomize ignores results.
"""

from __future__ import annotations

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
