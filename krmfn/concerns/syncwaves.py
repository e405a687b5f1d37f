"""Argo CD sync waves on what the function generates (``spec.syncWaves``; off unless set).

Argo CD applies a wave only after every resource of the lower waves is healthy, so a wave
per kind gives the order the multi-cluster seed uses: Secrets first, then cert-manager
issuers and Certificates, then the gateway's, external-dns', and last the routes and their
DNSEndpoints, so that no record is published before its certificate and gateway exist.

Only generated resources get a wave: input resources are the user's to annotate. This
concern runs last, over everything the other concerns generated.
"""

from __future__ import annotations

from typing import Any

from krmfn.context import Context, Generated

ANNOTATION = "argocd.argoproj.io/sync-wave"

#: The seed's order, by kind. The admission policy goes before anything it checks; the
#: expiry alert rule depends on nothing and goes with the Certificates it watches.
DEFAULT_WAVES: dict[str, int] = {
    "Secret": -1,
    "ValidatingAdmissionPolicy": -1,
    "ValidatingAdmissionPolicyBinding": -1,
    "ClusterPolicy": -1,
    "ClusterIssuer": 0,
    "Issuer": 0,
    "Certificate": 0,
    "PrometheusRule": 0,
    "Gateway": 1,
    "ReferenceGrant": 1,
    "HelmRelease": 2,
    "Deployment": 2,
    "Application": 2,
    "HTTPRoute": 3,
    "GRPCRoute": 3,
    "Ingress": 3,
    "DNSEndpoint": 3,
}


def waves(overrides: dict[str, int | None]) -> dict[str, int]:
    """The defaults with *overrides* applied; a ``None`` override removes the kind."""
    merged: dict[str, int | None] = {**DEFAULT_WAVES, **overrides}
    return {kind: wave for kind, wave in merged.items() if wave is not None}


def stamp(ctx: Context) -> None:
    """Annotate every generated resource whose kind has a wave."""
    spec = ctx.config.spec.sync_waves
    if spec is None:
        return
    table = waves(spec.waves)
    ctx.generated = [_stamped(g, table) for g in ctx.generated]


def _stamped(gen: Generated, table: dict[str, int]) -> Generated:
    wave = table.get(str(gen.data.get("kind")))
    if wave is None:
        return gen
    # a concern's dict may be shared with its own bookkeeping: build new mappings, never edit in place
    meta: dict[str, Any] = dict(gen.data["metadata"])
    meta["annotations"] = {**meta.get("annotations", {}), ANNOTATION: str(wave)}
    return Generated({**gen.data, "metadata": meta}, gen.file)
