"""`dns.publishedBy: hand`: no external-dns publishes a gateway's records; the user makes them in the
provider's dashboard (gilesknap/tpi-k3s-ansible, Cloudflare by hand), and `plan` says which."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import jsonschema
from conftest import by_kind, expand_yaml, items_of, messages
from manifests import gateway, httproute, https_listener

from krmfn.api.config import load_config
from krmfn.expand import expand
from krmfn.krm.yamltext import load
from krmfn.plan import plan_document, render

PLAN_SCHEMA = json.loads((Path(__file__).resolve().parents[2] / "schema" / "plan.schema.json").read_text())

CONFIG = """\
apiVersion: krmfn.dev/v1alpha1
kind: MultiDomain
metadata: {name: cluster}
spec:
  domains:
    - name: example.com
    - name: example.org
  gateways:
    - name: nginx
      kind: IngressClass
      dns:
        target: 00000000-0000-0000-0000-000000000000.cfargotunnel.com
        exposure: lan
        lanAddress: [192.168.1.82, 192.168.1.83, 192.168.1.84]
        publishedBy: hand
"""
BY_EXTERNAL_DNS = CONFIG.replace("        publishedBy: hand\n", "")
BACKEND = "{paths: [{path: /, pathType: Prefix, backend: {service: {name: echo, port: {number: 80}}}}]}"


def ingress(name: str, host: str, annotations: str = "") -> str:
    meta = f"  annotations:\n{annotations}" if annotations else ""
    return (
        f"---\napiVersion: networking.k8s.io/v1\nkind: Ingress\nmetadata:\n  name: {name}\n  namespace: echo\n{meta}"
        f"spec:\n  ingressClassName: nginx\n  rules:\n    - host: {host}\n      http: {BACKEND}\n"
    )


PUBLIC = ingress("echo-example-org", "echo.example.org", "    krmfn.dev/exposure: public\n")
LAN = ingress("echo-lan-example-org", "echo-lan.example.org")
STREAM = PUBLIC + LAN


def test_no_dns_endpoint_and_no_annotation_and_no_error_without_external_dns() -> None:
    exp = expand_yaml(CONFIG, STREAM)
    assert by_kind(exp, "DNSEndpoint") == []
    assert [i.text for i in exp.items if i.header.kind == "Ingress"] == [d.removeprefix("---\n") for d in (PUBLIC, LAN)]
    assert messages(exp, "error") == []
    assert [m for m in messages(exp, "info") if "by hand" in m] == [
        "Ingress echo/echo-example-org needs records made by hand (`dns.publishedBy: hand` on IngressClass 'nginx'): "
        "echo.example.org CNAME 00000000-0000-0000-0000-000000000000.cfargotunnel.com proxied",
        "Ingress echo/echo-lan-example-org needs records made by hand (`dns.publishedBy: hand` on IngressClass "
        "'nginx'): echo-lan.example.org A 192.168.1.82, 192.168.1.83, 192.168.1.84",
    ]
    # the default, external-dns, demands an installation that reads DNSEndpoints
    assert [m for m in messages(expand_yaml(BY_EXTERNAL_DNS, STREAM), "error") if "must be read by" in m]


def test_an_earlier_takeover_by_a_dns_endpoint_is_undone() -> None:
    taken = PUBLIC.replace(
        "    krmfn.dev/exposure: public\n",
        "    krmfn.dev/exposure: public\n    external-dns.alpha.kubernetes.io/controller: none\n"
        "    krmfn.dev/dns-endpoint: echo-example-org-ingress\n",
    )
    exp = expand_yaml(CONFIG, taken)
    assert [i.text for i in exp.items if i.header.kind == "Ingress"] == [PUBLIC.removeprefix("---\n")]


def test_routes_on_a_gateway_published_by_hand_are_left_alone() -> None:
    config = """\
apiVersion: krmfn.dev/v1alpha1
kind: MultiDomain
metadata: {name: edge}
spec:
  domains: [{name: example.com}, {name: example.org}]
  gateways:
    - name: envoy-external
      namespace: network
      dns: {target: "external.{domain}", publishedBy: hand}
"""
    route = httproute("echo", "[echo.example.com, echo.example.org]")
    stream = gateway(https_listener("x-tls"), target="external.example.com") + "---\n" + route
    exp = expand_yaml(config, stream)
    assert by_kind(exp, "DNSEndpoint") == []
    assert [i.text for i in exp.items if i.header.kind == "HTTPRoute"] == [route]
    assert messages(exp, "error") == []
    document = plan_document(load_config(load(config)), exp, items_of(stream))
    hosts = {h["name"]: h for d in document["domains"] for h in d["hostnames"]}
    assert hosts["echo.example.org"]["record"]["targets"] == ["external.example.org"]
    assert hosts["echo.example.org"]["record"]["publishedBy"]["via"] == "manual"


def plan_of(config: str, stream: str) -> dict[str, Any]:
    items = items_of(stream)
    exp = expand(load_config(load(config)), items, config_path="multidomain.yaml")
    document = plan_document(load_config(load(config)), exp, items)
    jsonschema.Draft202012Validator(PLAN_SCHEMA).validate(document)
    return document


def test_plan_lists_each_record_to_make_by_hand() -> None:
    document = plan_of(CONFIG, STREAM)
    hosts = {h["name"]: h for d in document["domains"] for h in d["hostnames"]}
    manual = {"via": "manual", "resource": None, "installation": None}
    assert hosts["echo-lan.example.org"]["record"] == {
        "type": "A",
        "targets": ["192.168.1.82", "192.168.1.83", "192.168.1.84"],
        "proxied": False,
        "publishedBy": manual,
    }
    assert hosts["echo-lan.example.org"]["exposure"] == "lan"
    assert hosts["echo.example.org"]["record"] == {
        "type": "CNAME",
        "targets": ["00000000-0000-0000-0000-000000000000.cfargotunnel.com"],
        "proxied": True,
        "publishedBy": manual,
    }
    text = render(document)
    assert "record   A 192.168.1.82, 192.168.1.83, 192.168.1.84 from the user, by hand (`publishedBy: hand`)" in text
    # published by external-dns, the same names have no record until an installation reads them
    other = plan_of(BY_EXTERNAL_DNS, STREAM)
    assert all(h["record"] is None for d in other["domains"] for h in d["hostnames"])
