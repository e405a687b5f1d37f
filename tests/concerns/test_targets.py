"""Every record's target exists: the tunnel's target per domain, warnings for dangling targets, one record per name."""

from __future__ import annotations

import pytest
from conftest import by_kind, expand_yaml, messages
from manifests import (
    CLOUDFLARE_TUNNEL,
    EXTERNAL_DNS,
    EXTERNAL_DNS_INSTALLATION,
    PRODUCTION_SECRETS,
    certificates,
    domains,
    gateway,
    httproute,
    https_listener,
    multidomain,
)

from krmfn.api.config import load_config
from krmfn.concerns import publication
from krmfn.expand import Expansion, expand
from krmfn.krm.yamltext import load

TUNNEL = """\
  tunnel:
    kind: HelmRelease
    name: cloudflare-tunnel
    namespace: network
    service: "https://envoy-external.{{ .Release.Namespace }}.svc.cluster.local:443"
"""
GATEWAYS = """\
  gateways:
    - name: envoy-external
      namespace: network
      dns: {target: "external.{domain}", type: CNAME}
"""
CONFIG = multidomain(
    domains("${SECRET_DOMAIN}", "example.org"),
    certificates(None, suffix="production"),
    GATEWAYS,
    EXTERNAL_DNS_INSTALLATION,
    TUNNEL,
)
#: The tunnel's own DNSEndpoint, as cluster-template writes it.
TUNNEL_ENDPOINT = """\
# The tunnel's own public name: every external route's CNAME points here
apiVersion: externaldns.k8s.io/v1alpha1
kind: DNSEndpoint
metadata:
  name: cloudflare-tunnel
  namespace: network
spec:
  endpoints:
    - dnsName: "external.${SECRET_DOMAIN}"
      recordType: CNAME
      targets: ["00000000-0000-0000-0000-000000000000.cfargotunnel.com"] # the tunnel
"""
BASE = "---\n".join([EXTERNAL_DNS, gateway(https_listener(*PRODUCTION_SECRETS)), CLOUDFLARE_TUNNEL, TUNNEL_ENDPOINT])
ROUTE = httproute("wiki", '["wiki.example.org"]')


def endpoint_text(exp: Expansion, name: str = "cloudflare-tunnel") -> str:
    return next(i.text for i in exp.items if i.header.kind == "DNSEndpoint" and i.header.name == name)


def rerun(config: str, exp: Expansion) -> Expansion:
    return expand(load_config(load(config)), exp.items, config_path="multidomain.yaml")


def test_the_tunnel_dns_endpoint_publishes_every_tunnel_domains_target() -> None:
    exp = expand_yaml(CONFIG, BASE + "---\n" + ROUTE)
    text = endpoint_text(exp)
    assert text == TUNNEL_ENDPOINT.replace(
        "  namespace: network\n",
        "  namespace: network\n  annotations:\n    krmfn.dev/endpoints: external.example.org\n",
    ) + (
        "    - dnsName: external.example.org\n      recordType: CNAME\n      targets:\n"
        "        - 00000000-0000-0000-0000-000000000000.cfargotunnel.com\n"
    )
    assert any(
        "publishes the tunnel's target external.example.org like external.${SECRET_DOMAIN}" in m for m in messages(exp)
    )
    assert not [m for m in messages(exp, "warning") if "nothing in the input publishes" in m]
    again = rerun(CONFIG, exp)
    assert [i.text for i in again.items] == [i.text for i in exp.items]


def test_a_removed_domain_loses_its_target_and_the_users_endpoints_stay() -> None:
    exp = expand_yaml(CONFIG, BASE)
    fewer = CONFIG.replace("    - name: example.org\n", "")
    again = rerun(fewer, exp)
    assert endpoint_text(again) == TUNNEL_ENDPOINT
    assert any("no longer publishes external.example.org" in m for m in messages(again))


def test_a_configured_target_without_a_dns_endpoint_is_generated() -> None:
    config = CONFIG.replace(
        "    service:", "    target: 00000000-0000-0000-0000-000000000000.cfargotunnel.com\n    service:"
    )
    stream = BASE.replace("---\n" + TUNNEL_ENDPOINT, "")
    exp = expand_yaml(config, stream + "---\n" + ROUTE)
    (made,) = [d for d in by_kind(exp, "DNSEndpoint") if d["metadata"]["name"] == "edge-tunnel"]
    assert [(e["dnsName"], e["targets"]) for e in made["spec"]["endpoints"]] == [
        ("external.${SECRET_DOMAIN}", ["00000000-0000-0000-0000-000000000000.cfargotunnel.com"]),
        ("external.example.org", ["00000000-0000-0000-0000-000000000000.cfargotunnel.com"]),
    ]
    assert made["metadata"]["namespace"] == "network"


def test_a_named_dns_endpoint_must_be_in_the_input() -> None:
    config = CONFIG.replace("    service:", "    dnsEndpoint: tunnel-records\n    service:")
    exp = expand_yaml(config, BASE)
    assert any(
        "DNSEndpoint network/tunnel-records named in `spec.tunnel.dnsEndpoint`" in m for m in messages(exp, "error")
    )


def test_a_target_nothing_publishes_is_a_warning_naming_record_target_and_publisher() -> None:
    stream = BASE.replace("---\n" + TUNNEL_ENDPOINT, "")
    echo = httproute("echo", '["echo.${SECRET_DOMAIN}"]')
    exp = expand_yaml(CONFIG, stream + "---\n" + ROUTE + "---\n" + echo)
    (warning,) = [m for m in messages(exp, "warning") if "nothing in the input publishes" in m]
    assert warning.startswith(
        "wiki.example.org CNAME external.example.org (in DNSEndpoint default/wiki-httproute) points at "
        "external.example.org, which nothing in the input publishes"
    )
    assert "`spec.tunnel.target`" in warning
    # the primary's target was in use before krmfn: taken to be published outside the input
    assert any(
        m.startswith("external.${SECRET_DOMAIN}, which records of the input already point at (the target annotation")
        for m in messages(exp, "info")
    )


def test_a_gateways_infrastructure_hostname_publishes_a_target() -> None:
    no_tunnel = multidomain(
        domains("${SECRET_DOMAIN}", "example.org"),
        certificates(None, suffix="production"),
        GATEWAYS,
        EXTERNAL_DNS_INSTALLATION,
    )
    lb = gateway(https_listener(*PRODUCTION_SECRETS)).replace(
        "spec:\n",
        "spec:\n  infrastructure:\n    annotations:\n"
        '      external-dns.alpha.kubernetes.io/hostname: "external.${SECRET_DOMAIN},external.example.org"\n',
        1,
    )
    exp = expand_yaml(no_tunnel, EXTERNAL_DNS + "---\n" + lb + "---\n" + ROUTE)
    assert not [m for m in messages(exp) if "published by nothing" in m or "nothing in the input publishes" in m]


def test_two_records_for_one_name_are_a_warning_naming_both() -> None:
    user = TUNNEL_ENDPOINT.replace("cloudflare-tunnel", "by-hand").replace(
        '"external.${SECRET_DOMAIN}"', '"echo.${SECRET_DOMAIN}"'
    )
    echo = httproute("echo", '["echo.${SECRET_DOMAIN}"]')
    exp = expand_yaml(CONFIG, BASE + "---\n" + user + "---\n" + echo)
    (warning,) = [m for m in messages(exp, "warning") if "must have one record" in m]
    assert (
        "echo.${SECRET_DOMAIN} must have one record, but HelmRelease network/cloudflare-dns would publish it" in warning
    )
    assert "DNSEndpoint network/by-hand → 00000000-0000-0000-0000-000000000000.cfargotunnel.com" in warning
    assert "HTTPRoute default/echo → external.${SECRET_DOMAIN}" in warning


def test_routes_on_a_gateway_the_installation_does_not_read_are_no_conflict() -> None:
    user = TUNNEL_ENDPOINT.replace("cloudflare-tunnel", "by-hand").replace(
        '"external.${SECRET_DOMAIN}"', '"echo.${SECRET_DOMAIN}"'
    )
    internal = gateway(https_listener(*PRODUCTION_SECRETS), name="envoy-internal", target="internal.${SECRET_DOMAIN}")
    echo = httproute("echo", '["echo.${SECRET_DOMAIN}"]', parents="[{name: envoy-internal, namespace: network}]")
    exp = expand_yaml(CONFIG, BASE + "---\n" + internal + "---\n" + user + "---\n" + echo)
    assert not [m for m in messages(exp, "warning") if "must have one record" in m]  # --gateway-name=envoy-external


def test_without_configured_installations_the_users_tunnel_endpoint_is_extended() -> None:
    """Something reads the tunnel's own DNSEndpoint already; with no installation listed, nothing says no."""
    config = CONFIG.replace(EXTERNAL_DNS_INSTALLATION, "")
    exp = expand_yaml(config, BASE)
    assert "external.example.org" in endpoint_text(exp)
    assert messages(exp, "error") == []


def test_filters_that_do_not_admit_the_new_target_stop_it() -> None:
    config = CONFIG.replace(
        "    - {kind: HelmRelease, name: cloudflare-dns, namespace: network}\n",
        "    - {kind: HelmRelease, name: cloudflare-dns, namespace: network, domains: ['${SECRET_DOMAIN}']}\n",
    )
    exp = expand_yaml(config, BASE)
    assert "external.example.org" not in endpoint_text(exp)
    (error,) = [m for m in messages(exp, "error") if "tunnel's target" in m]
    assert "admit the tunnel's target external.example.org" in error


def test_routes_on_a_gateway_outside_the_label_filter_are_no_conflict() -> None:
    """phycoforce/home-ops: the Cloudflare installation reads only Gateways labelled `type=external`."""
    by_label = EXTERNAL_DNS.replace("--gateway-name=envoy-external", "--gateway-label-filter=type=external")
    user = TUNNEL_ENDPOINT.replace("cloudflare-tunnel", "by-hand").replace(
        '"external.${SECRET_DOMAIN}"', '"echo.${SECRET_DOMAIN}"'
    )
    labelled = "metadata:\n  labels:\n    type: {}\n  name: "
    external = gateway(https_listener(*PRODUCTION_SECRETS)).replace("metadata:\n  name: ", labelled.format("external"))
    internal = gateway(
        https_listener(*PRODUCTION_SECRETS), name="envoy-internal", target="internal.${SECRET_DOMAIN}"
    ).replace("metadata:\n  name: ", labelled.format("internal"))
    echo = httproute("echo", '["echo.${SECRET_DOMAIN}"]', parents="[{name: envoy-internal, namespace: network}]")
    rest = [CLOUDFLARE_TUNNEL, TUNNEL_ENDPOINT, user, echo]
    exp = expand_yaml(CONFIG, "---\n".join([by_label, external, internal, *rest]))
    assert not [m for m in messages(exp, "warning") if "must have one record" in m]
    # the same route on the Gateway the filter selects is read, and the conflict is said
    exp = expand_yaml(
        CONFIG, "---\n".join([by_label, external, internal, *rest]).replace("type: internal", "type: external")
    )
    assert [m for m in messages(exp, "warning") if "must have one record" in m]


@pytest.mark.parametrize(
    ("selector", "labels", "matches"),
    [
        ("type=external", {"type": "external"}, True),
        ("type==external", {"type": "internal"}, False),
        ("type!=internal", {}, True),
        ("type in (external, public),tier", {"type": "public", "tier": "1"}, True),
        ("type in (external, public),tier", {"type": "public"}, False),
        ("type notin (internal)", {"type": "internal"}, False),
        ("!internal", {"internal": "yes"}, False),
        ("!internal", {}, True),
        ("", {"anything": "x"}, True),
    ],
)
def test_label_selectors_as_kubernetes_parses_them(selector: str, labels: dict[str, str], matches: bool) -> None:
    assert publication.selector_matches(selector, labels) is matches
