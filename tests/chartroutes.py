"""The HTTPRoutes charts render from HelmRelease values, for tests: what Helm would apply.

Written from the charts' sources, apart from krmfn's own reader (``krmfn/concerns/
valueroutes.py``), so that a test comparing the two catches a misreading in either:

- bjw-s app-template (common library ``templates/classes/_route.tpl``,
  ``lib/routes/_enabled_routes.tpl``, ``lib/common/_determineResourceNameFromValues.tpl``):
  ``values.route`` maps identifiers to routes; a map entry renders unless ``enabled: false``;
  the name is the release name, ``-<identifier>`` appended when more than one route renders
  (unless the name already ends with it); ``annotations`` over ``global.annotations``; each
  hostname through ``tpl``; ``parentRefs[].namespace`` defaults to the route's namespace.
- ``values.httpRoute`` (Helm's ``helm create`` scaffold and the home-operations charts): one
  route, rendered when ``enabled`` is true, with ``annotations``, ``hostnames``, ``parentRefs``.
- a single ``values.route`` holding ``hostnames`` itself (renovate-operator): one route.

Only ``{{ .Release.Name }}`` and ``{{ .Release.Namespace }}`` are rendered; the fixtures use no
other template in hostnames. Under Flux the release name is ``spec.releaseName``, else
``[spec.targetNamespace-]metadata.name``, and the namespace the HelmRelease's.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

Doc = dict[str, Any]
_NAME = re.compile(r"\{\{-?\s*\.Release\.Name\s*-?\}\}")
_NAMESPACE = re.compile(r"\{\{-?\s*\.Release\.Namespace\s*-?\}\}")


def release_of(doc: Doc) -> tuple[str, str | None]:
    """(release name, namespace) Helm sees for a Flux HelmRelease."""
    meta, spec = doc.get("metadata") or {}, doc.get("spec") or {}
    name = spec.get("releaseName") or (
        f"{spec['targetNamespace']}-{meta['name']}" if spec.get("targetNamespace") else meta["name"]
    )
    return str(name), spec.get("targetNamespace") or meta.get("namespace")


def tpl(text: str, release: str, namespace: str | None) -> str:
    out = _NAME.sub(release, text)
    return _NAMESPACE.sub(namespace or "", out)


def rendered_routes(doc: Doc) -> Iterator[Doc]:
    """The HTTPRoute documents a HelmRelease's chart renders from its values (none for other kinds)."""
    if doc.get("kind") != "HelmRelease":
        return
    values = (doc.get("spec") or {}).get("values") or {}
    release, namespace = release_of(doc)
    route = values.get("route")
    if isinstance(route, dict) and ("hostnames" in route or "parentRefs" in route):
        if route.get("enabled", True) is not False:
            yield _route(release, namespace, release, route, {}, "route")
    elif isinstance(route, dict):
        enabled = {k: v for k, v in route.items() if isinstance(v, dict) and v.get("enabled", True) is not False}
        common = ((values.get("global") or {}).get("annotations")) or {}
        for identifier, body in enabled.items():
            name = release
            if len(enabled) > 1 and not name.endswith(f"-{identifier}") and name != identifier:
                name = f"{name}-{identifier}"
            yield _route(release, namespace, name.lower(), body, common, f"route.{identifier}")
    http = values.get("httpRoute")
    if isinstance(http, dict) and http.get("enabled") is True:
        yield _route(release, namespace, release, http, {}, "httpRoute")


def _route(release: str, namespace: str | None, name: str, body: Doc, common: Doc, key: str) -> Doc:
    annotations = {**common, **(body.get("annotations") or {})}
    parents = [{**ref, "namespace": ref.get("namespace") or namespace} for ref in body.get("parentRefs") or []]
    meta: Doc = {"name": name, "namespace": namespace, "annotations": annotations}
    meta["x-from"] = f"HelmRelease {namespace}/{release} values.{key}"
    return {
        "apiVersion": "gateway.networking.k8s.io/v1",
        "kind": body.get("kind", "HTTPRoute"),
        "metadata": meta,
        "spec": {
            "hostnames": [tpl(str(h), release, namespace) for h in body.get("hostnames") or []],
            "parentRefs": parents,
        },
    }


def with_chart_routes(docs: list[Doc]) -> list[Doc]:
    """*docs* plus every route their HelmReleases' charts render."""
    return docs + [route for doc in docs for route in rendered_routes(doc)]
