"""Realistic inputs at scale: a ResourceList of N items of which about 1% are managed.

Shared by ``bench/run.py`` (timings) and ``tests/krm/test_scale_proxy.py`` (the cheap CI proxy
that counts parses). Unmanaged items look like what a GitOps repository holds: Deployments,
Services and ConfigMaps with comments, quoting, flow maps, block scalars and unicode, about
1.2 KB each. Managed items are what the function must read: the Certificates it owns
(from an earlier run), hand-written Certificates it checks for clashes, and the resources
named in the config (a Gateway, a ClusterIssuer and an external-dns HelmRelease), and the
``cluster-secrets`` Secret that defines the Flux variables.
"""

from __future__ import annotations

import sys
from pathlib import Path

# The managed items are the test suite's fixtures: one cluster-template, however it is measured.
sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))
from manifests import (
    CLUSTER_ISSUER,
    CLUSTER_SECRETS,
    EDGE_LOCAL,
    ENVOY_EXTERNAL,
    EXTERNAL_DNS,
    certificates,
    domains,
    multidomain,
)

#: Kinds the function reads in these inputs; everything else is passed through unread.
MANAGED_KINDS = ("Certificate", "Gateway", "ClusterIssuer", "HelmRelease", "Secret")
#: The most domains one config gets (a Gateway listener holds at most 64 certificate refs).
MAX_DOMAINS = 60
#: Items read besides Certificates: a Gateway, a ClusterIssuer, an external-dns HelmRelease
#: (all named in the config) and the ``cluster-secrets`` Secret (Flux variables are checked).
TARGETS = 4


def config(count: int) -> str:
    """A MultiDomain with *count* domains: one Flux variable first, then literal ones."""
    names = ["${SECRET_DOMAIN}"] + [f"app{i}.example{i % 7}.org" for i in range(1, count)]
    return multidomain(
        domains(*names),
        certificates(issuer="{name: letsencrypt-production, kind: ClusterIssuer}", suffix="production"),
        "  issuers:\n    - name: letsencrypt-production\n",
        "  gateways:\n    - name: envoy-external\n      namespace: network\n      listener: https\n",
        "  externalDNS:\n    - {kind: HelmRelease, name: cloudflare-dns, namespace: network}\n",
        metadata=EDGE_LOCAL,
    )


def _deployment(i: int) -> str:
    return f"""\
# Application {i}: passed through untouched.
apiVersion: apps/v1
kind: Deployment
metadata:
  name: app-{i}  # the {i}th app
  namespace: team-{i % 13}
  labels: {{app.kubernetes.io/name: app-{i}, app.kubernetes.io/part-of: "shop"}}
  annotations:
    description: 'Grüße from app {i} — naïve café ☕'
spec:
  replicas: {1 + i % 3}
  selector:
    matchLabels:
      app.kubernetes.io/name: app-{i}
  template:
    metadata:
      labels:
        app.kubernetes.io/name: app-{i}
    spec:
      containers:
        - name: app
          image: "ghcr.io/example/app-{i}:1.{i % 10}.0"
          args: ['--port', "8080", --verbose]
          env:
            - {{name: GREETING, value: "hello, world"}}
            - name: MODE
              value: 'production'  # quoted on purpose
          ports:
            - containerPort: 8080
              protocol: TCP
          resources:
            limits: {{cpu: 500m, memory: 256Mi}}
"""


def _service(i: int) -> str:
    return f"""\
apiVersion: v1
kind: Service
metadata:
  name: app-{i}
  namespace: team-{i % 13}
spec:
  type: ClusterIP
  selector: {{app.kubernetes.io/name: app-{i}}}
  ports:
  - name: http
    port: 80
    targetPort: 8080
"""


def _config_map(i: int) -> str:
    return f"""\
apiVersion: v1
kind: ConfigMap
metadata:
  name: app-{i}-config
  namespace: team-{i % 13}
data:
  # A block scalar, kept as written.
  app.conf: |
    listen 8080;
    server_name app-{i}.internal;  # not a YAML comment
    motd "Ünïcödé {i}";
  folded: >-
    a long line
    folded into one
  "quoted key": "value: with a colon"
  empty: ""
"""


def _certificate(i: int) -> str:
    return f"""\
# Written by hand; the function only checks that it does not clash.
apiVersion: cert-manager.io/v1
kind: Certificate
metadata:
  name: internal-{i}
  namespace: team-{i % 13}
spec:
  secretName: internal-{i}-tls
  issuerRef: {{name: internal-ca, kind: ClusterIssuer, group: cert-manager.io}}
  dnsNames: [app-{i}.internal.example.net]
"""


#: The targets as cluster-template writes them: comments and quotes for the edits to keep.
_TARGETS = "---\n".join([ENVOY_EXTERNAL, CLUSTER_ISSUER, EXTERNAL_DNS])


def split(items: int, managed_fraction: float = 0.01) -> tuple[int, int]:
    """(domains, hand-written Certificates) so that about *managed_fraction* of items are managed."""
    managed = max(TARGETS + 1, round(items * managed_fraction))
    domains = min(MAX_DOMAINS, managed - TARGETS)
    return domains, managed - TARGETS - domains


def stream(items: int, managed_fraction: float = 0.01) -> tuple[str, str]:
    """(MultiDomain config, plain YAML stream) for about *items* items once the function has run.

    The stream holds every managed item except the Certificates the function generates for
    each domain; after one run, the output has *items* items of which the managed fraction
    is as asked.
    """
    domains, hand_written = split(items, managed_fraction)
    unmanaged = items - domains - hand_written - TARGETS
    makers = (_deployment, _service, _config_map)
    docs = [CLUSTER_SECRETS, _TARGETS]
    docs.extend(_certificate(i) for i in range(hand_written))
    docs.extend(makers[i % 3](i) for i in range(unmanaged))
    return config(domains), "---\n".join(docs)


def resource_list(items: int, managed_fraction: float = 0.01) -> str:
    """A ResourceList of the kind kpt sends, built from :func:`stream` (before the function ran)."""
    cfg, docs = stream(items, managed_fraction)
    body = "".join("- " + "\n  ".join(doc.rstrip("\n").split("\n")) + "\n" for doc in docs.split("---\n"))
    indented = "".join("  " + line + "\n" for line in cfg.rstrip("\n").split("\n"))
    return f"apiVersion: config.kubernetes.io/v1\nkind: ResourceList\nitems:\n{body}functionConfig:\n{indented}"
