"""Gateway listeners serve every attached domain's certificate (SPEC §5).

``mode: shared`` (the default): the listener named in ``spec.gateways[].listener`` lists in
``tls.certificateRefs`` the Secret of every domain attached to the gateway, the primary's
first, because Envoy serves the first certificate when no SNI matches (Envoy "Certificate
selection"). Refs the function does not manage stay, after its own. A ref written in the
seed's first-dot-only Flux form (``${SECRET_DOMAIN/./-}-production-tls``) is the managed
Secret under another spelling: it is replaced, not kept beside it, since Envoy Gateway
rejects two certificates for the same name and key algorithm on one listener.

``mode: perDomain``: the named listener is the template for one HTTPS listener pair per
domain (``https-<base>`` for ``*.<domain>``, ``https-<base>-apex`` for the apex), each with
only that domain's Secret.

Which refs and listeners the function wrote is recorded on the Gateway, so that a domain
removed from the config loses its ref or listeners on the next run. A certificate Secret in
another namespace than the Gateway needs a ReferenceGrant there; it is generated.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass
from typing import Any

from krmfn.api.config import Domain, GatewaySpec
from krmfn.concerns.certificates import normalise_flux
from krmfn.concerns.routes import GATEWAY_GROUP
from krmfn.context import Context, ref_of
from krmfn.krm import results as r
from krmfn.krm.item import Item

MAX_CERTIFICATE_REFS = 64  # ListenerTLSConfig.certificateRefs MaxItems
MAX_LISTENERS = 64  # GatewaySpec.listeners MaxItems
REFS_ANNOTATION = "krmfn.dev/certificate-refs"
LISTENERS_ANNOTATION = "krmfn.dev/listeners"
FILE = "reference-grants.yaml"


@dataclass(frozen=True)
class _Secret:
    domain: Domain
    name: str
    namespace: str

    @property
    def key(self) -> str:
        return f"{self.namespace}/{self.name}"


def generate(ctx: Context) -> None:
    """Patch every configured Gateway's listeners; generate the ReferenceGrants they need."""
    grants: dict[str, list[str]] = {}
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
        secrets = [
            _Secret(d, ctx.certificates[d.name.text].secret, certificate_namespace)
            for d in ctx.config.domains
            if gateway.name in d.gateways and d.name.text in ctx.certificates
        ]
        if not secrets:
            continue
        if gateway.namespace is not None and certificate_namespace != gateway.namespace:
            names = grants.setdefault(gateway.namespace, [])
            names.extend(s.name for s in secrets if s.name not in names)
        item = ctx.target("Gateway", gateway.name, gateway.namespace, f"spec.gateways[{index}]", group=GATEWAY_GROUP)
        if item is None:
            continue
        if gateway.mode == "perDomain":
            _per_domain(ctx, index, gateway, item, secrets)
        else:
            _shared(ctx, index, gateway, item, secrets)
    for gateway_namespace, names in grants.items():
        ctx.generate(reference_grant(ctx, gateway_namespace, names), FILE)


def reference_grant(ctx: Context, gateway_namespace: str, secret_names: list[str]) -> dict[str, Any]:
    """Lets Gateways in *gateway_namespace* use these Secrets of the certificate namespace."""
    assert ctx.config.certificate_namespace is not None
    return {
        "apiVersion": f"{GATEWAY_GROUP}/{ctx.config.spec.reference_grant_version}",
        "kind": "ReferenceGrant",
        "metadata": {
            "name": f"{ctx.config.name}-gateways-{gateway_namespace}",
            "namespace": ctx.config.certificate_namespace,
        },
        "spec": {
            "from": [{"group": GATEWAY_GROUP, "kind": "Gateway", "namespace": gateway_namespace}],
            "to": [{"group": "", "kind": "Secret", "name": name} for name in secret_names],
        },
    }


def _listeners(ctx: Context, index: int, gateway: GatewaySpec, item: Item) -> tuple[dict[str, Any], list[Any]] | None:
    new = copy.deepcopy(item.data)
    spec = new.get("spec")
    listeners = spec.get("listeners") if isinstance(spec, dict) else None
    if not isinstance(listeners, list):
        ctx.report(
            r.error(
                f"{ref_of(item).describe()} must have `spec.listeners` for `spec.gateways[{index}]` to patch",
                resource=ref_of(item),
                file=item.path,
            )
        )
        return None
    return new, listeners


def _find(listeners: list[Any], name: str) -> int | None:
    return next((i for i, x in enumerate(listeners) if isinstance(x, dict) and x.get("name") == name), None)


def _missing(ctx: Context, index: int, gateway: GatewaySpec, item: Item, listeners: list[Any]) -> None:
    names = ", ".join(repr(x.get("name")) for x in listeners if isinstance(x, dict)) or "none"
    ctx.report(
        r.error(
            f"{ref_of(item).describe()} must have the listener {gateway.listener!r} named in "
            f"`spec.gateways[{index}].listener`; its listeners are {names}",
            resource=ref_of(item),
            field=f"spec.gateways[{index}].listener",
            file=item.path,
        )
    )


def _serves_tls(ctx: Context, item: Item, listener: dict[str, Any], protocols: tuple[str, ...]) -> bool:
    protocol = listener.get("protocol")
    tls = listener.get("tls")
    mode = tls.get("mode", "Terminate") if isinstance(tls, dict) else "Terminate"
    if protocol in protocols and mode == "Terminate":
        return True
    want = " or ".join(protocols)
    ctx.report(
        r.error(
            f"listener {listener.get('name')!r} of {ref_of(item).describe()} must have protocol {want} and "
            f"terminate TLS to serve certificates; it has protocol {protocol!r} and TLS mode {mode!r}",
            resource=ref_of(item),
            file=item.path,
        )
    )
    return False


def _recorded(item: Item, key: str) -> set[str]:
    value = item.annotation(key)
    return {part.strip() for part in value.split(",") if part.strip()} if value else set()


def _annotate(new: dict[str, Any], key: str, value: str) -> None:
    metadata = new.setdefault("metadata", {})
    annotations = metadata.get("annotations")
    if not isinstance(annotations, dict):
        annotations = metadata["annotations"] = {}
    annotations[key] = value


def _shared(ctx: Context, index: int, gateway: GatewaySpec, item: Item, secrets: list[_Secret]) -> None:
    found = _listeners(ctx, index, gateway, item)
    if found is None:
        return
    new, listeners = found
    at = _find(listeners, gateway.listener)
    if at is None:
        _missing(ctx, index, gateway, item, listeners)
        return
    listener = listeners[at]
    if not _serves_tls(ctx, item, listener, ("HTTPS", "TLS")):
        return
    tls = listener.get("tls")
    if not isinstance(tls, dict):
        tls = listener["tls"] = {}
    existing = tls.get("certificateRefs")
    existing = existing if isinstance(existing, list) else []
    recorded = {normalise_flux(key) for key in _recorded(item, REFS_ANNOTATION)}
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
        elif norm in recorded:
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
    where = f"listener {gateway.listener!r} of {ref_of(item).describe()}"
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
        return
    tls["certificateRefs"] = refs
    _annotate(new, REFS_ANNOTATION, ",".join(s.key for s in secrets))
    why = f"{where} lists the certificate Secrets of {', '.join(s.domain.name.text for s in secrets)} (primary first)"
    if ctx.replace(item, new, why):
        if respelled:
            ctx.report(
                r.info(
                    f"{where}: replaced certificateRef(s) {', '.join(map(repr, respelled))} by the generated Secret's "
                    "name: `${VAR/./-}` replaces only the first dot; `${VAR//./-}` names the Secret MultiDomain "
                    "generates, and listing both would give Envoy the same certificate twice",
                    resource=ref_of(item),
                    file=item.path,
                )
            )
        if dropped:
            ctx.report(
                r.info(
                    f"{where}: removed certificateRef(s) {', '.join(map(repr, dropped))}: duplicates, or Secrets of "
                    "domains no longer attached",
                    resource=ref_of(item),
                    file=item.path,
                )
            )


def secret_key(ref: Any, gateway_namespace: str) -> str | None:
    """``namespace/name`` of a Secret ref (namespace defaulting to the Gateway's), else None."""
    if not isinstance(ref, dict) or not isinstance(ref.get("name"), str):
        return None
    if ref.get("kind", "Secret") != "Secret" or ref.get("group", "") not in ("", "core"):
        return None
    namespace = ref.get("namespace") if isinstance(ref.get("namespace"), str) else gateway_namespace
    return f"{namespace}/{ref['name']}"


def _warn_same_name(ctx: Context, item: Item, gateway: GatewaySpec, norm: str, secrets: list[_Secret]) -> None:
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


def _per_domain(ctx: Context, index: int, gateway: GatewaySpec, item: Item, secrets: list[_Secret]) -> None:
    found = _listeners(ctx, index, gateway, item)
    if found is None:
        return
    new, listeners = found
    recorded = _recorded(item, LISTENERS_ANNOTATION)
    at = _find(listeners, gateway.listener)
    if at is None:
        at = next((i for i, x in enumerate(listeners) if isinstance(x, dict) and x.get("name") in recorded), None)
    if at is None:
        _missing(ctx, index, gateway, item, listeners)
        return
    template = listeners[at]
    if not _serves_tls(ctx, item, template, ("HTTPS",)):
        return
    wanted = _domain_listeners(gateway, template, secrets)
    names = {x["name"] for x in wanted}
    replaced = recorded | names | {gateway.listener}
    existing = {x.get("name"): x for x in listeners if isinstance(x, dict) and x.get("name") in names}
    result: list[Any] = []
    placed = False
    for listener in listeners:
        if isinstance(listener, dict) and listener.get("name") in replaced:
            if not placed:
                result.extend(_merge(existing.get(w["name"]), w) for w in wanted)
                placed = True
            continue
        result.append(listener)
    where = ref_of(item).describe()
    if len(result) > MAX_LISTENERS:
        ctx.report(
            r.warning(
                f"{where} would have {len(result)} listeners in `mode: perDomain`, more than the {MAX_LISTENERS} "
                f"Gateway API allows; it was not changed; use `mode: shared` for `spec.gateways[{index}]`",
                resource=ref_of(item),
                field=f"spec.gateways[{index}].mode",
                file=item.path,
            )
        )
        return
    new["spec"]["listeners"] = result
    _annotate(new, LISTENERS_ANNOTATION, ",".join(x["name"] for x in wanted))
    ctx.replace(item, new, f"{where} has one HTTPS listener pair per domain ({', '.join(sorted(names))})")


def _domain_listeners(gateway: GatewaySpec, template: dict[str, Any], secrets: list[_Secret]) -> list[dict[str, Any]]:
    out = []
    for s in secrets:
        ref: dict[str, Any] = {"kind": "Secret", "name": s.name}
        if s.namespace != gateway.namespace:
            ref["namespace"] = s.namespace
        base = f"https-{s.domain.name.base}"
        hosts = [(f"{base}-apex", s.domain.name.text)]
        if s.domain.wildcard:
            hosts.insert(0, (base, f"*.{s.domain.name.text}"))
        for name, hostname in hosts:
            rest = {k: copy.deepcopy(v) for k, v in template.items() if k not in ("name", "hostname")}
            tls = rest["tls"] if isinstance(rest.get("tls"), dict) else {}
            rest.update(protocol="HTTPS", tls={**tls, "certificateRefs": [ref]})
            out.append({"name": name, "hostname": hostname, **rest})
    return out


def _merge(existing: Any, wanted: dict[str, Any]) -> dict[str, Any]:
    """Keep an existing generated listener's own edits; set what makes it that domain's."""
    if not isinstance(existing, dict):
        return wanted
    merged = copy.deepcopy(existing)
    tls = merged["tls"] if isinstance(merged.get("tls"), dict) else {}
    refs = wanted["tls"]["certificateRefs"]
    merged.update(hostname=wanted["hostname"], protocol="HTTPS", tls={**tls, "certificateRefs": refs})
    return merged
