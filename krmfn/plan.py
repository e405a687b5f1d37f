"""What the expansion will make exist, for a person to read before committing, and for `krmfn verify`.

:func:`plan_document` is ``krmfn plan --json``: exactly ``schema/plan.schema.json``
(documented in ``docs/plan.md``). It is derived from the expansion's output, read the way
the cluster's controllers will read it, never from the concerns' intentions: per domain, its
Certificate and every place a changed or generated resource lists it; per hostname (the
certificate's names, every route and Ingress host, from resources and from chart values, and
every name a DNSEndpoint publishes), the whole chain:

    sources → record (type, targets, proxied) → who publishes it (a DNSEndpoint, or
    external-dns reading the route) and which installation → its target's own record →
    the covering certificate → what serves it → the tunnel rule that matches first

:func:`render` prints the same document for a person. :func:`changes` lists what the function
changed, resource by resource; :func:`diff` prints it as a unified diff, :func:`diff_json` as
RFC 6902 operations.
"""

from __future__ import annotations

import difflib
import ipaddress
import re
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any, Literal

import jsonpatch

from krmfn.api.config import HELM_VALUES, Config, Domain, GatewaySpec
from krmfn.concerns import dnsrecords, publication
from krmfn.concerns.certificates import dns_names, normalise_flux
from krmfn.concerns.chartvalues import find_installation
from krmfn.concerns.publication import Endpoint, Installation
from krmfn.concerns.routes import GATEWAY_GROUP, Ingress, Route, domain_of, gateway_of
from krmfn.concerns.serving import Serving, cert_covers
from krmfn.concerns.tunnel import config_path
from krmfn.concerns.tunnelrules import hostname as rule_hostname
from krmfn.concerns.valueroutes import every_ingress, every_route
from krmfn.context import Context, ManagedCertificate
from krmfn.errors import InputError
from krmfn.expand import Expansion
from krmfn.krm.item import Item
from krmfn.krm.yamltext import load
from krmfn.layout import Layout, resource_header

API_VERSION = "krmfn.dev/v1alpha1"
#: Annotations of a Gateway's `spec.infrastructure` that hold its load-balancer addresses.
LB_ADDRESS_ANNOTATIONS = ("lbipam.cilium.io/ips", "metallb.universe.tf/loadBalancerIPs", "io.cilium/lb-ipam-ips")
_SECONDS = {"h": 3600, "m": 60, "s": 1}


def plan_document(config: Config, expansion: Expansion, original: Sequence[Item]) -> dict[str, Any]:
    """The plan of an expansion, as ``schema/plan.schema.json`` defines it."""
    view = _View(config, expansion)
    before = {id(item) for item in original}
    touched = [i for i in expansion.items if id(i) not in before]
    hosts = view.hostnames()
    domains = [
        {
            "name": domain.name.text,
            "primary": domain.primary,
            "tunnel": domain.tunnel,
            "certificate": _certificate(expansion.certificates.get(domain.name.text)),
            "appearsIn": list(
                _appears_in(domain, expansion.certificates.get(domain.name.text), touched, view.ctx.namespace_of)
            ),
            "hostnames": [h for h in hosts if _domain_of(config, h["name"]) is domain],
        }
        for domain in config.domains
    ]
    alerts = config.spec.expiry_alerts
    return {
        "apiVersion": API_VERSION,
        "kind": "Plan",
        "multiDomain": config.name,
        "expiryWarningDays": _days(alerts.threshold) if alerts is not None and alerts.threshold else None,
        "domains": domains,
    }


def _days(duration: str) -> float:
    """A Go duration (``48h``, ``1h30m``) in days."""
    return sum(float(n) * _SECONDS[u] for n, u in re.findall(r"([0-9.]+)(h|m|s)(?!s)", duration)) / 86400


def _domain_of(config: Config, hostname: str) -> Domain | None:
    return domain_of(config, hostname[2:] if hostname.startswith("*.") else hostname)


def _ref(item: Item, namespace: str | None = None) -> dict[str, Any]:
    """A resource of the output; *namespace*: where it lands, when its file does not say.

    A document that is no resource (a local chart's values file) is ``kind: HelmValues`` named by its path.
    """
    if not item.is_resource and item.path:
        return {"kind": HELM_VALUES, "namespace": None, "name": item.path, "file": item.path}
    h = item.header
    where = h.namespace or namespace
    return {"apiVersion": h.api_version, "kind": h.kind, "namespace": where, "name": h.name, "file": item.path}


def _certificate(cert: ManagedCertificate | None) -> dict[str, Any] | None:
    if cert is None:
        return None
    spec = cert.data.get("spec")
    spec = spec if isinstance(spec, dict) else {}
    issuer: Any = spec.get("issuerRef")
    issuer = issuer if isinstance(issuer, dict) else {}
    found = {k: str(issuer[k]) for k in ("kind", "name", "group") if isinstance(issuer.get(k), str)}
    ref: dict[str, str] | None = None  # an `existingCertificate` krmfn cannot see: its issuer is unknown
    if found or cert.origin != "existing":
        ref = {"kind": "Issuer", "name": "", **found}  # Issuer: cert-manager's default
    return {
        "namespace": cert.namespace,
        "name": cert.name,
        "secretName": cert.secret,
        "dnsNames": [str(n) for n in spec.get("dnsNames") or []],
        "issuerRef": ref,
        "origin": cert.origin,
    }


def _appears_in(
    domain: Domain, cert: ManagedCertificate | None, touched: Sequence[Item], namespace_of: Callable[[Item], str | None]
) -> Iterator[dict[str, Any]]:
    """Every place in a generated or changed resource that lists the domain or its Secret."""
    needles = [domain.name.text] + ([cert.secret] if cert else [])
    for item in touched:
        header = resource_header(item)
        if header is None or header.kind == "Certificate":
            continue  # kustomizations krmfn lists its files in are placement, not where the domain appears
        data = {k: v for k, v in item.data.items() if k != "metadata"}
        for path in _mentions(data, needles):
            yield {"resource": _ref(item, namespace_of(item)), "field": path}


def _mentions(value: Any, needles: Sequence[str], path: str = "") -> Iterator[str]:
    if isinstance(value, dict):
        for key, child in value.items():
            yield from _mentions(child, needles, f"{path}.{key}" if path else str(key))
    elif isinstance(value, list):
        for i, child in enumerate(value):
            yield from _mentions(child, needles, f"{path}[{i}]")
    elif isinstance(value, str) and any(_matches(value, n) for n in needles):
        yield path


def _matches(value: str, needle: str) -> bool:
    return value == needle or value.endswith("." + needle) or (needle in value and "\n" in value)


# --- the chain per hostname ------------------------------------------------------------


@dataclass
class _Host:
    name: str
    sources: list[dict[str, Any]]
    gateways: list[tuple[GatewaySpec, str | None]]
    routes: list[Route | Ingress]


class _View:
    """The output as the cluster's controllers read it."""

    def __init__(self, config: Config, expansion: Expansion) -> None:
        self.config = config
        items = list(expansion.items)
        self.certificates = expansion.certificates
        self.ctx = Context(config=config, items=items, layout=Layout(items), certificates=dict(self.certificates))
        self.prefix = config.spec.external_dns_annotation_prefix
        self.installations = publication.installations(self.ctx)
        self.endpoints = publication.endpoints(self.ctx)
        self.infrastructure = publication.infrastructure_hostnames(self.ctx)
        self.rules = _tunnel_rules(self.ctx)
        self.serving = Serving.from_context(self.ctx)

    def ref(self, item: Item) -> dict[str, Any]:
        return _ref(item, self.ctx.namespace_of(item))

    def hostnames(self) -> list[dict[str, Any]]:
        found: dict[str, _Host] = {}

        def host(name: str) -> _Host:
            return found.setdefault(publication.fold(name), _Host(name, [], [], []))

        for domain in self.config.domains:
            cert = self.certificates.get(domain.name.text)
            ref = {"kind": "Certificate", "namespace": cert.namespace, "name": cert.name} if cert else None
            for i, name in enumerate(dns_names(domain)):
                source = {"resource": ref, "field": f"spec.dnsNames[{i}]"} if ref else None
                host(name).sources += [source] if source else [_config_source(self.config, domain)]
        for route in every_route(self.ctx):
            attached = [(found_gw[1], p.section) for p in route.parents if (found_gw := gateway_of(self.config, p))]
            for i, name in enumerate(route.hostnames):
                if _domain_of(self.config, name) is not None:
                    entry = host(name)
                    entry.sources.append({"resource": self.ref(route.item), "field": route.hostname_field(i)})
                    entry.gateways += attached
                    entry.routes.append(route)
        classes = {g.name: g for g in self.config.spec.gateways if g.kind == "IngressClass"}
        for ingress in every_ingress(self.ctx):
            for i, name in enumerate(ingress.hosts):
                if _domain_of(self.config, name) is not None:
                    entry = host(name)
                    field = ingress.host_fields[i] if i < len(ingress.host_fields) else ingress.at
                    entry.sources.append({"resource": self.ref(ingress.item), "field": field})
                    if ingress.class_name in classes:
                        entry.gateways.append((classes[ingress.class_name], None))
                    entry.routes.append(ingress)
        for key, eps in self.endpoints.items():
            # every name a DNSEndpoint publishes, the tunnel's target names included: each must resolve
            if key in found or _domain_of(self.config, eps[0].name) is None:
                continue
            entry = host(eps[0].name)
            entry.sources.append({"resource": _endpoint_ref(eps[0]), "field": "spec.endpoints"})
        # each name after its parent domain's names; an apex before its wildcard
        ordered = sorted(found.values(), key=lambda h: (h.name.removeprefix("*."), h.name.startswith("*.")))
        return [self._entry(h) for h in ordered]

    def _entry(self, host: _Host) -> dict[str, Any]:
        domain = _domain_of(self.config, host.name)
        assert domain is not None
        record = self._record(host)
        target = None
        if record is not None and record["type"] == "CNAME":
            name = record["targets"][0]
            if _domain_of(self.config, publication.fold(name)) is not None:
                target = {"name": name, "record": self._target_record(name)}
        certificate = self._covering(host.name)
        gateways = [
            {"kind": g.kind, "namespace": g.namespace, "name": g.name, "listener": section or g.listener}
            if g.kind == "Gateway"
            else {"kind": g.kind, "namespace": None, "name": g.name, "listener": None}
            for g, section in dict.fromkeys(host.gateways)
        ]
        out: dict[str, Any] = {"name": host.name, "sources": host.sources, "gateways": gateways}
        exposure = _exposure(record, domain)
        if exposure is not None:
            out["exposure"] = exposure
        out.update(
            {
                "record": record,
                "target": target,
                "certificate": certificate,
                "covered": bool(certificate and certificate["servedBy"]),
                "tunnelRule": _first_rule(self.rules, host.name) if domain.tunnel else None,
                "splitHorizon": domain.split_horizon,
            }
        )
        return out

    # --- records -----------------------------------------------------------------------

    def _record(self, host: _Host) -> dict[str, Any] | None:
        endpoints = self.endpoints.get(publication.fold(host.name))
        if endpoints:
            return self._endpoint_record(endpoints[0])
        # a gateway whose records are made by hand: no external-dns reads its routes' annotations
        by_hand = bool(host.gateways) and all(
            g.dns is not None and g.dns.published_by == "hand" for g, _ in host.gateways
        )
        for owner in [] if by_hand else host.routes:
            found = self._own_record(owner, host.name)
            if found is not None:
                return found
        for owner in host.routes:
            found = self._by_hand(owner, host)
            if found is not None:
                return found
        return None

    def _by_hand(self, owner: Route | Ingress, host: _Host) -> dict[str, Any] | None:
        """The record the user makes for the name, when its gateway says nothing publishes it (`publishedBy: hand`)."""
        for gateway, _ in host.gateways:
            if gateway.dns is None or gateway.dns.published_by != "hand":
                continue
            rec = dnsrecords.intended(self.config, owner, gateway, host.name)
            if rec is not None:
                return {
                    "type": rec.record_type,
                    "targets": list(rec.targets),
                    "proxied": rec.proxied,
                    "publishedBy": {"via": "manual", "resource": None, "installation": None},
                }
        return None

    def _endpoint_record(self, ep: Endpoint) -> dict[str, Any]:
        installation = self._reader(ep.name, publication.CRD)
        proxied = ep.proxied if ep.proxied is not None else (installation.proxied if installation else None)
        return {
            "type": ep.type,
            "targets": list(ep.targets),
            "proxied": proxied if ep.type in ("A", "AAAA", "CNAME") else None,
            "publishedBy": {
                "via": "DNSEndpoint",
                "resource": _endpoint_ref(ep),
                "installation": _installation_ref(installation),
            },
        }

    def _own_record(self, owner: Route | Ingress, hostname: str) -> dict[str, Any] | None:
        """The record external-dns makes from the route or Ingress itself, if one reads it."""
        if owner.annotations.get(f"{self.prefix}controller") not in (None, "dns-controller"):
            return None
        if isinstance(owner, Ingress):
            target = owner.annotations.get(f"{self.prefix}target")
            source, via, gateway = "ingress", "ingress", None
        else:
            gateway, target = self._gateway_target(owner)
            source, via = publication.ROUTE_SOURCES[owner.kind], "route"
        if not target:
            return None
        installation = self._reader(hostname, source, gateway)
        if installation is None and (self.installations or gateway is None or gateway.dns is None):
            return None
        proxied_text = owner.annotations.get(f"{self.prefix}cloudflare-proxied")
        proxied = proxied_text.lower() == "true" if proxied_text else (installation.proxied if installation else None)
        first = target.split(",")[0].strip()
        return {
            "type": "A" if re.fullmatch(r"[0-9.]+", first) else "CNAME",
            "targets": [first],
            "proxied": proxied,
            "publishedBy": {
                "via": via,
                "resource": self.ref(owner.item),
                "installation": _installation_ref(installation),
            },
        }

    def _gateway_target(self, route: Route) -> tuple[GatewaySpec | None, str | None]:
        for parent in route.parents:
            found = gateway_of(self.config, parent)
            items = self.ctx.find("Gateway", parent.name, parent.namespace, GATEWAY_GROUP)
            if len(items) == 1:
                target = items[0].annotation(f"{self.prefix}target")
                if target:
                    return (found[1] if found else None), target
        return None, None

    def _reader(self, name: str, source: str, gateway: GatewaySpec | None = None) -> Installation | None:
        for installation in self.installations:
            if not installation.reads(source) or not installation.admits(name):
                continue
            labels = publication.gateway_labels(self.ctx, gateway.name, gateway.namespace) if gateway else None
            if gateway is not None and not installation.selects(gateway.name, gateway.namespace, labels):
                continue
            return installation
        return None

    def _target_record(self, name: str) -> dict[str, Any] | None:
        endpoints = self.endpoints.get(publication.fold(name))
        if endpoints:
            return self._endpoint_record(endpoints[0])
        gateways = self.infrastructure.get(publication.fold(name))
        if not gateways:
            return None
        installation = self._reader(name, "service")
        gateway = gateways[0]
        items = self.ctx.find("Gateway", gateway.name, gateway.namespace, GATEWAY_GROUP)
        addresses = _addresses(items[0]) if len(items) == 1 else []
        return {
            "type": "A",
            "targets": addresses or [f"<load balancer of Gateway {gateway.describe().partition(' ')[2]}>"],
            "proxied": installation.proxied if installation else None,
            "publishedBy": {
                "via": "service",
                "resource": {"kind": "Gateway", "namespace": gateway.namespace, "name": gateway.name},
                "installation": _installation_ref(installation),
            },
        }

    # --- certificates ------------------------------------------------------------------

    def _covering(self, hostname: str) -> dict[str, Any] | None:
        for domain in self.config.domains:
            cert = self.certificates.get(domain.name.text)
            if cert is not None and any(cert_covers(n, hostname) for n in dns_names(domain)):
                return {
                    "namespace": cert.namespace,
                    "name": cert.name,
                    "secretName": cert.secret,
                    "servedBy": self._served_by(domain, hostname, cert.secret),
                }
        return None

    def _served_by(self, domain: Domain, hostname: str, secret: str) -> list[dict[str, Any]]:
        """What serves the name with the domain's certificate, on the domain's gateways (:mod:`krmfn.concerns.serving`:
        the listener the SNI picks must admit the name and list a Secret that holds it)."""
        gateways = [g for g in self.config.spec.gateways if g.name in domain.gateways]
        out = []
        for server in self.serving.served_by(hostname, gateways):
            if normalise_flux(server.secret.partition("/")[2]) != normalise_flux(secret):
                continue
            entry = server.to_data()
            if server.kind == "Gateway":
                items = self.ctx.find("Gateway", server.name, server.namespace, GATEWAY_GROUP)
                addresses = _addresses(items[0]) if len(items) == 1 else []
                if addresses:
                    entry["addresses"] = addresses
            out.append(entry)
        return out


def _config_source(config: Config, domain: Domain) -> dict[str, Any]:
    """Where a name is declared without a Certificate (`spec.certificates` not set): the config."""
    resource = {"kind": "MultiDomain", "namespace": None, "name": config.name}
    return {"resource": resource, "field": f"{domain.field}.name"}


def _endpoint_ref(ep: Endpoint) -> dict[str, Any]:
    return {
        "apiVersion": ep.resource.api_version,
        "kind": "DNSEndpoint",
        "namespace": ep.resource.namespace,
        "name": ep.resource.name,
        "file": ep.file,
    }


def _installation_ref(installation: Installation | None) -> dict[str, Any] | None:
    if installation is None:
        return None
    if installation.file is not None:
        return {"kind": HELM_VALUES, "namespace": None, "name": installation.file, "file": installation.file}
    return {"kind": installation.kind, "namespace": installation.namespace, "name": installation.name}


def _exposure(record: dict[str, Any] | None, domain: Domain) -> str | None:
    if record is None:
        return "internal" if domain.split_horizon else None
    private = record["type"] == "A" and all(_is_private(t) for t in record["targets"])
    return "lan" if private else "public"


def _is_private(address: str) -> bool:
    try:
        return ipaddress.ip_address(address).is_private
    except ValueError:
        return False


def _addresses(gateway: Item) -> list[str]:
    """The load-balancer addresses a Gateway asks for (`spec.addresses`, or its infrastructure annotations)."""
    spec = gateway.data.get("spec")
    spec = spec if isinstance(spec, dict) else {}
    out = [str(a["value"]) for a in spec.get("addresses") or [] if isinstance(a, dict) and a.get("value")]
    infra = spec.get("infrastructure")
    annotations = infra.get("annotations") if isinstance(infra, dict) else None
    for key in LB_ADDRESS_ANNOTATIONS:
        value = annotations.get(key) if isinstance(annotations, dict) else None
        out += [a.strip() for a in str(value or "").split(",") if a.strip()]
    return list(dict.fromkeys(out))


# --- the tunnel ------------------------------------------------------------------------


def _tunnel_rules(ctx: Context) -> list[dict[str, Any]]:
    """cloudflared's ingress rules as the output has them (empty without a tunnel)."""
    spec = ctx.config.spec.tunnel
    if spec is None:
        return []
    found = find_installation(ctx, spec)
    if len(found) != 1:
        return []
    node: Any = found[0].value
    for key in config_path(spec):
        node = node.get(key) if isinstance(node, dict) else None
    try:
        inner = load(node, "the cloudflared config") if isinstance(node, str) else None
    except InputError:
        return []
    ingress = inner.get("ingress") if isinstance(inner, dict) else None
    return [rule for rule in ingress or [] if isinstance(rule, dict)] if isinstance(ingress, list) else []


def _first_rule(rules: list[dict[str, Any]], hostname: str) -> dict[str, Any] | None:
    """The rule cloudflared matches first for *hostname* (``ingress/rule.go`` ``matchHost``); None: the catch-all."""
    for rule in rules:
        pattern = rule_hostname(rule)
        if rule.get("path"):
            continue
        if not pattern:
            return None
        if pattern == hostname or (pattern.startswith("*.") and hostname.endswith(pattern[1:])):
            origin = rule.get("originRequest")
            server_name = origin.get("originServerName") if isinstance(origin, dict) else None
            return {
                "hostname": pattern,
                "service": str(rule.get("service")),
                "originServerName": server_name if isinstance(server_name, str) else None,
            }
    return None


# --- text ------------------------------------------------------------------------------


def render(document: dict[str, Any]) -> str:
    """The plan for a person: per domain its certificate and where it appears, per hostname the chain."""
    lines = [f"MultiDomain {document['multiDomain']}: {len(document['domains'])} domain(s)", ""]
    for d in document["domains"]:
        flags = [x for x, on in (("primary", d["primary"]), ("tunnel", d.get("tunnel"))) if on]
        lines.append(f"{d['name']}{' (' + ', '.join(flags) + ')' if flags else ''}")
        cert = d["certificate"]
        if cert is None:
            lines.append("  certificate  none (`spec.certificates` is not set)")
        else:
            origin = {
                "adopted": " (adopted: a hand-written Certificate krmfn now owns)",
                "existing": " (existing: the user's, krmfn writes none)",
            }.get(cert["origin"], "")
            where = f"{cert['namespace']}/{cert['name']}" if cert["namespace"] else cert["name"]
            lines.append(f"  certificate  Certificate {where} -> Secret {cert['secretName']}{origin}")
            lines.append(f"  names        {', '.join(cert['dnsNames'])}")
            issuer = cert["issuerRef"]
            lines.append(
                f"  issuer       {issuer['kind']} {issuer['name']}"
                if issuer
                else "  issuer       unknown (not in the input)"
            )
        width = max((len(_describe(a["resource"])) for a in d["appearsIn"]), default=0)
        for i, appears in enumerate(d["appearsIn"]):
            label = "appears in" if i == 0 else ""
            lines.append(f"  {label:<11}  {_describe(appears['resource']):<{width}}  {appears['field']}")
        for i, host in enumerate(d["hostnames"]):
            lines.append(f"  {'hostnames' if i == 0 else '':<11}  {host['name']}")
            lines.extend(f"      {line}" for line in _chain(host))
        lines.append("")
    return "\n".join(lines)


def _chain(host: dict[str, Any]) -> list[str]:
    from_ = ", ".join(f"{_describe(s['resource'])} `{s['field']}`" for s in host["sources"])
    out = [f"from     {from_}"]
    record = host["record"]
    out.append(f"record   {_record_text(record) if record else 'none managed'}")
    if host["target"] is not None:
        target = host["target"]
        published = _record_text(target["record"]) if target["record"] else "PUBLISHED BY NOTHING in the input"
        out.append(f"target   {target['name']}: {published}")
    cert = host["certificate"]
    if cert is None:
        out.append("cert     NOT COVERED by a managed certificate")
    else:
        served = ", ".join(
            f"{s['kind']} {s['namespace'] + '/' if s.get('namespace') else ''}{s['name']}"
            + (f" listener {s['listener']}" if s.get("listener") else "")
            for s in cert["servedBy"]
        )
        where = f"{cert['namespace']}/{cert['name']}" if cert["namespace"] else cert["name"]
        state = f"served by {served}" if served else "NOT SERVED by any listener or Ingress"
        out.append(f"cert     {where} ({state})")
    rule = host["tunnelRule"]
    if rule is not None:
        sni = f", originServerName {rule['originServerName']}" if rule.get("originServerName") else ""
        out.append(f"tunnel   {rule['hostname']} -> {rule['service']}{sni}")
    if host["splitHorizon"]:
        out.append("lan      split-horizon DNS")
    return out


def _record_text(record: dict[str, Any]) -> str:
    by = record["publishedBy"]
    who = _describe(by["resource"]) if by.get("resource") else by["via"]
    if by["via"] == "manual":
        who = "the user, by hand (`publishedBy: hand`)"
    via = f" via {_describe(by['installation'])}" if by.get("installation") else ""
    proxied = " (proxied)" if record.get("proxied") else ""
    return f"{record['type']} {', '.join(record['targets'])}{proxied} from {who}{via}"


def _describe(ref: dict[str, Any]) -> str:
    if ref["kind"] == HELM_VALUES:
        return f"values file {ref['name']}"
    namespace = ref.get("namespace")
    return f"{ref['kind']} {namespace + '/' if namespace else ''}{ref['name']}"


# --- diff ------------------------------------------------------------------------------


@dataclass(frozen=True)
class Change:
    """One resource the expansion adds, edits or removes: before and after (None: absent)."""

    before: Item | None
    after: Item | None

    @property
    def kind(self) -> Literal["added", "modified", "removed"]:
        if self.before is None:
            return "added"
        return "removed" if self.after is None else "modified"

    @property
    def item(self) -> Item:
        found = self.after or self.before
        assert found is not None
        return found


def changes(original: Sequence[Item], expansion: Expansion) -> list[Change]:
    """What the expansion changes, in output order, then what it removes."""
    kept = {id(i.origin or i) for i in expansion.items}
    out = [Change(item.origin, item) for item in expansion.items if item.raw is None]
    out += [Change(item, None) for item in original if id(item) not in kept]
    return out


def diff(original: Sequence[Item], expansion: Expansion) -> str:
    """The unified diff, per resource, of what the expansion changes."""
    chunks: list[str] = []
    for change in changes(original, expansion):
        label = _label(change.item)
        old = change.before.text if change.before is not None else ""
        new = change.after.text if change.after is not None else ""
        chunks.extend(difflib.unified_diff(old.splitlines(True), new.splitlines(True), f"a/{label}", f"b/{label}"))
    return "".join(chunks)


def diff_json(original: Sequence[Item], expansion: Expansion) -> list[dict[str, Any]]:
    """Per changed resource: identity, file, kind of change and the RFC 6902 operations.

    The operations turn the resource as it was into what it becomes; an added resource is
    patched from ``{}`` and a removed one to ``{}``, so that every patch applies as it is
    (RFC 6902 has no operation that creates or deletes the document itself).
    """
    out = []
    for change in changes(original, expansion):
        h = change.item.header
        before = change.before.data if change.before is not None else {}
        after = change.after.data if change.after is not None else {}
        out.append(
            {
                "resource": {"apiVersion": h.api_version, "kind": h.kind, "name": h.name, "namespace": h.namespace},
                "file": change.item.path,
                "change": change.kind,
                "patch": jsonpatch.make_patch(before, after).patch,
            }
        )
    return out


def _label(item: Item) -> str:
    h = item.header
    path = item.path
    name = f"{h.kind.lower()}_{h.name}.yaml"
    return f"{path}#{h.kind}/{h.name}" if path else (f"{h.namespace}/{name}" if h.namespace else name)
