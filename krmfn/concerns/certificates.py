"""One cert-manager Certificate per domain (SPEC §2).

Each Certificate covers the apex and, unless ``wildcard: false``, ``*.<domain>``, plus the
domain's ``extraDNSNames``. ``issuerRef`` always carries ``kind`` and ``group``: cert-manager
1.19 re-issued certificates whose references omitted them. Secret names are unique per
domain, because two Certificates writing one Secret re-issue each other forever.
"""

from __future__ import annotations

import re
from typing import Any

from krmfn.api.config import Config, Domain
from krmfn.context import Context, ref_of
from krmfn.krm import results as r

API_VERSION = "cert-manager.io/v1"
MAX_DNS_NAMES = 100  # Let's Encrypt's limit for every profile
FILE = "certificates.yaml"
_FIRST_DOT_ONLY = re.compile(r"\$\{([_A-Za-z][_A-Za-z0-9]*)/\./-\}")


def certificate_name(config: Config, domain: Domain) -> str:
    suffix = config.spec.certificates.name_suffix
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
    certs = config.spec.certificates
    ref = config.issuer_ref
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
    """Generate every domain's Certificate; refuse clashes with hand-written ones."""
    wanted = []
    for domain in ctx.config.domains:
        cert = certificate(ctx.config, domain)
        if len(cert["spec"]["dnsNames"]) > MAX_DNS_NAMES:
            ctx.report(
                r.error(
                    f"Certificate for {domain.name} must have at most {MAX_DNS_NAMES} DNS names; "
                    f"it would have {len(cert['spec']['dnsNames'])}",
                    field=f"{domain.field}.extraDNSNames",
                    resource=ctx.config_ref,
                )
            )
            continue
        wanted.append(cert)
        ctx.generate(cert, FILE)
    _check_hand_written(ctx, wanted)


def _check_hand_written(ctx: Context, wanted: list[dict[str, Any]]) -> None:
    """A Certificate the user wrote must not share a name or Secret with a generated one."""
    for item in ctx.of_kind(["Certificate"], group="cert-manager.io"):
        ns = item.header.namespace or ""
        name = normalise_flux(item.header.name)
        secret = item.data.get("spec", {}).get("secretName") if isinstance(item.data.get("spec"), dict) else None
        secret = normalise_flux(secret) if isinstance(secret, str) else None
        for cert in wanted:
            meta = cert["metadata"]
            if ns not in ("", meta["namespace"]) or item.header.name == meta["name"]:
                continue  # an exact name clash is reported for every kind by expand._check_clashes
            if name == meta["name"] or secret == cert["spec"]["secretName"]:
                what = "name" if name == meta["name"] else f"Secret {cert['spec']['secretName']}"
                ctx.report(
                    r.error(
                        f"{ref_of(item).describe()} must not share its {what} with the Certificate that "
                        f"MultiDomain {ctx.config.name} generates for {cert['spec']['dnsNames'][0]}; "
                        "remove the hand-written one (it is now generated)",
                        resource=ref_of(item),
                        file=item.path,
                    )
                )
