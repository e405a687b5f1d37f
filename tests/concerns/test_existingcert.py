"""`existingCertificate`: a domain's Certificate the user keeps, often where krmfn cannot see it
(gilesknap/tpi-k3s-ansible: `wildcard-cert` in a Helm template kpt does not read)."""

from __future__ import annotations

from typing import Any

from conftest import by_kind, expand_yaml, messages
from manifests import gateway, https_listener

from krmfn.api.config import load_config
from krmfn.expand import expand
from krmfn.krm.yamltext import load

CONFIG = """\
apiVersion: krmfn.dev/v1alpha1
kind: MultiDomain
metadata: {name: cluster}
spec:
  domains:
    - name: example.com
      existingCertificate: {name: wildcard-cert, namespace: cert-manager, secretName: wildcard-tls}
    - name: example.org
  certificates:
    namespace: cert-manager
    issuerRef: {name: letsencrypt-prod}
"""
WITHOUT = CONFIG.replace(
    "      existingCertificate: {name: wildcard-cert, namespace: cert-manager, secretName: wildcard-tls}\n", ""
)
WILDCARD = """\
apiVersion: cert-manager.io/v1
kind: Certificate
metadata:
  name: wildcard-cert
  namespace: cert-manager
spec:
  secretName: wildcard-tls # the controller's default certificate
  issuerRef: {name: letsencrypt-prod, kind: ClusterIssuer}
  dnsNames: ["*.example.com", example.com]
"""


def names(resources: list[dict[str, Any]]) -> list[str]:
    return [str(d["metadata"]["name"]) for d in resources]


def test_no_certificate_is_generated_for_a_domain_whose_certificate_exists_unseen() -> None:
    exp = expand_yaml(CONFIG)
    assert names(by_kind(exp, "Certificate")) == ["example-org"]
    cert = exp.certificates["example.com"]
    assert (cert.namespace, cert.name, cert.secret, cert.origin) == (
        "cert-manager",
        "wildcard-cert",
        "wildcard-tls",
        "existing",
    )
    said = [m for m in messages(exp, "info") if "is not in the input" in m]
    assert said == [
        "Certificate cert-manager/wildcard-cert (`spec.domains[0].existingCertificate`) is not in the input: "
        "MultiDomain cluster writes no Certificate for example.com and takes Secret cert-manager/wildcard-tls to "
        "hold example.com, *.example.com"
    ]
    # without the field, a second certificate for the same names is generated
    assert names(by_kind(expand_yaml(WITHOUT), "Certificate")) == ["example-com", "example-org"]


def test_one_in_the_input_is_checked_not_adopted_or_changed() -> None:
    exp = expand_yaml(CONFIG, WILDCARD)
    mine = [i for i in exp.items if i.header.name == "wildcard-cert"]
    assert [i.text for i in mine] == [WILDCARD]
    assert not [m for m in messages(exp) if "adopted" in m or "is not in the input" in m]
    assert [m for m in messages(exp) if m.startswith(("error", "warning"))] == []
    assert exp.certificates["example.com"].data["spec"]["dnsNames"] == ["*.example.com", "example.com"]
    # the same input without the field: the hand-written Certificate is adopted (and owned) instead
    adopted = expand_yaml(WITHOUT, WILDCARD)
    assert adopted.certificates["example.com"].origin == "adopted"


def test_one_in_the_input_that_writes_another_secret_is_an_error() -> None:
    exp = expand_yaml(CONFIG, WILDCARD.replace("secretName: wildcard-tls", "secretName: other-tls"))
    assert messages(exp, "error") == [
        "`spec.domains[0].existingCertificate.secretName` must be the Secret Certificate "
        "cert-manager/wildcard-cert writes, 'other-tls'; it is 'wildcard-tls'"
    ]


def test_one_in_the_input_without_the_domains_names_is_warned_about() -> None:
    exp = expand_yaml(CONFIG, WILDCARD.replace('["*.example.com", example.com]', "[example.com]"))
    assert messages(exp, "warning") == [
        "Certificate cert-manager/wildcard-cert, the `existingCertificate` of example.com, does not hold "
        "*.example.com: hosts under them are not covered; add them to its `spec.dnsNames`"
    ]


def test_one_an_earlier_run_adopted_is_kept_not_pruned() -> None:
    owned = WILDCARD.replace(
        "  namespace: cert-manager\n",
        "  namespace: cert-manager\n  annotations:\n    krmfn.dev/owned-by: MultiDomain/cluster\n",
    )
    exp = expand_yaml(CONFIG, owned)
    assert [i.text for i in exp.items if i.header.name == "wildcard-cert"] == [owned]
    assert not [m for m in messages(exp) if m.startswith("pruned")]
    assert exp.certificates["example.com"].origin == "existing"


def test_a_hand_written_certificate_writing_its_secret_is_an_error() -> None:
    other = WILDCARD.replace("name: wildcard-cert", "name: another")
    exp = expand_yaml(CONFIG, other)
    assert messages(exp, "error") == [
        "Certificate cert-manager/another must not share its Secret wildcard-tls with Certificate wildcard-cert, "
        "which MultiDomain cluster names as its `existingCertificate` for example.com: two Certificates writing one "
        "Secret re-issue each other forever; remove one"
    ]


def test_the_solver_replay_leaves_a_certificate_krmfn_does_not_write_alone() -> None:
    # an issuer krmfn does not manage, whose one solver selects only the new zone
    issuer = (
        "apiVersion: cert-manager.io/v1\nkind: ClusterIssuer\nmetadata: {name: letsencrypt-prod}\nspec:\n  acme:\n"
        "    server: https://acme-v02.api.letsencrypt.org/directory\n    privateKeySecretRef: {name: le}\n"
        "    solvers:\n      - selector: {dnsZones: [example.org]}\n"
        "        dns01: {cloudflare: {apiTokenSecretRef: {name: cf, key: token}}}\n"
    )
    exp = expand_yaml(CONFIG, WILDCARD + "---\n" + issuer)
    assert messages(exp, "error") == []
    # the same Certificate adopted is krmfn's: its names are replayed, and example.com gets no solver
    adopted = expand_yaml(WITHOUT, WILDCARD + "---\n" + issuer)
    assert [m for m in messages(adopted, "error") if "must get a DNS-01 solver for" in m]


def test_a_gateway_listener_serves_it_through_a_reference_grant_where_it_lives() -> None:
    config = CONFIG.replace("    namespace: cert-manager\n    issuerRef", "    namespace: network\n    issuerRef") + (
        "  gateways:\n    - {name: envoy-external, namespace: network}\n"
    )
    exp = expand_yaml(config, gateway(https_listener("old-tls")))
    refs = by_kind(exp, "Gateway")[0]["spec"]["listeners"][0]["tls"]["certificateRefs"]
    assert [(r["name"], r.get("namespace")) for r in refs][:2] == [
        ("wildcard-tls", "cert-manager"),
        ("example-org-tls", None),
    ]
    grants = by_kind(exp, "ReferenceGrant")
    assert [(g["metadata"]["namespace"], [t["name"] for t in g["spec"]["to"]]) for g in grants] == [
        ("cert-manager", ["wildcard-tls"])
    ]
    again = expand(load_config(load(config)), exp.items, config_path="multidomain.yaml")
    assert [i.text for i in again.items] == [i.text for i in exp.items]
