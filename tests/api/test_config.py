"""The MultiDomain API: every problem reported at once, with its field path; defaults applied."""

from __future__ import annotations

from typing import Any

import pytest
from manifests import CERTIFICATES, domains, multidomain

from krmfn.api.config import json_schema, load_config
from krmfn.errors import ConfigError
from krmfn.krm.yamltext import load

BASE = multidomain(domains("example.com"), CERTIFICATES)


def config(**spec: Any) -> dict[str, Any]:
    data: dict[str, Any] = load(BASE)
    data["spec"].update(spec)
    return data


def problems(data: Any) -> dict[str, str]:
    with pytest.raises(ConfigError) as info:
        load_config(data)
    return {p.path: p.message for p in info.value.problems}


def test_minimal_config_gets_its_defaults() -> None:
    cfg = load_config(config())
    (domain,) = cfg.domains
    assert domain.primary
    assert domain.wildcard
    assert domain.issuer == "letsencrypt-production"
    assert cfg.issuer_ref is not None
    assert cfg.issuer_ref.kind == "ClusterIssuer"
    assert cfg.issuer_ref.group == "cert-manager.io"
    assert cfg.certificate_namespace == "network"
    assert not domain.tunnel
    assert not domain.split_horizon


def test_primary_comes_first_then_config_order() -> None:
    cfg = load_config(config(domains=[{"name": "a.com"}, {"name": "b.com", "primary": True}, {"name": "c.com"}]))
    assert [d.name.text for d in cfg.domains] == ["b.com", "a.com", "c.com"]
    assert [d.index for d in cfg.domains] == [1, 0, 2]


def test_every_problem_at_once_with_field_paths() -> None:
    found = problems(
        config(
            domains=[
                {"name": "example.com", "primary": True},
                {"name": "bad_name.com"},
                {"name": "example.org", "primary": True, "colour": "blue"},
            ],
            certificates={"namespace": "Network!", "issuerRef": {"name": "x"}, "duration": "90 days"},
        )
    )
    assert found["spec.domains[1].name"].startswith("must not contain an underscore")
    assert found["spec.domains[2].colour"] == "is not a field of MultiDomain; remove it or check its spelling"
    assert "spec.certificates.namespace" in found
    assert "must match the pattern" in found["spec.certificates.duration"]


def test_cross_field_problems() -> None:
    found = problems(
        config(
            domains=[
                {"name": "example.com", "primary": True},
                {"name": "Example.com."},
                {"name": "example-com.org", "primary": True},
                {"name": "foo.bar.com"},
                {
                    "name": "foo-bar.com",
                    "gateways": ["nope"],
                    "tunnel": True,
                    "splitHorizon": True,
                    "extraDNSNames": ["*.other.org", "x_y.foo-bar.com"],
                },
            ]
        )
    )
    assert found["spec.domains[2].primary"] == "at most one domain may be primary; spec.domains[0] already is"
    assert found["spec.domains[1].name"] == "must not repeat spec.domains[0]: 'example.com'"
    assert (
        found["spec.domains[4].name"]
        == "'foo-bar.com' and 'foo.bar.com' both derive the resource name 'foo-bar-com'; rename one"
    )
    assert found["spec.domains[4].gateways[0]"] == "must name a gateway in `spec.gateways`; 'nope' is not one"
    assert found["spec.domains[4].tunnel"] == "must not be true when `spec.tunnel` is not set"
    assert found["spec.domains[4].splitHorizon"] == "must not be true when `spec.splitHorizon` is not set"
    assert found["spec.domains[4].extraDNSNames[0]"] == "must be 'foo-bar.com' or a name under it; '*.other.org' is not"
    assert found["spec.domains[4].extraDNSNames[1]"].startswith("must not contain an underscore")


def test_issuer_and_namespace_must_come_from_somewhere() -> None:
    data = config()
    data["spec"]["certificates"] = {}
    found = problems(data)
    assert found["spec.certificates.issuerRef"] == "is required when `spec.issuers` is empty"
    assert found["spec.certificates.namespace"] == "is required when `spec.gateways` is empty"


def test_an_ingress_class_is_not_an_empty_gateways_list() -> None:
    data = config()
    data["spec"]["certificates"] = {"issuerRef": {"name": "letsencrypt-production"}}
    data["spec"]["gateways"] = [{"name": "nginx", "kind": "IngressClass"}]
    assert problems(data) == {
        "spec.certificates.namespace": "is required when no entry of `spec.gateways` is a Gateway with a namespace"
    }


def test_without_certificates_nothing_is_required() -> None:
    data = config()
    del data["spec"]["certificates"]
    cfg = load_config(data)
    assert cfg.certificates is None
    assert cfg.certificate_namespace is None
    assert cfg.issuer_ref is None
    assert [d.issuer for d in cfg.domains] == [None]


@pytest.mark.parametrize(
    ("data", "path", "message"),
    [
        ({**config(), "kind": "ConfigMap"}, "kind", "must be 'MultiDomain', not 'ConfigMap'"),
        ({**config(), "apiVersion": "krmfn.dev/v1"}, "apiVersion", "must be 'krmfn.dev/v1alpha1', not 'krmfn.dev/v1'"),
        (config(domains=[]), "spec.domains", "must have at least 1 item, not 0"),
        ({"apiVersion": "krmfn.dev/v1alpha1", "kind": "MultiDomain", "metadata": {"name": "e"}}, "spec", "is required"),
        (config(domains="example.com"), "spec.domains", "must be a valid list; got 'example.com'"),
        (["not", "a", "mapping"], ".", "the function config must be a mapping (a MultiDomain resource)"),
    ],
)
def test_messages_name_field_and_value(data: Any, path: str, message: str) -> None:
    assert problems(data)[path] == message


def test_schema_is_closed_and_documented() -> None:
    schema = json_schema()
    assert schema["title"] == "MultiDomain"
    domain = schema["$defs"]["DomainSpec"]
    assert domain["additionalProperties"] is False
    assert "extraDNSNames" in domain["properties"]
    assert "description" in domain["properties"]["name"]


WILDCARD_CERT = {"name": "wildcard-cert", "namespace": "cert-manager", "secretName": "wildcard-tls"}


def test_an_existing_certificate_is_resolved_onto_its_domain() -> None:
    cfg = load_config(config(domains=[{"name": "example.com", "existingCertificate": WILDCARD_CERT}]))
    existing = cfg.domains[0].existing_certificate
    assert existing is not None
    assert (existing.namespace, existing.name, existing.secret_name) == (
        "cert-manager",
        "wildcard-cert",
        "wildcard-tls",
    )


def test_an_existing_certificate_needs_its_namespace_and_secret() -> None:
    found = problems(config(domains=[{"name": "example.com", "existingCertificate": {"name": "dev"}}]))
    assert found == {
        "spec.domains[0].existingCertificate.namespace": "is required",
        "spec.domains[0].existingCertificate.secretName": "is required",
    }


def test_existing_certificate_cross_checks() -> None:
    found = problems(
        config(
            domains=[
                {"name": "example.com", "existingCertificate": WILDCARD_CERT, "issuer": "other"},
                {"name": "example.net", "existingCertificate": {**WILDCARD_CERT, "secretName": "net-tls"}},
                {
                    "name": "example.org",
                    "existingCertificate": {**WILDCARD_CERT, "name": "example-info", "namespace": "network"},
                },
                {"name": "example.info"},
            ]
        )
    )
    assert found == {
        "spec.domains[0].issuer": "must not be set with `existingCertificate` (krmfn writes no Certificate for "
        "'example.com'); got 'other'",
        "spec.domains[1].existingCertificate.secretName": "must be 'wildcard-tls', as spec.domains[0] says "
        "Certificate cert-manager/wildcard-cert writes; got 'net-tls'",
        "spec.domains[2].existingCertificate.name": "must not be 'example-info': krmfn generates a Certificate and "
        "Secret of that name in network for 'example.info'",
    }


def test_a_misspelt_field_gets_a_suggestion() -> None:
    gateway = {"name": "nginx", "kind": "IngressClass", "dns": {"exposure": "lan", "lanAddresses": ["192.168.1.2"]}}
    found = problems(config(gateways=[gateway]))
    assert found["spec.gateways[0].dns.lanAddresses"] == (
        "is not a field of MultiDomain; remove it or check its spelling; did you mean `lanAddress`?"
    )
    assert (
        problems(config(colour="blue"))["spec.colour"]
        == "is not a field of MultiDomain; remove it or check its spelling"
    )


def test_lan_addresses_hash_so_that_gateways_can_be_grouped() -> None:
    gateway = {"name": "nginx", "kind": "IngressClass", "dns": {"exposure": "lan", "lanAddress": ["192.168.1.2"]}}
    cfg = load_config(config(gateways=[gateway]))
    assert cfg.spec.gateways[0].dns is not None
    assert cfg.spec.gateways[0].dns.lan_addresses == ["192.168.1.2"]
    assert len({cfg.spec.gateways[0]}) == 1
