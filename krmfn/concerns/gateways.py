"""Gateway listeners serve every attached domain's certificate (SPEC §5).

``mode: shared`` (the default): the listener named in ``spec.gateways[].listener`` lists in
``tls.certificateRefs`` the Secret of every domain attached to the gateway, the primary's
first, because Envoy serves the first certificate when no SNI matches (Envoy "Certificate
selection"). Refs the function does not manage stay, after its own. A ref written in the
seed's first-dot-only Flux form (``${SECRET_DOMAIN/./-}-production-tls``) is the managed
Secret under another spelling: it is replaced, not kept beside it, since Envoy Gateway
rejects two certificates for the same name and key algorithm on one listener. A listener
with a ``hostname`` answers only for the names it admits (Gateway API ``Listener.hostname``),
so it gets the Secrets of the domains it admits; any other domain is named in a warning that
points at ``mode: perDomain``.

``mode: perDomain``: one listener per domain name, each with only its domain's Secret;
:mod:`krmfn.concerns.perdomain` says which.

Which refs and listeners the function wrote is recorded on the Gateway, so that a domain
removed from the config loses its ref or listeners on the next run. A certificate Secret in
another namespace than the Gateway needs a ReferenceGrant there; it is generated.

The Service Envoy Gateway makes for a Gateway carries ``spec.infrastructure.annotations``; an
external-dns ``hostname`` annotation there is how k8s_gateway (and external-dns's service
source) resolve the gateway's target names on the LAN. When the Gateway has one and the
config gives the gateway a DNS target, it lists every attached domain's target, so that a
record ``CNAME external.<domain>`` resolves for every domain, not only the first.
"""

from __future__ import annotations

import copy
from typing import Any

from krmfn.api.config import GatewaySpec
from krmfn.api.names import expand_template
from krmfn.concerns import perdomain
from krmfn.concerns.certificates import normalise_flux
from krmfn.concerns.perdomain import Patch, Secret, find_listener, listeners_of, missing, recorded, serves_tls
from krmfn.concerns.routes import GATEWAY_GROUP
from krmfn.concerns.serving import admits, cert_covers, secret_key
from krmfn.context import Context, ref_of
from krmfn.krm import results as r
from krmfn.krm.item import Item

#: Where ``mode: perDomain`` records its listeners (read by ``krmfn init`` too).
LISTENERS_ANNOTATION = perdomain.LISTENERS_ANNOTATION
MAX_CERTIFICATE_REFS = 64  # ListenerTLSConfig.certificateRefs MaxItems
REFS_ANNOTATION = "krmfn.dev/certificate-refs"
HOSTNAMES_ANNOTATION = "krmfn.dev/infrastructure-hostnames"
FILE = "reference-grants.yaml"


def generate(ctx: Context) -> None:
    """Patch every configured Gateway's listeners; generate the ReferenceGrants they need."""
    grants: dict[tuple[str, str], list[str]] = {}
    gateways = [(i, g) for i, g in enumerate(ctx.config.spec.gateways) if g.kind == "Gateway" and g.namespace]
    if ctx.config.certificates is None or ctx.config.certificate_namespace is None:
        if gateways:
            ctx.report(
                r.info(
                    "`spec.certificates` is not set, so no Gateway listener's `tls.certificateRefs` is changed",
                    field="spec.certificates",
                    resource=ctx.config_ref,
                )
            )
        return
    certificate_namespace = ctx.config.certificate_namespace
    for index, gateway in gateways:
        secrets = _secrets(ctx, gateway, certificate_namespace)
        if not secrets:
            continue
        for secret in secrets:
            if gateway.namespace is not None and secret.namespace != gateway.namespace:
                names = grants.setdefault((secret.namespace, gateway.namespace), [])
                names.extend([secret.name] if secret.name not in names else [])
        item = ctx.target("Gateway", gateway.name, gateway.namespace, f"spec.gateways[{index}]", group=GATEWAY_GROUP)
        if item is None:
            continue
        patch = Patch(index, gateway, item, copy.deepcopy(item.data))
        patch_listeners = perdomain.listeners if gateway.mode == "perDomain" else _shared
        if not patch_listeners(ctx, patch, secrets):
            continue
        _infrastructure_hostnames(ctx, patch, secrets)
        if patch.why and ctx.replace(item, patch.new, "; ".join(patch.why)):
            ctx.report_all(patch.after)
        perdomain.attach_redirects(ctx, gateway, patch)
    for (secret_namespace, gateway_namespace), names in grants.items():
        ctx.generate(reference_grant(ctx, gateway_namespace, names, secret_namespace), FILE)


def _secrets(ctx: Context, gateway: GatewaySpec, namespace: str) -> list[Secret]:
    """The certificate Secret (generated, adopted or existing) of every domain attached to *gateway*, primary first."""
    certs = ctx.certificates
    return [
        Secret(d, certs[d.name.text].secret, certs[d.name.text].namespace or namespace)
        for d in ctx.config.domains
        if gateway.name in d.gateways and d.name.text in certs
    ]


def reference_grant(
    ctx: Context, gateway_namespace: str, secret_names: list[str], secret_namespace: str | None = None
) -> dict[str, Any]:
    """Lets Gateways in *gateway_namespace* use these Secrets of *secret_namespace* (default: the Certificates')."""
    namespace = secret_namespace or ctx.config.certificate_namespace
    assert namespace is not None
    return {
        "apiVersion": f"{GATEWAY_GROUP}/{ctx.config.spec.reference_grant_version}",
        "kind": "ReferenceGrant",
        "metadata": {
            "name": f"{ctx.config.name}-gateways-{gateway_namespace}",
            "namespace": namespace,
        },
        "spec": {
            "from": [{"group": GATEWAY_GROUP, "kind": "Gateway", "namespace": gateway_namespace}],
            "to": [{"group": "", "kind": "Secret", "name": name} for name in secret_names],
        },
    }


def _shared(ctx: Context, patch: Patch, secrets: list[Secret]) -> bool:
    index, gateway, item = patch.index, patch.gateway, patch.item
    listeners = listeners_of(ctx, index, item, patch)
    if listeners is None:
        return False
    at = find_listener(listeners, gateway.listener)
    if at is None:
        missing(ctx, index, gateway, item, listeners)
        return False
    listener = listeners[at]
    if not serves_tls(ctx, item, listener, ("HTTPS", "TLS")):
        return False
    where = f"listener {gateway.listener!r} of {ref_of(item).describe()}"
    secrets = _admitted(ctx, patch, listener, secrets, where)
    if not secrets:
        return True
    tls = listener.get("tls")
    if not isinstance(tls, dict):
        tls = listener["tls"] = {}
    existing = tls.get("certificateRefs")
    existing = existing if isinstance(existing, list) else []
    old_keys = {normalise_flux(key) for key in recorded(item, REFS_ANNOTATION)}
    wanted = {normalise_flux(s.key): s for s in secrets}
    kept: dict[str, dict[str, Any]] = {}
    others: list[Any] = []
    respelled: list[str] = []
    dropped: list[str] = []
    for ref in existing:
        key = secret_key(ref, gateway.namespace or "")
        if key is None:
            others.append(ref)
            continue
        norm = normalise_flux(key)
        if norm in wanted:
            if norm in kept:
                dropped.append(ref["name"])
                continue
            kept[norm] = ref
        elif norm in old_keys:
            dropped.append(ref["name"])
        else:
            others.append(ref)
            _warn_same_name(ctx, item, gateway, norm, secrets)
    refs: list[Any] = []
    for s in secrets:
        ref = dict(kept.get(normalise_flux(s.key)) or {"kind": "Secret"})
        if ref.get("name", s.name) != s.name:
            respelled.append(ref["name"])
        ref["name"] = s.name
        if s.namespace != gateway.namespace:
            ref["namespace"] = s.namespace
        refs.append(ref)
    refs.extend(others)
    if len(refs) > MAX_CERTIFICATE_REFS:
        ctx.report(
            r.error(
                f"{where} must have at most {MAX_CERTIFICATE_REFS} `tls.certificateRefs`; with every attached "
                f"domain it would have {len(refs)}; attach fewer domains to it (`spec.domains[].gateways`)",
                resource=ref_of(item),
                field=f"spec.gateways[{index}]",
                file=item.path,
            )
        )
        return False
    tls["certificateRefs"] = refs
    _annotate(patch.new, REFS_ANNOTATION, ",".join(s.key for s in secrets))
    patch.why.append(
        f"{where} lists the certificate Secrets of {', '.join(s.domain.name.text for s in secrets)} (primary first)"
    )
    if respelled:
        patch.after.append(
            r.info(
                f"{where}: replaced certificateRef(s) {', '.join(map(repr, respelled))} by the generated Secret's "
                "name: `${VAR/./-}` replaces only the first dot; `${VAR//./-}` names the Secret MultiDomain "
                "generates, and listing both would give Envoy the same certificate twice",
                resource=ref_of(item),
                file=item.path,
            )
        )
    if dropped:
        patch.after.append(
            r.info(
                f"{where}: removed certificateRef(s) {', '.join(map(repr, dropped))}: duplicates, or Secrets of "
                "domains no longer attached",
                resource=ref_of(item),
                file=item.path,
            )
        )
    return True


def _admitted(ctx: Context, patch: Patch, listener: dict[str, Any], secrets: list[Secret], where: str) -> list[Secret]:
    """The Secrets of the domains a listener's ``hostname`` admits; the others are named in a warning."""
    index, item = patch.index, patch.item
    hostname = listener.get("hostname")
    if not isinstance(hostname, str):
        return secrets
    admitted = [s for s in secrets if admits_domain(hostname, s)]
    left_out = [s.domain.name.text for s in secrets if s not in admitted]
    if left_out:
        ctx.report(
            r.warning(
                f"{where} has `hostname: {hostname}`, so it answers only for names under it and serves none of "
                f"{', '.join(left_out)}: their certificates are not listed there and their routes cannot attach "
                f"there; a listener with a hostname admits one domain: set `spec.gateways[{index}].mode: "
                "perDomain` for one listener per domain, or remove the listener's hostname",
                resource=ref_of(item),
                field=f"spec.gateways[{index}]",
                file=item.path,
            )
        )
    return admitted


def admits_domain(hostname: str, secret: Secret) -> bool:
    """Whether a listener with *hostname* admits a name the domain's certificate holds."""
    names = [secret.domain.name.text]
    if secret.domain.wildcard:
        names.append(f"*.{secret.domain.name.text}")
    names.extend(secret.domain.extra_dns_names)
    # a listener for one host the certificate holds (`app.example.org`) admits the domain too
    return any(admits(hostname, name) or cert_covers(name, hostname) for name in names)


def _infrastructure_hostnames(ctx: Context, patch: Patch, secrets: list[Secret]) -> None:
    """List every attached domain's target in the Service's hostname annotation, when the user has one."""
    gateway, item = patch.gateway, patch.item
    if gateway.dns is None or gateway.dns.target is None:
        return
    spec = patch.new.get("spec")
    infrastructure = spec.get("infrastructure") if isinstance(spec, dict) else None
    annotations = infrastructure.get("annotations") if isinstance(infrastructure, dict) else None
    key = f"{ctx.config.spec.external_dns_annotation_prefix}hostname"
    if not isinstance(annotations, dict) or not isinstance(annotations.get(key), str):
        return
    present = [h.strip() for h in annotations[key].split(",") if h.strip()]
    wanted = list(dict.fromkeys(expand_template(gateway.dns.target, s.domain.name) for s in secrets))
    earlier = recorded(item, HOSTNAMES_ANNOTATION)
    folded = {h.lower() for h in present}
    kept = [h for h in present if h not in earlier or h in wanted]
    added = [h for h in wanted if h.lower() not in folded]
    names = kept + added
    mine = sorted(h for h in names if h in wanted and (h in earlier or h in added))
    if names == present and mine == sorted(earlier):
        return
    annotations[key] = ",".join(names)
    if mine:
        _annotate(patch.new, HOSTNAMES_ANNOTATION, ",".join(mine))
    else:
        patch.new["metadata"]["annotations"].pop(HOSTNAMES_ANNOTATION, None)
    if names != present:
        patch.why.append(
            f"`spec.infrastructure.annotations.{key}` names the target of every attached domain "
            f"({', '.join(wanted)}), so that split-horizon DNS resolves each"
        )


def _annotate(new: dict[str, Any], key: str, value: str) -> None:
    metadata = new.setdefault("metadata", {})
    annotations = metadata.get("annotations")
    if not isinstance(annotations, dict):
        annotations = metadata["annotations"] = {}
    annotations[key] = value


def _warn_same_name(ctx: Context, item: Item, gateway: GatewaySpec, norm: str, secrets: list[Secret]) -> None:
    name = norm.partition("/")[2]
    same = next((s for s in secrets if s.name == name), None)
    if same is None:
        return
    ctx.report(
        r.warning(
            f"listener {gateway.listener!r} of {ref_of(item).describe()} lists Secret {norm!r} beside the generated "
            f"{same.key!r} for {same.domain.name.text!r}; both hold a certificate for the same names, which Envoy "
            "Gateway rejects; remove the old ref once the generated Secret exists",
            resource=ref_of(item),
            file=item.path,
        )
    )
