"""The values files of local wrapper charts, read as installations for ``kind: HelmValues`` entries.

Repositories that keep no HelmRelease or Application in git (Argo CD wrapper charts made into
Applications by an ApplicationSet) configure external-dns and cloudflared in a ``values.yaml``
(or ``values.<cluster>.yaml``) beside a ``Chart.yaml`` that depends on the upstream chart; Helm
passes the subchart only the values under its key (the dependency's ``alias``, else its name).
The chart and its keys are read with :mod:`krmfn.concerns.chartvalues`, as the render reads them.
"""

from __future__ import annotations

import posixpath
import re
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from krmfn.api.config import HELM_VALUES
from krmfn.concerns.chartvalues import CHART_FILE, Paths, chart_file, dependencies, dig
from krmfn.krm.item import Header, Item

_VALUES_FILE = re.compile(r"^values(\.(?P<variant>[^/]+))?\.yaml$")
_K8S_NAME = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$")


@dataclass(frozen=True)
class ChartValues:
    """The values one subchart reads from a values file."""

    item: Item
    header: Header
    #: The key Helm passes the subchart its values under (the config's ``valuesPath``).
    key: str
    #: The upstream chart the dependency names.
    chart: str
    values: dict[str, Any]
    #: Where the key was read: ``dependency 'x' of dir/Chart.yaml``.
    origin: str


def chart_values(items: list[Item], paths: Paths, upstream: str) -> Iterator[ChartValues]:
    """Each values file among *items* whose ``Chart.yaml`` depends on *upstream*, with that subchart's values."""
    for item in items:
        path = item.path or ""
        match = _VALUES_FILE.match(posixpath.basename(path))
        chart = chart_file(paths, item) if match else None
        if match is None or chart is None or not isinstance(item.value, dict):
            continue
        for key, name in dependencies(chart).items():
            values = item.value.get(key)
            if name == upstream and isinstance(values, dict):
                yield ChartValues(
                    item,
                    Header("", HELM_VALUES, _release_name(chart, path, match.group("variant")), ""),
                    key,
                    name,
                    values,
                    f"the dependency {key!r} of {posixpath.join(posixpath.dirname(path), CHART_FILE)}",
                )


def _release_name(chart: Item, path: str, variant: str | None) -> str:
    """The chart's name (an ApplicationSet names the Application after it or its directory), with the
    variant of ``values.<variant>.yaml`` so that two clusters' files of one chart are told apart."""
    name = dig(chart.value, "name")
    base = name if isinstance(name, str) and _K8S_NAME.match(name) else posixpath.basename(posixpath.dirname(path))
    named = f"{base}-{variant}" if variant else base
    return named if _K8S_NAME.match(named) and len(named) <= 63 else base
