"""Every route hostname resolves to its own domain's target, with exactly one record (SPEC §6).

external-dns gives every route of a Gateway the one target in the Gateway's ``…/target``
annotation (external-dns ``docs/sources/gateway-api.md``: only that annotation is read from
Gateways). With several domains on one Gateway, hostnames of the other domains would point
at the wrong domain's target (Cloudflare error 1014 when that zone is in another account).
For a route with such a hostname the function generates an ``externaldns.k8s.io/v1alpha1``
DNSEndpoint holding a record for *every* hostname of the route, and sets
``…/controller: none`` on the route so that external-dns does not publish a second,
conflicting record from it: exactly one record per hostname. Routes whose hostnames all
resolve right through the Gateway's target are left alone. A route a chart renders from
values (:mod:`krmfn.concerns.valueroutes`) gets the annotation in its values where the chart
reads route annotations; where it does not, no DNSEndpoint is written (it would be a second,
conflicting record) and a warning says what the user must do.

A record someone already publishes is respected: a DNSEndpoint the user wrote that has the
wanted record for a hostname makes a second one unnecessary; one with another record is
reported, naming both, and krmfn writes none. A DNSEndpoint is written only where a
configured external-dns installation reads the ``crd`` source and its filters admit the
name (:mod:`krmfn.concerns.publication`); otherwise that is an error: records nothing
publishes are worse than none.

Ingress variant: an entry ``kind: IngressClass`` in ``spec.gateways`` stands for an ingress
controller. Each host of its Ingresses gets its own record by exposure: ``public`` a
(by default proxied) CNAME to the domain's target, ``lan`` an unproxied A record to the
``lanAddress`` (one address or a list: one record with every address, e.g. one per worker
node); wildcard hosts never get one, because a proxied wildcard makes browsers try ECH for
LAN-only names.

A gateway with ``dns.publishedBy: hand`` has no external-dns at all: the user makes its records
in the provider's dashboard (gilesknap/tpi-k3s-ansible). Nothing is written for it, no route
or Ingress is annotated (an earlier takeover is undone), no installation is required; one
info per route or Ingress names the records to make, and ``krmfn plan`` lists them
(``publishedBy.via: manual``), computed by :func:`intended` as they would be published.

A route or Ingress the function took over carries ``krmfn.dev/dns-endpoint``; when it no
longer needs a DNSEndpoint both annotations are removed again. One with a ``…/controller``
annotation the user wrote is left to the user.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from krmfn.api.config import Config, Domain, GatewaySpec
from krmfn.api.names import expand_template
from krmfn.concerns import publication
from krmfn.concerns.publication import Endpoint, Installation
from krmfn.concerns.routes import (
    GATEWAY_GROUP,
    Ingress,
    Route,
    domain_of,
    gateway_of,
    listener_hostnames,
    matches_listener,
    write_annotations,
)
from krmfn.concerns.valueroutes import every_ingress, every_route
from krmfn.context import Context
from krmfn.krm import results as r
from krmfn.krm.item import Item

API_VERSION = "externaldns.k8s.io/v1alpha1"
FILE = "dns-records.yaml"
MARK = "krmfn.dev/dns-endpoint"
EXPOSURE = "krmfn.dev/exposure"
_IPV4 = re.compile(r"^\d{1,3}(\.\d{1,3}){3}$")


@dataclass(frozen=True)
class Record:
    hostname: str
    record_type: str
    targets: tuple[str, ...]
    ttl: int | None
    proxied: bool | None
    #: Why the route's own publication would have been wrong (None: it would have been right).
    reason: str | None = None

    @property
    def target(self) -> str:
        return self.targets[0]

    def endpoint(self, prefix: str) -> dict[str, Any]:
        out: dict[str, Any] = {"dnsName": self.hostname, "recordType": self.record_type, "targets": list(self.targets)}
        if self.ttl is not None:
            out["recordTTL"] = self.ttl
        if self.proxied is not None:
            out["providerSpecific"] = [{"name": f"{prefix}cloudflare-proxied", "value": str(self.proxied).lower()}]
        return out

    def describe(self) -> str:
        return f"{self.record_type} {', '.join(self.targets)}"


Owner = Route | Ingress


@dataclass(frozen=True)
class _Settings:
    """What the route or Ingress asks external-dns for through its own annotations."""

    ttl: int | None
    proxied: bool | None


@dataclass
class _State:
    """One run's view: the installations, the records already in the tree, what krmfn publishes so far."""

    ctx: Context
    installations: list[Installation]
    existing: dict[str, list[Endpoint]]
    published: dict[str, tuple[tuple[str, ...], str]] = field(default_factory=dict)

    @property
    def prefix(self) -> str:
        return self.ctx.config.spec.external_dns_annotation_prefix


def generate(ctx: Context) -> None:
    """DNSEndpoints for routes and Ingresses whose hostnames the Gateway target would misdirect."""
    existing = {name: [e for e in found if not e.generated] for name, found in publication.endpoints(ctx).items()}
    state = _State(ctx, publication.installations(ctx), existing)
    for route in every_route(ctx):
        _route(state, route)
    classes = {g.name: g for g in ctx.config.spec.gateways if g.kind == "IngressClass" and g.dns is not None}
    if classes:
        for ingress in every_ingress(ctx):
            _ingress(state, ingress, classes)


def _settings(state: _State, owner: Owner) -> _Settings | None:
    """The owner's record settings, or None when the user has turned external-dns off for it."""
    return settings_of(state.prefix, owner)


def settings_of(prefix: str, owner: Owner) -> _Settings | None:
    """:func:`_settings` for an annotation *prefix*."""
    annotations = owner.annotations
    controller = annotations.get(f"{prefix}controller")
    if controller not in (None, "dns-controller") and MARK not in annotations:
        return None
    ttl_text = annotations.get(f"{prefix}ttl")
    proxied_text = annotations.get(f"{prefix}cloudflare-proxied")
    return _Settings(
        int(ttl_text) if ttl_text and ttl_text.isdigit() else None,
        proxied_text.lower() == "true" if proxied_text and proxied_text.lower() in ("true", "false") else None,
    )


def _targets(value: str | None) -> list[str]:
    return [publication.fold(t) for t in (value or "").split(",") if t.strip()]


def _type_of(target: str) -> str:
    return "A" if _IPV4.match(target) else "CNAME"


def _route(state: _State, route: Route) -> None:
    ctx = state.ctx
    settings = _settings(state, route)
    if settings is None:
        return
    attachment = _dns_attachment(ctx, route)
    if attachment is None:
        _apply(state, route, [])
        return
    gateway, gateway_item, hostnames = attachment
    assert gateway.dns is not None
    assert gateway.dns.target is not None
    if gateway.dns.published_by == "hand":
        _by_hand(state, route, gateway, hostnames)
        return
    annotation = gateway_item.annotation(f"{state.prefix}target")
    current = _targets(annotation)
    records: list[Record] = []
    for hostname in hostnames:
        domain = domain_of(ctx.config, hostname)
        if domain is None or gateway.name not in domain.gateways:
            if current:
                # external-dns would have published this one with the Gateway's target: keep that
                records.append(Record(hostname, _type_of(current[0]), (current[0],), settings.ttl, settings.proxied))
            else:
                ctx.report(
                    r.warning(
                        f"hostname {hostname!r} of {route.describe()} gets no DNS record: it is under "
                        f"no domain of Gateway {gateway.namespace}/{gateway.name}, which has no target annotation",
                        resource=route.ref,
                        file=route.item.path,
                    )
                )
            continue
        want = expand_template(gateway.dns.target, domain.name)
        reason = f"{hostname} → {want}" if current != [publication.fold(want)] else None
        ttl = settings.ttl if settings.ttl is not None else gateway.dns.ttl
        proxied = settings.proxied if settings.proxied is not None else gateway.dns.proxied
        records.append(Record(hostname, gateway.dns.type, (want,), ttl, proxied, reason))
    if not any(rec.reason for rec in records):
        records = []
    shown = repr(annotation) if annotation else "absent (external-dns would use the Gateway's address)"
    gw = f"{gateway.namespace}/{gateway.name}"
    why = f"the target annotation of Gateway {gw}, which external-dns gives every hostname, is {shown}"
    _apply(state, route, records, why, gateway=(gw, annotation))


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


def _ingress(state: _State, ingress: Ingress, classes: dict[str, GatewaySpec]) -> None:
    ctx = state.ctx
    settings = _settings(state, ingress)
    if settings is None:
        return
    gateway = classes.get(ingress.class_name) if ingress.class_name else None
    if gateway is None or gateway.dns is None:
        _apply(state, ingress, [])
        return
    dns = gateway.dns
    exposure = ingress.annotations.get(EXPOSURE) or dns.exposure
    where = {"resource": ingress.ref, "file": ingress.item.path}
    lan = dns.lan_addresses
    if (
        exposure not in ("public", "lan")
        or (exposure == "lan" and not lan)
        or (exposure == "public" and not dns.target)
    ):
        ctx.report(
            r.error(
                f"{ingress.describe()} annotation `{EXPOSURE}` must be `public` (needs `dns.target`) or `lan` "
                f"(needs `dns.lanAddress`) for IngressClass {gateway.name!r}; it is {exposure!r}",
                **where,
            )
        )
        return
    if dns.published_by == "hand":
        _by_hand(state, ingress, gateway, ingress.hosts)
        return
    fallback = _targets(ingress.annotations.get(f"{state.prefix}target"))
    records: list[Record] = []
    for host in ingress.hosts:
        if any(rec.hostname == host for rec in records):
            continue
        if host.startswith("*."):
            ctx.report(
                r.info(
                    f"{ingress.describe()}: wildcard host {host!r} gets no DNS record (a proxied wildcard makes "
                    "browsers try ECH for LAN-only names); give each name its own rule",
                    **where,
                )
            )
            continue
        domain = domain_of(ctx.config, host)
        if domain is None or gateway.name not in domain.gateways:
            if fallback:
                records.append(Record(host, _type_of(fallback[0]), (fallback[0],), settings.ttl, settings.proxied))
            else:
                ctx.report(
                    r.warning(
                        f"host {host!r} of {ingress.describe()} gets no DNS record: it is under no domain of "
                        f"IngressClass {gateway.name!r} and the Ingress has no target annotation",
                        **where,
                    )
                )
            continue
        records.append(_ingress_record(gateway, domain, host, exposure, settings))
    if not any(rec.reason for rec in records):
        records = []
    _apply(state, ingress, records)


def _ingress_record(gateway: GatewaySpec, domain: Domain, host: str, exposure: str, settings: _Settings) -> Record:
    """An Ingress host's record: ``lan`` an unproxied A to every LAN address, ``public`` a CNAME to the target."""
    dns = gateway.dns
    assert dns is not None
    ttl = settings.ttl if settings.ttl is not None else dns.ttl
    if exposure == "lan":
        lan = dns.lan_addresses
        return Record(host, "A", tuple(lan), ttl, False, f"{host} → {', '.join(lan)} (lan: unproxied A)")
    assert dns.target is not None
    want = expand_template(dns.target, domain.name)
    proxied = settings.proxied
    if proxied is None:
        proxied = dns.proxied if dns.proxied is not None else True
    return Record(
        host, "CNAME", (want,), ttl, proxied, f"{host} → {want} (public: {'proxied ' if proxied else ''}CNAME)"
    )


def intended(config: Config, owner: Owner, gateway: GatewaySpec, host: str) -> Record | None:
    """The record *host* of *owner* should have on *gateway*, whoever makes it (the plan of ``publishedBy: hand``);
    None when it gets none (a wildcard Ingress host, a name under no domain of the gateway, external-dns off)."""
    dns = gateway.dns
    domain = domain_of(config, host)
    settings = settings_of(config.spec.external_dns_annotation_prefix, owner)
    if dns is None or settings is None or domain is None or gateway.name not in domain.gateways:
        return None
    if gateway.kind == "Gateway":
        if dns.target is None:
            return None
        ttl = settings.ttl if settings.ttl is not None else dns.ttl
        proxied = settings.proxied if settings.proxied is not None else dns.proxied
        return Record(host, dns.type, (expand_template(dns.target, domain.name),), ttl, proxied)
    exposure = owner.annotations.get(EXPOSURE) or dns.exposure
    if (
        host.startswith("*.")
        or (exposure == "lan" and not dns.lan_addresses)
        or (exposure == "public" and not dns.target)
    ):
        return None
    return _ingress_record(gateway, domain, host, exposure, settings)


def _by_hand(state: _State, owner: Owner, gateway: GatewaySpec, hostnames: Sequence[str]) -> None:
    """No external-dns publishes *gateway*'s records: nothing is written, an earlier takeover undone, the need said."""
    _apply(state, owner, [])
    wanted = [rec for host in hostnames if (rec := intended(state.ctx.config, owner, gateway, host)) is not None]
    if wanted:
        state.ctx.report(
            r.info(
                f"{owner.describe()} needs records made by hand (`dns.publishedBy: hand` on {gateway.kind} "
                f"{gateway.name!r}): "
                + "; ".join(f"{rec.hostname} {rec.describe()}{' proxied' if rec.proxied else ''}" for rec in wanted),
                resource=owner.ref,
                file=owner.item.path,
            )
        )


def endpoint_name(owner: Owner) -> str:
    """The DNSEndpoint of a route or Ingress: ``<name>-<kind>`` (``-helmrelease`` for one from values)."""
    kind = owner.item.header.kind if owner.origin else owner.kind
    return f"{owner.name}-{kind.lower()}"


def _apply(
    state: _State, owner: Owner, records: list[Record], why: str = "", gateway: tuple[str, str | None] | None = None
) -> None:
    """Generate the owner's DNSEndpoint and turn its own publication off, or undo both."""
    ctx, prefix = state.ctx, state.prefix
    if not records:
        if MARK in owner.annotations and owner.annotations_at is not None:
            updates: dict[str, str | None] = {MARK: None}
            if owner.annotations.get(f"{prefix}controller") == "none":
                updates[f"{prefix}controller"] = None
            write_annotations(
                ctx,
                owner,
                updates,
                "external-dns publishes its hostnames itself again; its DNSEndpoint is no longer needed",
            )
        return
    where = {"resource": owner.ref, "file": owner.item.path}
    if owner.annotations_at is None:
        _cannot_move(state, owner, records, gateway)
        return
    name = endpoint_name(owner)
    endpoints: list[Record] = []
    publishers: list[str] = []
    for rec in records:
        existing = state.existing.get(publication.fold(rec.hostname), [])
        if existing:
            _existing(state, owner, rec, existing, publishers)
            continue
        earlier = state.published.get(publication.fold(rec.hostname))
        if earlier is not None:
            if sorted(earlier[0]) != sorted(rec.targets):
                ctx.report(
                    r.warning(
                        f"hostname {rec.hostname!r} of {owner.describe()} must have one record; {earlier[1]} "
                        f"already publishes it to {', '.join(earlier[0])!r}, so {rec.describe()!r} is not published",
                        **where,
                    )
                )
            continue
        endpoints.append(rec)
    if endpoints and not _readable(state, owner, name, endpoints):
        return
    for rec in endpoints:
        state.published[publication.fold(rec.hostname)] = (rec.targets, owner.describe())
    if endpoints:
        meta: dict[str, Any] = {"name": name}
        if owner.namespace:
            meta["namespace"] = owner.namespace
        spec = {"endpoints": [rec.endpoint(prefix) for rec in endpoints]}
        ctx.generate({"apiVersion": API_VERSION, "kind": "DNSEndpoint", "metadata": meta, "spec": spec}, FILE)
        publishers.insert(0, name)
    mark = ", ".join(dict.fromkeys(publishers)) or name
    write_annotations(
        ctx,
        owner,
        {f"{prefix}controller": "none", MARK: mark},
        f"external-dns must not publish it (`{prefix}controller: none`); DNSEndpoint {mark} does",
    )
    if not endpoints:
        return
    reasons = [rec.reason for rec in endpoints if rec.reason]
    others = [rec.hostname for rec in endpoints if not rec.reason]
    also = f"; {', '.join(others)} moved along so that each hostname has exactly one record" if others else ""
    because = f"; {why}" if why else ""
    ctx.report(
        r.info(
            f"DNSEndpoint {name} publishes the hostnames of {owner.describe()}: {', '.join(reasons)}{because}{also}",
            **where,
        )
    )


def _existing(state: _State, owner: Owner, rec: Record, existing: list[Endpoint], publishers: list[str]) -> None:
    """A record someone already publishes for the hostname: respected if right, reported if not."""
    where = {"resource": owner.ref, "file": owner.item.path}
    right = [e for e in existing if e.same_record(rec.record_type, rec.targets)]
    if right and len(right) == len(existing):
        publishers.append(right[0].resource.name)
        state.ctx.report(
            r.info(
                f"hostname {rec.hostname!r} of {owner.describe()} is already published as {rec.describe()} by "
                f"{right[0].resource.describe()}; krmfn writes no second record",
                **where,
            )
        )
        return
    wrong = next(e for e in existing if not e.same_record(rec.record_type, rec.targets))
    publishers.append(wrong.resource.name)
    state.ctx.report(
        r.warning(
            f"hostname {rec.hostname!r} of {owner.describe()} must have one record, {rec.describe()} (its own "
            f"domain's target), but {wrong.resource.describe()}"
            + (f" in {wrong.file}" if wrong.file else "")
            + f" publishes {wrong.describe()}; krmfn writes no second record: change that endpoint to "
            f"{rec.describe()}, or remove it and krmfn publishes the name",
            **where,
        )
    )


def _readable(state: _State, owner: Owner, name: str, records: list[Record]) -> bool:
    """True when a configured installation reads the DNSEndpoint's every name; an error says why not."""
    installations = state.installations
    if any(i.sources is None for i in installations):
        return True  # an installation missing from the input: its own error says so, this one would only guess
    crd = [i for i in installations if i.reads(publication.CRD)]
    managed = [rec.hostname for rec in records if domain_of(state.ctx.config, rec.hostname) is not None]
    missing = [hostname for hostname in managed if not any(i.admits(hostname) for i in crd)]
    if not missing:
        return True
    if not installations:
        fix = "list the external-dns installation that publishes them in `spec.externalDNS`, with `crd` in its sources"
    elif not crd:
        names = ", ".join(f"{i.describe()} (`{i.field}`, sources {sorted(i.sources or [])})" for i in installations)
        fix = f"add `crd` to the sources of one of {names} (e.g. `{installations[0].field}.sources`)"
    else:
        fix = f"let {crd[0].describe()} (`{crd[0].field}`) filter for their zone (its `domains`)"
    state.ctx.report(
        r.error(
            f"DNSEndpoint {name} for {owner.describe()} must be read by an external-dns installation whose sources "
            f"include `crd` and whose filters admit {', '.join(missing)}; none in `spec.externalDNS` does, so it is "
            f"not written and the route is left as it is: {fix}",
            resource=state.ctx.config_ref,
            field="spec.externalDNS",
        )
    )
    return False


def _cannot_move(state: _State, owner: Owner, records: list[Record], gateway: tuple[str, str | None] | None) -> None:
    """A route from chart values whose annotations the chart does not take: no second record, and what to do."""
    prefix = state.prefix
    moved = [rec for rec in records if rec.reason]
    wanted = ", ".join(f"{rec.hostname} → {rec.target}" for rec in moved)
    gets = f"the target of Gateway {gateway[0]} ({gateway[1]!r})" if gateway and gateway[1] else "the Gateway's address"
    state.ctx.report(
        r.warning(
            f"{owner.describe()} needs its own records ({wanted}), but external-dns publishes its hostnames with "
            f"{gets}, and its chart takes no route annotations through `{owner.at}` that could set "
            f"`{prefix}controller: none`; krmfn writes no second, conflicting record. Set the annotation if the "
            f"chart supports it (`{owner.at}.annotations`), declare the route as an HTTPRoute resource instead, or "
            "attach it to a Gateway whose target annotation is its domain's target",
            resource=owner.ref,
            field=owner.at,
            file=owner.item.path,
        )
    )
