"""The plan document (``schema/plan.schema.json``) as the few typed values verify uses.

Reading checks exactly what verify relies on and names the field that is wrong, so a
hand-edited or truncated ``--plan FILE`` fails with a message, not a traceback; fields
verify does not use are not checked (the schema test of `plan --json` covers them).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from krmfn.errors import InputError

RECORD_TYPES = ("A", "AAAA", "CNAME")
#: The label verify puts in place of a wildcard's `*` to ask DNS and the gateway about
#: one name it covers; unlikely to be a real route, so a wildcard record answers for it.
SAMPLE_LABEL = "krmfn-verify-sample"


@dataclass(frozen=True)
class Record:
    type: str
    targets: tuple[str, ...]
    #: True/False as planned; None: the external-dns installation's default decides.
    proxied: bool | None


@dataclass(frozen=True)
class Host:
    name: str
    planned: str  # the name as the plan spells it, Flux variables kept
    record: Record | None
    target_name: str | None
    target_record: Record | None
    certificate: str | None  # `namespace/name` of the covering Certificate
    covered: bool
    tunnel_rule: str | None  # the hostname of the rule that matches first
    exposure: str | None

    @property
    def is_wildcard(self) -> bool:
        return self.name.startswith("*.")

    @property
    def queried(self) -> str:
        """The name asked about: the hostname, or a sample name for a wildcard."""
        return f"{SAMPLE_LABEL}.{self.name[2:]}" if self.is_wildcard else self.name


@dataclass(frozen=True)
class Domain:
    name: str
    planned: str
    primary: bool
    hosts: tuple[Host, ...]


@dataclass(frozen=True)
class Plan:
    multi_domain: str
    expiry_warning_days: float | None
    domains: tuple[Domain, ...]

    def hosts(self) -> list[tuple[Domain, Host]]:
        return [(d, h) for d in self.domains for h in d.hosts]


def read(document: Any, planned: Any, source: str) -> Plan:
    """The plan in *document* (substituted); *planned* is the same document before substitution."""
    doc = _object(document, source, "")
    if doc.get("kind") != "Plan" or doc.get("apiVersion") != "krmfn.dev/v1alpha1":
        raise InputError(f"{source} must be a `krmfn plan --json` document (apiVersion krmfn.dev/v1alpha1, kind Plan)")
    domains = []
    planned_domains = planned.get("domains") if isinstance(planned, dict) else None
    for i, raw in enumerate(_list(doc, "domains", source, "")):
        where = f"domains[{i}]"
        d = _object(raw, source, where)
        before = planned_domains[i] if isinstance(planned_domains, list) and i < len(planned_domains) else d
        hosts = []
        for j, raw_host in enumerate(_list(d, "hostnames", source, where)):
            at = f"{where}.hostnames[{j}]"
            planned_host = _at(before, "hostnames", j)
            hosts.append(_host(_object(raw_host, source, at), planned_host, source, at))
        domains.append(
            Domain(
                name=_text(d, "name", source, where),
                planned=str(before.get("name", "")) if isinstance(before, dict) else "",
                primary=d.get("primary") is True,
                hosts=tuple(hosts),
            )
        )
    days = doc.get("expiryWarningDays")
    if days is not None and (isinstance(days, bool) or not isinstance(days, (int, float))):
        raise InputError(f"{source}: `expiryWarningDays` must be a number or null")
    return Plan(str(doc.get("multiDomain", "")), days, tuple(domains))


def _host(h: dict[str, Any], planned: Any, source: str, where: str) -> Host:
    target = h.get("target")
    if target is not None:
        target = _object(target, source, f"{where}.target")
    certificate = h.get("certificate")
    if certificate is not None:
        certificate = _object(certificate, source, f"{where}.certificate")
    rule = h.get("tunnelRule")
    if rule is not None:
        rule = _object(rule, source, f"{where}.tunnelRule")
    name = _text(h, "name", source, where)
    cert_ref = None
    if certificate is not None:
        ns = certificate.get("namespace")
        cert_ref = f"{ns}/{certificate.get('name')}" if ns else str(certificate.get("name"))
    return Host(
        name=name.lower().rstrip("."),
        planned=str(planned.get("name", name)) if isinstance(planned, dict) else name,
        record=_record(h.get("record"), source, f"{where}.record"),
        target_name=_text(target, "name", source, f"{where}.target").lower().rstrip(".") if target else None,
        target_record=_record(target.get("record"), source, f"{where}.target.record") if target else None,
        certificate=cert_ref,
        covered=h.get("covered") is True,
        tunnel_rule=str(rule.get("hostname")) if rule else None,
        exposure=h.get("exposure") if isinstance(h.get("exposure"), str) else None,
    )


def _record(value: Any, source: str, where: str) -> Record | None:
    if value is None:
        return None
    r = _object(value, source, where)
    kind = r.get("type")
    if kind not in RECORD_TYPES:
        raise InputError(f"{source}: `{where}.type` must be one of {', '.join(RECORD_TYPES)}; got {kind!r}")
    targets = r.get("targets")
    if not isinstance(targets, list) or not targets or not all(isinstance(t, str) for t in targets):
        raise InputError(f"{source}: `{where}.targets` must be a non-empty list of names or addresses")
    proxied = r.get("proxied")
    return Record(
        str(kind),
        tuple(t.lower().rstrip(".") for t in targets),
        proxied if isinstance(proxied, bool) else None,
    )


def _at(value: Any, key: str, index: int) -> Any:
    seq = value.get(key) if isinstance(value, dict) else None
    return seq[index] if isinstance(seq, list) and index < len(seq) else None


def _object(value: Any, source: str, where: str) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise InputError(f"{source}: `{where or '.'}` must be an object")
    return value


def _list(value: dict[str, Any], key: str, source: str, where: str) -> list[Any]:
    got = value.get(key)
    if not isinstance(got, list):
        raise InputError(f"{source}: `{where + '.' if where else ''}{key}` must be a list")
    return got


def _text(value: dict[str, Any], key: str, source: str, where: str) -> str:
    got = value.get(key)
    if not isinstance(got, str) or not got:
        raise InputError(f"{source}: `{where + '.' if where else ''}{key}` must be a non-empty string")
    return got
