"""Split-horizon DNS: k8s_gateway answers for every split-horizon zone (SPEC §8).

The k8s_gateway plugin takes every argument after its name as a zone (``setup.go``:
``gw.Zones = c.RemainingArgs()``), and the chart writes ``values.domain`` verbatim into
that line (``templates/configmap.yaml``), so ``domain: "a.com b.org"`` serves both zones.
The chart's ``dnsChallenge`` helper builds one regex from the whole ``domain`` string,
which never matches once it holds a space.
"""

from __future__ import annotations

import copy
from typing import Any

from krmfn.concerns import removedzones
from krmfn.concerns.chartvalues import chart_of, locate, warn_unless_upstream
from krmfn.context import Context, ref_of
from krmfn.krm import results as r

GROUP = "helm.toolkit.fluxcd.io"
FIELD = "spec.splitHorizon"
#: The k8s_gateway chart's names (ori-edge/k8s_gateway and its k8s-gateway/k8s_gateway fork).
UPSTREAM = ("k8s-gateway", "k8s_gateway")


def zones_of(values: dict[str, Any]) -> list[str]:
    """The zones k8s_gateway serves: ``values.domain``, space-separated."""
    return str(values.get("domain") or "").split()


def reconcile(ctx: Context) -> None:
    """Set the k8s_gateway HelmRelease's ``values.domain`` to the split-horizon zones."""
    spec = ctx.config.spec.split_horizon
    if spec is None:
        return
    zones = [d.name.text for d in sorted(ctx.config.domains, key=lambda d: d.index) if d.split_horizon]
    item = ctx.target(spec.kind, spec.name, spec.namespace, FIELD, group=GROUP)
    if item is None:
        return
    ref = ref_of(item)
    if not zones:
        ctx.report(
            r.warning(
                f"{ref.describe()} is left as it is: no domain has `splitHorizon: true`, and k8s_gateway needs at "
                "least one zone in `values.domain`",
                resource=ref,
                field=FIELD,
                file=item.path,
            )
        )
        return
    new = copy.deepcopy(item.data)
    body = new.get("spec")
    if not isinstance(body, dict) or not isinstance(body.get("values") or {}, dict):
        message = f"{ref.describe()}: `spec.values` must be a mapping"
        ctx.report(r.error(message, resource=ref, field="spec.values", file=item.path))
        return
    if body.get("values") is None:
        body["values"] = {}
    values = locate(
        ctx, item, body["values"], values_path=spec.values_path, key="domain", where=FIELD, field="spec.values"
    )
    if values is None:
        return
    warn_unless_upstream(ctx, item, chart_of(ctx, item), UPSTREAM, values_path=spec.values_path, where=FIELD)
    field = f"spec.values.{spec.values_path}" if spec.values_path else "spec.values"
    before = zones_of(values)
    if before != zones:
        values["domain"] = " ".join(zones)
        if ctx.replace(item, new, f"set `{field}.domain` to {values['domain']!r}"):
            removedzones.warn(
                ctx,
                item,
                removedzones.removed(before, zones),
                f"{field}.domain",
                scope="as split-horizon zones",
                keep="add them to `spec.domains` (with `splitHorizon: true`) to keep them",
            )
    challenge = values.get("dnsChallenge")
    if len(zones) > 1 and isinstance(challenge, dict) and challenge.get("enabled") is True:
        ctx.report(
            r.warning(
                f"{ref.describe()}: `{field}.dnsChallenge.enabled` must be false with more than one zone: "
                f"the chart builds its `_acme-challenge` regex from the whole `domain` value ({values['domain']!r}), "
                "which then contains a space and never matches",
                resource=ref,
                field=f"{field}.dnsChallenge.enabled",
                file=item.path,
            )
        )
