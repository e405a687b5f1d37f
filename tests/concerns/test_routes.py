"""The route checks of SPEC §9: hostnames no certificate or domain covers, unknown gateways."""

from __future__ import annotations

import pytest
from conftest import expand_yaml
from manifests import CERTIFICATES, GATEWAYS, gateway, httproute, multidomain

from krmfn.krm.results import Result

CONFIG = multidomain(
    """\
  domains:
    - name: example.com
    - name: example.org
      extraDNSNames: ["*.lab.example.org"]
    - name: dev.example.com
      gateways: [envoy-internal]
""",
    CERTIFICATES,
    GATEWAYS,
)


def route(
    hostnames: str, parents: str = "[{name: envoy-external, namespace: network}]", kind: str = "HTTPRoute"
) -> str:
    return "---\n" + httproute("app", hostnames, parents=parents, kind=kind)


def results(stream: str, config: str = CONFIG) -> list[Result]:
    # Gateways are absent from these streams: their errors are not what is checked here.
    return [r for r in expand_yaml(config, stream).results if "must be in the input" not in r.message]


def warnings(stream: str, config: str = CONFIG) -> list[str]:
    return [r.message for r in results(stream, config) if r.severity == "warning"]


@pytest.mark.parametrize(
    "hostname",
    ["example.com", "app.example.com", "*.example.com", "app.example.org", "a.lab.example.org", "*.lab.example.org"],
)
def test_covered_hostnames_give_no_warning(hostname: str) -> None:
    assert warnings(route(f'["{hostname}"]')) == []


def test_hostname_under_no_managed_domain_is_a_warning_naming_the_route() -> None:
    (res,) = [r for r in results(route('["app.example.net"]')) if r.severity == "warning"]
    assert res.message == (
        "hostname 'app.example.net' of HTTPRoute default/app must be under a domain in `spec.domains`; "
        "it is under none, so no generated certificate or DNS record serves it"
    )
    assert res.field == "spec.hostnames[0]"
    assert res.resource is not None
    assert res.resource.name == "app"


def test_hostname_two_labels_below_its_domain_suggests_extra_dns_names() -> None:
    (message,) = warnings(route('["a.b.example.com"]'))
    assert "hostname 'a.b.example.com' of HTTPRoute default/app must be covered by a certificate name" in message
    assert "`*.example.com` does not cover it" in message
    assert "Cloudflare's Universal SSL certificate" in message
    assert "`spec.domains[0].extraDNSNames`" in message


def test_wildcard_route_hostname_deeper_than_the_certificate_is_a_warning() -> None:
    (message,) = warnings(route('["*.b.example.com"]'))
    assert "'*.b.example.com'" in message


def test_nested_managed_domain_counts_as_the_hostname_domain() -> None:
    stream = route('["app.dev.example.com"]', "[{name: envoy-internal, namespace: network}]")
    assert warnings(stream) == []


def test_one_label_name_of_a_domain_without_wildcard() -> None:
    config = CONFIG.replace("    - name: example.com\n", "    - name: example.com\n      wildcard: false\n")
    (message,) = warnings(route('["app.example.com"]'), config)
    assert "the certificate of 'example.com' does not cover it; add it" in message
    assert "Cloudflare" not in message


def test_domain_not_attached_to_the_gateway_is_a_warning() -> None:
    (message,) = warnings(route('["app.dev.example.com"]'))
    assert message == (
        "hostname 'app.dev.example.com' of HTTPRoute default/app is on domain 'dev.example.com', which "
        "`spec.domains[2].gateways` does not attach to Gateway network/envoy-external (`spec.gateways[0]`); "
        "that gateway serves no certificate for it"
    )


def test_route_on_an_unknown_gateway_is_an_info_and_its_hostnames_are_not_checked() -> None:
    res = results(route('["app.example.net"]', "[{name: traefik}]", kind="GRPCRoute"))
    infos = [r for r in res if r.severity == "info" and "does not list" in r.message]
    assert len(infos) == 1
    assert infos[0].message.startswith(
        "GRPCRoute default/app is attached to Gateway default/traefik, which `spec.gateways` does not list"
    )
    assert infos[0].field == "spec.parentRefs[0]"
    assert not [r for r in res if r.severity == "warning"]


def test_parent_refs_that_are_not_gateways_and_routes_without_spec_are_ignored() -> None:
    stream = route('["app.example.net"]', "[{name: svc, kind: Service, group: ''}, {name: x}]")
    unknown = [r.message for r in results(stream) if "does not list" in r.message]
    assert len(unknown) == 1
    assert "Gateway default/x" in unknown[0]
    bare = "apiVersion: gateway.networking.k8s.io/v1\nkind: HTTPRoute\nmetadata: {name: bare, namespace: default}\n"
    assert not [r for r in results(bare) if "bare" in r.message]


@pytest.mark.parametrize(
    ("refs", "expected"),
    [
        # the template serves no domain: perDomain replaces it, so `https` no longer exists
        ("      tls: {mode: Terminate}\n", ["https"]),
        # the template lists the first domain's Secret: it keeps its name, the route still attaches
        ("      tls:\n        certificateRefs: [{kind: Secret, name: example-com-tls}]\n", []),
    ],
)
def test_section_name_must_name_a_listener_the_gateway_has_after_per_domain(refs: str, expected: list[str]) -> None:
    config = CONFIG.replace(
        "      namespace: network\n    - name: envoy-internal",
        "      namespace: network\n      mode: perDomain\n    - name: envoy-internal",
    )
    gw = "---\n" + gateway("    - name: https\n      protocol: HTTPS\n      port: 443\n" + refs)
    named = route('["app.example.com"]', "[{name: envoy-external, namespace: network, sectionName: https}]")
    found = [m for m in warnings(gw + named, config) if "sectionName" in m]
    assert [m.split("names listener ")[1].split(" ")[0].strip("'") for m in found] == expected
    if found:
        assert "which Gateway network/envoy-external does not have (it has https-example-com, " in found[0]
        assert "`spec.gateways[0].mode: perDomain` gives each domain listeners of its own" in found[0]
    assert [m for m in warnings(gw + route('["app.example.com"]'), config) if "sectionName" in m] == []


def test_parent_ref_without_a_name_is_ignored() -> None:
    stream = route('["app.example.net"]', "[{namespace: network}]")
    assert not [r for r in results(stream) if "app.example.net" in r.message or "does not list" in r.message]
