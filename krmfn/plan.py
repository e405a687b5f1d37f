"""What the expansion will make exist, per domain, for a person to read before committing.

:func:`plan` is derived from an expansion, not from the concerns' internals: for each
domain it lists its Certificate, and every place in every generated or changed resource
where the domain (or its Secret) appears, with the field path. DNS records are read from
generated DNSEndpoints. :func:`changes` lists what the function changed, resource by
resource; :func:`diff` prints it as a unified diff, :func:`diff_json` as RFC 6902 operations.
"""

from __future__ import annotations

import difflib
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

import jsonpatch

from krmfn.api.config import Config, Domain
from krmfn.concerns.certificates import dns_names
from krmfn.expand import Expansion
from krmfn.krm.item import Item


@dataclass
class DomainPlan:
    domain: str
    primary: bool
    #: ``namespace/name`` of the domain's Certificate; empty without `spec.certificates`.
    certificate: str
    secret: str
    names: list[str]
    issuer: str
    #: "generated", or "adopted" for a hand-written Certificate krmfn took over.
    origin: str = "generated"
    appears_in: list[tuple[str, str]] = field(default_factory=list)
    records: list[str] = field(default_factory=list)
    hostnames: list[dict[str, Any]] = field(default_factory=list)

    def to_data(self) -> dict[str, Any]:
        return {
            "domain": self.domain,
            "primary": self.primary,
            "certificate": self.certificate,
            "secret": self.secret,
            "dnsNames": self.names,
            "issuer": self.issuer,
            "origin": self.origin,
            "appearsIn": [{"resource": r, "field": f} for r, f in self.appears_in],
            "records": self.records,
            "hostnames": self.hostnames,
        }


def _describe(item: Item) -> str:
    h = item.header
    return f"{h.kind} {h.namespace + '/' if h.namespace else ''}{h.name}"


def _mentions(value: Any, needles: Sequence[str], path: str = "") -> Iterator[str]:
    if isinstance(value, dict):
        for key, child in value.items():
            if key == "metadata" and not path:
                continue  # names and ownership marks, not configuration
            yield from _mentions(child, needles, f"{path}.{key}" if path else str(key))
    elif isinstance(value, list):
        for i, child in enumerate(value):
            yield from _mentions(child, needles, f"{path}[{i}]")
    elif isinstance(value, str) and any(_matches(value, n) for n in needles):
        yield path


def _matches(value: str, needle: str) -> bool:
    return value == needle or value.endswith("." + needle) or (needle in value and "\n" in value)


def plan(config: Config, expansion: Expansion, original: Sequence[Item]) -> list[DomainPlan]:
    """One DomainPlan per domain, primary first."""
    before = {id(item) for item in original}
    touched = [i for i in expansion.items if id(i) not in before]
    plans = [_plan_domain(config, domain, touched, expansion) for domain in config.domains]
    hosts = _hostnames(config, expansion)
    for p, domain in zip(plans, config.domains, strict=True):
        p.hostnames = [h for h in hosts if _owner(config, h["name"]) is domain]
    return plans


_ROUTE_KINDS = ("HTTPRoute", "GRPCRoute")


def _owner(config: Config, hostname: str) -> Domain | None:
    """The most specific managed domain a hostname falls under."""
    bare = hostname[2:] if hostname.startswith("*.") else hostname
    matches = [d for d in config.domains if d.name.covers(bare)]
    return max(matches, key=lambda d: len(d.name.text), default=None)


def _covered_by(config: Config, hostname: str, expansion: Expansion) -> str | None:
    """The managed Certificate whose names cover *hostname* (wildcards: one label)."""
    for domain in config.domains:
        cert = expansion.certificates.get(domain.name.text)
        if cert is None:
            continue
        for name in dns_names(domain):
            if name == hostname or (
                name.startswith("*.") and hostname.partition(".")[2] == name[2:] and hostname[:1] != "*"
            ):
                return f"{cert.namespace}/{cert.name}"
    return None


def _hostnames(config: Config, expansion: Expansion) -> list[dict[str, Any]]:
    """Every name that should resolve: each domain's apex and wildcard, every route and Ingress host.

    The expected record comes from a generated DNSEndpoint when there is one, else from the
    DNS target of the gateway the route is attached to (what external-dns publishes); names
    whose record krmfn does not manage say so (``record: null``), with whether a tunnel rule
    or split-horizon DNS serves them.
    """
    items = expansion.items
    endpoints: dict[str, dict[str, Any]] = {}
    for item in items:
        if item.header.kind == "DNSEndpoint":
            spec = item.data.get("spec")
            for ep in (spec.get("endpoints") or []) if isinstance(spec, dict) else []:
                if isinstance(ep, dict) and isinstance(ep.get("dnsName"), str):
                    endpoints[ep["dnsName"]] = {
                        "type": ep.get("recordType"),
                        "targets": list(ep.get("targets") or []),
                        "source": _describe(item),
                    }
    names: dict[str, dict[str, Any]] = {}
    for domain in config.domains:
        cert = expansion.certificates.get(domain.name.text)
        for name in dns_names(domain):
            names.setdefault(name, {"name": name, "from": f"Certificate {cert.name}" if cert else "spec.domains"})
    gateways = {g.name: g for g in config.spec.gateways}
    for item in items:
        kind = item.header.kind
        if kind not in (*_ROUTE_KINDS, "Ingress"):
            continue
        spec = item.data.get("spec")
        if not isinstance(spec, dict):
            continue
        if kind == "Ingress":
            hosts = [r.get("host") for r in spec.get("rules") or [] if isinstance(r, dict)]
            parents = [spec.get("ingressClassName")]
        else:
            hosts = list(spec.get("hostnames") or [])
            parents = [p.get("name") for p in spec.get("parentRefs") or [] if isinstance(p, dict)]
        for host in hosts:
            if isinstance(host, str) and _owner(config, host) is not None:
                entry = names.setdefault(host, {"name": host, "from": _describe(item)})
                entry.setdefault("gateways", [])
                entry["gateways"] += [str(p) for p in parents if p in gateways]
    out = []
    for name, entry in sorted(names.items(), key=lambda kv: kv[0].lstrip("*.")):
        owner = _owner(config, name)
        assert owner is not None
        record = endpoints.get(name)
        if record is None:
            for gw_name in entry.get("gateways", []):
                gw = gateways[gw_name]
                if gw.dns is not None and gw.dns.target:
                    target = gw.dns.target.replace("{domain}", owner.name.text)
                    record = {"type": gw.dns.type, "targets": [target], "source": f"external-dns via {gw_name}"}
                    break
        out.append(
            {
                "name": name,
                "from": entry["from"],
                "record": record,
                "certificate": _covered_by(config, name, expansion),
                "tunnelRule": owner.tunnel,
                "splitHorizon": owner.split_horizon,
            }
        )
    return out


def _plan_domain(config: Config, domain: Domain, touched: Sequence[Item], expansion: Expansion) -> DomainPlan:
    cert = expansion.certificates.get(domain.name.text)
    out = DomainPlan(
        domain=domain.name.text,
        primary=domain.primary,
        certificate=f"{cert.namespace}/{cert.name}" if cert else "",
        secret=cert.secret if cert else "",
        names=dns_names(domain),
        issuer=f"{config.issuer_kind} {domain.issuer}" if domain.issuer else "",
        origin=cert.origin if cert else "",
    )
    needles = [domain.name.text] + ([cert.secret] if cert else [])
    for item in touched:
        if item.header.kind == "Certificate":
            continue
        if item.header.kind == "DNSEndpoint":
            out.records.extend(_records(item, domain))
            continue
        data = {k: v for k, v in item.data.items() if k != "metadata"}
        for path in _mentions(data, needles):
            out.appears_in.append((_describe(item), path))
    return out


def _records(item: Item, domain: Domain) -> list[str]:
    spec = item.data.get("spec")
    endpoints = spec.get("endpoints") if isinstance(spec, dict) else None
    lines = []
    for ep in endpoints if isinstance(endpoints, list) else []:
        if isinstance(ep, dict) and isinstance(ep.get("dnsName"), str) and domain.name.covers(ep["dnsName"]):
            targets = ", ".join(str(t) for t in ep.get("targets") or [])
            lines.append(f"{ep['dnsName']} {ep.get('recordType', '?')} {targets} ({_describe(item)})")
    return lines


def render(plans: Sequence[DomainPlan], config: Config) -> str:
    lines = [f"MultiDomain {config.name}: {len(plans)} domain(s)", ""]
    for p in plans:
        lines.append(f"{p.domain}{' (primary)' if p.primary else ''}")
        if p.certificate:
            adopted = " (adopted: a hand-written Certificate krmfn now owns)" if p.origin == "adopted" else ""
            lines.append(f"  certificate  Certificate {p.certificate} -> Secret {p.secret}{adopted}")
        else:
            lines.append("  certificate  none (`spec.certificates` is not set)")
        lines.append(f"  names        {', '.join(p.names)}")
        if p.issuer:
            lines.append(f"  issuer       {p.issuer}")
        width = max((len(r) for r, _ in p.appears_in), default=0)
        for i, (resource, path) in enumerate(p.appears_in):
            label = "appears in" if i == 0 else ""
            lines.append(f"  {label:<11}  {resource:<{width}}  {path}")
        for i, record in enumerate(p.records):
            label = "records" if i == 0 else ""
            lines.append(f"  {label:<11}  {record}")
        for i, host in enumerate(p.hostnames):
            label = "hostnames" if i == 0 else ""
            rec = host["record"]
            where = f"{rec['type']} {', '.join(rec['targets'])} ({rec['source']})" if rec else "no record managed"
            cert = host["certificate"] or "NOT COVERED by a generated certificate"
            served = [
                x for x, on in (("tunnel rule", host["tunnelRule"]), ("split-horizon", host["splitHorizon"])) if on
            ]
            extra = f"; {', '.join(served)}" if served else ""
            lines.append(f"  {label:<11}  {host['name']}: {where}; {cert}{extra}")
        lines.append("")
    return "\n".join(lines)


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
