"""Routes and Ingresses: the shared model, reading them as resources, attachment, and the checks of SPEC §9.

A *route* is what a Gateway serves hostnames for: an HTTPRoute or GRPCRoute resource, or one a
chart renders from its values (:mod:`krmfn.concerns.valueroutes` reads those into this same
model, so attachment, checks, records and the plan treat both alike). An *Ingress* likewise:
the resource, or one a chart renders.

A route attaches to a Gateway through ``spec.parentRefs``; a ref without ``namespace`` means
the route's own namespace, without ``kind`` a Gateway, and ``sectionName`` narrows it to one
listener (Gateway API ``ParentReference``). The checks here say what would otherwise fail
silently: a hostname no managed certificate covers (``*.example.org`` covers one label only,
and so do Envoy's wildcard matching and Cloudflare's Universal SSL), a hostname under no
managed domain, a domain not served by the gateway the route uses.
"""

from __future__ import annotations

import copy
import weakref
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from krmfn.api.config import Config, Domain, GatewaySpec
from krmfn.concerns.certificates import dns_names
from krmfn.context import Context, ref_of
from krmfn.krm import results as r
from krmfn.krm.item import Item
from krmfn.krm.results import ResourceRef
from krmfn.krm.yamledit import update_text
from krmfn.krm.yamltext import dump, load

GATEWAY_GROUP = "gateway.networking.k8s.io"
INGRESS_GROUP = "networking.k8s.io"
ROUTE_KINDS = ("HTTPRoute", "GRPCRoute")
INGRESS_CLASS_ANNOTATION = "kubernetes.io/ingress.class"


@dataclass(frozen=True)
class ParentRef:
    """One ``spec.parentRefs[]`` entry that names a Gateway."""

    index: int
    name: str
    #: The Gateway's namespace: the ref's own, else the route's (None when neither is written).
    namespace: str | None
    section: str | None

    def describe(self) -> str:
        return f"Gateway {self.namespace}/{self.name}" if self.namespace else f"Gateway {self.name}"


@dataclass(frozen=True)
class Location:
    """Where a route's ``annotations`` mapping is, inside its item's data.

    *keys* lead from the top of the data to the mapping. With *inner*, *keys* lead to a YAML
    string (an Argo CD ``helm.values``) and *inner* continues inside the document it holds.
    """

    keys: tuple[str | int, ...]
    inner: tuple[str, ...] | None = None


RESOURCE_ANNOTATIONS = Location(("metadata", "annotations"))


@dataclass(frozen=True)
class Route:
    """A route as the cluster will have it: its rendered name, namespace, hostnames and parents."""

    item: Item
    kind: str
    name: str
    namespace: str | None
    hostnames: tuple[str, ...]
    parents: tuple[ParentRef, ...]
    #: The route's own annotations (external-dns reads `controller`, `ttl`, `cloudflare-proxied` there).
    annotations: Mapping[str, str] = field(default_factory=dict, compare=False)
    #: Field path of the route's body in its item: `spec`, or e.g. `spec.values.route.app`.
    at: str = "spec"
    #: Field path of each of :attr:`hostnames` in the item.
    hostname_fields: tuple[str, ...] = ()
    #: Where its annotations can be written; None when the chart offers no value for them.
    annotations_at: Location | None = RESOURCE_ANNOTATIONS
    #: The HelmRelease or Application values it comes from, for messages ("" for a route resource).
    origin: str = ""

    @property
    def ref(self) -> ResourceRef:
        return ref_of(self.item)

    @property
    def from_values(self) -> bool:
        return bool(self.origin)

    def describe(self) -> str:
        if not self.origin:
            return self.ref.describe()
        where = f"{self.namespace}/{self.name}" if self.namespace else self.name
        return f"{self.kind} {where} (from {self.origin})"

    def hostname_field(self, index: int) -> str:
        return self.hostname_fields[index] if index < len(self.hostname_fields) else f"{self.at}.hostnames[{index}]"


@dataclass(frozen=True)
class Ingress:
    """An Ingress as the cluster will have it: its hosts, class and annotations."""

    item: Item
    name: str
    namespace: str | None
    hosts: tuple[str, ...]
    class_name: str | None
    annotations: Mapping[str, str] = field(default_factory=dict, compare=False)
    at: str = "spec"
    host_fields: tuple[str, ...] = ()
    annotations_at: Location | None = RESOURCE_ANNOTATIONS
    origin: str = ""

    @property
    def ref(self) -> ResourceRef:
        return ref_of(self.item)

    @property
    def kind(self) -> str:
        return "Ingress"

    def describe(self) -> str:
        if not self.origin:
            return self.ref.describe()
        where = f"{self.namespace}/{self.name}" if self.namespace else self.name
        return f"Ingress {where} (from {self.origin})"


def strings(value: Any) -> dict[str, str]:
    """The string entries of an annotations mapping (anything else is not an annotation external-dns reads)."""
    return {str(k): v for k, v in value.items() if isinstance(v, str)} if isinstance(value, dict) else {}


#: Each item read once (several concerns read every route): an edited route is a new item.
_READ: weakref.WeakKeyDictionary[Item, tuple[str | None, Route | None]] = weakref.WeakKeyDictionary()


def read_routes(ctx: Context) -> list[Route]:
    """Every HTTPRoute and GRPCRoute resource of the input (only these are parsed)."""
    out = []
    for item in ctx.of_kind(ROUTE_KINDS, group=GATEWAY_GROUP):
        namespace = ctx.namespace_of(item)
        known = _READ.get(item)
        if known is None or known[0] != namespace:
            known = _READ[item] = (namespace, _read(item, namespace))
        if known[1] is not None:
            out.append(known[1])
    return out


def _read(item: Item, namespace_of_route: str | None) -> Route | None:
    """*namespace_of_route*: where it lands (its own, or the one Flux or kustomize gives it)."""
    spec = item.data.get("spec")
    if not isinstance(spec, dict):
        return None
    h = item.header
    hostnames = tuple(x for x in spec.get("hostnames") or [] if isinstance(x, str))
    fields = tuple(f"spec.hostnames[{i}]" for i, x in enumerate(spec.get("hostnames") or []) if isinstance(x, str))
    return Route(
        item,
        h.kind,
        h.name,
        namespace_of_route,
        hostnames,
        parent_refs(spec.get("parentRefs"), namespace_of_route),
        strings(item.annotations()),
        hostname_fields=fields,
    )


def parent_refs(refs: Any, namespace: str | None) -> tuple[ParentRef, ...]:
    """The entries of a ``parentRefs`` list that name a Gateway; *namespace* is the route's."""
    parents = []
    for i, ref in enumerate(refs if isinstance(refs, list) else []):
        if not isinstance(ref, dict) or not isinstance(ref.get("name"), str):
            continue
        if ref.get("kind", "Gateway") != "Gateway" or ref.get("group", GATEWAY_GROUP) != GATEWAY_GROUP:
            continue
        ns = ref.get("namespace") if isinstance(ref.get("namespace"), str) else namespace
        section = ref.get("sectionName") if isinstance(ref.get("sectionName"), str) else None
        parents.append(ParentRef(i, ref["name"], ns, section))
    return tuple(parents)


def read_ingresses(ctx: Context) -> list[Ingress]:
    """Every Ingress resource of the input."""
    out = []
    for item in ctx.of_kind(["Ingress"], group=INGRESS_GROUP):
        spec = item.data.get("spec")
        spec = spec if isinstance(spec, dict) else {}
        rules = spec.get("rules")
        hosts: list[tuple[str, str]] = [
            (f"spec.rules[{i}].host", x["host"])
            for i, x in enumerate(rules if isinstance(rules, list) else [])
            if isinstance(x, dict) and isinstance(x.get("host"), str)
        ]
        annotations = strings(item.annotations())
        class_name = spec.get("ingressClassName") or annotations.get(INGRESS_CLASS_ANNOTATION)
        h = item.header
        out.append(
            Ingress(
                item,
                h.name,
                ctx.namespace_of(item),
                tuple(host for _, host in hosts),
                class_name if isinstance(class_name, str) else None,
                annotations,
                host_fields=tuple(f for f, _ in hosts),
            )
        )
    return out


def write_annotations(ctx: Context, owner: Route | Ingress, updates: Mapping[str, str | None], why: str) -> bool:
    """Set (or, for None, remove) annotations of *owner* where its item keeps them; False when nothing changed.

    An annotations mapping that ends up empty is removed with its key, so undoing an edit
    gives back what the user wrote.
    """
    at = owner.annotations_at
    if at is None:  # pragma: no cover - callers check that the chart offers annotations
        raise ValueError("the route's annotations cannot be written")
    new = copy.deepcopy(owner.item.data)
    holder: Any = new
    for key in at.keys[:-1]:
        holder = _step(holder, key)
    last = at.keys[-1]
    if not isinstance(holder, dict) or not isinstance(last, str):
        return False
    if at.inner is None:
        if not _apply(holder, last, updates):
            return False
    else:
        text = holder.get(last)
        what = f"`{'.'.join(str(k) for k in at.keys)}`"
        document = load(text, what) if isinstance(text, str) and text.strip() else {}
        if not isinstance(document, dict):
            return False
        values = copy.deepcopy(document)
        inner: Any = values
        for key in at.inner[:-1]:
            inner = inner.setdefault(key, {}) if isinstance(inner, dict) else None
        if not isinstance(inner, dict) or not _apply(inner, at.inner[-1], updates):
            return False
        holder[last] = update_text(text, values, what) if isinstance(text, str) and text.strip() else dump(values)
    return ctx.replace(owner.item, new, why)


def _step(node: Any, key: str | int) -> Any:
    """One key further into *node*, creating a missing mapping (never a missing list entry)."""
    if isinstance(key, int):
        return node[key] if isinstance(node, list) and 0 <= key < len(node) else None
    if not isinstance(node, dict):
        return None
    if not isinstance(node.get(key), dict | list):
        node[key] = {}
    return node[key]


def _apply(holder: dict[str, Any], key: str, updates: Mapping[str, str | None]) -> bool:
    current = holder.get(key)
    annotations = dict(current) if isinstance(current, dict) else {}
    for name, value in updates.items():
        if value is None:
            annotations.pop(name, None)
        else:
            annotations[name] = value
    if annotations == (current if isinstance(current, dict) else {}):
        return False
    if annotations:
        holder[key] = annotations
    else:
        holder.pop(key, None)
    return True


def gateway_of(config: Config, ref: ParentRef) -> tuple[int, GatewaySpec] | None:
    """The configured Gateway a parent ref names; a ref of unknown namespace matches by name."""
    for i, g in enumerate(config.spec.gateways):
        if g.kind == "Gateway" and g.name == ref.name and ref.namespace in (None, g.namespace):
            return i, g
    return None


def domain_of(config: Config, hostname: str) -> Domain | None:
    """The deepest managed domain *hostname* is under (``*.a.example.org`` is under ``example.org``)."""
    found = [d for d in config.domains if d.name.covers(hostname)]
    return max(found, key=lambda d: len(d.name.text), default=None)


def is_covered(config: Config, hostname: str) -> bool:
    """True when a managed certificate name matches *hostname* (a wildcard covers one label)."""
    names = {n for d in config.domains for n in dns_names(d)}
    if hostname in names:
        return True
    parent = hostname.partition(".")[2]
    return not hostname.startswith("*.") and f"*.{parent}" in names


def listener_hostnames(gateway: Item, section: str | None) -> list[str | None] | None:
    """Hostnames of the listeners a parent ref attaches to (None: any); None when *section* names none."""
    spec = gateway.data.get("spec")
    listeners: list[Any] = spec.get("listeners") or [] if isinstance(spec, dict) else []
    chosen = [x for x in listeners if isinstance(x, dict) and (section is None or x.get("name") == section)]
    if not chosen:
        return None
    return [x.get("hostname") if isinstance(x.get("hostname"), str) else None for x in chosen]


def matches_listener(hostname: str, listener_hostnames: list[str | None]) -> bool:
    """Gateway API hostname intersection: a ``*.`` listener matches any depth, not the apex."""
    for pattern in listener_hostnames:
        if pattern is None or pattern == hostname:
            return True
        if pattern.startswith("*.") and hostname.endswith(pattern[1:]):
            return True
    return False


def check(ctx: Context, routes: list[Route]) -> None:
    """Report route hostnames and parent refs that would not be served as the config intends."""
    for route in routes:
        check_route(ctx, route)


def check_route(ctx: Context, route: Route) -> None:
    config = ctx.config
    attached: list[tuple[int, GatewaySpec]] = []
    for parent in route.parents:
        where = f"{route.at}.parentRefs[{parent.index}]"
        found = gateway_of(config, parent)
        if found is None:
            ctx.report(
                r.info(
                    f"{route.describe()} is attached to {parent.describe()}, which `spec.gateways` does not list; "
                    "its hostnames there get no certificate or DNS record from MultiDomain",
                    resource=route.ref,
                    field=where,
                    file=route.item.path,
                )
            )
            continue
        attached.append(found)
        _check_section(ctx, route, parent, found)
    if attached:
        _check_hostnames(ctx, route, attached)


def _check_section(ctx: Context, route: Route, parent: ParentRef, found: tuple[int, GatewaySpec]) -> None:
    """A ``sectionName`` must name a listener the Gateway has (after krmfn's own changes to it)."""
    index, gateway = found
    if parent.section is None:
        return
    items = ctx.find("Gateway", gateway.name, gateway.namespace, GATEWAY_GROUP)
    if len(items) != 1 or listener_hostnames(items[0], parent.section) is not None:
        return
    spec = items[0].data.get("spec")
    raw = spec.get("listeners") if isinstance(spec, dict) else None
    names = [str(x.get("name")) for x in raw if isinstance(x, dict)] if isinstance(raw, list) else []
    hint = (
        f"; `spec.gateways[{index}].mode: perDomain` gives each domain listeners of its own: name one of them or "
        "remove `sectionName`"
        if gateway.mode == "perDomain"
        else ""
    )
    ctx.report(
        r.warning(
            f"{route.describe()} names listener {parent.section!r} in "
            f"`{route.at}.parentRefs[{parent.index}].sectionName`, "
            f"which Gateway {gateway.namespace}/{gateway.name} does not have (it has {', '.join(names) or 'none'}), "
            f"so the route does not attach there{hint}",
            resource=route.ref,
            field=f"{route.at}.parentRefs[{parent.index}].sectionName",
            file=route.item.path,
        )
    )


def _check_hostnames(ctx: Context, route: Route, attached: list[tuple[int, GatewaySpec]]) -> None:
    config = ctx.config
    for i, hostname in enumerate(route.hostnames):
        where = {"resource": route.ref, "field": route.hostname_field(i), "file": route.item.path}
        domain = domain_of(config, hostname)
        if domain is None:
            ctx.report(
                r.warning(
                    f"hostname {hostname!r} of {route.describe()} must be under a domain in `spec.domains`; "
                    "it is under none, so no generated certificate or DNS record serves it",
                    **where,
                )
            )
            continue
        for index, gateway in attached:
            if gateway.name not in domain.gateways:
                ctx.report(
                    r.warning(
                        f"hostname {hostname!r} of {route.describe()} is on domain {domain.name.text!r}, which "
                        f"`{domain.field}.gateways` does not attach to Gateway {gateway.namespace}/{gateway.name} "
                        f"(`spec.gateways[{index}]`); that gateway serves no certificate for it",
                        **where,
                    )
                )
        if not is_covered(config, hostname):
            depth = hostname.removesuffix("." + domain.name.text).count(".") + 1
            edge = " (nor does Cloudflare's Universal SSL certificate when the record is proxied)" if depth > 1 else ""
            ctx.report(
                r.warning(
                    f"hostname {hostname!r} of {route.describe()} must be covered by a certificate name; "
                    f"{_covering_hint(domain)} does not cover it{edge}; add it (or its `*.` parent) to "
                    f"`{domain.field}.extraDNSNames`",
                    **where,
                )
            )


def _covering_hint(domain: Domain) -> str:
    return f"`*.{domain.name.text}`" if domain.wildcard else f"the certificate of {domain.name.text!r}"
