"""Prove that the CRD schema harness (tests/crdschema.py) can both pass and fail.

These tests need node and ``npm ci --prefix tests/schemas``. When that is
missing they FAIL (never skip) with the install hint, because CI installs it.
"""

from __future__ import annotations

import copy
import json
import shutil
import subprocess
from typing import TYPE_CHECKING, Any

import pytest
from crdschema import (
    VALIDATOR_SCRIPT,
    ValidationReport,
    assert_manifests_valid,
    schema_validation_available,
    unavailable_reason,
    validate_manifests,
)

if TYPE_CHECKING:
    from collections.abc import Mapping

Manifest = dict[str, Any]

DOMAIN = {"SECRET_DOMAIN": "example.com"}
CLOUDFLARE_PROXIED = "external-dns.alpha.kubernetes.io/cloudflare-proxied"


def to_yaml(*docs: Manifest) -> str:
    """Multi-document YAML; JSON is valid YAML, so no YAML library is needed."""
    return "".join(f"---\n{json.dumps(doc, indent=2)}\n" for doc in docs)


def require_harness() -> None:
    """Fail (never skip) the calling test when node or node_modules is missing."""
    reason = unavailable_reason()
    if reason is not None:
        pytest.fail(reason, pytrace=False)


def validate(
    *docs: Manifest,
    substitutions: Mapping[str, str] | None = None,
    allow_unknown_fields: bool = False,
) -> list[ValidationReport]:
    """Validate docs; fail (never skip) the test if the harness is not installed."""
    require_harness()
    return validate_manifests(
        to_yaml(*docs),
        substitutions=substitutions,
        allow_unknown_fields=allow_unknown_fields,
    )


def only(reports: list[ValidationReport]) -> ValidationReport:
    """Return the single report of a one-object run."""
    (report,) = reports
    return report


def assert_ok(report: ValidationReport) -> None:
    """Fail with the validator's errors unless the report is ok."""
    assert report.status == "ok", report.describe()
    assert report.errors == []


def assert_invalid(report: ValidationReport, *fragments: str) -> None:
    """Fail unless the report is invalid with an error containing each fragment."""
    assert report.status == "invalid", report.describe()
    text = "\n".join(report.errors)
    for fragment in fragments:
        assert fragment in text, report.describe()


# --------------------------------------------------------------------------
# Fixtures as plain data (deep-copied per use)


def certificate() -> Manifest:
    """Build a valid wildcard Certificate using a Flux placeholder."""
    return {
        "apiVersion": "cert-manager.io/v1",
        "kind": "Certificate",
        "metadata": {"name": "wildcard", "namespace": "network"},
        "spec": {
            "secretName": "wildcard-tls",
            "dnsNames": ["${SECRET_DOMAIN}", "*.${SECRET_DOMAIN}"],
            "issuerRef": {"name": "letsencrypt-production", "kind": "ClusterIssuer"},
        },
    }


def gateway(api_version: str = "gateway.networking.k8s.io/v1") -> Manifest:
    """Build a valid Gateway whose HTTPS listener has two certificateRefs."""
    return {
        "apiVersion": api_version,
        "kind": "Gateway",
        "metadata": {"name": "external", "namespace": "network"},
        "spec": {
            "gatewayClassName": "cilium",
            "listeners": [
                {
                    "name": "https",
                    "protocol": "HTTPS",
                    "port": 443,
                    "hostname": "*.${SECRET_DOMAIN}",
                    "allowedRoutes": {"namespaces": {"from": "All"}},
                    "tls": {
                        "mode": "Terminate",
                        "certificateRefs": [
                            {"kind": "Secret", "name": "wildcard-tls"},
                            {"kind": "Secret", "name": "wildcard-ecdsa-tls"},
                        ],
                    },
                },
            ],
        },
    }


def dns_endpoint() -> Manifest:
    """Build a valid external-dns DNSEndpoint using every endpoint field."""
    return {
        "apiVersion": "externaldns.k8s.io/v1alpha1",
        "kind": "DNSEndpoint",
        "metadata": {"name": "external", "namespace": "network"},
        "spec": {
            "endpoints": [
                {
                    "dnsName": "external.${SECRET_DOMAIN}",
                    "recordType": "CNAME",
                    "targets": ["ipv4.${SECRET_DOMAIN}"],
                    "recordTTL": 300,
                    "setIdentifier": "primary",
                    "labels": {"owner": "krmfn"},
                    "providerSpecific": [
                        {
                            "name": CLOUDFLARE_PROXIED,
                            "value": "true",
                        },
                    ],
                },
            ],
        },
    }


def helm_release() -> Manifest:
    """Build a valid Flux HelmRelease (helm.toolkit.fluxcd.io/v2)."""
    return {
        "apiVersion": "helm.toolkit.fluxcd.io/v2",
        "kind": "HelmRelease",
        "metadata": {"name": "podinfo", "namespace": "default"},
        "spec": {
            "interval": "30m",
            "chart": {
                "spec": {
                    "chart": "podinfo",
                    "version": "6.x",
                    "sourceRef": {
                        "kind": "HelmRepository",
                        "name": "podinfo",
                        "namespace": "flux-system",
                    },
                },
            },
            "install": {"remediation": {"retries": 3}},
            "upgrade": {"cleanupOnFail": True, "remediation": {"strategy": "rollback"}},
            # values is free-form: arbitrary keys must not count as unknown fields.
            "values": {"anything": {"goes": [1, {"here": True}]}},
        },
    }


# --------------------------------------------------------------------------
# Harness availability


def test_schema_validation_is_installed() -> None:
    """CI installs node_modules; a missing install must be a visible failure."""
    require_harness()
    assert schema_validation_available()


# --------------------------------------------------------------------------
# cert-manager


def test_valid_certificate_passes() -> None:
    """A well-formed Certificate (with ${SECRET_DOMAIN} dnsNames) is ok."""
    assert_ok(only(validate(certificate())))


def test_certificate_issuer_ref_without_name_fails() -> None:
    """issuerRef.name is required."""
    doc = certificate()
    del doc["spec"]["issuerRef"]["name"]
    assert_invalid(only(validate(doc)), "/spec/issuerRef", "name")


def test_certificate_dns_names_as_string_fails() -> None:
    """A string dnsNames (instead of a list) fails."""
    doc = certificate()
    doc["spec"]["dnsNames"] = "x"
    assert_invalid(only(validate(doc)), "/spec/dnsNames: must be array")


def test_certificate_unknown_field_fails_unless_allowed() -> None:
    """A typo'd field is reported (the API server would drop it silently)."""
    doc = certificate()
    doc["spec"]["dnsNamez"] = ["typo.example.com"]
    assert_invalid(only(validate(doc)), '/spec: unknown field "dnsNamez"')
    assert_ok(only(validate(doc, allow_unknown_fields=True)))


def test_certificate_without_metadata_name_fails() -> None:
    """Every object needs metadata.name."""
    doc = certificate()
    del doc["metadata"]["name"]
    assert_invalid(only(validate(doc)), "/metadata", "name")


@pytest.mark.parametrize("kind", ["ClusterIssuer", "Issuer"])
def test_issuers_are_validated(kind: str) -> None:
    """ClusterIssuer and Issuer have schemas: good passes, bad fails."""
    doc: Manifest = {
        "apiVersion": "cert-manager.io/v1",
        "kind": kind,
        "metadata": {"name": "letsencrypt", "namespace": "network"},
        "spec": {
            "acme": {
                "server": "https://acme-v02.api.letsencrypt.org/directory",
                "email": "admin@${SECRET_DOMAIN}",
                "privateKeySecretRef": {"name": "letsencrypt"},
                "solvers": [
                    {
                        "dns01": {
                            "cloudflare": {
                                "apiTokenSecretRef": {
                                    "name": "cloudflare",
                                    "key": "token",
                                },
                            },
                        },
                    },
                ],
            },
        },
    }
    assert_ok(only(validate(doc)))
    doc["spec"]["acme"]["solvers"] = {"dns01": {}}
    assert_invalid(only(validate(doc)), "/spec/acme/solvers: must be array")


# --------------------------------------------------------------------------
# Gateway API


@pytest.mark.parametrize(
    "api_version",
    ["gateway.networking.k8s.io/v1", "gateway.networking.k8s.io/v1beta1"],
)
def test_gateway_with_two_certificate_refs_passes(api_version: str) -> None:
    """A Gateway listener may carry several certificateRefs."""
    assert_ok(only(validate(gateway(api_version), substitutions=DOMAIN)))


def test_gateway_listener_with_invalid_protocol_fails() -> None:
    """A protocol not matching the Gateway API pattern fails."""
    doc = gateway()
    doc["spec"]["listeners"][0]["protocol"] = "HTTP S"
    assert_invalid(
        only(validate(doc, substitutions=DOMAIN)),
        "/spec/listeners/0/protocol: must match pattern",
    )


def test_gateway_listener_with_string_port_fails() -> None:
    """A listener port must be an integer."""
    doc = gateway()
    doc["spec"]["listeners"][0]["port"] = "443"
    assert_invalid(only(validate(doc, substitutions=DOMAIN)), "/spec/listeners/0/port")


def test_gateway_hostname_placeholder_needs_substitution() -> None:
    """Gateway API hostname patterns reject a literal ${SECRET_DOMAIN}."""
    assert_invalid(only(validate(gateway())), "/spec/listeners/0/hostname: must match pattern")
    assert_ok(only(validate(gateway(), substitutions=DOMAIN)))


@pytest.mark.parametrize(
    "api_version",
    ["gateway.networking.k8s.io/v1", "gateway.networking.k8s.io/v1beta1"],
)
def test_http_route_and_reference_grant_pass(api_version: str) -> None:
    """HTTPRoute and ReferenceGrant validate in v1 and v1beta1."""
    route: Manifest = {
        "apiVersion": api_version,
        "kind": "HTTPRoute",
        "metadata": {"name": "app", "namespace": "default"},
        "spec": {
            "hostnames": ["app.${SECRET_DOMAIN}"],
            "parentRefs": [{"name": "external", "namespace": "network", "sectionName": "https"}],
            "rules": [
                {
                    "matches": [{"path": {"type": "PathPrefix", "value": "/"}}],
                    "backendRefs": [{"name": "app", "port": 80}],
                },
            ],
        },
    }
    grant: Manifest = {
        "apiVersion": api_version,
        "kind": "ReferenceGrant",
        "metadata": {"name": "allow-routes", "namespace": "network"},
        "spec": {
            "from": [
                {
                    "group": "gateway.networking.k8s.io",
                    "kind": "HTTPRoute",
                    "namespace": "default",
                },
            ],
            "to": [{"group": "", "kind": "Secret"}],
        },
    }
    for report in validate(route, grant, substitutions=DOMAIN):
        assert_ok(report)


def test_http_route_with_bad_path_type_fails() -> None:
    """An HTTPRoute path match type outside the enum fails."""
    route: Manifest = {
        "apiVersion": "gateway.networking.k8s.io/v1",
        "kind": "HTTPRoute",
        "metadata": {"name": "app", "namespace": "default"},
        "spec": {
            "parentRefs": [{"name": "external", "namespace": "network"}],
            "rules": [{"matches": [{"path": {"type": "Prefix", "value": "/"}}]}],
        },
    }
    assert_invalid(only(validate(route)), "/spec/rules/0/matches/0/path/type")


def test_grpc_route_passes() -> None:
    """A GRPCRoute (v1) validates."""
    route: Manifest = {
        "apiVersion": "gateway.networking.k8s.io/v1",
        "kind": "GRPCRoute",
        "metadata": {"name": "grpc", "namespace": "default"},
        "spec": {
            "parentRefs": [{"name": "external", "namespace": "network"}],
            "rules": [
                {
                    "matches": [{"method": {"service": "foo.Bar"}}],
                    "backendRefs": [{"name": "grpc", "port": 9000}],
                },
            ],
        },
    }
    assert_ok(only(validate(route)))


# --------------------------------------------------------------------------
# external-dns DNSEndpoint (hand-written schema)


def test_valid_dns_endpoint_passes() -> None:
    """A DNSEndpoint using every endpoint field is ok."""
    assert_ok(only(validate(dns_endpoint())))


def test_dns_endpoint_unknown_endpoint_field_fails() -> None:
    """Endpoint items reject unknown keys (recordTtl vs recordTTL)."""
    doc = dns_endpoint()
    doc["spec"]["endpoints"][0]["recordTtl"] = 300
    assert_invalid(only(validate(doc)), "/spec/endpoints/0", '"recordTtl"')


def test_dns_endpoint_unknown_provider_specific_field_fails() -> None:
    """Items of providerSpecific accept only name and value."""
    doc = dns_endpoint()
    doc["spec"]["endpoints"][0]["providerSpecific"][0]["val"] = "x"
    assert_invalid(only(validate(doc)), "/spec/endpoints/0/providerSpecific/0", '"val"')


def test_dns_endpoint_wrong_types_fail() -> None:
    """A string recordTTL and a string targets fail."""
    doc = dns_endpoint()
    endpoint = doc["spec"]["endpoints"][0]
    endpoint["recordTTL"] = "300"
    endpoint["targets"] = "ipv4.example.com"
    assert_invalid(
        only(validate(doc)),
        "/spec/endpoints/0/recordTTL: must be integer",
        "/spec/endpoints/0/targets: must be array",
    )


# --------------------------------------------------------------------------
# Flux


def test_helm_release_v2_passes() -> None:
    """A Flux HelmRelease v2 with free-form values is ok."""
    assert_ok(only(validate(helm_release())))


def test_helm_release_v2_errors_are_reported() -> None:
    """Type errors and unknown fields in a HelmRelease are reported."""
    doc = helm_release()
    doc["spec"]["install"]["remediation"]["retries"] = "three"
    doc["spec"]["chart"]["spec"]["sourceRef"]["knd"] = "HelmRepository"
    assert_invalid(
        only(validate(doc)),
        "/spec/install/remediation/retries: must be integer",
        'unknown field "knd"',
    )


# --------------------------------------------------------------------------
# Core kinds


def test_core_kinds_are_validated() -> None:
    """ConfigMap, Secret, Service and Deployment are checked too."""
    config_map: Manifest = {
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": {"name": "settings", "namespace": "default"},
        "data": {"DOMAIN": "${SECRET_DOMAIN}"},
    }
    secret: Manifest = {
        "apiVersion": "v1",
        "kind": "Secret",
        "metadata": {"name": "token", "namespace": "default"},
        "type": "Opaque",
        "stringData": {"token": "${SECRET_TOKEN}"},
    }
    service: Manifest = {
        "apiVersion": "v1",
        "kind": "Service",
        "metadata": {"name": "app", "namespace": "default"},
        "spec": {
            "selector": {"app": "app"},
            "ports": [{"name": "http", "port": 80, "targetPort": "http"}],
        },
    }
    deployment: Manifest = {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": "app", "namespace": "default"},
        "spec": {
            "selector": {"matchLabels": {"app": "app"}},
            "template": {
                "metadata": {"labels": {"app": "app"}},
                "spec": {"containers": [{"name": "app", "image": "ghcr.io/example/app:1.0.0"}]},
            },
        },
    }
    for report in validate(config_map, secret, service, deployment):
        assert_ok(report)
    bad_config_map = copy.deepcopy(config_map)
    bad_config_map["data"]["PORT"] = 8080
    assert_invalid(only(validate(bad_config_map)), "/data/PORT: must be string")


# --------------------------------------------------------------------------
# Stream handling


def test_resource_list_is_unwrapped() -> None:
    """A ResourceList's items are validated one by one."""
    bad = certificate()
    bad["spec"]["dnsNames"] = "x"
    resource_list: Manifest = {
        "apiVersion": "config.kubernetes.io/v1",
        "kind": "ResourceList",
        "items": [certificate(), dns_endpoint(), bad],
        "functionConfig": {"apiVersion": "example.com/v1", "kind": "Whatever"},
    }
    first, second, third = validate(resource_list)
    assert (first.index, first.kind) == (0, "Certificate")
    assert_ok(first)
    assert second.kind == "DNSEndpoint"
    assert_ok(second)
    assert third.kind == "Certificate"
    assert_invalid(third, "/spec/dnsNames")


def test_unknown_kind_is_reported_not_failed() -> None:
    """A kind without a schema is reported as unknown-kind, not invalid."""
    unknown: Manifest = {
        "apiVersion": "example.com/v1",
        "kind": "Widget",
        "metadata": {"name": "w"},
        "spec": {"anything": True},
    }
    known, other = validate(certificate(), unknown)
    assert_ok(known)
    assert (other.status, other.kind, other.name, other.errors) == (
        "unknown-kind",
        "Widget",
        "w",
        [],
    )
    assert other.ok
    assert_manifests_valid(to_yaml(unknown))
    with pytest.raises(AssertionError, match="unknown-kind"):
        assert_manifests_valid(to_yaml(unknown), allow_unknown_kinds=False)


def test_multi_document_yaml_text_with_empty_documents() -> None:
    """Raw YAML text: comments and empty documents are skipped."""
    text = """\
# leading comment
---
apiVersion: v1
kind: ConfigMap
metadata:
  name: one
data:
  domain: ${SECRET_DOMAIN}
---
---
apiVersion: v1
kind: ConfigMap
metadata: {name: two}
data: {enabled: true}
---
"""
    require_harness()
    first, second = validate_manifests(text)
    assert_ok(first)
    assert (second.index, second.name) == (1, "two")
    assert_invalid(second, "/data/enabled: must be string")


def test_yaml_syntax_error_is_invalid() -> None:
    """Broken YAML is reported as invalid."""
    require_harness()
    report = only(validate_manifests("apiVersion: v1\nkind: [ConfigMap\n"))
    assert_invalid(report, "YAML")


def test_assert_manifests_valid_lists_failures() -> None:
    """assert_manifests_valid names the failing objects."""
    bad = certificate()
    del bad["spec"]["issuerRef"]
    require_harness()
    with pytest.raises(AssertionError, match=r"(?s)1 of 2 manifest\(s\).*'wildcard': invalid"):
        assert_manifests_valid(to_yaml(certificate(), bad))


@pytest.mark.parametrize(
    ("docs", "expected_exit"),
    [
        ([certificate()], 0),
        ([{"apiVersion": "x.io/v1", "kind": "X"}], 0),
        ([{"kind": "X"}], 1),
    ],
)
def test_cli_exit_status(docs: list[Manifest], expected_exit: int) -> None:
    """validate.mjs exits 1 only when an object is invalid."""
    require_harness()
    node = shutil.which("node")
    assert node is not None
    completed = subprocess.run(  # noqa: S603, RUF100 - fixed script, no shell
        [node, str(VALIDATOR_SCRIPT)],
        input=to_yaml(*docs),
        capture_output=True,
        text=True,
        check=False,
        timeout=60,
    )
    assert completed.returncode == expected_exit, completed.stdout + completed.stderr
    assert completed.stderr == "", completed.stderr
    assert len(completed.stdout.splitlines()) == len(docs)
