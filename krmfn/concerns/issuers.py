"""cert-manager issuers whose DNS-01 solvers must cover every zone (SPEC §3).

A Certificate for a second zone never issues unless some DNS-01 solver's
``selector.dnsZones`` covers it: cert-manager then reports "no configured challenge
solvers can be used for this challenge" days later. For every issuer in ``spec.issuers``
this module sets each DNS-01 solver's ``dnsZones`` to exactly the zones it serves, or
generates the issuer when it is absent and ``acme`` is given. It then replays
cert-manager's solver choice (``pkg/util/solverpicker``) for every name of every generated
Certificate and reports each name no solver would take.

Solvers that select by ``dnsNames`` or ``matchLabels`` are special-purpose and are never
changed; HTTP-01 solvers and every other field are left as they are.
"""

from __future__ import annotations

import copy
from collections.abc import Mapping, Sequence
from collections.abc import Set as AbstractSet
from dataclasses import dataclass, field
from typing import Any

from krmfn.api.config import DNS01_PROVIDERS, Config, Domain, IssuerSpec
from krmfn.concerns import removedzones
from krmfn.context import Context, ref_of
from krmfn.krm import results as r
from krmfn.krm.results import ResourceRef

GROUP = "cert-manager.io"
API_VERSION = "cert-manager.io/v1"
FILE = "issuers.yaml"
#: Let's Encrypt's ACME directories (cert-manager docs, configuration/acme).
SERVERS = {
    "production": "https://acme-v02.api.letsencrypt.org/directory",
    "staging": "https://acme-staging-v02.api.letsencrypt.org/directory",
}
NO_SOLVER = "no configured challenge solvers can be used for this challenge"


@dataclass
class _Plan:
    """Which zones each solver of one issuer serves."""

    zones: dict[int, list[str]] = field(default_factory=dict)
    failed: bool = False

    def add(self, index: int, zone: str) -> None:
        self.zones.setdefault(index, []).append(zone)  # domain names are unique (config validation)


def reconcile(ctx: Context) -> None:
    """Patch or generate every issuer of ``spec.issuers``, then check every Certificate's names."""
    config = ctx.config
    kind = config.issuer_kind
    namespace = config.certificate_namespace if kind == "Issuer" else None
    failed: set[str] = set()
    _check_solver_choices(ctx)
    seen: set[str] = set()
    for i, spec in enumerate(config.spec.issuers):
        where = f"spec.issuers[{i}]"
        if spec.name in seen:
            message = f"`{where}.name` must not repeat issuer {spec.name!r}"
            ctx.report(r.error(message, field=f"{where}.name", resource=ctx.config_ref))
            continue
        seen.add(spec.name)
        domains = served_domains(config, spec.name)
        if spec.acme is not None and not ctx.find(kind, spec.name, namespace, GROUP):
            ok = _generate(ctx, spec, kind=kind, namespace=namespace, domains=domains, where=where)
        else:
            item = ctx.target(kind, spec.name, namespace, where, group=GROUP)
            ok = item is None or _patch(ctx, item, domains)
        if not ok:
            failed.add(spec.name)
    check_certificates(ctx, skip=failed)


def served_domains(config: Config, issuer: str) -> list[Domain]:
    """The domains whose Certificates use *issuer*, in config order.

    An issuer no domain uses (a staging twin, say) serves every zone, so that switching
    ``issuerRef`` to it works at once.
    """
    ordered = sorted(config.domains, key=lambda d: d.index)
    return [d for d in ordered if d.issuer == issuer] or ordered


def _check_solver_choices(ctx: Context) -> None:
    listed = {spec.name for spec in ctx.config.spec.issuers}
    for domain in ctx.config.domains:
        if _choice(ctx.config, domain) is not None and domain.issuer not in listed:
            ctx.report(
                r.error(
                    f"`{domain.field}.solver` must only be set when the domain's issuer {domain.issuer!r} is in "
                    "`spec.issuers`; it is not",
                    field=f"{domain.field}.solver",
                    resource=ctx.config_ref,
                )
            )


def _choice(config: Config, domain: Domain, issuer: str | None = None) -> int | str | None:
    """The domain's solver choice; it applies only to its own issuer, not to a spare that serves it too."""
    if issuer is not None and domain.issuer != issuer:
        return None
    return config.spec.domains[domain.index].solver


# --- zones per solver ----------------------------------------------------------------


def zone_key(zone: str) -> str:
    """Zones compare without case and trailing dot; a Flux variable's name keeps its case."""
    return zone if "$" in zone else zone.lower().rstrip(".")


def provider_of(solver: Mapping[str, Any]) -> str | None:
    """The provider key of a DNS-01 solver (see :func:`zone_solver`)."""
    return next((key for key in solver["dns01"] if key in DNS01_PROVIDERS), None)


def listed_zones(solver: Mapping[str, Any]) -> list[str] | None:
    selector = solver.get("selector")
    zones = selector.get("dnsZones") if isinstance(selector, dict) else None
    return [str(z) for z in zones] if isinstance(zones, list) else None


def zone_solver(solver: Any) -> bool:
    """A DNS-01 solver this module may give zones: it selects by nothing but ``dnsZones``."""
    if not isinstance(solver, dict) or not isinstance(solver.get("dns01"), dict):
        return False
    selector = solver.get("selector")
    if selector is None:
        return True
    return isinstance(selector, dict) and not selector.get("dnsNames") and not selector.get("matchLabels")


def _plan(ctx: Context, what: str, solvers: Sequence[Any], domains: Sequence[Domain], issuer: str) -> _Plan:
    """Give each domain's zone to one solver; report (and mark the plan failed) when none fits."""
    plan = _Plan()
    eligible = [i for i, s in enumerate(solvers) if zone_solver(s)]
    keys = {i: {zone_key(z) for z in listed_zones(solvers[i]) or []} for i in eligible}
    primary = zone_key(ctx.config.domains[0].name.text)
    primary_solver = next((i for i in eligible if primary in keys[i]), None)
    default = primary_solver if primary_solver is not None else (eligible[0] if len(eligible) == 1 else None)
    for domain in domains:
        zone = domain.name.text
        choice = _choice(ctx.config, domain, issuer)
        if choice is not None:
            index = _resolve_choice(ctx, what, solvers, eligible, domain=domain, choice=choice)
        else:
            already = [i for i in eligible if zone_key(zone) in keys[i]]
            index = (primary_solver if primary_solver in already else already[0]) if already else default
            if index is None:
                _no_default(ctx, what, len(eligible), domain)
        if index is None:
            plan.failed = True
            continue
        plan.add(index, zone)
    return plan


def _resolve_choice(
    ctx: Context, what: str, solvers: Sequence[Any], eligible: list[int], *, domain: Domain, choice: int | str
) -> int | None:
    where = f"{domain.field}.solver"
    if isinstance(choice, int):
        if choice in eligible:
            return choice
        why = (
            f"it has {len(solvers)} solver(s)"
            if choice >= len(solvers)
            else "that one is not a DNS-01 solver selecting by `dnsZones` only"
        )
        message = f"`{where}` must be the index of a DNS-01 solver of {what}; {choice} is not ({why})"
    else:
        matches = [i for i in eligible if provider_of(solvers[i]) == choice]
        if len(matches) == 1:
            return matches[0]
        message = (
            f"`{where}` must name a provider of exactly one DNS-01 solver of {what}; "
            f"{choice!r} is the provider of {len(matches)} (write the solver's index instead)"
        )
    ctx.report(r.error(message, field=where, resource=ctx.config_ref))
    return None


def _no_default(ctx: Context, what: str, eligible: int, domain: Domain) -> None:
    if eligible == 0:
        message = (
            f"{what} must have a DNS-01 solver that selects by `dnsZones` only (or none at all) to serve "
            f"{domain.name}; it has none"
        )
    else:
        message = (
            f"{what} has {eligible} DNS-01 solvers and none lists the primary zone "
            f"{ctx.config.domains[0].name}, so {domain.name} has no default; set `{domain.field}.solver`"
        )
    ctx.report(r.error(message, field=f"{domain.field}.solver", resource=ctx.config_ref))


# --- patching an issuer from the input -----------------------------------------------


def _patch(ctx: Context, item: Any, domains: Sequence[Domain]) -> bool:
    ref = ref_of(item)
    what = ref.describe()
    spec = item.data.get("spec")
    acme = spec.get("acme") if isinstance(spec, dict) else None
    solvers = acme.get("solvers") if isinstance(acme, dict) else None
    if not isinstance(solvers, list):
        ctx.report(
            r.error(
                f"{what} must be an ACME issuer with `spec.acme.solvers` for its DNS-01 solvers to list zones; "
                "it is not",
                resource=ref,
                field="spec.acme.solvers",
                file=item.path,
            )
        )
        return False
    plan = _plan(ctx, what, solvers, domains, ref.name)
    if plan.failed:
        return False
    new = copy.deepcopy(item.data)
    new_solvers = new["spec"]["acme"]["solvers"]
    elsewhere = {zone_key(z) for zones in plan.zones.values() for z in zones}
    for i, solver in enumerate(new_solvers):
        if not zone_solver(solver):
            continue
        current = listed_zones(solver)
        wanted = plan.zones.get(i, [])
        if not wanted:
            if current and all(zone_key(z) in elsewhere for z in current):
                ctx.report(
                    r.warning(
                        f"{what}: `spec.acme.solvers[{i}]` lists only zones now served by another solver "
                        f"({', '.join(current)}); it is left as it is, because an empty `dnsZones` would match every "
                        "name: remove the solver or give a domain to it with `spec.domains[].solver`",
                        resource=ref,
                        field=f"spec.acme.solvers[{i}].selector.dnsZones",
                        file=item.path,
                    )
                )
                continue
            wanted = [z for z in current or [] if zone_key(z) not in elsewhere]
            if not wanted:
                continue
        else:
            dropped = [z for z in current or [] if zone_key(z) not in elsewhere]
            needed = _still_needed(ctx, ref, dropped)
            if needed:
                wanted = wanted + [z for z in dropped if z in needed]
                dropped = [z for z in dropped if z not in needed]
                ctx.report(
                    r.warning(
                        f"{what}: kept zone(s) {', '.join(needed)} in `spec.acme.solvers[{i}].selector.dnsZones` "
                        f"although MultiDomain {ctx.config.name} does not serve them: "
                        + "; ".join(f"{cert} needs {zone}" for zone, certs in needed.items() for cert in certs)
                        + "; add them to `spec.domains`, or change those Certificates, to let krmfn manage them",
                        resource=ref,
                        field=f"spec.acme.solvers[{i}].selector.dnsZones",
                        file=item.path,
                    )
                )
            removedzones.warn(
                ctx,
                item,
                dropped,
                f"spec.acme.solvers[{i}].selector.dnsZones",
                scope="with this issuer",
                keep="add them to `spec.domains` if Certificates still need them",
            )
        if current != wanted:
            selector = solver.get("selector")
            if isinstance(selector, dict):
                selector["dnsZones"] = wanted
            else:
                solver["selector"] = {"dnsZones": wanted}
    summary = zones_summary(new_solvers)
    if new == item.data:
        ctx.report(r.info(f"{what} serves {summary}", resource=ref, file=item.path))
    elif not ctx.replace(item, new, f"set the DNS-01 solvers' `selector.dnsZones`; it serves {summary}"):
        return False
    _warn_tokens(ctx, ref, new_solvers, item.path)
    return True


def _input_certificates(ctx: Context, issuer: ResourceRef | None = None) -> list[tuple[ResourceRef, dict[str, Any]]]:
    """The Certificates of the input (not generated) whose issuer is *issuer* (default: one in ``spec.issuers``)."""
    listed = {spec.name for spec in ctx.config.spec.issuers}
    out = []
    for item in ctx.of_kind(["Certificate"], group=GROUP):
        spec = item.data.get("spec")
        if not isinstance(spec, dict) or not isinstance(spec.get("dnsNames"), list):
            continue
        issuer_ref = spec.get("issuerRef")
        if not isinstance(issuer_ref, dict):
            continue
        kind, name = issuer_ref.get("kind", "Issuer"), issuer_ref.get("name")
        if issuer_ref.get("group", GROUP) != GROUP:
            continue
        wanted = (issuer.kind, issuer.name) if issuer is not None else None
        if (wanted is not None and (kind, name) != wanted) or (wanted is None and name not in listed):
            continue
        out.append((ref_of(item), item.data))
    return out


def _still_needed(ctx: Context, issuer: ResourceRef, zones: Sequence[str]) -> dict[str, list[str]]:
    """Of *zones*, those a Certificate of the input issued by *issuer* has a name in, with those Certificates."""
    needed: dict[str, list[str]] = {}
    for cert_ref, data in _input_certificates(ctx, issuer):
        for dns_name in data["spec"]["dnsNames"]:
            zone = next((z for z in zones if _match_zones([z], str(dns_name))[0]), None)
            if zone is not None and cert_ref.describe() not in needed.setdefault(zone, []):
                needed[zone].append(cert_ref.describe())
    return {z: certs for z, certs in needed.items() if certs}


# --- generating an absent issuer -----------------------------------------------------


def _generate(
    ctx: Context, spec: IssuerSpec, *, kind: str, namespace: str | None, domains: Sequence[Domain], where: str
) -> bool:
    assert spec.acme is not None
    acme = spec.acme
    provider = next(k for k in acme.solver if k in DNS01_PROVIDERS)
    ok = True
    for domain in domains:
        choice = _choice(ctx.config, domain, spec.name)
        if choice is not None and choice not in (0, provider):
            ctx.report(
                r.error(
                    f"`{domain.field}.solver` must be 0 or {provider!r}: the generated {kind} {spec.name} "
                    f"(`{where}.acme`) has one solver only; {choice!r} is neither",
                    field=f"{domain.field}.solver",
                    resource=ctx.config_ref,
                )
            )
            ok = False
    if not ok:
        return False
    zones = list(dict.fromkeys(d.name.text for d in domains))
    body: dict[str, Any] = {"server": SERVERS.get(acme.server, acme.server), "email": acme.email}
    if acme.profile:
        body["profile"] = acme.profile
    body["privateKeySecretRef"] = {"name": spec.name}
    body["solvers"] = [{"dns01": copy.deepcopy(acme.solver), "selector": {"dnsZones": zones}}]
    metadata: dict[str, Any] = {"name": spec.name}
    if namespace:
        metadata["namespace"] = namespace
    data = {"apiVersion": API_VERSION, "kind": kind, "metadata": metadata, "spec": {"acme": body}}
    ctx.generate(data, FILE)
    ref = ResourceRef(API_VERSION, kind, spec.name, namespace)
    ctx.report(r.info(f"{ref.describe()} serves {zones_summary(body['solvers'])}", resource=ref))
    _warn_tokens(ctx, ref, body["solvers"], None)
    return True


def zones_summary(solvers: Sequence[Any]) -> str:
    """``solver [0] (cloudflare): a.com, b.org; solver [2] (route53): c.net``."""
    parts = [
        f"solver [{i}] ({provider_of(solver)}): {', '.join(zones)}"
        for i, solver in enumerate(solvers)
        if zone_solver(solver) and (zones := listed_zones(solver))
    ]
    return "; ".join(parts)  # never empty: every served domain was given to a solver


def _warn_tokens(ctx: Context, ref: ResourceRef, solvers: Sequence[Any], path: str | None) -> None:
    """The cluster-template scopes its Cloudflare token to one zone; a second one stays invisible to it."""
    for i, solver in enumerate(solvers):
        zones = listed_zones(solver) if zone_solver(solver) else None
        token = _cloudflare_token(solver) if zones and len(zones) > 1 else None
        if token is None:
            continue
        ctx.report(
            r.warning(
                f"{ref.describe()}: the Cloudflare API token in Secret {token} must be allowed to edit DNS in "
                f"every zone `spec.acme.solvers[{i}]` now serves ({', '.join(zones or [])}); a token scoped to one "
                "zone, as cluster-template creates it, cannot see the others",
                resource=ref,
                field=f"spec.acme.solvers[{i}].dns01.cloudflare.apiTokenSecretRef",
                file=path,
            )
        )


def _cloudflare_token(solver: Mapping[str, Any]) -> str | None:
    cloudflare = solver.get("dns01", {}).get("cloudflare")
    ref = cloudflare.get("apiTokenSecretRef") if isinstance(cloudflare, dict) else None
    if not isinstance(ref, dict):
        return None
    return f"{ref.get('name')!s} (key {ref.get('key')!s})"


# --- cert-manager's solver choice ----------------------------------------------------


def check_certificates(ctx: Context, skip: AbstractSet[str] = frozenset()) -> None:
    """Every name of every managed (generated or adopted) Certificate, and of every Certificate of the input
    that uses an issuer of ``spec.issuers``, must get a DNS-01 solver from its issuer."""
    generated = {(g.data["kind"], g.data["metadata"]["name"]): g.data for g in ctx.generated if g.identity[0] == GROUP}
    found: dict[tuple[str, str, str | None], dict[str, Any] | None] = {}
    # an `existingCertificate` is not krmfn's: replayed only as an input Certificate of a listed issuer
    certificates = [(cert.data, cert.namespace) for cert in ctx.certificates.values() if cert.origin != "existing"]
    certificates += [(data, ref.namespace) for ref, data in _input_certificates(ctx)]
    for data, cert_namespace in certificates:
        issuer_ref = data["spec"].get("issuerRef")
        if not isinstance(issuer_ref, dict) or not isinstance(issuer_ref.get("name"), str):
            continue
        kind, name = issuer_ref.get("kind", "Issuer"), issuer_ref["name"]
        if name in skip:
            continue
        namespace = cert_namespace if kind == "Issuer" else None
        if (kind, name) not in generated and (kind, name, namespace) not in found:
            # one scan of the input per issuer, not per Certificate
            items = ctx.find(kind, name, namespace, GROUP)
            found[(kind, name, namespace)] = items[0].data if len(items) == 1 else None
        issuer = generated.get((kind, name)) or found[(kind, name, namespace)]
        if issuer is None:
            continue
        solvers = _solvers_of(issuer)
        if solvers is None:
            continue  # CA, self-signed or Vault issuers need no challenge
        labels = data["metadata"].get("labels") or {}
        cert_ref = ResourceRef(data["apiVersion"], "Certificate", data["metadata"]["name"], cert_namespace)
        for j, dns_name in enumerate(data["spec"]["dnsNames"]):
            index = pick_solver(dns_name, solvers, labels)
            if index is None:
                ctx.report(
                    r.error(
                        f"{cert_ref.describe()} must get a DNS-01 solver for {dns_name!r} from {kind} {name}, but none "
                        f"selects it (cert-manager would report {NO_SOLVER!r}); list its zone in a solver's "
                        "`selector.dnsZones`, or add the issuer to `spec.issuers` so that krmfn does",
                        resource=cert_ref,
                        field=f"spec.dnsNames[{j}]",
                    )
                )
            elif solvers[index].get("dns01") is None:
                ctx.report(
                    r.warning(
                        f"{cert_ref.describe()}: cert-manager would solve {dns_name!r} with the HTTP-01 solver "
                        f"`spec.acme.solvers[{index}]` of {kind} {name}, not a DNS-01 one; the name must then be "
                        "reachable from the internet on port 80",
                        resource=cert_ref,
                        field=f"spec.dnsNames[{j}]",
                    )
                )


def _solvers_of(issuer: Mapping[str, Any]) -> list[Any] | None:
    spec = issuer.get("spec")
    acme = spec.get("acme") if isinstance(spec, dict) else None
    solvers = acme.get("solvers") if isinstance(acme, dict) else None
    return solvers if isinstance(solvers, list) else None


def pick_solver(dns_name: str, solvers: Sequence[Any], order_labels: Mapping[str, str]) -> int | None:
    """The index of the solver cert-manager picks for *dns_name*, or None.

    A faithful port of ``solverpicker.Pick``: the name is matched as written (a wildcard
    authorization is looked up as ``*.<identifier>``); Let's Encrypt offers only DNS-01
    for wildcards and HTTP-01 or DNS-01 otherwise. A solver must match all three selector
    parts; a dnsNames match outranks everything, then zone specificity, then the number
    of labels; ties go to the earlier solver; a solver without selector is the fallback.
    """
    offered = ("dns01",) if dns_name.startswith("*.") else ("http01", "dns01")
    selected: int | None = None
    best_labels = best_names = best_zones = 0
    for i, solver in enumerate(solvers):
        if not isinstance(solver, dict) or all(solver.get(kind) is None for kind in offered):
            continue
        selector = solver.get("selector")
        if selector is None:
            if selected is None:
                selected = i
            continue
        if not isinstance(selector, dict):
            continue
        labels_ok, labels = _match_labels(selector.get("matchLabels"), order_labels)
        names_ok, names = _match_names(selector.get("dnsNames"), dns_name)
        zones_ok, zones = _match_zones(selector.get("dnsZones"), dns_name)
        if not (labels_ok and names_ok and zones_ok):
            continue
        if selected is None or _better((names, zones, labels), (best_names, best_zones, best_labels)):
            selected, best_labels, best_names, best_zones = i, labels, names, zones
    return selected


def _better(this: tuple[int, int, int], chosen: tuple[int, int, int]) -> bool:
    names, zones, labels = this
    chosen_names, chosen_zones, chosen_labels = chosen
    if (names > 0) != (chosen_names > 0):
        return names > 0
    if names == 0 and (zones > 0) != (chosen_zones > 0):
        return zones > 0
    if (names > 0 or zones > 0) and zones != chosen_zones:
        return zones > chosen_zones
    return labels > chosen_labels


def _match_labels(required: Any, labels: Mapping[str, str]) -> tuple[bool, int]:
    if not required or not isinstance(required, dict):
        return True, 0
    if all(k in labels and labels[k] == v for k, v in required.items()):
        return True, len(required)
    return False, 0


def _match_names(allowed: Any, dns_name: str) -> tuple[bool, int]:
    if not allowed or not isinstance(allowed, list):
        return True, 0
    return (True, 1) if dns_name in allowed else (False, 0)


def _match_zones(allowed: Any, dns_name: str) -> tuple[bool, int]:
    if not allowed or not isinstance(allowed, list):
        return True, 0
    best = 0
    for zone in map(str, allowed):
        count = len(_dns_labels(zone))
        if count and _common_suffix_labels(zone, dns_name) == count:
            best = max(best, count)
    return best > 0, best


def _dns_labels(name: str) -> list[str]:
    """Labels as miekg/dns compares them: the last keeps a trailing dot, case is folded."""
    if name in ("", "."):
        return []
    labels = name.rstrip(".").split(".")
    if name.endswith("."):
        labels[-1] += "."
    return [label.lower() for label in labels]


def _common_suffix_labels(a: str, b: str) -> int:
    """``dns.CompareDomainName``: how many labels, counted from the right, are equal."""
    count = 0
    for x, y in zip(reversed(_dns_labels(a)), reversed(_dns_labels(b)), strict=False):
        if x != y:
            break
        count += 1
    return count
