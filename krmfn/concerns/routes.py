"""HTTPRoutes and GRPCRoutes: which configured gateway each one attaches to, and the checks of SPEC §9.

A route attaches to a Gateway through ``spec.parentRefs``; a ref without ``namespace`` means
the route's own namespace, without ``kind`` a Gateway, and ``sectionName`` narrows it to one
listener (Gateway API ``ParentReference``). The checks here say what would otherwise fail
silently: a hostname no managed certificate covers (``*.example.org`` covers one label only,
and so do Envoy's wildcard matching and Cloudflare's Universal SSL), a hostname under no
managed domain, a domain not served by the gateway the route uses.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from krmfn.api.config import Config, Domain, GatewaySpec
from krmfn.concerns.certificates import dns_names
from krmfn.context import Context, ref_of
from krmfn.krm import results as r
from krmfn.krm.item import Item
from krmfn.krm.results import ResourceRef

GATEWAY_GROUP = "gateway.networking.k8s.io"
ROUTE_KINDS = ("HTTPRoute", "GRPCRoute")


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
class Route:
    item: Item
    kind: str
    name: str
    namespace: str | None
    hostnames: tuple[str, ...]
    parents: tuple[ParentRef, ...]

    @property
    def ref(self) -> ResourceRef:
        return ref_of(self.item)

    def describe(self) -> str:
        return self.ref.describe()


def read_routes(ctx: Context) -> list[Route]:
    """Every HTTPRoute and GRPCRoute of the input (only these are parsed)."""
    routes = ctx.of_kind(ROUTE_KINDS, group=GATEWAY_GROUP)
    return [route for item in routes if (route := _read(item, ctx.namespace_of(item))) is not None]


def _read(item: Item, namespace_of_route: str | None) -> Route | None:
    """*namespace_of_route*: where it lands (its own, or the one Flux or kustomize gives it)."""
    spec = item.data.get("spec")
    if not isinstance(spec, dict):
        return None
    h = item.header
    hostnames = tuple(x for x in spec.get("hostnames") or [] if isinstance(x, str))
    parents = []
    for i, ref in enumerate(spec.get("parentRefs") or []):
        if not isinstance(ref, dict) or not isinstance(ref.get("name"), str):
            continue
        if ref.get("kind", "Gateway") != "Gateway" or ref.get("group", GATEWAY_GROUP) != GATEWAY_GROUP:
            continue
        namespace = ref.get("namespace") if isinstance(ref.get("namespace"), str) else namespace_of_route
        section = ref.get("sectionName") if isinstance(ref.get("sectionName"), str) else None
        parents.append(ParentRef(i, ref["name"], namespace, section))
    return Route(item, h.kind, h.name, namespace_of_route, hostnames, tuple(parents))


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


def check(ctx: Context) -> None:
    """Report route hostnames and parent refs that would not be served as the config intends."""
    config = ctx.config
    for route in read_routes(ctx):
        attached: list[tuple[int, GatewaySpec]] = []
        for parent in route.parents:
            found = gateway_of(config, parent)
            if found is None:
                ctx.report(
                    r.info(
                        f"{route.describe()} is attached to {parent.describe()}, which `spec.gateways` does not list; "
                        "its hostnames there get no certificate or DNS record from MultiDomain",
                        resource=route.ref,
                        field=f"spec.parentRefs[{parent.index}]",
                        file=route.item.path,
                    )
                )
                continue
            attached.append(found)
            index, gateway = found
            if gateway.mode == "perDomain" and parent.section == gateway.listener:
                ctx.report(
                    r.warning(
                        f"{route.describe()} must not name listener {gateway.listener!r} in "
                        f"`spec.parentRefs[{parent.index}].sectionName`: `spec.gateways[{index}].mode: perDomain` "
                        "replaces it with one listener per domain; remove `sectionName`",
                        resource=route.ref,
                        field=f"spec.parentRefs[{parent.index}].sectionName",
                        file=route.item.path,
                    )
                )
        if attached:
            _check_hostnames(ctx, route, attached)


def _check_hostnames(ctx: Context, route: Route, attached: list[tuple[int, GatewaySpec]]) -> None:
    config = ctx.config
    for i, hostname in enumerate(route.hostnames):
        where = {"resource": route.ref, "field": f"spec.hostnames[{i}]", "file": route.item.path}
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
