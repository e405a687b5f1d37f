"""One cert-manager Certificate per domain (SPEC §2): generated, or adopted when the tree has it.

Each Certificate covers the apex and, unless ``wildcard: false``, ``*.<domain>``, plus the
domain's ``extraDNSNames``. ``issuerRef`` always carries ``kind`` and ``group`` on a generated
Certificate: cert-manager 1.19 re-issued certificates whose references omitted them. Secret
names are unique per domain, because two Certificates writing one Secret re-issue each other
forever. Without ``spec.certificates`` no Certificate is generated or changed.

**The user's own.** A domain with ``existingCertificate`` gets none: its Certificate exists,
often where krmfn cannot see it (gilesknap/tpi-k3s-ansible renders ``wildcard-cert`` from a
Helm template). When the input has it, it is checked (the Secret the config names, the
domain's names) and left as it is, never adopted: the user said it is theirs. When the input
does not, the config's word stands: its Secret is taken to hold the domain's names, which is
what the gateways, the Ingress checks and the plan use; the solver replay skips it (its
issuer is unknown). One an earlier run adopted is kept, owned, as it is, not pruned.

**Adoption.** Real repositories already hold the Certificate of their first domain
(cluster-template's ``${SECRET_DOMAIN/./-}-production``, often without a namespace). A
Certificate that is the one krmfn would generate for a domain — the same name or Secret (the
seed's first-dot ``${VAR/./-}`` spelling counts as the same), or the same ``dnsNames`` — in a
namespace it can land in (:mod:`krmfn.layout`), is *adopted* instead of duplicated: it keeps
its name, namespace and Secret (renaming re-issues the certificate and changes the Secret
the Gateways serve), keeps every field the config does not set, gets the fields the config
does set, and gains the owner mark, so that it is reconciled and pruned like a generated one
from then on. The same merge applies to every owned Certificate, so hand edits of fields the
config does not set survive a render; a field removed from the config keeps its last value.

Which Certificate serves each domain is recorded in :attr:`Context.certificates` for the
gateways, the issuers' check and the plan.
"""

from __future__ import annotations

import copy
import posixpath
import re
from collections.abc import Sequence
from typing import Any

from krmfn.api.config import Config, Domain
from krmfn.context import OWNER_ANNOTATION, Context, ManagedCertificate, matches, ref_of
from krmfn.krm import results as r
from krmfn.krm.item import Item

API_VERSION = "cert-manager.io/v1"
GROUP = "cert-manager.io"
MAX_DNS_NAMES = 100  # Let's Encrypt's limit for every profile
FILE = "certificates.yaml"
_FIRST_DOT_ONLY = re.compile(r"\$\{([_A-Za-z][_A-Za-z0-9]*)/\./-\}")
_VARIABLE = re.compile(r"\$\{([_A-Za-z][_A-Za-z0-9]*)")
#: cert-manager's defaults for an `issuerRef` that leaves them out.
_ISSUER_REF_DEFAULTS = {"kind": "Issuer", "group": GROUP}


def certificate_name(config: Config, domain: Domain) -> str:
    certs = config.certificates
    suffix = certs.name_suffix if certs is not None else None
    return f"{domain.name.base}-{suffix}" if suffix else domain.name.base


def secret_name(config: Config, domain: Domain) -> str:
    return f"{certificate_name(config, domain)}-tls"


def dns_names(domain: Domain) -> list[str]:
    names = [domain.name.text]
    if domain.wildcard:
        names.append(f"*.{domain.name.text}")
    names.extend(domain.extra_dns_names)
    return list(dict.fromkeys(names))


def certificate(config: Config, domain: Domain) -> dict[str, Any]:
    """The Certificate krmfn generates for *domain* (``spec.certificates`` must be set)."""
    certs = config.certificates
    ref = config.issuer_ref
    assert certs is not None
    assert ref is not None
    assert domain.issuer is not None
    spec: dict[str, Any] = {
        "secretName": secret_name(config, domain),
        "issuerRef": {"group": ref.group, "kind": ref.kind, "name": domain.issuer},
        "dnsNames": dns_names(domain),
    }
    if certs.duration:
        spec["duration"] = certs.duration
    if certs.renew_before:
        spec["renewBefore"] = certs.renew_before
    if certs.private_key is not None:
        spec["privateKey"] = certs.private_key.model_dump(by_alias=True, exclude_none=True)
    if certs.usages is not None:
        spec["usages"] = list(certs.usages)
    if certs.secret_template is not None:
        spec["secretTemplate"] = certs.secret_template.model_dump(by_alias=True, exclude_defaults=True)
    if certs.revision_history_limit is not None:
        spec["revisionHistoryLimit"] = certs.revision_history_limit
    return {
        "apiVersion": API_VERSION,
        "kind": "Certificate",
        "metadata": {"name": certificate_name(config, domain), "namespace": config.certificate_namespace},
        "spec": spec,
    }


def normalise_flux(text: str) -> str:
    """``${VAR/./-}`` (first dot only, the seed template's form) compared as ``${VAR//./-}``."""
    return _FIRST_DOT_ONLY.sub(lambda m: f"${{{m.group(1)}//./-}}", text)


def generate(ctx: Context) -> None:
    """Each domain's Certificate: the owned one brought up to date, an existing one adopted, or a new one."""
    owned = ctx.owned_of_kind("Certificate", GROUP)
    hand_written = ctx.of_kind(["Certificate"], group=GROUP)
    claimed: set[int] = set()
    for domain in ctx.config.domains:
        if domain.existing_certificate is not None:
            _existing(ctx, domain, owned, hand_written, claimed)
    if ctx.config.certificates is None:
        return
    for domain in ctx.config.domains:
        if domain.existing_certificate is not None:
            continue
        wanted = certificate(ctx.config, domain)
        if len(wanted["spec"]["dnsNames"]) > MAX_DNS_NAMES:
            ctx.report(
                r.error(
                    f"Certificate for {domain.name} must have at most {MAX_DNS_NAMES} DNS names; "
                    f"it would have {len(wanted['spec']['dnsNames'])}",
                    field=f"{domain.field}.extraDNSNames",
                    resource=ctx.config_ref,
                )
            )
            continue
        mine = _match(ctx, owned, wanted, domain, claimed)
        if mine is not None:
            origin = _origin(ctx, mine, wanted)
            data = merged(mine.data, wanted) if origin == "adopted" else wanted
            ctx.generate(data, FILE)
            _record(ctx, domain, mine, data, origin)
            continue
        theirs = _match(
            ctx, [c for c in hand_written if c.annotation(OWNER_ANNOTATION) is None], wanted, domain, claimed
        )
        if theirs is not None:
            _adopt(ctx, domain, theirs, wanted)
            continue
        ctx.generate(wanted, FILE)
        meta = wanted["metadata"]
        ctx.certificates[domain.name.text] = ManagedCertificate(
            meta["namespace"], meta["name"], wanted["spec"]["secretName"], wanted
        )
    _check_the_rest(ctx, [c for c in hand_written if id(c) not in claimed])
    _warn_zones_behind_variables(ctx, hand_written)


# --- the user's own --------------------------------------------------------------------


def _existing(
    ctx: Context, domain: Domain, owned: Sequence[Item], hand_written: Sequence[Item], claimed: set[int]
) -> None:
    """The domain's ``existingCertificate``: checked where the input has it, assumed where it does not; never written.

    One an earlier run adopted stays owned as it is (pruning it would delete the user's
    certificate); its fields are no longer brought in line with the config.
    """
    spec = domain.existing_certificate
    assert spec is not None
    where = f"{domain.field}.existingCertificate"
    described = f"Certificate {spec.namespace}/{spec.name}"
    mine = [c for c in owned if c.header.name == spec.name and matches(ctx.namespaces(c), spec.namespace)]
    theirs = [
        c
        for c in hand_written
        if c.header.name == spec.name
        and c.annotation(OWNER_ANNOTATION) is None
        and matches(ctx.namespaces(c), spec.namespace)
    ]
    found = (mine or theirs)[:1]
    if mine:
        ctx.generate(copy.deepcopy(mine[0].data), FILE)
    for item in found:
        claimed.add(id(item))
        _check_existing(ctx, domain, item, where)
    if found:
        data = found[0].data
    else:
        data = {
            "apiVersion": API_VERSION,
            "kind": "Certificate",
            "metadata": {"name": spec.name, "namespace": spec.namespace},
            "spec": {"secretName": spec.secret_name, "dnsNames": dns_names(domain)},
        }
        ctx.report(
            r.info(
                f"{described} (`{where}`) is not in the input: MultiDomain {ctx.config.name} writes no Certificate "
                f"for {domain.name} and takes Secret {spec.namespace}/{spec.secret_name} to hold "
                f"{', '.join(dns_names(domain))}",
                field=where,
                resource=ctx.config_ref,
            )
        )
    ctx.certificates[domain.name.text] = ManagedCertificate(
        spec.namespace, spec.name, spec.secret_name, data, "existing"
    )


def _check_existing(ctx: Context, domain: Domain, item: Item, where: str) -> None:
    """The input's Certificate must write the Secret the config names, and should hold the domain's names."""
    spec = domain.existing_certificate
    assert spec is not None
    data = _spec(item.data)
    secret = data.get("secretName")
    if not isinstance(secret, str) or normalise_flux(secret) != normalise_flux(spec.secret_name):
        ctx.report(
            r.error(
                f"`{where}.secretName` must be the Secret {ref_of(item).describe()} writes, {secret!r}; "
                f"it is {spec.secret_name!r}",
                field=f"{where}.secretName",
                resource=ctx.config_ref,
                file=item.path,
            )
        )
    names = data.get("dnsNames")
    have = {_dns_key(str(n)) for n in names} if isinstance(names, list) else set()
    missing = [n for n in dns_names(domain) if _dns_key(n) not in have]
    if missing:
        ctx.report(
            r.warning(
                f"{ref_of(item).describe()}, the `existingCertificate` of {domain.name}, does not hold "
                f"{', '.join(missing)}: hosts under them are not covered; add them to its `spec.dnsNames`",
                resource=ref_of(item),
                file=item.path,
            )
        )


# --- matching ------------------------------------------------------------------------


def _match(
    ctx: Context, candidates: Sequence[Item], wanted: dict[str, Any], domain: Domain, claimed: set[int]
) -> Item | None:
    """The Certificate among *candidates* that is *domain*'s: by name, then Secret, then DNS names."""
    best: tuple[int, Item] | None = None
    for item in candidates:
        if id(item) in claimed or not matches(ctx.namespaces(item), ctx.config.certificate_namespace):
            continue
        score = _sameness(item, wanted, domain)
        if score and (best is None or score > best[0]):
            best = (score, item)
    if best is None:
        return None
    claimed.add(id(best[1]))
    return best[1]


def _sameness(item: Item, wanted: dict[str, Any], domain: Domain) -> int:
    """3: the same name; 2: the same Secret; 1: the same DNS names; 0: another certificate."""
    if normalise_flux(item.header.name) == normalise_flux(wanted["metadata"]["name"]):
        return 3
    spec = _spec(item.data)
    secret = spec.get("secretName")
    if isinstance(secret, str) and normalise_flux(secret) == normalise_flux(wanted["spec"]["secretName"]):
        return 2
    names = spec.get("dnsNames")
    if isinstance(names, list):
        have = {_dns_key(str(n)) for n in names}
        plain = {_dns_key(n) for n in dns_names(domain)[: 2 if domain.wildcard else 1]}
        if have in ({_dns_key(n) for n in wanted["spec"]["dnsNames"]}, plain):
            return 1
    return 0


def _dns_key(name: str) -> str:
    return name if "$" in name else name.lower().rstrip(".")


def _spec(data: dict[str, Any]) -> dict[str, Any]:
    spec = data.get("spec")
    return spec if isinstance(spec, dict) else {}


# --- merging -------------------------------------------------------------------------


def merged(existing: dict[str, Any], wanted: dict[str, Any]) -> dict[str, Any]:
    """*existing* with what the config sets from *wanted*; its identity, Secret and other fields kept."""
    out = copy.deepcopy(existing)
    spec = out.get("spec")
    if not isinstance(spec, dict):
        spec = out["spec"] = {}
    for key, value in wanted["spec"].items():
        current = spec.get(key)
        if key == "secretName" and isinstance(current, str) and current:
            continue
        if key == "dnsNames" and isinstance(current, list):
            if {_dns_key(str(n)) for n in current} != {_dns_key(n) for n in value}:
                spec[key] = list(value)
        elif key == "issuerRef" and isinstance(current, dict):
            for part, wanted_part in value.items():
                if current.get(part, _ISSUER_REF_DEFAULTS.get(part)) != wanted_part:
                    current[part] = wanted_part
        elif isinstance(value, dict) and isinstance(current, dict):
            current.update(copy.deepcopy(value))
        else:
            spec[key] = copy.deepcopy(value)
    return out


def _adopt(ctx: Context, domain: Domain, item: Item, wanted: dict[str, Any]) -> None:
    data = merged(item.data, wanted)
    why = (
        f"it is the Certificate of {domain.name}; it keeps its name, its Secret "
        f"{_spec(item.data).get('secretName')!r} and every field the config does not set"
    )
    if ctx.adopt(item, data, FILE, why):
        _record(ctx, domain, item, data, "adopted")


def _record(ctx: Context, domain: Domain, item: Item, data: dict[str, Any], origin: str) -> None:
    secret = _spec(data).get("secretName")
    assert ctx.config.certificate_namespace is not None
    ctx.certificates[domain.name.text] = ManagedCertificate(
        ctx.config.certificate_namespace,
        item.header.name,
        secret if isinstance(secret, str) else secret_name(ctx.config, domain),
        data,
        origin,
    )


def _origin(ctx: Context, item: Item, wanted: dict[str, Any]) -> str:
    """ "adopted" for an owned Certificate an earlier run adopted: outside the generated files, or
    with a name or Secret krmfn would not give it. Its fields are merged; a generated one is rewritten."""
    if not item.header.namespace:
        return "adopted"  # krmfn writes a namespace: one without came from the user's file (Flux fills it in)
    path = item.path
    outside = path is not None and posixpath.dirname(posixpath.normpath(path)) != ctx.generated_directory
    if outside and ctx.generated_directory is not None:
        return "adopted"
    secret = _spec(item.data).get("secretName")
    same = item.header.name == wanted["metadata"]["name"] and secret == wanted["spec"]["secretName"]
    return "generated" if same else "adopted"


# --- what is left --------------------------------------------------------------------


def _check_the_rest(ctx: Context, others: Sequence[Item]) -> None:
    """A Certificate not adopted must not write the Secret of, or duplicate, a managed one."""
    managed = list(ctx.certificates.items())
    for item in others:
        if not matches(ctx.namespaces(item), ctx.config.certificate_namespace):
            continue
        spec = _spec(item.data)
        secret = spec.get("secretName")
        names = (
            {_dns_key(str(n)) for n in spec.get("dnsNames") or []} if isinstance(spec.get("dnsNames"), list) else set()
        )
        for domain, cert in managed:
            same_secret = isinstance(secret, str) and normalise_flux(secret) == normalise_flux(cert.secret)
            same_name = normalise_flux(item.header.name) == normalise_flux(cert.name)
            if item.header.name == cert.name:
                continue  # the very name: reported for every kind by expand._check_clashes
            if same_secret or same_name:
                what = "name" if same_name else f"Secret {cert.secret}"
                how = "names as its `existingCertificate`" if cert.origin == "existing" else "manages"
                ctx.report(
                    r.error(
                        f"{ref_of(item).describe()} must not share its {what} with Certificate {cert.name}, which "
                        f"MultiDomain {ctx.config.name} {how} for {domain}: two Certificates writing one Secret "
                        "re-issue each other forever; remove one",
                        resource=ref_of(item),
                        file=item.path,
                    )
                )
            elif names and names == {_dns_key(str(n)) for n in _spec(cert.data).get("dnsNames") or []}:
                ctx.report(
                    r.warning(
                        f"{ref_of(item).describe()} requests the same names as Certificate {cert.name}, which "
                        f"MultiDomain {ctx.config.name} manages for {domain}; one of them is redundant",
                        resource=ref_of(item),
                        file=item.path,
                    )
                )


def _warn_zones_behind_variables(ctx: Context, certificates: Sequence[Item]) -> None:
    """A literal domain in the config while the tree names a zone through a Flux variable.

    krmfn cannot know a SOPS-encrypted variable's value: if ``${SECRET_DOMAIN}`` is
    ``example.com`` and the config says ``example.com``, the tree's Certificate is not
    recognised as that domain's, and after Flux substitutes the variable two Certificates
    hold the same names and a listener lists the same Secret twice.
    """
    literals = [d.name.text for d in ctx.config.domains if d.name.variable is None]
    if not literals:
        return
    known = {d.name.variable for d in ctx.config.domains if d.name.variable}
    places: dict[str, list[str]] = {}
    for item in certificates:
        names = _spec(item.data).get("dnsNames")
        for variable in _variables(names if isinstance(names, list) else []):
            places.setdefault(variable, []).append(ref_of(item).describe())
    for item in _configured_items(ctx):
        if item.mentions("${"):
            for variable in _variables([item.text]):
                places.setdefault(variable, []).append(ref_of(item).describe())
    for variable, where in sorted(places.items()):
        if variable in known:
            continue
        ctx.report(
            r.warning(
                f"`spec.domains` names {', '.join(literals)} literally, while {', '.join(dict.fromkeys(where))} "
                f"name a zone through ${{{variable}}}: if ${{{variable}}} is one of these domains, write "
                f"`name: ${{{variable}}}` in `spec.domains` so that krmfn adopts what exists; otherwise, once Flux "
                "substitutes it, two Certificates hold the same names and a listener lists the same Secret twice",
                field="spec.domains",
                resource=ctx.config_ref,
            )
        )


def _variables(values: Sequence[Any]) -> list[str]:
    return list(dict.fromkeys(m.group(1) for v in values if isinstance(v, str) for m in _VARIABLE.finditer(v)))


def _configured_items(ctx: Context) -> list[Item]:
    """The resources the config names: its gateways, issuers and installations."""
    spec = ctx.config.spec
    wanted: list[tuple[str, str, str | None]] = [
        (g.kind, g.name, g.namespace) for g in spec.gateways if g.kind == "Gateway"
    ]
    wanted += [(ctx.config.issuer_kind, i.name, None) for i in spec.issuers]
    wanted += [(e.kind, e.name, e.namespace) for e in spec.external_dns]
    for part in (spec.tunnel, spec.split_horizon):
        if part is not None:
            wanted.append((part.kind, part.name, part.namespace))
    return [item for kind, name, namespace in wanted for item in ctx.find(kind, name, namespace)]
