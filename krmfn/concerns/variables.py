"""Flux post-build variables: every one the config uses must be defined (SPEC §9).

Flux substitutes ``${VAR}`` from the ``cluster-secrets`` Secret after rendering. A missing
key renders as an empty string (kustomize-controller before v1.9) or fails the
reconciliation (v1.9 and later). Key names are readable even in a SOPS-encrypted Secret,
because SOPS encrypts only the values.
"""

from __future__ import annotations

from krmfn.context import Context, ref_of
from krmfn.krm import results as r

SECRET_NAME = "cluster-secrets"  # noqa: S105 - the name of a Secret, not a secret


def check(ctx: Context) -> None:
    used = sorted({d.name.variable for d in ctx.config.domains if d.name.variable})
    if not used:
        return
    sources = [i for i in ctx.of_kind(["Secret", "ConfigMap"]) if i.header.name == SECRET_NAME]
    if not sources:
        return  # the variables come from somewhere the function cannot see
    defined: set[str] = set()
    for item in sources:
        for key in ("data", "stringData"):
            block = item.data.get(key)
            if isinstance(block, dict):
                defined.update(str(k) for k in block)
    for variable in used:
        if variable not in defined:
            where = ", ".join(ref_of(s).describe() for s in sources)
            ctx.report(
                r.error(
                    f"Flux variable ${{{variable}}} is used by a domain but is not a key of {where}; "
                    "add it there, or Flux renders it as an empty string (or fails, from kustomize-controller v1.9)",
                    resource=ctx.config_ref,
                    field=next(d.field + ".name" for d in ctx.config.domains if d.name.variable == variable),
                )
            )
