"""Every route hostname resolves to its own domain's target; one record per hostname (SPEC §6)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from conftest import by_kind, expand_yaml, messages
from crdschema import assert_manifests_valid
from manifests import (
    CERTIFICATES,
    DOMAINS,
    EXTERNAL_DNS,
    EXTERNAL_DNS_INSTALLATION,
    HTTP_LISTENER,
    PRODUCTION_SECRETS,
    certificates,
    domains,
    gateway,
    https_listener,
    multidomain,
)

from krmfn.api.config import load_config
from krmfn.expand import Expansion, expand
from krmfn.krm.yamltext import load

CONFIG = multidomain(
    DOMAINS,
    certificates(None, suffix="production"),
    """\
  gateways:
    - name: envoy-external
      namespace: network
      dns: {target: "external.{domain}", type: CNAME}
    - name: envoy-internal
      namespace: network
""",
    EXTERNAL_DNS_INSTALLATION,
)

# Both Gateways already list both Secrets: the records, not the refs, are under test here.
GATEWAYS = (
    EXTERNAL_DNS
    + "---\n"
    + gateway(HTTP_LISTENER + https_listener(*PRODUCTION_SECRETS))
    + "---\n"
    + gateway(https_listener(*PRODUCTION_SECRETS), name="envoy-internal", target="internal.${SECRET_DOMAIN}")
)


def route(
    hostnames: str, *, name: str = "echo", gateway: str = "envoy-external", extra: str = "", kind: str = "HTTPRoute"
) -> str:
    return f"""\
---
# the echo app
apiVersion: gateway.networking.k8s.io/v1
kind: {kind}
metadata:
  name: {name}
  namespace: default{extra}
spec:
  hostnames: {hostnames}
  parentRefs:
    - name: {gateway}
      namespace: network
      sectionName: https
  rules:
    - backendRefs:
        - name: echo # service
          port: 80
"""


def text_of(exp: Expansion, kind: str, name: str) -> str:
    return next(i.text for i in exp.items if i.header.kind == kind and i.header.name == name)


def endpoints(exp: Expansion, name: str = "echo-httproute") -> list[dict[str, Any]]:
    found = [e for e in by_kind(exp, "DNSEndpoint") if e["metadata"]["name"] == name]
    assert len(found) == 1, by_kind(exp, "DNSEndpoint")
    return found[0]["spec"]["endpoints"]  # type: ignore[no-any-return]


def rerun(config: str, exp: Expansion) -> Expansion:
    return expand(load_config(load(config)), exp.items, config_path="multidomain.yaml")


def assert_idempotent(config: str, exp: Expansion) -> None:
    again = rerun(config, exp)
    assert [i.text for i in again.items] == [i.text for i in exp.items]
    assert not [m for m in messages(again) if m.startswith(("patched", "generated", "updated", "pruned"))]


# --- routes on gateways -------------------------------------------------------------------


def test_primary_domain_route_needs_no_dns_endpoint_and_is_unchanged() -> None:
    stream = GATEWAYS + route('["echo.${SECRET_DOMAIN}", "${SECRET_DOMAIN}"]')
    exp = expand_yaml(CONFIG, stream)
    assert by_kind(exp, "DNSEndpoint") == []
    assert text_of(exp, "HTTPRoute", "echo") == route('["echo.${SECRET_DOMAIN}", "${SECRET_DOMAIN}"]').removeprefix(
        "---\n"
    )
    assert not [m for m in messages(exp) if "HTTPRoute" in m and "txtPrefix" not in m]


def test_secondary_domain_route_gets_a_dns_endpoint_and_controller_none() -> None:
    exp = expand_yaml(CONFIG, GATEWAYS + route('["echo.example.org"]'))
    assert endpoints(exp) == [
        {"dnsName": "echo.example.org", "recordType": "CNAME", "targets": ["external.example.org"]}
    ]
    (dns,) = by_kind(exp, "DNSEndpoint")
    assert dns["metadata"]["namespace"] == "default"
    text = text_of(exp, "HTTPRoute", "echo")
    assert (
        "  annotations:\n"
        "    external-dns.alpha.kubernetes.io/controller: none\n"
        "    krmfn.dev/dns-endpoint: echo-httproute\n" in text
    )
    assert text.startswith("# the echo app\n")
    assert "        - name: echo # service\n" in text
    assert '  hostnames: ["echo.example.org"]\n' in text
    infos = messages(exp, "info")
    assert any(
        m == "DNSEndpoint echo-httproute publishes the hostnames of HTTPRoute default/echo: echo.example.org → "
        "external.example.org; the target annotation of Gateway network/envoy-external, which external-dns gives "
        "every hostname, is 'external.${SECRET_DOMAIN}'"
        for m in infos
    ), infos
    assert_idempotent(CONFIG, exp)


def test_route_on_both_domains_has_every_hostname_in_the_dns_endpoint() -> None:
    exp = expand_yaml(CONFIG, GATEWAYS + route('["echo.${SECRET_DOMAIN}", "echo.example.org"]'))
    assert endpoints(exp) == [
        {"dnsName": "echo.${SECRET_DOMAIN}", "recordType": "CNAME", "targets": ["external.${SECRET_DOMAIN}"]},
        {"dnsName": "echo.example.org", "recordType": "CNAME", "targets": ["external.example.org"]},
    ]
    assert any(
        "echo.${SECRET_DOMAIN} moved along so that each hostname has exactly one record" in m
        for m in messages(exp, "info")
    )


def test_route_on_the_internal_gateway_is_left_alone() -> None:
    stream = GATEWAYS + route('["echo.example.org"]', gateway="envoy-internal")
    exp = expand_yaml(CONFIG, stream)
    assert by_kind(exp, "DNSEndpoint") == []
    assert text_of(exp, "HTTPRoute", "echo") == route('["echo.example.org"]', gateway="envoy-internal").removeprefix(
        "---\n"
    )


def test_grpc_routes_are_read_too() -> None:
    exp = expand_yaml(CONFIG, GATEWAYS + route('["grpc.example.org"]', kind="GRPCRoute"))
    assert endpoints(exp, "echo-grpcroute")[0]["dnsName"] == "grpc.example.org"


def test_ttl_proxied_and_annotation_prefix_settings() -> None:
    config = CONFIG.replace("type: CNAME}", "type: CNAME, ttl: 300, proxied: true}").replace(
        "spec:\n", "spec:\n  externalDNSAnnotationPrefix: external-dns.kubernetes.io/\n", 1
    )
    stream = GATEWAYS.replace("external-dns.alpha.kubernetes.io/", "external-dns.kubernetes.io/") + route(
        '["echo.example.org"]'
    )
    exp = expand_yaml(config, stream)
    assert endpoints(exp) == [
        {
            "dnsName": "echo.example.org",
            "recordType": "CNAME",
            "targets": ["external.example.org"],
            "recordTTL": 300,
            "providerSpecific": [{"name": "external-dns.kubernetes.io/cloudflare-proxied", "value": "true"}],
        }
    ]
    assert "    external-dns.kubernetes.io/controller: none\n" in text_of(exp, "HTTPRoute", "echo")


def test_route_annotations_override_ttl_and_proxied() -> None:
    extra = (
        '\n  annotations:\n    external-dns.alpha.kubernetes.io/ttl: "60"\n'
        '    external-dns.alpha.kubernetes.io/cloudflare-proxied: "false"'
    )
    config = CONFIG.replace("type: CNAME}", "type: CNAME, ttl: 300, proxied: true}")
    exp = expand_yaml(config, GATEWAYS + route('["echo.example.org"]', extra=extra))
    (endpoint,) = endpoints(exp)
    assert endpoint["recordTTL"] == 60
    assert endpoint["providerSpecific"] == [
        {"name": "external-dns.alpha.kubernetes.io/cloudflare-proxied", "value": "false"}
    ]
    assert '    external-dns.alpha.kubernetes.io/ttl: "60"\n' in text_of(exp, "HTTPRoute", "echo")


def test_route_the_user_took_from_external_dns_is_left_alone() -> None:
    extra = "\n  annotations:\n    external-dns.alpha.kubernetes.io/controller: none"
    stream = GATEWAYS + route('["echo.example.org"]', extra=extra)
    exp = expand_yaml(CONFIG, stream)
    assert by_kind(exp, "DNSEndpoint") == []
    assert text_of(exp, "HTTPRoute", "echo") == route('["echo.example.org"]', extra=extra).removeprefix("---\n")


def test_route_no_longer_needing_a_dns_endpoint_comes_back_as_it_was() -> None:
    original = route('["echo.example.org"]')
    exp = expand_yaml(CONFIG, GATEWAYS + original)
    config = CONFIG.replace("    - name: example.org\n", "    - name: example.org\n      gateways: [envoy-internal]\n")
    again = rerun(config, exp)
    assert by_kind(again, "DNSEndpoint") == []
    assert text_of(again, "HTTPRoute", "echo") == original.removeprefix("---\n")
    assert any("publishes its hostnames itself again" in m for m in messages(again, "info"))
    assert any(m.startswith("pruned DNSEndpoint default/echo-httproute") for m in messages(again, "info"))


def test_unmarking_keeps_other_annotations() -> None:
    extra = "\n  annotations:\n    team: web"
    original = route('["echo.example.org"]', extra=extra)
    exp = expand_yaml(CONFIG, GATEWAYS + original)
    again = rerun(CONFIG.replace('"external.{domain}"', '"external.${SECRET_DOMAIN}"'), exp)
    assert text_of(again, "HTTPRoute", "echo") == original.removeprefix("---\n")


def test_unmanaged_hostname_in_a_taken_over_route_keeps_the_gateway_target() -> None:
    exp = expand_yaml(CONFIG, GATEWAYS + route('["echo.example.org", "echo.other.net"]'))
    assert endpoints(exp)[1] == {
        "dnsName": "echo.other.net",
        "recordType": "CNAME",
        "targets": ["external.${SECRET_DOMAIN}"],
    }


def test_gateway_without_target_annotation() -> None:
    stream = GATEWAYS.replace(
        "    external-dns.alpha.kubernetes.io/target: external.${SECRET_DOMAIN}\n", "    team: net\n"
    )
    exp = expand_yaml(CONFIG, stream + route('["echo.${SECRET_DOMAIN}", "echo.other.net"]'))
    assert endpoints(exp) == [
        {"dnsName": "echo.${SECRET_DOMAIN}", "recordType": "CNAME", "targets": ["external.${SECRET_DOMAIN}"]}
    ]
    assert any("is absent (external-dns would use the Gateway's address)" in m for m in messages(exp, "info"))
    assert any("'echo.other.net' of HTTPRoute default/echo gets no DNS record" in m for m in messages(exp, "warning"))


def test_a_records_to_one_address() -> None:
    config = CONFIG.replace('dns: {target: "external.{domain}", type: CNAME}', 'dns: {target: "192.0.2.10", type: A}')
    exp = expand_yaml(config, GATEWAYS + route('["echo.example.org"]'))
    assert endpoints(exp) == [{"dnsName": "echo.example.org", "recordType": "A", "targets": ["192.0.2.10"]}]
    stream = GATEWAYS.replace("target: external.${SECRET_DOMAIN}", "target: 192.0.2.10")
    assert by_kind(expand_yaml(config, stream + route('["echo.example.org"]')), "DNSEndpoint") == []


def test_one_record_per_hostname_across_routes() -> None:
    stream = GATEWAYS + route('["echo.example.org"]') + route('["echo.example.org", "two.example.org"]', name="two")
    exp = expand_yaml(CONFIG, stream)
    assert [e["dnsName"] for e in endpoints(exp, "two-httproute")] == ["two.example.org"]
    stream = GATEWAYS + route('["echo.example.org"]') + route('["only.example.org"]', name="two")
    stream = stream.replace('["only.example.org"]', '["echo.example.org"]')
    exp = expand_yaml(CONFIG, stream)
    assert [e["metadata"]["name"] for e in by_kind(exp, "DNSEndpoint")] == ["echo-httproute"]
    assert "krmfn.dev/dns-endpoint: two-httproute" in text_of(exp, "HTTPRoute", "two")


def test_conflicting_targets_for_one_hostname_are_a_warning() -> None:
    config = CONFIG.replace(
        "    - name: envoy-internal\n      namespace: network\n",
        '    - name: envoy-internal\n      namespace: network\n      dns: {target: "internal.{domain}"}\n',
    )
    stream = (
        GATEWAYS + route('["echo.example.org"]') + route('["echo.example.org"]', name="two", gateway="envoy-internal")
    )
    exp = expand_yaml(config, stream)
    assert any(
        "'echo.example.org' of HTTPRoute default/two must have one record; "
        "HTTPRoute default/echo already publishes it to "
        "'external.example.org'" in m
        for m in messages(exp, "warning")
    )


@pytest.mark.parametrize(
    ("old", "new"),
    [
        ("      sectionName: https\n", "      sectionName: nope\n"),
        (
            "    - name: https\n      protocol: HTTPS\n",
            "    - name: https\n      hostname: '*.${SECRET_DOMAIN}'\n      protocol: HTTPS\n",
        ),
        ("      namespace: network\n      sectionName", "      namespace: other\n      sectionName"),
    ],
)
def test_hostnames_the_listener_does_not_serve_get_no_record(old: str, new: str) -> None:
    if "sectionName" in old:
        stream = GATEWAYS + route('["echo.example.org"]').replace(old, new)
    else:
        stream = GATEWAYS.replace(old, new, 1) + route('["echo.example.org"]')
    assert by_kind(expand_yaml(CONFIG, stream), "DNSEndpoint") == []


def test_wildcard_listener_matches_deeper_names_and_parent_ref_namespace_defaults() -> None:
    gateways = GATEWAYS.replace(
        "    - name: https\n      protocol: HTTPS\n",
        "    - name: https\n      hostname: '*.example.org'\n      protocol: HTTPS\n",
        1,
    )
    same_namespace = (
        route('["a.b.example.org"]')
        .replace("  namespace: default", "  namespace: network")
        .replace("      namespace: network\n      sectionName", "      sectionName")
    )
    exp = expand_yaml(CONFIG, gateways + same_namespace)
    assert endpoints(exp)[0]["dnsName"] == "a.b.example.org"


def test_missing_gateway_means_no_records() -> None:
    installation, _, internal = GATEWAYS.split("---\n")
    internal_only = installation + "---\n" + internal
    exp = expand_yaml(CONFIG, internal_only + route('["echo.example.org"]'))
    assert by_kind(exp, "DNSEndpoint") == []


def test_output_validates_against_the_schemas() -> None:
    config = CONFIG.replace("type: CNAME}", "type: CNAME, ttl: 1, proxied: true}")
    exp = expand_yaml(config, GATEWAYS + route('["echo.${SECRET_DOMAIN}", "echo.example.org"]'))
    text = "".join("---\n" + i.text for i in exp.items if i.header.kind in ("DNSEndpoint", "HTTPRoute"))
    reports = assert_manifests_valid(text, substitutions={"SECRET_DOMAIN": "example.com"}, allow_unknown_kinds=False)
    assert [r.kind for r in reports] == ["HTTPRoute", "DNSEndpoint"]


# --- Ingress variant ----------------------------------------------------------------------

INGRESS_CONFIG = multidomain(
    domains("example.com", "example.org"),
    CERTIFICATES,
    """\
  gateways:
    - name: external
      kind: IngressClass
      dns: {target: "external.{domain}", lanAddress: 192.168.1.20}
""",
    EXTERNAL_DNS_INSTALLATION,
)


BACKEND = "{paths: [{path: /, pathType: Prefix, backend: {service: {name: app, port: {number: 80}}}}]}"


def ingress(hosts: list[str], *, annotations: str = "", class_line: str = "  ingressClassName: external\n") -> str:
    rules = "".join(f"    - host: {h}\n      http: {BACKEND}\n" for h in hosts)
    meta = f"\n  annotations:\n{annotations}" if annotations else ""
    head = f"---\napiVersion: networking.k8s.io/v1\nkind: Ingress\nmetadata:\n  name: app\n  namespace: default{meta}\n"
    return f"{head}spec:\n{class_line}  rules:\n{rules}"


def test_public_ingress_hosts_get_proxied_cnames_to_their_own_domain() -> None:
    exp = expand_yaml(INGRESS_CONFIG, EXTERNAL_DNS + ingress(["app.example.com", "app.example.org"]))
    proxied = [{"name": "external-dns.alpha.kubernetes.io/cloudflare-proxied", "value": "true"}]
    assert endpoints(exp, "app-ingress") == [
        {
            "dnsName": "app.example.com",
            "recordType": "CNAME",
            "targets": ["external.example.com"],
            "providerSpecific": proxied,
        },
        {
            "dnsName": "app.example.org",
            "recordType": "CNAME",
            "targets": ["external.example.org"],
            "providerSpecific": proxied,
        },
    ]
    assert "external-dns.alpha.kubernetes.io/controller: none" in text_of(exp, "Ingress", "app")
    assert any("app.example.com → external.example.com (public: proxied CNAME)" in m for m in messages(exp, "info"))
    assert_idempotent(INGRESS_CONFIG, exp)


def test_lan_ingress_hosts_get_unproxied_a_records() -> None:
    exp = expand_yaml(
        INGRESS_CONFIG, EXTERNAL_DNS + ingress(["nas.example.org"], annotations="    krmfn.dev/exposure: lan\n")
    )
    assert endpoints(exp, "app-ingress") == [
        {
            "dnsName": "nas.example.org",
            "recordType": "A",
            "targets": ["192.168.1.20"],
            "providerSpecific": [{"name": "external-dns.alpha.kubernetes.io/cloudflare-proxied", "value": "false"}],
        }
    ]


def test_wildcard_ingress_hosts_never_get_a_record() -> None:
    exp = expand_yaml(INGRESS_CONFIG, EXTERNAL_DNS + ingress(["'*.example.org'", "app.example.org"]))
    assert [e["dnsName"] for e in endpoints(exp, "app-ingress")] == ["app.example.org"]
    assert any("wildcard host '*.example.org' gets no DNS record" in m for m in messages(exp, "info"))


def test_ingress_of_another_class_or_with_only_unmanaged_hosts_is_unchanged() -> None:
    other = ingress(["app.example.org"], class_line="  ingressClassName: internal\n")
    exp = expand_yaml(INGRESS_CONFIG, EXTERNAL_DNS + other)
    assert by_kind(exp, "DNSEndpoint") == []
    assert text_of(exp, "Ingress", "app") == other.removeprefix("---\n")
    unmanaged = ingress(["app.other.net"])
    assert by_kind(expand_yaml(INGRESS_CONFIG, EXTERNAL_DNS + unmanaged), "DNSEndpoint") == []


def test_legacy_class_annotation_and_unmanaged_host_fallback() -> None:
    annotations = (
        "    kubernetes.io/ingress.class: external\n    external-dns.alpha.kubernetes.io/target: tunnel.other.net\n"
    )
    exp = expand_yaml(
        INGRESS_CONFIG, ingress(["app.example.org", "app.other.net"], annotations=annotations, class_line="")
    )
    assert endpoints(exp, "app-ingress")[1] == {
        "dnsName": "app.other.net",
        "recordType": "CNAME",
        "targets": ["tunnel.other.net"],
    }
    exp = expand_yaml(INGRESS_CONFIG, EXTERNAL_DNS + ingress(["app.example.org", "app.other.net"]))
    assert any("host 'app.other.net' of Ingress default/app gets no DNS record" in m for m in messages(exp, "warning"))


def test_unproxied_public_setting() -> None:
    config = INGRESS_CONFIG.replace("lanAddress: 192.168.1.20}", "lanAddress: 192.168.1.20, proxied: false}")
    exp = expand_yaml(config, ingress(["app.example.org"]))
    assert endpoints(exp, "app-ingress")[0]["providerSpecific"][0]["value"] == "false"
    assert any("app.example.org → external.example.org (public: CNAME)" in m for m in messages(exp, "info"))


@pytest.mark.parametrize(
    ("config", "exposure"),
    [
        (INGRESS_CONFIG, "internet"),
        (INGRESS_CONFIG.replace(", lanAddress: 192.168.1.20", ""), "lan"),
        (INGRESS_CONFIG.replace('target: "external.{domain}", lanAddress', "exposure: lan, lanAddress"), "public"),
    ],
)
def test_exposure_the_class_cannot_serve_is_an_error(config: str, exposure: str) -> None:
    stream = ingress(["app.example.org"], annotations=f"    krmfn.dev/exposure: {exposure}\n")
    exp = expand_yaml(config, stream)
    assert any(
        "annotation `krmfn.dev/exposure` must be `public`" in m and repr(exposure) in m for m in messages(exp, "error")
    )
    assert text_of(exp, "Ingress", "app") == stream.removeprefix("---\n")


def test_ingress_without_spec_is_unchanged() -> None:
    stream = "apiVersion: networking.k8s.io/v1\nkind: Ingress\nmetadata: {name: app, namespace: default}\n"
    exp = expand_yaml(INGRESS_CONFIG, EXTERNAL_DNS + "---\n" + stream)
    assert text_of(exp, "Ingress", "app") == stream


def test_ingress_the_user_took_from_external_dns_and_repeated_hosts() -> None:
    stream = ingress(["app.example.org"], annotations="    external-dns.alpha.kubernetes.io/controller: none\n")
    assert by_kind(expand_yaml(INGRESS_CONFIG, EXTERNAL_DNS + stream), "DNSEndpoint") == []
    twice = ingress(["app.example.org", "app.example.org"])
    assert len(endpoints(expand_yaml(INGRESS_CONFIG, EXTERNAL_DNS + twice), "app-ingress")) == 1


def test_route_without_namespace_gets_a_dns_endpoint_without_one() -> None:
    stream = GATEWAYS + route('["echo.example.org"]').replace("  namespace: default\n", "")
    exp = expand_yaml(CONFIG, stream)
    (dns,) = by_kind(exp, "DNSEndpoint")
    assert "namespace" not in dns["metadata"]


def test_unmarking_leaves_a_controller_value_the_user_changed() -> None:
    exp = expand_yaml(CONFIG, GATEWAYS + route('["echo.example.org"]'))
    edited = [i.text.replace("controller: none", "controller: dns-controller") for i in exp.items]
    again = expand_yaml(CONFIG.replace("    - name: example.org\n", ""), "---\n".join(edited))
    text = text_of(again, "HTTPRoute", "echo")
    assert "krmfn.dev/dns-endpoint" not in text
    assert "external-dns.alpha.kubernetes.io/controller: dns-controller" in text


def test_example_outputs_validate_against_the_schemas() -> None:
    root = Path(__file__).resolve().parents[2] / "examples"
    files = sorted(
        p for pattern in ("gateway-*/expected/**/*.yaml", "routes-*/expected/**/*.yaml") for p in root.glob(pattern)
    )
    text = "".join("---\n" + p.read_text() for p in files if p.name not in ("Kptfile", "multidomain.yaml"))
    text = text.replace("${SECRET_DOMAIN//./-}", "example-com")
    reports = assert_manifests_valid(text, substitutions={"SECRET_DOMAIN": "example.com"})
    kinds = {r.kind for r in reports if r.status == "ok"}
    assert {"Gateway", "ReferenceGrant", "HTTPRoute", "DNSEndpoint", "Ingress", "Certificate"} <= kinds
