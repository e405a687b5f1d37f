"""The cheap CI proxy for performance at scale (issue 7): count parses and emits, not seconds.

``bench/run.py`` measures the real ratios (krmfn ÷ PyYAML load+dump, growth 10k/1k, peak
memory); they hold only while the function parses and emits in proportion to what it
manages, never in proportion to the input. So on a 1,000-item input with 1% managed, the
number of YAML composes (full parses of an item) must stay at the managed count plus a small
constant, and so must the number of emits. A change that parses every item (as a header
scan that silently falls back to a full parse once did) fails here, on any machine, at once.
"""

from __future__ import annotations

import sys
from collections import Counter
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

import krmfn.api.config
import krmfn.cli
import krmfn.expand
import krmfn.krm.item
import krmfn.krm.resourcelist
import krmfn.krm.yamledit
import krmfn.ownership
from krmfn.krm import yamltext

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "bench"))
import inputs  # bench/inputs.py, shared with the benchmark

#: Parses that do not depend on the items: the function config, the ResourceList head.
CONSTANT = 5
COUNTED = ("compose", "compose_document", "compose_all", "to_data", "dump", "syntax_check")


@pytest.fixture
def counts(monkeypatch: pytest.MonkeyPatch) -> Counter[str]:
    """Count every call of the YAML entry points, wherever a krmfn module imported them."""
    counter: Counter[str] = Counter()
    originals = {name: getattr(yamltext, name) for name in COUNTED}

    def counting(name: str, fn: Callable[..., Any]) -> Callable[..., Any]:
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            counter[name] += 1
            return fn(*args, **kwargs)

        return wrapper

    wrappers = {name: counting(name, fn) for name, fn in originals.items()}
    for module in [m for name, m in sys.modules.items() if name == "krmfn" or name.startswith("krmfn.")]:
        for name, fn in originals.items():
            if getattr(module, name, None) is fn:
                monkeypatch.setattr(module, name, wrappers[name])
    return counter


def parses(seen: Counter[str]) -> int:
    """Full parses of a document, by whichever entry point."""
    return seen["compose"] + seen["compose_document"] + seen["compose_all"]


def _run(text: str, counter: Counter[str]) -> tuple[str, int, Counter[str]]:
    counter.clear()
    out, code = krmfn.cli.run(text.encode())
    return out, code, Counter(counter)


def _managed(text: str) -> int:
    """Items of the kinds the function reads, in a ResourceList written by krmfn (block style)."""
    return sum(text.count(f"\n  kind: {kind}\n") for kind in inputs.MANAGED_KINDS)


@pytest.mark.parametrize("size", [1000, 3000])
def test_parses_follow_the_managed_items_not_the_input(size: int, counts: Counter[str]) -> None:
    first, code, _ = _run(inputs.resource_list(size), counts)
    assert code == 0
    out, code, seen = _run(first, counts)  # the steady state: every generated item is in the input
    assert code == 0
    assert out.count("\n- ") >= size  # the whole input came back
    managed = _managed(out)
    assert managed <= size // 100 + 1
    assert seen["syntax_check"] == 1, seen
    assert parses(seen) <= managed + CONSTANT, seen
    assert seen["to_data"] <= managed + CONSTANT, seen
    assert seen["dump"] <= CONSTANT, seen


def test_first_run_emits_only_what_it_generates(counts: Counter[str]) -> None:
    _, code, seen = _run(inputs.resource_list(1000), counts)
    assert code == 0
    domains, _ = inputs.split(1000)
    # A generated item is emitted once, plus at most one cheap look at its text per question
    # asked of it (ownership, path); never once per input item.
    assert seen["dump"] <= 3 * domains + CONSTANT, seen
    # A target patched on the first run is read once, then composed and verified once more by
    # yamledit.update_text: three parses, still a constant per target.
    assert parses(seen) <= inputs.split(1000)[1] + 3 * inputs.TARGETS + CONSTANT, seen


def test_unmanaged_items_are_never_parsed(counts: Counter[str]) -> None:
    """Doubling the unmanaged items adds no parse at all."""
    small, _, _ = _run(inputs.resource_list(1000), counts)
    _, _, seen_small = _run(small, counts)
    padded = small.replace("\nfunctionConfig:\n", "\n" + _unmanaged_entries(1000) + "functionConfig:\n", 1)
    out, code, seen_padded = _run(padded, counts)
    assert code == 0
    assert out.count("name: padding-") == 1000
    assert parses(seen_padded) == parses(seen_small)
    assert seen_padded["to_data"] == seen_small["to_data"]


def _unmanaged_entries(count: int) -> str:
    return "".join(
        f"- apiVersion: v1\n  kind: ConfigMap\n  metadata:\n    name: padding-{i}  # pad\n  data: {{k: 'v{i}'}}\n"
        for i in range(count)
    )
