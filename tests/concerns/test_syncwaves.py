"""Argo CD sync waves on generated resources, per kind, off unless `spec.syncWaves` is set."""

from __future__ import annotations

import pytest
from conftest import expand_yaml, messages
from manifests import (
    EXTERNAL_DNS,
    EXTERNAL_DNS_INSTALLATION,
    certificates,
    domains,
    gateway,
    httproute,
    https_listener,
    multidomain,
)

from krmfn.api.config import load_config
from krmfn.concerns.syncwaves import ANNOTATION, DEFAULT_WAVES, waves
from krmfn.errors import ConfigError
from krmfn.expand import Expansion, expand
from krmfn.krm.yamltext import load

CONFIG = multidomain(
    domains("example.com", "example.org"),
    certificates("cert-manager"),
    """\
  issuers:
    - name: letsencrypt-production
      acme:
        email: ops@example.com
        solver: {cloudflare: {apiTokenSecretRef: {name: cloudflare, key: api-token}}}
  gateways:
    - name: envoy-external
      namespace: network
      dns: {target: "external.{domain}"}
  guardrails: {}
  expiryAlerts: {}
""",
    EXTERNAL_DNS_INSTALLATION,
)

WITH_WAVES = CONFIG + "  syncWaves: {}\n"

STREAM = (
    EXTERNAL_DNS
    + "---\n"
    + gateway(https_listener("example-com-tls", namespace="cert-manager"), target="external.example.com")
    + "---\n"
    + httproute(
        "echo", '["echo.example.org"]', parents="[{name: envoy-external, namespace: network, sectionName: https}]"
    )
)


def generated_waves(exp: Expansion) -> dict[tuple[str, str], str | None]:
    return {
        (i.header.kind, i.header.name): i.annotation(ANNOTATION)
        for i in exp.items
        if i.annotation("krmfn.dev/owned-by") is not None
    }


def rerun(config: str, exp: Expansion) -> Expansion:
    return expand(load_config(load(config)), exp.items, config_path="multidomain.yaml")


def test_off_by_default_no_generated_item_has_a_wave() -> None:
    exp = expand_yaml(CONFIG, STREAM)
    found = generated_waves(exp)
    assert len(found) >= 7, found
    assert set(found.values()) == {None}
    assert all(ANNOTATION not in i.text for i in exp.items)


def test_default_waves_follow_the_seed_order() -> None:
    exp = expand_yaml(WITH_WAVES, STREAM)
    assert generated_waves(exp) == {
        ("Certificate", "example-com"): "0",
        ("Certificate", "example-org"): "0",
        ("ClusterIssuer", "letsencrypt-production"): "0",
        ("ReferenceGrant", "edge-gateways-network"): "1",
        ("DNSEndpoint", "echo-httproute"): "3",
        ("ValidatingAdmissionPolicy", "krmfn-edge-hostnames"): "-1",
        ("ValidatingAdmissionPolicyBinding", "krmfn-edge-hostnames"): "-1",
        ("PrometheusRule", "edge-certificate-expiry"): "0",
    }
    assert not messages(exp, "error")


def test_input_items_are_never_given_a_wave() -> None:
    exp = expand_yaml(WITH_WAVES, STREAM)
    gateway = next(i for i in exp.items if i.header.kind == "Gateway")
    route = next(i for i in exp.items if i.header.kind == "HTTPRoute")
    assert gateway.annotation(ANNOTATION) is None
    assert route.annotation(ANNOTATION) is None


def test_waves_are_configurable_and_null_removes_one() -> None:
    config = CONFIG + "  syncWaves:\n    waves: {Certificate: 5, DNSEndpoint: null, ClusterIssuer: -3}\n"
    found = generated_waves(expand_yaml(config, STREAM))
    assert found[("Certificate", "example-com")] == "5"
    assert found[("ClusterIssuer", "letsencrypt-production")] == "-3"
    assert found[("DNSEndpoint", "echo-httproute")] is None
    assert found[("ReferenceGrant", "edge-gateways-network")] == "1"


def test_idempotent_and_switching_off_removes_the_waves() -> None:
    exp = expand_yaml(WITH_WAVES, STREAM)
    again = rerun(WITH_WAVES, exp)
    assert [i.text for i in again.items] == [i.text for i in exp.items]
    assert not [m for m in messages(again) if m.startswith(("generated", "updated", "pruned"))]
    off = rerun(CONFIG, exp)
    assert set(generated_waves(off).values()) == {None}
    assert [i.text for i in off.items] == [i.text for i in expand_yaml(CONFIG, STREAM).items]


def test_changing_a_wave_updates_the_owned_item() -> None:
    exp = expand_yaml(WITH_WAVES, STREAM)
    changed = rerun(CONFIG + "  syncWaves: {waves: {PrometheusRule: 4}}\n", exp)
    assert generated_waves(changed)[("PrometheusRule", "edge-certificate-expiry")] == "4"
    assert "updated PrometheusRule cert-manager/edge-certificate-expiry" in messages(changed, "info")


def test_merge_of_defaults_and_overrides() -> None:
    merged = waves({"Secret": None, "Certificate": 2, "Widget": 7})
    assert "Secret" not in merged
    assert merged["Certificate"] == 2
    assert merged["Widget"] == 7
    assert merged["HTTPRoute"] == DEFAULT_WAVES["HTTPRoute"] == 3
    assert DEFAULT_WAVES["Secret"] == -1


@pytest.mark.parametrize("key", ["certificate", "cert-manager.io/Certificate", ""])
def test_a_wave_key_must_be_a_kind(key: str) -> None:
    with pytest.raises(ConfigError) as err:
        load_config(load(CONFIG + f"  syncWaves: {{waves: {{'{key}': 1}}}}\n"))
    (problem,) = err.value.problems
    assert problem.path == "spec.syncWaves.waves"
    assert f"{key!r} is not one" in problem.message


def test_a_wave_must_be_an_integer() -> None:
    with pytest.raises(ConfigError) as err:
        load_config(load(CONFIG + "  syncWaves: {waves: {Certificate: early}}\n"))
    assert err.value.problems[0].path == "spec.syncWaves.waves.Certificate"
