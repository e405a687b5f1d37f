"""Gateway listeners list every attached domain's Secret; ReferenceGrants; perDomain mode (SPEC §5)."""

from __future__ import annotations

from typing import Any

import pytest
from conftest import by_kind, expand_yaml, flux_substitute, messages
from crdschema import assert_manifests_valid
from manifests import (
    DOMAINS,
    ENVOY_EXTERNAL,
    ENVOY_EXTERNAL_HOSTNAMES,
    ENVOY_INTERNAL,
    GATEWAYS,
    HTTPS_REDIRECT,
    certificates,
    httproute,
    multidomain,
)

from krmfn.api.config import load_config
from krmfn.errors import ConfigError
from krmfn.expand import Expansion, expand
from krmfn.krm.yamltext import load

CONFIG = multidomain(DOMAINS, certificates(None, suffix="production"), GATEWAYS)
SEED = ENVOY_EXTERNAL + "---\n" + ENVOY_INTERNAL


def gateway(exp: Expansion, name: str = "envoy-external") -> dict[str, Any]:
    return next(g for g in by_kind(exp, "Gateway") if g["metadata"]["name"] == name)


def refs(exp: Expansion, name: str = "envoy-external", listener: str = "https") -> list[dict[str, Any]]:
    spec: Any = gateway(exp, name)["spec"]
    return next(x["tls"]["certificateRefs"] for x in spec["listeners"] if x["name"] == listener)


def text_of(exp: Expansion, kind: str, name: str) -> str:
    return next(i.text for i in exp.items if i.header.kind == kind and i.header.name == name)


def rerun(config: str, exp: Expansion) -> Expansion:
    return expand(load_config(load(config)), exp.items, config_path="multidomain.yaml")


def assert_idempotent(config: str, exp: Expansion) -> None:
    again = rerun(config, exp)
    assert [i.text for i in again.items] == [i.text for i in exp.items]
    assert not [m for m in messages(again) if m.startswith(("patched", "generated", "updated", "pruned"))]


# --- shared listener ---------------------------------------------------------------------


def test_seed_ref_is_replaced_and_every_domain_listed_primary_first() -> None:
    exp = expand_yaml(CONFIG, SEED)
    assert refs(exp) == [
        {"kind": "Secret", "name": "${SECRET_DOMAIN//./-}-production-tls"},
        {"kind": "Secret", "name": "example-org-production-tls"},
    ]
    assert refs(exp, "envoy-internal") == refs(exp)
    infos = messages(exp, "info")
    assert any("replaced certificateRef(s) '${SECRET_DOMAIN/./-}-production-tls'" in m for m in infos)
    assert any(m.startswith("patched Gateway network/envoy-external: listener 'https'") for m in infos)
    assert not messages(exp, "error")


def test_patch_keeps_comments_quotes_and_untouched_listeners() -> None:
    text = text_of(expand_yaml(CONFIG, SEED), "Gateway", "envoy-external")
    assert "    - name: https # all domains, one listener\n" in text
    assert '          from: "All"\n' in text
    assert "    - name: http\n      protocol: HTTP\n      port: 80\n" in text
    assert (
        "krmfn.dev/certificate-refs: network/${SECRET_DOMAIN//./-}-production-tls,network/example-org-production-tls"
        in text
    )


def test_primary_goes_first_whatever_the_config_order() -> None:
    config = CONFIG.replace("- name: example.org", "- name: example.org\n      primary: true")
    assert [r["name"] for r in refs(expand_yaml(config, SEED))] == [
        "example-org-production-tls",
        "${SECRET_DOMAIN//./-}-production-tls",
    ]


def test_refs_not_managed_are_kept_after_the_managed_ones() -> None:
    stream = ENVOY_EXTERNAL.replace(
        "            name: ${SECRET_DOMAIN/./-}-production-tls # the seed's form\n",
        "            name: legacy-tls\n"
        "          - kind: Secret\n"
        "            name: ${SECRET_DOMAIN/./-}-production-tls\n",
    )
    config = CONFIG.replace("    - name: envoy-internal\n      namespace: network\n", "")
    assert [r["name"] for r in refs(expand_yaml(config, stream))] == [
        "${SECRET_DOMAIN//./-}-production-tls",
        "example-org-production-tls",
        "legacy-tls",
    ]


def test_second_run_changes_nothing() -> None:
    exp = expand_yaml(CONFIG, SEED)
    assert_idempotent(CONFIG, exp)


def test_already_right_gateway_comes_out_byte_identical() -> None:
    once = expand_yaml(CONFIG, SEED)
    stream = text_of(once, "Gateway", "envoy-external")
    config = CONFIG.replace("    - name: envoy-internal\n      namespace: network\n", "")
    again = expand_yaml(config, stream)
    assert text_of(again, "Gateway", "envoy-external") == stream
    assert not [m for m in messages(again) if m.startswith("patched")]


def test_gateway_not_in_config_passes_through_unchanged() -> None:
    config = CONFIG.replace("    - name: envoy-internal\n      namespace: network\n", "")
    exp = expand_yaml(config, SEED)
    assert text_of(exp, "Gateway", "envoy-internal") == ENVOY_INTERNAL


def test_only_attached_domains_are_listed() -> None:
    config = CONFIG.replace("- name: example.org", "- name: example.org\n      gateways: [envoy-external]")
    exp = expand_yaml(config, SEED)
    assert len(refs(exp)) == 2
    assert refs(exp, "envoy-internal") == [{"kind": "Secret", "name": "${SECRET_DOMAIN//./-}-production-tls"}]


def test_gateway_no_domain_attaches_to_is_left_alone() -> None:
    config = CONFIG.replace(
        "- name: ${SECRET_DOMAIN}", "- name: ${SECRET_DOMAIN}\n      gateways: [envoy-external]"
    ).replace("- name: example.org", "- name: example.org\n      gateways: [envoy-external]")
    exp = expand_yaml(config, SEED)
    assert text_of(exp, "Gateway", "envoy-internal") == ENVOY_INTERNAL


def test_domain_removed_from_config_loses_its_ref() -> None:
    exp = expand_yaml(CONFIG, SEED)
    config = CONFIG.replace("    - name: example.org\n", "")
    again = rerun(config, exp)
    assert refs(again) == [{"kind": "Secret", "name": "${SECRET_DOMAIN//./-}-production-tls"}]
    assert any("removed certificateRef(s) 'example-org-production-tls'" in m for m in messages(again, "info"))


def test_duplicate_managed_refs_are_listed_once() -> None:
    stream = ENVOY_EXTERNAL.replace(
        "            name: ${SECRET_DOMAIN/./-}-production-tls # the seed's form\n",
        "            name: ${SECRET_DOMAIN/./-}-production-tls\n          - kind: Secret\n"
        "            name: ${SECRET_DOMAIN//./-}-production-tls\n",
    )
    config = CONFIG.replace("    - name: envoy-internal\n      namespace: network\n", "")
    exp = expand_yaml(config, stream)
    assert [r["name"] for r in refs(exp)] == ["${SECRET_DOMAIN//./-}-production-tls", "example-org-production-tls"]
    assert any("removed certificateRef(s)" in m for m in messages(exp, "info"))


@pytest.mark.parametrize(
    ("old", "new", "expected"),
    [
        ("    - name: https # all domains, one listener\n", "    - name: web\n", "must have the listener 'https'"),
        ("      protocol: HTTPS\n", "      protocol: TCP\n", "must have protocol HTTPS or TLS"),
        ("      tls:\n", "      tls:\n        mode: Passthrough\n", "TLS mode 'Passthrough'"),
    ],
)
def test_listener_that_cannot_serve_certificates_is_an_error(old: str, new: str, expected: str) -> None:
    config = CONFIG.replace("    - name: envoy-internal\n      namespace: network\n", "")
    stream = ENVOY_EXTERNAL.replace(old, new)
    exp = expand_yaml(config, stream)
    errors = messages(exp, "error")
    assert any(expected in m and "Gateway network/envoy-external" in m for m in errors), errors
    assert text_of(exp, "Gateway", "envoy-external") == stream


def test_listener_error_names_the_listeners_there_are() -> None:
    config = CONFIG.replace("listener: https", "").replace(
        "namespace: network\n    - name: envoy-internal",
        "namespace: network\n      listener: websecure\n    - name: envoy-internal",
    )
    exp = expand_yaml(config, ENVOY_EXTERNAL)
    assert any("listener 'websecure'" in m and "its listeners are 'http', 'https'" in m for m in messages(exp, "error"))


def test_gateway_without_listeners_is_an_error() -> None:
    stream = (
        "apiVersion: gateway.networking.k8s.io/v1\nkind: Gateway\n"
        "metadata: {name: envoy-external, namespace: network}\nspec: {}\n"
    )
    config = CONFIG.replace("    - name: envoy-internal\n      namespace: network\n", "")
    assert any("must have `spec.listeners`" in m for m in messages(expand_yaml(config, stream), "error"))


def test_missing_gateway_is_an_error_naming_the_config_field() -> None:
    exp = expand_yaml(CONFIG, ENVOY_EXTERNAL)
    errors = [res for res in exp.results if res.severity == "error"]
    assert len(errors) == 1
    assert "Gateway network/envoy-internal" in errors[0].message
    assert errors[0].field == "spec.gateways[1]"


def test_more_than_64_refs_is_an_error() -> None:
    domains = "".join(f"    - name: d{i}.example.net\n" for i in range(64))
    config = CONFIG.replace("    - name: example.org\n", "    - name: example.org\n" + domains).replace(
        "    - name: envoy-internal\n      namespace: network\n", ""
    )
    exp = expand_yaml(config, ENVOY_EXTERNAL)
    assert any("at most 64 `tls.certificateRefs`" in m and "it would have 66" in m for m in messages(exp, "error"))
    assert text_of(exp, "Gateway", "envoy-external") == ENVOY_EXTERNAL


def test_old_secret_in_another_namespace_gets_a_warning() -> None:
    config = CONFIG.replace(
        "    nameSuffix: production\n", "    nameSuffix: production\n    namespace: cert-manager\n"
    ).replace("    - name: envoy-internal\n      namespace: network\n", "")
    exp = expand_yaml(config, ENVOY_EXTERNAL)
    assert [r.get("namespace") for r in refs(exp)] == ["cert-manager", "cert-manager", None]
    assert any(
        "lists Secret 'network/${SECRET_DOMAIN//./-}-production-tls' beside the generated" in m
        for m in messages(exp, "warning")
    )


# --- ReferenceGrants -----------------------------------------------------------------------

CROSS = CONFIG.replace("    nameSuffix: production\n", "    nameSuffix: production\n    namespace: cert-manager\n")


def test_cross_namespace_secrets_get_namespaced_refs_and_a_reference_grant() -> None:
    exp = expand_yaml(CROSS, SEED)
    assert refs(exp)[:2] == [
        {"kind": "Secret", "name": "${SECRET_DOMAIN//./-}-production-tls", "namespace": "cert-manager"},
        {"kind": "Secret", "name": "example-org-production-tls", "namespace": "cert-manager"},
    ]
    (grant,) = by_kind(exp, "ReferenceGrant")
    assert grant["apiVersion"] == "gateway.networking.k8s.io/v1beta1"
    assert grant["metadata"]["name"] == "edge-gateways-network"
    assert grant["metadata"]["namespace"] == "cert-manager"
    assert grant["metadata"]["annotations"]["krmfn.dev/owned-by"] == "MultiDomain/edge"
    assert grant["spec"] == {
        "from": [{"group": "gateway.networking.k8s.io", "kind": "Gateway", "namespace": "network"}],
        "to": [
            {"group": "", "kind": "Secret", "name": "${SECRET_DOMAIN//./-}-production-tls"},
            {"group": "", "kind": "Secret", "name": "example-org-production-tls"},
        ],
    }
    assert_idempotent(CROSS, exp)


def test_reference_grant_v1_setting_and_pruning() -> None:
    config = CROSS.replace("spec:\n", "spec:\n  referenceGrantVersion: v1\n", 1)
    exp = expand_yaml(config, SEED)
    (grant,) = by_kind(exp, "ReferenceGrant")
    assert grant["apiVersion"] == "gateway.networking.k8s.io/v1"
    same_namespace = rerun(CONFIG, exp)
    assert by_kind(same_namespace, "ReferenceGrant") == []
    assert any(
        m.startswith("pruned ReferenceGrant cert-manager/edge-gateways-network")
        for m in messages(same_namespace, "info")
    )
    assert all("namespace" not in r for r in refs(same_namespace))


def test_no_reference_grant_when_secrets_live_beside_the_gateway() -> None:
    assert by_kind(expand_yaml(CONFIG, SEED), "ReferenceGrant") == []


def test_a_shared_listener_with_a_hostname_serves_only_the_domain_it_admits() -> None:
    """Thakurvaibhav/k8s: `hostname: '*.dev.…'` on the shared listener; the other domain's names never attach."""
    config = CONFIG.replace("    - name: envoy-internal\n      namespace: network\n", "")
    exp = expand_yaml(config, ENVOY_EXTERNAL_HOSTNAMES)
    assert refs(exp) == [{"kind": "Secret", "name": "${SECRET_DOMAIN//./-}-production-tls"}]
    (warning,) = messages(exp, "warning")
    assert warning.startswith(
        "listener 'https' of Gateway network/envoy-external has `hostname: *.${SECRET_DOMAIN}`, so it answers only "
        "for names under it and serves none of example.org"
    )
    assert "`spec.gateways[0].mode: perDomain`" in warning
    assert_idempotent(config, exp)


@pytest.mark.parametrize(
    ("hostname", "admitted"),
    [
        ("example.org", True),  # the apex listener
        ("'*.example.org'", True),
        ("app.example.org", True),  # one host the wildcard certificate holds
        ("'*.dev.example.org'", False),  # two labels down: `*.example.org` holds none of its names
        ("'*.org'", True),  # admits every name of the domain
        ("example.net", False),
    ],
)
def test_which_listener_hostnames_admit_a_domain(hostname: str, admitted: bool) -> None:
    config = CONFIG.replace("    - name: envoy-internal\n      namespace: network\n", "").replace(
        "    - name: ${SECRET_DOMAIN}\n", ""
    )
    stream = gateway_with(
        "    - name: https\n      protocol: HTTPS\n      port: 443\n      hostname: " + hostname + "\n"
    )
    listed = [r["name"] for r in refs(expand_yaml(config, stream))] if admitted else []
    assert listed == (["example-org-production-tls"] if admitted else [])
    if not admitted:
        exp = expand_yaml(config, stream)
        assert any("serves none of example.org" in m for m in messages(exp, "warning"))


def gateway_with(listeners: str) -> str:
    return ENVOY_EXTERNAL.split("  listeners:\n")[0] + "  listeners:\n" + listeners


# --- the Service's hostname annotation ---------------------------------------------------

INFRA = ENVOY_EXTERNAL.replace(
    "spec:\n",
    "spec:\n  infrastructure:\n    annotations:\n      external-dns.alpha.kubernetes.io/hostname: "
    "external.${SECRET_DOMAIN}\n      lbipam.cilium.io/ips: 10.0.0.1\n",
)
DNS = CONFIG.replace(
    "    - name: envoy-external\n      namespace: network\n",
    "    - name: envoy-external\n      namespace: network\n      dns: {target: 'external.{domain}'}\n",
)


def hostname_annotation(exp: Expansion) -> str:
    return str(gateway(exp)["spec"]["infrastructure"]["annotations"]["external-dns.alpha.kubernetes.io/hostname"])


def test_the_services_hostname_annotation_names_every_attached_domains_target() -> None:
    exp = expand_yaml(DNS, INFRA)
    assert hostname_annotation(exp) == "external.${SECRET_DOMAIN},external.example.org"
    assert gateway(exp)["metadata"]["annotations"]["krmfn.dev/infrastructure-hostnames"] == "external.example.org"
    assert gateway(exp)["spec"]["infrastructure"]["annotations"]["lbipam.cilium.io/ips"] == "10.0.0.1"
    assert_idempotent(DNS, exp)
    removed = rerun(DNS.replace("    - name: example.org\n", ""), exp)
    assert hostname_annotation(removed) == "external.${SECRET_DOMAIN}"
    assert "krmfn.dev/infrastructure-hostnames" not in gateway(removed)["metadata"]["annotations"]


def test_the_services_hostname_annotation_keeps_the_users_names_and_aliases_resolve() -> None:
    aliased = INFRA.replace(
        "    external-dns.alpha.kubernetes.io/target: external.${SECRET_DOMAIN}\n",
        "    external-dns.alpha.kubernetes.io/target: &hostname external.${SECRET_DOMAIN}\n",
    ).replace("hostname: external.${SECRET_DOMAIN}\n      lbipam", "hostname: *hostname\n      lbipam")
    exp = expand_yaml(DNS, aliased)
    assert hostname_annotation(exp) == "external.${SECRET_DOMAIN},external.example.org"
    assert gateway(exp)["metadata"]["annotations"]["external-dns.alpha.kubernetes.io/target"] == (
        "external.${SECRET_DOMAIN}"
    )
    mine = expand_yaml(DNS, INFRA.replace("hostname: external.${SECRET_DOMAIN}", "hostname: lan.example.net"))
    assert hostname_annotation(mine) == "lan.example.net,external.${SECRET_DOMAIN},external.example.org"


@pytest.mark.parametrize(
    ("config", "stream"),
    [
        (DNS, SEED),  # no infrastructure annotation: none is added
        (CONFIG, INFRA),  # no DNS target configured: nothing to list
    ],
)
def test_the_services_hostname_annotation_must_not_change(config: str, stream: str) -> None:
    exp = expand_yaml(config, stream)
    infrastructure = gateway(exp)["spec"].get("infrastructure")
    assert infrastructure == load(stream.split("---\n", maxsplit=1)[0])["spec"].get("infrastructure")


# --- perDomain mode ----------------------------------------------------------------------

PER_DOMAIN = CONFIG.replace(
    "      namespace: network\n    - name: envoy-internal",
    "      namespace: network\n      mode: perDomain\n    - name: envoy-internal",
).replace("    - name: envoy-internal\n      namespace: network\n", "")


def listeners(exp: Expansion) -> list[dict[str, Any]]:
    return gateway(exp)["spec"]["listeners"]  # type: ignore[no-any-return]


#: A template listener that serves no domain yet (no hostname, no Secret): replaced by the pairs.
BARE_TEMPLATE = ENVOY_EXTERNAL.replace(
    """      tls:
        certificateRefs:
          - kind: Secret
            name: ${SECRET_DOMAIN/./-}-production-tls # the seed's form
""",
    "      tls:\n        mode: Terminate\n",
)


def names(exp: Expansion, name: str = "envoy-external") -> list[str]:
    return [x["name"] for x in gateway(exp, name)["spec"]["listeners"]]


def test_per_domain_mode_replaces_a_bare_template_by_one_pair_per_domain() -> None:
    exp = expand_yaml(PER_DOMAIN, BARE_TEMPLATE)
    got = listeners(exp)
    assert names(exp) == [
        "http",
        "https-${SECRET_DOMAIN//./-}",
        "https-${SECRET_DOMAIN//./-}-apex",
        "https-example-org",
        "https-example-org-apex",
    ]
    assert got[1]["hostname"] == "*.${SECRET_DOMAIN}"
    assert got[2]["hostname"] == "${SECRET_DOMAIN}"
    assert got[3] == {
        "name": "https-example-org",
        "hostname": "*.example.org",
        "protocol": "HTTPS",
        "port": 443,
        "allowedRoutes": {"namespaces": {"from": "All"}},
        "tls": {"mode": "Terminate", "certificateRefs": [{"kind": "Secret", "name": "example-org-production-tls"}]},
    }
    assert_idempotent(PER_DOMAIN, exp)


def test_per_domain_mode_keeps_the_listener_that_serves_a_domain_under_its_name() -> None:
    """The template's `https` lists the first domain's Secret: it stays `https`, routes naming it still attach."""
    exp = expand_yaml(
        PER_DOMAIN, ENVOY_EXTERNAL + "---\n" + httproute("app", '["app.${SECRET_DOMAIN}"]', parents=SECTION)
    )
    assert names(exp) == ["http", "https", "https-example-org", "https-example-org-apex"]
    assert listeners(exp)[1] == load(ENVOY_EXTERNAL)["spec"]["listeners"][1]
    assert not [m for m in messages(exp, "warning") if "sectionName" in m]
    assert_idempotent(PER_DOMAIN, exp)


SECTION = "[{name: envoy-external, namespace: network, sectionName: https}]"
PHYCO = PER_DOMAIN.replace("    - name: example.org\n", "    - {name: example.org, gateways: [envoy-external]}\n")


def redirect_refs(exp: Expansion) -> list[dict[str, Any]]:
    route = next(x for x in by_kind(exp, "HTTPRoute") if x["metadata"]["name"] == "https-redirect")
    return route["spec"]["parentRefs"]  # type: ignore[no-any-return]


def test_per_domain_mode_with_hostname_listeners_adds_an_https_and_an_http_pair_and_attaches_the_redirect() -> None:
    exp = expand_yaml(PHYCO, ENVOY_EXTERNAL_HOSTNAMES + "---\n" + HTTPS_REDIRECT)
    assert names(exp) == [
        "http",
        "http-example-org",
        "http-example-org-apex",
        "https",
        "https-example-org",
        "https-example-org-apex",
    ]
    got = {x["name"]: x for x in listeners(exp)}
    original = {x["name"]: x for x in load(ENVOY_EXTERNAL_HOSTNAMES)["spec"]["listeners"]}
    assert got["https"] == original["https"]
    assert got["http"] == original["http"]
    assert got["http-example-org"] == {**original["http"], "name": "http-example-org", "hostname": "*.example.org"}
    assert got["http-example-org-apex"]["hostname"] == "example.org"
    assert got["https-example-org-apex"]["tls"]["certificateRefs"] == [
        {"kind": "Secret", "name": "example-org-production-tls"}
    ]
    assert [r.get("sectionName") for r in redirect_refs(exp)] == ["http", "http-example-org", "http-example-org-apex"]
    assert redirect_refs(exp)[1] == {
        "name": "envoy-external",
        "namespace": "network",
        "sectionName": "http-example-org",
    }
    assert_idempotent(PHYCO, exp)
    text = "".join("---\n" + i.text for i in exp.items if i.header.kind in ("Gateway", "HTTPRoute"))
    assert_manifests_valid(flux_substitute(text))


def test_per_domain_mode_prunes_the_listeners_and_parent_refs_of_a_removed_domain() -> None:
    exp = expand_yaml(PHYCO, ENVOY_EXTERNAL_HOSTNAMES + "---\n" + HTTPS_REDIRECT)
    one = PHYCO.replace("    - {name: example.org, gateways: [envoy-external]}\n", "")
    again = rerun(one, exp)
    assert text_of(again, "Gateway", "envoy-external") == ENVOY_EXTERNAL_HOSTNAMES
    assert text_of(again, "HTTPRoute", "https-redirect") == HTTPS_REDIRECT


@pytest.mark.parametrize(
    "route",
    [
        # not a redirect: it serves content on the http listener
        HTTPS_REDIRECT.replace("scheme: https", "scheme: http"),
        # a redirect on another gateway
        HTTPS_REDIRECT.replace("    - name: envoy-external\n", "    - name: envoy-internal\n"),
    ],
)
def test_per_domain_mode_leaves_http_alone_without_a_redirect_route_on_it(route: str) -> None:
    exp = expand_yaml(PHYCO, ENVOY_EXTERNAL_HOSTNAMES + "---\n" + route)
    assert names(exp) == ["http", "https", "https-example-org", "https-example-org-apex"]
    assert text_of(exp, "HTTPRoute", "https-redirect") == route


def test_per_domain_mode_adds_no_http_listener_where_the_http_listener_admits_every_name() -> None:
    exp = expand_yaml(PER_DOMAIN, ENVOY_EXTERNAL + "---\n" + HTTPS_REDIRECT)
    assert names(exp) == ["http", "https", "https-example-org", "https-example-org-apex"]
    assert text_of(exp, "HTTPRoute", "https-redirect") == HTTPS_REDIRECT


def test_per_domain_mode_prunes_the_listeners_of_a_removed_domain() -> None:
    exp = expand_yaml(PER_DOMAIN, BARE_TEMPLATE)
    again = rerun(PER_DOMAIN.replace("    - name: example.org\n", ""), exp)
    assert names(again) == ["http", "https-${SECRET_DOMAIN//./-}", "https-${SECRET_DOMAIN//./-}-apex"]


def test_per_domain_mode_keeps_edits_to_a_generated_listener() -> None:
    exp = expand_yaml(PER_DOMAIN, BARE_TEMPLATE)
    edited = [
        i.text.replace("      port: 443\n", "      port: 8443\n", 1) if i.header.kind == "Gateway" else i.text
        for i in exp.items
    ]
    again = expand_yaml(PER_DOMAIN, "---\n".join(edited))
    assert [x["port"] for x in listeners(again)] == [80, 8443, 443, 443, 443]


def test_per_domain_mode_without_wildcard_has_only_the_apex_listener() -> None:
    config = PER_DOMAIN.replace("- name: example.org", "- name: example.org\n      wildcard: false")
    got = names(expand_yaml(config, BARE_TEMPLATE))
    assert "https-example-org-apex" in got
    assert "https-example-org" not in got


def test_per_domain_mode_warns_above_64_listeners() -> None:
    domains = "".join(f"    - name: d{i}.example.net\n" for i in range(31))
    exp = expand_yaml(
        PER_DOMAIN.replace("    - name: example.org\n", "    - name: example.org\n" + domains), BARE_TEMPLATE
    )
    assert any("would have 67 listeners" in m for m in messages(exp, "warning"))
    assert text_of(exp, "Gateway", "envoy-external") == BARE_TEMPLATE


def test_per_domain_mode_needs_an_https_template() -> None:
    exp = expand_yaml(PER_DOMAIN, ENVOY_EXTERNAL.replace("      protocol: HTTPS\n", "      protocol: TLS\n"))
    assert any("must have protocol HTTPS and terminate TLS" in m for m in messages(exp, "error"))
    missing = expand_yaml(PER_DOMAIN, ENVOY_EXTERNAL.replace("- name: https #", "- name: web #"))
    assert any("must have the listener 'https'" in m for m in messages(missing, "error"))


# --- schema ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "config", [CROSS, PER_DOMAIN, CROSS.replace("spec:\n", "spec:\n  referenceGrantVersion: v1\n", 1)]
)
def test_output_validates_against_the_gateway_api_schema(config: str) -> None:
    exp = expand_yaml(config, SEED)
    text = "".join("---\n" + i.text for i in exp.items if i.header.kind in ("Gateway", "ReferenceGrant"))
    text = text.replace("${SECRET_DOMAIN//./-}", "example-com")  # Flux's replace-all, which the validator lacks
    reports = assert_manifests_valid(text, substitutions={"SECRET_DOMAIN": "example.com"}, allow_unknown_kinds=False)
    assert len(reports) >= 2


# --- config ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("gateways", "path", "fragment"),
    [
        ("[{name: gw}]", "spec.gateways[0].namespace", "is required for a Gateway"),
        ("[{name: gw, namespace: n, dns: {type: A}}]", "spec.gateways[0].dns.target", "is required for a Gateway"),
        (
            "[{name: gw, namespace: n, dns: {target: x, exposure: lan}}]",
            "spec.gateways[0].dns",
            "must not set `exposure`",
        ),
        (
            "[{name: c, kind: IngressClass, namespace: n}]",
            "spec.gateways[0].namespace",
            "must not be set for an IngressClass",
        ),
        ("[{name: c, kind: IngressClass, listener: https}]", "spec.gateways[0]", "must not set `listener` or `mode`"),
        ("[{name: c, kind: IngressClass, mode: perDomain}]", "spec.gateways[0]", "must not set `listener` or `mode`"),
        (
            "[{name: c, kind: IngressClass, dns: {}}]",
            "spec.gateways[0].dns.target",
            "is required when `exposure` is `public`",
        ),
        (
            "[{name: c, kind: IngressClass, dns: {exposure: lan}}]",
            "spec.gateways[0].dns.lanAddress",
            "is required when",
        ),
        (
            "[{name: c, kind: IngressClass, dns: {exposure: lan, lanAddress: 10.0.0.300}}]",
            "spec.gateways[0].dns.lanAddress",
            "must be an IPv4 address",
        ),
        ("[{name: gw, namespace: n, mode: split}]", "spec.gateways[0].mode", "'shared' or 'perDomain'"),
        (
            "[{name: gw, namespace: n, dns: {target: x, ttl: 0}}]",
            "spec.gateways[0].dns.ttl",
            "greater than or equal to 1",
        ),
        ("[{name: gw, namespace: n}, {name: gw, namespace: n}]", "spec.gateways[1]", "must not repeat Gateway n/gw"),
    ],
)
def test_bad_gateway_config_names_the_field(gateways: str, path: str, fragment: str) -> None:
    text = (
        "apiVersion: krmfn.dev/v1alpha1\nkind: MultiDomain\nmetadata: {name: e}\nspec:\n"
        "  domains: [{name: example.org}]\n  certificates: {namespace: n, issuerRef: {name: le}}\n"
        f"  gateways: {gateways}\n"
    )
    with pytest.raises(ConfigError) as info:
        load_config(load(text))
    problems = {p.path: p.message for p in info.value.problems}
    assert path in problems, problems
    assert fragment in problems[path]


@pytest.mark.parametrize(
    ("setting", "path"),
    [
        ("externalDNSAnnotationPrefix: external-dns.kubernetes.io", "spec.externalDNSAnnotationPrefix"),
        ("referenceGrantVersion: v1alpha2", "spec.referenceGrantVersion"),
    ],
)
def test_bad_top_level_settings_name_the_field(setting: str, path: str) -> None:
    with pytest.raises(ConfigError) as info:
        load_config(load(CONFIG.replace("spec:\n", f"spec:\n  {setting}\n", 1)))
    assert path in [p.path for p in info.value.problems]


def test_certificate_namespace_defaults_to_the_first_gateway_with_one() -> None:
    config = CONFIG.replace("  gateways:\n", "  gateways:\n    - {name: external, kind: IngressClass}\n")
    assert load_config(load(config)).certificate_namespace == "network"


def test_listener_without_tls_or_annotations_and_foreign_refs() -> None:
    stream = (
        "apiVersion: gateway.networking.k8s.io/v1\nkind: Gateway\n"
        "metadata: {name: envoy-external, namespace: network}\n"
        "spec:\n  listeners:\n    - {name: https, protocol: TLS, port: 443}\n"
    )
    config = CONFIG.replace("    - name: envoy-internal\n      namespace: network\n", "")
    exp = expand_yaml(config, stream)
    assert len(refs(exp)) == 2
    assert gateway(exp)["metadata"]["annotations"]["krmfn.dev/certificate-refs"]
    foreign = stream.replace(
        "port: 443}", "port: 443, tls: {certificateRefs: [{group: example.io, kind: Vault, name: v}, {kind: Secret}]}}"
    )
    assert refs(expand_yaml(config, foreign))[2:] == [
        {"group": "example.io", "kind": "Vault", "name": "v"},
        {"kind": "Secret"},
    ]


def test_per_domain_mode_with_cross_namespace_secrets_and_without_listeners() -> None:
    config = PER_DOMAIN.replace(
        "    nameSuffix: production\n", "    nameSuffix: production\n    namespace: cert-manager\n"
    )
    exp = expand_yaml(config, ENVOY_EXTERNAL)
    assert listeners(exp)[1]["tls"]["certificateRefs"][0]["namespace"] == "cert-manager"
    assert len(by_kind(exp, "ReferenceGrant")) == 1
    bare = (
        "apiVersion: gateway.networking.k8s.io/v1\nkind: Gateway\nmetadata: {name: envoy-external, namespace: network}"
    )
    assert any("must have `spec.listeners`" in m for m in messages(expand_yaml(PER_DOMAIN, bare), "error"))
