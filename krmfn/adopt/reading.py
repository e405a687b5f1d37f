"""Reading a repository for ``krmfn init``: every place a zone is named, and the resources that name it.

The zones come from every place a domain must appear: Certificates' ``dnsNames``, issuers'
``selector.dnsZones``, external-dns filters, k8s_gateway's ``domain`` and cloudflared's
wildcard rules; each is read with the concern's own reader and kept as the manifests write
it (a Flux variable stays a variable), with the resources it was found in. What cannot be
read without guessing is recorded on the :class:`Survey` as a question or a note.
"""

from __future__ import annotations

import posixpath
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from krmfn.adopt.valuesfiles import chart_values
from krmfn.api.config import HELM_VALUES
from krmfn.api.names import DomainName, parse_domain
from krmfn.concerns.certificates import normalise_flux
from krmfn.concerns.chartvalues import GROUPS
from krmfn.concerns.dnsrecords import MARK as RECORD_MARK
from krmfn.concerns.externaldns import (
    application_values,
    args_key,
    containers_of,
    effective_of_args,
    effective_of_values,
    flag_values,
    helm_source,
    pick_container,
)
from krmfn.concerns.gateways import LISTENERS_ANNOTATION
from krmfn.concerns.issuers import listed_zones, zone_key, zone_solver
from krmfn.concerns.routes import GATEWAY_GROUP
from krmfn.concerns.serving import secret_key
from krmfn.concerns.splithorizon import zones_of
from krmfn.concerns.tunnel import chart_configs, cloudflared_configs
from krmfn.concerns.tunnelrules import hostname
from krmfn.errors import KrmfnError
from krmfn.krm.item import Header, Item
from krmfn.ownership import OWNER_ANNOTATION

TARGET_ANNOTATION = "external-dns.alpha.kubernetes.io/target"
CERT_GROUP = "cert-manager.io"
HELM_GROUP = "helm.toolkit.fluxcd.io"
CERT_SETTINGS = ("duration", "renewBefore", "privateKey", "usages", "secretTemplate", "revisionHistoryLimit")
_IPV4 = re.compile(r"^\d{1,3}(\.\d{1,3}){3}$")
#: Where a resource lands when nothing else says: its own ``metadata.namespace``.
NamespaceOf = Callable[[Item, Header], str | None]


def _normalized(path: str) -> str:
    """A path as kpt's path annotation and ``krmfn.context`` spell it."""
    return posixpath.normpath(path.strip()).removeprefix("./")


def own_namespace(item: Item, header: Header) -> str | None:
    return header.namespace


@dataclass
class Survey:
    """The config as plain data, and for each field path where it came from and what to ask."""

    config: dict[str, Any]
    sources: dict[str, str] = field(default_factory=dict)
    questions: dict[str, list[str]] = field(default_factory=dict)
    #: Lines for the head of the file: what was seen and left out, and why.
    notes: list[str] = field(default_factory=list)
    #: What a first render would change, and warn about (filled in by :func:`krmfn.adopt.dry_run`).
    render_changes: list[str] = field(default_factory=list)
    render_warnings: list[str] = field(default_factory=list)
    #: Problems to print on stderr as warnings.
    problems: list[str] = field(default_factory=list)
    config_path: str | None = None

    def ask(self, path: str, question: str) -> None:
        self.questions.setdefault(path, []).append(question)


@dataclass
class Resource:
    item: Item
    header: Header
    namespace: str | None

    @property
    def data(self) -> dict[str, Any]:
        return self.item.data

    def describe(self) -> str:
        h = self.header
        if h.kind == HELM_VALUES:
            return f"values file {self.item.path}"
        where = f"{self.namespace}/{h.name}" if self.namespace else h.name
        file = f" ({self.item.path})" if self.item.path and not self.namespace else ""
        return f"{h.kind} {where}{file}"


@dataclass
class Zone:
    name: DomainName
    sources: list[str] = field(default_factory=list)


@dataclass
class CertificateFound:
    res: Resource
    domain: DomainName
    wildcard: bool
    extra: list[str]
    secret: str | None
    issuer: dict[str, str]
    settings: dict[str, Any]


@dataclass
class Install:
    res: Resource
    filters: list[str]
    regex: bool
    #: Gateways whose routes it publishes: None for every gateway, else the ``--gateway-name``s.
    gateways: set[str] | None
    reads_gateways: bool
    provider: str
    #: A values file's subchart key, and where it was read.
    values_path: tuple[str, str] | None = None


def _mapping(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def spec_of(data: dict[str, Any]) -> dict[str, Any]:
    spec = data.get("spec")
    return spec if isinstance(spec, dict) else {}


def values_of(data: dict[str, Any]) -> dict[str, Any]:
    values = spec_of(data).get("values")
    return values if isinstance(values, dict) else {}


class Reader:
    """One pass over the input; each ``_read_*`` fills one section of the survey."""

    def __init__(self, items: Sequence[Item], namespace_of: NamespaceOf) -> None:
        self.resources: list[Resource] = []
        self.items = list(items)
        self._by_path: dict[str, list[Item]] = {}
        for item in items:
            if item.path:
                self._by_path.setdefault(_normalized(item.path), []).append(item)
            try:
                header = item.header
                if not isinstance(item.data, dict):  # pragma: no cover - header implies a mapping
                    continue
            except KrmfnError:
                continue  # kustomizations and other YAML: nothing to describe
            if header.kind == "MultiDomain" or item.is_sops_encrypted:
                continue
            self.resources.append(Resource(item, header, namespace_of(item, header)))
        self.zones: dict[str, Zone] = {}
        self.out = Survey(config={})

    def at_path(self, path: str) -> list[Item]:
        return self._by_path.get(_normalized(path), [])

    def of_kind(self, kind: str, group: str | None = None) -> list[Resource]:
        return [x for x in self.resources if x.header.kind == kind and (group is None or x.header.group == group)]

    def zone(self, raw: str, source: str) -> Zone | None:
        """Record *raw* as a zone seen at *source*; None (and a note) when it is not a domain name."""
        try:
            name = parse_domain(raw.strip().rstrip(".") if "$" not in raw else raw.strip())
        except ValueError as exc:
            self.out.notes.append(f"{source}: {raw!r} is not read as a domain ({exc})")
            return None
        found = self.zones.setdefault(zone_key(name.text), Zone(name))
        if source not in found.sources:
            found.sources.append(source)
        return found


def read_certificates(reader: Reader) -> list[CertificateFound]:
    out = []
    for res in reader.of_kind("Certificate", CERT_GROUP):
        spec = spec_of(res.data)
        names = [str(n) for n in spec.get("dnsNames") or [] if isinstance(n, str)]
        apex = _apex_of(names, reader)
        if apex is None:
            reader.out.notes.append(
                f"{res.describe()} covers hosts, not a zone ({', '.join(names) or 'no dnsNames'}); left as it is"
            )
            continue
        zone = reader.zone(apex, res.describe())
        if zone is None:
            continue
        text = zone.name.text
        ref = _mapping(spec.get("issuerRef"))
        issuer = {k: str(ref[k]) for k in ("name", "kind", "group") if isinstance(ref.get(k), str)}
        secret = spec.get("secretName")
        out.append(
            CertificateFound(
                res,
                zone.name,
                wildcard=f"*.{text}" in names,
                extra=[n for n in names if n not in (text, f"*.{text}")],
                secret=secret if isinstance(secret, str) else None,
                issuer=issuer,
                settings={k: spec[k] for k in CERT_SETTINGS if k in spec},
            )
        )
        if text not in names:
            reader.out.notes.append(
                f"{res.describe()} lists *.{text} but not {text}; the Certificate krmfn keeps lists both"
            )
    return out


def _apex_of(names: list[str], reader: Reader) -> str | None:
    """The zone a Certificate is for: the name under which all its names fall, given as apex or ``*.``."""
    candidates = {n[2:] if n.startswith("*.") else n for n in names}
    covering = [c for c in candidates if all(n == c or n.endswith("." + c) for n in names)]
    if not covering:
        return None
    apex = min(covering, key=len)
    if f"*.{apex}" in names:
        return apex
    return apex if zone_key(apex) in reader.zones else None


def solvers_of(data: dict[str, Any]) -> list[Any]:
    acme = spec_of(data).get("acme")
    solvers = acme.get("solvers") if isinstance(acme, dict) else None
    return solvers if isinstance(solvers, list) else []


def read_issuers(reader: Reader) -> list[Resource]:
    out = []
    for res in [*reader.of_kind("ClusterIssuer", CERT_GROUP), *reader.of_kind("Issuer", CERT_GROUP)]:
        zoned = False
        for solver in solvers_of(res.data):
            if zone_solver(solver):
                for z in listed_zones(solver) or []:
                    zoned = reader.zone(z, res.describe()) is not None or zoned
        if zoned or res.item.annotation(OWNER_ANNOTATION):
            out.append(res)
    return out


def _filters_of(res: Resource) -> tuple[list[str], bool] | None:
    """An external-dns installation's ``domainFilters`` and whether a regex filter overrides them."""
    kind, data = res.header.kind, res.data
    if kind == "HelmRelease" and res.header.group == GROUPS["HelmRelease"]:
        if not _is_external_dns_release(res):
            return None
        effective = effective_of_values(values_of(data))
    elif kind == "Deployment" and res.header.group == GROUPS["Deployment"]:
        args = _external_dns_args(data)
        if args is None:
            return None
        effective = effective_of_args(args)
    elif kind == "Application" and res.header.group == GROUPS["Application"]:
        found = helm_source(spec_of(data))
        if isinstance(found, str) or "external-dns" not in str(found[1].get("chart") or found[1].get("path") or ""):
            return None
        effective = effective_of_values(application_values(found[1]) or {})
    else:
        return None
    return effective.filters, "regex-domain-filter" in effective.regex


def _is_external_dns_release(res: Resource) -> bool:
    spec = spec_of(res.data)
    chart = spec.get("chart")
    chart_spec = chart.get("spec") if isinstance(chart, dict) else None
    chart_name = str(chart_spec.get("chart", "")) if isinstance(chart_spec, dict) else ""
    values = values_of(res.data)
    return "external-dns" in chart_name or "domainFilters" in values or ("provider" in values and "sources" in values)


def _external_dns_args(data: dict[str, Any]) -> list[str] | None:
    containers = containers_of(data)
    if containers is None:
        return None
    index = pick_container(containers, None)
    if index is None:
        named = [
            i for i, c in enumerate(containers) if isinstance(c, dict) and "external-dns" in str(c.get("image", ""))
        ]
        index = named[0] if len(named) == 1 else None
    if index is None:
        return None
    container = containers[index]
    args = container.get(args_key(container))
    return [str(a) for a in args] if isinstance(args, list) else []


def read_external_dns(reader: Reader) -> list[Install]:
    out = []
    for res in reader.resources:
        found = _filters_of(res)
        if found is None:
            continue
        filters, regex = found
        if regex:
            reader.out.notes.append(
                f"{res.describe()} filters with `--regex-domain-filter`; not listed under `externalDNS` (krmfn "
                "keeps `domainFilters`, which that flag overrides)"
            )
            continue
        if not filters:
            reader.out.notes.append(
                f"{res.describe()} has no domain filter (it serves every zone); not listed, so it stays that way"
            )
            continue
        for f in filters:
            reader.zone(f, res.describe())
        out.append(_install(res, filters))
    for chart in chart_values(reader.items, reader, "external-dns"):
        res = Resource(chart.item, chart.header, None)
        effective = effective_of_values(chart.values)
        if "regex-domain-filter" in effective.regex or not effective.filters:
            why = "filters with `--regex-domain-filter`" if effective.regex else "has no domain filter"
            reader.out.notes.append(f"{res.describe()} {why} under `{chart.key}`; not listed under `externalDNS`")
            continue
        for f in effective.filters:
            reader.zone(f, res.describe())
        install = _install(res, effective.filters, chart.values)
        install.values_path = (chart.key, chart.origin)
        out.append(install)
    return out


def _install(res: Resource, filters: list[str], chart_values: dict[str, Any] | None = None) -> Install:
    """Which gateways' routes the installation publishes, and its provider (*chart_values*: a values file's)."""
    if res.header.kind == "Deployment":
        args = _external_dns_args(res.data) or []
        sources = flag_values(args, "--source")[0]
        names = flag_values(args, "--gateway-name")[0]
        provider = (flag_values(args, "--provider")[0] or [""])[0]
    else:
        values = chart_values if chart_values is not None else values_of(res.data)
        if res.header.kind == "Application":
            found = helm_source(spec_of(res.data))
            values = application_values(found[1]) or {} if not isinstance(found, str) else {}
        sources = [str(s) for s in values.get("sources") or []] if isinstance(values.get("sources"), list) else []
        extra = values.get("extraArgs")
        args = (
            [str(a) for a in extra]
            if isinstance(extra, list)
            else [f"--{k}={v}" for k, v in extra.items()]
            if isinstance(extra, dict)
            else []
        )
        names = flag_values(args, "--gateway-name")[0]
        raw = values.get("provider")
        provider = str(raw.get("name", "")) if isinstance(raw, dict) else str(raw or "")
    return Install(
        res,
        filters,
        regex=False,
        gateways=set(names) if names else None,
        reads_gateways=any(s.startswith("gateway-") for s in sources),
        provider=provider,
    )


def read_split_horizon(reader: Reader) -> Resource | None:
    found = []
    for res in reader.of_kind("HelmRelease", HELM_GROUP):
        values = values_of(res.data)
        if not isinstance(values.get("domain"), str):
            continue
        chart = (
            str(spec_of(res.data).get("chart") or "") + str(spec_of(res.data).get("chartRef") or "") + res.header.name
        )
        if "k8s-gateway" not in chart and "k8s_gateway" not in chart and "watchedResources" not in values:
            continue
        for z in zones_of(values):
            reader.zone(z, res.describe())
        found.append(res)
    if len(found) > 1:
        reader.out.ask("spec.splitHorizon", f"several k8s_gateway releases: {', '.join(x.describe() for x in found)}")
    return found[0] if found else None


@dataclass
class TunnelFound:
    res: Resource
    config_map: str | None
    key: str
    rules: list[dict[str, Any]]
    #: A values file's subchart key, and where it was read.
    values_path: tuple[str, str] | None = None
    #: zone key → the wildcard rule for it
    wildcards: dict[str, dict[str, Any]] = field(default_factory=dict)


def read_tunnel(reader: Reader) -> TunnelFound | None:
    places: list[tuple[Resource, list[tuple[str | None, str, dict[str, Any]]], tuple[str, str] | None]] = [
        (res, cloudflared_configs(res.header.kind, res.data), None)
        for res in [*reader.of_kind("HelmRelease", HELM_GROUP), *reader.of_kind("ConfigMap", "")]
    ]
    places.extend(
        (Resource(chart.item, chart.header, None), chart_configs(chart.values), (chart.key, chart.origin))
        for chart in chart_values(reader.items, reader, "app-template")
    )
    found = []
    for res, configs, values_path in places:
        for config_map, key, inner in configs:
            rules = [x for x in inner["ingress"] if isinstance(x, dict)]
            tunnel = TunnelFound(res, config_map, key, rules, values_path)
            for rule in rules:
                host = hostname(rule)
                if host.startswith("*.") and "path" not in rule:
                    zone = reader.zone(host[2:], f"{res.describe()} tunnel rule {host}")
                    if zone is not None:
                        tunnel.wildcards[zone_key(zone.name.text)] = rule
            found.append(tunnel)
    if len(found) > 1:
        reader.out.ask(
            "spec.tunnel",
            f"several cloudflared configs: {', '.join(t.res.describe() for t in found)}; this is the first",
        )
    return found[0] if found else None


def note_tunnel_records(reader: Reader) -> None:
    for res in reader.of_kind("DNSEndpoint"):
        for ep in spec_of(res.data).get("endpoints") or []:
            targets = [str(t) for t in ep.get("targets") or []] if isinstance(ep, dict) else []
            if any(t.endswith(".cfargotunnel.com") for t in targets):
                reader.out.notes.append(
                    f"the tunnel's own record: {res.describe()} publishes {ep.get('dnsName')} -> {', '.join(targets)}; "
                    "krmfn does not write it, so a new domain's target needs one like it"
                )


@dataclass
class GatewayFound:
    res: Resource
    listener: str
    mode: str
    #: zone keys of the domains whose Secret its listener lists, in ref order
    domains: list[str]
    target: str | None
    dns: dict[str, Any] | None = None
    dns_source: str = ""
    #: The namespace of the Certificates whose Secrets it names without a namespace (its own, then).
    secret_namespace: str | None = None
    #: The namespace routes' parentRefs give it, and the route that says so.
    route_namespace: tuple[str, str] | None = None
    #: zone key → (name suffix, Secret) for Secrets it serves that no Certificate in the input writes.
    implied: dict[str, tuple[str, str]] = field(default_factory=dict)
    #: (field under the entry, question)
    questions: list[tuple[str, str]] = field(default_factory=list)


def read_gateways(reader: Reader, certs: list[CertificateFound], installs: list[Install]) -> list[GatewayFound]:
    secrets: dict[str, str] = {}
    namespaces: dict[str, str | None] = {}
    for cert in certs:
        if cert.secret:
            secrets[normalise_flux(cert.secret)] = zone_key(cert.domain.text)
            namespaces[normalise_flux(cert.secret)] = cert.res.namespace
    out = []
    implied: dict[str, tuple[str, str]] = {}
    for res in reader.of_kind("Gateway", GATEWAY_GROUP):
        serving: dict[str, list[str]] = {}
        same_namespace: set[str | None] = set()
        for listener in spec_of(res.data).get("listeners") or []:
            if not isinstance(listener, dict) or listener.get("protocol") not in ("HTTPS", "TLS"):
                continue
            tls = _mapping(listener.get("tls"))
            for ref in tls.get("certificateRefs") or []:
                key = secret_key(ref, "")
                name = normalise_flux(key.partition("/")[2]) if key else None
                if name is not None and name not in secrets and not certs and _implied(reader, name, implied):
                    secrets[name], namespaces[name] = implied[name][1], None
                if name in secrets and key and key.startswith("/"):
                    same_namespace.add(namespaces[name])
                if name in secrets and secrets[name] not in serving.setdefault(str(listener.get("name")), []):
                    serving[str(listener.get("name"))].append(secrets[name])
        serving = {k: v for k, v in serving.items() if v}
        if not serving:
            reader.out.notes.append(f"{res.describe()}: no listener serves a domain's certificate; not listed")
            continue
        gateway = GatewayFound(res, next(iter(serving)), "shared", [], res.item.annotation(TARGET_ANNOTATION))
        gateway.implied = {zone: (implied[name][0], name) for name, zone in secrets.items() if name in implied}
        if len(same_namespace) == 1:
            gateway.secret_namespace = next(iter(same_namespace))
        if not res.namespace:
            gateway.route_namespace = _namespace_from_routes(reader, res.header.name)
        recorded = res.item.annotation(LISTENERS_ANNOTATION)
        if recorded:
            gateway.mode = "perDomain"
            gateway.domains = [d for names in serving.values() for d in names]
        else:
            gateway.domains = serving[gateway.listener]
            if len(serving) > 1:
                gateway.questions.append(
                    (
                        "listener",
                        f"listeners {', '.join(serving)} all serve domain certificates; krmfn keeps one listener in "
                        f"step (`mode: perDomain` writes one per domain); this is {gateway.listener}",
                    )
                )
        out.append(gateway)
    for gateway in out:
        _gateway_dns(reader, gateway, installs)
        if not (gateway.res.namespace or gateway.secret_namespace or gateway.route_namespace):
            # resources of one file without a namespace of their own land in the same one
            sibling = next((g for g in out if g.res.item.path == gateway.res.item.path and g.route_namespace), None)
            if sibling is not None and sibling.route_namespace is not None and gateway.res.item.path:
                gateway.route_namespace = (sibling.route_namespace[0], f"{sibling.res.describe()}, in the same file")
    return out


def _implied(reader: Reader, name: str, implied: dict[str, tuple[str, str]]) -> bool:
    """Whether Secret *name* is ``<domain base>[-<suffix>]-tls``, the one krmfn would generate a Certificate for.

    When it is, *implied* gets ``name → (suffix, zone key)``.
    """
    for key, zone in reader.zones.items():
        base = zone.name.base
        if name == f"{base}-tls":
            implied[name] = ("", key)
            return True
        if name.startswith(f"{base}-") and name.endswith("-tls"):
            implied[name] = (name[len(base) + 1 : -len("-tls")], key)
            return True
    return False


def _namespace_from_routes(reader: Reader, gateway: str) -> tuple[str, str] | None:
    """The namespace routes name for *gateway* in their parentRefs, when they agree: (namespace, where read)."""
    seen: dict[str, str] = {}
    for res in [*reader.of_kind("HTTPRoute", GATEWAY_GROUP), *reader.of_kind("GRPCRoute", GATEWAY_GROUP)]:
        for parent in spec_of(res.data).get("parentRefs") or []:
            if isinstance(parent, dict) and parent.get("name") == gateway and isinstance(parent.get("namespace"), str):
                seen.setdefault(parent["namespace"], f"the parentRefs of {res.describe()}")
    return next(iter(seen.items())) if len(seen) == 1 else None


def _gateway_dns(reader: Reader, gateway: GatewayFound, installs: list[Install]) -> None:
    """``dns`` for a Gateway whose routes an external-dns installation publishes with its target annotation."""
    target = (gateway.target or "").split(",")[0].strip()
    if not target:
        return
    readers = [
        i for i in installs if i.reads_gateways and (i.gateways is None or gateway.res.header.name in i.gateways)
    ]
    name = gateway.res.header.name
    if not installs and name not in _gateways_with_records(reader):
        reader.out.notes.append(
            f"{gateway.res.describe()} has the target {target!r}, but no external-dns installation is in the input to "
            f"say whether its routes are published; no `dns` for it (add `dns: {{target: ...}}` if they are)"
        )
        return
    if installs and not readers:
        reader.out.notes.append(
            f"{gateway.res.describe()} has the target {target!r} but no listed external-dns installation publishes "
            f"its routes; no `dns` for it"
        )
        return
    if _IPV4.match(target):
        gateway.dns = {"target": target, "type": "A"}
        gateway.dns_source = f"its {TARGET_ANNOTATION} annotation"
        return
    zone = _zone_suffix(target, [z.name for z in reader.zones.values()])
    providers = sorted({i.provider for i in readers if i.provider})
    per_domain = zone is not None and (not providers or "cloudflare" in providers)
    if zone is not None and per_domain:
        template = target[: -len(zone.text)] + "{domain}"
        gateway.dns = {"target": template, "type": "CNAME"}
        gateway.dns_source = f"its {TARGET_ANNOTATION} annotation {target!r}, one target per domain"
        why = (
            "Cloudflare refuses a CNAME to a zone of another account (error 1014)"
            if providers
            else "no external-dns installation in the input says which DNS provider publishes it"
        )
        gateway.questions.append(
            (
                "dns",
                f"each domain's routes on {name} get CNAME {template} ({why}); write {target!r} if that one "
                "name serves every domain",
            )
        )
        return
    gateway.dns = {"target": target, "type": "CNAME"}
    publisher = ", ".join(i.res.describe() for i in readers) or "no installation in the input"
    gateway.dns_source = f"its {TARGET_ANNOTATION} annotation, read by {publisher}"
    if zone is not None:
        gateway.questions.append(
            (
                "dns",
                f"every domain's routes on {name} get CNAME {target} ({', '.join(providers)} resolves a CNAME "
                f"into another zone); write `{target[: -len(zone.text)]}{{domain}}` if each domain publishes its own",
            )
        )


def _gateways_with_records(reader: Reader) -> set[str]:
    """Gateways whose routes krmfn already gave DNSEndpoints: an earlier config had `dns` for them."""
    names: set[str] = set()
    for res in [*reader.of_kind("HTTPRoute", GATEWAY_GROUP), *reader.of_kind("GRPCRoute", GATEWAY_GROUP)]:
        if res.item.annotation(RECORD_MARK) is None:
            continue
        names.update(str(p.get("name")) for p in spec_of(res.data).get("parentRefs") or [] if isinstance(p, dict))
    return names


def _zone_suffix(name: str, zones: list[DomainName]) -> DomainName | None:
    under = [z for z in zones if name.endswith("." + z.text)]
    return max(under, key=lambda z: len(z.text), default=None)
