"""Cutting the input into items: the fast line scan is used only where it is exact, and then
agrees with the parser's marks; every shape is written back as it came."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from krmfn.krm import cut as cutting
from krmfn.krm.lines import lf_view
from krmfn.krm.resourcelist import read, write

SETTINGS: dict[str, Any] = {"deadline": None, "derandomize": True, "database": None}

# Entries of a block `items` sequence in the shapes YAML allows (with the entry's own indentation).
ENTRIES = [
    "- apiVersion: v1\n  kind: ConfigMap\n  metadata:\n    name: {n}\n  data:\n    k: v\n",
    "- # a comment on the dash line\n  apiVersion: v1\n  kind: ConfigMap\n  metadata: {{name: {n}}}\n",
    "-\n  apiVersion: v1\n  kind: ConfigMap\n  metadata:\n    name: {n}\n",
    '- apiVersion: v1\n  kind: ConfigMap\n  metadata:\n    name: {n}\n  data:\n    script: |\n      - not an entry\n      echo "unbalanced\n',
    "- {{apiVersion: v1, kind: ConfigMap, metadata: {{name: {n}}}}}\n",
    '- apiVersion: v1\n  kind: ConfigMap\n  metadata:\n    name: {n}\n  data:\n    long: "a quoted scalar over\n- two lines, the second like an entry"\n',
    "- [a, list, item]\n",
    "- just a scalar {n}\n",
    "- apiVersion: v1\n  kind: ConfigMap\n  metadata:\n    name: {n}\n  # trailing comment, indented: the entry's\n",
]
GAPS = ["", "\n", "# about the next one\n", "\n# outdented\n\n"]


@st.composite
def resource_lists(draw: st.DrawFn) -> str:
    indent = draw(st.sampled_from([0, 2, 4]))
    entries = draw(st.lists(st.sampled_from(range(len(ENTRIES))), max_size=6))
    body = ""
    for n, k in enumerate(entries):
        entry = ENTRIES[k].format(n=f"item-{n}")
        body += draw(st.sampled_from(GAPS)) + "".join(" " * indent + line + "\n" for line in entry.splitlines())
    head = "apiVersion: config.kubernetes.io/v1\nkind: ResourceList\n"
    items = "items:\n" + body if entries else draw(st.sampled_from(["items: []\n", "items:\n", "items: ~  # none\n"]))
    config = "functionConfig:\n  apiVersion: krmfn.dev/v1alpha1\n  kind: MultiDomain\n  metadata:\n    name: edge\n"
    results = draw(st.sampled_from(["", "results:\n- message: earlier\n  severity: info\n"]))
    return head + items + config + results


def _cuts(text: str) -> tuple[cutting.Cut | None, cutting.Cut | None]:
    src = cutting._Source(text, lf_view(text), "\n", scannable=True)
    docs, _ = cutting._split_lines(src.text) or ([], 0)
    content = [d for d in docs if d.has_content]
    by_lines = cutting._list_by_lines(src, content[0])
    by_events = cutting._list_by_events(cutting._Source(text, lf_view(text), "\n", scannable=True))
    return by_lines, by_events


@settings(max_examples=300, **SETTINGS)
@given(resource_lists())
def test_the_line_scan_agrees_with_the_parser_or_leaves_it_the_input(text: str) -> None:
    by_lines, by_events = _cuts(text)
    assert by_events is not None
    inp = read(text)
    assert [i.raw for i in inp.items] == [i.raw for i in by_events.items]
    if by_lines is not None:  # where the scan is used, it cut exactly where the parser does
        assert [i.raw for i in by_lines.items] == [i.raw for i in by_events.items]
        assert by_lines.layout.spans == by_events.layout.spans
    assert [i.value for i in inp.items] == [i.value for i in by_events.items]
    assert write(inp, inp.items, []) == text


def test_an_entry_look_alike_inside_a_quoted_scalar_is_not_an_entry() -> None:
    text = (
        "apiVersion: config.kubernetes.io/v1\nkind: ResourceList\nitems:\n"
        '- apiVersion: v1\n  kind: ConfigMap\n  metadata: {name: a}\n  data:\n    k: "one\n- two"\n'
        "- apiVersion: v1\n  kind: ConfigMap\n  metadata: {name: b}\n"
    )
    inp = read(text)
    assert [i.header.name for i in inp.items] == ["a", "b"]
    assert inp.items[0].data["data"] == {"k": "one - two"}
    assert write(inp, inp.items, []) == text


STREAMS = {
    "markers-and-comments": "# lead\n---\na: 1\n--- # c\nb: 2\n...\n# between\n---\nc: 3\n",
    "directive-after-end": "a: 1\n...\n%YAML 1.1\n---\nb: 2\n",
    "directive-after-content": "a: 1\n%YAML 1.1\n---\nb: 2\n",
    "content-on-marker": "--- {a: 1}\n--- |\n  text\n--- !!map\nb: 2\n",
    "empty-documents": "---\n---\n# only a comment\n---\na: 1\n---\n",
    "no-final-newline": "a: 1\n---\nb: 2",
    "crlf": "a: 1\r\n---\r\nb: 2\r\n",
    "cr": "a: 1\r---\rb: 2\r",
    "next-line": "a: 1\x85b: 2\n---\nc: 3\n",
    "line-separator": 'a: "x\u2028y"\n---\nb: 2\n',
}


@pytest.mark.parametrize("name", sorted(STREAMS))
def test_every_stream_comes_back_as_it_came(name: str) -> None:
    text = STREAMS[name]
    inp = read(text)
    assert inp.form == "stream"
    assert write(inp, inp.items, []) == text
    assert all(item.raw is not None and item.raw in text for item in inp.items)


def test_documents_are_the_ones_yaml_reads() -> None:
    import yaml

    for name, text in STREAMS.items():
        expected = [d for d in yaml.load_all(text, Loader=yaml.SafeLoader) if d is not None]
        assert [i.value for i in read(text).items] == expected, name


def test_directives_travel_with_their_document() -> None:
    inp = read(STREAMS["directive-after-end"])
    assert inp.items[1].raw == "%YAML 1.1\n---\nb: 2\n"
    assert write(inp, [inp.items[1]], []) == "...\n%YAML 1.1\n---\nb: 2\n"


def test_a_removed_item_takes_its_gap_and_a_new_one_follows_the_last() -> None:
    from krmfn.krm.item import Item

    inp = read(STREAMS["markers-and-comments"])
    new = Item.from_data({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "n"}})
    out = write(inp, [inp.items[0], inp.items[2], new], [])
    assert (
        out
        == "# lead\n---\na: 1\n...\n# between\n---\nc: 3\n---\napiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: n\n"
    )


def test_a_flow_resource_list_gains_and_loses_entries_in_flow_style() -> None:
    from krmfn.krm.item import Item

    text = "{apiVersion: config.kubernetes.io/v1, kind: ResourceList, items: [{a: 1}, {b: 2}], x: y}\n"
    inp = read(text)
    assert inp.form == "resourcelist"
    new = Item.from_data({"c": 3})
    out = write(inp, [inp.items[1], new], [{"message": "m", "severity": "info"}])
    assert (
        out
        == "{apiVersion: config.kubernetes.io/v1, kind: ResourceList, items: [{b: 2}, {c: 3}], x: y, results: [{message: m, severity: info}]}\n"
    )
    assert read(out).items[1].value == {"c": 3}


def test_open_quotes_inside_a_block_scalar_do_not_count_and_cost_one_pass() -> None:
    from krmfn.krm.header import flow_closed

    script = "".join(f'      echo "line {i}\n' for i in range(2000))
    text = f"data:\n  run.sh: |\n{script}  other: 'v'\n"
    assert flow_closed(text)
    assert not flow_closed(text + 'more: "open\n')
    assert not flow_closed("# a comment with a pipe |\n" + '  x: "open\n')


def test_a_list_kind_in_a_stream_of_several_documents_is_no_resource_list() -> None:
    text = '---\n---\n"kind": ResourceList\napiVersion: config.kubernetes.io/v1\nitems: []\n'
    inp = read(text)
    assert inp.form == "stream"
    assert write(inp, inp.items, []) == text
