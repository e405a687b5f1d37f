"""Certificates: one per domain, every name right, no clash with what the user wrote."""

from __future__ import annotations

from conftest import by_kind, expand_yaml, messages
from manifests import SEED_CERTIFICATE, certificates, multidomain

CONFIG = multidomain(
    """\
  domains:
    - name: ${SECRET_DOMAIN}
    - name: example.org
      wildcard: false
      extraDNSNames: ["*.lab.example.org", "example.org"]
      issuer: letsencrypt-staging
""",
    certificates(suffix="production"),
    """\
    duration: 160h
    renewBefore: 48h
    privateKey: {algorithm: ECDSA, rotationPolicy: Always}
    usages: [digital signature]
    secretTemplate: {labels: {backup: "true"}}
    revisionHistoryLimit: 2
""",
)


def test_one_certificate_per_domain_with_every_field() -> None:
    first, second = by_kind(expand_yaml(CONFIG), "Certificate")
    assert first["metadata"]["name"] == "${SECRET_DOMAIN//./-}-production"
    assert first["metadata"]["namespace"] == "network"
    assert first["spec"] == {
        "secretName": "${SECRET_DOMAIN//./-}-production-tls",
        "issuerRef": {"group": "cert-manager.io", "kind": "ClusterIssuer", "name": "letsencrypt-production"},
        "dnsNames": ["${SECRET_DOMAIN}", "*.${SECRET_DOMAIN}"],
        "duration": "160h",
        "renewBefore": "48h",
        "privateKey": {"algorithm": "ECDSA", "rotationPolicy": "Always"},
        "usages": ["digital signature"],
        "secretTemplate": {"labels": {"backup": "true"}},
        "revisionHistoryLimit": 2,
    }
    assert second["spec"]["dnsNames"] == ["example.org", "*.lab.example.org"]
    assert second["spec"]["issuerRef"]["name"] == "letsencrypt-staging"


def test_certificates_validate_against_the_crd_schema() -> None:
    from crdschema import assert_manifests_valid

    exp = expand_yaml(CONFIG)
    assert_manifests_valid("---\n".join(i.text for i in exp.items), substitutions={"SECRET_DOMAIN": "example.com"})


def test_more_than_100_names_is_an_error() -> None:
    extras = ", ".join(f'"h{i}.example.org"' for i in range(99))
    exp = expand_yaml(CONFIG.replace('["*.lab.example.org", "example.org"]', f"[{extras}]"))
    assert "Certificate for example.org must have at most 100 DNS names; it would have 100" not in messages(
        exp, "error"
    )
    exp = expand_yaml(CONFIG.replace('["*.lab.example.org", "example.org"]', f'[{extras}, "h99.example.org"]'))
    assert "Certificate for example.org must have at most 100 DNS names; it would have 101" in messages(exp, "error")
    assert [c["metadata"]["name"] for c in by_kind(exp, "Certificate")] == ["${SECRET_DOMAIN//./-}-production"]


def test_hand_written_certificate_with_the_seed_name_is_an_error() -> None:
    errors = messages(expand_yaml(CONFIG, SEED_CERTIFICATE), "error")
    assert len(errors) == 1
    assert errors[0].startswith(
        "Certificate network/${SECRET_DOMAIN/./-}-production must not share its name with the Certificate"
    )


def test_hand_written_certificate_sharing_a_secret_is_an_error() -> None:
    other = "apiVersion: cert-manager.io/v1\nkind: Certificate\nmetadata:\n  name: mine\n  namespace: network\nspec:\n  secretName: example-org-production-tls\n"
    errors = messages(expand_yaml(CONFIG, other), "error")
    assert any("must not share its Secret example-org-production-tls" in e for e in errors)


def test_unrelated_certificate_is_left_alone() -> None:
    other = "apiVersion: cert-manager.io/v1\nkind: Certificate\nmetadata:\n  name: grafana # mine\n  namespace: monitoring\nspec:\n  secretName: grafana-tls\n"
    exp = expand_yaml(CONFIG, other)
    assert messages(exp, "error") == []
    assert exp.items[0].raw == other
