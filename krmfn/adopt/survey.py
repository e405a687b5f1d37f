"""The MultiDomain config that describes what :mod:`~krmfn.adopt.reading` found, field by field.

Every zone is a domain. The other sections describe the resources that list those zones, so
that a render with the config changes as little as possible: an installation whose filters
hold only some zones gets ``domains``, a domain missing from the tunnel gets ``tunnel: false``,
and so on. Each field's source and each question go on the :class:`Survey` under the field's
path; what cannot be decided (two listeners serving a domain, two spellings of the
certificate settings) is a question next to the value that was chosen, never a silent guess.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from krmfn.adopt.reading import (
    CertificateFound,
    GatewayFound,
    Install,
    NamespaceOf,
    Reader,
    Resource,
    Survey,
    TunnelFound,
    Zone,
    note_tunnel_records,
    own_namespace,
    read_certificates,
    read_external_dns,
    read_gateways,
    read_issuers,
    read_split_horizon,
    read_tunnel,
    solvers_of,
    spec_of,
    values_of,
)
from krmfn.concerns.certificates import normalise_flux
from krmfn.concerns.gateways import LISTENERS_ANNOTATION
from krmfn.concerns.issuers import SERVERS, zone_key
from krmfn.concerns.routes import GATEWAY_GROUP
from krmfn.concerns.splithorizon import zones_of
from krmfn.concerns.tunnelrules import hostname, is_catch_all
from krmfn.krm.item import Item
from krmfn.ownership import OWNER_ANNOTATION

__all__ = ["Survey", "survey"]

CERT_GROUP = "cert-manager.io"
CERT_SETTINGS = ("duration", "renewBefore", "privateKey", "usages", "secretTemplate", "revisionHistoryLimit")


def survey(items: Sequence[Item], name: str | None = None, namespace_of: NamespaceOf = own_namespace) -> Survey:
    """Read *items* into a MultiDomain config; see :class:`Survey`."""
    reader = Reader(items, namespace_of)
    out = reader.out
    issuers = read_issuers(reader)
    installs = read_external_dns(reader)
    split = read_split_horizon(reader)
    tunnel = read_tunnel(reader)
    certificates = read_certificates(reader)  # last: a single-name Certificate is a domain's only if named elsewhere
    gateways = read_gateways(reader, certificates, installs)
    domains = _order(reader, certificates, gateways)
    spec: dict[str, Any] = {"domains": []}
    out.config = {
        "apiVersion": "krmfn.dev/v1alpha1",
        "kind": "MultiDomain",
        "metadata": {
            "name": name or _owner_name(reader),
            "annotations": {"config.kubernetes.io/local-config": "true"},
        },
        "spec": spec,
    }
    by_domain = {zone_key(c.domain.text): c for c in certificates}
    _write_certificates(out, spec, domains, by_domain, gateways)
    _write_issuers(out, spec, reader, issuers, certificates)
    _write_gateways(out, spec, gateways)
    _write_external_dns(out, spec, installs, domains)
    _write_tunnel(out, spec, tunnel, domains)
    _write_split_horizon(out, spec, split)
    _write_reference_grant_version(out, spec, reader)
    _write_domains(out, spec, domains, certs=by_domain, gateways=gateways, tunnel=tunnel, split=split)
    note_tunnel_records(reader)
    return out


def _owner_name(reader: Reader) -> str:
    owners = sorted({v.rpartition("/")[2] for x in reader.resources if (v := x.item.annotation(OWNER_ANNOTATION))})
    if len(owners) > 1:
        reader.out.ask("metadata.name", f"resources are owned by several MultiDomains ({', '.join(owners)})")
    if owners:
        reader.out.sources["metadata.name"] = f"the owner mark {OWNER_ANNOTATION} of resources already generated"
        return owners[0]
    return "edge"


def _write_certificates(
    out: Survey,
    spec: dict[str, Any],
    domains: list[Zone],
    by_domain: dict[str, CertificateFound],
    gateways: list[GatewayFound],
) -> None:
    certs = [by_domain[zone_key(d.name.text)] for d in domains if zone_key(d.name.text) in by_domain]
    if not certs:
        _implied_certificates(out, spec, gateways)
        return
    first = certs[0]
    section: dict[str, Any] = {}
    path = "spec.certificates"
    namespaces = sorted({c.res.namespace or "" for c in certs})
    if first.res.namespace:
        section["namespace"] = first.res.namespace
        out.sources[f"{path}.namespace"] = first.res.describe()
    else:
        out.ask(
            f"{path}.namespace",
            f"{first.res.describe()} has no namespace and nothing in the input sets one; write the namespace Flux "
            "or kustomize gives it (default: the first gateway's)",
        )
    if len(namespaces) > 1:
        out.ask(
            f"{path}.namespace",
            f"the Certificates are in several namespaces ({', '.join(n or '(none)' for n in namespaces)})",
        )
    if first.issuer.get("name"):
        ref = {"name": first.issuer["name"], "kind": first.issuer.get("kind", "Issuer")}
        if first.issuer.get("group", CERT_GROUP) != CERT_GROUP:
            ref["group"] = first.issuer["group"]
        section["issuerRef"] = ref
        out.sources[f"{path}.issuerRef"] = first.res.describe()
    suffixes: dict[str, CertificateFound] = {}
    for cert in certs:
        suffix = name_suffix(cert)
        if suffix is None:
            out.ask(
                f"{path}.nameSuffix",
                f"{cert.res.describe()} is not named `<domain with dashes>[-<suffix>]`; it keeps its name when adopted",
            )
            continue
        suffixes.setdefault(suffix, cert)
    if suffixes:
        chosen = name_suffix(first) if name_suffix(first) is not None else next(iter(suffixes))
        if chosen:
            section["nameSuffix"] = chosen
            out.sources[f"{path}.nameSuffix"] = f"the name of {suffixes[chosen].res.describe()}"
        if len(suffixes) > 1:
            spelled = ", ".join(f"{s or '(none)'} ({c.res.describe()})" for s, c in suffixes.items())
            out.ask(f"{path}.nameSuffix", f"the Certificates' names disagree on the suffix: {spelled}")
    for key in CERT_SETTINGS:
        if key in first.settings:
            section[key] = first.settings[key]
            out.sources[f"{path}.{key}"] = first.res.describe()
        differ = [c.res.describe() for c in certs if c.settings.get(key) != first.settings.get(key)]
        if differ:
            out.ask(
                f"{path}.{key}", f"{', '.join(differ)} set(s) `{key}` differently; this is {first.res.describe()}'s"
            )
    spec["certificates"] = section


def _implied_certificates(out: Survey, spec: dict[str, Any], gateways: list[GatewayFound]) -> None:
    """No Certificate in the input, but listeners serve Secrets named as krmfn names them: describe those."""
    implied = [(gw, suffix, secret) for gw in gateways for suffix, secret in gw.implied.values()]
    if not implied:
        out.notes.append("no Certificate for a zone was found: `certificates` is left out, so none is generated")
        return
    gateway, suffix, secret = implied[0]
    section: dict[str, Any] = {}
    path = "spec.certificates"
    namespace = _gateway_namespace(gateway)
    if namespace is not None:
        section["namespace"] = namespace[0]
        out.sources[f"{path}.namespace"] = f"{gateway.res.describe()}, whose listener names Secret {secret}"
    if suffix:
        section["nameSuffix"] = suffix
        out.sources[f"{path}.nameSuffix"] = f"Secret {secret} on the listener of {gateway.res.describe()}"
    out.ask(
        path,
        f"no Certificate in the repository writes Secret {secret}, which {gateway.res.describe()} serves; a render "
        "generates one (remove `certificates` if something else creates that Secret)",
    )
    spec["certificates"] = section


def _gateway_namespace(gw: GatewayFound) -> tuple[str, str] | None:
    """The Gateway's namespace and where it was read."""
    if gw.res.namespace:
        return gw.res.namespace, gw.res.describe()
    if gw.secret_namespace:
        return gw.secret_namespace, "the Certificates' namespace: its listener names their Secrets without a namespace"
    if gw.route_namespace:
        return gw.route_namespace
    return None


def name_suffix(cert: CertificateFound) -> str | None:
    """The ``nameSuffix`` a Certificate's name implies: ``""`` for none, None when its name is not derived."""
    name = normalise_flux(cert.res.header.name)
    base = cert.domain.base
    if name == base:
        return ""
    if name.startswith(base + "-"):
        return name[len(base) + 1 :]
    return None


def _write_issuers(
    out: Survey, spec: dict[str, Any], reader: Reader, issuers: list[Resource], certs: list[CertificateFound]
) -> None:
    entries = []
    for i, res in enumerate(issuers):
        entry: dict[str, Any] = {"name": res.header.name}
        out.sources[f"spec.issuers[{i}].name"] = res.describe()
        if res.item.annotation(OWNER_ANNOTATION):
            acme = _generated_acme(res)
            if acme is not None:
                entry["acme"] = acme
                out.sources[f"spec.issuers[{i}].acme"] = f"{res.describe()}, generated by krmfn"
        entries.append(entry)
    listed = {e["name"] for e in entries}
    for cert in certs:
        name = cert.issuer.get("name")
        if name and name not in listed:
            listed.add(name)
            present = [
                x
                for x in reader.resources
                if x.header.kind == cert.issuer.get("kind", "Issuer") and x.header.name == name
            ]
            why = (
                "its DNS-01 solvers select no zones (they answer for every zone already)"
                if present
                else "it is not in the input (a chart may create it)"
            )
            out.notes.append(f"issuer {name} of {cert.res.describe()} is not listed under `issuers`: {why}")
    if entries:
        spec["issuers"] = entries


def _generated_acme(res: Resource) -> dict[str, Any] | None:
    acme = spec_of(res.data).get("acme")
    solvers = solvers_of(res.data)
    if not isinstance(acme, dict) or len(solvers) != 1 or not isinstance(solvers[0].get("dns01"), dict):
        return None
    server = next((k for k, v in SERVERS.items() if v == acme.get("server")), acme.get("server"))
    out: dict[str, Any] = {"server": server, "email": acme.get("email")}
    if acme.get("profile"):
        out["profile"] = acme["profile"]
    out["solver"] = solvers[0]["dns01"]
    return out


def _write_external_dns(out: Survey, spec: dict[str, Any], installs: list[Install], domains: list[Zone]) -> None:
    entries = []
    everything = [zone_key(d.name.text) for d in domains]
    for i, inst in enumerate(installs):
        path = f"spec.externalDNS[{i}]"
        entry: dict[str, Any] = {"kind": inst.res.header.kind, "name": inst.res.header.name}
        if inst.res.namespace:
            entry["namespace"] = inst.res.namespace
        out.sources[f"{path}.kind"] = inst.res.describe()
        _values_file(out, entry, path, inst.res, inst.values_path)
        keys = {zone_key(f) for f in inst.filters}
        if [k for k in everything if k in keys] != everything:
            entry["domains"] = [d.name.text for d in domains if zone_key(d.name.text) in keys]
            out.sources[f"{path}.domains"] = "its domainFilters"
        entries.append(entry)
    if entries:
        spec["externalDNS"] = entries


def _values_file(
    out: Survey, entry: dict[str, Any], path: str, res: Resource, values_path: tuple[str, str] | None
) -> None:
    """``file`` and ``valuesPath`` of a ``HelmValues`` entry: the values file, and the subchart key Helm
    passes the upstream chart its values under. No namespace: the ApplicationSet decides it."""
    if values_path is None:
        return
    entry["file"] = res.item.path
    entry["valuesPath"] = values_path[0]
    out.sources[f"{path}.valuesPath"] = values_path[1]


def _write_split_horizon(out: Survey, spec: dict[str, Any], res: Resource | None) -> None:
    if res is None:
        return
    entry = {"kind": "HelmRelease", "name": res.header.name}
    if res.namespace:
        entry["namespace"] = res.namespace
    spec["splitHorizon"] = entry
    out.sources["spec.splitHorizon"] = res.describe()


def _write_tunnel(out: Survey, spec: dict[str, Any], tunnel: TunnelFound | None, domains: list[Zone]) -> None:
    if tunnel is None:
        return
    res = tunnel.res
    entry: dict[str, Any] = {"kind": res.header.kind, "name": res.header.name}
    if res.namespace:
        entry["namespace"] = res.namespace
    out.sources["spec.tunnel.kind"] = res.describe()
    _values_file(out, entry, "spec.tunnel", res, tunnel.values_path)
    rules = [tunnel.wildcards[k] for d in domains if (k := zone_key(d.name.text)) in tunnel.wildcards]
    services = list(dict.fromkeys(str(rule.get("service")) for rule in rules))
    if not services:
        out.ask("spec.tunnel.service", "no wildcard rule of a domain says where traffic goes; write the gateway's URL")
        services = [next((str(x.get("service")) for x in tunnel.rules if not is_catch_all(x)), "")]
    entry["service"] = services[0]
    out.sources["spec.tunnel.service"] = f"the rule {hostname(rules[0]) if rules else '(first)'}"
    if len(services) > 1:
        out.ask("spec.tunnel.service", f"the domains' rules send traffic to different services: {', '.join(services)}")
    origins = [
        {k: v for k, v in rule["originRequest"].items() if k != "originServerName"}
        if isinstance(rule.get("originRequest"), dict)
        else {}
        for rule in rules
    ]
    # What every domain's rule sets alike is the config's; a rule with more keeps it, as the user's rule.
    common = {k: v for k, v in origins[0].items() if all(o.get(k) == v for o in origins)} if origins else {}
    asked = "spec.tunnel.originRequest" if common else "spec.tunnel.service"  # a question needs a line to sit on
    for rule in rules:
        if not isinstance(rule.get("originRequest"), dict) or "originServerName" not in rule["originRequest"]:
            out.ask(
                asked,
                f"the rule {hostname(rule)} sets no `originServerName`; krmfn's rules set it to the domain's gateway "
                "target, which the gateway's certificate must cover",
            )
    if common:
        entry["originRequest"] = common
        out.sources["spec.tunnel.originRequest"] = (
            f"the rule {hostname(rules[0])}" if len(rules) == 1 else "what the domains' rules set alike"
        )
    if any(o != origins[0] for o in origins):
        out.ask(
            asked,
            "the domains' rules have different `originRequest` settings; this is what they share, and a rule "
            "with more is the user's rule and stays as written",
        )
    if tunnel.config_map not in (None, "config"):
        entry["configMap"] = tunnel.config_map
    if tunnel.key != "config.yaml":
        entry["key"] = tunnel.key
    spec["tunnel"] = entry


def _write_gateways(out: Survey, spec: dict[str, Any], gateways: list[GatewayFound]) -> None:
    entries = []
    for i, gw in enumerate(gateways):
        path = f"spec.gateways[{i}]"
        entry: dict[str, Any] = {"name": gw.res.header.name}
        out.sources[f"{path}.name"] = gw.res.describe()
        namespace = _gateway_namespace(gw)
        if namespace is not None:
            entry["namespace"] = namespace[0]
            if not gw.res.namespace:
                out.sources[f"{path}.namespace"] = namespace[1]
        else:
            out.ask(f"{path}.namespace", f"{gw.res.describe()} has no namespace and nothing in the input sets one")
        entry["listener"] = gw.listener
        out.sources[f"{path}.listener"] = "the listener whose certificateRefs list the domains' Secrets"
        if gw.mode != "shared":
            entry["mode"] = gw.mode
            out.sources[f"{path}.mode"] = f"its {LISTENERS_ANNOTATION} annotation"
        if gw.dns is not None:
            entry["dns"] = gw.dns
            out.sources[f"{path}.dns"] = gw.dns_source
        for where, question in gw.questions:
            out.ask(f"{path}.{where}", question)
        entries.append(entry)
    if entries:
        spec["gateways"] = entries


def _write_reference_grant_version(out: Survey, spec: dict[str, Any], reader: Reader) -> None:
    v1 = [x for x in reader.of_kind("ReferenceGrant", GATEWAY_GROUP) if x.header.api_version.endswith("/v1")]
    if v1:
        spec["referenceGrantVersion"] = "v1"
        out.sources["spec.referenceGrantVersion"] = f"{v1[0].describe()} (the cluster serves ReferenceGrant v1)"


def _order(reader: Reader, certs: list[CertificateFound], gateways: list[GatewayFound]) -> list[Zone]:
    """Every zone, the primary first: the first Secret a listener serves, else the first Certificate's."""
    zones = list(reader.zones.values())
    first = next((gw.domains[0] for gw in gateways if gw.domains), None)
    if first is None and certs:
        first = zone_key(certs[0].domain.text)
    if first is not None:
        zones.sort(key=lambda z: zone_key(z.name.text) != first)
    return zones


def _write_domains(
    out: Survey,
    spec: dict[str, Any],
    domains: list[Zone],
    *,
    certs: dict[str, CertificateFound],
    gateways: list[GatewayFound],
    tunnel: TunnelFound | None,
    split: Resource | None,
) -> None:
    default_issuer = spec.get("certificates", {}).get("issuerRef", {}).get("name")
    split_zones = {zone_key(z) for z in zones_of(values_of(split.data))} if split is not None else set()
    entries = []
    for i, zone in enumerate(domains):
        path = f"spec.domains[{i}]"
        key = zone_key(zone.name.text)
        entry: dict[str, Any] = {"name": zone.name.text}
        shown = zone.sources[:3] + ([f"{len(zone.sources) - 3} more"] if len(zone.sources) > 3 else [])
        out.sources[f"{path}.name"] = ", ".join(shown)
        cert = certs.get(key)
        if cert is not None:
            if not cert.wildcard:
                entry["wildcard"] = False
                out.sources[f"{path}.wildcard"] = cert.res.describe()
            if cert.extra:
                entry["extraDNSNames"] = cert.extra
                out.sources[f"{path}.extraDNSNames"] = cert.res.describe()
            if cert.issuer.get("name") and cert.issuer["name"] != default_issuer:
                entry["issuer"] = cert.issuer["name"]
                out.sources[f"{path}.issuer"] = cert.res.describe()
        elif "certificates" in spec:
            out.ask(f"{path}.name", f"{zone.name.text} has no Certificate yet; a render generates one")
        served_by = [gw.res.header.name for gw in gateways if key in gw.domains]
        if gateways and len(served_by) != len(gateways):
            entry["gateways"] = served_by
            out.sources[f"{path}.gateways"] = "the listeners that serve its Secret"
        if tunnel is not None and key not in tunnel.wildcards:
            entry["tunnel"] = False
            out.sources[f"{path}.tunnel"] = f"no wildcard rule for it in {tunnel.res.describe()}"
        if split is not None and key not in split_zones:
            entry["splitHorizon"] = False
            out.sources[f"{path}.splitHorizon"] = f"not in the `domain` of {split.describe()}"
        entries.append(entry)
    spec["domains"] = entries
