"""cloudflared's ingress rules for every tunnel domain (SPEC §7).

cloudflared's ``config.yaml`` lives as a string in the input: a ConfigMap key, or a bjw-s
app-template HelmRelease's ``spec.values.configMaps.<name>.data."config.yaml"`` (the
cluster-template layout, domain-facts §4.5), or the same key of a local chart's values file
(``HelmValues``: khuedoan/homelab's ``system/cloudflared/values.yaml``, under ``app-template``).
The string is YAML inside YAML: it is parsed, its ``ingress`` list is planned by
:mod:`krmfn.concerns.tunnelrules`, and the inner text is edited with
:func:`~krmfn.krm.yamledit.update_text` so that the user's comments and rules survive; the outer
edit then replaces only that string.

Helm ``tpl`` expressions such as ``{{ .Release.Namespace }}`` and Flux variables are text to
this module: they are compared and written back as they are.

Origin server names: cloudflared sends a rule's ``originServerName`` as SNI and checks the
gateway's certificate against it. The SNI picks the gateway's listener, and that listener must
admit the rule's hosts (:mod:`krmfn.concerns.serving`), so each managed rule gets the first of
these that the tunnel's gateway serves, as patched by the gateways concern: the gateway's DNS
target for the domain (``external.<domain>``), then, for the apex rule, the apex itself (with
one listener per domain name, ``external.<domain>`` reaches the ``*.`` listener, which does
not answer for the apex). None is written when the gateway serves neither; a warning says so.
When the tunnel's gateway is not in the config or the input, the DNS target is written as
before, unless ``originRequest.noTLSVerify`` is set: then nothing checks the name, and none is
invented.
"""

from __future__ import annotations

import copy
import re
from collections.abc import Callable
from typing import Any
from urllib.parse import urlsplit

from krmfn.api.config import HELM_VALUES, Config, Domain, GatewaySpec, TunnelSpec
from krmfn.api.names import DomainName, expand_template, parse_domain
from krmfn.concerns.certificates import dns_names
from krmfn.concerns.chartvalues import (
    chart_of,
    file_chart,
    nested_right,
    path_of,
    target_installation,
    values_of,
    warn_unless_upstream,
)
from krmfn.concerns.serving import Serving
from krmfn.concerns.tunnelrules import ManagedDomain, hostname, nested_first, plan, stay_in_place
from krmfn.context import Context, resource_of, subject
from krmfn.errors import InputError
from krmfn.krm import results as r
from krmfn.krm.item import Item
from krmfn.krm.yamledit import same, update_text
from krmfn.krm.yamltext import load

#: The kinds whose cloudflared config sits in app-template values.
CHARTS = ("HelmRelease", HELM_VALUES)
#: The chart whose `configMaps` values hold cloudflared's config (bjw-s app-template).
UPSTREAM = ("app-template",)
#: The origin server name when the tunnel's gateway has no DNS target: the template's.
DEFAULT_TARGET = "external.{domain}"


def config_path(spec: TunnelSpec) -> list[str]:
    """Where cloudflared's ``config.yaml`` string is inside the resource (or values file)."""
    if spec.kind in CHARTS:
        top = [] if spec.kind == HELM_VALUES else ["spec", "values"]
        return [*top, *path_of(spec.values_path), "configMaps", spec.config_map, "data", spec.key]
    return ["data", spec.key]


def cloudflared_configs(kind: str, data: dict[str, Any]) -> list[tuple[str | None, str, dict[str, Any]]]:
    """Every cloudflared ``config.yaml`` a ConfigMap or app-template HelmRelease holds where
    :func:`config_path` looks: (``configMaps`` entry or None, data key, the parsed config) for
    each string that reads as a mapping with an ``ingress`` list."""
    if kind == "HelmRelease":
        spec = data.get("spec")
        return chart_configs(spec.get("values") if isinstance(spec, dict) else None)
    return _parsed([(None, data.get("data"))])


def chart_configs(values: Any) -> list[tuple[str | None, str, dict[str, Any]]]:
    """:func:`cloudflared_configs` of app-template *values* (a release's, or a values file's subchart key)."""
    maps = values.get("configMaps") if isinstance(values, dict) else None
    return _parsed(
        [(str(name), entry.get("data") if isinstance(entry, dict) else None) for name, entry in maps.items()]
        if isinstance(maps, dict)
        else []
    )


def _parsed(places: list[tuple[str | None, Any]]) -> list[tuple[str | None, str, dict[str, Any]]]:
    found = []
    for config_map, holder in places:
        for key, text in holder.items() if isinstance(holder, dict) else []:
            if not isinstance(text, str) or "ingress" not in text:
                continue
            try:
                inner = load(text, f"data.{key}")
            except InputError:
                continue
            if isinstance(inner, dict) and isinstance(inner.get("ingress"), list):
                found.append((config_map, str(key), inner))
    return found


def field_of(path: list[str]) -> str:
    return ".".join(f'"{p}"' if "." in p else p for p in path)


def tunnel_gateway(config: Config) -> GatewaySpec | None:
    """The ``spec.gateways`` entry the tunnel's service reaches, or None if none is named so."""
    spec = config.spec.tunnel
    assert spec is not None
    if spec.gateway is not None:
        return next((g for g in config.spec.gateways if g.name == spec.gateway), None)
    host = urlsplit(re.sub(r"\{\{.*?\}\}", "tpl", spec.service)).hostname or ""
    labels = host.split(".")
    candidates = [g for g in config.spec.gateways if g.name == labels[0]]
    if len(candidates) > 1:
        candidates = [g for g in candidates if len(labels) > 1 and g.namespace == labels[1]] or candidates
    return candidates[0] if candidates else None


def target_template(gateway: GatewaySpec | None) -> str:
    if gateway is not None and gateway.dns is not None and gateway.dns.target:
        return gateway.dns.target
    return DEFAULT_TARGET


def managed_rules(
    spec: TunnelSpec, domain: DomainName, apex_sni: str | None, wildcard_sni: str | None
) -> ManagedDomain:
    """A domain's two rules, each with its origin server name (None: none written)."""

    def rule(host: str, sni: str | None) -> dict[str, Any]:
        origin = copy.deepcopy(spec.origin_request)
        if sni is not None:
            origin["originServerName"] = sni
        out: dict[str, Any] = {"hostname": host}
        if origin:
            out["originRequest"] = origin
        out["service"] = spec.service
        return out

    return ManagedDomain(
        name=domain.text, apex=rule(domain.text, apex_sni), wildcard=rule(f"*.{domain.text}", wildcard_sni)
    )


def owned_by_template(template: str, service: str | None = None) -> Callable[[dict[str, Any]], bool]:
    """A rule krmfn wrote: hostname ``X`` or ``*.X``, no path, ``originServerName`` = X's target
    (or, sent to *service*, the rule's own hostname: an apex served by a listener of its own).
    """

    def owned(rule: dict[str, Any]) -> bool:
        host = hostname(rule)
        origin = rule.get("originRequest")
        if not host or "path" in rule or not isinstance(origin, dict):
            return False
        try:
            name = parse_domain(host.removeprefix("*."))
        except ValueError:
            return False
        sni = origin.get("originServerName")
        if sni == expand_template(template, name):
            return True
        return service is not None and rule.get("service") == service and sni == host

    return owned


def reconcile(ctx: Context) -> None:
    """Keep the tunnel's ingress rules in step with the tunnel domains."""
    spec = ctx.config.spec.tunnel
    if spec is None:
        return
    domains = [d for d in ctx.config.domains if d.tunnel]
    if spec.kind == "ConfigMap" and "{{" in spec.service:
        ctx.report(
            r.warning(
                f"`spec.tunnel.service` {spec.service!r} must not use Helm template syntax with a ConfigMap: "
                "nothing renders it, and cloudflared would get it as written",
                field="spec.tunnel.service",
                resource=ctx.config_ref,
            )
        )
    gateway, warned = _check_gateway(ctx, spec, domains)
    item = target_installation(ctx, spec, "spec.tunnel")
    if item is None:
        return
    names = nested_first([d.name.text for d in domains], lambda a, b: a.endswith("." + b))
    by_text = {d.name.text: d for d in domains}
    chooser = OriginNames(ctx, spec, gateway)
    managed = [chooser.rules(by_text[n]) for n in names]
    left = _update(ctx, item, spec, managed, owned_by_template(target_template(gateway), spec.service))
    if left is not None:
        chooser.report_unserved(warned | left)


class OriginNames:
    """Chooses each managed rule's origin server name from what the tunnel's gateway serves."""

    def __init__(self, ctx: Context, spec: TunnelSpec, gateway: GatewaySpec | None) -> None:
        self.ctx, self.spec, self.gateway = ctx, spec, gateway
        self.template = target_template(gateway)
        self.serving = Serving.from_context(ctx) if gateway is not None and gateway.kind == "Gateway" else None
        self.known = self.serving is not None and gateway is not None and bool(self.serving.listeners(gateway))
        self.verified = spec.origin_request.get("noTLSVerify") is not True
        #: Rules no listener serves: (domain, rule hostname, the names tried).
        self.unserved: list[tuple[Domain, str, list[str]]] = []

    def rules(self, domain: Domain) -> ManagedDomain:
        target = expand_template(self.template, domain.name)
        apex = self.choose(domain, domain.name.text, [target, domain.name.text])
        wildcard = self.choose(domain, f"*.{domain.name.text}", [target])
        return managed_rules(self.spec, domain.name, apex, wildcard)

    def choose(self, domain: Domain, host: str, candidates: list[str]) -> str | None:
        if not self.known:
            # Nothing to ask: the DNS target, as the template writes it, unless nothing checks it.
            return candidates[0] if self.verified else None
        assert self.serving is not None
        assert self.gateway is not None
        for sni in dict.fromkeys(candidates):
            if self.serving.serves(self.gateway, host, sni=sni, strict=False, verified=self.verified):
                return sni
        self.unserved.append((domain, host, list(dict.fromkeys(candidates))))
        return None

    def report_unserved(self, skip: set[str]) -> None:
        """Warn for rules that got no origin server name, except domains or hostnames in *skip*."""
        for domain, host, tried in self.unserved:
            if domain.name.text in skip or host.lower() in skip or self.gateway is None:
                continue
            self.ctx.report(
                r.warning(
                    f"tunnel rule for {host} gets no `originServerName`: no listener of Gateway "
                    f"{self.gateway.namespace}/{self.gateway.name} answers for {host} when reached with SNI "
                    f"{' or '.join(map(repr, tried))} (a listener's `hostname` must admit the name and its "
                    "certificates must hold the SNI); requests for it would fail at the gateway (404 or a TLS "
                    f"error); attach {domain.name.text!r} to the gateway or give it a listener that admits it",
                    field=f"{domain.field}.gateways",
                    resource=self.ctx.config_ref,
                )
            )


def _check_gateway(ctx: Context, spec: TunnelSpec, domains: list[Domain]) -> tuple[GatewaySpec | None, set[str]]:
    """The tunnel's gateway, and the tunnel domains warned about because it does not serve their certificate."""
    gateway = tunnel_gateway(ctx.config)
    warned: set[str] = set()
    if gateway is None:
        if spec.gateway is not None:
            ctx.report(
                r.error(
                    f"`spec.tunnel.gateway` must name an entry of `spec.gateways`; {spec.gateway!r} is not one",
                    field="spec.tunnel.gateway",
                    resource=ctx.config_ref,
                )
            )
        elif any(g.kind == "Gateway" for g in ctx.config.spec.gateways):
            ctx.report(
                r.warning(
                    f"`spec.tunnel.service` {spec.service!r} must reach a gateway of `spec.gateways` (its host's "
                    "first label is the gateway's name) or `spec.tunnel.gateway` must name one; without it the "
                    f"origin server names follow {DEFAULT_TARGET!r} and certificates on that gateway are not checked",
                    field="spec.tunnel.service",
                    resource=ctx.config_ref,
                )
            )
        return None, warned
    template = target_template(gateway)
    for domain in domains:
        if gateway.name not in domain.gateways:
            ctx.report(
                r.warning(
                    f"tunnel domain {domain.name} must have its certificate on gateway {gateway.name}, which the "
                    f"tunnel's service reaches; add {gateway.name!r} to `{domain.field}.gateways`, or its requests "
                    "fail the TLS handshake with the gateway",
                    field=f"{domain.field}.gateways",
                    resource=ctx.config_ref,
                )
            )
            warned.add(domain.name.text)
            continue
        target = expand_template(template, domain.name)
        if not any(_cert_covers(name, target) for name in dns_names(domain)):
            ctx.report(
                r.warning(
                    f"tunnel domain {domain.name} sends the origin server name {target!r}, which its certificate "
                    f"({', '.join(dns_names(domain))}) does not cover, so cloudflared fails to verify gateway "
                    f"{gateway.name} (502); keep `wildcard: true` or add {target!r} to `{domain.field}.extraDNSNames`",
                    field=domain.field,
                    resource=ctx.config_ref,
                )
            )
            warned.add(domain.name.text)
    return gateway, warned


def _cert_covers(name: str, host: str) -> bool:
    """TLS name matching: a wildcard covers exactly one label."""
    if name.startswith("*."):
        head, _, rest = host.partition(".")
        return bool(head) and rest == name[2:]
    return name == host


def _update(
    ctx: Context, item: Item, spec: TunnelSpec, managed: list[ManagedDomain], is_owned: Callable[[dict[str, Any]], bool]
) -> set[str] | None:
    """Patch the rules; the managed hostnames left as the user wrote them (None: not planned)."""
    path = config_path(spec)
    where = field_of(path)
    data = item.value if spec.kind == HELM_VALUES else item.data
    if spec.kind in CHARTS:
        values, field = values_of(data, spec.kind)
        if values is not None and not nested_right(
            ctx, item, values, values_path=spec.values_path, key="configMaps", where="spec.tunnel", field=field
        ):
            return None
        chart = file_chart(ctx, item) if spec.kind == HELM_VALUES else chart_of(ctx, item)
        warn_unless_upstream(ctx, item, chart, UPSTREAM, values_path=spec.values_path, where="spec.tunnel")
    node: Any = data
    for part in path:
        node = node.get(part) if isinstance(node, dict) else None
    if not isinstance(node, str):
        ctx.report(
            r.error(
                f"{subject(item)} must hold cloudflared's config as a string at `{where}`; set "
                + ("`spec.tunnel.configMap` and " if spec.kind in CHARTS else "")
                + "`spec.tunnel.key` if it is elsewhere",
                resource=resource_of(item),
                field=where,
                file=item.path,
            )
        )
        return None
    text = node
    try:
        inner = load(text, f"the cloudflared config at `{where}`")
    except InputError as exc:
        ctx.report(
            r.error(
                f"{subject(item)}: {exc} (Helm template syntax is only supported inside values, "
                "e.g. `service: https://svc.{{ .Release.Namespace }}.svc:443`)",
                resource=resource_of(item),
                field=where,
                file=item.path,
            )
        )
        return None
    if inner is None:
        inner = {}
    ingress = inner.get("ingress") if isinstance(inner, dict) else None
    if not isinstance(inner, dict) or not isinstance(ingress, list | None):
        ctx.report(
            r.error(
                f"the cloudflared config at `{where}` must be a mapping whose `ingress` is a list of rules",
                resource=resource_of(item),
                field=where,
                file=item.path,
            )
        )
        return None
    defaults = inner.get("originRequest")
    result = plan(ingress or [], managed, is_owned, spec.catch_all, defaults if isinstance(defaults, dict) else None)
    for message in result.errors:
        ctx.report(r.error(f"tunnel rule {message}", resource=resource_of(item), field=where, file=item.path))
    if result.errors:
        return None
    for message in result.warnings:
        ctx.report(r.warning(f"tunnel rule {message}", resource=resource_of(item), field=where, file=item.path))
    for message in result.infos:
        ctx.report(r.info(f"tunnel rule {message}", resource=resource_of(item), field=where, file=item.path))
    if ingress is not None and same(result.rules, ingress):
        return result.left_as_written
    what = f"the cloudflared config at `{where}`"
    if ingress:
        # Rules that must move are taken out first, so that the rules around them keep their lines.
        staying = [ingress[i] for i in stay_in_place(result.origins, result.user_rules.__contains__)]
        if staying and len(staying) < len(ingress):
            text = update_text(text, {**inner, "ingress": staying}, what)
    new_text = _same_ending(node, update_text(text, {**inner, "ingress": result.rules}, what))
    new = copy.deepcopy(data)
    holder = new
    for part in path[:-1]:
        holder = holder[part]
    holder[path[-1]] = new_text
    ctx.replace(item, new, _why(result.added, result.updated, result.removed))
    return result.left_as_written


def _same_ending(old: str, new: str) -> str:
    """Keep the trailing newlines of the old text, which decide `|`, `|-` or `|+` outside."""
    if not old:
        return new
    ending = old[len(old.rstrip("\n")) :]
    return new.rstrip("\n") + ending


def _why(added: list[str], updated: list[str], removed: list[str]) -> str:
    parts = []
    if added:
        parts.append("added tunnel rules for " + ", ".join(added))
    if updated:
        parts.append("updated tunnel rules for " + ", ".join(updated))
    if removed:
        parts.append("removed tunnel rules for " + ", ".join(removed) + " (no longer tunnel domains)")
    return "; ".join(parts) or "reordered tunnel rules (nested domains first, catch-all last)"
