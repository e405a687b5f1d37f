"""Ingress hosts are served a certificate that holds them (SPEC "Covered means served"): tpi-k3s's case."""

from __future__ import annotations

from typing import Any

import pytest
from conftest import by_kind, expand_yaml, messages
from crdschema import assert_manifests_valid

from krmfn.api.config import load_config
from krmfn.errors import ConfigError
from krmfn.expand import Expansion, expand
from krmfn.krm.yamltext import load

CONFIG = """\
apiVersion: krmfn.dev/v1alpha1
kind: MultiDomain
metadata: {name: cluster}
spec:
  domains:
    - name: example.com
    - name: example.org
  certificates:
    namespace: cert-manager
    issuerRef: {name: letsencrypt-prod}
  gateways:
    - name: nginx
      kind: IngressClass
      defaultCertificate: {name: wildcard-tls, namespace: cert-manager}
"""
WRITE = CONFIG.replace("      defaultCertificate:", "      writeTLS: true\n      defaultCertificate:")

#: The controller's default certificate: the first domain only (`--default-ssl-certificate`).
WILDCARD = """\
apiVersion: cert-manager.io/v1
kind: Certificate
metadata:
  name: wildcard-cert
  namespace: cert-manager
spec:
  secretName: wildcard-tls
  issuerRef: {name: letsencrypt-prod, kind: ClusterIssuer}
  dnsNames: [example.com, "*.example.com"]
"""


def ingress(name: str, host: str, tls: str = "") -> str:
    return (
        f"---\napiVersion: networking.k8s.io/v1\nkind: Ingress\nmetadata:\n  name: {name}\n  namespace: echo\n"
        f"spec:\n  ingressClassName: nginx\n{tls}  rules:\n    - host: {host}\n"
        "      http:\n        paths:\n          - path: /\n            pathType: Prefix\n"
        f"            backend:\n              service: {{name: echo, port: {{number: 80}}}}\n"
    )


TLS_NO_SECRET = "  tls:\n    - hosts:\n        - {host}\n"
PUBLIC = ingress("echo-example-org", "echo.example.org", TLS_NO_SECRET.format(host="echo.example.org"))
LAN = ingress("echo-lan-example-org", "echo-lan.example.org")
FIRST = ingress("echo", "echo.example.com", TLS_NO_SECRET.format(host="echo.example.com"))
STREAM = WILDCARD + PUBLIC + LAN + FIRST


def warnings(exp: Expansion) -> list[str]:
    return [m for m in messages(exp, "warning") if m.startswith("host ")]


def of_kind(exp: Expansion, kind: str) -> list[dict[str, Any]]:
    """The items of *kind* (a kustomization has no name, so headers are not read)."""
    return [i.data for i in exp.items if i.data.get("kind") == kind]


def ingress_data(exp: Expansion, name: str) -> dict[str, Any]:
    return next(x for x in of_kind(exp, "Ingress") if x["metadata"]["name"] == name)


def test_hosts_served_the_default_certificate_of_another_domain_are_warned_about() -> None:
    exp = expand_yaml(CONFIG, STREAM)
    found = warnings(exp)
    assert len(found) == 2
    assert found[0].startswith(
        "host 'echo.example.org' of Ingress echo/echo-example-org is served the controller's default certificate "
        "(Secret cert-manager/wildcard-tls), which does not hold it"
    )
    assert "`writeTLS: true` on `spec.gateways[0]`" in found[0]
    assert "host 'echo-lan.example.org' of Ingress echo/echo-lan-example-org" in found[1]
    # must not change: nothing is written without writeTLS
    assert [i.text for i in exp.items if i.header.kind == "Ingress"] == [
        d.removeprefix("---\n") for d in (PUBLIC, LAN, FIRST)
    ]


def test_a_tls_entry_whose_secret_holds_the_host_is_served() -> None:
    own = ingress(
        "echo-example-org",
        "echo.example.org",
        "  tls:\n    - hosts: [echo.example.org]\n      secretName: echo-tls\n",
    )
    mine = (
        "---\napiVersion: cert-manager.io/v1\nkind: Certificate\nmetadata: {name: echo, namespace: echo}\n"
        "spec: {secretName: echo-tls, issuerRef: {name: le}, dnsNames: [echo.example.org]}\n"
    )
    assert warnings(expand_yaml(CONFIG, WILDCARD + own + mine)) == []
    # a Secret of another namespace is not the one the controller reads: what echo/echo-tls holds
    # is unknown, which is said once, as an info (no claim that it does not hold the host)
    elsewhere = mine.replace("namespace: echo", "namespace: other")
    exp = expand_yaml(CONFIG, WILDCARD + own + elsewhere)
    assert warnings(exp) == []
    assert any("1 host(s) of Ingresses of IngressClass" in m and "no Certificate" in m for m in messages(exp, "info"))
    # cert-manager's ingress-shim issues a Certificate for the entry's hosts
    shim = own.replace(
        "  namespace: echo\n", "  namespace: echo\n  annotations:\n    cert-manager.io/cluster-issuer: le\n"
    )
    assert warnings(expand_yaml(CONFIG, WILDCARD + shim)) == []


def test_write_tls_gives_each_host_its_domains_secret_issued_in_the_ingress_namespace() -> None:
    exp = expand_yaml(WRITE, STREAM)
    assert warnings(exp) == []
    assert ingress_data(exp, "echo-example-org")["spec"]["tls"] == [
        {"hosts": ["echo.example.org"], "secretName": "example-org-tls"}
    ]
    assert ingress_data(exp, "echo-lan-example-org")["spec"]["tls"] == [
        {"hosts": ["echo-lan.example.org"], "secretName": "example-org-tls"}
    ]
    assert "krmfn.dev/tls" not in ingress_data(exp, "echo")["metadata"].get("annotations", {})
    copies = [c for c in by_kind(exp, "Certificate") if c["metadata"]["namespace"] == "echo"]
    assert [(c["metadata"]["name"], c["spec"]["secretName"], c["spec"]["dnsNames"]) for c in copies] == [
        ("example-org", "example-org-tls", ["example.org", "*.example.org"])
    ]
    assert_manifests_valid("".join("---\n" + i.text for i in exp.items if i.header.kind == "Certificate"))
    again = expand(load_config(load(WRITE)), exp.items, config_path="multidomain.yaml")
    assert [i.text for i in again.items] == [i.text for i in exp.items]


def test_write_tls_is_taken_back_when_switched_off_or_the_domain_is_removed() -> None:
    exp = expand_yaml(WRITE, STREAM)
    off = expand(load_config(load(CONFIG)), exp.items, config_path="multidomain.yaml")
    assert [i.text for i in off.items if i.header.kind == "Ingress"] == [
        d.removeprefix("---\n") for d in (PUBLIC, LAN, FIRST)
    ]
    assert not [c for c in by_kind(off, "Certificate") if c["metadata"]["namespace"] == "echo"]
    gone = expand(load_config(load(WRITE.replace("    - name: example.org\n", ""))), exp.items, config_path="m.yaml")
    assert [i.text for i in gone.items if i.header.kind == "Ingress"] == [
        d.removeprefix("---\n") for d in (PUBLIC, LAN, FIRST)
    ]


def test_without_a_default_certificate_hosts_without_tls_are_left_unjudged_with_one_info() -> None:
    config = CONFIG.replace("      defaultCertificate: {name: wildcard-tls, namespace: cert-manager}\n", "")
    exp = expand_yaml(config, STREAM)
    assert warnings(exp) == []
    (info,) = [m for m in messages(exp, "info") if "have no `spec.tls` entry" in m]
    assert info.startswith("3 host(s) of Ingresses of IngressClass 'nginx'")


@pytest.mark.parametrize("field", ["defaultCertificate: {name: x, namespace: y}", "writeTLS: true"])
def test_tls_settings_are_for_ingress_classes_only(field: str) -> None:
    bad = "  gateways:\n    - name: gw\n      namespace: network\n      " + field + "\n"
    with pytest.raises(ConfigError) as err:
        load_config(load(CONFIG.split("  gateways:\n", maxsplit=1)[0] + bad))
    assert "must not set `defaultCertificate` or `writeTLS` (IngressClass only)" in str(err.value)


def test_an_ingress_without_namespace_lands_where_its_kustomization_puts_it() -> None:
    """Real layouts: no `metadata.namespace`; the directory's kustomization says `namespace: echo`."""
    path = "    config.kubernetes.io/path: apps/echo/{file}\n"
    kustomization = (
        "---\napiVersion: kustomize.config.k8s.io/v1beta1\nkind: Kustomization\nmetadata:\n  annotations:\n"
        + path.format(file="kustomization.yaml")
        + "namespace: echo\nresources: [ingress.yaml]\n"
    )
    lan = LAN.replace("  namespace: echo\n", "  annotations:\n" + path.format(file="ingress.yaml"))
    exp = expand_yaml(WRITE, WILDCARD + kustomization + lan)
    assert ingress_data(exp, "echo-lan-example-org")["spec"]["tls"] == [
        {"hosts": ["echo-lan.example.org"], "secretName": "example-org-tls"}
    ]
    assert [
        c["metadata"]["namespace"] for c in of_kind(exp, "Certificate") if c["metadata"]["name"] == "example-org"
    ] == [
        "cert-manager",
        "echo",
    ]


def test_the_default_certificate_is_known_from_an_existing_certificate_krmfn_cannot_see() -> None:
    """tpi-k3s: `wildcard-cert` is a Helm template; `existingCertificate` says what `wildcard-tls` holds."""
    existing = CONFIG.replace(
        "    - name: example.com\n",
        "    - name: example.com\n"
        "      existingCertificate: {name: wildcard-cert, namespace: cert-manager, secretName: wildcard-tls}\n",
    )
    exp = expand_yaml(existing, PUBLIC + LAN + FIRST)
    found = warnings(exp)
    # echo.example.com is served the default certificate, which holds it: no warning
    assert [w.split(" of ")[0] for w in found] == ["host 'echo.example.org'", "host 'echo-lan.example.org'"]
    assert "(its certificate is Certificate cert-manager/example-org)" in found[0]
    # unseen and not named by the config, the default certificate's names are unknown: no warning
    # claims it does not hold them; one info counts the hosts krmfn cannot judge
    unknown = expand_yaml(CONFIG, PUBLIC + LAN + FIRST)
    assert not any(w.startswith("host 'echo.example.com'") for w in warnings(unknown))
    assert any("served a Secret that no Certificate" in m for m in messages(unknown, "info"))


def test_write_tls_for_a_domain_with_an_existing_certificate_elsewhere_issues_one_in_the_namespace() -> None:
    existing = WRITE.replace(
        "    - name: example.com\n",
        "    - name: example.com\n"
        "      existingCertificate: {name: wildcard-cert, namespace: echo, secretName: wildcard-tls}\n",
    )
    exp = expand_yaml(existing, FIRST)
    # the Ingress is in the existing Certificate's own namespace: its Secret is named, nothing is issued
    assert ingress_data(exp, "echo")["spec"]["tls"] == [{"hosts": ["echo.example.com"], "secretName": "wildcard-tls"}]
    assert [c["metadata"]["name"] for c in by_kind(exp, "Certificate")] == ["example-org"]
    elsewhere = expand_yaml(existing.replace("namespace: echo, secretName", "namespace: tls, secretName"), FIRST)
    assert ingress_data(elsewhere, "echo")["spec"]["tls"] == [
        {"hosts": ["echo.example.com"], "secretName": "example-com-tls"}
    ]
    issued = [(c["metadata"]["namespace"], c["metadata"]["name"]) for c in by_kind(elsewhere, "Certificate")]
    assert issued == [("cert-manager", "example-org"), ("echo", "example-com")]
