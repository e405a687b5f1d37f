"""Small GitOps trees in the layout of real repositories, written to disk for runner tests.

:func:`flux_tree` is a cut-down cluster-template (onedr0p/cluster-template@ae73246, rendered for
cloudflare-tunnel mode): a ``kustomization.yaml`` in every directory, ``ks.yaml`` Flux
Kustomizations with ``targetNamespace`` and ``postBuild.substituteFrom``, the SOPS component,
leading ``---``, resources without ``metadata.namespace``, and the hand-written Certificate
still in ``envoy-gateway/app``. The MultiDomain sits beside it, not listed in the
kustomization (local config is never applied). Written here, in this layout, with fake values.
"""

from __future__ import annotations

from pathlib import Path

import yaml
from manifests import TEMPLATE_CERTIFICATE

from krmfn.krm.item import Item

MULTIDOMAIN = "kubernetes/apps/network/envoy-gateway/app/multidomain.yaml"
VARIABLES = {"SECRET_DOMAIN": "example.com"}


def _ks(name: str, path: str, namespace: str) -> str:
    return f"""\
---
apiVersion: kustomize.toolkit.fluxcd.io/v1
kind: Kustomization
metadata:
  name: {name}
spec:
  interval: 1h
  path: ./{path}
  postBuild:
    substituteFrom:
      - name: cluster-secrets
        kind: Secret
  prune: true
  sourceRef:
    kind: GitRepository
    name: flux-system
    namespace: flux-system
  targetNamespace: {namespace}
"""


def _namespace_kustomization(namespace: str, apps: list[str]) -> str:
    listed = "".join(f"  - ./{app}/ks.yaml\n" for app in apps)
    return f"""\
---
apiVersion: kustomize.config.k8s.io/v1beta1
kind: Kustomization
namespace: {namespace}

components:
  - ../../components/sops

resources:
  - ./namespace.yaml
{listed}"""


def _namespace(name: str) -> str:
    return f"---\napiVersion: v1\nkind: Namespace\nmetadata:\n  name: {name}\n"


FILES: dict[str, str] = {
    # kpt refuses YAML that is not a resource (a gatus config): it must be ignored by name.
    ".krmignore": "kubernetes/apps/default/echo/app/resources/\n",
    "Kptfile": """\
apiVersion: kpt.dev/v1
kind: Kptfile
metadata:
  name: cluster
  annotations:
    config.kubernetes.io/local-config: "true"
pipeline:
  mutators:
    - exec: krmfn
      configPath: kubernetes/apps/network/envoy-gateway/app/multidomain.yaml
""",
    # What the flux-operator syncs from (cluster-template installs it as a HelmRelease's values).
    "kubernetes/flux/instance.yaml": """\
---
apiVersion: fluxcd.controlplane.io/v1
kind: FluxInstance
metadata:
  name: flux
  namespace: flux-system
spec:
  sync:
    kind: GitRepository
    url: https://github.com/example/home-ops.git
    ref: refs/heads/main
    path: kubernetes/flux/cluster
""",
    "kubernetes/flux/cluster/ks.yaml": """\
---
apiVersion: kustomize.toolkit.fluxcd.io/v1
kind: Kustomization
metadata:
  name: cluster-apps
  namespace: flux-system
spec:
  interval: 1h
  path: ./kubernetes/apps
  prune: true
  sourceRef:
    kind: GitRepository
    name: flux-system
    namespace: flux-system
""",
    "kubernetes/components/sops/kustomization.yaml": """\
---
apiVersion: kustomize.config.k8s.io/v1alpha1
kind: Component
resources:
  - ./cluster-secrets.sops.yaml
""",
    "kubernetes/components/sops/cluster-secrets.sops.yaml": """\
---
apiVersion: v1
kind: Secret
metadata:
  name: cluster-secrets
stringData:
  SECRET_DOMAIN: ENC[AES256_GCM,data:ZmFrZQ==,iv:ZmFrZQ==,tag:ZmFrZQ==,type:str]
sops:
  age:
    - recipient: age1qqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqq
      enc: fake
  lastmodified: "2026-01-01T00:00:00Z"
  mac: ENC[AES256_GCM,data:ZmFrZQ==,iv:ZmFrZQ==,tag:ZmFrZQ==,type:str]
  encrypted_regex: ^(data|stringData)$
  version: 3.10.2
""",
    "kubernetes/apps/network/kustomization.yaml": _namespace_kustomization(
        "network", ["cloudflare-dns", "envoy-gateway"]
    ),
    "kubernetes/apps/network/namespace.yaml": _namespace("network"),
    "kubernetes/apps/network/envoy-gateway/ks.yaml": _ks(
        "envoy-gateway", "kubernetes/apps/network/envoy-gateway/app", "network"
    ),
    "kubernetes/apps/network/envoy-gateway/app/kustomization.yaml": """\
---
apiVersion: kustomize.config.k8s.io/v1beta1
kind: Kustomization
resources:
  # the template's own Certificate, written by hand
  - ./certificate.yaml
  - ./envoy.yaml
""",
    "kubernetes/apps/network/envoy-gateway/app/certificate.yaml": "---\n" + TEMPLATE_CERTIFICATE,
    "kubernetes/apps/network/envoy-gateway/app/envoy.yaml": """\
---
apiVersion: gateway.networking.k8s.io/v1
kind: Gateway
metadata:
  name: envoy-external
  annotations:
    external-dns.alpha.kubernetes.io/target: external.${SECRET_DOMAIN}
spec:
  gatewayClassName: envoy
  listeners:
    - name: http
      protocol: HTTP
      port: 80
    - name: https
      protocol: HTTPS
      port: 443
      allowedRoutes:
        namespaces:
          from: All
      tls:
        certificateRefs:
          - kind: Secret
            name: ${SECRET_DOMAIN/./-}-production-tls
""",
    MULTIDOMAIN: """\
# yaml-language-server: $schema=../../../../../schema/multidomain.schema.json
---
apiVersion: krmfn.dev/v1alpha1
kind: MultiDomain
metadata:
  name: edge
  annotations:
    config.kubernetes.io/local-config: "true"
spec:
  domains:
    - name: ${SECRET_DOMAIN}
  certificates:
    issuerRef: {name: letsencrypt-production, kind: ClusterIssuer}
    nameSuffix: production
  gateways:
    - {name: envoy-external, namespace: network}
  externalDNS:
    - {kind: HelmRelease, name: cloudflare-dns, namespace: network}
""",
    "kubernetes/apps/network/cloudflare-dns/ks.yaml": _ks(
        "cloudflare-dns", "kubernetes/apps/network/cloudflare-dns/app", "network"
    ),
    "kubernetes/apps/network/cloudflare-dns/app/kustomization.yaml": """\
---
apiVersion: kustomize.config.k8s.io/v1beta1
kind: Kustomization
resources:
  - ./helmrelease.yaml
""",
    "kubernetes/apps/network/cloudflare-dns/app/helmrelease.yaml": """\
---
apiVersion: helm.toolkit.fluxcd.io/v2
kind: HelmRelease
metadata:
  name: &app cloudflare-dns
spec:
  chartRef:
    kind: OCIRepository
    name: cloudflare-dns
  interval: 1h
  values:
    fullnameOverride: *app
    provider: cloudflare
    sources: ["crd", "gateway-httproute"]
    txtPrefix: k8s.
    txtOwnerId: default
    domainFilters: ["${SECRET_DOMAIN}"]
""",
    "kubernetes/apps/default/kustomization.yaml": _namespace_kustomization("default", ["echo"]),
    "kubernetes/apps/default/namespace.yaml": _namespace("default"),
    "kubernetes/apps/default/echo/ks.yaml": _ks("echo", "kubernetes/apps/default/echo/app", "default"),
    "kubernetes/apps/default/echo/app/kustomization.yaml": """\
---
apiVersion: kustomize.config.k8s.io/v1beta1
kind: Kustomization
resources:
  - ./helmrelease.yaml
""",
    "kubernetes/apps/default/echo/app/helmrelease.yaml": """\
---
apiVersion: helm.toolkit.fluxcd.io/v2
kind: HelmRelease
metadata:
  name: echo
spec:
  chartRef:
    kind: OCIRepository
    name: echo
  interval: 1h
  values:
    httpRoute:
      enabled: true
      hostnames:
        - "{{ .Release.Name }}.${SECRET_DOMAIN}"
      parentRefs:
        - name: envoy-external
          namespace: network
""",
    # Non-Kubernetes YAML that sits in real trees.
    "kubernetes/apps/default/echo/app/resources/gatus.yaml": """\
---
endpoints:
  - name: echo
    url: https://echo.${SECRET_DOMAIN}
""",
}


def flux_tree(root: Path, domains: tuple[str, ...] = ("${SECRET_DOMAIN}", "example.org")) -> Path:
    """Write the tree under *root* with the MultiDomain listing *domains*; return *root*."""
    listed = "".join(f"    - name: {d}\n" for d in domains)
    for path, text in FILES.items():
        target = root / path
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(text.replace("    - name: ${SECRET_DOMAIN}\n", listed) if path == MULTIDOMAIN else text)
    return root


def read_tree(root: Path) -> dict[str, str]:
    return {str(p.relative_to(root)): p.read_text() for p in sorted(root.rglob("*")) if p.is_file()}


def kpt_items(files: dict[str, str]) -> list[Item]:
    """Items as kpt hands them over: one per document, each annotated with its file."""
    out = []
    for path, text in files.items():
        if not path.endswith((".yaml", "Kptfile")):
            continue
        for index, doc in enumerate(d for d in yaml.safe_load_all(text) if d is not None):
            if isinstance(doc, dict):
                meta = doc.setdefault("metadata", {})
                meta.setdefault("annotations", {}).update(
                    {"config.kubernetes.io/path": path, "config.kubernetes.io/index": str(index)}
                )
            out.append(Item.from_data(doc))
    return out
