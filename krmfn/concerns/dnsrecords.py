"""Every route hostname resolves to its own domain's target (SPEC §6).

external-dns gives every route of a Gateway the one target in the Gateway's ``…/target``
annotation (external-dns ``docs/sources/gateway-api.md``: only that annotation is read from
Gateways). With several domains on one Gateway, hostnames of the other domains would point
at the wrong domain's target (Cloudflare error 1014 when that zone is in another account).
For a route with such a hostname the function generates an ``externaldns.k8s.io/v1alpha1``
DNSEndpoint holding a record for *every* hostname of the route, and sets
``…/controller: none`` on the route so that external-dns does not publish a second,
conflicting record from it: exactly one record per hostname. Routes whose hostnames all
resolve right through the Gateway's target are left alone.

Ingress variant: an entry ``kind: IngressClass`` in ``spec.gateways`` stands for an ingress
controller. Each host of its Ingresses gets its own record by exposure: ``public`` a
(by default proxied) CNAME to the domain's target, ``lan`` an unproxied A record to
``lanAddress``; wildcard hosts never get one, because a proxied wildcard makes browsers try
ECH for LAN-only names.

A route or Ingress the function took over carries ``krmfn.dev/dns-endpoint``; when it no
longer needs a DNSEndpoint both annotations are removed again. One with a ``…/controller``
annotation the user wrote is left to the user.
"""

from __future__ import annotations

import copy
import re
from dataclasses import dataclass
from typing import Any

from krmfn.api.config import GatewaySpec
from krmfn.api.names import expand_template
from krmfn.concerns.routes import (
    GATEWAY_GROUP,
    Route,
    domain_of,
    gateway_of,
    listener_hostnames,
    matches_listener,
    read_routes,
)
from krmfn.context import Context, ref_of
from krmfn.krm import results as r
from krmfn.krm.item import Item

API_VERSION = "externaldns.k8s.io/v1alpha1"
FILE = "dns-records.yaml"
MARK = "krmfn.dev/dns-endpoint"
EXPOSURE = "krmfn.dev/exposure"
_IPV4 = re.compile(r"^\d{1,3}(\.\d{1,3}){3}$")
_VARIABLE = re.compile(r"(\$\{[^}]*\})")


@dataclass(frozen=True)
class Record:
    hostname: str
    record_type: str
    target: str
    ttl: int | None
    proxied: bool | None
    #: Why the route's own publication would have been wrong (None: it would have been right).
    reason: str | None = None

    def endpoint(self, prefix: str) -> dict[str, Any]:
        out: dict[str, Any] = {"dnsName": self.hostname, "recordType": self.record_type, "targets": [self.target]}
        if self.ttl is not None:
            out["recordTTL"] = self.ttl
        if self.proxied is not None:
            out["providerSpecific"] = [{"name": f"{prefix}cloudflare-proxied", "value": str(self.proxied).lower()}]
        return out


@dataclass
class _Owner:
    """The resource whose hostnames are published, and what it asks external-dns for."""

    item: Item
    kind: str
    name: str
    namespace: str | None
    ttl: int | None
    proxied: bool | None


def generate(ctx: Context) -> None:
    """DNSEndpoints for routes and Ingresses whose hostnames the Gateway target would misdirect."""
    published: dict[str, tuple[str, str]] = {}
    for route in read_routes(ctx):
        _route(ctx, route, published)
    classes = {g.name: g for g in ctx.config.spec.gateways if g.kind == "IngressClass" and g.dns is not None}
    if classes:
        for item in ctx.of_kind(["Ingress"], group="networking.k8s.io"):
            _ingress(ctx, item, classes, published)


def _prefix(ctx: Context) -> str:
    return ctx.config.spec.external_dns_annotation_prefix


def _owner(ctx: Context, item: Item) -> _Owner | None:
    """The item as a record owner, or None when the user has turned external-dns off for it."""
    prefix = _prefix(ctx)
    controller = item.annotation(f"{prefix}controller")
    if controller not in (None, "dns-controller") and item.annotation(MARK) is None:
        return None
    ttl_text = item.annotation(f"{prefix}ttl")
    proxied_text = item.annotation(f"{prefix}cloudflare-proxied")
    h = item.header
    return _Owner(
        item,
        h.kind,
        h.name,
        h.namespace,
        int(ttl_text) if ttl_text and ttl_text.isdigit() else None,
        proxied_text.lower() == "true" if proxied_text and proxied_text.lower() in ("true", "false") else None,
    )


def _fold(name: str) -> str:
    """A DNS name for comparison: case-folded, no trailing dot; Flux variables keep their case."""
    parts = _VARIABLE.split(name.strip().rstrip("."))
    return "".join(part if part.startswith("${") else part.lower() for part in parts)


def _targets(value: str | None) -> list[str]:
    return [_fold(t) for t in (value or "").split(",") if t.strip()]


def _type_of(target: str) -> str:
    return "A" if _IPV4.match(target) else "CNAME"


def _route(ctx: Context, route: Route, published: dict[str, tuple[str, str]]) -> None:
    owner = _owner(ctx, route.item)
    if owner is None:
        return
    attachment = _dns_attachment(ctx, route)
    if attachment is None:
        _apply(ctx, owner, [], published)
        return
    gateway, gateway_item, hostnames = attachment
    assert gateway.dns is not None
    assert gateway.dns.target is not None
    annotation = gateway_item.annotation(f"{_prefix(ctx)}target")
    current = _targets(annotation)
    records: list[Record] = []
    for hostname in hostnames:
        domain = domain_of(ctx.config, hostname)
        if domain is None or gateway.name not in domain.gateways:
            if current:
                # external-dns would have published this one with the Gateway's target: keep that
                records.append(Record(hostname, _type_of(current[0]), current[0], owner.ttl, owner.proxied))
            else:
                ctx.report(
                    r.warning(
                        f"hostname {hostname!r} of {ref_of(route.item).describe()} gets no DNS record: it is under "
                        f"no domain of Gateway {gateway.namespace}/{gateway.name}, which has no target annotation",
                        resource=ref_of(route.item),
                        file=route.item.path,
                    )
                )
            continue
        want = expand_template(gateway.dns.target, domain.name)
        reason = f"{hostname} → {want}" if current != [_fold(want)] else None
        ttl = owner.ttl if owner.ttl is not None else gateway.dns.ttl
        proxied = owner.proxied if owner.proxied is not None else gateway.dns.proxied
        records.append(Record(hostname, gateway.dns.type, want, ttl, proxied, reason))
    if not any(rec.reason for rec in records):
        records = []
    shown = repr(annotation) if annotation else "absent (external-dns would use the Gateway's address)"
    gw = f"{gateway.namespace}/{gateway.name}"
    why = f"the target annotation of Gateway {gw}, which external-dns gives every hostname, is {shown}"
    _apply(ctx, owner, records, published, why)


def _dns_attachment(ctx: Context, route: Route) -> tuple[GatewaySpec, Item, list[str]] | None:
    """The first configured Gateway with `dns` the route attaches to, and the hostnames published there."""
    for parent in route.parents:
        found = gateway_of(ctx.config, parent)
        if found is None or found[1].dns is None:
            continue
        gateway = found[1]
        items = ctx.find("Gateway", gateway.name, gateway.namespace, GATEWAY_GROUP)
        if len(items) != 1:
            continue  # the gateways concern has said why
        listeners = listener_hostnames(items[0], parent.section)
        if listeners is None:
            continue
        hostnames = [h for h in route.hostnames if matches_listener(h, listeners)]
        if hostnames:
            return gateway, items[0], hostnames
    return None


def _ingress(ctx: Context, item: Item, classes: dict[str, GatewaySpec], published: dict[str, tuple[str, str]]) -> None:
    owner = _owner(ctx, item)
    if owner is None:
        return
    spec = item.data.get("spec")
    spec = spec if isinstance(spec, dict) else {}
    class_name = spec.get("ingressClassName") or item.annotation("kubernetes.io/ingress.class")
    gateway = classes.get(class_name) if isinstance(class_name, str) else None
    if gateway is None or gateway.dns is None:
        _apply(ctx, owner, [], published)
        return
    dns = gateway.dns
    exposure = item.annotation(EXPOSURE) or dns.exposure
    where = {"resource": ref_of(item), "file": item.path}
    if (
        exposure not in ("public", "lan")
        or (exposure == "lan" and dns.lan_address is None)
        or (exposure == "public" and dns.target is None)
    ):
        ctx.report(
            r.error(
                f"{ref_of(item).describe()} annotation `{EXPOSURE}` must be `public` (needs `dns.target`) or `lan` "
                f"(needs `dns.lanAddress`) for IngressClass {gateway.name!r}; it is {exposure!r}",
                **where,
            )
        )
        return
    fallback = _targets(item.annotation(f"{_prefix(ctx)}target"))
    records: list[Record] = []
    for rule in spec.get("rules") or []:
        host = rule.get("host") if isinstance(rule, dict) else None
        if not isinstance(host, str) or any(rec.hostname == host for rec in records):
            continue
        if host.startswith("*."):
            ctx.report(
                r.info(
                    f"{ref_of(item).describe()}: wildcard host {host!r} gets no DNS record (a proxied wildcard makes "
                    "browsers try ECH for LAN-only names); give each name its own rule",
                    **where,
                )
            )
            continue
        domain = domain_of(ctx.config, host)
        if domain is None or gateway.name not in domain.gateways:
            if fallback:
                records.append(Record(host, _type_of(fallback[0]), fallback[0], owner.ttl, owner.proxied))
            else:
                ctx.report(
                    r.warning(
                        f"host {host!r} of {ref_of(item).describe()} gets no DNS record: it is under no domain of "
                        f"IngressClass {gateway.name!r} and the Ingress has no target annotation",
                        **where,
                    )
                )
            continue
        ttl = owner.ttl if owner.ttl is not None else dns.ttl
        if exposure == "lan":
            assert dns.lan_address is not None
            reason = f"{host} → {dns.lan_address} (lan: unproxied A)"
            records.append(Record(host, "A", dns.lan_address, ttl, False, reason))
        else:
            assert dns.target is not None
            want = expand_template(dns.target, domain.name)
            proxied = owner.proxied if owner.proxied is not None else (dns.proxied if dns.proxied is not None else True)
            reason = f"{host} → {want} (public: {'proxied ' if proxied else ''}CNAME)"
            records.append(Record(host, "CNAME", want, ttl, proxied, reason))
    if not any(rec.reason for rec in records):
        records = []
    _apply(ctx, owner, records, published)


def _endpoint_name(owner: _Owner) -> str:
    return f"{owner.name}-{owner.kind.lower()}"


def _apply(
    ctx: Context, owner: _Owner, records: list[Record], published: dict[str, tuple[str, str]], why: str = ""
) -> None:
    """Generate the owner's DNSEndpoint and turn its own publication off, or undo both."""
    prefix = _prefix(ctx)
    item = owner.item
    new = copy.deepcopy(item.data)
    metadata = new.setdefault("metadata", {})
    annotations = metadata.get("annotations")
    annotations = annotations if isinstance(annotations, dict) else {}
    if not records:
        if MARK not in annotations:
            return
        annotations.pop(MARK)
        if annotations.get(f"{prefix}controller") == "none":
            annotations.pop(f"{prefix}controller")
        if not annotations:
            metadata.pop("annotations", None)
        ctx.replace(item, new, "external-dns publishes its hostnames itself again; its DNSEndpoint is no longer needed")
        return
    name = _endpoint_name(owner)
    endpoints = []
    for rec in records:
        earlier = published.get(rec.hostname)
        if earlier is not None:
            if earlier[0] != rec.target:
                ctx.report(
                    r.warning(
                        f"hostname {rec.hostname!r} of {ref_of(item).describe()} must have one record; {earlier[1]} "
                        f"already publishes it to {earlier[0]!r}, so {rec.target!r} is not published",
                        resource=ref_of(item),
                        file=item.path,
                    )
                )
            continue
        published[rec.hostname] = (rec.target, ref_of(item).describe())
        endpoints.append(rec.endpoint(prefix))
    meta: dict[str, Any] = {"name": name}
    if owner.namespace:
        meta["namespace"] = owner.namespace
    if endpoints:
        spec = {"endpoints": endpoints}
        ctx.generate({"apiVersion": API_VERSION, "kind": "DNSEndpoint", "metadata": meta, "spec": spec}, FILE)
    annotations[f"{prefix}controller"] = "none"
    annotations[MARK] = name
    metadata["annotations"] = annotations
    ctx.replace(item, new, f"external-dns must not publish it (`{prefix}controller: none`); DNSEndpoint {name} does")
    reasons = [rec.reason for rec in records if rec.reason]
    others = [rec.hostname for rec in records if not rec.reason]
    also = f"; {', '.join(others)} moved along so that each hostname has exactly one record" if others else ""
    because = f"; {why}" if why else ""
    ctx.report(
        r.info(
            f"DNSEndpoint {name} publishes the hostnames of {ref_of(item).describe()}: "
            f"{', '.join(reasons)}{because}{also}",
            resource=ref_of(item),
            file=item.path,
        )
    )
