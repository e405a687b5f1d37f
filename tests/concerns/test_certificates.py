"""Certificates: one per domain, every name right, no clash with what the user wrote."""

from __future__ import annotations

import pytest
from conftest import by_kind, expand_yaml, messages
from manifests import DOMAINS, SEED_CERTIFICATE, TEMPLATE_CERTIFICATE, certificates, multidomain

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


SIMPLE = multidomain(
    DOMAINS, certificates(issuer="{name: letsencrypt-production, kind: ClusterIssuer}", suffix="production")
)
SEED = "---\n" + TEMPLATE_CERTIFICATE


def test_the_seed_certificate_is_adopted_in_place_not_duplicated() -> None:
    exp = expand_yaml(SIMPLE, SEED)
    assert messages(exp, "error") == []
    certs = by_kind(exp, "Certificate")
    assert [c["metadata"]["name"] for c in certs] == ["${SECRET_DOMAIN/./-}-production", "example-org-production"]
    adopted = exp.items[0]
    assert adopted.text == SEED.replace("---\n", "").replace(
        '  name: "${SECRET_DOMAIN/./-}-production"\n',
        '  name: "${SECRET_DOMAIN/./-}-production"\n  annotations:\n    krmfn.dev/owned-by: MultiDomain/edge\n',
    ), "only the owner mark is added: name, Secret, duration, key, usages, comment and quoting stay"
    assert "namespace" not in adopted.data["metadata"]
    cert = exp.certificates["${SECRET_DOMAIN}"]
    assert (cert.namespace, cert.name, cert.secret, cert.origin) == (
        "network",
        "${SECRET_DOMAIN/./-}-production",
        "${SECRET_DOMAIN/./-}-production-tls",
        "adopted",
    )
    assert any(
        m.startswith("adopted Certificate ${SECRET_DOMAIN/./-}-production: it is the Certificate of")
        for m in messages(exp)
    )
    assert "1 generated, 0 updated, 0 unchanged, 0 pruned, 0 patched, 1 adopted" in messages(exp)[-1]


def test_a_namespace_less_adopted_certificate_stays_adopted_in_a_plain_stream() -> None:
    """`--config` over a plain stream (a CI pre-render): no paths say where it lives, so its
    missing namespace is what marks it as the user's; a second run must not prune and regenerate it."""
    from krmfn.krm.resourcelist import read, write

    # named as krmfn would name it: only the missing namespace tells it from a generated one
    mine = (
        "---\napiVersion: cert-manager.io/v1\nkind: Certificate\nmetadata:\n  name: example-org-production\n"
        "spec:\n  secretName: example-org-production-tls\n  dnsNames: [example.org, '*.example.org']\n"
        "  issuerRef: {name: letsencrypt-production, kind: ClusterIssuer}\n"
    )
    first = expand_yaml(SIMPLE, mine, config_path=None)
    assert first.certificates["example.org"].origin == "adopted"
    text = write(read(mine), first.items, [])
    again = expand_yaml(SIMPLE, text, config_path=None)
    assert write(read(text), again.items, []) == text
    assert "0 pruned" in messages(again)[-1]
    assert again.certificates["example.org"].origin == "adopted"


def test_the_seed_certificate_with_a_namespace_is_adopted_too() -> None:
    exp = expand_yaml(CONFIG, SEED_CERTIFICATE)
    assert messages(exp, "error") == []
    assert exp.certificates["${SECRET_DOMAIN}"].name == "${SECRET_DOMAIN/./-}-production"
    assert by_kind(exp, "Certificate")[0]["metadata"]["namespace"] == "network"
    assert by_kind(exp, "Certificate")[0]["spec"]["duration"] == "160h", "set by the config"


def test_an_adopted_certificate_is_owned_from_then_on_and_pruned_like_a_generated_one() -> None:
    from conftest import items_of

    from krmfn.api.config import load_config
    from krmfn.expand import expand
    from krmfn.krm.resourcelist import read, write
    from krmfn.krm.yamltext import load

    first = expand_yaml(SIMPLE, SEED)
    text = write(read(SEED), first.items, [])
    again = expand(load_config(load(SIMPLE)), items_of(text), config_path="multidomain.yaml")
    assert write(read(text), again.items, []) == text
    assert "0 generated, 0 updated, 2 unchanged, 0 pruned, 0 patched" in messages(again)[-1]
    assert again.certificates["${SECRET_DOMAIN}"].origin == "adopted"
    only_org = SIMPLE.replace("    - name: ${SECRET_DOMAIN}\n", "")
    pruned = expand(load_config(load(only_org)), items_of(text), config_path="multidomain.yaml")
    assert [c["metadata"]["name"] for c in by_kind(pruned, "Certificate")] == ["example-org-production"]
    assert any(m.startswith("pruned Certificate ${SECRET_DOMAIN/./-}-production") for m in messages(pruned))


def test_adoption_sets_only_what_the_config_sets() -> None:
    config = SIMPLE.replace("    nameSuffix: production\n", "    nameSuffix: production\n    duration: 2160h\n")
    config = config.replace("{name: letsencrypt-production, kind: ClusterIssuer}", "{name: letsencrypt-staging}")
    spec = by_kind(expand_yaml(config, SEED), "Certificate")[0]["spec"]
    assert spec["duration"] == "2160h"
    assert spec["issuerRef"] == {"name": "letsencrypt-staging", "kind": "ClusterIssuer"}, "no group added: same default"
    assert spec["privateKey"] == {"algorithm": "ECDSA"}
    assert spec["usages"] == ["digital signature"]
    assert spec["secretName"] == "${SECRET_DOMAIN/./-}-production-tls"


@pytest.mark.parametrize(
    ("hand_written", "why"),
    [
        ("name: ${SECRET_DOMAIN//./-}-production\nspec:\n  secretName: other-tls\n", "the same name"),
        ("name: mine\nspec:\n  secretName: ${SECRET_DOMAIN/./-}-production-tls\n", "the same Secret"),
        (
            "name: wildcard\nspec:\n  secretName: w-tls\n  dnsNames: ['*.${SECRET_DOMAIN}', '${SECRET_DOMAIN}']\n",
            "the same names",
        ),
    ],
)
def test_adopted_by_name_secret_or_names(hand_written: str, why: str) -> None:
    item = f"apiVersion: cert-manager.io/v1\nkind: Certificate\nmetadata:\n  {hand_written}"
    exp = expand_yaml(SIMPLE, item)
    assert messages(exp, "error") == [], why
    assert len(by_kind(exp, "Certificate")) == 2, why
    assert exp.certificates["${SECRET_DOMAIN}"].origin == "adopted", why
    assert exp.certificates["${SECRET_DOMAIN}"].name == exp.items[0].header.name


def test_a_certificate_in_another_namespace_is_another_certificate() -> None:
    other = SEED.replace("metadata:\n", "metadata:\n  namespace: staging\n")
    exp = expand_yaml(SIMPLE, other)
    assert messages(exp, "error") == []
    assert exp.items[0].raw == other.replace("---\n", "")
    assert [c["metadata"]["name"] for c in by_kind(exp, "Certificate")][1:] == [
        "${SECRET_DOMAIN//./-}-production",
        "example-org-production",
    ]


def test_a_second_certificate_writing_the_adopted_secret_is_an_error() -> None:
    twin = "---\napiVersion: cert-manager.io/v1\nkind: Certificate\nmetadata:\n  name: twin\nspec:\n  secretName: ${SECRET_DOMAIN//./-}-production-tls\n"
    errors = messages(expand_yaml(SIMPLE, SEED + twin), "error")
    assert len(errors) == 1
    assert errors[0].startswith("Certificate twin must not share its Secret ${SECRET_DOMAIN/./-}-production-tls")


def test_unrelated_certificate_is_left_alone() -> None:
    other = "apiVersion: cert-manager.io/v1\nkind: Certificate\nmetadata:\n  name: grafana # mine\n  namespace: monitoring\nspec:\n  secretName: grafana-tls\n"
    exp = expand_yaml(CONFIG, other)
    assert messages(exp, "error") == []
    assert exp.items[0].raw == other


def test_without_certificates_nothing_is_generated_or_adopted() -> None:
    config = SIMPLE[: SIMPLE.index("  certificates:")]
    exp = expand_yaml(config, SEED)
    assert messages(exp, "error") == []
    assert [i.raw for i in exp.items] == [SEED.replace("---\n", "")]
    assert exp.certificates == {}


def test_a_literal_domain_while_the_tree_uses_a_variable_is_warned_about() -> None:
    literal = SIMPLE.replace("    - name: ${SECRET_DOMAIN}\n", "    - name: example.com\n")
    warnings = messages(expand_yaml(literal, SEED), "warning")
    assert warnings == [
        "`spec.domains` names example.com, example.org literally, while Certificate ${SECRET_DOMAIN/./-}-production "
        "name a zone through ${SECRET_DOMAIN}: if ${SECRET_DOMAIN} is one of these domains, write "
        "`name: ${SECRET_DOMAIN}` in `spec.domains` so that krmfn adopts what exists; otherwise, once Flux "
        "substitutes it, two Certificates hold the same names and a listener lists the same Secret twice"
    ]
    assert messages(expand_yaml(SIMPLE, SEED), "warning") == []
