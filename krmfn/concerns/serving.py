"""What serves a hostname over TLS: which listener or Ingress, with which certificate (SPEC "Covered means served").

A certificate that covers a name is useless unless the thing that answers for the name serves
it. For a Gateway that is decided in two steps (Gateway API ``Listener.hostname``; Envoy
Gateway builds one filter chain per listener, chosen by SNI, envoyproxy/gateway#9577):

1. the SNI picks the listener: among the TLS-terminating listeners of a port, the one whose
   ``hostname`` matches it most specifically (exact, then the longest ``*.`` suffix, then a
   listener without hostname);
2. that listener answers only for the Hosts its ``hostname`` admits (a ``*.`` pattern admits
   every name below it, not the apex; no hostname admits all), with the certificate among
   its ``certificateRefs`` that holds the SNI.

For an Ingress: a ``spec.tls`` entry listing the host names the Secret served for it; a host
no entry lists gets the controller's default certificate, known only when the config names it
(``defaultCertificate`` of the IngressClass entry).

:class:`Serving` is built once per expansion, from the items as they are after the gateways
concern patched them, and answers per hostname; the tunnel concern chooses origin server
names with it, the plan reports ``covered`` and ``certificate.servedBy`` from it. Which
names a Secret holds is read from the Certificates in the input and the generated ones, and
from the domains' ``existingCertificate`` (assumed to hold the domain's names when that
Certificate is not in the input).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from krmfn.api.config import Config, GatewaySpec
from krmfn.concerns.certificates import normalise_flux
from krmfn.context import Context
from krmfn.krm.item import Item

GATEWAY_GROUP = "gateway.networking.k8s.io"
TLS_PROTOCOLS = ("HTTPS", "TLS")


# --- names ---------------------------------------------------------------------------------


def _fold(name: str) -> str:
    return name.strip().rstrip(".").lower()


def admits(pattern: str | None, host: str) -> bool:
    """Whether a listener (or route) ``hostname`` *pattern* admits *host*.

    *host* may itself be ``*.example.org``, standing for every name below ``example.org``
    (a tunnel rule's hostname): a ``*.`` pattern admits it when it admits all of them.
    """
    if pattern is None:
        return True
    pattern, host = _fold(pattern), _fold(host)
    if pattern == host:
        return True
    if not pattern.startswith("*."):
        return False
    # "*.s" admits every name ending in ".s" at any depth, and so every "*.d" with d == s or d under s
    return host.endswith(pattern[1:])


def cert_covers(name: str, host: str) -> bool:
    """TLS name matching: *name* (a certificate's DNS name) holds *host*; a wildcard covers one label."""
    name, host = _fold(name), _fold(host)
    if name == host:
        return True
    if not name.startswith("*.") or host.startswith("*."):
        return False
    head, _, rest = host.partition(".")
    return bool(head) and rest == name[2:]


def _specificity(pattern: str | None) -> tuple[int, int]:
    if pattern is None:
        return (0, 0)
    if pattern.startswith("*."):
        return (1, len(pattern))
    return (2, len(pattern))


# --- what the items say ----------------------------------------------------------------------


@dataclass(frozen=True)
class Listener:
    """A listener of a configured Gateway, as it is after the gateways concern."""

    gateway: GatewaySpec
    name: str
    hostname: str | None
    protocol: str | None
    port: int | None
    #: ``namespace/name`` of each Secret in ``tls.certificateRefs`` (Flux spellings normalised).
    secrets: tuple[str, ...]

    @property
    def terminates_tls(self) -> bool:
        return self.protocol in TLS_PROTOCOLS


@dataclass(frozen=True)
class Server:
    """Something that serves a hostname with a certificate holding it (plan ``certificate.servedBy``)."""

    kind: str  # Gateway, Ingress or IngressController
    namespace: str | None
    name: str
    listener: str | None
    #: The Secret served for the name, ``namespace/name``.
    secret: str

    def to_data(self) -> dict[str, Any]:
        return {"kind": self.kind, "namespace": self.namespace, "name": self.name, "listener": self.listener}


def listeners_of(gateway: GatewaySpec, data: Mapping[str, Any]) -> list[Listener]:
    """The listeners of a Gateway resource's data, for the config entry *gateway*."""
    spec = data.get("spec")
    raw = spec.get("listeners") if isinstance(spec, dict) else None
    out = []
    for x in raw if isinstance(raw, list) else []:
        if not isinstance(x, dict) or not isinstance(x.get("name"), str):
            continue
        tls = x.get("tls")
        refs = tls.get("certificateRefs") if isinstance(tls, dict) else None
        secrets = tuple(key for ref in refs or [] if (key := listed_secret(ref, gateway.namespace or "")) is not None)
        if isinstance(tls, dict) and tls.get("mode", "Terminate") != "Terminate":
            secrets = ()
        hostname = x.get("hostname") if isinstance(x.get("hostname"), str) else None
        port = x.get("port") if isinstance(x.get("port"), int) else None
        protocol = x.get("protocol") if isinstance(x.get("protocol"), str) else None
        out.append(Listener(gateway, x["name"], hostname, protocol, port, secrets))
    return out


def secret_key(ref: Any, default_namespace: str) -> str | None:
    """``namespace/name`` of a Secret ref (namespace defaulting to the Gateway's), else None."""
    if not isinstance(ref, dict) or not isinstance(ref.get("name"), str):
        return None
    if ref.get("kind", "Secret") != "Secret" or ref.get("group", "") not in ("", "core"):
        return None
    namespace = ref.get("namespace") if isinstance(ref.get("namespace"), str) else default_namespace
    return f"{namespace}/{ref['name']}"


def listed_secret(ref: Any, default_namespace: str) -> str | None:
    """:func:`secret_key` with the Flux spelling normalised, for comparing."""
    key = secret_key(ref, default_namespace)
    return normalise_flux(key) if key is not None else None


class Serving:
    """Per hostname: the listeners and Ingresses that serve it, each with a certificate holding it."""

    def __init__(
        self,
        config: Config,
        gateways: Mapping[tuple[str | None, str], Mapping[str, Any]],
        certificates: Iterable[tuple[str | None, Mapping[str, Any]]],
        ingresses: Iterable[tuple[str | None, Mapping[str, Any]]] = (),
    ) -> None:
        """*gateways*: Gateway data by (namespace, name); *certificates*, *ingresses*: (namespace, data)."""
        self.config = config
        self._listeners: dict[tuple[str | None, str], list[Listener]] = {}
        for entry in config.spec.gateways:
            data = gateways.get((entry.namespace, entry.name))
            if entry.kind == "Gateway" and data is not None:
                self._listeners[(entry.namespace, entry.name)] = listeners_of(entry, data)
        #: Secret name → [(namespace or None when unknown, DNS names)]
        self._names: dict[str, list[tuple[str | None, tuple[str, ...]]]] = {}
        for namespace, data in certificates:
            spec = data.get("spec")
            if not isinstance(spec, dict) or not isinstance(spec.get("secretName"), str):
                continue
            names = tuple(n for n in spec.get("dnsNames") or [] if isinstance(n, str))
            if isinstance(spec.get("commonName"), str):
                names += (spec["commonName"],)
            ns = namespace or _namespace(data)
            self._names.setdefault(normalise_flux(spec["secretName"]), []).append((ns, names))
        self._ingresses = [(namespace or _namespace(data), data) for namespace, data in ingresses]

    @classmethod
    def from_context(cls, ctx: Context) -> Serving:
        """The serving state of the items as the concerns have left them so far."""
        gateways: dict[tuple[str | None, str], Mapping[str, Any]] = {}
        for entry in ctx.config.spec.gateways:
            if entry.kind != "Gateway":
                continue
            found = ctx.find("Gateway", entry.name, entry.namespace, GATEWAY_GROUP)
            if len(found) == 1:
                gateways[(entry.namespace, entry.name)] = found[0].data
        certificates = [(ctx.namespace_of(i), i.data) for i in ctx.of_kind(["Certificate"], "cert-manager.io")]
        certificates += [(None, g.data) for g in ctx.generated if g.data.get("kind") == "Certificate"]
        # an `existingCertificate` may be where krmfn cannot see it: the config says what it holds
        certificates += [(c.namespace, c.data) for c in ctx.certificates.values() if c.origin == "existing"]
        ingresses = [(ctx.namespace_of(i), i.data) for i in ctx.of_kind(["Ingress"], "networking.k8s.io")]
        return cls(ctx.config, gateways, certificates, ingresses)

    @classmethod
    def from_items(cls, config: Config, items: Iterable[Item]) -> Serving:
        """The serving state of a finished expansion's items (for the plan)."""
        wanted = {(g.name, g.namespace) for g in config.spec.gateways if g.kind == "Gateway"}
        gateways: dict[tuple[str | None, str], Mapping[str, Any]] = {}
        certificates: list[tuple[str | None, Mapping[str, Any]]] = []
        ingresses: list[tuple[str | None, Mapping[str, Any]]] = []
        for item in items:
            h = item.header
            if h.kind == "Gateway" and h.group == GATEWAY_GROUP:
                for name, namespace in wanted:
                    if h.name == name and (h.namespace or None) in (namespace, None):
                        gateways[(namespace, name)] = item.data
            elif h.kind == "Certificate" and h.group == "cert-manager.io":
                certificates.append((h.namespace or None, item.data))
            elif h.kind == "Ingress" and h.group == "networking.k8s.io":
                ingresses.append((h.namespace or None, item.data))
        return cls(config, gateways, certificates, ingresses)

    # --- questions ---------------------------------------------------------------------------

    def listeners(self, gateway: GatewaySpec) -> list[Listener]:
        """The listeners of a configured Gateway (empty when it is not in the input)."""
        return self._listeners.get((gateway.namespace, gateway.name), [])

    def holds(self, secret: str, host: str) -> bool | None:
        """Whether Secret *secret* (``namespace/name``) holds a certificate for *host*; None: unknown."""
        namespace, _, name = normalise_flux(secret).partition("/")
        known = [names for ns, names in self._names.get(name, []) if ns in (None, namespace)]
        if not known:
            return None
        return any(cert_covers(n, host) for names in known for n in names)

    def select(self, gateway: GatewaySpec, sni: str, port: int | None = None) -> Listener | None:
        """The TLS listener of *gateway* that a client sending *sni* reaches (on *port*, else any)."""
        candidates = [
            x
            for x in self.listeners(gateway)
            if x.terminates_tls and (port is None or x.port == port) and admits(x.hostname, sni)
        ]
        return max(candidates, key=lambda x: _specificity(x.hostname), default=None)

    def serves(
        self,
        gateway: GatewaySpec,
        host: str,
        *,
        sni: str | None = None,
        strict: bool = True,
        verified: bool = True,
    ) -> Listener | None:
        """The listener of *gateway* that answers *host* reached with *sni* (default: the host), with
        a certificate holding *sni*; None when the gateway does not serve it so.

        Not *strict*: a Secret whose names are unknown (no Certificate in the input says) may hold
        it. Not *verified*: the client does not check the certificate (cloudflared's
        ``noTLSVerify``), so only the listener matters.
        """
        sni = sni or host
        listener = self.select(gateway, sni)
        if listener is None or not admits(listener.hostname, host):
            return None
        if not verified:
            return listener
        held = [self.holds(secret, sni) for secret in listener.secrets]
        if any(held) or (not strict and None in held):
            return listener
        return None

    def served_by(self, hostname: str, gateways: Iterable[GatewaySpec] | None = None) -> list[Server]:
        """Everything that serves *hostname* with a certificate holding it (on *gateways*, default all)."""
        out: list[Server] = []
        chosen = list(gateways) if gateways is not None else list(self.config.spec.gateways)
        for gateway in chosen:
            if gateway.kind == "Gateway":
                listener = self.serves(gateway, hostname)
                if listener is not None:
                    secret = next(s for s in listener.secrets if self.holds(s, hostname))
                    out.append(Server("Gateway", gateway.namespace, gateway.name, listener.name, secret))
            else:
                out.extend(self._ingress_servers(gateway, hostname))
        return out

    def ingress_secret(
        self, gateway: GatewaySpec, namespace: str | None, data: Mapping[str, Any], host: str
    ) -> str | None:
        """The Secret an Ingress of class *gateway* is served with for *host* (``namespace/name``), if known."""
        spec = data.get("spec")
        entries = spec.get("tls") if isinstance(spec, dict) else None
        for entry in entries if isinstance(entries, list) else []:
            if not isinstance(entry, dict):
                continue
            hosts = [h for h in entry.get("hosts") or [] if isinstance(h, str)]
            if any(h == host or cert_covers(h, host) for h in hosts):
                if isinstance(entry.get("secretName"), str):
                    return f"{namespace or ''}/{entry['secretName']}"
                break
        default = gateway.default_certificate
        return f"{default.namespace}/{default.name}" if default is not None else None

    def _ingress_servers(self, gateway: GatewaySpec, hostname: str) -> list[Server]:
        out = []
        for namespace, data in self._ingresses:
            if ingress_class(data) != gateway.name or hostname not in ingress_hosts(data):
                continue
            secret = self.ingress_secret(gateway, namespace, data, hostname)
            if secret is None or not self.ingress_holds(data, namespace, secret, hostname):
                continue
            meta = data.get("metadata")
            name = meta.get("name") if isinstance(meta, dict) else None
            default = gateway.default_certificate
            if default is not None and secret == f"{default.namespace}/{default.name}":
                out.append(Server("IngressController", None, gateway.name, None, secret))
            else:
                out.append(Server("Ingress", namespace, str(name), None, secret))
        return out

    def ingress_holds(self, data: Mapping[str, Any], namespace: str | None, secret: str, host: str) -> bool:
        """Whether the Secret an Ingress serves for *host* holds it."""
        known = self.holds(secret, host)
        if known is not None:
            return known
        # cert-manager's ingress-shim issues a Certificate for the hosts of a `tls` entry
        # when the Ingress names an issuer: that Secret holds exactly those hosts.
        return secret.startswith(f"{namespace or ''}/") and _shim_issued(data)


def _namespace(data: Mapping[str, Any]) -> str | None:
    meta = data.get("metadata")
    namespace = meta.get("namespace") if isinstance(meta, dict) else None
    return namespace if isinstance(namespace, str) and namespace else None


def _shim_issued(data: Mapping[str, Any]) -> bool:
    meta = data.get("metadata")
    annotations = meta.get("annotations") if isinstance(meta, dict) else None
    if not isinstance(annotations, dict):
        return False
    return any(k in annotations for k in ("cert-manager.io/cluster-issuer", "cert-manager.io/issuer"))


def ingress_class(data: Mapping[str, Any]) -> str | None:
    spec = data.get("spec")
    name = spec.get("ingressClassName") if isinstance(spec, dict) else None
    if not isinstance(name, str):
        meta = data.get("metadata")
        annotations = meta.get("annotations") if isinstance(meta, dict) else None
        name = annotations.get("kubernetes.io/ingress.class") if isinstance(annotations, dict) else None
    return name if isinstance(name, str) else None


def ingress_hosts(data: Mapping[str, Any]) -> list[str]:
    spec = data.get("spec")
    rules = spec.get("rules") if isinstance(spec, dict) else None
    hosts = [r.get("host") for r in rules if isinstance(r, dict)] if isinstance(rules, list) else []
    return list(dict.fromkeys(h for h in hosts if isinstance(h, str)))
