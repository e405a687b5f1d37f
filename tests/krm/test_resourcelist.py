"""The edge: every input form read, and answered in kind, byte for byte where unchanged."""

from __future__ import annotations

import json

import pytest

from krmfn.errors import InputError
from krmfn.krm.item import Item
from krmfn.krm.resourcelist import decode, read, write

KPT_LIST = """\
apiVersion: config.kubernetes.io/v1
kind: ResourceList
items:
- # head comment
  apiVersion: v1
  kind: ConfigMap
  metadata:
    name: a # trailing
    annotations:
      config.kubernetes.io/path: 'a.yaml'
  data:
    k: |
      line1

      line3
# about b

- apiVersion: v1
  kind: ConfigMap
  metadata: {name: b}
functionConfig:
  apiVersion: krmfn.dev/v1alpha1
  kind: MultiDomain
  metadata:
    name: edge
results:
- message: from an earlier function
  severity: info
"""

UNCHANGED = [
    pytest.param(KPT_LIST, id="kpt-list-with-comments-and-results"),
    pytest.param(
        "apiVersion: config.kubernetes.io/v1\nkind: ResourceList\nitems:\n  - apiVersion: v1\n    kind: A  # c\n"
        "    metadata:\n      name: x\n\n  # between\n  - apiVersion: v1\n    kind: B\n    metadata:\n      name: y\n",
        id="indented-items",
    ),
    pytest.param("apiVersion: config.kubernetes.io/v1beta1\nkind: ResourceList\nitems: []\n", id="v1beta1-empty"),
    pytest.param(
        "apiVersion: v1\nkind: List\nitems:\n- apiVersion: v1\n  kind: A\n  metadata:\n    name: n\n", id="v1-List"
    ),
    pytest.param(
        "# lead\n---\napiVersion: v1\nkind: A\nmetadata:\n  name: x\n---\n# only a comment\n---\napiVersion: v1\nkind: B\nmetadata:\n  name: y\n...\n",
        id="stream",
    ),
    pytest.param("apiVersion: v1\nkind: A\nmetadata:\n  name: x\n", id="single-document"),
]


@pytest.mark.parametrize("text", UNCHANGED)
def test_unchanged_input_comes_back_byte_for_byte(text: str) -> None:
    inp = read(text)
    assert write(inp, inp.items, []) == text


def test_items_are_read_with_their_headers_and_text() -> None:
    inp = read(KPT_LIST)
    assert inp.form == "resourcelist"
    assert [i.header.name for i in inp.items] == ["a", "b"]
    assert inp.items[0].text.startswith("# head comment\napiVersion: v1\n")
    assert inp.items[0].data["data"]["k"] == "line1\n\nline3\n"
    assert inp.function_config is not None
    assert inp.function_config.data["metadata"] == {"name": "edge"}
    assert inp.prior_results == [{"message": "from an earlier function", "severity": "info"}]


def test_results_are_appended_to_earlier_ones() -> None:
    inp = read(KPT_LIST)
    out = write(inp, inp.items, [{"message": "mine", "severity": "warning"}])
    assert out.endswith(
        "results:\n- message: from an earlier function\n  severity: info\n- message: mine\n  severity: warning\n"
    )


def test_changed_item_keeps_its_place_gap_and_indentation() -> None:
    inp = read(KPT_LIST)
    first = inp.items[0]
    edited = first.with_data({**first.data, "data": {"k": "line1\n\nline3\n", "new": "v"}})
    added = Item.from_data({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "c"}})
    out = write(inp, [edited, inp.items[1], added], [])
    assert "      line3\n    new: v\n# about b\n\n- apiVersion: v1\n  kind: ConfigMap\n  metadata: {name: b}\n" in out
    assert "- apiVersion: v1\n  kind: ConfigMap\n  metadata:\n    name: c\nfunctionConfig:" in out
    assert out.startswith("apiVersion: config.kubernetes.io/v1\nkind: ResourceList\nitems:\n- # head comment\n")
    assert read(out).items[2].data["metadata"]["name"] == "c"


def test_removed_item_takes_its_separator_in_a_stream() -> None:
    inp = read("apiVersion: v1\nkind: A\nmetadata:\n  name: x\n---\napiVersion: v1\nkind: B\nmetadata:\n  name: y\n")
    assert write(inp, [inp.items[1]], []) == "---\napiVersion: v1\nkind: B\nmetadata:\n  name: y\n"
    added = Item.from_data({"apiVersion": "v1", "kind": "C", "metadata": {"name": "z"}})
    assert write(inp, [inp.items[0], added], []).endswith(
        "name: x\n---\napiVersion: v1\nkind: C\nmetadata:\n  name: z\n"
    )


def test_flow_style_items_take_the_composed_path() -> None:
    text = "apiVersion: config.kubernetes.io/v1\nkind: ResourceList\nitems:\n- {apiVersion: v1, kind: A, metadata: {name: n}}\n"
    inp = read(text)
    assert [i.header.kind for i in inp.items] == ["A"]
    assert write(inp, inp.items, []) == text


def test_odd_layout_falls_back_to_the_exact_parser() -> None:
    text = (
        "--- {apiVersion: v1, kind: A, metadata: {name: n}}\n--- !!map\napiVersion: v1\nkind: B\nmetadata: {name: m}\n"
    )
    inp = read(text)
    assert [i.header.kind for i in inp.items] == ["A", "B"]
    assert [i.data["kind"] for i in read(write(inp, inp.items, [])).items] == ["A", "B"]


def test_json_in_json_out() -> None:
    text = json.dumps(
        {
            "apiVersion": "config.kubernetes.io/v1",
            "kind": "ResourceList",
            "items": [{"apiVersion": "v1", "kind": "A", "metadata": {"name": "n"}}],
            "functionConfig": {"kind": "MultiDomain"},
        }
    )
    inp = read(text)
    assert inp.form == "json"
    out = json.loads(write(inp, inp.items, [{"message": "m", "severity": "info"}]))
    assert out["items"] == [{"apiVersion": "v1", "kind": "A", "metadata": {"name": "n"}}]
    assert out["functionConfig"] == {"kind": "MultiDomain"}
    assert out["results"] == [{"message": "m", "severity": "info"}]
    single = read('{"apiVersion": "v1", "kind": "A", "metadata": {"name": "n"}}')
    assert json.loads(write(single, single.items, [])) == {"apiVersion": "v1", "kind": "A", "metadata": {"name": "n"}}


@pytest.mark.parametrize(
    ("text", "message"),
    [
        (
            "apiVersion: config.kubernetes.io/v2\nkind: ResourceList\nitems: []\n",
            "must be one of config.kubernetes.io/v1, config.kubernetes.io/v1beta1, not 'config.kubernetes.io/v2'",
        ),
        ("a: [unclosed\n", "must be valid YAML: did not find expected ',' or ']' .* at line 2, column 1"),
        ("- a\n- b\n", "document 1 must be a mapping"),
        ("apiVersion: config.kubernetes.io/v1\nkind: ResourceList\nitems:\n  x: 1\n", "`items` must be a list"),
        (
            '{"apiVersion": "config.kubernetes.io/v1", "kind": "ResourceList", "items": {"a": 1}}',
            "`items` must be a list",
        ),
        ("apiVersion: v1\nkind: A\nmetadata:\n\tname: x\n", "must be valid YAML"),
    ],
)
def test_unreadable_input_is_an_input_error(text: str, message: str) -> None:
    def read_everything() -> None:
        for item in read(text).items:
            _ = item.data

    with pytest.raises(InputError, match=message):
        read_everything()


def test_a_scalar_document_is_an_item_that_is_not_a_resource() -> None:
    inp = read("just a string\n")
    assert [(i.header.kind, i.is_resource) for i in inp.items] == [("", False)]
    assert write(inp, inp.items, []) == "just a string\n"
    with pytest.raises(
        InputError, match=r"^document 1 must be a mapping .*, not a scalar \(str\) \(document 1, line 1\)$"
    ):
        _ = inp.items[0].data


def test_decode_refuses_non_utf8_nul_and_huge_input() -> None:
    with pytest.raises(InputError, match=r"must be UTF-8: byte 0xff at offset 3"):
        decode(b"a: \xff\n")
    with pytest.raises(InputError, match="must not contain NUL"):
        decode(b"a: b\x00\n")
    with pytest.raises(InputError, match="must not exceed 64 MiB"):
        decode(b" " * (64 * 1024 * 1024 + 1))
    assert decode("\ufeffa: 1\r\n".encode()) == "a: 1\r\n"  # line endings are the writer's to keep


def test_yaml_errors_never_quote_the_input() -> None:
    secret = "c2VjcmV0LXZhbHVl"
    with pytest.raises(InputError) as info:
        read(f"apiVersion: v1\nkind: Secret\ndata:\n  token: {secret}\n   bad: [\n")
    assert secret not in str(info.value)
