"""Split-horizon DNS (SPEC §8): k8s_gateway's `values.domain` lists every split-horizon zone."""

from __future__ import annotations

from typing import Any

import pytest
from conftest import expand_yaml, messages
from crdschema import assert_manifests_valid
from manifests import CERTIFICATES, EDGE_BLOCK, K8S_GATEWAY, multidomain

from krmfn.expand import Expansion


def config(domains: str = "    - name: ${SECRET_DOMAIN}\n    - name: example.org\n") -> str:
    return multidomain(
        "  domains:\n" + domains,
        CERTIFICATES,
        "  splitHorizon: {name: k8s-gateway, namespace: network}\n",
        metadata=EDGE_BLOCK,
    )


TEMPLATE_HR = "---\n" + K8S_GATEWAY


HEAD = (
    "apiVersion: helm.toolkit.fluxcd.io/v2\nkind: HelmRelease\nmetadata:\n  name: k8s-gateway\n  namespace: network\n"
)


def of_kind(exp: Expansion, kind: str) -> list[dict[str, Any]]:
    return [i.data for i in exp.items if i.header.kind == kind]


def stream(exp: Expansion) -> str:
    return "".join("---\n" + item.text for item in exp.items)


def text_of(exp: Expansion) -> str:
    return next(i.text for i in exp.items if i.header.kind == "HelmRelease")


def test_domain_lists_every_zone_space_separated_keeping_quotes_and_comments() -> None:
    exp = expand_yaml(config(), TEMPLATE_HR)
    assert text_of(exp) == TEMPLATE_HR.removeprefix("---\n").replace(
        'domain: "${SECRET_DOMAIN}"', 'domain: "${SECRET_DOMAIN} example.org"'
    )
    assert "patched HelmRelease network/k8s-gateway: set `spec.values.domain` to '${SECRET_DOMAIN} example.org'" in (
        messages(exp, "info")
    )
    assert_manifests_valid(stream(exp), substitutions={"SECRET_DOMAIN": "example.com"}, allow_unknown_kinds=False)
    again = expand_yaml(config(), stream(exp))
    assert stream(again) == stream(exp)


def test_a_zone_written_by_hand_that_is_removed_is_named() -> None:
    exp = expand_yaml(
        config(), TEMPLATE_HR.replace('domain: "${SECRET_DOMAIN}"', 'domain: "${SECRET_DOMAIN} lab.example.net"')
    )
    (warning,) = [m for m in messages(exp, "warning") if "removed zone" in m]
    assert warning == (
        "HelmRelease network/k8s-gateway: removed zone(s) lab.example.net from `spec.values.domain`, because "
        "MultiDomain edge does not list them as split-horizon zones; add them to `spec.domains` (with "
        "`splitHorizon: true`) to keep them"
    )
    assert not [m for m in messages(expand_yaml(config(), TEMPLATE_HR), "warning") if "removed zone" in m]


def test_only_split_horizon_domains_are_listed_in_config_order() -> None:
    domains = (
        "    - name: b.example\n    - name: a.example\n      primary: true\n"
        "    - name: c.example\n      splitHorizon: false\n"
    )
    exp = expand_yaml(config(domains), TEMPLATE_HR)
    assert of_kind(exp, "HelmRelease")[0]["spec"]["values"]["domain"] == "b.example a.example"


def test_a_domain_already_right_is_untouched_whatever_its_spacing() -> None:
    hr = TEMPLATE_HR.replace('"${SECRET_DOMAIN}"', '"${SECRET_DOMAIN}   example.org"')
    exp = expand_yaml(config(), hr)
    assert text_of(exp) == hr.removeprefix("---\n")
    assert messages(exp, "warning") == []


def test_dns_challenge_with_several_zones_is_warned_about() -> None:
    hr = TEMPLATE_HR + "    dnsChallenge:\n      enabled: true\n      domain: dns01.example.com\n"
    exp = expand_yaml(config(), hr)
    [warning] = messages(exp, "warning")
    assert "`spec.values.dnsChallenge.enabled` must be false with more than one zone" in warning
    one = expand_yaml(config("    - name: ${SECRET_DOMAIN}\n"), hr)
    assert messages(one, "warning") == []


def test_no_split_horizon_domain_leaves_the_release_alone() -> None:
    exp = expand_yaml(config("    - name: example.org\n      splitHorizon: false\n"), TEMPLATE_HR)
    assert text_of(exp) == TEMPLATE_HR.removeprefix("---\n")
    assert any("no domain has `splitHorizon: true`" in m for m in messages(exp, "warning"))


def test_a_release_without_values_gets_them() -> None:
    hr = HEAD + "spec:\n  values:\n"
    exp = expand_yaml(config(), hr)
    assert of_kind(exp, "HelmRelease")[0]["spec"]["values"] == {"domain": "${SECRET_DOMAIN} example.org"}


@pytest.mark.parametrize("body", ["spec: 1\n", "spec:\n  values: [a]\n"])
def test_malformed_values_are_an_error(body: str) -> None:
    hr = HEAD + body
    exp = expand_yaml(config(), hr)
    assert "HelmRelease network/k8s-gateway: `spec.values` must be a mapping" in messages(exp, "error")


def test_a_missing_release_is_an_error() -> None:
    exp = expand_yaml(config(), "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: x\n")
    assert any(
        "HelmRelease network/k8s-gateway named in `spec.splitHorizon` must be in the input" in m
        for m in messages(exp, "error")
    )


def test_without_split_horizon_config_nothing_is_read() -> None:
    cfg = config().replace("  splitHorizon: {name: k8s-gateway, namespace: network}\n", "")
    exp = expand_yaml(cfg, TEMPLATE_HR)
    assert text_of(exp) == TEMPLATE_HR.removeprefix("---\n")
    assert messages(exp, "error") == []


def test_a_wrapper_chart_gets_the_domain_under_its_values_path() -> None:
    wrapper = """\
apiVersion: helm.toolkit.fluxcd.io/v2
kind: HelmRelease
metadata:
  name: k8s-gateway
  namespace: network
spec:
  chart:
    spec:
      chart: ./charts/dns
      sourceRef: {kind: GitRepository, name: flux-system}
  values:
    k8s-gateway:
      domain: example.com # the zone it answers for
"""
    config = multidomain(
        "  domains:\n    - name: example.com\n    - name: example.org\n",
        "  splitHorizon: {kind: HelmRelease, name: k8s-gateway, namespace: network}\n",
    )
    assert "set `spec.splitHorizon.valuesPath: k8s-gateway`" in messages(expand_yaml(config, wrapper), "error")[0]
    exp = expand_yaml(config.replace("namespace: network}", "namespace: network, valuesPath: k8s-gateway}"), wrapper)
    assert messages(exp, "error") == []
    assert exp.items[0].text == wrapper.replace("domain: example.com #", "domain: example.com example.org #")
    plain = wrapper.replace("    k8s-gateway:\n      domain", "    domain")
    warnings = messages(expand_yaml(config, plain), "warning")
    assert any(
        "installs a chart from the repository 'dns', not the upstream k8s-gateway or k8s_gateway" in w for w in warnings
    )
