"""Where a chart reads its values inside a release: at the top, or under a wrapper chart's subchart key.

Real repositories often install a *wrapper* chart, a local chart that lists the upstream one
as a dependency (Thakurvaibhav/k8s ``charts/external-dns``). Helm hands the subchart only the
values under its name, so ``domainFilters`` written at the top of the release's values is read
by nobody. ``valuesPath`` (dot-separated keys, e.g. ``external-dns``) names where the chart's
values are; without it, a nested ``domainFilters`` (or the key each concern edits) is an
error that names the path to set, and a chart that is not the upstream one gets a warning.

Repositories that keep no HelmRelease or Application in git (Argo CD wrapper charts made into
Applications by an ApplicationSet, khuedoan/homelab) are configured as ``kind: HelmValues``:
the installation *is* the values file of the local chart (``file``, its path in the package),
found by the item's path; its values are the whole document. A values file reaches krmfn only
as an item of ``kpt fn source`` or ``krmfn plan DIR`` (``kpt fn render`` refuses non-KRM YAML),
and :meth:`~krmfn.context.Context.target_file` says so when it is missing.
:func:`find_installation`, :func:`target_installation` and :func:`values_of` are the one way
every concern finds an installation and its values, whatever its kind.

The chart is found as Flux and Argo CD find it: a HelmRelease's ``spec.chart.spec.chart``
(from a Git or bucket source: a local chart), or ``spec.chartRef`` to an OCIRepository (the
last segment of its URL) or HelmChart in the input; an Application's ``source.chart``, or
``source.path`` (a chart in a Git repository: local).
"""

from __future__ import annotations

import posixpath
from collections.abc import Collection
from dataclasses import dataclass
from typing import Any, Protocol

from krmfn.api.config import HELM_VALUES
from krmfn.context import Context, resource_of, subject
from krmfn.krm import results as r
from krmfn.krm.item import Item

_LOCAL_SOURCES = ("GitRepository", "Bucket")
HELM_GROUP = "helm.toolkit.fluxcd.io"
ARGO_GROUP = "argoproj.io"
#: The API group of each kind an installation may be (a values file has none).
GROUPS = {"HelmRelease": HELM_GROUP, "Deployment": "apps", "Application": ARGO_GROUP, "ConfigMap": ""}
CHART_FILE = "Chart.yaml"


class Installed(Protocol):
    """A config entry naming an installation: ``spec.externalDNS[]``, ``spec.tunnel``."""

    @property
    def kind(self) -> str: ...
    @property
    def name(self) -> str: ...
    @property
    def namespace(self) -> str | None: ...
    @property
    def file(self) -> str | None: ...


def find_installation(ctx: Context, spec: Installed) -> list[Item]:
    """The input items that can be *spec*'s installation (no result reported)."""
    if spec.kind == HELM_VALUES:
        return ctx.at_path(spec.file or "")
    return ctx.find(spec.kind, spec.name, spec.namespace, GROUPS[spec.kind])


def target_installation(ctx: Context, spec: Installed, where: str) -> Item | None:
    """*spec*'s one installation item to patch, or None after reporting why not."""
    if spec.kind == HELM_VALUES:
        return ctx.target_file(spec.file or "", where)
    return ctx.target(spec.kind, spec.name, spec.namespace, where, group=GROUPS[spec.kind])


def values_of(data: Any, kind: str) -> tuple[dict[str, Any] | None, str]:
    """In a HelmRelease's *data*, ``spec.values``; in a values file's, the document; and the field path
    naming it (``""`` for a file: its keys are named from its top). None when it is not a mapping."""
    if kind == HELM_VALUES:
        return (data if isinstance(data, dict) else None), ""
    values = dig(data, "spec", "values")
    return (values if isinstance(values, dict) else None), "spec.values"


def joined(field: str, *keys: str | None) -> str:
    """``field.key…``, where *field* may be empty (the top of a values file)."""
    return ".".join(part for part in (field, *keys) if part)


def file_chart(ctx: Context, item: Item) -> Chart:
    """The local chart a values file belongs to: its ``Chart.yaml`` name, else its directory's."""
    chart = chart_file(ctx, item)
    name = dig(chart.value, "name") if chart is not None else None
    directory = posixpath.basename(posixpath.dirname(item.path or ""))
    return Chart(name if isinstance(name, str) else directory or None, local=True)


class Paths(Protocol):
    """What finds the items of a package by their path: a :class:`Context`, or ``krmfn init``'s reader."""

    def at_path(self, path: str) -> list[Item]: ...


def chart_file(ctx: Paths, item: Item) -> Item | None:
    """The ``Chart.yaml`` beside a values file, when it is in the input."""
    directory = posixpath.dirname(item.path or "")
    found = ctx.at_path(posixpath.join(directory, CHART_FILE)) if directory else []
    return found[0] if len(found) == 1 else None


def dependencies(chart: Item) -> dict[str, str | None]:
    """A ``Chart.yaml``'s dependencies: the key each reads its values under (``alias``, else ``name``),
    with the dependency's chart name."""
    deps = dig(chart.value, "dependencies")
    out: dict[str, str | None] = {}
    for dep in deps if isinstance(deps, list) else []:
        name = dig(dep, "name")
        key = dig(dep, "alias") or name
        if isinstance(key, str):
            out[key] = name if isinstance(name, str) else None
    return out


def dependency_version(ctx: Context, item: Item, values_path: str | None) -> str | None:
    """The version of the dependency a values file's *values_path* configures (its ``Chart.yaml``)."""
    chart = chart_file(ctx, item)
    keys = path_of(values_path)
    deps = dig(chart.value, "dependencies") if chart is not None and keys else None
    for dep in deps if isinstance(deps, list) else []:
        if (dig(dep, "alias") or dig(dep, "name")) == keys[0] and dig(dep, "version") is not None:
            return str(dig(dep, "version"))
    return None


@dataclass(frozen=True)
class Chart:
    """The chart a release installs, as far as the input tells: its name, and whether it is local."""

    name: str | None
    local: bool = False

    def describe(self) -> str:
        where = "a chart from the repository" if self.local else "the chart"
        return f"{where} {self.name!r}" if self.name else "a chart not in the input"


def dig(data: Any, *keys: str) -> Any:
    """``data[k1][k2]…``, or None where a step is missing or not a mapping."""
    for key in keys:
        data = data.get(key) if isinstance(data, dict) else None
    return data


def path_of(values_path: str | None) -> list[str]:
    return [part for part in (values_path or "").split(".") if part]


def chart_of(ctx: Context, item: Item, source: dict[str, Any] | None = None) -> Chart:
    """The chart of a HelmRelease, or of an Application's *source*."""
    if source is not None:
        if isinstance(source.get("chart"), str):
            return Chart(source["chart"])
        path = source.get("path")
        return Chart(str(path).rstrip("/").rpartition("/")[2], local=True) if isinstance(path, str) else Chart(None)
    chart = dig(item.data, "spec", "chart", "spec")
    if isinstance(chart, dict) and isinstance(chart.get("chart"), str):
        kind = dig(chart, "sourceRef", "kind")
        return Chart(chart["chart"].rstrip("/").rpartition("/")[2], local=kind in _LOCAL_SOURCES)
    ref = dig(item.data, "spec", "chartRef")
    if isinstance(ref, dict) and ref.get("kind") in ("OCIRepository", "HelmChart") and isinstance(ref.get("name"), str):
        namespace = ref.get("namespace") if isinstance(ref.get("namespace"), str) else None
        found = ctx.find(ref["kind"], ref["name"], namespace or ctx.namespace_of(item))
        body = found[0].data.get("spec") if len(found) == 1 else None
        if isinstance(body, dict) and isinstance(body.get("url"), str):
            return Chart(body["url"].rstrip("/").rpartition("/")[2])
        if isinstance(body, dict) and isinstance(body.get("chart"), str):
            kind = dig(body, "sourceRef", "kind")
            return Chart(body["chart"].rstrip("/").rpartition("/")[2], local=kind in _LOCAL_SOURCES)
    return Chart(None)


def locate(
    ctx: Context,
    item: Item,
    values: dict[str, Any],
    *,
    values_path: str | None,
    key: str,
    where: str,
    field: str,
) -> dict[str, Any] | None:
    """The mapping the chart reads inside *values* (created along *values_path*), or None after an error.

    *key* is the value the caller edits (``domainFilters``); it tells a wrapper chart's values
    apart when no path is set. *where* is the config field (``spec.externalDNS[0]``), *field*
    the release field holding *values* (``spec.values``).
    """
    node = values
    walked = field
    for part in path_of(values_path):
        walked = joined(walked, part)
        child = node.get(part)
        if child is None:
            child = node[part] = {}
        if not isinstance(child, dict):
            ctx.report(
                r.error(
                    f"{subject(item)}: `{walked}` must be a mapping to hold the chart's values "
                    f"(`{where}.valuesPath` is {values_path!r})",
                    resource=resource_of(item),
                    field=walked,
                    file=item.path,
                )
            )
            return None
        node = child
    return node if nested_right(ctx, item, values, values_path=values_path, key=key, where=where, field=field) else None


def nested_right(
    ctx: Context, item: Item, values: dict[str, Any], *, values_path: str | None, key: str, where: str, field: str
) -> bool:
    """False, after an error naming the path to set, when *key* sits only under a subchart key."""
    if values_path is not None or key in values:
        return True
    nested = [k for k, v in values.items() if isinstance(v, dict) and key in v]
    if not nested:
        return True
    ctx.report(
        r.error(
            f"{subject(item)} holds `{key}` under `{joined(field, nested[0])}`, not at the top of its values: "
            f"a wrapper chart passes it to its subchart {nested[0]!r}; set `{where}.valuesPath: {nested[0]}` "
            f"so that krmfn edits it there",
            resource=resource_of(item),
            field=f"{where}.valuesPath",
            file=item.path,
        )
    )
    return False


def warn_unless_upstream(
    ctx: Context, item: Item, chart: Chart, upstream: Collection[str], *, values_path: str | None, where: str
) -> None:
    """Values at the top suit the upstream chart only; say so when the release installs another one."""
    if values_path is not None or chart.name is None or (chart.name in upstream and not chart.local):
        return
    ctx.report(
        r.warning(
            f"{subject(item)} installs {chart.describe()}, not the upstream {' or '.join(sorted(upstream))} "
            f"chart, and `{where}.valuesPath` is not set, so krmfn writes at the top of its values; if it wraps "
            "the upstream chart as a dependency, Helm passes that chart only the values under the dependency's "
            "name: set `valuesPath` to it",
            resource=resource_of(item),
            field=f"{where}.valuesPath",
            file=item.path,
        )
    )
