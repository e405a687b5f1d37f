"""Plan documents (schema/plan.schema.json) for the verify tests, and the zones that match them.

The plan is the one a two-domain cluster-template setup gets from krmfn: every route a
CNAME to its own domain's `external.<domain>`, which is a CNAME to the tunnel; a LAN name
with an A record; the certificates' apex and wildcard names. Every address is loopback:
a test that connects only ever reaches 127.0.0.0/8.
"""

from __future__ import annotations

import copy
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from krmfn.verify.answers import NOERROR, NXDOMAIN, OUTSIDE, Answer, Lookup, Records
from krmfn.verify.report import Report

VARIABLES = {"SECRET_DOMAIN": "example.com", "SECRET_DOMAIN_TWO": "example.org"}
#: The tunnel's own name, in a third zone the test nameserver also serves.
TUNNEL = "tunnel-1.example.net"
TUNNEL_ADDRESS = "127.0.0.53"
LAN_ADDRESS = "127.0.0.10"


def ref(kind: str, name: str, namespace: str | None = "network") -> dict[str, Any]:
    return {"kind": kind, "namespace": namespace, "name": name}


def cname(*targets: str, proxied: bool | None = False) -> dict[str, Any]:
    return {
        "type": "CNAME",
        "targets": list(targets),
        "proxied": proxied,
        "publishedBy": {"via": "DNSEndpoint", "resource": ref("DNSEndpoint", "krmfn-records")},
    }


def address(*addresses: str, kind: str = "A") -> dict[str, Any]:
    return {"type": kind, "targets": list(addresses), "proxied": False, "publishedBy": {"via": "route"}}


def host(
    name: str,
    domain: str,
    record: dict[str, Any] | None = None,
    *,
    target: bool = True,
    tunnel_rule: str | None = None,
    certificate: bool = True,
) -> dict[str, Any]:
    external = f"external.{domain}"
    is_external_cname = record is not None and record["type"] == "CNAME" and record["targets"] == [external]
    slug = domain.replace("${", "").replace("}", "").lower().replace("_", "-")
    return {
        "name": name,
        "sources": [
            {
                "resource": ref("HTTPRoute", name.split(".", maxsplit=1)[0].strip("*") or "apex", "default"),
                "field": "spec.hostnames[0]",
            }
        ],
        "gateways": [{"kind": "Gateway", "namespace": "network", "name": "envoy-external", "listener": "https"}],
        "exposure": "lan" if record is not None and record["type"] == "A" else "public",
        "record": record,
        "target": {"name": external, "record": cname(TUNNEL, proxied=True)} if target and is_external_cname else None,
        "certificate": {
            "namespace": "network",
            "name": f"{slug}-production",
            "secretName": f"{slug}-production-tls",
            "servedBy": [{"kind": "Gateway", "namespace": "network", "name": "envoy-external", "listener": "https"}],
        }
        if certificate
        else None,
        "covered": certificate,
        "tunnelRule": {"hostname": tunnel_rule, "service": "https://envoy-external.network.svc.cluster.local:443"}
        if tunnel_rule
        else None,
        "splitHorizon": False,
    }


def domain(name: str, primary: bool, hostnames: list[dict[str, Any]]) -> dict[str, Any]:
    slug = name.replace("${", "").replace("}", "").lower().replace("_", "-")
    return {
        "name": name,
        "primary": primary,
        "certificate": {
            "namespace": "network",
            "name": f"{slug}-production",
            "secretName": f"{slug}-production-tls",
            "dnsNames": [name, f"*.{name}"],
            "issuerRef": {"kind": "ClusterIssuer", "name": "letsencrypt-production"},
            "origin": "generated",
        },
        "appearsIn": [],
        "hostnames": hostnames,
    }


def plan(domains: list[dict[str, Any]], expiry_days: float | None = 21) -> dict[str, Any]:
    return {
        "apiVersion": "krmfn.dev/v1alpha1",
        "kind": "Plan",
        "multiDomain": "edge",
        "expiryWarningDays": expiry_days,
        "domains": domains,
    }


def two_domains() -> dict[str, Any]:
    """The cluster-template with a second domain, as krmfn plans it.

    The apexes have no managed record (a CNAME cannot sit beside the SOA in a zone the test
    nameserver serves; Cloudflare flattens it); the primary's apex has no tunnel rule, as
    in the template since its switch to envoy-gateway.
    """
    one, two = "${SECRET_DOMAIN}", "${SECRET_DOMAIN_TWO}"
    wild_one, wild_two = f"*.{one}", f"*.{two}"
    return plan(
        [
            domain(
                one,
                True,
                [
                    host(one, one, None),
                    host(wild_one, one, None, tunnel_rule=wild_one),
                    host(f"docs.{one}", one, cname(f"external.{one}"), tunnel_rule=wild_one),
                    host(f"echo.{one}", one, cname(f"external.{one}"), tunnel_rule=wild_one),
                    host(f"nas.{one}", one, address(LAN_ADDRESS)),
                    host(f"legacy.{one}", one, None, certificate=False),
                ],
            ),
            domain(
                two,
                False,
                [
                    host(two, two, None, tunnel_rule=two),
                    host(wild_two, two, None, tunnel_rule=wild_two),
                    host(f"app.{two}", two, cname(f"external.{two}"), tunnel_rule=wild_two),
                    host(f"flux-webhook.{two}", two, cname(f"external.{two}"), tunnel_rule=wild_two),
                    host(f"grafana.{two}", two, cname(f"external.{two}"), tunnel_rule=wild_two),
                    host(f"home.{two}", two, address(LAN_ADDRESS)),
                ],
            ),
        ]
    )


def substituted(document: dict[str, Any]) -> dict[str, Any]:
    """The plan with the test's variables filled in, for building zones from it."""
    import json

    text = json.dumps(document)
    for key, value in VARIABLES.items():
        text = text.replace("${" + key + "}", value)
    return dict(json.loads(text))


def zones_for(document: dict[str, Any]) -> dict[str, list[str]]:
    """Zone records (origin -> lines) that publish exactly what *document* plans."""
    doc = substituted(document)
    zones: dict[str, list[str]] = {"example.com": [], "example.org": [], "example.net": []}
    zones["example.net"].append(f"{TUNNEL}. AAAA ::ffff:{TUNNEL_ADDRESS}")
    zones["example.net"].append(f"{TUNNEL}. A {TUNNEL_ADDRESS}")
    for d in doc["domains"]:
        for h in d["hostnames"]:
            for owner, rec in (
                (h["name"], h["record"]),
                *(((h["target"]["name"], h["target"]["record"]),) if h["target"] else ()),
            ):
                if rec is None:
                    continue
                line = f"{owner}. {rec['type']} " + " ".join(
                    t + ("." if rec["type"] == "CNAME" else "") for t in rec["targets"]
                )
                zone = zones[_zone_of(owner)]
                if line not in zone:
                    zone.append(line)
    return zones


def _zone_of(name: str) -> str:
    return ".".join(name.split(".")[-2:])


def zone_text(origin: str, lines: list[str]) -> str:
    head = [
        f"$ORIGIN {origin}.",
        "$TTL 60",
        "@ IN SOA ns.test. hostmaster.example.com. 1 3600 600 86400 60",
        "@ IN NS ns.test.",  # outside every zone here: no glue, no unplanned address
    ]
    return "\n".join([*head, *lines]) + "\n"


#: hostname -> the fault with_faults() gives it; every other planned name stays correct.
FAULTS = {
    "grafana.example.org": "missing",
    "flux-webhook.example.org": "wrong target (the primary's)",
    "app.example.org": "dangling CNAME",
    "nas.example.com": "an extra address",
    "echo.example.com": "an A where a CNAME is planned",
}


def with_faults(zones: dict[str, list[str]]) -> dict[str, list[str]]:
    """The seed's classic faults, one per name (see FAULTS), and one unplanned record."""
    out = copy.deepcopy(zones)
    org, com = out["example.org"], out["example.com"]
    org[:] = [line for line in org if not line.startswith(("grafana.example.org.", "external.example.org."))]
    org[:] = [
        "flux-webhook.example.org. CNAME external.example.com." if line.startswith("flux-webhook.") else line
        for line in org
    ]
    com.append("nas.example.com. A 127.0.0.99")
    com[:] = ["echo.example.com. A 127.0.0.7" if line.startswith("echo.example.com.") else line for line in com]
    com.append("old-app.example.com. CNAME external.example.com.")
    return out


def table(records: Mapping[str, Records], outside: tuple[str, ...] = ()) -> Lookup:
    """A lookup answering from a dict, like a zone's server: every type at a name at once."""

    def lookup(name: str, rdtype: str) -> Answer:
        if any(name == o or name.endswith("." + o) for o in outside):
            return Answer(OUTSIDE, detail="refused")
        if name in records:
            return Answer(NOERROR, {name: records[name]}, complete=True)
        return Answer(NXDOMAIN, complete=True)

    return lookup


def statuses(report: Report) -> dict[str, dict[str, str]]:
    """hostname -> check -> status, for assertions."""
    return {h.name: {c.check: c.status for c in h.checks} for d in report.domains for h in d.hosts}


def failing(report: Report) -> set[str]:
    return {name for name, checks in statuses(report).items() if "fail" in checks.values()}


def write_zones(directory: Path, zones: dict[str, list[str]]) -> list[str]:
    """One BIND file per zone; their paths."""
    directory.mkdir(parents=True, exist_ok=True)
    paths = []
    for origin, lines in zones.items():
        path = directory / f"{origin}.zone"
        path.write_text(zone_text(origin, lines))
        paths.append(str(path))
    return paths
