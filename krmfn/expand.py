"""The expansion: a pure function from (config, items) to (items, results).

It runs each concern over one shared :class:`~krmfn.context.Context`, then reconciles what
they generated with what an earlier run generated (:mod:`krmfn.ownership`). No I/O
happens here; :mod:`krmfn.cli` reads and writes.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace

from krmfn import placement
from krmfn.api.config import Config, is_multidomain
from krmfn.concerns import (
    alerts,
    certificates,
    dnsrecords,
    externaldns,
    gateways,
    guardrails,
    ingresstls,
    issuers,
    splithorizon,
    syncwaves,
    targets,
    tunnel,
    valueroutes,
    variables,
)
from krmfn.context import Context, ManagedCertificate
from krmfn.errors import ItemError, KrmfnError
from krmfn.krm import results as r
from krmfn.krm.item import Item
from krmfn.krm.results import Result
from krmfn.layout import Layout, kind_of
from krmfn.ownership import is_owned, owner_value, reconcile

#: The concerns, in the order they run. Each reads and changes the context.
CONCERNS: tuple[Callable[[Context], None], ...] = (
    certificates.generate,
    issuers.reconcile,
    gateways.generate,
    tunnel.reconcile,  # after gateways: origin server names follow the listeners as patched
    ingresstls.reconcile,
    dnsrecords.generate,
    externaldns.reconcile,
    splithorizon.reconcile,
    targets.reconcile,  # after the records and the Gateways: it checks what they point at
    valueroutes.check,
    variables.check,
    guardrails.generate,
    alerts.generate,
    syncwaves.stamp,  # last: it annotates what every other concern generated
)


@dataclass(frozen=True)
class Expansion:
    items: list[Item]
    results: list[Result]
    #: Each domain's Certificate (generated or adopted), by domain name; empty without `spec.certificates`.
    certificates: dict[str, ManagedCertificate] = field(default_factory=dict)


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
    layout = Layout(items)
    directory = None if plain_stream else placement.generated_directory(config.name, config_path, items)
    ctx = Context(
        config=config,
        items=list(others),
        generator_mode=_is_generator_mode(others),
        owned=owned,
        layout=layout,
        generated_directory=directory,
    )
    for concern in CONCERNS:
        start = len(ctx.results)
        _run_concern(concern, ctx)
        ctx.results[start:] = _from(concern.__module__.rpartition(".")[2], ctx.results[start:])
    _check_clashes(ctx)
    _warn_unless_local_config(ctx)
    done = reconcile(ctx.items, ctx.owned, ctx.generated, owner, directory, adopting=ctx.adopting)
    out: list[Item] = []
    patched = iter(ctx.items)
    for item, is_own in zip(items, owned_flags, strict=True):
        current = item if is_own else next(patched)
        if is_own or id(current) in ctx.adopting:
            if id(current) in done.replacement:
                out.append(done.replacement[id(current)])
        else:
            out.append(current)
    out.extend(done.new_items)
    out, placed = placement.apply(layout, items, out, directory)
    adopted = f", {done.adopted} adopted" if done.adopted else ""
    summary = (
        f"MultiDomain {config.name}: {len(config.domains)} domain(s); "
        f"{done.generated} generated, {done.updated} updated, {done.unchanged} unchanged, "
        f"{done.pruned} pruned, {ctx.patched} patched{adopted}"
    )
    results = [*ctx.results, *_from("ownership", done.results), *_from("placement", placed)]
    return Expansion(out, [*results, r.info(summary, resource=ctx.config_ref)], dict(ctx.certificates))


def _from(source: str, results: Sequence[Result]) -> list[Result]:
    """*results* marked as reported by *source*, so that the output can summarise them (:func:`r.summarise`)."""
    return [res if res.source else replace(res, source=source) for res in results]


def _run_concern(concern: Callable[[Context], None], ctx: Context) -> None:
    """One concern; an item it must read that cannot be read stops that concern alone."""
    try:
        concern(ctx)
    except ItemError as exc:
        ctx.report(r.error(exc.message, file=exc.file, file_index=exc.index))


def _is_generator_mode(items: Sequence[Item]) -> bool:
    """kustomize's generators get only the function config; kpt packages may hold only it."""
    return all((kind_of(item) or ("", ""))[1] in ("Kptfile", "MultiDomain") or _local(item) for item in items)


def _local(item: Item) -> bool:
    try:
        return item.is_local_config
    except KrmfnError:  # a list or a scalar: not a resource at all
        return False


def _check_clashes(ctx: Context) -> None:
    """A generated resource must not take the name of one the user wrote, in any namespace it may land in."""
    for gen in list(ctx.generated):
        group, kind, namespace, name = gen.identity
        for item in ctx.find(kind, name, namespace or None, group):
            h = item.header
            ctx.report(
                r.error(
                    f"{h.kind} {h.namespace + '/' if h.namespace else ''}{h.name} is in the input but not owned by "
                    f"MultiDomain {ctx.config.name}, which generates a resource of that name; remove or rename it",
                    file=item.path,
                )
            )
            ctx.generated = [g for g in ctx.generated if g.identity != gen.identity]
            break


def _warn_unless_local_config(ctx: Context) -> None:
    for item in ctx.of_kind(["MultiDomain"]):
        is_config = item.header.name == ctx.config.name
        if is_config and not item.is_local_config and is_multidomain(item.data):
            ctx.report(
                r.warning(
                    f"MultiDomain {item.header.name} should carry the annotation "
                    '`config.kubernetes.io/local-config: "true"`; without it, applying this package '
                    "sends it to the cluster, which has no such resource type",
                    file=item.path,
                )
            )
