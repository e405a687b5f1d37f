"""The manifests tests feed krmfn, written once: a MultiDomain, and the cluster's resources it names.

Everything here is YAML text, because text is what the function reads: the comments, quotes
and flow styles in a constant are part of what fidelity tests compare, so a test may check
its output against one of these byte for byte. The canonical resources are those of
onedr0p/cluster-template (domain-facts §11), written anew with fake domains; builders cover
the fields tests vary. A document here has no leading ``---``: join documents with
``"---\\n"``. ``bench/inputs.py`` builds its managed items from this module too.
"""

from __future__ import annotations

# --- the MultiDomain ----------------------------------------------------------------------

#: The config is named edge throughout; its generated resources are named after it.
EDGE = "metadata: {name: edge}\n"
#: The same, in the block style some tests edit line by line.
EDGE_BLOCK = "metadata:\n  name: edge\n"
#: What a config in a kpt package or kustomization carries, so that it is never applied.
EDGE_LOCAL = 'metadata:\n  name: edge\n  annotations:\n    config.kubernetes.io/local-config: "true"\n'


def multidomain(*spec: str, metadata: str = EDGE) -> str:
    """A MultiDomain whose `spec` is the *spec* sections, in order, as written."""
    return "apiVersion: krmfn.dev/v1alpha1\nkind: MultiDomain\n" + metadata + "spec:\n" + "".join(spec)


def domains(*names: str) -> str:
    """`spec.domains`: one entry per name, nothing else set."""
    return "  domains:\n" + "".join(f"    - name: {name}\n" for name in names)


#: The cluster-template's domain, a Flux variable, and a second zone added beside it.
DOMAINS = domains("${SECRET_DOMAIN}", "example.org")


def certificates(
    namespace: str | None = "network", *, issuer: str = "{name: letsencrypt-production}", suffix: str | None = None
) -> str:
    """`spec.certificates`; without *namespace* the Secrets go where the first Gateway is."""
    lines = "  certificates:\n"
    lines += f"    namespace: {namespace}\n" if namespace else ""
    lines += f"    issuerRef: {issuer}\n"
    return lines + (f"    nameSuffix: {suffix}\n" if suffix else "")


#: Certificates in the Gateways' namespace, issued by the template's ClusterIssuer.
CERTIFICATES = certificates()
#: The template's two Gateways, every domain on each one's `https` listener.
GATEWAYS = """\
  gateways:
    - name: envoy-external
      namespace: network
    - name: envoy-internal
      namespace: network
"""
#: `spec.externalDNS` naming EXTERNAL_DNS, the template's external-dns: it reads DNSEndpoints (`crd`),
#: which every DNSEndpoint krmfn writes needs.
EXTERNAL_DNS_INSTALLATION = "  externalDNS:\n    - {kind: HelmRelease, name: cloudflare-dns, namespace: network}\n"
#: The Secrets krmfn names for DOMAINS with ``nameSuffix: production``, primary first.
PRODUCTION_SECRETS = ("${SECRET_DOMAIN//./-}-production-tls", "example-org-production-tls")


# --- Gateways and routes ------------------------------------------------------------------


def gateway(
    listeners: str,
    *,
    name: str = "envoy-external",
    target: str | None = "external.${SECRET_DOMAIN}",
    namespace: str = "network",
) -> str:
    """An envoy Gateway with the *listeners* block as written; *target* is its external-dns target."""
    annotations = f"  annotations:\n    external-dns.alpha.kubernetes.io/target: {target}\n" if target else ""
    return (
        f"apiVersion: gateway.networking.k8s.io/v1\nkind: Gateway\nmetadata:\n  name: {name}\n  namespace: {namespace}\n"
        f"{annotations}spec:\n  gatewayClassName: envoy\n  listeners:\n{listeners}"
    )


HTTP_LISTENER = "    - name: http\n      protocol: HTTP\n      port: 80\n"


def https_listener(*secrets: str, namespace: str | None = None) -> str:
    """The `https` listener, terminating TLS with the Secrets named *secrets* (in *namespace*)."""
    where = f"            namespace: {namespace}\n" if namespace else ""
    refs = "".join(f"          - kind: Secret\n            name: {secret}\n{where}" for secret in secrets)
    return "    - name: https\n      protocol: HTTPS\n      port: 443\n      tls:\n        certificateRefs:\n" + refs


#: The cluster-template's external Gateway as its users have it: the seed's one Secret, named
#: with Flux's first-dot-only form, on a listener that every domain's routes share.
ENVOY_EXTERNAL = gateway(
    """\
    - name: http
      protocol: HTTP
      port: 80
      allowedRoutes:
        namespaces:
          from: Same
    - name: https # all domains, one listener
      protocol: HTTPS
      port: 443
      allowedRoutes:
        namespaces:
          from: "All"
      tls:
        certificateRefs:
          - kind: Secret
            name: ${SECRET_DOMAIN/./-}-production-tls # the seed's form
""",
)
#: Its twin for the LAN: the same listeners, the target ``internal.${SECRET_DOMAIN}``.
ENVOY_INTERNAL = ENVOY_EXTERNAL.replace("envoy-external", "envoy-internal").replace("external.${", "internal.${")


#: The external Gateway in the layout of phycoforce/home-ops: every listener carries a hostname,
#: so each answers for one domain only (Gateway API ``Listener.hostname``).
ENVOY_EXTERNAL_HOSTNAMES = gateway(
    """\
    - name: http
      protocol: HTTP
      port: 80
      hostname: "*.${SECRET_DOMAIN}"
      allowedRoutes:
        namespaces:
          from: Same
    - name: https
      protocol: HTTPS
      port: 443
      hostname: "*.${SECRET_DOMAIN}"
      allowedRoutes:
        namespaces:
          from: All
      tls:
        certificateRefs:
          - kind: Secret
            name: ${SECRET_DOMAIN/./-}-production-tls
""",
)

#: The route every plain-HTTP listener answers with: a redirect to https, no record of its own.
HTTPS_REDIRECT = """\
apiVersion: gateway.networking.k8s.io/v1
kind: HTTPRoute
metadata:
  name: https-redirect
  namespace: network
  annotations:
    external-dns.alpha.kubernetes.io/controller: none
spec:
  parentRefs:
    - name: envoy-external
      namespace: network
      sectionName: http
  rules:
    - filters:
        - type: RequestRedirect
          requestRedirect:
            scheme: https
            statusCode: 301
"""


def httproute(
    name: str,
    hostnames: str,
    *,
    parents: str | None = "[{name: envoy-external, namespace: network}]",
    namespace: str | None = "default",
    kind: str = "HTTPRoute",
) -> str:
    """A route of *kind*; *hostnames* and *parents* are flow sequences as written, None leaves them out."""
    meta = f"  namespace: {namespace}\n" if namespace else ""
    refs = f"  parentRefs: {parents}\n" if parents else ""
    return (
        f"apiVersion: gateway.networking.k8s.io/v1\nkind: {kind}\nmetadata:\n  name: {name}\n{meta}"
        f"spec:\n  hostnames: {hostnames}\n{refs}"
    )


# --- cert-manager -------------------------------------------------------------------------

#: The template's ClusterIssuer: one Cloudflare DNS-01 solver, selecting the template's zone.
CLUSTER_ISSUER = """\
# cert-manager ClusterIssuer, as cluster-template writes it
apiVersion: cert-manager.io/v1
kind: ClusterIssuer
metadata:
  name: letsencrypt-production
spec:
  acme:
    server: https://acme-v02.api.letsencrypt.org/directory
    profile: shortlived
    privateKeySecretRef:
      name: letsencrypt-production
    solvers:
      - dns01:
          cloudflare:
            apiTokenSecretRef:
              name: cert-manager-secret
              key: api-token
        selector:
          dnsZones: ["${SECRET_DOMAIN}"]  # the only zone
"""

#: The template's wildcard Certificate, shortened to what clashes: the name and Secret that
#: krmfn's Certificate for `${SECRET_DOMAIN}` would take.
SEED_CERTIFICATE = """\
apiVersion: cert-manager.io/v1
kind: Certificate
metadata:
  name: "${SECRET_DOMAIN/./-}-production"
  namespace: network
spec:
  secretName: "${SECRET_DOMAIN/./-}-production-tls"
  issuerRef: {name: letsencrypt-production, kind: ClusterIssuer}
  dnsNames: ["${SECRET_DOMAIN}", "*.${SECRET_DOMAIN}"]
"""
#: The same Certificate as the current template commits it (envoy-gateway/app/certificate.yaml):
#: no namespace (the Flux Kustomization's targetNamespace sets it), block style, and the
#: fields a MultiDomain config does not set, which adoption must keep.
TEMPLATE_CERTIFICATE = """\
apiVersion: cert-manager.io/v1
kind: Certificate
metadata:
  name: "${SECRET_DOMAIN/./-}-production"
spec:
  dnsNames:
    - "${SECRET_DOMAIN}"
    - "*.${SECRET_DOMAIN}"
  duration: 160h # six days and change
  issuerRef:
    name: letsencrypt-production
    kind: ClusterIssuer
  privateKey:
    algorithm: ECDSA
  secretName: "${SECRET_DOMAIN/./-}-production-tls"
  usages:
    - digital signature
"""


# --- HelmReleases of the network namespace ------------------------------------------------

#: external-dns for Cloudflare, filtering the template's zone.
EXTERNAL_DNS = """\
# external-dns for Cloudflare, as cluster-template writes it
apiVersion: helm.toolkit.fluxcd.io/v2
kind: HelmRelease
metadata:
  name: cloudflare-dns
  namespace: network
spec:
  interval: 1h
  chartRef:
    kind: OCIRepository
    name: cloudflare-dns
  values:
    fullnameOverride: cloudflare-dns
    provider: cloudflare
    extraArgs:
      - --cloudflare-proxied
      - --gateway-name=envoy-external
    triggerLoopOnEvent: true
    policy: sync
    sources: ["crd", "gateway-httproute"]
    txtPrefix: k8s.
    txtOwnerId: default
    domainFilters: ["${SECRET_DOMAIN}"]  # every zone
"""

#: k8s_gateway, the LAN's split-horizon DNS server, answering for the template's zone.
K8S_GATEWAY = """\
# k8s_gateway answers LAN queries for the cluster's zones
apiVersion: helm.toolkit.fluxcd.io/v2
kind: HelmRelease
metadata:
  name: k8s-gateway
  namespace: network
spec:
  interval: 1h
  chartRef:
    kind: OCIRepository
    name: k8s-gateway
  values:
    fullnameOverride: k8s-gateway
    domain: "${SECRET_DOMAIN}"  # the delegated zone(s)
    ttl: 1
    watchedResources: ["HTTPRoute", "Service"]
"""

#: cloudflared through app-template, as the template writes it: only the wildcard rule, so the
#: apex gets a 404 (domain-facts §4.5).
CLOUDFLARE_TUNNEL = """\
# yaml-language-server: $schema=https://kubernetes-schemas.pages.dev/helm.toolkit.fluxcd.io/helmrelease_v2.json
apiVersion: helm.toolkit.fluxcd.io/v2
kind: HelmRelease
metadata:
  name: cloudflare-tunnel
  namespace: network
spec:
  interval: 1h
  chartRef:
    kind: OCIRepository
    name: cloudflare-tunnel
  values:
    configMaps:
      config:
        data:
          config.yaml: |-
            # Requests arrive through the tunnel and go to the external gateway.
            ingress:
              - hostname: "*.${SECRET_DOMAIN}"
                originRequest:
                  http2Origin: true
                  originServerName: external.${SECRET_DOMAIN}
                service: https://envoy-external.{{ .Release.Namespace }}.svc.cluster.local:443
              - service: http_status:404 # everything else
"""


# --- Flux variables -----------------------------------------------------------------------

#: The Secret Flux substitutes `${SECRET_DOMAIN}` from (unencrypted here: a fake domain).
CLUSTER_SECRETS = """\
apiVersion: v1
kind: Secret
metadata:
  name: cluster-secrets
  namespace: flux-system
stringData:
  SECRET_DOMAIN: example.com
"""


# --- Routes declared in chart values ------------------------------------------------------


def helmrelease(name: str, values: str, *, namespace: str | None = "default", spec: str = "") -> str:
    """A Flux HelmRelease whose `spec.values` is *values* (a block, indented by four spaces)."""
    meta = f"  namespace: {namespace}\n" if namespace else ""
    return (
        f"apiVersion: helm.toolkit.fluxcd.io/v2\nkind: HelmRelease\nmetadata:\n  name: {name}\n{meta}"
        f"spec:\n  interval: 1h\n  chartRef:\n    kind: OCIRepository\n    name: {name}\n{spec}  values:\n{values}"
    )


#: bjw-s app-template's `route.app`, as the home-ops repositories write it: the hostname from the
#: release name (Helm's `tpl`), attached to the template's external Gateway.
APP_TEMPLATE_ROUTE = """\
    route:
      app:
        hostnames:
          - "{{ .Release.Name }}.example.org" # rendered by Helm
        parentRefs:
          - name: envoy-external
            namespace: network
"""

#: The `httpRoute` of Helm's chart scaffold and the home-operations charts (echo, kromgo).
HTTP_ROUTE = """\
    httpRoute:
      enabled: true
      hostnames:
        - "{{ .Release.Name }}.${SECRET_DOMAIN}"
      parentRefs:
        - name: envoy-external
          namespace: network
"""


# --- local wrapper charts (values files) ----------------------------------------------------


def kpt_item(path: str, text: str) -> str:
    """*text* as `kpt fn source` hands a file over: a path annotation block appended."""
    return (
        text.rstrip("\n")
        + f"\nmetadata:\n  annotations:\n    config.kubernetes.io/path: '{path}'\n"
        + f"    internal.config.kubernetes.io/path: '{path}'\n"
    )


def wrapper_chart(directory: str, dependency: str, *, alias: str | None = None) -> str:
    """The ``Chart.yaml`` of a local chart named after *directory*'s last part that wraps *dependency*."""
    name = directory.rstrip("/").rpartition("/")[2]
    dep = f"  - name: {dependency}\n    version: 1.0.0\n    repository: https://charts.example.net\n"
    dep += f"    alias: {alias}\n" if alias else ""
    return kpt_item(f"{directory}/Chart.yaml", f"apiVersion: v2\nname: {name}\nversion: 0.0.0\ndependencies:\n{dep}")
