"""``krmfn init``: a MultiDomain that describes what a repository already has.

:mod:`~krmfn.adopt.survey` reads the input with the concerns' own readers (how external-dns
filters, the cloudflared ``config.yaml``, issuer zones and listener refs are read is decided
once, in :mod:`krmfn.concerns`) and returns the config as plain data, with where each value
was found and what it could not decide. :mod:`~krmfn.adopt.emit` writes it as commented YAML.
:func:`describe` then renders the input with that config, without writing anything, so that
the file's head says exactly what a first render would change.

It reads manifests and writes a config, and it runs the expansion: it sits above the
concerns, beside :mod:`krmfn.plan`. May import: :mod:`krmfn.errors`, :mod:`krmfn.krm`,
:mod:`krmfn.api`, :mod:`krmfn.concerns`, :mod:`krmfn.expand` and its own modules; never
:mod:`krmfn.cli` (``tests/test_layers.py``).
"""

from __future__ import annotations

from collections.abc import Sequence

from krmfn.adopt.emit import emit
from krmfn.adopt.survey import Survey, survey
from krmfn.api.config import load_config
from krmfn.errors import ConfigError, KrmfnError
from krmfn.expand import expand
from krmfn.krm import results as r
from krmfn.krm.item import Item
from krmfn.krm.results import Result

__all__ = ["describe", "dry_run"]

#: The results of an expansion that say it changed something (the rest are checks).
CHANGES = ("patched", "generated", "pruned", "updated", "adopted")


def describe(items: Sequence[Item], name: str | None = None) -> tuple[str, list[Result]]:
    """The MultiDomain text for *items*, and the results to print (warnings, never the config's)."""
    found = survey(items, name=name)
    results = [r.warning(q) for q in found.problems]
    if not found.config["spec"]["domains"]:
        results.append(
            r.error(
                "the input must name at least one domain for `krmfn init` to describe: no Certificate, "
                "ClusterIssuer `dnsZones`, external-dns filter, k8s_gateway `domain` or cloudflared wildcard rule "
                "was found"
            )
        )
        return "", results
    found.render_changes, found.render_warnings = dry_run(found, items)
    return emit(found), results


def dry_run(found: Survey, items: Sequence[Item]) -> tuple[list[str], list[str]]:
    """What a first render with the surveyed config would change in *items*, and what it would warn about."""
    try:
        config = load_config(found.config)
    except ConfigError as exc:
        return [], [f"! the config is not complete: `{p.path}` {p.message}" for p in exc.problems]
    try:
        expansion = expand(config, list(items), config_path=found.config_path)
    except KrmfnError as exc:  # an input the expansion cannot take yet: the render fails the same way
        return [], [f"! {exc}"]
    changes, warnings = [], []
    for res in expansion.results:
        if res.severity != "info":
            warnings.append(f"{'! ' if res.severity == 'error' else ''}{res.message}")
        elif res.message.startswith(CHANGES):
            changes.append(res.message)
    return changes, warnings
