"""Zones the user wrote that krmfn takes out are named, in every concern alike (issue 12).

A zone in an external-dns ``domainFilters`` or ``--domain-filter``, k8s_gateway's ``domain`` or
an issuer's ``dnsZones`` that no domain of the config needs is removed, because those lists
must say exactly what the config serves. That is right when the domain was removed from the
config, and silently wrong when the user added the zone by hand: so each removal is a warning
that names the zones, the resource and the field, and says how to keep them.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

from krmfn.context import Context, resource_of, subject
from krmfn.krm import results as r
from krmfn.krm.item import Item


def zone_key(zone: str) -> str:
    """Zones compare without case and trailing dot; a Flux variable's name keeps its case."""
    return zone if "$" in zone else zone.lower().rstrip(".")


def removed(before: Iterable[Any], after: Iterable[Any]) -> list[str]:
    """The zones of *before* that *after* no longer lists, as written, in their order."""
    kept = {zone_key(str(z)) for z in after}
    return list(dict.fromkeys(str(z) for z in before if zone_key(str(z)) not in kept))


def warn(ctx: Context, item: Item, zones: Sequence[str], field: str, *, scope: str, keep: str) -> None:
    """One warning for *zones* removed from *field* of *item*; *scope* says for what the config does not
    list them, *keep* how to keep them."""
    if not zones:
        return
    ctx.report(
        r.warning(
            f"{subject(item)}: removed zone(s) {', '.join(zones)} from `{field}`, because MultiDomain "
            f"{ctx.config.name} does not list them {scope}; {keep}",
            resource=resource_of(item),
            field=field,
            file=item.path,
        )
    )
