"""external-dns installations whose domain filters must let every zone through (SPEC §4).

external-dns ignores every record outside its ``--domain-filter`` zones, so a second
domain gets no DNS records until each installation lists it. Three forms are kept in step:
a Flux ``HelmRelease`` (chart values ``domainFilters`` …), a plain ``Deployment`` (the
container's ``--domain-filter=`` args, one per zone) and an Argo CD ``Application``
(``helm.valuesObject``, or the ``helm.values`` string, of its external-dns source). The
optional settings of ``spec.externalDNS[]`` (``excludeDomains``, ``txtOwnerId``,
``txtPrefix``, ``policy``, ``sources``) are written the same way when given.

Facts (external-dns ``docs/flags.md``, ``endpoint/domain_filter.go``, ``controller/execute.go``,
chart ``templates/deployment.yaml``): ``--regex-domain-filter`` switches the filter to regex
mode and ``--domain-filter``/``--exclude-domains`` are then ignored; from v0.21.0 (chart 1.21,
the one cluster-template pins) ``--regex-domain-exclusion`` alone does too, before it was
dropped without a regex filter. The chart has no value for them, so they hide in ``extraArgs``.
A wrapper chart's values sit under its subchart key: ``valuesPath`` (:mod:`~krmfn.concerns.chartvalues`).
"""

from __future__ import annotations

import copy
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from krmfn.api.config import HELM_VALUES, Domain, ExternalDNSSpec
from krmfn.api.names import parse_domain
from krmfn.concerns import removedzones
from krmfn.concerns.chartvalues import (
    chart_of,
    dependency_version,
    dig,
    file_chart,
    joined,
    locate,
    target_installation,
    values_of,
    warn_unless_upstream,
)
from krmfn.context import Context, ref_of, resource_of, subject
from krmfn.krm import results as r
from krmfn.krm.item import Item
from krmfn.krm.yamledit import update_text
from krmfn.krm.yamltext import dump, load

CONTAINER = "external-dns"
#: The names the upstream chart is published under (kubernetes-sigs, and mirrors of it).
UPSTREAM = ("external-dns",)
REGEX_FLAGS = ("regex-domain-filter", "regex-domain-exclusion")
ROUTE_GROUP = "gateway.networking.k8s.io"


@dataclass(frozen=True)
class Setting:
    """A chart value and the flag the chart renders it as."""

    value: str
    flag: str
    repeated: bool


SETTINGS = (
    Setting("domainFilters", "--domain-filter", True),
    Setting("excludeDomains", "--exclude-domains", True),
    Setting("txtOwnerId", "--txt-owner-id", False),
    Setting("txtPrefix", "--txt-prefix", False),
    Setting("policy", "--policy", False),
    Setting("sources", "--source", True),
)


@dataclass
class Effective:
    """What one installation does after the patch; ``regex`` lists the regex flags set."""

    filters: list[str] = field(default_factory=list)
    excludes: list[str] = field(default_factory=list)
    txt_prefix: str | None = None
    regex: list[str] = field(default_factory=list)
    #: ``--source`` values; None when unknown.
    sources: list[str] | None = None
    provider: str | None = None
    #: The Secret holding the provider's token, as ``name (key k)``; None when not found.
    token: str | None = None
    #: external-dns (major, minor), from the image tag or the chart version; None when unknown.
    version: tuple[int, int] | None = None
    #: Whether this run changed the zones it filters.
    changed: bool = False
    #: Whether it had no domain filter before this run (every zone its credentials can read).
    unfiltered: bool = False


#: The chart's default `sources` (charts/external-dns/values.yaml).
CHART_SOURCES = ["service", "ingress"]
#: The environment variables external-dns's Cloudflare provider reads its credentials from.
CLOUDFLARE_ENV = ("CF_API_TOKEN", "CF_API_KEY")
#: The release that made `--regex-domain-exclusion` alone switch to regex mode (commit 3dd5dd6,
#: "introduce functional options pattern", endpoint/domain_filter.go WithRegexDomainExclude).
EXCLUSION_SWITCHES_FROM = (0, 21)


def reconcile(ctx: Context) -> None:
    """Patch every installation of ``spec.externalDNS``; warn about zones none lets through."""
    installs = ctx.config.spec.external_dns
    if not installs:
        return
    ordered = sorted(ctx.config.domains, key=lambda d: d.index)
    outcome: list[Effective | None] = []
    for i, spec in enumerate(installs):
        where = f"spec.externalDNS[{i}]"
        zones = _zones(ctx, spec, ordered, where)
        item = None if zones is None else target_installation(ctx, spec, where)
        if zones is None or item is None:
            outcome.append(None)
            continue
        effective = PATCHERS[spec.kind](ctx, item, spec, wanted_settings(spec, zones), where)
        outcome.append(effective)
        if effective is not None:
            _warn_regex(ctx, item, effective)
            _warn_txt_prefix(ctx, item, effective, [d for d in ordered if d.name.text in zones])
            _warn_token(ctx, item, effective)
    if all(e is not None for e in outcome):
        _warn_unfiltered(ctx, ordered, [e for e in outcome if e is not None])


def _zones(ctx: Context, spec: ExternalDNSSpec, ordered: Sequence[Domain], where: str) -> list[str] | None:
    if spec.domains is None:
        return [d.name.text for d in ordered]
    chosen: set[str] = set()
    ok = True
    for j, raw in enumerate(spec.domains):
        try:
            text = parse_domain(raw).text
        except ValueError as exc:
            text, problem = "", str(exc)
        else:
            problem = f"must name a domain of `spec.domains`; {raw!r} is not one"
        if not any(d.name.text == text for d in ordered):
            ctx.report(r.error(problem, field=f"{where}.domains[{j}]", resource=ctx.config_ref))
            ok = False
        chosen.add(text)
    return [d.name.text for d in ordered if d.name.text in chosen] if ok else None


def wanted_settings(spec: ExternalDNSSpec, zones: list[str]) -> dict[str, Any]:
    """Chart values to set, in the chart's names; unset options are not touched."""
    wanted: dict[str, Any] = {"domainFilters": zones}
    optional = {
        "excludeDomains": spec.exclude_domains,
        "txtOwnerId": spec.txt_owner_id,
        "txtPrefix": spec.txt_prefix,
        "policy": spec.policy,
        "sources": spec.sources,
    }
    wanted.update({k: list(v) if isinstance(v, list) else v for k, v in optional.items() if v is not None})
    return wanted


# --- chart values: HelmRelease and Argo CD Application -------------------------------


def _apply_values(values: dict[str, Any], wanted: dict[str, Any]) -> list[str]:
    changed = []
    for key, value in wanted.items():
        if values.get(key) != value:
            values[key] = value
            changed.append(key)
    return changed


def effective_of_values(values: dict[str, Any], chart_version: str | None = None) -> Effective:
    sources = values.get("sources")
    provider = values.get("provider")
    if isinstance(provider, dict):
        provider = provider.get("name")
    image = values.get("image")
    tag = image.get("tag") if isinstance(image, dict) else None
    out = Effective(
        filters=[str(v) for v in values.get("domainFilters") or []],
        excludes=[str(v) for v in values.get("excludeDomains") or []],
        txt_prefix=str(values["txtPrefix"]) if values.get("txtPrefix") else None,
        sources=[str(v) for v in sources] if isinstance(sources, list) else list(CHART_SOURCES),
        provider=provider if isinstance(provider, str) else None,
        token=_token(values.get("env")),
        version=_version(tag, "") or _version(chart_version, "chart"),
    )
    extra = values.get("extraArgs")
    if isinstance(extra, list):
        out.regex = [flag for flag in REGEX_FLAGS if any(_is_flag(str(a), flag) for a in extra)]
    elif isinstance(extra, dict):
        out.regex = [flag for flag in REGEX_FLAGS if flag in extra or f"--{flag}" in extra]
    return out


def _is_flag(arg: str, flag: str) -> bool:
    return arg == f"--{flag}" or arg.startswith(f"--{flag}=")


def _not_a_mapping(ctx: Context, item: Item, path: str) -> None:
    what = f"`{path}`" if path else "the document"
    ctx.report(
        r.error(f"{subject(item)}: {what} must be a mapping", resource=resource_of(item), field=path, file=item.path)
    )


def _filters(values: dict[str, Any]) -> list[Any]:
    filters = values.get("domainFilters")
    return list(filters) if isinstance(filters, list) else []


def _scope(where: str) -> str:
    return f"for this installation (`{where}`)"


def _keep(where: str) -> str:
    return f"add them to `spec.domains` (and to `{where}.domains` if it is set) to keep them"


def _warn_removed(
    ctx: Context, item: Item, before: list[Any], values: dict[str, Any], *, field: str, where: str
) -> None:
    gone = removedzones.removed(before, values.get("domainFilters") or [])
    removedzones.warn(ctx, item, gone, field, scope=_scope(where), keep=_keep(where))


def _why(path: str, changed: list[str]) -> str:
    return "set " + ", ".join(f"`{joined(path, key)}`" for key in changed)


def _patch_chart_values(
    ctx: Context, item: Item, spec: ExternalDNSSpec, wanted: dict[str, Any], where: str
) -> Effective | None:
    """A HelmRelease's ``spec.values``, or a local chart's values file (``HelmValues``): one way for both."""
    in_file = spec.kind == HELM_VALUES
    new: Any = copy.deepcopy(item.value if in_file else item.data)
    if not in_file:
        body = new.get("spec")
        if not isinstance(body, dict):
            _not_a_mapping(ctx, item, "spec")
            return None
        if body.get("values") is None:
            body["values"] = {}
    values, field_path = values_of(new, spec.kind)
    if values is None:
        _not_a_mapping(ctx, item, field_path)
        return None
    target = locate(ctx, item, values, values_path=spec.values_path, key="domainFilters", where=where, field=field_path)
    if target is None:
        return None
    chart = file_chart(ctx, item) if in_file else chart_of(ctx, item)
    warn_unless_upstream(ctx, item, chart, UPSTREAM, values_path=spec.values_path, where=where)
    before = _filters(target)
    changed = _apply_values(target, wanted)
    field = joined(field_path, spec.values_path)
    if changed and ctx.replace(item, new, _why(field, changed)):
        _warn_removed(ctx, item, before, target, field=joined(field, "domainFilters"), where=where)
    version = dependency_version(ctx, item, spec.values_path) if in_file else _chart_version(ctx, item)
    out = effective_of_values(target, version)
    out.changed = "domainFilters" in changed
    out.unfiltered = not before
    return out


def _patch_application(
    ctx: Context, item: Item, spec: ExternalDNSSpec, wanted: dict[str, Any], where: str
) -> Effective | None:
    new = copy.deepcopy(item.data)
    body = new.get("spec")
    if not isinstance(body, dict):
        _not_a_mapping(ctx, item, "spec")
        return None
    found = _helm_source(ctx, item, body)
    if found is None:
        return None
    path, source = found
    if source.get("helm") is None:
        source["helm"] = {}
    helm = source["helm"]
    if not isinstance(helm, dict):
        _not_a_mapping(ctx, item, f"{path}.helm")
        return None
    text = helm.get("values")
    chart = chart_of(ctx, item, source)
    if "valuesObject" in helm or not isinstance(text, str):
        if helm.get("valuesObject") is None:
            helm["valuesObject"] = {}
        values = helm["valuesObject"]
        field_path = f"{path}.helm.valuesObject"
        if not isinstance(values, dict):
            _not_a_mapping(ctx, item, field_path)
            return None
        target = locate(
            ctx, item, values, values_path=spec.values_path, key="domainFilters", where=where, field=field_path
        )
        if target is None:
            return None
        before = _filters(target)
        changed = _apply_values(target, wanted)
    else:
        # Argo CD renders a `values` string as given, so the edit keeps its comments too.
        field_path = f"{path}.helm.values"
        parsed = load(text, field_path) if text.strip() else {}
        if not isinstance(parsed, dict):
            _not_a_mapping(ctx, item, field_path)
            return None
        values = copy.deepcopy(parsed)
        target = locate(
            ctx, item, values, values_path=spec.values_path, key="domainFilters", where=where, field=field_path
        )
        if target is None:
            return None
        before = _filters(target)
        changed = _apply_values(target, wanted)
        if changed:
            helm["values"] = update_text(text, values, field_path) if text.strip() else dump(values)
    warn_unless_upstream(ctx, item, chart, UPSTREAM, values_path=spec.values_path, where=where)
    field = _joined(field_path, spec.values_path)
    if changed and ctx.replace(item, new, _why(field, changed)):
        _warn_removed(ctx, item, before, target, field=f"{field}.domainFilters", where=where)
    revision = source.get("targetRevision") if source.get("chart") else None
    out = effective_of_values(target, revision if isinstance(revision, str) else None)
    out.changed = "domainFilters" in changed
    out.unfiltered = not before
    return out


def _helm_source(ctx: Context, item: Item, body: dict[str, Any]) -> tuple[str, dict[str, Any]] | None:
    """The Application source that installs the external-dns chart."""
    found = helm_source(body)
    if not isinstance(found, str):
        return found
    ref = ref_of(item)
    ctx.report(
        r.error(
            f"{ref.describe()} must have exactly one Helm source of the external-dns chart to patch; {found}",
            resource=ref,
            field="spec.sources",
            file=item.path,
        )
    )
    return None


def helm_source(body: dict[str, Any]) -> tuple[str, dict[str, Any]] | str:
    """An Argo CD Application spec's source of the external-dns chart (its path and itself), or why none."""
    if isinstance(body.get("source"), dict):
        return "spec.source", body["source"]
    sources = body.get("sources")
    if isinstance(sources, list):
        helm = [i for i, s in enumerate(sources) if isinstance(s, dict) and (s.get("chart") or "helm" in s)]
        named = [i for i in helm if CONTAINER in str(sources[i].get("chart", ""))]
        pick = named if len(named) == 1 else helm
        if len(pick) == 1:
            return f"spec.sources[{pick[0]}]", sources[pick[0]]
        return f"found {len(pick)}"
    return "it has neither `spec.source` nor `spec.sources`"


def application_values(source: dict[str, Any]) -> dict[str, Any] | None:
    """The chart values of an Application source (``helm.valuesObject``, else the ``helm.values`` string)."""
    helm = source.get("helm")
    if not isinstance(helm, dict):
        return None
    if isinstance(helm.get("valuesObject"), dict):
        return helm["valuesObject"]  # type: ignore[no-any-return]
    text = helm.get("values")
    if isinstance(text, str) and text.strip():
        parsed = load(text, "helm.values")
        return parsed if isinstance(parsed, dict) else None
    return None


# --- Deployment args -----------------------------------------------------------------


def _patch_deployment(
    ctx: Context, item: Item, spec: ExternalDNSSpec, wanted: dict[str, Any], where: str
) -> Effective | None:
    new = copy.deepcopy(item.data)
    containers = containers_of(new)
    ref = ref_of(item)
    if containers is None:
        ctx.report(
            r.error(
                f"{ref.describe()} must have `spec.template.spec.containers`",
                resource=ref,
                field="spec.template.spec.containers",
                file=item.path,
            )
        )
        return None
    index = pick_container(containers, spec.container)
    if index is None:
        names = ", ".join(str(c.get("name")) for c in containers if isinstance(c, dict))
        wanted_name = repr(spec.container) if spec.container else f"{CONTAINER!r} (or a single container)"
        ctx.report(
            r.error(
                f"{ref.describe()} must have a container named {wanted_name}; it has {names or 'none'} "
                f"(set `{where}.container`)",
                resource=ref,
                field="spec.template.spec.containers",
                file=item.path,
            )
        )
        return None
    container = containers[index]
    key = args_key(container)
    args = container.get(key) or []
    if not isinstance(args, list):
        _not_a_mapping(ctx, item, f"spec.template.spec.containers[{index}].{key}")
        return None
    args = [str(a) for a in args]
    updated, changed = apply_args(args, wanted)
    if changed:
        container[key] = updated
        path = f"spec.template.spec.containers[{index}].{key}"
        if ctx.replace(item, new, "set " + ", ".join(f"`{flag}`" for flag in changed) + f" in `{path}`"):
            gone = removedzones.removed(flag_values(args, "--domain-filter")[0], wanted["domainFilters"])
            removedzones.warn(ctx, item, gone, f"{path} --domain-filter", scope=_scope(where), keep=_keep(where))
    out = effective_of_args(updated)
    out.changed = "--domain-filter" in changed
    out.unfiltered = not flag_values(args, "--domain-filter")[0]
    out.token = _token(container.get("env"))
    image = container.get("image")
    out.version = _version(image.rpartition(":")[2], "") if isinstance(image, str) and ":" in image else None
    return out


def containers_of(data: dict[str, Any]) -> list[Any] | None:
    """A Deployment's pod containers, or None when it has none."""
    node: Any = data
    for key in ("spec", "template", "spec", "containers"):
        node = node.get(key) if isinstance(node, dict) else None
    return node if isinstance(node, list) and node else None


def pick_container(containers: list[Any], name: str | None) -> int | None:
    """The external-dns container: the one named *name* (default ``external-dns``), else the only one."""
    named = [i for i, c in enumerate(containers) if isinstance(c, dict) and c.get("name") == (name or CONTAINER)]
    if named:
        return named[0]
    if name is None and len(containers) == 1 and isinstance(containers[0], dict):
        return 0
    return None


def args_key(container: dict[str, Any]) -> str:
    """Flags live in ``args`` unless the container passes them in ``command`` alone."""
    command = container.get("command")
    if "args" not in container and isinstance(command, list) and any(str(c).startswith("--") for c in command):
        return "command"
    return "args"


def flag_values(args: Sequence[str], flag: str) -> tuple[list[str], list[tuple[int, int]]]:
    """Values of ``--flag=v`` and ``--flag v`` in *args*, and the (start, length) of each."""
    values: list[str] = []
    spans: list[tuple[int, int]] = []
    i = 0
    while i < len(args):
        arg = args[i]
        if arg.startswith(flag + "="):
            values.append(arg[len(flag) + 1 :])
            spans.append((i, 1))
        elif arg == flag and i + 1 < len(args):
            values.append(args[i + 1])
            spans.append((i, 2))
            i += 1
        i += 1
    return values, spans


def apply_args(args: list[str], wanted: dict[str, Any]) -> tuple[list[str], list[str]]:
    """*args* with each wanted setting written as flags where the old ones stood; the flags changed."""
    out = list(args)
    changed = []
    for setting in SETTINGS:
        if setting.value not in wanted:
            continue
        value = wanted[setting.value]
        target = [str(v) for v in value] if setting.repeated else [str(value)]
        current, spans = flag_values(out, setting.flag)
        if current == target:
            continue
        at = spans[0][0] if spans else len(out)
        for start, length in reversed(spans):
            del out[start : start + length]
        out[at:at] = [f"{setting.flag}={v}" for v in target]
        changed.append(setting.flag)
    return out, changed


def effective_of_args(args: Sequence[str]) -> Effective:
    prefix, _ = flag_values(args, "--txt-prefix")
    provider, _ = flag_values(args, "--provider")
    return Effective(
        filters=flag_values(args, "--domain-filter")[0],
        excludes=flag_values(args, "--exclude-domains")[0],
        txt_prefix=prefix[-1] if prefix and prefix[-1] else None,
        regex=[flag for flag in REGEX_FLAGS if any(_is_flag(a, flag) for a in args)],
        sources=flag_values(args, "--source")[0],
        provider=provider[-1] if provider else None,
    )


# --- what the installation runs --------------------------------------------------------


def _joined(field_path: str, values_path: str | None) -> str:
    return f"{field_path}.{values_path}" if values_path else field_path


def _token(env: Any) -> str | None:
    """The Secret a Cloudflare credential variable comes from, as ``name (key k)``."""
    for entry in env if isinstance(env, list) else []:
        if not isinstance(entry, dict) or entry.get("name") not in CLOUDFLARE_ENV:
            continue
        value_from = entry.get("valueFrom")
        ref = value_from.get("secretKeyRef") if isinstance(value_from, dict) else None
        if isinstance(ref, dict) and isinstance(ref.get("name"), str):
            return f"{ref['name']} (key {ref.get('key')!s})"
    return None


def _version(text: Any, kind: str) -> tuple[int, int] | None:
    """external-dns's (major, minor) from an image tag ``v0.21.0``, or from the chart version ``1.21.1``
    (chart 1.N ships external-dns 0.N: charts/external-dns/Chart.yaml ``appVersion``)."""
    match = re.match(r"v?(\d+)\.(\d+)", str(text)) if text is not None else None
    if match is None:
        return None
    major, minor = int(match.group(1)), int(match.group(2))
    if kind == "chart":
        return (0, minor) if major == 1 else None
    return major, minor


def _chart_version(ctx: Context, item: Item) -> str | None:
    """A HelmRelease's chart version: ``spec.chart.spec.version``, or the tag of its OCIRepository."""
    version = dig(item.data, "spec", "chart", "spec", "version")
    if version is not None:
        return str(version)
    ref = dig(item.data, "spec", "chartRef")
    if isinstance(ref, dict) and ref.get("kind") == "OCIRepository" and isinstance(ref.get("name"), str):
        namespace = ref.get("namespace")
        found = ctx.find("OCIRepository", ref["name"], namespace if isinstance(namespace, str) else None)
        tag = dig(found[0].data, "spec", "ref", "tag") if len(found) == 1 else None
        return str(tag) if tag is not None else None
    return None


PATCHERS: dict[str, Callable[[Context, Item, ExternalDNSSpec, dict[str, Any], str], Effective | None]] = {
    "HelmRelease": _patch_chart_values,
    "HelmValues": _patch_chart_values,
    "Deployment": _patch_deployment,
    "Application": _patch_application,
}


# --- checks --------------------------------------------------------------------------


def _warn_regex(ctx: Context, item: Item, effective: Effective) -> None:
    """A regex flag makes external-dns ignore the filters krmfn writes (endpoint/domain_filter.go).

    ``--regex-domain-filter`` always does. ``--regex-domain-exclusion`` alone does from v0.21.0
    (before, it was dropped unless ``--regex-domain-filter`` was set), so it is warned about
    unless the installation is known to run an older release.
    """
    zones = ", ".join(effective.filters) or "none"
    if "regex-domain-filter" in effective.regex:
        ctx.report(
            r.warning(
                f"{subject(item)} sets `--regex-domain-filter`, which makes external-dns ignore `--domain-filter` and "
                f"`--exclude-domains` entirely, so the zones krmfn lists ({zones}) have no effect; remove it, or make "
                "sure its regex lets every zone through",
                resource=resource_of(item),
                file=item.path,
            )
        )
    elif "regex-domain-exclusion" in effective.regex and (
        effective.version is None or effective.version >= EXCLUSION_SWITCHES_FROM
    ):
        ctx.report(
            r.warning(
                f"{subject(item)} sets `--regex-domain-exclusion` without `--regex-domain-filter`: from external-dns "
                "v0.21.0 that alone switches to regex mode, which ignores `--domain-filter` and `--exclude-domains`, "
                f"so the zones krmfn lists ({zones}) have no effect and every name the exclusion does not match is "
                "managed; write the exclusion as `excludeDomains`, or add a `--regex-domain-filter` that lets every "
                "zone through",
                resource=resource_of(item),
                file=item.path,
            )
        )


def _warn_txt_prefix(ctx: Context, item: Item, effective: Effective, domains: Sequence[Domain]) -> None:
    prefix = effective.txt_prefix
    if prefix is None or ("%{record_type}" in prefix and prefix.endswith(".")):
        return
    apexes = published_apexes(ctx, domains, effective.sources)
    if not apexes:
        return
    names = ", ".join(f"{apex} ({source})" for apex, source in apexes.items())
    first = next(iter(apexes))
    ctx.report(
        r.warning(
            f"{subject(item)}: `txtPrefix` {prefix!r} must contain `%{{record_type}}` and end with a dot when an apex "
            f"record is published ({names}): the apex's ownership TXT record would be "
            f"{txt_name(prefix, first)!r}, outside the zone, and is silently dropped; use e.g. "
            "'k8s-%{record_type}.' (external-dns docs/registry/txt.md; changing the prefix orphans existing "
            "TXT records)",
            resource=resource_of(item),
            file=item.path,
        )
    )


def _warn_token(ctx: Context, item: Item, effective: Effective) -> None:
    """The cluster-template scopes external-dns's Cloudflare token to one zone, as cert-manager's.

    Said when the zones change, the moment the token must be widened. An installation that had
    no filter already managed every zone its token can read: the token is not narrower than
    before, and what changes is that it now manages the listed zones only (an info).
    """
    if effective.changed and effective.unfiltered:
        _note_first_filter(ctx, item, effective)
        return
    if effective.provider != "cloudflare" or not effective.changed or len(effective.filters) < 2:
        return
    secret = f"in Secret {effective.token}" if effective.token else "it uses"
    ctx.report(
        r.warning(
            f"{subject(item)}: the Cloudflare API token {secret} must be allowed to edit DNS in every zone this "
            f"installation now filters ({', '.join(effective.filters)}); a token scoped to one zone, as "
            "cluster-template creates it, cannot see the others",
            resource=resource_of(item),
            file=item.path,
        )
    )


def _note_first_filter(ctx: Context, item: Item, effective: Effective) -> None:
    zones = ", ".join(effective.filters)
    ctx.report(
        r.info(
            f"{subject(item)} had no domain filter, so it managed every zone its credentials can read; it now "
            f"manages {zones} only (records in other zones are left as they are and no longer updated: external-dns "
            "reads only the zones its filter admits). Its credentials must be allowed to edit each of these zones",
            resource=resource_of(item),
            file=item.path,
        )
    )


def txt_name(prefix: str, name: str, record_type: str = "cname") -> str:
    """The TXT registry name external-dns writes for *name* (registry/mapper/mapper.go)."""
    first, _, rest = name.partition(".")
    if "%{record_type}" in prefix:
        label = prefix.replace("%{record_type}", record_type) + first
    else:
        label = f"{prefix}{record_type}-{first}"
    return f"{label}.{rest}" if rest else label


def published_apexes(ctx: Context, domains: Sequence[Domain], sources: Sequence[str] | None) -> dict[str, str]:
    """Each zone apex a record is published for, with what publishes it, as far as *sources* read it.

    Routes (``gateway-httproute``, ``gateway-grpcroute``), Ingresses (``ingress``) and DNSEndpoints
    (``crd``: those in the input and those krmfn generates) name hostnames; a tunnel's apex rule
    publishes nothing by itself.
    """
    wanted = set(sources) if sources is not None else set(CHART_SOURCES)
    apexes = {d.name.text for d in domains}
    found: dict[str, str] = {}

    def seen(name: Any, source: str) -> None:
        host = str(name).rstrip(".")
        if host in apexes:
            found.setdefault(host, source)

    for kind, source in (("HTTPRoute", "gateway-httproute"), ("GRPCRoute", "gateway-grpcroute")):
        if source not in wanted:
            continue
        for item in ctx.of_kind([kind], group=ROUTE_GROUP):
            if any(item.mentions(a) for a in apexes):
                spec = item.data.get("spec")
                hostnames = spec.get("hostnames") if isinstance(spec, dict) else None
                for host in hostnames if isinstance(hostnames, list) else []:
                    seen(host, f"{kind} {item.header.name}")
    if "ingress" in wanted:
        for item in ctx.of_kind(["Ingress"], group="networking.k8s.io"):
            if any(item.mentions(a) for a in apexes):
                spec = item.data.get("spec")
                for rule in (spec.get("rules") if isinstance(spec, dict) else None) or []:
                    if isinstance(rule, dict):
                        seen(rule.get("host"), f"Ingress {item.header.name}")
    if "crd" in wanted:
        endpoints = [i.data for i in ctx.of_kind(["DNSEndpoint"]) if any(i.mentions(a) for a in apexes)]
        endpoints += [g.data for g in ctx.generated if g.data.get("kind") == "DNSEndpoint"]
        for data in endpoints:
            spec = data.get("spec")
            for endpoint in (spec.get("endpoints") if isinstance(spec, dict) else None) or []:
                if isinstance(endpoint, dict):
                    seen(endpoint.get("dnsName", ""), f"DNSEndpoint {data.get('metadata', {}).get('name')}")
    return found


def lets_through(effective: Effective, zone: str) -> bool:
    """Whether records at *zone*'s apex pass the installation's filter (endpoint/domain_filter.go)."""
    if effective.regex:
        return True  # a regex filter is not evaluated here; the regex warning covers it
    return _matches(effective.filters, zone, True) and not _matches(effective.excludes, zone, False)


def _matches(filters: Sequence[str], name: str, empty: bool) -> bool:
    cleaned = [f.strip().lower().rstrip(".") if "$" not in f else f.strip().rstrip(".") for f in filters]
    cleaned = [f for f in cleaned if f]
    if not cleaned:
        return empty
    name = name if "$" in name else name.lower()
    for f in cleaned:
        if f.startswith("."):
            if name.endswith(f):
                return True
        elif name == f or name.endswith("." + f):
            return True
    return False


def _warn_unfiltered(ctx: Context, ordered: Sequence[Domain], outcome: Sequence[Effective]) -> None:
    for domain in ordered:
        if not any(lets_through(e, domain.name.text) for e in outcome):
            ctx.report(
                r.warning(
                    f"zone {domain.name} is let through by no installation in `spec.externalDNS`, so external-dns "
                    "creates no record in it; add it to an installation's `domains`, or drop it from `excludeDomains`",
                    field=f"{domain.field}.name",
                    resource=ctx.config_ref,
                )
            )
