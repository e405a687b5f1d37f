"""``mode: perDomain``: each domain's names on listeners of their own, each with only that domain's Secret.

A listener the user wrote for a domain keeps its name and keeps serving that domain: one whose
``hostname`` is the domain or ``*.<domain>``, or one without hostname that lists the domain's
Secret. Routes that name it (``sectionName: https``) need no edit. Every other attached domain
gets, from the template listener (``spec.gateways[].listener``), ``https-<base>`` for
``*.<domain>`` and ``https-<base>-apex`` for the apex. A template that serves no domain (no
hostname, no managed Secret) is only a template and is replaced by them.

Plain HTTP follows: when a redirect route (an HTTPRoute whose rules redirect to ``https``) is
attached to an HTTP listener whose hostname does not admit a generated listener's names,
``http-<base>`` / ``http-<base>-apex`` are generated from that listener, and the redirect
route gains a parent ref to each, so the new domain's ``http://`` names redirect like the first
one's. The listeners and parent refs krmfn added are recorded (``krmfn.dev/listeners`` on the
Gateway, ``krmfn.dev/parent-refs`` on the route): a removed domain loses them on the next run.

The helpers at the top are shared with :mod:`krmfn.concerns.gateways`.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass, field
from typing import Any

from krmfn.api.config import Domain, GatewaySpec
from krmfn.concerns.certificates import normalise_flux
from krmfn.concerns.routes import Route, gateway_of, read_routes
from krmfn.concerns.serving import admits, listed_secret
from krmfn.context import Context, ref_of
from krmfn.krm import results as r
from krmfn.krm.item import Item
from krmfn.krm.results import Result

MAX_LISTENERS = 64  # GatewaySpec.listeners MaxItems
LISTENERS_ANNOTATION = "krmfn.dev/listeners"
PARENT_REFS_ANNOTATION = "krmfn.dev/parent-refs"


@dataclass(frozen=True)
class Secret:
    """A domain's certificate Secret, as a listener must name it."""

    domain: Domain
    name: str
    namespace: str

    @property
    def key(self) -> str:
        return f"{self.namespace}/{self.name}"


@dataclass
class Patch:
    """A configured Gateway being patched: its entry, its item, its new data, why, what to say after."""

    index: int
    gateway: GatewaySpec
    item: Item
    new: dict[str, Any]
    why: list[str] = field(default_factory=list)
    after: list[Result] = field(default_factory=list)
    #: The HTTP listener redirect routes attach to, and the HTTP listeners generated beside it.
    http_template: str | None = None
    http_generated: list[str] = field(default_factory=list)


# --- shared helpers ----------------------------------------------------------------------


def listeners_of(ctx: Context, index: int, item: Item, patch: Patch) -> list[Any] | None:
    spec = patch.new.get("spec")
    found = spec.get("listeners") if isinstance(spec, dict) else None
    if not isinstance(found, list):
        ctx.report(
            r.error(
                f"{ref_of(item).describe()} must have `spec.listeners` for `spec.gateways[{index}]` to patch",
                resource=ref_of(item),
                file=item.path,
            )
        )
        return None
    return found


def find_listener(listeners: list[Any], name: str) -> int | None:
    return next((i for i, x in enumerate(listeners) if isinstance(x, dict) and x.get("name") == name), None)


def missing(ctx: Context, index: int, gateway: GatewaySpec, item: Item, listeners: list[Any]) -> None:
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


def serves_tls(ctx: Context, item: Item, listener: dict[str, Any], protocols: tuple[str, ...]) -> bool:
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


def recorded(item: Item, key: str) -> set[str]:
    value = item.annotation(key)
    return {part.strip() for part in value.split(",") if part.strip()} if value else set()


# --- listeners ---------------------------------------------------------------------------


def listeners(ctx: Context, patch: Patch, secrets: list[Secret]) -> bool:
    """Give every attached domain its listeners; False when the Gateway cannot be patched."""
    index, gateway, item = patch.index, patch.gateway, patch.item
    found = listeners_of(ctx, index, item, patch)
    if found is None:
        return False
    old = recorded(item, LISTENERS_ANNOTATION)
    at = find_listener(found, gateway.listener)
    if at is None:
        at = next((i for i, x in enumerate(found) if isinstance(x, dict) and x.get("name") in old), None)
    if at is None:
        missing(ctx, index, gateway, item, found)
        return False
    template = found[at]
    if not serves_tls(ctx, item, template, ("HTTPS",)):
        return False
    users = [x for x in found if isinstance(x, dict) and x.get("name") not in old]
    served = _served_by_users(users, secrets, gateway)
    https = _domain_listeners(gateway, template, [s for s in secrets if s.domain.name.text not in served])
    http_template = _http_template(ctx, gateway, users)
    http = _http_listeners(http_template, https) if http_template is not None else []
    wanted = https + http
    names = {x["name"] for x in wanted}
    drop = old | names
    if template.get("name") not in served.values():
        drop.add(str(template.get("name")))
    existing = {x.get("name"): x for x in found if isinstance(x, dict) and x.get("name") in names}
    result = _placed(found, drop, template, http_template, [_merge(existing.get(w["name"]), w) for w in wanted])
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
        return False
    added_refs = _ensure_refs(result, served, secrets, gateway)
    patch.new["spec"]["listeners"] = result
    metadata = patch.new.setdefault("metadata", {})
    if not isinstance(metadata.get("annotations"), dict):
        metadata["annotations"] = {}
    if wanted:
        metadata["annotations"][LISTENERS_ANNOTATION] = ",".join(x["name"] for x in wanted)
    else:
        metadata["annotations"].pop(LISTENERS_ANNOTATION, None)
        if not metadata["annotations"]:
            metadata.pop("annotations")
    if http_template is not None:
        patch.http_template = str(http_template.get("name"))
        patch.http_generated = [x["name"] for x in http]
    kept = ", ".join(f"{name!r} ({domain})" for domain, name in served.items())
    parts = []
    if wanted:
        parts.append(f"{where} has listeners of their own for each domain ({', '.join(x['name'] for x in wanted)})")
    if kept:
        parts.append(f"its listener(s) {kept} keep serving the domain they served")
    if added_refs:
        parts.append(f"listing the Secret of {', '.join(added_refs)}")
    patch.why.append("; ".join(parts) or f"{where} has no listeners generated by MultiDomain any more")
    return True


def _served_by_users(users: list[dict[str, Any]], secrets: list[Secret], gateway: GatewaySpec) -> dict[str, str]:
    """Domain → the user's HTTPS listener serving it already: its hostname is the domain, or it lists the Secret."""
    out: dict[str, str] = {}
    for s in secrets:
        own = {f"*.{s.domain.name.text}".lower(), s.domain.name.text.lower()}
        for x in users:
            if x.get("protocol") not in ("HTTPS", "TLS"):
                continue
            hostname = x.get("hostname")
            if isinstance(hostname, str):
                if hostname.lower() in own:
                    out[s.domain.name.text] = str(x.get("name"))
                    break
                continue
            refs = _refs(x)
            if normalise_flux(s.key) in {listed_secret(ref, gateway.namespace or "") for ref in refs}:
                out[s.domain.name.text] = str(x.get("name"))
                break
    return out


def _ensure_refs(result: list[Any], served: dict[str, str], secrets: list[Secret], gateway: GatewaySpec) -> list[str]:
    """A user's listener for a domain lists that domain's Secret (first), keeping its other refs."""
    added = []
    by_domain = {s.domain.name.text: s for s in secrets}
    for domain, name in served.items():
        s = by_domain[domain]
        listener = next(x for x in result if isinstance(x, dict) and x.get("name") == name)
        refs = _refs(listener)
        tls = listener.setdefault("tls", {})
        if normalise_flux(s.key) in {listed_secret(ref, gateway.namespace or "") for ref in refs}:
            continue
        ref: dict[str, Any] = {"kind": "Secret", "name": s.name}
        if s.namespace != gateway.namespace:
            ref["namespace"] = s.namespace
        tls["certificateRefs"] = [ref, *refs]
        added.append(domain)
    return added


def _refs(listener: dict[str, Any]) -> list[Any]:
    tls = listener.get("tls")
    refs = tls.get("certificateRefs") if isinstance(tls, dict) else None
    return refs if isinstance(refs, list) else []


def _domain_listeners(gateway: GatewaySpec, template: dict[str, Any], secrets: list[Secret]) -> list[dict[str, Any]]:
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


def _http_listeners(template: dict[str, Any], https: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """An HTTP listener beside each generated HTTPS one whose names the HTTP template does not admit."""
    pattern = template.get("hostname") if isinstance(template.get("hostname"), str) else None
    rest = {k: copy.deepcopy(v) for k, v in template.items() if k not in ("name", "hostname")}
    out = []
    for listener in https:
        if admits(pattern, listener["hostname"]):
            continue
        name = "http" + listener["name"].removeprefix("https")
        out.append({"name": name, "hostname": listener["hostname"], **copy.deepcopy(rest)})
    return out


def _placed(
    found: list[Any],
    drop: set[str],
    template: dict[str, Any],
    http_template: dict[str, Any] | None,
    wanted: list[dict[str, Any]],
) -> list[Any]:
    """The listeners with *drop* taken out and *wanted* in: where the dropped ones were, else after their template."""
    https = [x for x in wanted if x.get("protocol") != "HTTP"]
    http = [x for x in wanted if x.get("protocol") == "HTTP"]
    result: list[Any] = []
    for listener in found:
        name = listener.get("name") if isinstance(listener, dict) else None
        is_http = isinstance(listener, dict) and listener.get("protocol") == "HTTP"
        if name in drop:
            if is_http:
                result.extend(http)
                http = []
            else:
                result.extend(https)
                https = []
            continue
        result.append(listener)
        if listener is template:
            result.extend(https)
            https = []
        if listener is http_template:
            result.extend(http)
            http = []
    return result + https + http


def _merge(existing: Any, wanted: dict[str, Any]) -> dict[str, Any]:
    """Keep an existing generated listener's own edits; set what makes it that domain's."""
    if not isinstance(existing, dict):
        return wanted
    merged = copy.deepcopy(existing)
    merged.update(hostname=wanted["hostname"], protocol=wanted["protocol"])
    if "tls" in wanted:
        tls = merged["tls"] if isinstance(merged.get("tls"), dict) else {}
        merged["tls"] = {**tls, "certificateRefs": wanted["tls"]["certificateRefs"]}
    return merged


# --- redirect routes ---------------------------------------------------------------------


def is_redirect(route: Route) -> bool:
    """An HTTPRoute whose every rule redirects to ``https`` (the plain-HTTP listener's route)."""
    spec = route.item.data.get("spec")
    rules = spec.get("rules") if isinstance(spec, dict) else None
    if route.kind != "HTTPRoute" or not isinstance(rules, list) or not rules:
        return False
    for rule in rules:
        filters = rule.get("filters") if isinstance(rule, dict) else None
        redirects = [
            f
            for f in filters or []
            if isinstance(f, dict)
            and f.get("type") == "RequestRedirect"
            and isinstance(f.get("requestRedirect"), dict)
            and f["requestRedirect"].get("scheme") == "https"
        ]
        if not redirects:
            return False
    return True


def _redirects(ctx: Context, gateway: GatewaySpec) -> list[tuple[Route, int, str | None]]:
    """Redirect routes attached to *gateway*: (route, parent ref index, its sectionName)."""
    out = []
    for route in read_routes(ctx):
        if not is_redirect(route):
            continue
        for parent in route.parents:
            found = gateway_of(ctx.config, parent)
            if found is not None and (found[1].name, found[1].namespace) == (gateway.name, gateway.namespace):
                out.append((route, parent.index, parent.section))
    return out


def _http_template(ctx: Context, gateway: GatewaySpec, users: list[dict[str, Any]]) -> dict[str, Any] | None:
    """The user's HTTP listener a redirect route of this gateway is attached to, if any."""
    http = [x for x in users if x.get("protocol") == "HTTP"]
    for _, _, section in _redirects(ctx, gateway):
        chosen = next((x for x in http if section is None or x.get("name") == section), None)
        if chosen is not None:
            return chosen
    return None


def attach_redirects(ctx: Context, gateway: GatewaySpec, patch: Patch) -> None:
    """Each redirect route on the HTTP template gains a parent ref to every generated HTTP listener."""
    mark = f"{gateway.namespace}/{gateway.name}/"
    routes: dict[int, tuple[Route, list[tuple[int, str | None]]]] = {}
    for route, index, section in _redirects(ctx, gateway):
        routes.setdefault(id(route.item), (route, []))[1].append((index, section))
    for route, parents in routes.values():
        earlier = {m for m in recorded(route.item, PARENT_REFS_ANNOTATION) if m.startswith(mark)}
        at = next((i for i, section in parents if section is not None and section == patch.http_template), None)
        if at is None and not earlier:
            continue
        wanted = patch.http_generated if at is not None else []
        _set_parent_refs(
            ctx, route, at=parents[0][0] if at is None else at, mark=mark, sections=wanted, earlier=earlier
        )


def _set_parent_refs(ctx: Context, route: Route, *, at: int, mark: str, sections: list[str], earlier: set[str]) -> None:
    """The route's parent refs to the gateway *mark* (``namespace/name/``) that krmfn added (*earlier*)
    become one per listener of *sections*, each a copy of parent ref *at* with its ``sectionName``.
    """
    new = copy.deepcopy(route.item.data)
    refs = new["spec"]["parentRefs"]
    gateway = mark.split("/")[1]
    wanted = {mark + s for s in sections}

    def key(ref: Any) -> str | None:
        return mark + str(ref.get("sectionName")) if isinstance(ref, dict) and ref.get("name") == gateway else None

    kept = [ref for ref in refs if key(ref) not in earlier or key(ref) in wanted]
    present = {key(ref) for ref in kept}
    kept.extend({**copy.deepcopy(refs[at]), "sectionName": s} for s in sections if mark + s not in present)
    if kept == refs:
        return
    new["spec"]["parentRefs"] = kept
    marks = sorted({m for m in recorded(route.item, PARENT_REFS_ANNOTATION) if not m.startswith(mark)} | wanted)
    annotations = new.setdefault("metadata", {}).setdefault("annotations", {})
    if marks:
        annotations[PARENT_REFS_ANNOTATION] = ",".join(marks)
    else:
        annotations.pop(PARENT_REFS_ANNOTATION, None)
    ctx.replace(
        route.item,
        new,
        f"it redirects every plain-HTTP listener of Gateway {mark.rstrip('/')} to https, including those "
        f"MultiDomain generated per domain ({', '.join(sections) or 'none now'})",
    )
