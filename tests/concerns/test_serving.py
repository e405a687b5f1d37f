"""What serves a hostname: the listener an SNI picks, what it admits, the Secret that holds the name.

This is the interface the plan reads for ``covered`` and ``certificate.servedBy``
(``Serving.from_items(config, items).served_by(hostname)``), so it is tested on its own.
"""

from __future__ import annotations

import pytest
from conftest import expand_yaml, items_of
from manifests import ENVOY_EXTERNAL, ENVOY_EXTERNAL_HOSTNAMES, certificates, multidomain

from krmfn.api.config import load_config
from krmfn.concerns.serving import Server, Serving, admits, cert_covers
from krmfn.krm.yamltext import load


@pytest.mark.parametrize(
    ("pattern", "host", "expected"),
    [
        (None, "anything.example.org", True),
        ("*.example.org", "app.example.org", True),
        ("*.example.org", "a.b.example.org", True),  # a listener's `*.` admits any depth
        ("*.example.org", "example.org", False),
        ("*.example.org", "*.example.org", True),
        ("*.example.org", "*.dev.example.org", True),
        ("*.dev.example.org", "*.example.org", False),
        ("example.org", "example.org", True),
        ("example.org", "*.example.org", False),
        ("*.${SECRET_DOMAIN}", "app.${SECRET_DOMAIN}", True),
        ("APP.example.org", "app.example.org.", True),
    ],
)
def test_admits(pattern: str | None, host: str, expected: bool) -> None:
    assert admits(pattern, host) is expected


@pytest.mark.parametrize(
    ("name", "host", "expected"),
    [
        ("*.example.org", "app.example.org", True),
        ("*.example.org", "a.b.example.org", False),  # a certificate's wildcard covers one label
        ("*.example.org", "example.org", False),
        ("*.example.org", "*.example.org", True),
        ("example.org", "example.org", True),
        ("example.org", "*.example.org", False),
    ],
)
def test_cert_covers(name: str, host: str, expected: bool) -> None:
    assert cert_covers(name, host) is expected


CONFIG = multidomain(
    "  domains:\n    - name: ${SECRET_DOMAIN}\n    - name: example.org\n",
    certificates(suffix="production"),
    "  gateways:\n    - {name: envoy-external, namespace: network, mode: perDomain}\n",
)


def rendered(stream: str) -> Serving:
    exp = expand_yaml(CONFIG, stream)
    return Serving.from_items(load_config(load(CONFIG)), exp.items)


def test_served_by_names_the_listener_and_the_secret() -> None:
    serving = rendered(ENVOY_EXTERNAL_HOSTNAMES)
    assert serving.served_by("app.example.org") == [
        Server("Gateway", "network", "envoy-external", "https-example-org", "network/example-org-production-tls")
    ]
    assert serving.served_by("example.org")[0].listener == "https-example-org-apex"
    assert serving.served_by("app.${SECRET_DOMAIN}")[0].to_data() == {
        "kind": "Gateway",
        "namespace": "network",
        "name": "envoy-external",
        "listener": "https",
    }
    # the first domain's apex: no listener of this gateway admits it
    assert serving.served_by("${SECRET_DOMAIN}") == []
    # two labels down: the listener admits it, no certificate holds it
    assert serving.served_by("a.b.example.org") == []


def test_the_sni_picks_the_most_specific_listener() -> None:
    serving = rendered(ENVOY_EXTERNAL_HOSTNAMES)
    gateway = load_config(load(CONFIG)).spec.gateways[0]
    assert serving.select(gateway, "external.example.org").name == "https-example-org"  # type: ignore[union-attr]
    assert serving.select(gateway, "example.org").name == "https-example-org-apex"  # type: ignore[union-attr]
    assert serving.select(gateway, "example.net") is None
    # reached with SNI external.example.org, the `*.` listener does not answer for the apex
    assert serving.serves(gateway, "example.org", sni="external.example.org") is None
    assert serving.serves(gateway, "example.org", sni="example.org") is not None


def test_a_listener_without_hostname_serves_every_name_its_secrets_hold() -> None:
    config = CONFIG.replace(", mode: perDomain", "")
    exp = expand_yaml(config, ENVOY_EXTERNAL)
    serving = Serving.from_items(load_config(load(config)), exp.items)
    assert [s.listener for s in serving.served_by("example.org")] == ["https"]
    assert serving.served_by("app.example.net") == []


def test_a_secret_no_certificate_describes_is_unknown_not_held() -> None:
    config = load_config(load(CONFIG))
    serving = Serving.from_items(config, items_of(ENVOY_EXTERNAL))
    assert serving.holds("network/${SECRET_DOMAIN/./-}-production-tls", "app.example.com") is None
    gateway = config.spec.gateways[0]
    assert serving.serves(gateway, "app.example.com") is None
    assert serving.serves(gateway, "app.example.com", strict=False) is not None
    assert serving.serves(gateway, "app.example.com", verified=False) is not None


INGRESS_CONFIG = multidomain(
    "  domains:\n    - name: example.com\n    - name: example.org\n",
    certificates("cert-manager"),
    "  gateways:\n    - name: nginx\n      kind: IngressClass\n"
    "      defaultCertificate: {name: wildcard-tls, namespace: cert-manager}\n",
)
INGRESSES = """\
apiVersion: cert-manager.io/v1
kind: Certificate
metadata: {name: wildcard, namespace: cert-manager}
spec: {secretName: wildcard-tls, issuerRef: {name: le}, dnsNames: [example.com, "*.example.com"]}
---
apiVersion: cert-manager.io/v1
kind: Certificate
metadata: {name: echo, namespace: echo}
spec: {secretName: echo-tls, issuerRef: {name: le}, dnsNames: [echo.example.org]}
---
apiVersion: networking.k8s.io/v1
kind: Ingress
metadata: {name: echo, namespace: echo}
spec:
  ingressClassName: nginx
  tls: [{hosts: [echo.example.org], secretName: echo-tls}, {hosts: [echo.example.com]}]
  rules: [{host: echo.example.org}, {host: echo.example.com}, {host: other.example.org}]
"""


def test_an_ingress_serves_its_tls_entry_or_the_default_certificate() -> None:
    config = load_config(load(INGRESS_CONFIG))
    serving = Serving.from_items(config, items_of(INGRESSES))
    assert serving.served_by("echo.example.org") == [Server("Ingress", "echo", "echo", None, "echo/echo-tls")]
    assert serving.served_by("echo.example.com") == [
        Server("IngressController", None, "nginx", None, "cert-manager/wildcard-tls")
    ]
    # the default certificate holds only the first domain
    assert serving.served_by("other.example.org") == []
    assert serving.served_by("nowhere.example.org") == []
