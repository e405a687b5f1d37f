"""Who publishes which DNS record: the external-dns installations, what each reads, every record in the tree.

external-dns publishes a name only from the sources it runs (``--source``, chart value
``sources``, default ``[service, ingress]``) and only where its domain filter admits it
(external-dns ``docs/sources/*.md``, ``source/gateway.go``, ``source/crd.go``,
``endpoint/domain_filter.go``):

- ``crd``: every endpoint of every DNSEndpoint;
- ``gateway-httproute`` / ``gateway-grpcroute``: each hostname of a route attached to a Gateway
  it selects (``--gateway-name``, ``--gateway-namespace``, ``--gateway-label-filter``, a
  Kubernetes label selector on the Gateway's labels), with that Gateway's ``…/target``
  annotation, unless the route's ``…/controller`` annotation names another controller;
- ``service``: the ``…/hostname`` annotation of a LoadBalancer Service (a Gateway's
  ``spec.infrastructure.annotations`` land on the Service its implementation creates);
- ``ingress``: the hosts of Ingresses.

An installation's filters are taken as krmfn leaves them: the zones its ``spec.externalDNS``
entry gets. k8s_gateway answers LAN queries for route hostnames and Service ``…/hostname``
annotations of its zones, so a name a Gateway's infrastructure annotation lists is
published on the LAN when split horizon is configured.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from krmfn.api.config import HELM_VALUES, ExternalDNSSpec
from krmfn.api.names import parse_domain
from krmfn.concerns.chartvalues import find_installation, values_of
from krmfn.concerns.routes import GATEWAY_GROUP
from krmfn.context import Context, ref_of, resource_of
from krmfn.errors import InputError
from krmfn.krm.item import Item
from krmfn.krm.results import ResourceRef
from krmfn.krm.yamltext import load

#: The external-dns chart's default `sources` (charts/external-dns/values.yaml).
CHART_SOURCES = ("service", "ingress")
ROUTE_SOURCES = {"HTTPRoute": "gateway-httproute", "GRPCRoute": "gateway-grpcroute"}
CRD = "crd"
REGEX_FLAGS = ("regex-domain-filter", "regex-domain-exclusion")


@dataclass(frozen=True)
class Installation:
    """One configured external-dns: what it reads and which names it lets through."""

    field: str
    kind: str
    name: str
    namespace: str | None
    #: Its ``--source`` values; None when its resource is not in the input (another result says so).
    sources: frozenset[str] | None
    filters: tuple[str, ...]
    excludes: tuple[str, ...]
    regex: bool
    gateway_name: str | None
    gateway_namespace: str | None
    #: ``--gateway-label-filter``: a label selector (``type=external``, ``tier in (a,b)``, ``!internal``).
    gateway_labels: str | None
    #: ``--cloudflare-proxied``: the default of every record it writes without a provider-specific setting.
    proxied: bool | None
    ref: ResourceRef | None = None
    #: The values file of a ``HelmValues`` installation.
    file: str | None = None

    def describe(self) -> str:
        if self.file is not None:
            return f"values file {self.file}"
        where = f"{self.namespace}/{self.name}" if self.namespace else self.name
        return f"{self.kind} {where}"

    def reads(self, source: str) -> bool:
        return self.sources is not None and source in self.sources

    def admits(self, name: str) -> bool:
        """Whether *name* passes the domain filter (a regex filter is not evaluated: it admits)."""
        if self.regex:
            return True
        return _matches(self.filters, name, empty=True) and not _matches(self.excludes, name, empty=False)

    def selects(self, gateway: str, namespace: str | None, labels: dict[str, Any] | None = None) -> bool:
        """Whether its gateway sources read routes attached to this Gateway (*labels*: the Gateway's)."""
        by_name = self.gateway_name is None or self.gateway_name == gateway
        by_namespace = self.gateway_namespace is None or namespace in (None, self.gateway_namespace)
        by_labels = self.gateway_labels is None or selector_matches(self.gateway_labels, labels or {})
        return by_name and by_namespace and by_labels


def gateway_labels(ctx: Context, name: str, namespace: str | None) -> dict[str, Any]:
    """The labels of the one Gateway of that name, for :meth:`Installation.selects` (none when not found)."""
    found = ctx.find("Gateway", name, namespace, GATEWAY_GROUP)
    if len(found) != 1:
        return {}
    metadata = found[0].data.get("metadata")
    labels = metadata.get("labels") if isinstance(metadata, dict) else None
    return labels if isinstance(labels, dict) else {}


def selector_matches(selector: str, labels: dict[str, Any]) -> bool:
    """Whether *labels* satisfy a Kubernetes label selector string (apimachinery ``labels.Parse``).

    Requirements are comma-separated (commas inside ``( … )`` belong to a set): ``k=v``,
    ``k==v``, ``k!=v``, ``k in (a,b)``, ``k notin (a,b)``, ``k`` (exists), ``!k`` (absent).
    """
    values = {str(k): str(v) for k, v in labels.items()}
    return all(_requirement(part.strip(), values) for part in _split_requirements(selector) if part.strip())


def _split_requirements(selector: str) -> list[str]:
    parts, depth, start = [], 0, 0
    for i, char in enumerate(selector):
        depth += char == "("
        depth -= char == ")"
        if char == "," and depth == 0:
            parts.append(selector[start:i])
            start = i + 1
    return [*parts, selector[start:]]


def _requirement(text: str, labels: dict[str, str]) -> bool:
    if text.startswith("!"):
        return text[1:].strip() not in labels
    for op in ("!=", "==", "="):
        key, found, value = text.partition(op)
        if found:
            equal = labels.get(key.strip()) == value.strip()
            return not equal if op == "!=" else equal
    words = text.split(None, 1)
    if len(words) == 2 and words[1].split("(", 1)[0].strip() in ("in", "notin"):
        op, _, rest = words[1].partition("(")
        members = {m.strip() for m in rest.rstrip().removesuffix(")").split(",")}
        present = labels.get(words[0]) in members
        return present if op.strip() == "in" else not present
    return text in labels


def _fold(name: str) -> str:
    return name if "$" in name else name.strip().rstrip(".").lower()


def _matches(filters: Sequence[str], name: str, *, empty: bool) -> bool:
    cleaned = [_fold(f) for f in filters if f.strip()]
    if not cleaned:
        return empty
    name = _fold(name)
    return any(name.endswith(f) if f.startswith(".") else (name == f or name.endswith("." + f)) for f in cleaned)


# --- installations ---------------------------------------------------------------------


def installations(ctx: Context) -> list[Installation]:
    """Every ``spec.externalDNS`` entry, read from its resource and the settings krmfn writes."""
    out = []
    ordered = sorted(ctx.config.domains, key=lambda d: d.index)
    for i, spec in enumerate(ctx.config.spec.external_dns):
        zones = _zones(spec, [d.name.text for d in ordered])
        found = find_installation(ctx, spec)
        read = _read(found[0], spec) if len(found) == 1 else None
        sources = frozenset(spec.sources) if spec.sources is not None else (read or {}).get("sources")
        excludes = spec.exclude_domains if spec.exclude_domains is not None else (read or {}).get("excludes", [])
        out.append(
            Installation(
                field=f"spec.externalDNS[{i}]",
                kind=spec.kind,
                name=spec.name,
                namespace=spec.namespace,
                sources=frozenset(sources) if sources is not None else None,
                filters=tuple(zones),
                excludes=tuple(excludes),
                regex=bool((read or {}).get("regex")),
                gateway_name=(read or {}).get("gateway-name"),
                gateway_namespace=(read or {}).get("gateway-namespace"),
                gateway_labels=(read or {}).get("gateway-label-filter"),
                proxied=(read or {}).get("proxied"),
                ref=resource_of(found[0]) if len(found) == 1 else None,
                file=spec.file,
            )
        )
    return out


def _zones(spec: ExternalDNSSpec, all_zones: list[str]) -> list[str]:
    if spec.domains is None:
        return all_zones
    wanted = set()
    for raw in spec.domains:
        try:
            wanted.add(parse_domain(raw).text)
        except ValueError:
            continue  # the external-dns concern reports it
    return [z for z in all_zones if z in wanted]


def _read(item: Item, spec: ExternalDNSSpec) -> dict[str, Any] | None:
    """sources, excludes, regex, gateway filters and the proxied default of one installation's resource."""
    try:
        if spec.kind == "Deployment":
            return _from_args(_deployment_args(item.data, spec.container))
        values = _values(item.value if spec.kind == HELM_VALUES else item.data, spec.kind)
    except InputError:
        return None  # the external-dns concern reports what it cannot read
    for key in (getattr(spec, "values_path", None) or "").split("."):
        if key and values is not None:
            child = values.get(key)
            values = child if isinstance(child, dict) else {}
    if values is None:
        return None
    sources = values.get("sources")
    out = _from_extra_args(values.get("extraArgs"))
    out["sources"] = frozenset(str(s) for s in sources) if isinstance(sources, list) else frozenset(CHART_SOURCES)
    out["excludes"] = [str(x) for x in values.get("excludeDomains") or []]
    return out


def _values(data: Any, kind: str) -> dict[str, Any] | None:
    if kind == HELM_VALUES:
        return values_of(data, kind)[0]
    spec = data.get("spec")
    if not isinstance(spec, dict):
        return None
    if kind == "HelmRelease":
        return values_of(data, kind)[0] or {}
    sources = [spec["source"]] if isinstance(spec.get("source"), dict) else spec.get("sources") or []
    helm = [s["helm"] for s in sources if isinstance(s, dict) and isinstance(s.get("helm"), dict)]
    if len(helm) != 1:
        return None
    if isinstance(helm[0].get("valuesObject"), dict):
        return helm[0]["valuesObject"]  # type: ignore[no-any-return]
    text = helm[0].get("values")
    loaded = load(text, "helm.values") if isinstance(text, str) and text.strip() else {}
    return loaded if isinstance(loaded, dict) else None


def _from_extra_args(extra: Any) -> dict[str, Any]:
    """The chart's ``extraArgs``: a list of flags, or a map (``key: value`` → ``--key=value``)."""
    if isinstance(extra, dict):
        args: list[str] = []
        for key, value in extra.items():
            flag = str(key) if str(key).startswith("--") else f"--{key}"
            if value is True:
                args.append(flag)
            elif isinstance(value, list):
                args += [f"{flag}={v}" for v in value]
            elif value is not False and value is not None:
                args.append(f"{flag}={value}")
        return _from_args(args)
    return _from_args([str(a) for a in extra] if isinstance(extra, list) else [])


def _from_args(args: Sequence[str]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    sources = _flag(args, "--source")
    if sources:
        out["sources"] = frozenset(sources)
    out["excludes"] = _flag(args, "--exclude-domains")
    out["regex"] = any(_flag(args, f"--{f}") or f"--{f}" in args for f in REGEX_FLAGS)
    for name in ("gateway-name", "gateway-namespace", "gateway-label-filter"):
        values = _flag(args, f"--{name}")
        if values:
            out[name] = values[-1]
    proxied = [a for a in args if a == "--cloudflare-proxied" or a.startswith("--cloudflare-proxied=")]
    if proxied:
        out["proxied"] = proxied[-1].partition("=")[2].lower() in ("", "true")
    return out


def _flag(args: Sequence[str], flag: str) -> list[str]:
    """Values of ``--flag=v`` and ``--flag v``."""
    out = []
    for i, arg in enumerate(args):
        if arg.startswith(flag + "="):
            out.append(arg[len(flag) + 1 :])
        elif arg == flag and i + 1 < len(args) and not args[i + 1].startswith("--"):
            out.append(args[i + 1])
    return out


def _deployment_args(data: dict[str, Any], name: str | None) -> list[str]:
    node: Any = data
    for key in ("spec", "template", "spec", "containers"):
        node = node.get(key) if isinstance(node, dict) else None
    containers = [c for c in node or [] if isinstance(c, dict)] if isinstance(node, list) else []
    chosen = [c for c in containers if c.get("name") == (name or "external-dns")]
    if not chosen and name is None and len(containers) == 1:
        chosen = containers
    if not chosen:
        return []
    args = chosen[0].get("args") or chosen[0].get("command") or []
    return [str(a) for a in args] if isinstance(args, list) else []


# --- records ---------------------------------------------------------------------------


@dataclass(frozen=True)
class Endpoint:
    """One endpoint of a DNSEndpoint in the tree (the user's, or one krmfn generates)."""

    name: str
    type: str
    targets: tuple[str, ...]
    #: The provider-specific Cloudflare proxy setting, if the endpoint has one.
    proxied: bool | None
    resource: ResourceRef
    generated: bool
    file: str | None = None

    def describe(self) -> str:
        return f"{self.type} {', '.join(self.targets)}"

    def same_record(self, record_type: str, targets: Iterable[str]) -> bool:
        return self.type == record_type and sorted(_fold(t) for t in self.targets) == sorted(_fold(t) for t in targets)


def endpoints(ctx: Context) -> dict[str, list[Endpoint]]:
    """Every DNSEndpoint endpoint, by folded name: the input's, then the ones generated so far."""
    prefix = ctx.config.spec.external_dns_annotation_prefix
    out: dict[str, list[Endpoint]] = {}
    sources: list[tuple[dict[str, Any], ResourceRef, bool, str | None]] = []
    for item in ctx.of_kind(["DNSEndpoint"]):
        h = item.header
        ref = ResourceRef(h.api_version, h.kind, h.name, h.namespace or ctx.namespace_of(item))
        sources.append((item.data, ref, False, item.path))
    for gen in ctx.generated:
        if gen.data.get("kind") == "DNSEndpoint":
            meta = gen.data["metadata"]
            ref = ResourceRef(gen.data["apiVersion"], "DNSEndpoint", meta["name"], meta.get("namespace"))
            sources.append((gen.data, ref, True, None))
    for data, ref, generated, path in sources:
        for endpoint in endpoints_of(data, prefix):
            out.setdefault(_fold(endpoint[0]), []).append(Endpoint(*endpoint, ref, generated, path))
    return out


def endpoints_of(data: dict[str, Any], prefix: str) -> list[tuple[str, str, tuple[str, ...], bool | None]]:
    """(name, type, targets, proxied) of each well-formed endpoint of a DNSEndpoint's data."""
    spec = data.get("spec")
    out = []
    for ep in (spec.get("endpoints") if isinstance(spec, dict) else None) or []:
        if not isinstance(ep, dict) or not isinstance(ep.get("dnsName"), str):
            continue
        targets = tuple(str(t) for t in ep.get("targets") or [] if isinstance(t, str | int))
        out.append((ep["dnsName"], str(ep.get("recordType", "A")), targets, _proxied(ep, prefix)))
    return out


def _proxied(endpoint: dict[str, Any], prefix: str) -> bool | None:
    for entry in endpoint.get("providerSpecific") or []:
        if isinstance(entry, dict) and entry.get("name") in (f"{prefix}cloudflare-proxied", "cloudflare-proxied"):
            return str(entry.get("value")).lower() == "true"
    return None


def infrastructure_hostnames(ctx: Context) -> dict[str, list[ResourceRef]]:
    """Names listed in Gateways' ``spec.infrastructure.annotations`` ``…/hostname`` (the LB Service's)."""
    key = f"{ctx.config.spec.external_dns_annotation_prefix}hostname"
    out: dict[str, list[ResourceRef]] = {}
    for item in ctx.of_kind(["Gateway"], group=GATEWAY_GROUP):
        if not item.mentions("infrastructure"):
            continue
        spec = item.data.get("spec")
        infra = spec.get("infrastructure") if isinstance(spec, dict) else None
        annotations = infra.get("annotations") if isinstance(infra, dict) else None
        value = annotations.get(key) if isinstance(annotations, dict) else None
        for name in str(value or "").split(","):
            if name.strip():
                out.setdefault(_fold(name), []).append(ref_of(item))
    return out


def fold(name: str) -> str:
    """A DNS name for comparison: no trailing dot, lower-cased unless it holds a Flux variable."""
    return _fold(name)
