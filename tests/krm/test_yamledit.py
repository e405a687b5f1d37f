"""The text editor: minimal edits, styles kept, and always the intended data."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from krmfn.errors import EditError
from krmfn.krm.yamledit import same, update_text
from krmfn.krm.yamltext import dump, load

CASES = [
    pytest.param(
        "a: 1 # keep\nb:\n- x   # first\n- y\nc: 'q'\n",
        {"a": 1, "b": ["x", "z", "y"], "c": "r"},
        "a: 1 # keep\nb:\n- x   # first\n- z\n- y\nc: 'r'\n",
        id="insert-entry-keep-comment-and-quotes",
    ),
    pytest.param(
        "a: 1\nb:\n- x # gone\n- y # stays\n",
        {"a": 1, "b": ["y"]},
        "a: 1\nb:\n- y # stays\n",
        id="remove-entry-with-its-comment",
    ),
    pytest.param(
        'spec:\n  values:\n    domainFilters: ["a.com"]  # c\n    other: 1\n',
        {"spec": {"values": {"domainFilters": ["a.com", "${B}"], "other": 1}}},
        'spec:\n  values:\n    domainFilters: ["a.com", "${B}"]  # c\n    other: 1\n',
        id="flow-sequence-keeps-quote-style",
    ),
    pytest.param(
        "l: [a]\n",
        {"l": ["a", "${B}"]},
        'l: [a, "${B}"]\n',
        id="flow-plain-quotes-braces",
    ),
    pytest.param(
        "metadata:\n  name: x\n",
        {"metadata": {"name": "x", "annotations": {"k": "v"}}},
        "metadata:\n  name: x\n  annotations:\n    k: v\n",
        id="add-missing-mapping",
    ),
    pytest.param(
        "metadata:\n  name: x\n  annotations: {}\n",
        {"metadata": {"name": "x", "annotations": {"k": "v"}}},
        "metadata:\n  name: x\n  annotations: {k: v}\n",
        id="fill-empty-flow-mapping",
    ),
    pytest.param(
        "data:\n  config.yaml: |\n    ingress:\n      - service: x\n\n# trailer\nother: 1\n",
        {"data": {"config.yaml": "ingress:\n  - hostname: a\n  - service: x\n"}, "other": 1},
        "data:\n  config.yaml: |\n    ingress:\n      - hostname: a\n      - service: x\n\n# trailer\nother: 1\n",
        id="block-scalar-keeps-style-and-trailer",
    ),
    pytest.param(
        "data:\n  k: |-\n    one\n    two\n",
        {"data": {"k": "one\ntwo\nthree"}},
        "data:\n  k: |-\n    one\n    two\n    three\n",
        id="strip-chomping-kept",
    ),
    pytest.param(
        "items:\n  - name: a\n    v: 1\n  - name: b\n    v: 2\n",
        {"items": [{"name": "a", "v": 1}, {"name": "c", "v": 3}, {"name": "b", "v": 2}]},
        "items:\n  - name: a\n    v: 1\n  - name: c\n    v: 3\n  - name: b\n    v: 2\n",
        id="indented-sequence-of-mappings",
    ),
    pytest.param(
        "s:\n- name: a\n  sel: {z: [x]}\n- name: b\n",
        {"s": [{"name": "a", "sel": {"z": ["x", "y"]}}, {"name": "b"}]},
        "s:\n- name: a\n  sel: {z: [x, y]}\n- name: b\n",
        id="deep-edit-in-entry",
    ),
    pytest.param("x:\n  a: 1\n  b: 2\ny: 3\n", {"x": "scalar", "y": 3}, "x: scalar\ny: 3\n", id="mapping-to-scalar"),
    pytest.param("x: s\ny: 3\n", {"x": {"a": [1]}, "y": 3}, "x:\n  a:\n  - 1\ny: 3\n", id="scalar-to-mapping"),
    pytest.param("l:\n- a\n- b\n", {"l": []}, "l: []\n", id="empty-the-list"),
    pytest.param("a: 'x' # c\n", {"a": "it's"}, "a: 'it''s' # c\n", id="single-quote-escaped"),
    pytest.param('a: "x"\n', {"a": "y"}, 'a: "y"\n', id="double-quote-kept"),
    pytest.param("a: x\n", {"a": True}, "a: true\n", id="type-change-bool"),
    pytest.param("a: '1'\n", {"a": 1}, "a: 1\n", id="string-to-int"),
    pytest.param("- a\n- b\n", ["b"], "- b\n", id="root-sequence"),
    pytest.param("k: |\n    a\n    b\n", {"k": "a\nc\n"}, "k: |\n    a\n    c\n", id="block-keeps-its-indentation"),
    pytest.param(
        "l:\n- a\n# about b\n- b\n",
        {"l": ["a", "x", "b"]},
        "l:\n- a\n- x\n# about b\n- b\n",
        id="insert-above-a-comment",
    ),
    pytest.param("l:\n- a\n# about b\n- b\n- c\n", {"l": ["a", "c"]}, "l:\n- a\n- c\n", id="delete-takes-its-comment"),
]


@pytest.mark.parametrize(("text", "new", "expected"), CASES)
def test_update_text(text: str, new: Any, expected: str) -> None:
    assert update_text(text, new) == expected


@pytest.mark.parametrize(
    "text",
    [
        "a: 1 # c\n",
        "# head\nkind: X\nmetadata:\n  name: 'q'   # odd spacing\nl: [a,   b]\nblock: |\n  x\n\n",
        'm: {a: 1, b: [x, "y"]}\n',
    ],
)
def test_same_data_changes_nothing(text: str) -> None:
    assert update_text(text, load(text)) == text


def test_alias_items_are_rewritten_whole_when_an_edit_would_change_both_uses() -> None:
    text = "a: &x [1, 2]\nb: *x\n"
    out = update_text(text, {"a": [1, 2], "b": [3]})
    assert load(out) == {"a": [1, 2], "b": [3]}
    assert "*x" not in out


def test_edits_away_from_anchors_keep_the_anchors_and_comments() -> None:
    text = "metadata:\n  annotations:\n    target: &h external.${D} # c\nspec:\n  host: *h\n  refs:\n  - a\n"
    new = {
        "metadata": {"annotations": {"target": "external.${D}"}},
        "spec": {"host": "external.${D}", "refs": ["a", "b"]},
    }
    assert update_text(text, new) == text.replace("  - a\n", "  - a\n  - b\n")


def test_same_tells_bools_from_ints() -> None:
    assert same({"a": [1]}, {"a": [1]})
    assert not same(True, 1)
    assert not same(1, 1.0)
    assert not same({"a": 1}, {"b": 1})


def test_invalid_result_is_a_bug_not_output(monkeypatch: pytest.MonkeyPatch) -> None:
    import krmfn.krm.yamledit as ye

    monkeypatch.setattr(ye, "dump_flow", lambda value: "[unclosed")
    with pytest.raises(EditError, match="bug in krmfn"):
        update_text("m: {a: 1}\n", {"m": {"a": 2}})


scalars = st.one_of(
    st.text(alphabet="ab ${}:#'\"-*\n", max_size=8),
    st.integers(-5, 5),
    st.booleans(),
    st.none(),
)
keys = st.text(alphabet="abc-_.", min_size=1, max_size=4)
values = st.recursive(
    scalars, lambda inner: st.lists(inner, max_size=3) | st.dictionaries(keys, inner, max_size=3), max_leaves=12
)
documents = st.dictionaries(keys, values, min_size=1, max_size=4)


@settings(max_examples=300, deadline=None, derandomize=True)
@given(old=documents, new=documents)
def test_any_edit_reads_back_as_the_new_data(old: dict[str, Any], new: dict[str, Any]) -> None:
    text = dump(old)
    assert same(load(text), old)
    out = update_text(text, new)
    assert same(load(out), new)
    assert update_text(out, new) == out
