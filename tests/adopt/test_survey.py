"""`krmfn init` on small trees: what it reads from each kind of resource, what it asks, what it says."""

from __future__ import annotations

import io
import json
import re
from typing import Any

import pytest
from conftest import items_of
from manifests import (
    CLOUDFLARE_TUNNEL,
    CLUSTER_ISSUER,
    ENVOY_EXTERNAL,
    ENVOY_INTERNAL,
    EXTERNAL_DNS,
    K8S_GATEWAY,
    SEED_CERTIFICATE,
    gateway,
    httproute,
    https_listener,
)

from krmfn.adopt import describe
from krmfn.api.config import load_config
from krmfn.cli import main
from krmfn.krm.yamltext import load

TEMPLATE = "---\n".join(
    [
        CLUSTER_ISSUER,
        ENVOY_EXTERNAL,
        ENVOY_INTERNAL,
        EXTERNAL_DNS,
        K8S_GATEWAY,
        CLOUDFLARE_TUNNEL,
        httproute("echo", '["echo.${SECRET_DOMAIN}"]'),
    ]
)


def init(stream: str) -> tuple[str, dict[str, Any]]:
    """The config text `init` writes (comment lines unwrapped, for matching) and its data."""
    text, results = describe(items_of(stream))
    assert not [r for r in results if r.severity == "error"], results
    assert all(len(line) <= 100 for line in text.splitlines()[1:] if line.startswith("#")), "head lines are wrapped"
    return re.sub(r"\n#(?: ?\? | {3,})(?=\S)", " ", text), load(text)


def spec_of(stream: str) -> dict[str, Any]:
    data = init(stream)[1]
    load_config(data)
    spec: dict[str, Any] = data["spec"]
    return spec


def test_the_cluster_template_edge_is_described_with_its_sources() -> None:
    text, data = init(TEMPLATE)
    config = load_config(data)
    assert [d.name.text for d in config.domains] == ["${SECRET_DOMAIN}"]
    spec = data["spec"]
    assert spec["issuers"] == [{"name": "letsencrypt-production"}]
    assert spec["externalDNS"] == [{"kind": "HelmRelease", "name": "cloudflare-dns", "namespace": "network"}]
    assert spec["splitHorizon"] == {"kind": "HelmRelease", "name": "k8s-gateway", "namespace": "network"}
    assert spec["tunnel"]["service"] == "https://envoy-external.{{ .Release.Namespace }}.svc.cluster.local:443"
    assert spec["tunnel"]["originRequest"] == {"http2Origin": True}
    external, internal = spec["gateways"]
    assert external["dns"] == {"target": "external.{domain}", "type": "CNAME"}
    assert "dns" not in internal, "cloudflare-dns publishes only envoy-external's routes (--gateway-name)"
    # no Certificate in the input: the Secret on the listener says how krmfn would name it
    assert spec["certificates"] == {"namespace": "network", "nameSuffix": "production"}
    assert "  # from Gateway network/envoy-external\n" in text
    assert "# ? no Certificate in the repository writes Secret ${SECRET_DOMAIN//./-}-production-tls" in text
    assert "patched HelmRelease network/cloudflare-tunnel: added tunnel rules for ${SECRET_DOMAIN}" in text
    assert "Also seen in the repository:" in text
    assert text.startswith("# yaml-language-server: $schema=https://")


def test_certificate_settings_come_from_the_existing_certificate() -> None:
    cert = SEED_CERTIFICATE.replace("spec:\n", "spec:\n  duration: 160h\n  privateKey: {algorithm: ECDSA}\n")
    spec = spec_of(TEMPLATE + "---\n" + cert)
    assert spec["certificates"] == {
        "namespace": "network",
        "issuerRef": {"name": "letsencrypt-production", "kind": "ClusterIssuer"},
        "nameSuffix": "production",
        "duration": "160h",
        "privateKey": {"algorithm": "ECDSA"},
    }


def certificate(name: str, names: str, extra: str = "", namespace: str = "network") -> str:
    return (
        f"apiVersion: cert-manager.io/v1\nkind: Certificate\nmetadata:\n  name: {name}\n  namespace: {namespace}\n"
        f"spec:\n  secretName: {name}-tls\n  issuerRef: {{name: le, kind: ClusterIssuer}}\n  dnsNames: {names}\n{extra}"
    )


def test_what_the_certificates_disagree_on_is_asked_not_guessed() -> None:
    stream = "---\n".join(
        [
            certificate("example-com-production", '["example.com", "*.example.com"]', "  duration: 160h\n"),
            certificate("example-org-staging", '["example.org", "*.example.org", "*.lab.example.org"]'),
            certificate("example-net", '["example.net"]', namespace="other"),
            certificate("idm", '["idm.example.com"]'),
            certificate("wild", '["*.example.info"]'),
            EXTERNAL_DNS.replace('["${SECRET_DOMAIN}"]', '["example.com", "example.org", "example.net"]'),
        ]
    )
    text, data = init(stream)
    spec = data["spec"]
    domains = {d["name"]: d for d in spec["domains"]}
    assert set(domains) == {"example.com", "example.org", "example.net", "example.info"}
    assert domains["example.org"]["extraDNSNames"] == ["*.lab.example.org"]
    assert domains["example.net"]["wildcard"] is False, "named as a zone elsewhere: a domain without wildcard"
    assert spec["certificates"]["nameSuffix"] == "production"
    assert "# ? the Certificates' names disagree on the suffix: production" in text
    assert "# ? the Certificates are in several namespaces (network, other)" in text
    assert "set(s) `duration` differently" in text
    assert "Certificate network/idm covers hosts, not a zone (idm.example.com); left as it is" in text
    assert "lists *.example.info but not example.info" in text


DEPLOYMENT = """\
apiVersion: apps/v1
kind: Deployment
metadata: {name: external-dns, namespace: dns}
spec:
  template:
    spec:
      containers:
        - name: sidecar
          image: busybox
        - name: dns
          image: registry.k8s.io/external-dns/external-dns:v0.15.0
          args: [--source=ingress, --provider=pihole, --domain-filter=example.org]
"""
APPLICATION = """\
apiVersion: argoproj.io/v1alpha1
kind: Application
metadata: {name: external-dns, namespace: argocd}
spec:
  source:
    chart: external-dns
    helm:
      valuesObject:
        provider: {name: cloudflare}
        domainFilters: [example.com, example.org]
"""


def test_every_external_dns_installation_and_the_zones_it_filters() -> None:
    regex = EXTERNAL_DNS.replace("cloudflare-dns", "regex-dns").replace(
        "--cloudflare-proxied", "--regex-domain-filter=.*"
    )
    open_filter = EXTERNAL_DNS.replace("cloudflare-dns", "all-dns").replace(
        '    domainFilters: ["${SECRET_DOMAIN}"]  # every zone\n', ""
    )
    stream = "---\n".join([DEPLOYMENT, APPLICATION, regex, open_filter])
    text, data = init(stream)
    spec = data["spec"]
    assert spec["externalDNS"] == [
        {"kind": "Deployment", "name": "external-dns", "namespace": "dns", "domains": ["example.org"]},
        {"kind": "Application", "name": "external-dns", "namespace": "argocd"},
    ]
    assert "HelmRelease network/regex-dns filters with `--regex-domain-filter`" in text
    assert "HelmRelease network/all-dns has no domain filter" in text
    assert "certificates" not in spec


def test_gateway_targets_follow_the_dns_provider() -> None:
    webhook = EXTERNAL_DNS.replace("provider: cloudflare", "provider: {name: webhook}").replace(
        "      - --gateway-name=envoy-external\n", ""
    )
    lan = gateway(https_listener("${SECRET_DOMAIN/./-}-production-tls"), name="lan", target="192.168.1.10")
    two = gateway(
        https_listener("${SECRET_DOMAIN/./-}-production-tls")
        + https_listener("${SECRET_DOMAIN/./-}-production-tls").replace("name: https", "name: https-2"),
        name="two",
        target=None,
    )
    spec = spec_of("---\n".join([SEED_CERTIFICATE, ENVOY_EXTERNAL, webhook, lan, two]))
    external, lan_gw, two_gw = spec["gateways"]
    assert external["dns"] == {"target": "external.${SECRET_DOMAIN}", "type": "CNAME"}, "plain DNS: one target"
    assert lan_gw["dns"] == {"target": "192.168.1.10", "type": "A"}
    assert "dns" not in two_gw
    text = init("---\n".join([SEED_CERTIFICATE, ENVOY_EXTERNAL, webhook, lan, two]))[0]
    assert "# ? listeners https, https-2 all serve domain certificates" in text
    assert "# ? every domain's routes on envoy-external get CNAME external.${SECRET_DOMAIN} (webhook" in text


def test_without_an_installation_a_gateway_gets_dns_only_where_krmfn_wrote_records() -> None:
    marked = httproute("wiki", '["wiki.example.org"]').replace(
        "  namespace: default\n", "  namespace: default\n  annotations: {krmfn.dev/dns-endpoint: wiki-httproute}\n"
    )
    text, data = init("---\n".join([SEED_CERTIFICATE, ENVOY_EXTERNAL, ENVOY_INTERNAL, marked]))
    external, internal = data["spec"]["gateways"]
    assert external["dns"]["target"] == "external.{domain}"
    assert "dns" not in internal
    assert "no external-dns installation is in the input to say whether its routes are published" in text


CONFIGMAP_TUNNEL = """\
apiVersion: v1
kind: ConfigMap
metadata: {name: cloudflared, namespace: tunnel}
data:
  cloudflared.yaml: |
    tunnel: 00000000-0000-0000-0000-000000000000
    ingress:
      - hostname: "*.example.com"
        service: http://ingress-nginx-controller.ingress-nginx
        originRequest: {noTLSVerify: true}
      - hostname: "*.example.org"
        service: https://gateway.network:443
      - service: http_status:404
"""


def test_a_configmap_tunnel_and_what_its_rules_disagree_on() -> None:
    text, data = init("---\n".join([CONFIGMAP_TUNNEL, CLOUDFLARE_TUNNEL]))
    tunnel = data["spec"]["tunnel"]
    assert tunnel == {
        "kind": "HelmRelease",
        "name": "cloudflare-tunnel",
        "namespace": "network",
        "service": "https://envoy-external.{{ .Release.Namespace }}.svc.cluster.local:443",
        "originRequest": {"http2Origin": True},
    }
    assert "# ? several cloudflared configs" in text
    alone = init(CONFIGMAP_TUNNEL)[1]["spec"]["tunnel"]
    assert alone["kind"] == "ConfigMap"
    assert alone["key"] == "cloudflared.yaml"
    assert "originRequest" not in alone  # the rules share no setting: each keeps its own, as the user's
    shared = CONFIGMAP_TUNNEL.replace(
        "        service: https://gateway.network:443\n",
        "        service: https://gateway.network:443\n        originRequest: {noTLSVerify: true, http2Origin: true}\n",
    )
    assert init(shared)[1]["spec"]["tunnel"]["originRequest"] == {"noTLSVerify": True}
    text = init(CONFIGMAP_TUNNEL)[0]
    assert "# ? the domains' rules send traffic to different services" in text
    assert "sets no `originServerName`" in text
    assert "# ? the domains' rules have different `originRequest` settings" in text


OWNED_ISSUER = """\
apiVersion: cert-manager.io/v1
kind: ClusterIssuer
metadata:
  name: le
  annotations: {krmfn.dev/owned-by: MultiDomain/mine}
spec:
  acme:
    server: https://acme-staging-v02.api.letsencrypt.org/directory
    email: ops@example.com
    profile: shortlived
    privateKeySecretRef: {name: le}
    solvers:
      - dns01: {cloudflare: {apiTokenSecretRef: {name: cf, key: token}}}
        selector: {dnsZones: [example.com]}
"""
GRANT = """\
apiVersion: gateway.networking.k8s.io/v1
kind: ReferenceGrant
metadata: {name: grant, namespace: certs}
spec:
  from: [{group: gateway.networking.k8s.io, kind: Gateway, namespace: network}]
  to: [{group: "", kind: Secret}]
"""


def test_what_an_earlier_run_generated_is_read_back() -> None:
    spec = spec_of("---\n".join([OWNED_ISSUER, GRANT, certificate("example-com", '["example.com", "*.example.com"]')]))
    assert spec["issuers"] == [
        {
            "name": "le",
            "acme": {
                "server": "staging",
                "email": "ops@example.com",
                "profile": "shortlived",
                "solver": {"cloudflare": {"apiTokenSecretRef": {"name": "cf", "key": "token"}}},
            },
        }
    ]
    assert spec["referenceGrantVersion"] == "v1"
    assert "nameSuffix" not in spec["certificates"]
    data = init(OWNED_ISSUER)[1]
    assert data["metadata"]["name"] == "mine"


def test_per_domain_listeners_are_read_as_such() -> None:
    listeners = https_listener("example-com-tls").replace("name: https", "name: https-example-com") + https_listener(
        "example-com-tls"
    ).replace("name: https", "name: https-example-com-apex")
    gw = gateway(listeners, target=None).replace(
        "  namespace: network\n", "  namespace: network\n  annotations: {krmfn.dev/listeners: https-example-com}\n"
    )
    spec = spec_of("---\n".join([certificate("example-com", '["example.com", "*.example.com"]'), gw]))
    assert spec["gateways"] == [
        {"name": "envoy-external", "namespace": "network", "listener": "https-example-com", "mode": "perDomain"}
    ]


def test_domains_missing_from_some_places_say_so() -> None:
    two = "---\n".join(
        [
            SEED_CERTIFICATE,
            certificate("example-org-production", '["example.org", "*.example.org"]'),
            gateway(https_listener("${SECRET_DOMAIN/./-}-production-tls", "example-org-production-tls"), target=None),
            gateway(https_listener("${SECRET_DOMAIN/./-}-production-tls"), name="envoy-internal", target=None),
            K8S_GATEWAY,
            CLOUDFLARE_TUNNEL,
        ]
    )
    spec = spec_of(two)
    first, second = spec["domains"]
    assert first == {"name": "${SECRET_DOMAIN}"}
    assert second == {
        "name": "example.org",
        "issuer": "le",
        "gateways": ["envoy-external"],
        "tunnel": False,
        "splitHorizon": False,
    }


def test_init_without_any_domain_is_an_error(capsys: pytest.CaptureFixture[str]) -> None:
    out = io.StringIO()
    assert main(["init"], stdin=io.BytesIO(b"apiVersion: v1\nkind: ConfigMap\nmetadata: {name: a}\n"), stdout=out) == 1
    assert out.getvalue() == ""
    assert "must name at least one domain" in capsys.readouterr().err


def test_check_and_diff_json_in_process(capsys: pytest.CaptureFixture[str]) -> None:
    config = init(TEMPLATE)[0]
    stream = (TEMPLATE + "---\n" + config).encode()
    out = io.StringIO()
    assert main(["check"], stdin=io.BytesIO(stream), stdout=out) == 1
    assert "+    - hostname: ${SECRET_DOMAIN}" in out.getvalue() or "hostname: ${SECRET_DOMAIN}" in out.getvalue()
    assert "out of step" in capsys.readouterr().err
    out = io.StringIO()
    assert main(["diff", "--json"], stdin=io.BytesIO(stream), stdout=out) == 0
    changes = json.loads(out.getvalue())
    assert {c["change"] for c in changes} == {"added", "modified"}
    out = io.StringIO()
    assert main(["check"], stdin=io.BytesIO(b"a: ["), stdout=out) == 1
    assert out.getvalue() == ""
