"""Reading YAML as YAML reads it: merge keys, re-defined anchors, tags that do not fit, limits."""

from __future__ import annotations

from typing import Any

import pytest
import yaml
from hypothesis import given, settings
from hypothesis import strategies as st

from krmfn.errors import ItemError
from krmfn.krm.composer import MAX_DEPTH
from krmfn.krm.lines import lf_view, newline_of, restore
from krmfn.krm.yamltext import compose_document, load

SETTINGS: dict[str, Any] = {"deadline": None, "derandomize": True, "database": None}

MERGES = [
    "base: &b {a: 1, b: 2}\nuse:\n  <<: *b\n  b: 3\n",
    "one: &one {a: 1}\ntwo: &two {a: 2, c: 4}\nuse:\n  <<: [*one, *two]\n  d: 5\n",
    "use:\n  <<: {a: 1}\n  <<: {b: 2}\n",
    "x: &x {k: 1}\ny: &y\n  <<: *x\n  j: 2\nz:\n  !!merge <<: *y\n",
    "- &e {name: a, v: 1}\n- <<: *e\n  name: b\n",
]


@pytest.mark.parametrize("text", MERGES)
def test_merge_keys_read_as_pyyaml_reads_them(text: str) -> None:
    assert load(text) == yaml.load(text, Loader=yaml.SafeLoader)


def test_an_anchor_may_be_defined_again() -> None:
    text = "env:\n- name: &name A\n  key: *name\n- name: &name B\n  key: *name\n"
    assert load(text) == {"env": [{"name": "A", "key": "A"}, {"name": "B", "key": "B"}]}
    doc = compose_document(text)
    assert len(doc.shared) == 2  # each definition is a node of its own
    assert [text[s:e] for s, e in sorted(doc.aliases.values())] == ["*name", "*name"]


@pytest.mark.parametrize(
    ("value", "tag"),
    [
        ("!!int hunter2", "!!int"),
        ("!!float hunter2", "!!float"),
        ("!!bool hunter2", "!!bool"),
        ("!!timestamp hunter2", "!!timestamp"),
        ("!!map hunter2", "!!map"),
        ("!!seq hunter2", "!!seq"),
        ("!!str {k: hunter2}", "!!str"),
        ("!!int [hunter2]", "!!int"),
    ],
)
def test_a_value_that_does_not_fit_its_tag_is_an_error_that_never_shows_it(value: str, tag: str) -> None:
    with pytest.raises(ItemError) as info:
        load(f"data:\n  secret: {value}\n")
    assert info.value.problem == (
        f"must hold a value that fits its tag `{tag}` at `data.secret`; it does not (the value is not shown)"
    )
    assert info.value.line == 2
    assert "hunter2" not in info.value.message


def test_tags_that_fit_and_application_tags_read_as_yaml_says() -> None:
    assert load("a: !!int '7'\nb: !!str 7\nc: !secret text\nd: =\ne: !!binary aGk=\n") == {
        "a": 7,
        "b": "7",
        "c": "text",
        "d": "=",
        "e": "aGk=",
    }


def test_integers_are_bounded_like_python_bounds_them() -> None:
    assert load("n: " + "9" * 4300 + "\n") == {"n": int("9" * 4300)}
    with pytest.raises(ItemError, match=r"must not hold an integer of more than 4300 digits \(at `n`\)"):
        load("n: " + "9" * 4301 + "\n")


@pytest.mark.parametrize("depth", [MAX_DEPTH + 1, 6_000, 100_000])
def test_nesting_is_bounded_without_crashing_the_interpreter(depth: int) -> None:
    with pytest.raises(ItemError, match=f"must not nest deeper than {MAX_DEPTH} levels"):
        load("x: " + "[" * depth + "]" * depth + "\n")
    assert load("x: " + "[" * (MAX_DEPTH - 1) + "]" * (MAX_DEPTH - 1) + "\n") is not None


def test_block_nesting_deep_enough_for_the_c_composer_is_guarded_too() -> None:
    deep = "".join(" " * i + "- \n" for i in range(0, 12_000, 2))
    with pytest.raises(ItemError, match="must not nest deeper than"):
        load(deep.replace("- \n", "-\n"))


def test_an_alias_bomb_stops_at_the_budget() -> None:
    bomb = "a: &a [x, x, x, x, x, x, x, x, x, x]\n" + "".join(
        f"{c}: &{c} [{', '.join(['*' + p] * 10)}]\n" for p, c in zip("abcdef", "bcdefg", strict=True)
    )
    with pytest.raises(ItemError, match="must not expand to more than"):
        load(bomb)


# --- line endings ------------------------------------------------------------------------


@settings(max_examples=300, **SETTINGS)
@given(st.lists(st.tuples(st.text("ab: #-", max_size=6), st.sampled_from(["\n", "\r\n", "\r"])), max_size=12))
def test_the_lf_view_maps_every_position_back_to_the_input(lines: list[tuple[str, str]]) -> None:
    import re

    text = "".join(body + end for body, end in lines)
    view = lf_view(text)
    assert view.text == text.replace("\r\n", "\n").replace("\r", "\n")
    starts = [0] + [m.end() for m in re.finditer(r"\r\n|\r|\n", text)]
    view_starts = [0] + [m.end() for m in re.finditer(r"\n", view.text)]
    assert [view.original(p) for p in view_starts] == starts


def test_newlines_are_detected_and_restored() -> None:
    assert [newline_of(t) for t in ("a\nb\n", "a\r\nb\r\n", "a\rb\r", "a", "a\r\nb\nc\n")] == [
        "\n",
        "\r\n",
        "\r",
        "\n",
        "\n",
    ]
    assert restore("a\nb\n", "\r\n") == "a\r\nb\r\n"


def test_flow_nesting_is_bounded_before_libyaml_sees_it() -> None:
    from krmfn.errors import InputError
    from krmfn.krm.yamltext import MAX_FLOW_NESTING, flow_nesting_bound, syntax_check

    assert flow_nesting_bound("a: " + "[]" * 10_000) == 1
    assert flow_nesting_bound("".join('- "["  # [\n' for _ in range(6000))) == 0  # in strings and comments
    syntax_check("a: " + "[" * MAX_FLOW_NESTING + "]" * MAX_FLOW_NESTING)
    with pytest.raises(InputError, match="must not nest flow collections"):
        syntax_check("a: " + "[" * (MAX_FLOW_NESTING + 1) + "]" * (MAX_FLOW_NESTING + 1))
