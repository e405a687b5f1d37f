"""Every record's target exists, and no name has two records.

A record krmfn writes or keeps (a route's CNAME through its Gateway's target, an endpoint of a
generated DNSEndpoint) points at a *target name*, ``external.<domain>`` in the
cluster-template. That name exists only if something publishes it:

1. **Tunnel targets.** In the cluster-template the tunnel's own DNSEndpoint publishes
   ``external.${SECRET_DOMAIN}`` CNAME ``<tunnel id>.cfargotunnel.com``; a second domain's
   ``external.<domain>`` is NXDOMAIN until someone adds its endpoint there, which each of the
   three people who added a domain by hand did (issue 18). So that DNSEndpoint gets one
   endpoint per tunnel domain: a copy of its tunnel endpoint under the domain's target name
   (or ``spec.tunnel.target`` when it has none; without any such DNSEndpoint, krmfn generates
   one when the target is configured). The names krmfn added are listed in
   ``krmfn.dev/endpoints`` on it, so a removed domain's endpoint is pruned and the user's own
   endpoints stay as written.
2. **Targets nothing publishes** get a warning naming the record, the target and what would
   publish it. Published means: an endpoint of a DNSEndpoint (an external-dns with the ``crd``
   source reads it), a Gateway's ``spec.infrastructure.annotations`` hostname (its
   LoadBalancer Service, read by an external-dns ``service`` source and by k8s_gateway), or
   the hostname of a route or Ingress.
3. **Two records for one name**: per external-dns installation, a name that a DNSEndpoint and
   a route (or two of either) publish with different targets is a warning naming both;
   external-dns would keep one of them by its own rules, not the one meant.
"""

from __future__ import annotations

import copy
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from krmfn.api.names import expand_template
from krmfn.concerns import publication
from krmfn.concerns.publication import Installation
from krmfn.concerns.routes import GATEWAY_GROUP, domain_of
from krmfn.concerns.tunnel import tunnel_gateway
from krmfn.concerns.valueroutes import every_ingress, every_route
from krmfn.context import Context, ref_of
from krmfn.krm import results as r
from krmfn.krm.item import Item

API_VERSION = "externaldns.k8s.io/v1alpha1"
ADDED = "krmfn.dev/endpoints"
TUNNEL_SUFFIX = ".cfargotunnel.com"
FILE = "dns-records.yaml"


def reconcile(ctx: Context) -> None:
    wanted = tunnel_targets(ctx)
    if wanted is not None:
        _tunnel_endpoints(ctx, wanted)
    installations = publication.installations(ctx)
    records = list(kept_records(ctx, installations))
    _unpublished(ctx, records)
    _conflicts(ctx, installations, records)


# --- 1. tunnel targets -----------------------------------------------------------------


def tunnel_targets(ctx: Context) -> list[str] | None:
    """The target name of each tunnel domain (``external.<domain>``), or None without a tunnel DNS target."""
    spec = ctx.config.spec.tunnel
    if spec is None:
        return None
    gateway = tunnel_gateway(ctx.config)
    if gateway is None or gateway.dns is None or not gateway.dns.target:
        return None
    names = [expand_template(gateway.dns.target, d.name) for d in ctx.config.domains if d.tunnel]
    return list(dict.fromkeys(names))


def _tunnel_endpoints(ctx: Context, wanted: list[str]) -> None:
    spec = ctx.config.spec.tunnel
    assert spec is not None
    item = _tunnel_dns_endpoint(ctx)
    if item is None:
        if spec.target is not None and wanted:
            endpoints = [_endpoint(name, spec.target) for name in wanted]
            if _readable(ctx, f"{ctx.config.name}-tunnel", wanted):
                meta: dict[str, Any] = {"name": f"{ctx.config.name}-tunnel"}
                if spec.namespace:
                    meta["namespace"] = spec.namespace
                data = {"apiVersion": API_VERSION, "kind": "DNSEndpoint", "metadata": meta}
                ctx.generate({**data, "spec": {"endpoints": endpoints}}, FILE)
        return
    new = copy.deepcopy(item.data)
    body = new.get("spec")
    listed = body.get("endpoints") if isinstance(body, dict) else None
    if not isinstance(body, dict) or not isinstance(listed, list):
        return
    added = [n.strip() for n in (item.annotation(ADDED) or "").split(",") if n.strip()]
    model = _model(listed, wanted, spec.target)
    if model is None:
        return
    have = {publication.fold(str(e.get("dnsName"))) for e in listed if isinstance(e, dict)}
    missing = [name for name in wanted if publication.fold(name) not in have]
    # the user's DNSEndpoint is read already (its first endpoint works): only configured filters can say no
    if missing and ctx.config.spec.external_dns and not _readable(ctx, ref_of(item).describe(), missing):
        missing = []
    stale = {publication.fold(n) for n in added} - {publication.fold(n) for n in wanted}
    kept = [e for e in listed if not (isinstance(e, dict) and publication.fold(str(e.get("dnsName"))) in stale)]
    body["endpoints"] = kept + [{**copy.deepcopy(model), "dnsName": name} for name in missing]
    now = [n for n in added if publication.fold(n) not in stale] + missing
    meta = new.setdefault("metadata", {})
    annotations: dict[str, Any] = dict(meta["annotations"]) if isinstance(meta.get("annotations"), dict) else {}
    if now:
        annotations[ADDED] = ",".join(now)
    else:
        annotations.pop(ADDED, None)
    if annotations:
        meta["annotations"] = annotations
    else:
        meta.pop("annotations", None)
    parts = []
    if missing:
        parts.append(f"publishes the tunnel's target {', '.join(missing)} like {model.get('dnsName')}")
    if stale:
        parts.append(f"no longer publishes {', '.join(sorted(stale))} (no longer a tunnel domain)")
    if parts:
        ctx.replace(item, new, "; ".join(parts))


def _tunnel_dns_endpoint(ctx: Context) -> Item | None:
    """The DNSEndpoint that publishes the tunnel's target names: configured, or the one pointing at the tunnel."""
    spec = ctx.config.spec.tunnel
    assert spec is not None
    if spec.dns_endpoint is not None:
        return ctx.target("DNSEndpoint", spec.dns_endpoint, spec.namespace, "spec.tunnel.dnsEndpoint")
    found = []
    for item in ctx.of_kind(["DNSEndpoint"]):
        if not item.mentions(TUNNEL_SUFFIX) and (spec.target is None or not item.mentions(spec.target)):
            continue
        for _, kind, targets, _ in publication.endpoints_of(item.data, ""):
            if kind == "CNAME" and any(_is_tunnel(t, spec.target) for t in targets):
                found.append(item)
                break
    if len(found) > 1 and spec.namespace:
        found = [i for i in found if i.header.namespace in (None, spec.namespace)] or found
    if len(found) > 1:
        names = ", ".join(ref_of(i).describe() for i in found)
        ctx.report(
            r.warning(
                f"several DNSEndpoints point at the tunnel ({names}); set `spec.tunnel.dnsEndpoint` to the one that "
                "publishes the tunnel's target names, so that krmfn adds each tunnel domain's there",
                field="spec.tunnel",
                resource=ctx.config_ref,
            )
        )
        return None
    return found[0] if found else None


def _is_tunnel(target: str, configured: str | None) -> bool:
    folded = publication.fold(target)
    return folded.endswith(TUNNEL_SUFFIX) or (configured is not None and folded == publication.fold(configured))


def _model(listed: list[Any], wanted: list[str], target: str | None) -> dict[str, Any] | None:
    """The endpoint each added one copies: the one for a wanted name, else one pointing at the tunnel."""
    endpoints = [e for e in listed if isinstance(e, dict) and isinstance(e.get("dnsName"), str)]
    folded = {publication.fold(n) for n in wanted}
    for ep in endpoints:
        if publication.fold(ep["dnsName"]) in folded and (target is None or target in (ep.get("targets") or [])):
            return ep if target is None else {**ep, "targets": [target]}
    for ep in endpoints:
        if any(_is_tunnel(str(t), target) for t in ep.get("targets") or []):
            return ep if target is None else {**ep, "targets": [target]}
    return _endpoint("", target) if target else None


def _endpoint(name: str, target: str) -> dict[str, Any]:
    return {"dnsName": name, "recordType": "CNAME", "targets": [target]}


def _readable(ctx: Context, what: str, names: list[str]) -> bool:
    """Whether an installation reading `crd` admits *names*; an error otherwise (records nothing publishes)."""
    installations = publication.installations(ctx)
    if any(i.sources is None for i in installations):
        return True
    missing = [n for n in names if not any(i.reads(publication.CRD) and i.admits(n) for i in installations)]
    if not missing:
        return True
    ctx.report(
        r.error(
            f"{what} must be read by an external-dns installation whose sources include `crd` and whose filters "
            f"admit the tunnel's target {', '.join(missing)}; none in `spec.externalDNS` does, so krmfn does not "
            "write it: list that installation there (with `crd` in its `sources`)",
            field="spec.externalDNS",
            resource=ctx.config_ref,
        )
    )
    return False


# --- 2. targets nothing publishes ------------------------------------------------------


@dataclass(frozen=True)
class Kept:
    """A record that will exist: a name, its target(s), who publishes it and which installations may read it."""

    hostname: str
    record_type: str
    targets: tuple[str, ...]
    publisher: str
    #: The source an installation needs to read it (`crd`, `gateway-httproute`, `ingress`).
    source: str
    #: For a route: the Gateway (namespace, name) an installation must select.
    gateway: tuple[str | None, str] | None = None
    #: An endpoint of a DNSEndpoint krmfn generates.
    generated: bool = False
    #: For an Ingress: its class.
    ingress_class: str | None = None


def kept_records(ctx: Context, installations: list[Installation]) -> Iterator[Kept]:
    """Every record of the tree: DNSEndpoint endpoints, and what external-dns makes of routes and Ingresses."""
    for found in publication.endpoints(ctx).values():
        for ep in found:
            yield Kept(ep.name, ep.type, ep.targets, ep.resource.describe(), publication.CRD, generated=ep.generated)
    prefix = ctx.config.spec.external_dns_annotation_prefix
    gateways: dict[tuple[str | None, str], str | None] = {}
    for route in every_route(ctx):
        if route.annotations.get(f"{prefix}controller") not in (None, "dns-controller"):
            continue
        for parent in route.parents:
            key = (parent.namespace, parent.name)
            if key not in gateways:
                gateways[key] = _target_annotation(ctx, parent.namespace, parent.name, prefix)
            target = gateways[key]
            if not target:
                continue
            source = publication.ROUTE_SOURCES[route.kind]
            for hostname in route.hostnames:
                yield Kept(hostname, _type_of(target), (target,), route.describe(), source, key)
    for ingress in every_ingress(ctx):
        target = ingress.annotations.get(f"{prefix}target")
        if target and ingress.annotations.get(f"{prefix}controller") in (None, "dns-controller"):
            first = target.split(",")[0].strip()
            for host in ingress.hosts:
                yield Kept(
                    host, _type_of(first), (first,), ingress.describe(), "ingress", ingress_class=ingress.class_name
                )


def _target_annotation(ctx: Context, namespace: str | None, name: str, prefix: str) -> str | None:
    found = ctx.find("Gateway", name, namespace, GATEWAY_GROUP)
    if len(found) != 1:
        return None
    value = found[0].annotation(f"{prefix}target")
    return value.split(",")[0].strip() if value else None


def _type_of(target: str) -> str:
    return "A" if target.replace(".", "").isdigit() else "CNAME"


def _unpublished(ctx: Context, records: list[Kept]) -> None:
    published = set(publication.endpoints(ctx)) | set(publication.infrastructure_hostnames(ctx))
    published |= {publication.fold(rec.hostname) for rec in records}
    before = _pointed_at_before(ctx, records)
    missing: dict[str, list[Kept]] = {}
    for rec in records:
        if rec.record_type != "CNAME" or not _under_managed_gateway_or_generated(ctx, rec):
            continue
        target = rec.targets[0]
        if domain_of(ctx.config, publication.fold(target)) is None and domain_of(ctx.config, target) is None:
            continue  # outside every managed zone: not krmfn's to check
        if publication.fold(target) not in published:
            missing.setdefault(target, []).append(rec)
    for target, pointing in missing.items():
        if publication.fold(target) in before:
            # records the user had before krmfn point there already: published outside the input, presumably
            ctx.report(
                r.info(
                    f"{target}, which records of the input already point at ({before[publication.fold(target)]}), "
                    "is published by nothing in the input; krmfn takes it to be published outside it",
                    field="spec.gateways",
                    resource=ctx.config_ref,
                )
            )
            continue
        first = pointing[0]
        more = f" and {len(pointing) - 1} more" if len(pointing) > 1 else ""
        ctx.report(
            r.warning(
                f"{first.hostname} CNAME {target} (in {first.publisher}){more} points at {target}, which nothing "
                f"in the input publishes, so the name does not resolve: {_what_would_publish(ctx, target)}"
                f"{_sibling(target, before) if first.source == 'ingress' else ''}",
                field="spec.tunnel" if ctx.config.spec.tunnel else "spec.gateways",
                resource=ctx.config_ref,
            )
        )


def _pointed_at_before(ctx: Context, records: list[Kept]) -> dict[str, str]:
    """Targets the input's own records use (Gateway target annotations, the user's DNSEndpoints), with who."""
    prefix = ctx.config.spec.external_dns_annotation_prefix
    out: dict[str, str] = {}
    for item in ctx.of_kind(["Gateway"], group=GATEWAY_GROUP):
        for target in (item.annotation(f"{prefix}target") or "").split(","):
            if target.strip():
                out.setdefault(publication.fold(target), f"the target annotation of {ref_of(item).describe()}")
    primary = next(d for d in ctx.config.domains if d.primary)
    for rec in records:
        if rec.source == publication.CRD and not rec.generated:
            for target in rec.targets:
                out.setdefault(publication.fold(target), rec.publisher)
        elif rec.source == "ingress" and domain_of(ctx.config, publication.fold(rec.targets[0])) is primary:
            # the primary zone is the one the repository served before its second domain: the target
            # its Ingresses name there works today, so something outside the input publishes it
            out.setdefault(publication.fold(rec.targets[0]), rec.publisher)
    return out


def _under_managed_gateway_or_generated(ctx: Context, rec: Kept) -> bool:
    """Records krmfn writes (DNSEndpoints it generates) or keeps (routes on a Gateway with `dns`, Ingresses of
    a configured IngressClass)."""
    if rec.generated:
        return True
    if rec.source == "ingress":
        return any(g.kind == "IngressClass" and g.name == rec.ingress_class for g in ctx.config.spec.gateways)
    if rec.gateway is None:
        return False
    namespace, name = rec.gateway
    return any(
        g.kind == "Gateway" and g.name == name and namespace in (None, g.namespace) and g.dns is not None
        for g in ctx.config.spec.gateways
    )


def _sibling(target: str, before: dict[str, str]) -> str:
    """The same first label in another zone, already pointed at: the name an Ingress's own target
    annotation may name instead (a record krmfn writes follows the gateway's `dns.target`)."""
    label = publication.fold(target).partition(".")[0]
    others = [name for name in before if name.partition(".")[0] == label and name != publication.fold(target)]
    return f"; or point the record at {others[0]}, which records of the input already use" if others else ""


def _what_would_publish(ctx: Context, target: str) -> str:
    spec = ctx.config.spec.tunnel
    wanted = tunnel_targets(ctx) or []
    installations = publication.installations(ctx)
    crd = any(i.reads(publication.CRD) for i in installations) or any(i.sources is None for i in installations)
    if spec is not None and not wanted:
        written = (
            ""
            if crd
            else ("; krmfn cannot write that record here: no installation in `spec.externalDNS` reads the `crd` source")
        )
        return (
            f"publish {target} CNAME `<tunnel id>{TUNNEL_SUFFIX}` (where the tunnel's other names are made, e.g. "
            f"Terraform or the Cloudflare dashboard){written}"
        )
    if spec is not None and publication.fold(target) in {publication.fold(n) for n in wanted}:
        return (
            f"an endpoint `{target}` CNAME `<tunnel id>{TUNNEL_SUFFIX}` in the tunnel's DNSEndpoint, which krmfn "
            "adds when it finds that DNSEndpoint (set `spec.tunnel.dnsEndpoint`) or knows the tunnel's name (set "
            "`spec.tunnel.target`)"
        )
    return (
        f"a DNSEndpoint endpoint for {target}, or {target} in the `…/hostname` annotation of a Gateway's "
        "`spec.infrastructure.annotations` (its LoadBalancer Service, read by an external-dns with the `service` "
        "source and by k8s_gateway), or a record made outside the cluster (then ignore this)"
    )


# --- 3. two records for one name -------------------------------------------------------


def _conflicts(ctx: Context, installations: list[Installation], records: list[Kept]) -> None:
    reported: set[str] = set()
    for installation in installations:
        by_name: dict[str, dict[tuple[str, ...], str]] = {}
        for rec in records:
            if not installation.reads(rec.source) or not installation.admits(rec.hostname):
                continue
            if rec.gateway is not None and not installation.selects(
                rec.gateway[1], rec.gateway[0], publication.gateway_labels(ctx, rec.gateway[1], rec.gateway[0])
            ):
                continue
            targets = tuple(sorted(publication.fold(t) for t in rec.targets))
            by_name.setdefault(publication.fold(rec.hostname), {}).setdefault(targets, rec.publisher)
        for name, claims in sorted(by_name.items()):
            if len(claims) < 2 or name in reported:
                continue
            reported.add(name)
            both = "; ".join(f"{who} → {', '.join(t)}" for t, who in claims.items())
            ctx.report(
                r.warning(
                    f"{name} must have one record, but {installation.describe()} would publish it from "
                    f"{len(claims)} sources with different targets ({both}); external-dns keeps one of them by its "
                    "own rules, not the one meant: remove or correct all but one",
                    field=installation.field,
                    resource=ctx.config_ref,
                )
            )
