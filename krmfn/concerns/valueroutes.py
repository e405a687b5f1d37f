"""Routes and Ingresses a chart renders from its values: routes in Helm values are routes.

In the home-ops repositories most routes are not HTTPRoute documents but values of a Flux
HelmRelease (or an Argo CD Application) that a chart turns into one. This module reads the
conventions real repositories use into the model of :mod:`krmfn.concerns.routes`, so that
attachment, checks, records and the plan treat them like route resources:

- bjw-s app-template ``route.<identifier>`` (common library 4.x/5.x, ``classes/_route.tpl``,
  ``lib/routes/_enabled_routes.tpl``): every mapping entry renders unless ``enabled: false``;
  ``kind`` (HTTPRoute by default), ``hostnames`` each rendered with ``tpl``, ``parentRefs``,
  ``annotations`` merged over ``global.annotations``. Named after the release, with
  ``-<identifier>`` appended when several routes are enabled (or
  ``global.alwaysAppendIdentifierToResourceName``), ``forceRename``/``prefix``/``suffix``
  applied, lower-cased (``lib/common/_determineResourceNameFromValues.tpl``).
- ``httpRoute`` with ``hostnames``/``parentRefs``/``annotations``: the form of Helm's own
  chart scaffold (``helm create``) and of the home-operations charts (echo, kromgo,
  gatus-sidecar; onedr0p/home-ops sets gatus annotations through ``httpRoute.annotations``).
- a single ``route`` with ``hostnames``/``parentRefs`` at its top (renovate-operator): not
  app-template's map of routes. Its annotations are writable only where the values already
  have an ``annotations`` key, since not every such chart reads one.
- ``ingress``: app-template ``ingress.<identifier>`` (``className``, ``annotations``,
  ``hosts[].host``) and the scaffold's single ``ingress`` (``enabled``, ``className``,
  ``annotations``, ``hosts[].host``, or ``hosts`` as plain strings).

- a single ``ingress`` with one ``hostname`` or ``hostName`` string (dendrite's chart).
- argo-cd's ``server.ingress``: one host, ``server.ingress.hostname`` else ``global.domain``
  (argo-helm ``templates/argocd-server/ingress.yaml``), read when the chart is known to be
  ``argo-cd`` (a dependency in ``Chart.yaml``).

A single ``route``/``httpRoute``/``ingress`` without ``enabled`` counts as rendered: the user
wrote its hostnames. Values nested one level under a key (a wrapper chart passes its
subchart the values under the subchart's name) are read the same way.

Local charts (Argo CD wrapper charts, khuedoan/homelab) have no release resource in git: a
``values.yaml`` item next to a ``Chart.yaml`` item is read as a release (both reach krmfn through
``kpt fn source`` or ``krmfn plan DIR``). Its ``Chart.yaml`` dependencies say which top-level
keys are a subchart's values (``alias``, else ``name``) and which chart reads them. Its release
name and namespace are those of a ``HelmValues`` entry of the config naming the file, else
unknown (an ApplicationSet decides them).

The release is the one Helm sees: for Flux, ``spec.releaseName``, else
``[spec.targetNamespace-]metadata.name``, in ``spec.targetNamespace`` or the HelmRelease's
own namespace; for Argo CD, ``helm.releaseName``, else the Application's name, in
``spec.destination.namespace``. ``{{ .Release.Name }}``, ``{{ .Release.Namespace }}`` and
``{{ .Values.<path> }}`` (a string value) are resolved; a hostname with any other template
expression cannot be known here and is reported, then left out.
"""

from __future__ import annotations

import posixpath
import re
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from krmfn.api.config import HELM_VALUES
from krmfn.concerns import routes
from krmfn.concerns.chartvalues import CHART_FILE, dependencies, dig
from krmfn.concerns.routes import Ingress, Location, Route, parent_refs, strings
from krmfn.context import Context, resource_of, subject
from krmfn.errors import InputError, ItemError
from krmfn.krm import results as r
from krmfn.krm.item import Item
from krmfn.krm.results import Result
from krmfn.krm.yamltext import load

HELM_GROUP = "helm.toolkit.fluxcd.io"
ARGO_GROUP = "argoproj.io"
ROUTE_KINDS = routes.ROUTE_KINDS
#: Flux shortens a longer release name with a hash (helm-controller `release.ShortenName`).
MAX_RELEASE_NAME = 53
_TEMPLATE = re.compile(r"\{\{-?\s*(.*?)\s*-?\}\}")
_VALUES_REF = re.compile(r"^\.Values((?:\.[A-Za-z_][A-Za-z0-9_-]*)+)$")
_KEYS = ("route", "httpRoute", "ingress")
#: The file Helm reads a chart's values from by default.
VALUES_FILE = "values.yaml"
ARGO_CD_CHART = "argo-cd"


@dataclass(frozen=True)
class Release:
    """A Helm release in the input: who installs it, as what, with which values, and where they are."""

    item: Item
    name: str | None
    namespace: str | None
    values: dict[str, Any]
    #: Field path of the values in the item, for messages.
    field: str
    #: Keys from the item's top to the values (or, with *text*, to the YAML string holding them).
    keys: tuple[str | int, ...]
    text: bool = False
    #: A local chart's dependencies: the values key each reads, with its chart name (empty: not known).
    subcharts: tuple[tuple[str, str | None], ...] = ()
    #: The name resources are described by when the release name is not known.
    fallback: str = ""

    @property
    def label(self) -> str:
        return subject(self.item)

    @property
    def display_name(self) -> str:
        return self.name or self.item.header.name or self.fallback

    def location(self, *inner: str) -> Location:
        """Where the mapping at *inner* (keys inside the values) is in the item."""
        if self.text:
            return Location(self.keys, inner)
        return Location((*self.keys, *inner))

    def path(self, *inner: str | int) -> str:
        return _join(self.field, inner)


@dataclass
class Values:
    """What the charts of the input render from their values."""

    routes: list[Route]
    ingresses: list[Ingress]
    #: Hostnames that could not be evaluated, and similar notes: reported once, by :func:`check`.
    problems: list[Result]


def read(ctx: Context) -> Values:
    """Routes and Ingresses from the values of every HelmRelease and Argo CD Application."""
    out = Values([], [], [])
    for release in releases(ctx):
        for prefix, values in _charts(release):
            _read_routes(release, prefix, values, out)
            _read_ingresses(release, prefix, values, out)
        for key, chart in release.subcharts:
            if chart == ARGO_CD_CHART and isinstance(release.values.get(key), dict):
                _read_argocd(release, (key,), release.values[key], out)
    return out


def every_route(ctx: Context) -> list[Route]:
    """Route resources, then routes from values."""
    return routes.read_routes(ctx) + read(ctx).routes


def every_ingress(ctx: Context) -> list[Ingress]:
    """Ingress resources, then Ingresses from values."""
    return routes.read_ingresses(ctx) + read(ctx).ingresses


def check(ctx: Context) -> None:
    """The route checks for every route, and what could not be read from values."""
    found = read(ctx)
    ctx.report_all(found.problems)
    routes.check(ctx, routes.read_routes(ctx) + found.routes)


# --- releases --------------------------------------------------------------------------


def releases(ctx: Context) -> Iterator[Release]:
    for item in ctx.of_kind(["HelmRelease"], group=HELM_GROUP):
        if not _may_hold_routes(item):
            continue
        spec = item.data.get("spec")
        if isinstance(spec, dict) and isinstance(spec.get("values"), dict):
            name, namespace = _flux_release(item, spec)
            namespace = namespace or ctx.namespace_of(item)
            yield Release(item, name, namespace, spec["values"], "spec.values", ("spec", "values"))
    for item in ctx.of_kind(["Application"], group=ARGO_GROUP):
        if _may_hold_routes(item):
            yield from _argo_releases(item)
    yield from _file_releases(ctx)


def _file_releases(ctx: Context) -> Iterator[Release]:
    """The ``values.yaml`` of each local chart in the input (a ``Chart.yaml`` beside it)."""
    configured = {e.file: (e.name, e.namespace) for e in _values_entries(ctx)}
    for path in ctx.paths():
        if posixpath.basename(path) != CHART_FILE:
            continue
        directory = posixpath.dirname(path)
        charts = ctx.at_path(path)
        found = ctx.at_path(posixpath.join(directory, VALUES_FILE))
        if len(charts) != 1 or len(found) != 1 or not _may_hold_routes(found[0]):
            continue
        try:
            values = found[0].value
        except ItemError:
            continue  # read only to find routes: a file krmfn cannot read is passed through, not an error
        if not isinstance(values, dict):
            continue
        name, namespace = configured.get(posixpath.join(directory, VALUES_FILE), (None, None))
        subcharts = tuple(dependencies(charts[0]).items())
        fallback = posixpath.basename(directory) or str(dig(charts[0].value, "name") or "")
        yield Release(found[0], name, namespace, values, "", (), subcharts=subcharts, fallback=fallback)


def _values_entries(ctx: Context) -> list[Any]:
    spec = ctx.config.spec
    entries: list[Any] = [*spec.external_dns, spec.tunnel]
    return [e for e in entries if e is not None and e.kind == HELM_VALUES]


def _may_hold_routes(item: Item) -> bool:
    """A cheap look at the text before the item is parsed: every key read here contains one of these."""
    return item.mentions("oute") or item.mentions("ngress")


def _flux_release(item: Item, spec: dict[str, Any]) -> tuple[str | None, str | None]:
    target = spec.get("targetNamespace") if isinstance(spec.get("targetNamespace"), str) else None
    name = spec.get("releaseName") if isinstance(spec.get("releaseName"), str) else None
    if name is None:
        name = f"{target}-{item.header.name}" if target else item.header.name
    return (name if len(name) <= MAX_RELEASE_NAME else None), target or item.header.namespace


def _argo_releases(item: Item) -> Iterator[Release]:
    spec = item.data.get("spec")
    if not isinstance(spec, dict):
        return
    destination = spec.get("destination")
    namespace = destination.get("namespace") if isinstance(destination, dict) else None
    namespace = namespace if isinstance(namespace, str) else None
    sources: list[tuple[str, tuple[str | int, ...], Any]] = []
    if isinstance(spec.get("source"), dict):
        sources.append(("spec.source", ("spec", "source"), spec["source"]))
    listed = spec.get("sources")
    for i, source in enumerate(listed if isinstance(listed, list) else []):
        sources.append((f"spec.sources[{i}]", ("spec", "sources", i), source))
    for field, keys, source in sources:
        helm = source.get("helm") if isinstance(source, dict) else None
        if not isinstance(helm, dict):
            continue
        name = helm.get("releaseName") if isinstance(helm.get("releaseName"), str) else item.header.name
        if isinstance(helm.get("valuesObject"), dict):
            where = (*keys, "helm", "valuesObject")
            yield Release(item, name, namespace, helm["valuesObject"], f"{field}.helm.valuesObject", where)
        elif isinstance(helm.get("values"), str):
            try:
                values = load(helm["values"], f"`{field}.helm.values`")
            except InputError:
                continue  # not values this module can read; the external-dns concern reports bad YAML it must edit
            if isinstance(values, dict):
                yield Release(item, name, namespace, values, f"{field}.helm.values", (*keys, "helm", "values"), True)


def _charts(release: Release) -> Iterator[tuple[tuple[str, ...], dict[str, Any]]]:
    """The chart's own values, then each subchart's (a wrapper chart's dependency reads its key).

    A local chart's ``Chart.yaml`` names its subcharts; elsewhere any key holding a route or
    ingress key is taken for one.
    """
    values = release.values
    yield (), values
    named = {key for key, _ in release.subcharts}
    for key, child in values.items():
        if not isinstance(key, str) or key in _KEYS or not isinstance(child, dict):
            continue
        if (key in named if named else True) and any(k in child for k in _KEYS):
            yield (key,), child


# --- routes ----------------------------------------------------------------------------


def _read_routes(release: Release, prefix: tuple[str, ...], values: dict[str, Any], out: Values) -> None:
    route = values.get("route")
    if isinstance(route, dict):
        if "hostnames" in route or "parentRefs" in route:
            if route.get("enabled", True) is not False:
                _add_route(release, (*prefix, "route"), route, release.name, out, annotatable="annotations" in route)
        else:
            enabled = {k: v for k, v in route.items() if isinstance(v, dict) and v.get("enabled", True) is not False}
            for identifier, body in enabled.items():
                name = _template_name(release, values, str(identifier), body, len(enabled))
                at = (*prefix, "route", str(identifier))
                _add_route(release, at, body, name, out, annotatable=True, values=values)
    http = values.get("httpRoute")
    if isinstance(http, dict) and http.get("enabled", True) is not False:
        _add_route(release, (*prefix, "httpRoute"), http, release.name, out, annotatable=True)


def _add_route(
    release: Release,
    at: tuple[str, ...],
    body: dict[str, Any],
    name: str | None,
    out: Values,
    *,
    annotatable: bool,
    values: dict[str, Any] | None = None,
) -> None:
    kind = body.get("kind", "HTTPRoute")
    if kind not in ROUTE_KINDS:
        return  # TCP/UDP routes have no hostnames; TLS routes are not served with a certificate here
    hostnames, fields = _hostnames(release, at, body.get("hostnames"), "hostnames", out)
    annotations = strings(((values or {}).get("global") or {}).get("annotations")) if values is not None else {}
    annotations.update(strings(body.get("annotations")))
    route_name = name or release.display_name
    out.routes.append(
        Route(
            release.item,
            str(kind),
            route_name,
            release.namespace,
            tuple(hostnames),
            parent_refs(body.get("parentRefs"), release.namespace),
            annotations,
            at=release.path(*at),
            hostname_fields=tuple(fields),
            annotations_at=release.location(*at, "annotations") if annotatable else None,
            origin=f"{release.label} `{release.path(*at)}`",
        )
    )


def _template_name(release: Release, values: dict[str, Any], identifier: str, body: dict[str, Any], count: int) -> str:
    """app-template's resource name for a route (``lib/common/_determineResourceNameFromValues.tpl``)."""
    base = release.display_name
    rename = body.get("forceRename")
    if isinstance(rename, str) and rename:
        return (resolve(rename, release) or rename).lower()
    prefix = body.get("prefix")
    if isinstance(prefix, str) and prefix and (resolve(prefix, release) or prefix) != base:
        base = f"{resolve(prefix, release) or prefix}-{base}"
    always = ((values.get("global") or {}) if isinstance(values.get("global"), dict) else {}).get(
        "alwaysAppendIdentifierToResourceName"
    )
    if (count > 1 or always is True) and not base.endswith(f"-{identifier}") and base != identifier:
        base = f"{base}-{identifier}"
    suffix = body.get("suffix")
    if isinstance(suffix, str) and suffix and not base.endswith(f"-{resolve(suffix, release) or suffix}"):
        base = f"{base}-{resolve(suffix, release) or suffix}"
    return base.lower()


# --- Ingresses -------------------------------------------------------------------------


def _read_ingresses(release: Release, prefix: tuple[str, ...], values: dict[str, Any], out: Values) -> None:
    ingress = values.get("ingress")
    if not isinstance(ingress, dict):
        return
    single = "hosts" in ingress or "hostname" in ingress or "hostName" in ingress
    if single or ("enabled" in ingress and not _holds_entries(ingress)):
        if ingress.get("enabled", True) is not False:
            _add_ingress(release, (*prefix, "ingress"), ingress, release.name, out)
        return
    enabled = {k: v for k, v in ingress.items() if isinstance(v, dict) and v.get("enabled", True) is not False}
    for identifier, body in enabled.items():
        name = _template_name(release, values, str(identifier), body, len(enabled))
        _add_ingress(release, (*prefix, "ingress", str(identifier)), body, name, out)


def _holds_entries(ingress: dict[str, Any]) -> bool:
    return any(isinstance(v, dict) and "hosts" in v for v in ingress.values())


def _add_ingress(release: Release, at: tuple[str, ...], body: dict[str, Any], name: str | None, out: Values) -> None:
    raw = body.get("hosts")
    single = next((k for k in ("hostname", "hostName") if isinstance(body.get(k), str)), None)
    if not isinstance(raw, list) and single is not None:
        hosts, fields = _hostnames(release, at, [body[single]], single, out)
    else:
        entries = raw if isinstance(raw, list) else []
        # app-template and the scaffold list `{host, paths}`; other charts plain strings
        values = [h.get("host") if isinstance(h, dict) else h for h in entries]
        suffixes = [".host" if isinstance(h, dict) else "" for h in entries]
        hosts, fields = _hostnames(release, at, values, "hosts", out, suffixes=suffixes)
    annotations = strings(body.get("annotations"))
    class_name = body.get("className") or body.get("ingressClassName")
    class_name = class_name or annotations.get(routes.INGRESS_CLASS_ANNOTATION)
    out.ingresses.append(
        Ingress(
            release.item,
            name or release.display_name,
            release.namespace,
            tuple(hosts),
            class_name if isinstance(class_name, str) else None,
            annotations,
            at=release.path(*at),
            host_fields=tuple(fields),
            annotations_at=release.location(*at, "annotations"),
            origin=f"{release.label} `{release.path(*at)}`",
        )
    )


def _read_argocd(release: Release, prefix: tuple[str, ...], values: dict[str, Any], out: Values) -> None:
    """argo-cd's server Ingress: its one host is ``server.ingress.hostname``, else ``global.domain``."""
    body = dig(values, "server", "ingress")
    if not isinstance(body, dict) or body.get("enabled") is not True:
        return
    at = (*prefix, "server", "ingress")
    if isinstance(body.get("hostname"), str) and body["hostname"]:
        key, raw, where = "hostname", body["hostname"], at
    else:
        key, raw, where = "domain", dig(values, "global", "domain"), (*prefix, "global")
    hosts, fields = _hostnames(release, where, [raw] if isinstance(raw, str) else [], key, out, single=True)
    annotations = strings(body.get("annotations"))
    class_name = body.get("ingressClassName")
    out.ingresses.append(
        Ingress(
            release.item,
            f"{release.display_name}-server",
            release.namespace,
            tuple(hosts),
            class_name if isinstance(class_name, str) else None,
            annotations,
            at=release.path(*at),
            host_fields=tuple(fields),
            annotations_at=release.location(*at, "annotations"),
            origin=f"{release.label} `{release.path(*at)}`",
        )
    )


# --- hostnames and Helm templates ------------------------------------------------------


def _hostnames(
    release: Release,
    at: tuple[str, ...],
    raw: Any,
    key: str,
    out: Values,
    *,
    suffixes: list[str] | None = None,
    single: bool = False,
) -> tuple[list[str], list[str]]:
    hostnames: list[str] = []
    fields: list[str] = []
    entries = raw if isinstance(raw, list) else []
    for i, value in enumerate(entries):
        if not isinstance(value, str):
            continue
        suffix = suffixes[i] if suffixes else ""
        one = single or key in ("hostname", "hostName")
        where = release.path(*at, key) + ("" if one else f"[{i}]{suffix}")
        resolved = resolve(value, release)
        if resolved is None:
            ref = resource_of(release.item)
            out.problems.append(
                r.info(
                    f"hostname {value!r} of {release.label} cannot be evaluated here: it holds a Helm template "
                    "expression other than `.Release.Name`, `.Release.Namespace` or a `.Values` string, so krmfn "
                    "neither checks it nor publishes a record for it",
                    resource=ref,
                    field=where,
                    file=release.item.path,
                )
            )
            continue
        hostnames.append(resolved)
        fields.append(where)
    return hostnames, fields


def resolve(text: str, release: Release) -> str | None:
    """*text* with the Helm template expressions knowable here filled in; None if one is not."""
    unknown = False

    def value(match: re.Match[str]) -> str:
        nonlocal unknown
        expression = match.group(1).strip()
        if expression == ".Release.Name" and release.name:
            return release.name
        if expression == ".Release.Namespace" and release.namespace:
            return release.namespace
        found = _VALUES_REF.match(expression)
        if found:
            node: Any = release.values
            for part in found.group(1).strip(".").split("."):
                node = node.get(part) if isinstance(node, dict) else None
            if isinstance(node, str) and "{{" not in node:
                return node
        unknown = True
        return match.group(0)

    out = _TEMPLATE.sub(value, text)
    return None if unknown or "{{" in out else out


def _join(field: str, inner: tuple[str | int, ...]) -> str:
    out = field
    for part in inner:
        key = f'"{part}"' if isinstance(part, str) and "." in part else part
        out += f"[{part}]" if isinstance(part, int) else (f".{key}" if out else str(key))
    return out
