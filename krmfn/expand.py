"""The expansion: a pure function from (config, items) to (items, results).

It runs each concern over one shared :class:`~krmfn.context.Context`, then reconciles what
they generated with what an earlier run generated (:mod:`krmfn.ownership`). No I/O
happens here; :mod:`krmfn.cli` reads and writes.
"""

from __future__ import annotations

import posixpath
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from krmfn.api.config import Config, is_multidomain
from krmfn.concerns import (
    alerts,
    certificates,
    dnsrecords,
    externaldns,
    gateways,
    guardrails,
    issuers,
    routes,
    splithorizon,
    syncwaves,
    tunnel,
    variables,
)
from krmfn.context import Context
from krmfn.krm import results as r
from krmfn.krm.item import Item
from krmfn.krm.results import Result
from krmfn.ownership import is_owned, owner_value, reconcile

#: The concerns, in the order they run. Each reads and changes the context.
CONCERNS: tuple[Callable[[Context], None], ...] = (
    certificates.generate,
    tunnel.reconcile,
    issuers.reconcile,
    gateways.generate,
    dnsrecords.generate,
    externaldns.reconcile,
    splithorizon.reconcile,
    routes.check,
    variables.check,
    guardrails.generate,
    alerts.generate,
    syncwaves.stamp,  # last: it annotates what every other concern generated
)


@dataclass(frozen=True)
class Expansion:
    items: list[Item]
    results: list[Result]


def expand(
    config: Config,
    items: Sequence[Item],
    *,
    config_path: str | None = None,
    plain_stream: bool = False,
) -> Expansion:
    """Expand *config* over *items*.

    *config_path* is the function config's file (kpt), next to which generated files go;
    *plain_stream* means the output has no files, so no path annotations are written.
    """
    owner = owner_value(config)
    owned_flags = [is_owned(item, owner) for item in items]
    others = [item for item, owned in zip(items, owned_flags, strict=True) if not owned]
    owned = [item for item, owned in zip(items, owned_flags, strict=True) if owned]
    ctx = Context(config=config, items=list(others), generator_mode=_is_generator_mode(others))
    for concern in CONCERNS:
        concern(ctx)
    _check_clashes(ctx)
    _warn_unless_local_config(ctx)
    directory = None if plain_stream else posixpath.join(posixpath.dirname(config_path or ""), config.name)
    done = reconcile(ctx.items, owned, ctx.generated, owner, directory)
    out: list[Item] = []
    patched = iter(ctx.items)
    for item, is_own in zip(items, owned_flags, strict=True):
        if is_own:
            if id(item) in done.replacement:
                out.append(done.replacement[id(item)])
        else:
            out.append(next(patched))
    out.extend(done.new_items)
    summary = (
        f"MultiDomain {config.name}: {len(config.domains)} domain(s); "
        f"{done.generated} generated, {done.updated} updated, {done.unchanged} unchanged, "
        f"{done.pruned} pruned, {ctx.patched} patched"
    )
    return Expansion(out, [*ctx.results, *done.results, r.info(summary, resource=ctx.config_ref)])


def _is_generator_mode(items: Sequence[Item]) -> bool:
    """kustomize's generators get only the function config; kpt packages may hold only it."""
    return all(item.is_local_config or item.header.kind in ("Kptfile", "MultiDomain") for item in items)


def _check_clashes(ctx: Context) -> None:
    """A generated resource must not take the name of one the user wrote."""
    mine = {g.identity: g for g in ctx.generated}
    for item in ctx.items:
        h = item.header
        key = (h.group, h.kind, h.namespace or "", h.name)
        if key in mine:
            ctx.report(
                r.error(
                    f"{h.kind} {h.namespace + '/' if h.namespace else ''}{h.name} is in the input but not owned by "
                    f"MultiDomain {ctx.config.name}, which generates a resource of that name; remove or rename it",
                    file=item.path,
                )
            )
            ctx.generated = [g for g in ctx.generated if g.identity != key]


def _warn_unless_local_config(ctx: Context) -> None:
    for item in ctx.items:
        is_config = item.header.kind == "MultiDomain" and item.header.name == ctx.config.name
        if is_config and not item.is_local_config and is_multidomain(item.data):
            ctx.report(
                r.warning(
                    f"MultiDomain {item.header.name} should carry the annotation "
                    '`config.kubernetes.io/local-config: "true"`; without it, applying this package '
                    "sends it to the cluster, which has no such resource type",
                    file=item.path,
                )
            )
