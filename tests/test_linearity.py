"""The CI proxy for linear work (issue 14): count calls, not seconds.

``bench/run.py`` times krmfn on 1,000 and 10,000 routes; growth stays near ten times only while
nothing scans every item once per route, per hostname or per domain. A timing cannot be
asserted here (CI machines are shared and vary), but the number of times each function is
called on a given input is the same on any machine. So each input below is rendered at two
sizes under cProfile, and no function (krmfn's, the standard library's, a builtin) may be
called more than the input grew, with a little slack: a lookup that scans the items
(``Context.find`` before it had an index, the layout building one directory once per file
below it) shows at once as a function called ratio² times more often.

The inputs are the benchmark's (``bench/inputs.py``, ``bench/layouts.py``) in the steady
state a re-render sees (the function's own output after one run), as kpt sends them.
"""

from __future__ import annotations

import cProfile
import pstats
import sys
from collections.abc import Callable
from pathlib import Path

import pytest

import krmfn.cli

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "bench"))
import inputs  # bench/inputs.py
import layouts  # bench/layouts.py

#: Growth allowed beyond the input's: fixed costs make real growth smaller, never larger.
SLACK = 1.1
#: Functions called fewer times than this at the larger size are not judged (start-up, config).
FLOOR = 200

Key = tuple[str, int, str]


def _steady(data: bytes) -> bytes:
    out, code = krmfn.cli.run(data)
    assert code == 0, out[-2000:]
    return out.encode()


def _calls(data: bytes) -> dict[Key, int]:
    """How many times each function is called while krmfn renders *data*."""
    profile = cProfile.Profile()
    profile.enable()
    _, code = krmfn.cli.run(data)
    profile.disable()
    assert code == 0
    stats = pstats.Stats(profile).stats  # type: ignore[attr-defined]
    return {key: value[1] for key, value in stats.items()}


def _items(data: bytes) -> int:
    return data.count(b"\n- ") + data.startswith(b"- ")


def _synthetic(size: int, _: Path) -> bytes:
    """*size* items of which a fixed 65 are managed (60 domains): only the unmanaged ones grow."""
    return inputs.resource_list(size, managed_fraction=65 / size).encode()


def _routes(size: int, tmp: Path) -> bytes:
    tree = layouts.routes_tree(tmp / f"routes-{size}", size)
    return layouts.source(tree, layouts.CLUSTER_TEMPLATE_CONFIG)


def _home_ops(size: int, tmp: Path) -> bytes:
    tree = layouts.home_ops_tree(tmp / f"home-ops-{size}", size)
    return layouts.source(tree, layouts.HOME_OPS_CONFIG)


#: (input, base size, small size, large size): the base is the input with nothing added (None:
#: nothing), whose items are subtracted before sizes are compared (a fixture's own files do not grow).
CASES: dict[str, tuple[Callable[[int, Path], bytes], int | None, int, int]] = {
    "synthetic items": (_synthetic, 65, 500, 4000),
    "routes on cluster-template": (_routes, 0, 100, 1000),
}


@pytest.mark.parametrize("case", sorted(CASES))
def test_no_function_is_called_more_than_the_input_grows(case: str, tmp_path: Path) -> None:
    make, base, small, large = CASES[case]
    base_items = 0 if base is None else _items(_steady(make(base, tmp_path)))
    small_input, large_input = _steady(make(small, tmp_path)), _steady(make(large, tmp_path))
    growth = (_items(large_input) - base_items) / (_items(small_input) - base_items)
    assert growth > 4, f"the larger {case} input must be much larger ({growth:.1f}×)"
    _calls(small_input)  # once first, so that nothing imported or cached on the way is counted
    before, after = _calls(small_input), _calls(large_input)
    too_many = {
        f"{Path(file).name}:{line}({name})": (before.get((file, line, name), 0), count)
        for (file, line, name), count in after.items()
        if count >= FLOOR and count > SLACK * growth * before.get((file, line, name), 0)
    }
    assert not too_many, f"called more than {growth:.1f}× as often on {growth:.1f}× the {case}: {too_many}"
    assert sum(after.values()) <= SLACK * growth * sum(before.values())
