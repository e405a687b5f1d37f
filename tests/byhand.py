"""What a person changed by hand, as facts about what Flux applies: the ``person.yaml`` vocabulary.

Each ``examples/byhand-*/person.yaml`` lists a real "add a domain" change, one entry per thing
the person did (and fixed later, and never did). An entry's ``expect`` is one fact or a list of
facts about the documents Flux would apply (``tests/fluxtree.py``), after variable
substitution. This module reads those files, refuses a key it does not know, and says for one
fact which of its claims fail, so the same file checks the person's own result today and
krmfn's render once krmfn handles the layout. The vocabulary is documented at the top of every
``person.yaml``; this is its one implementation.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any

import yaml

Doc = dict[str, Any]

ENTRY_KEYS = {"id", "commit", "date", "what", "file", "kind", "name", "inScope", "reason", "laterFix", "missed", "keep"}
ENTRY_KEYS |= {"expect", "note"}
FACT_KEYS = {
    "kind",
    "name",
    "namespace",
    "dnsNames",
    "secretName",
    "issuerRef",
    "has",
    "unchanged",
    "solverZonesInclude",
    "valuesDomainFiltersInclude",
    "valuesDomainInclude",
    "listener",
    "listenerAdmitting",
    "hostname",
    "protocol",
    "port",
    "certificateRefs",
    "certificateRefsInclude",
    "attachedTo",
    "record",
    "recordCount",
    "tunnelRulesInOrder",
    "catchAllLast",
}
RULE_KEYS = {"hostname", "service", "originServerName", "originRequest", "exact"}
INVARIANTS = {
    "noDuplicateRecords",
    "noConflictingRecords",
    "uniqueCertificates",
    "listenerRefsUnique",
    "parentRefsResolve",
}
ANNOTATION_PREFIX = "external-dns.alpha.kubernetes.io/"
#: Annotations a render may add to a resource it leaves otherwise alone (ownership, kpt).
IGNORED_ANNOTATION_PREFIXES = (
    "krmfn.dev/",
    "config.kubernetes.io/",
    "internal.config.kubernetes.io/",
    "config.k8s.io/",
)


class VocabularyError(Exception):
    """A ``person.yaml`` uses a key or shape this module does not define."""


def load_person(path: Path) -> Doc:
    """The parsed ``person.yaml``, every entry and fact checked against the vocabulary."""
    data: Doc = yaml.safe_load(path.read_text())
    for entry in data["changes"]:
        where = f"{path.name}: {entry.get('id')!r}"
        unknown = set(entry) - ENTRY_KEYS
        if unknown:
            raise VocabularyError(f"{where}: unknown keys {sorted(unknown)}")
        if not entry.get("inScope") and not entry.get("reason"):
            raise VocabularyError(f"{where}: an entry out of scope needs a `reason`")
        if entry.get("inScope") and "expect" not in entry:
            raise VocabularyError(f"{where}: an entry in scope needs an `expect`")
        for fact in facts_of(entry):
            bad = set(fact) - FACT_KEYS
            if bad or "kind" not in fact:
                raise VocabularyError(f"{where}: a fact needs `kind` and knows no {sorted(bad)}")
            for rule in fact.get("tunnelRulesInOrder", []):
                if set(rule) - RULE_KEYS or "hostname" not in rule:
                    raise VocabularyError(f"{where}: a tunnel rule needs `hostname` and knows only {sorted(RULE_KEYS)}")
    unknown = set(data.get("invariants", [])) - INVARIANTS
    if unknown:
        raise VocabularyError(f"{path.name}: unknown invariants {sorted(unknown)}")
    return data


def facts_of(entry: Mapping[str, Any]) -> list[Doc]:
    expect = entry.get("expect")
    if expect is None:
        return []
    return list(expect) if isinstance(expect, list) else [expect]


# --- one fact ---------------------------------------------------------------------------------


def check_fact(fact: Mapping[str, Any], after: Sequence[Doc], before: Sequence[Doc] = ()) -> list[str]:
    """Why *fact* does not hold in *after* (empty: it holds).

    Without ``name`` the fact holds when one resource of the kind satisfies every claim."""
    candidates = [d for d in after if _selected(d, fact)]
    label = f"{fact['kind']} {fact.get('namespace', '') + '/' if fact.get('namespace') else ''}{fact.get('name', '*')}"
    if not candidates:
        return [f"{label}: not in the render"]
    failures: list[list[str]] = []
    for doc in candidates:
        problems = list(_claims(doc, fact, [d for d in before if _same(d, doc)], after))
        if not problems:
            return []
        failures.append(problems)
    return [f"{label}: {p}" for p in min(failures, key=len)]


def _selected(doc: Doc, fact: Mapping[str, Any]) -> bool:
    meta = doc.get("metadata") or {}
    return (
        doc.get("kind") == fact["kind"]
        and ("name" not in fact or meta.get("name") == fact["name"])
        and ("namespace" not in fact or meta.get("namespace") == fact["namespace"])
    )


def _same(a: Doc, b: Doc) -> bool:
    ma, mb = a.get("metadata") or {}, b.get("metadata") or {}
    return (a.get("kind"), ma.get("name"), ma.get("namespace")) == (b.get("kind"), mb.get("name"), mb.get("namespace"))


def _claims(doc: Doc, fact: Mapping[str, Any], before: list[Doc], after: Sequence[Doc]) -> Iterator[str]:
    spec = doc.get("spec") or {}
    values = spec.get("values") or {}
    if "dnsNames" in fact and set(spec.get("dnsNames") or []) != set(fact["dnsNames"]):
        yield f"dnsNames {spec.get('dnsNames')} != {fact['dnsNames']}"
    if "secretName" in fact and spec.get("secretName") != fact["secretName"]:
        yield f"secretName {spec.get('secretName')!r} != {fact['secretName']!r}"
    if "issuerRef" in fact and not _contains(spec.get("issuerRef"), fact["issuerRef"]):
        yield f"issuerRef {spec.get('issuerRef')} lacks {fact['issuerRef']}"
    for path, want in (fact.get("has") or {}).items():
        got = _dig(doc, path)
        if got != want:
            yield f"{path} is {got!r}, not {want!r}"
    if fact.get("unchanged"):
        if not before:
            yield "not in the render before the change, so it cannot be unchanged"
        elif _normal(doc) != _normal(before[0]):
            yield "changed"
    if "solverZonesInclude" in fact:
        solvers = (spec.get("acme") or {}).get("solvers") or []
        zones = [set(((s.get("selector") or {}).get("dnsZones")) or []) for s in solvers if "dns01" in s]
        if not any(set(fact["solverZonesInclude"]) <= z for z in zones):
            yield f"no dns01 solver lists every zone of {fact['solverZonesInclude']} (solvers list {zones})"
    if "valuesDomainFiltersInclude" in fact and not set(fact["valuesDomainFiltersInclude"]) <= set(
        values.get("domainFilters") or []
    ):
        yield f"values.domainFilters {values.get('domainFilters')} lacks some of {fact['valuesDomainFiltersInclude']}"
    if "valuesDomainInclude" in fact and not set(fact["valuesDomainInclude"]) <= set(
        str(values.get("domain", "")).split()
    ):
        yield f"values.domain {values.get('domain')!r} lacks some of {fact['valuesDomainInclude']}"
    if "listener" in fact or "listenerAdmitting" in fact:
        yield from _listener_claims(doc, fact)
    if "attachedTo" in fact:
        yield from _attachment_claims(doc, fact["attachedTo"], [d for d in after if d.get("kind") == "Gateway"])
    if "record" in fact:
        want = fact["record"]
        endpoints = spec.get("endpoints") or []
        if not any(
            e.get("dnsName") == want["dnsName"]
            and e.get("recordType") == want["recordType"]
            and set(e.get("targets") or []) == set(want["targets"])
            for e in endpoints
        ):
            yield f"no endpoint {want['dnsName']} {want['recordType']} {want['targets']}"
    if "tunnelRulesInOrder" in fact or "catchAllLast" in fact:
        yield from _tunnel_claims(doc, fact)


def _contains(got: Any, want: Mapping[str, Any]) -> bool:
    return isinstance(got, dict) and all(got.get(k) == v for k, v in want.items())


def _dig(doc: Any, path: str) -> Any:
    for part in path.split("."):
        if isinstance(doc, list) and part.isdigit() and int(part) < len(doc):
            doc = doc[int(part)]
        elif isinstance(doc, dict):
            doc = doc.get(part)
        else:
            return None
    return doc


def _normal(doc: Doc) -> Doc:
    """*doc* without the annotations a render may add to a resource it does not change."""
    meta = dict(doc.get("metadata") or {})
    kept = {k: v for k, v in (meta.get("annotations") or {}).items() if not k.startswith(IGNORED_ANNOTATION_PREFIXES)}
    meta.pop("annotations", None)
    if kept:
        meta["annotations"] = kept
    return {**doc, "metadata": meta}


# --- Gateways and routes ----------------------------------------------------------------------


def admits(listener_hostname: str | None, host: str) -> bool:
    """Gateway API listener hostname matching: unset admits all; ``*.d`` admits names below d."""
    if not listener_hostname:
        return True
    if listener_hostname.startswith("*."):
        return host.endswith(listener_hostname[1:]) and len(host) > len(listener_hostname) - 1
    return listener_hostname == host


def _ref_names(listener: Mapping[str, Any]) -> list[str]:
    return [str(r.get("name")) for r in (listener.get("tls") or {}).get("certificateRefs") or []]


def _listener_claims(doc: Doc, fact: Mapping[str, Any]) -> Iterator[str]:
    listeners = (doc.get("spec") or {}).get("listeners") or []
    if "listener" in fact:
        chosen = [lst for lst in listeners if lst.get("name") == fact["listener"]]
        what = f"listener {fact['listener']!r}"
    else:
        want = fact["listenerAdmitting"]
        chosen = [
            lst
            for lst in listeners
            if lst.get("protocol") == want["protocol"]
            and lst.get("port") == want["port"]
            and admits(lst.get("hostname"), want["host"])
        ]
        what = f"{want['protocol']}:{want['port']} listener admitting {want['host']}"
    if not chosen:
        yield f"has no {what} (listeners: {[(lst.get('name'), lst.get('hostname')) for lst in listeners]})"
        return
    failures = []
    for lst in chosen:
        problems = [
            f"{key} {lst.get(key)!r} != {fact[key]!r}"
            for key in ("hostname", "protocol", "port")
            if key in fact and lst.get(key) != fact[key]
        ]
        if "certificateRefs" in fact and _ref_names(lst) != fact["certificateRefs"]:
            problems.append(f"certificateRefs {_ref_names(lst)} != {fact['certificateRefs']}")
        if "certificateRefsInclude" in fact and not set(fact["certificateRefsInclude"]) <= set(_ref_names(lst)):
            problems.append(f"certificateRefs {_ref_names(lst)} lack some of {fact['certificateRefsInclude']}")
        if not problems:
            return
        failures.append(f"listener {lst.get('name')!r}: " + "; ".join(problems))
    yield from failures


def _attachment_claims(doc: Doc, want: Mapping[str, Any], gateways: Sequence[Doc]) -> Iterator[str]:
    gateway = next(
        (
            g
            for g in gateways
            if (g.get("metadata") or {}).get("name") == want["gateway"]
            and (g.get("metadata") or {}).get("namespace") == want["namespace"]
        ),
        None,
    )
    if gateway is None:
        yield f"Gateway {want['namespace']}/{want['gateway']} is not in the render"
        return
    listeners = {lst.get("name"): lst for lst in (gateway.get("spec") or {}).get("listeners") or []}
    for ref in (doc.get("spec") or {}).get("parentRefs") or []:
        if ref.get("name") != want["gateway"] or ref.get("namespace", want["namespace"]) != want["namespace"]:
            continue
        section = ref.get("sectionName")
        targets = list(listeners.values()) if section is None else [listeners[section]] if section in listeners else []
        if any(
            t.get("protocol") == want["protocol"]
            and t.get("port") == want["port"]
            and admits(t.get("hostname"), want["admits"])
            for t in targets
        ):
            return
    yield f"no parentRef reaches a {want['protocol']}:{want['port']} listener of {want['gateway']} admitting {want['admits']}"


# --- cloudflared ------------------------------------------------------------------------------


def tunnel_config(doc: Doc) -> Doc | None:
    """cloudflared's config.yaml in a ConfigMap, or in an app-template HelmRelease's values."""
    if doc.get("kind") == "ConfigMap":
        text = (doc.get("data") or {}).get("config.yaml")
    else:
        config_maps = ((doc.get("spec") or {}).get("values") or {}).get("configMaps") or {}
        text = ((config_maps.get("config") or {}).get("data") or {}).get("config.yaml")
    return yaml.safe_load(text) if isinstance(text, str) else None


def _tunnel_claims(doc: Doc, fact: Mapping[str, Any]) -> Iterator[str]:
    config = tunnel_config(doc)
    if config is None:
        yield "holds no cloudflared config.yaml"
        return
    rules = config.get("ingress") or []
    default_sni = (config.get("originRequest") or {}).get("originServerName")
    positions = []
    for want in fact.get("tunnelRulesInOrder", []):
        found = [n for n, rule in enumerate(rules) if rule.get("hostname") == want["hostname"]]
        if len(found) != 1:
            yield f"{len(found)} rules for {want['hostname']!r}, not one"
            continue
        rule = rules[found[0]]
        own = rule.get("originRequest") or {}
        if "service" in want and rule.get("service") != want["service"]:
            yield f"rule {want['hostname']!r}: service {rule.get('service')!r} != {want['service']!r}"
        if "originServerName" in want and own.get("originServerName", default_sni) != want["originServerName"]:
            yield f"rule {want['hostname']!r}: originServerName {own.get('originServerName', default_sni)!r} != {want['originServerName']!r}"
        if "originRequest" in want and not _contains(own, want["originRequest"]):
            yield f"rule {want['hostname']!r}: originRequest {own} lacks {want['originRequest']}"
        if want.get("exact"):
            expected = {k: v for k, v in want.items() if k in {"hostname", "service", "originRequest"}}
            if rule != expected:
                yield f"rule {want['hostname']!r} is {rule}, not exactly {expected}"
        positions.append((found[0], want["hostname"]))
    if [p for p, _ in positions] != sorted(p for p, _ in positions):
        yield f"rules out of order: {[h for _, h in sorted(positions)]} instead of {[h for _, h in positions]}"
    if "catchAllLast" in fact:
        bare = [n for n, rule in enumerate(rules) if "hostname" not in rule]
        if bare != [len(rules) - 1] or rules[-1].get("service") != fact["catchAllLast"]:
            yield f"the catch-all is not exactly one last rule with service {fact['catchAllLast']!r} (rules without hostname at {bare})"


# --- whole render -----------------------------------------------------------------------------


def check_entry(entry: Mapping[str, Any], after: Sequence[Doc], before: Sequence[Doc] = ()) -> list[str]:
    """Every failing claim of every fact of *entry*."""
    out: list[str] = []
    for fact in facts_of(entry):
        if "recordCount" in fact:
            want = fact["recordCount"]
            count = sum(
                1
                for d in after
                if d.get("kind") == "DNSEndpoint"
                for e in (d.get("spec") or {}).get("endpoints") or []
                if e.get("dnsName") == want["dnsName"]
            )
            if count != want["count"]:
                out.append(f"{count} DNSEndpoint records for {want['dnsName']}, not {want['count']}")
            continue
        out += check_fact(fact, after, before)
    return out


def check_invariants(names: Sequence[str], docs: Sequence[Doc]) -> list[str]:
    """What the named invariants find wrong in *docs* (empty: all hold)."""
    found: list[str] = []
    if "noDuplicateRecords" in names:
        seen: dict[tuple[str, str], str] = {}
        for d in docs:
            if d.get("kind") != "DNSEndpoint":
                continue
            for e in (d.get("spec") or {}).get("endpoints") or []:
                key = (str(e.get("dnsName")), str(e.get("recordType")))
                owner = f"{(d.get('metadata') or {}).get('namespace')}/{(d.get('metadata') or {}).get('name')}"
                if key in seen:
                    found.append(f"{key[0]} {key[1]} published by DNSEndpoints {seen[key]} and {owner}")
                seen.setdefault(key, owner)
    if "uniqueCertificates" in names:
        by_names: dict[frozenset[str], str] = {}
        for d in docs:
            if d.get("kind") == "Certificate":
                names_ = frozenset((d.get("spec") or {}).get("dnsNames") or [])
                me = str((d.get("metadata") or {}).get("name"))
                if names_ in by_names:
                    found.append(f"Certificates {by_names[names_]} and {me} request the same names {sorted(names_)}")
                by_names.setdefault(names_, me)
    if "listenerRefsUnique" in names:
        for d in docs:
            for lst in (d.get("spec") or {}).get("listeners") or [] if d.get("kind") == "Gateway" else []:
                refs = _ref_names(lst)
                if len(refs) != len(set(refs)):
                    found.append(f"Gateway {(d.get('metadata') or {}).get('name')} listener {lst.get('name')}: {refs}")
    if "parentRefsResolve" in names:
        found += list(_unresolved_parent_refs(docs))
    if "noConflictingRecords" in names:
        found += list(_conflicting_records(docs))
    return found


def routes(doc: Doc) -> Iterator[tuple[str, Doc]]:
    """(label, route) for a plain HTTPRoute, and for each app-template route in a HelmRelease as
    the chart renders it: metadata.annotations, hostnames with ``{{ .Release.Name }}`` resolved."""
    meta = doc.get("metadata") or {}
    if doc.get("kind") == "HTTPRoute":
        yield f"HTTPRoute {meta.get('name')}", {**(doc.get("spec") or {}), "annotations": meta.get("annotations") or {}}
    elif doc.get("kind") == "HelmRelease":
        values = (doc.get("spec") or {}).get("values") or {}
        route_values = values.get("route")
        for key, value in route_values.items() if isinstance(route_values, dict) else []:
            route = value or {}
            release = str(meta.get("name"))
            hostnames = [str(h).replace("{{ .Release.Name }}", release) for h in route.get("hostnames") or []]
            label = f"HelmRelease {release} route.{key}"
            yield label, {**route, "hostnames": hostnames, "annotations": route.get("annotations") or {}}


def route_parent_refs(doc: Doc) -> Iterator[tuple[str, Doc]]:
    """(route label, parentRef) of a plain HTTPRoute and of each app-template route in a HelmRelease."""
    name = (doc.get("metadata") or {}).get("name")
    if doc.get("kind") == "HTTPRoute":
        for ref in (doc.get("spec") or {}).get("parentRefs") or []:
            yield f"HTTPRoute {name}", ref
    elif doc.get("kind") == "HelmRelease":
        routes = ((doc.get("spec") or {}).get("values") or {}).get("route") or {}
        for key, route in routes.items() if isinstance(routes, dict) else []:
            for ref in (route or {}).get("parentRefs") or []:
                yield f"HelmRelease {name} route.{key}", ref


def _unresolved_parent_refs(docs: Sequence[Doc]) -> Iterator[str]:
    listeners = {
        ((d.get("metadata") or {}).get("namespace"), (d.get("metadata") or {}).get("name")): {
            lst.get("name") for lst in (d.get("spec") or {}).get("listeners") or []
        }
        for d in docs
        if d.get("kind") == "Gateway"
    }
    for doc in docs:
        for label, ref in route_parent_refs(doc):
            key = (ref.get("namespace") or (doc.get("metadata") or {}).get("namespace"), ref.get("name"))
            if key in listeners and ref.get("sectionName") and ref["sectionName"] not in listeners[key]:
                yield f"{label}: parentRef {key[1]} sectionName {ref['sectionName']!r} names no listener"


def _flag(args: Sequence[Any], name: str) -> str | None:
    return next((str(a).split("=", 1)[1] for a in args if str(a).startswith(f"--{name}=")), None)


def _in_zone(name: str, zones: Sequence[str]) -> bool:
    return any(name == z or name.endswith("." + z) for z in zones)


def _selects(values: Mapping[str, Any], ref_name: str, gateway: Doc) -> bool:
    """Whether an external-dns installation with these values reads routes of *gateway*."""
    args = values.get("extraArgs") or []
    only_name, label_filter = _flag(args, "gateway-name"), _flag(args, "gateway-label-filter")
    labels = {f"{k}={v}" for k, v in ((gateway.get("metadata") or {}).get("labels") or {}).items()}
    return (not only_name or ref_name == only_name) and (not label_filter or label_filter in labels)


def _published(values: Mapping[str, Any], docs: Sequence[Doc]) -> dict[str, dict[str, frozenset[str]]]:
    """name -> {source resource -> targets} for one external-dns installation's values."""
    zones = [str(z) for z in values.get("domainFilters") or []]
    gateways = {
        ((g.get("metadata") or {}).get("namespace"), (g.get("metadata") or {}).get("name")): g
        for g in docs
        if g.get("kind") == "Gateway"
    }
    published: dict[str, dict[str, frozenset[str]]] = {}
    for doc in docs:
        if doc.get("kind") == "DNSEndpoint":
            where = f"DNSEndpoint {(doc.get('metadata') or {}).get('name')}"
            for e in (doc.get("spec") or {}).get("endpoints") or []:
                if _in_zone(str(e.get("dnsName")), zones):
                    published.setdefault(str(e.get("dnsName")), {})[where] = frozenset(e.get("targets") or [])
        for label, route in routes(doc):
            if route["annotations"].get(ANNOTATION_PREFIX + "controller", "dns-controller") != "dns-controller":
                continue
            for ref in route.get("parentRefs") or []:
                namespace = ref.get("namespace") or (doc.get("metadata") or {}).get("namespace")
                gateway = gateways.get((namespace, ref.get("name")))
                if gateway is None or not _selects(values, str(ref.get("name")), gateway):
                    continue
                target = ((gateway.get("metadata") or {}).get("annotations") or {}).get(ANNOTATION_PREFIX + "target")
                for host in route.get("hostnames") or []:
                    if target and _in_zone(host, zones):
                        published.setdefault(host, {})[label] = frozenset([str(target)])
    return published


def _conflicting_records(docs: Sequence[Doc]) -> Iterator[str]:
    """Names two sources of one external-dns installation publish with different targets.

    An installation with the ``crd`` and ``gateway-httproute`` sources publishes each
    DNSEndpoint endpoint and each hostname of a route attached to a Gateway it selects
    (``--gateway-name``, ``--gateway-label-filter``), with that Gateway's target annotation,
    unless the route opts out with a ``controller`` annotation. Two different targets for one
    name are settled by external-dns's planner, which takes the lexically smallest
    (plan/conflict.go ``PerResource.ResolveCreate``), not by what the user meant."""
    for installation in docs:
        values = (installation.get("spec") or {}).get("values") or {}
        if installation.get("kind") != "HelmRelease" or not {"crd", "gateway-httproute"} <= set(
            values.get("sources") or []
        ):
            continue
        for name, by in sorted(_published(values, docs).items()):
            if len(set(by.values())) > 1:
                claims = "; ".join(f"{who} -> {sorted(t)}" for who, t in sorted(by.items()))
                yield f"{name} is published by {(installation.get('metadata') or {}).get('name')} twice: {claims}"
