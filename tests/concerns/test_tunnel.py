"""cloudflared's config.yaml inside a ConfigMap or an app-template HelmRelease (SPEC §7)."""

from __future__ import annotations

from typing import Any

import pytest
from conftest import expand_yaml, messages
from crdschema import assert_manifests_valid, schema_validation_available
from manifests import CERTIFICATES, CLOUDFLARE_TUNNEL, ENVOY_EXTERNAL, ENVOY_EXTERNAL_HOSTNAMES, multidomain

from krmfn.api.config import load_config
from krmfn.errors import ConfigError
from krmfn.expand import Expansion
from krmfn.krm.yamltext import load

SVC = "https://envoy-external.{{ .Release.Namespace }}.svc.cluster.local:443"


def config(domains: str = "    - name: ${SECRET_DOMAIN}\n", tunnel: str = "", gateways: str = "") -> str:
    return multidomain(
        "  domains:\n" + domains,
        CERTIFICATES,
        gateways,
        tunnel
        or "  tunnel:\n    kind: HelmRelease\n    name: cloudflare-tunnel\n    namespace: network\n"
        f"    service: {SVC}\n    originRequest: {{http2Origin: true}}\n",
    )


CM_TUNNEL = (
    "  tunnel:\n    kind: ConfigMap\n    name: cloudflared\n    namespace: network\n"
    "    service: https://envoy-external.network.svc.cluster.local:443\n"
)

TEMPLATE_HR = "---\n" + CLOUDFLARE_TUNNEL


APEX_RULE = """\
              - hostname: ${SECRET_DOMAIN}
                originRequest:
                  http2Origin: true
                  originServerName: external.${SECRET_DOMAIN}
                service: https://envoy-external.{{ .Release.Namespace }}.svc.cluster.local:443
"""


def text_of(exp: Expansion, kind: str) -> str:
    (item,) = [i for i in exp.items if i.header.kind == kind]
    return item.text


def inner(exp: Expansion, kind: str = "HelmRelease") -> str:
    data = load(text_of(exp, kind))
    if kind == "HelmRelease":
        return str(data["spec"]["values"]["configMaps"]["config"]["data"]["config.yaml"])
    return str(data["data"]["config.yaml"])


def rules(exp: Expansion, kind: str = "HelmRelease") -> list[dict[str, Any]]:
    return list(load(inner(exp, kind))["ingress"])


def tunnel_messages(exp: Expansion, severity: str) -> list[str]:
    return [m for m in messages(exp, severity) if "tunnel" in m or "cloudflared" in m]


def configmap(body: str, name: str = "cloudflared") -> str:
    indented = "".join(f"    {line}\n" if line else "\n" for line in body.split("\n")[:-1])
    return (
        f"apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: {name}\n  namespace: network\n"
        f"data:\n  config.yaml: |\n{indented}"
    )


# --- the template layout ---------------------------------------------------------------


def test_template_gets_the_apex_rule_first_and_keeps_everything_else() -> None:
    exp = expand_yaml(config(), TEMPLATE_HR)
    expected = TEMPLATE_HR.removeprefix("---\n").replace("            ingress:\n", "            ingress:\n" + APEX_RULE)
    assert text_of(exp, "HelmRelease") == expected
    assert tunnel_messages(exp, "info") == [
        "patched HelmRelease network/cloudflare-tunnel: added tunnel rules for ${SECRET_DOMAIN}"
    ]
    assert tunnel_messages(exp, "error") == []


def test_template_output_is_a_fixed_point() -> None:
    once = text_of(expand_yaml(config(), TEMPLATE_HR), "HelmRelease")
    again = expand_yaml(config(), once)
    assert text_of(again, "HelmRelease") == once
    assert not [m for m in messages(again, "info") if m.startswith("patched")]


def test_block_style_and_chomping_of_the_outer_string_are_kept() -> None:
    clip = TEMPLATE_HR.replace("config.yaml: |-", "config.yaml: |")
    out = text_of(expand_yaml(config(), clip), "HelmRelease")
    assert "config.yaml: |\n" in out
    assert load(out)["spec"]["values"]["configMaps"]["config"]["data"]["config.yaml"].endswith("# everything else\n")
    strip = text_of(expand_yaml(config(), TEMPLATE_HR), "HelmRelease")
    assert "config.yaml: |-\n" in strip
    assert not load(strip)["spec"]["values"]["configMaps"]["config"]["data"]["config.yaml"].endswith("\n")


def test_helm_tpl_expressions_survive_untouched() -> None:
    out = inner(expand_yaml(config(), TEMPLATE_HR))
    assert out.count("https://envoy-external.{{ .Release.Namespace }}.svc.cluster.local:443") == 2


def test_a_tpl_expression_at_the_start_of_a_value_is_quoted_when_written() -> None:
    tunnel = (
        "  tunnel:\n    kind: HelmRelease\n    name: cloudflare-tunnel\n    namespace: network\n"
        "    service: '{{ .Values.origin }}'\n    gateway: envoy-external\n"
    )
    out = inner(expand_yaml(config(tunnel=tunnel), TEMPLATE_HR))
    assert out.count('service: "{{ .Values.origin }}"') == 2
    assert load(out)["ingress"][0]["service"] == "{{ .Values.origin }}"


def test_a_tpl_expression_that_breaks_the_inner_yaml_is_an_error() -> None:
    broken = TEMPLATE_HR.replace(f"service: {SVC}", "service: {{ .Values.origin }}")
    exp = expand_yaml(config(), broken)
    (error,) = tunnel_messages(exp, "error")
    assert "cloudflared config" in error
    assert "Helm template syntax is only supported inside values" in error
    assert text_of(exp, "HelmRelease") == broken.removeprefix("---\n")


def test_helm_control_structures_are_an_error_not_a_traceback() -> None:
    broken = TEMPLATE_HR.replace("            ingress:\n", "            {{- if .Values.x }}\n            ingress:\n")
    exp = expand_yaml(config(), broken)
    assert len(tunnel_messages(exp, "error")) == 1


def test_comments_in_the_embedded_config_are_kept() -> None:
    exp = expand_yaml(config("    - name: ${SECRET_DOMAIN}\n    - name: example.org\n"), TEMPLATE_HR)
    out = inner(exp)
    assert out.startswith("# Requests arrive through the tunnel and go to the external gateway.\n")
    assert out.endswith("- service: http_status:404 # everything else")


def test_a_helmrelease_without_the_config_string_is_an_error() -> None:
    hr = TEMPLATE_HR.replace("      config:\n", "      settings:\n")
    exp = expand_yaml(config(), hr)
    (error,) = tunnel_messages(exp, "error")
    assert 'spec.values.configMaps.config.data."config.yaml"' in error
    assert "spec.tunnel.configMap" in error


def test_configmap_name_and_key_are_settings() -> None:
    hr = TEMPLATE_HR.replace("      config:\n", "      tunnel-config:\n")
    hr = hr.replace("config.yaml: |-", "cloudflared.yaml: |-")
    tunnel = (
        "  tunnel:\n    kind: HelmRelease\n    name: cloudflare-tunnel\n    namespace: network\n"
        f"    service: {SVC}\n    originRequest: {{http2Origin: true}}\n"
        "    configMap: tunnel-config\n    key: cloudflared.yaml\n"
    )
    out = load(text_of(expand_yaml(config(tunnel=tunnel), hr), "HelmRelease"))
    ingress = load(out["spec"]["values"]["configMaps"]["tunnel-config"]["data"]["cloudflared.yaml"])["ingress"]
    assert [r.get("hostname") for r in ingress] == ["${SECRET_DOMAIN}", "*.${SECRET_DOMAIN}", None]


@pytest.mark.skipif(not schema_validation_available(), reason="needs node and tests/schemas dependencies")
def test_patched_helmrelease_is_still_valid() -> None:
    exp = expand_yaml(config("    - name: example.com\n    - name: example.org\n"), TEMPLATE_HR)
    assert_manifests_valid(text_of(exp, "HelmRelease"))


# --- the ConfigMap layout --------------------------------------------------------------

CM_BODY = """\
tunnel: 6ff42ae2-765d-4adf-8112-31c55c1551ef
credentials-file: /etc/cloudflared/credentials.json # mounted from a Secret
ingress:
  # the NAS is not behind the gateway
  - hostname: nas.home.arpa.example.net
    service: http://nas.lan:5000
  - service: http_status:404
"""


def test_configmap_one_domain() -> None:
    exp = expand_yaml(config("    - name: example.com\n", tunnel=CM_TUNNEL), configmap(CM_BODY))
    out = inner(exp, "ConfigMap")
    assert out == CM_BODY.replace(
        "  - service: http_status:404\n",
        "  - hostname: example.com\n"
        "    originRequest:\n      originServerName: external.example.com\n"
        "    service: https://envoy-external.network.svc.cluster.local:443\n"
        '  - hostname: "*.example.com"\n'
        "    originRequest:\n      originServerName: external.example.com\n"
        "    service: https://envoy-external.network.svc.cluster.local:443\n"
        "  - service: http_status:404\n",
    )
    assert "  config.yaml: |\n    tunnel: 6ff42ae2" in text_of(exp, "ConfigMap")


def test_two_domains_each_get_their_own_origin_server_name() -> None:
    two = config("    - name: example.com\n    - name: example.org\n", tunnel=CM_TUNNEL)
    exp = expand_yaml(two, configmap(CM_BODY))
    got = [(r.get("hostname"), r.get("originRequest", {}).get("originServerName")) for r in rules(exp, "ConfigMap")]
    assert got == [
        ("nas.home.arpa.example.net", None),
        ("example.com", "external.example.com"),
        ("*.example.com", "external.example.com"),
        ("example.org", "external.example.org"),
        ("*.example.org", "external.example.org"),
        (None, None),
    ]


def test_nested_domain_rules_come_before_the_parent() -> None:
    domains = "    - name: example.com\n    - name: example.org\n    - name: staging.example.com\n"
    exp = expand_yaml(config(domains, tunnel=CM_TUNNEL), configmap(CM_BODY))
    assert [r.get("hostname") for r in rules(exp, "ConfigMap")] == [
        "nas.home.arpa.example.net",
        "staging.example.com",
        "*.staging.example.com",
        "example.com",
        "*.example.com",
        "example.org",
        "*.example.org",
        None,
    ]


def test_a_missing_ingress_list_is_created() -> None:
    exp = expand_yaml(config("    - name: example.com\n", tunnel=CM_TUNNEL), configmap("tunnel: abc\n"))
    assert inner(exp, "ConfigMap").startswith("tunnel: abc\ningress:\n")
    assert rules(exp, "ConfigMap")[-1] == {"service": "http_status:404"}


def test_an_empty_config_string_gets_rules() -> None:
    cm = "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: cloudflared, namespace: network}\n"
    cm += "data:\n  config.yaml: ''\n"
    exp = expand_yaml(config("    - name: example.com\n", tunnel=CM_TUNNEL), cm)
    assert [r.get("hostname") for r in rules(exp, "ConfigMap")] == ["example.com", "*.example.com", None]


def test_the_catch_all_service_is_a_setting() -> None:
    tunnel = CM_TUNNEL + "    catchAll: http_status:503\n"
    exp = expand_yaml(config("    - name: example.com\n", tunnel=tunnel), configmap("ingress: []\n"))
    assert rules(exp, "ConfigMap")[-1] == {"service": "http_status:503"}


def test_the_users_catch_all_is_kept() -> None:
    body = CM_BODY.replace("- service: http_status:404", "- service: https://fallback.network.svc:443 # mine")
    exp = expand_yaml(config("    - name: example.com\n", tunnel=CM_TUNNEL), configmap(body))
    assert inner(exp, "ConfigMap").endswith("  - service: https://fallback.network.svc:443 # mine\n")
    assert sum(1 for r in rules(exp, "ConfigMap") if "hostname" not in r) == 1


def test_a_configmap_without_the_key_is_an_error() -> None:
    cm = "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: cloudflared, namespace: network}\ndata: {other: x}\n"
    exp = expand_yaml(config("    - name: example.com\n", tunnel=CM_TUNNEL), cm)
    (error,) = tunnel_messages(exp, "error")
    assert 'must hold cloudflared\'s config as a string at `data."config.yaml"`' in error
    assert "spec.tunnel.key" in error


def test_a_config_that_is_not_a_mapping_is_an_error() -> None:
    exp = expand_yaml(config("    - name: example.com\n", tunnel=CM_TUNNEL), configmap("ingress: oops\n"))
    (error,) = tunnel_messages(exp, "error")
    assert "must be a mapping whose `ingress` is a list of rules" in error


def test_a_missing_configmap_is_an_error() -> None:
    exp = expand_yaml(config("    - name: example.com\n", tunnel=CM_TUNNEL), configmap(CM_BODY, name="other"))
    assert any("ConfigMap network/cloudflared named in `spec.tunnel`" in m for m in messages(exp, "error"))


def test_a_sops_encrypted_configmap_is_refused() -> None:
    cm = configmap(CM_BODY) + "sops:\n  mac: ENC[AES256_GCM,data:abc,type:str]\n"
    exp = expand_yaml(config("    - name: example.com\n", tunnel=CM_TUNNEL), cm)
    assert any("SOPS-encrypted and must not be modified" in m for m in messages(exp, "error"))
    assert text_of(exp, "ConfigMap") == cm


# --- user rules and shadowing ------------------------------------------------------------


def test_user_rules_keep_their_order_and_win_over_the_wildcard_with_a_warning() -> None:
    body = """\
ingress:
  - hostname: "*.example.com"
    originRequest:
      originServerName: external.example.com
    service: https://envoy-external.network.svc.cluster.local:443
  - hostname: legacy.example.com # an old VM, not behind the gateway
    service: http://legacy.lan:8080
  - hostname: other.example.net
    service: http://other.lan:80
  - service: http_status:404
"""
    exp = expand_yaml(config("    - name: example.com\n", tunnel=CM_TUNNEL), configmap(body))
    assert [r.get("hostname") for r in rules(exp, "ConfigMap")] == [
        "example.com",
        "legacy.example.com",
        "*.example.com",
        "other.example.net",
        None,
    ]
    (warning,) = tunnel_messages(exp, "warning")
    assert "ingress[1] `hostname: legacy.example.com`" in warning
    assert "`*.example.com`" in warning
    assert "# an old VM, not behind the gateway" in inner(exp, "ConfigMap")


def test_a_user_rule_that_would_shadow_a_managed_rule_is_warned_about() -> None:
    body = "ingress:\n  - hostname: '*.example.org'\n    service: http://catch.lan:80\n  - service: http_status:404\n"
    exp = expand_yaml(config("    - name: shop.example.org\n", tunnel=CM_TUNNEL), configmap(body))
    assert [r.get("hostname") for r in rules(exp, "ConfigMap")] == [
        "shop.example.org",
        "*.shop.example.org",
        "*.example.org",
        None,
    ]
    (warning,) = tunnel_messages(exp, "warning")
    assert "`hostname: *.example.org` would shadow the managed rule(s) `shop.example.org`" in warning


@pytest.mark.parametrize(
    ("rule", "problem"),
    [
        ("- hostname: app.example.net:8443\n    service: http://a:80", "must not have a port"),
        ("- hostname: https://app.example.net\n    service: http://a:80", "must not have a scheme"),
        ("- hostname: app.*.example.net\n    service: http://a:80", "may use `*` only as its whole first label"),
        ("- hostname: app.example.net\n    path: (?=api)\n    service: http://a:80", "look-around"),
        ("- service: http_status:410", "must be the last rule"),
        ("- hostname: app.example.net", "must have a `service`"),
    ],
)
def test_an_invalid_user_rule_is_an_error_naming_it(rule: str, problem: str) -> None:
    body = f"ingress:\n  {rule}\n  - service: http_status:404\n"
    cm = configmap(body)
    exp = expand_yaml(config("    - name: example.com\n", tunnel=CM_TUNNEL), cm)
    (error,) = tunnel_messages(exp, "error")
    assert error.startswith("tunnel rule ingress[0] ")
    assert problem in error
    assert text_of(exp, "ConfigMap") == cm


# --- idempotency, removal, must-not-change ------------------------------------------------


def test_an_up_to_date_config_is_not_touched() -> None:
    once = text_of(expand_yaml(config("    - name: example.com\n", tunnel=CM_TUNNEL), configmap(CM_BODY)), "ConfigMap")
    exp = expand_yaml(config("    - name: example.com\n", tunnel=CM_TUNNEL), once)
    assert text_of(exp, "ConfigMap") == once
    assert tunnel_messages(exp, "info") == []


def test_removing_a_domain_removes_its_rules_and_keeps_the_users() -> None:
    two = config("    - name: example.com\n    - name: example.org\n", tunnel=CM_TUNNEL)
    first = text_of(expand_yaml(two, configmap(CM_BODY)), "ConfigMap")
    exp = expand_yaml(config("    - name: example.com\n", tunnel=CM_TUNNEL), first)
    assert [r.get("hostname") for r in rules(exp, "ConfigMap")] == [
        "nas.home.arpa.example.net",
        "example.com",
        "*.example.com",
        None,
    ]
    assert tunnel_messages(exp, "info") == [
        "patched ConfigMap network/cloudflared: removed tunnel rules for example.org, *.example.org "
        "(no longer tunnel domains)"
    ]
    fresh = expand_yaml(config("    - name: example.com\n", tunnel=CM_TUNNEL), configmap(CM_BODY))
    assert text_of(exp, "ConfigMap") == text_of(fresh, "ConfigMap")


def test_a_domain_with_tunnel_false_gets_no_rules() -> None:
    domains = "    - name: example.com\n    - name: lan.example.net\n      tunnel: false\n"
    exp = expand_yaml(config(domains, tunnel=CM_TUNNEL), configmap(CM_BODY))
    assert "lan.example.net" not in inner(exp, "ConfigMap")


def test_a_rule_that_only_looks_managed_is_the_users() -> None:
    body = (
        "ingress:\n  - hostname: '*.gone.example.net'\n"
        "    originRequest:\n      originServerName: other.gone.example.net\n"
        "    service: http://x:80\n  - service: http_status:404\n"
    )
    exp = expand_yaml(config("    - name: example.com\n", tunnel=CM_TUNNEL), configmap(body))
    assert rules(exp, "ConfigMap")[0]["hostname"] == "*.gone.example.net"


def test_updating_the_origin_request_rewrites_only_managed_rules() -> None:
    once = text_of(expand_yaml(config("    - name: example.com\n", tunnel=CM_TUNNEL), configmap(CM_BODY)), "ConfigMap")
    tunnel = CM_TUNNEL + "    originRequest: {noTLSVerify: false}\n"
    exp = expand_yaml(config("    - name: example.com\n", tunnel=tunnel), once)
    assert tunnel_messages(exp, "info") == [
        "patched ConfigMap network/cloudflared: updated tunnel rules for example.com, *.example.com"
    ]
    assert [r.get("originRequest") for r in rules(exp, "ConfigMap")][1] == {
        "noTLSVerify": False,
        "originServerName": "external.example.com",
    }


def test_reordering_only() -> None:
    body = (
        "ingress:\n"
        "  - hostname: '*.example.com'\n    originRequest: {originServerName: external.example.com}\n"
        "    service: https://envoy-external.network.svc.cluster.local:443\n"
        "  - hostname: example.com\n    originRequest: {originServerName: external.example.com}\n"
        "    service: https://envoy-external.network.svc.cluster.local:443\n"
        "  - hostname: '*.staging.example.com'\n    originRequest: {originServerName: external.staging.example.com}\n"
        "    service: https://envoy-external.network.svc.cluster.local:443\n"
        "  - hostname: staging.example.com\n    originRequest: {originServerName: external.staging.example.com}\n"
        "    service: https://envoy-external.network.svc.cluster.local:443\n"
        "  - service: http_status:404\n"
    )
    domains = "    - name: example.com\n    - name: staging.example.com\n"
    exp = expand_yaml(config(domains, tunnel=CM_TUNNEL), configmap(body))
    assert [r.get("hostname") for r in rules(exp, "ConfigMap")][:4] == [
        "staging.example.com",
        "*.staging.example.com",
        "example.com",
        "*.example.com",
    ]
    assert tunnel_messages(exp, "info") == [
        "patched ConfigMap network/cloudflared: reordered tunnel rules (nested domains first, catch-all last)"
    ]


# --- the gateway the tunnel reaches ---------------------------------------------------------

GATEWAYS = (
    "  gateways:\n"
    "    - {name: envoy-external, namespace: network, dns: {target: 'ingress.{domain}'}}\n"
    "    - {name: envoy-internal, namespace: network}\n"
)


def test_origin_server_name_follows_the_gateways_dns_target() -> None:
    exp = expand_yaml(config("    - name: example.com\n", tunnel=CM_TUNNEL, gateways=GATEWAYS), configmap(CM_BODY))
    origins = {r["originRequest"]["originServerName"] for r in rules(exp, "ConfigMap") if "originRequest" in r}
    assert origins == {"ingress.example.com"}
    assert tunnel_messages(exp, "warning") == []


def test_an_explicit_gateway_is_used() -> None:
    tunnel = CM_TUNNEL.replace("envoy-external.network", "envoy.envoy-gateway-system") + "    gateway: envoy-external\n"
    exp = expand_yaml(config("    - name: example.com\n", tunnel=tunnel, gateways=GATEWAYS), configmap(CM_BODY))
    assert rules(exp, "ConfigMap")[1]["originRequest"] == {"originServerName": "ingress.example.com"}


def test_an_unknown_explicit_gateway_is_an_error() -> None:
    tunnel = CM_TUNNEL + "    gateway: nope\n"
    exp = expand_yaml(config("    - name: example.com\n", tunnel=tunnel, gateways=GATEWAYS), configmap(CM_BODY))
    expected = "`spec.tunnel.gateway` must name an entry of `spec.gateways`; 'nope'"
    assert any(expected in m for m in messages(exp, "error"))


def test_a_service_that_reaches_no_known_gateway_is_warned_about() -> None:
    tunnel = CM_TUNNEL.replace("envoy-external.network", "ingress-nginx.network")
    exp = expand_yaml(config("    - name: example.com\n", tunnel=tunnel, gateways=GATEWAYS), configmap(CM_BODY))
    (warning,) = [m for m in messages(exp, "warning") if "spec.tunnel.service" in m]
    assert "'external.{domain}'" in warning
    assert rules(exp, "ConfigMap")[1]["originRequest"] == {"originServerName": "external.example.com"}


def test_a_tunnel_domain_not_on_the_tunnels_gateway_is_warned_about() -> None:
    domains = "    - name: example.com\n    - name: example.org\n      gateways: [envoy-internal]\n"
    exp = expand_yaml(config(domains, tunnel=CM_TUNNEL, gateways=GATEWAYS), configmap(CM_BODY))
    (warning,) = tunnel_messages(exp, "warning")
    assert warning.startswith("tunnel domain example.org must have its certificate on gateway envoy-external")
    assert "`spec.domains[1].gateways`" in warning


def test_a_target_the_certificate_does_not_cover_is_warned_about() -> None:
    domains = "    - name: example.com\n      wildcard: false\n"
    exp = expand_yaml(config(domains, tunnel=CM_TUNNEL, gateways=GATEWAYS), configmap(CM_BODY))
    (warning,) = tunnel_messages(exp, "warning")
    assert "'ingress.example.com', which its certificate (example.com) does not cover" in warning


def test_same_named_gateways_are_told_apart_by_namespace() -> None:
    gateways = (
        "  gateways:\n"
        "    - {name: envoy-external, namespace: edge, dns: {target: 'edge.{domain}'}}\n"
        "    - {name: envoy-external, namespace: network, dns: {target: 'ingress.{domain}'}}\n"
    )
    exp = expand_yaml(config("    - name: example.com\n", tunnel=CM_TUNNEL, gateways=gateways), configmap(CM_BODY))
    assert rules(exp, "ConfigMap")[1]["originRequest"] == {"originServerName": "ingress.example.com"}


# --- origin server names from what the gateway serves ------------------------------------

ONE_GATEWAY = "  gateways:\n    - {name: envoy-external, namespace: network, dns: {target: 'external.{domain}'}%s}\n"
TWO = "    - name: ${SECRET_DOMAIN}\n    - name: example.org\n"


def by_host(exp: Expansion) -> dict[str, dict[str, Any]]:
    return {r.get("hostname", "*catch-all*"): r for r in rules(exp, "ConfigMap")}


def sni(rule: dict[str, Any]) -> str | None:
    name = rule.get("originRequest", {}).get("originServerName")
    return str(name) if name is not None else None


def test_a_listener_without_hostname_serves_every_domain_its_secrets_hold() -> None:
    exp = expand_yaml(
        config(TWO, tunnel=CM_TUNNEL, gateways=ONE_GATEWAY % ""), ENVOY_EXTERNAL + "---\n" + configmap(CM_BODY)
    )
    got = by_host(exp)
    assert [sni(got[h]) for h in ("${SECRET_DOMAIN}", "*.${SECRET_DOMAIN}", "example.org", "*.example.org")] == [
        "external.${SECRET_DOMAIN}",
        "external.${SECRET_DOMAIN}",
        "external.example.org",
        "external.example.org",
    ]
    assert tunnel_messages(exp, "warning") == []


def test_with_a_listener_per_domain_name_the_apex_is_sent_as_its_own_sni() -> None:
    """envoyproxy/gateway#9577: `external.<domain>` picks the `*.` listener, which answers 404 for the apex."""
    gateways = ONE_GATEWAY % ", mode: perDomain"
    stream = ENVOY_EXTERNAL_HOSTNAMES + "---\n" + configmap(CM_BODY)
    exp = expand_yaml(config(TWO, tunnel=CM_TUNNEL, gateways=gateways), stream)
    got = by_host(exp)
    assert sni(got["example.org"]) == "example.org"
    assert sni(got["*.example.org"]) == "external.example.org"
    # the first domain's listener is the user's `*.` one: nothing admits its apex on this gateway
    assert sni(got["*.${SECRET_DOMAIN}"]) == "external.${SECRET_DOMAIN}"
    assert "originRequest" not in got["${SECRET_DOMAIN}"]
    (warning,) = tunnel_messages(exp, "warning")
    assert warning.startswith(
        "tunnel rule for ${SECRET_DOMAIN} gets no `originServerName`: no listener of Gateway network/envoy-external "
        "answers for ${SECRET_DOMAIN} when reached with SNI 'external.${SECRET_DOMAIN}' or '${SECRET_DOMAIN}'"
    )
    again = expand_yaml(config(TWO, tunnel=CM_TUNNEL, gateways=gateways), "---\n".join(i.text for i in exp.items))
    assert [i.text for i in again.items] == [i.text for i in exp.items]


def test_a_users_rule_is_not_warned_about_when_it_is_left_as_written() -> None:
    body = CM_BODY.replace(
        "  - service: http_status:404\n",
        "  - hostname: ${SECRET_DOMAIN}\n    service: https://root.network.svc.cluster.local\n"
        "    originRequest: {originServerName: '${SECRET_DOMAIN}'}\n  - service: http_status:404\n",
    )
    stream = ENVOY_EXTERNAL_HOSTNAMES + "---\n" + configmap(body)
    exp = expand_yaml(config(TWO, tunnel=CM_TUNNEL, gateways=ONE_GATEWAY % ", mode: perDomain"), stream)
    assert by_host(exp)["${SECRET_DOMAIN}"] == {
        "hostname": "${SECRET_DOMAIN}",
        "service": "https://root.network.svc.cluster.local",
        "originRequest": {"originServerName": "${SECRET_DOMAIN}"},
    }
    assert tunnel_messages(exp, "warning") == []
    (info,) = [m for m in tunnel_messages(exp, "info") if "left as written" in m]
    assert "is the user's rule for a managed hostname" in info


NO_VERIFY = (
    CM_TUNNEL.replace("envoy-external.network.svc.cluster.local:443", "ingress-nginx-controller.ingress-nginx")
    + "    originRequest: {noTLSVerify: true}\n"
)
KHUEDOAN_BODY = """\
tunnel: homelab
ingress:
  - hostname: '*.example.com'
    service: https://ingress-nginx-controller.ingress-nginx
    originRequest:
      noTLSVerify: true
  - service: http_status:404
"""


def test_without_a_known_gateway_and_with_no_tls_verify_no_origin_server_name_is_invented() -> None:
    """khuedoan/homelab: ingress-nginx answers every SNI with its default certificate; nothing checks it."""
    gateways = "  gateways:\n    - {name: nginx, kind: IngressClass}\n"
    exp = expand_yaml(
        config("    - name: example.com\n    - name: example.org\n", tunnel=NO_VERIFY, gateways=gateways),
        configmap(KHUEDOAN_BODY),
    )
    got = by_host(exp)
    assert list(got) == ["example.com", "*.example.com", "example.org", "*.example.org", "*catch-all*"]
    assert all(got[h].get("originRequest") == {"noTLSVerify": True} for h in list(got)[:4])
    users = "  - hostname: '*.example.com'\n    service: https://ingress-nginx-controller.ingress-nginx\n"
    assert users + "    originRequest:\n      noTLSVerify: true\n" in inner(exp, "ConfigMap")
    assert tunnel_messages(exp, "warning") == []
    assert not [m for m in tunnel_messages(exp, "info") if "left as written" in m]


def test_a_rule_krmfn_takes_over_keeps_the_users_origin_request_settings() -> None:
    body = CM_BODY.replace(
        "  - service: http_status:404\n",
        "  - hostname: '*.example.com'\n    originRequest:\n      noTLSVerify: true\n      connectTimeout: 10s\n"
        "      originServerName: external.example.com\n    service: http://old:80\n  - service: http_status:404\n",
    )
    tunnel = CM_TUNNEL + "    originRequest: {http2Origin: true}\n"
    exp = expand_yaml(config("    - name: example.com\n", tunnel=tunnel), configmap(body))
    assert by_host(exp)["*.example.com"] == {
        "hostname": "*.example.com",
        "originRequest": {
            "noTLSVerify": True,
            "connectTimeout": "10s",
            "originServerName": "external.example.com",
            "http2Origin": True,
        },
        "service": "https://envoy-external.network.svc.cluster.local:443",
    }
    assert any("updated tunnel rules for *.example.com" in m for m in tunnel_messages(exp, "info"))


# --- config validation -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("extra", "path", "text"),
    [
        ("    originRequest: {originServerName: external.example.com}\n", "spec.tunnel.originRequest", "must not set"),
        ("    catchAll: http_status:oops\n", "spec.tunnel.catchAll", "must be `http_status:` and a number"),
        ("    configMap: 'a b'\n", "spec.tunnel.configMap", "must match the pattern"),
    ],
)
def test_tunnel_settings_are_validated(extra: str, path: str, text: str) -> None:
    with pytest.raises(ConfigError) as info:
        load_config(load(config(tunnel=CM_TUNNEL + extra)))
    problem = next(p for p in info.value.problems if p.path == path)
    assert text in problem.message


def test_an_empty_service_is_a_config_error() -> None:
    with pytest.raises(ConfigError) as info:
        load_config(
            load(config(tunnel=CM_TUNNEL.replace("https://envoy-external.network.svc.cluster.local:443", '""')))
        )
    assert [p.path for p in info.value.problems] == ["spec.tunnel.service"]
    assert "must not be empty" in info.value.problems[0].message


def test_without_spec_tunnel_nothing_is_touched() -> None:
    cfg = config("    - name: example.com\n", tunnel="  tunnel: null\n")
    cm = configmap(CM_BODY)
    exp = expand_yaml(cfg, cm)
    assert text_of(exp, "ConfigMap") == cm


def test_rules_for_names_that_are_no_domain_are_the_users() -> None:
    body = (
        "ingress:\n  - hostname: localhost\n    originRequest: {originServerName: external.localhost}\n"
        "    service: http://x:80\n  - service: http_status:404\n"
    )
    exp = expand_yaml(config("    - name: example.com\n", tunnel=CM_TUNNEL), configmap(body))
    assert rules(exp, "ConfigMap")[0]["hostname"] == "localhost"


def test_a_tpl_expression_in_a_flow_mapping_is_an_error() -> None:
    broken = TEMPLATE_HR.replace(
        "                originRequest:\n                  http2Origin: true\n",
        "                originRequest: {httpHostHeader: app.{{ .Release.Namespace }}}\n",
    )
    exp = expand_yaml(config(), broken)
    (error,) = tunnel_messages(exp, "error")
    assert "must be valid YAML" in error


def test_a_quoted_tpl_expression_in_a_user_rule_survives() -> None:
    body = (
        'ingress:\n  - hostname: app.example.net\n    service: "{{ .Values.origin }}"  # rendered by tpl\n'
        "  - service: http_status:404\n"
    )
    exp = expand_yaml(config("    - name: example.com\n", tunnel=CM_TUNNEL), configmap(body))
    assert '    service: "{{ .Values.origin }}"  # rendered by tpl\n' in inner(exp, "ConfigMap")
    hostnames = [r.get("hostname") for r in rules(exp, "ConfigMap")]
    assert hostnames == ["app.example.net", "example.com", "*.example.com", None]


def test_helm_syntax_in_a_configmap_service_is_warned_about() -> None:
    tunnel = CM_TUNNEL.replace("envoy-external.network.svc", "envoy-external.{{ .Release.Namespace }}.svc")
    exp = expand_yaml(config("    - name: example.com\n", tunnel=tunnel), configmap(CM_BODY))
    (warning,) = [m for m in messages(exp, "warning") if "Helm template syntax" in m]
    assert "must not use Helm template syntax with a ConfigMap" in warning


def test_yaml_anchors_elsewhere_in_the_helmrelease_are_kept() -> None:
    hr = TEMPLATE_HR.replace(
        "    configMaps:\n",
        "    service:\n      app:\n        ports:\n          http:\n            port: &port 8080\n"
        "    probes: {port: *port}\n    configMaps:\n",
    )
    out = text_of(expand_yaml(config(), hr), "HelmRelease")
    assert out == hr.removeprefix("---\n").replace("            ingress:\n", "            ingress:\n" + APEX_RULE)


def test_a_wrapper_chart_holds_the_config_under_its_values_path() -> None:
    wrapped = TEMPLATE_HR.replace("  values:\n    configMaps:\n", "  values:\n    tunnel:\n      configMaps:\n")
    wrapped = wrapped.replace("\n      config:", "\n        config:").replace("\n        data:", "\n          data:")
    wrapped = wrapped.replace("\n          config.yaml: |-", "\n            config.yaml: |-").replace(
        "\n            ", "\n              "
    )
    errors = messages(expand_yaml(config(), wrapped), "error")
    assert errors == [
        "HelmRelease network/cloudflare-tunnel holds `configMaps` under `spec.values.tunnel`, not at the top of its "
        "values: a wrapper chart passes it to its subchart 'tunnel'; set `spec.tunnel.valuesPath: tunnel` so that "
        "krmfn edits it there"
    ]
    tunnel = "  tunnel:\n    kind: HelmRelease\n    name: cloudflare-tunnel\n    namespace: network\n"
    tunnel += f"    service: {SVC}\n    originRequest: {{http2Origin: true}}\n    valuesPath: tunnel\n"
    exp = expand_yaml(config(tunnel=tunnel), wrapped)
    assert messages(exp, "error") == []
    rules = load(
        load(text_of(exp, "HelmRelease"))["spec"]["values"]["tunnel"]["configMaps"]["config"]["data"]["config.yaml"]
    )
    assert [r.get("hostname") for r in rules["ingress"]] == ["${SECRET_DOMAIN}", "*.${SECRET_DOMAIN}", None]


def test_a_values_path_needs_a_helmrelease() -> None:
    with pytest.raises(ConfigError) as info:
        load_config(load(config(tunnel=CM_TUNNEL + "    valuesPath: tunnel\n")))
    assert [p.message for p in info.value.problems] == ["must not be set for a ConfigMap (no chart)"]
