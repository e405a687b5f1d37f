"""The item API concerns code against: a header that never raises, errors that point at a file and line."""

from __future__ import annotations

import pytest

from krmfn.errors import ItemError
from krmfn.krm.header import Header
from krmfn.krm.item import Item
from krmfn.krm.resourcelist import read, write

KUSTOMIZATION = """\
# yaml-language-server: $schema=https://json.schemastore.org/kustomization
apiVersion: kustomize.config.k8s.io/v1beta1
kind: Kustomization
namespace: network
resources:
  - ./helmrelease.yaml
"""


@pytest.mark.parametrize(
    ("text", "header", "resource"),
    [
        pytest.param(
            KUSTOMIZATION, Header("kustomize.config.k8s.io/v1beta1", "Kustomization"), False, id="kustomization"
        ),
        pytest.param("apiVersion: v2\nname: external-dns\nversion: 1.0.0\n", Header("v2"), False, id="chart-yaml"),
        pytest.param("- a\n- b\n", Header(), False, id="list"),
        pytest.param("just text\n", Header(), False, id="scalar"),
        pytest.param(
            "kind: 5\napiVersion: v1\nmetadata: {name: x}\n", Header("v1", "", "x"), False, id="kind-not-a-string"
        ),
        pytest.param(
            'apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: "${APP}"\n  namespace: apps  # c\n',
            Header("v1", "ConfigMap", "${APP}", "apps"),
            True,
            id="resource",
        ),
        pytest.param(
            "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name:\n    multi line\n",
            Header("v1", "ConfigMap", "multi line"),
            True,
            id="name-on-the-next-line",
        ),
        pytest.param(
            'apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: real\ndata:\n  a: "starts here\nkind: Secret"\n',
            Header("v1", "ConfigMap", "real"),
            True,
            id="a-key-inside-a-quoted-scalar-is-not-a-key",
        ),
        pytest.param(
            '"apiVersion": v1\nkind: ConfigMap\nmetadata: {name: q, namespace: n}\n',
            Header("v1", "ConfigMap", "q", "n"),
            True,
            id="quoted-key-and-flow-metadata",
        ),
        pytest.param(
            "=: x\napiVersion: v1\nkind: ConfigMap\nmetadata: {name: eq}\n",
            Header("v1", "ConfigMap", "eq"),
            True,
            id="value-key",
        ),
    ],
)
def test_header_of_any_document(text: str, header: Header, resource: bool) -> None:
    (item,) = read(text).items
    assert item.header == header
    assert item.is_resource is resource


BROKEN = {
    "alias-bomb": "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: bomb}\ndata:\n  a: &a [x, x, x, x, x, x, x, x, x, x]\n"
    + "".join(f"  {c}: &{c} [{', '.join(['*' + p] * 10)}]\n" for p, c in zip("abcdef", "bcdefg", strict=True)),
    "bad-tag": "apiVersion: v1\nkind: Secret\nmetadata: {name: db}\nstringData:\n  password: !!int hunter2\n",
    "duplicate-key": "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: dup}\ndata: {}\ndata: {}\n",
    "deep": "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: deep}\ndata:\n  x: " + "[" * 300 + "]" * 300 + "\n",
}


@pytest.mark.parametrize("name", sorted(BROKEN))
def test_header_path_and_annotations_never_raise_only_data_does(name: str) -> None:
    (item,) = read(BROKEN[name]).items
    assert item.is_resource
    assert item.path is None
    assert item.annotation("config.kubernetes.io/path") is None
    assert not item.is_local_config
    assert not item.is_sops_encrypted
    with pytest.raises(ItemError) as info:
        _ = item.data
    assert "hunter2" not in str(info.value)
    assert f"{item.header.kind} {item.header.name} " in str(info.value)


def test_an_item_error_names_the_document_and_the_line_in_a_stream() -> None:
    stream = "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: a\n---\n" + BROKEN["duplicate-key"]
    item = read(stream).items[1]
    with pytest.raises(ItemError) as info:
        _ = item.data
    assert info.value.message == (
        "ConfigMap dup must not repeat a mapping key: `data` appears twice (document 2, line 10)"
    )
    assert (info.value.file, info.value.index, info.value.line) == (None, None, 10)


def test_an_item_error_names_the_file_kpt_read_it_from() -> None:
    text = (
        "apiVersion: config.kubernetes.io/v1\nkind: ResourceList\nitems:\n"
        "- apiVersion: v1\n  kind: Secret\n  metadata:\n    name: db\n    annotations:\n"
        "      config.kubernetes.io/path: 'apps/db/secret.yaml'\n      config.kubernetes.io/index: '2'\n"
        "  stringData:\n    password: !!bool s3cr3t\n"
    )
    (item,) = read(text).items
    with pytest.raises(ItemError) as info:
        _ = item.data
    assert info.value.message == (
        "Secret db must hold a value that fits its tag `!!bool` at `stringData.password`; it does not "
        "(the value is not shown) (apps/db/secret.yaml, document 3, line 9)"
    )
    assert (info.value.file, info.value.index) == ("apps/db/secret.yaml", 2)


def test_annotations_are_read_without_a_parse_and_agree_with_the_data() -> None:
    text = (
        "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: x\n  labels:\n    a: b\n  annotations:\n"
        "    config.kubernetes.io/path: 'apps/x.yaml'  # where\n    \"quoted/key\": \"v\"\n    empty: ''\n"
        "    number: 5\n"
    )
    (item,) = read(text).items
    scanned = {key: item.annotation(key) for key in ("config.kubernetes.io/path", "quoted/key", "empty", "number")}
    assert item._document is None
    assert scanned == {"config.kubernetes.io/path": "apps/x.yaml", "quoted/key": "v", "empty": "", "number": None}
    assert {k: v for k, v in item.annotations().items() if isinstance(v, str)} == {
        k: v for k, v in scanned.items() if v is not None
    }


def test_sops_is_seen_without_reading_and_assumed_when_unreadable() -> None:
    encrypted = "apiVersion: v1\nkind: Secret\nmetadata: {name: s}\ndata:\n  k: ENC[x]\nsops:\n  version: 3.9.0\n"
    assert read(encrypted).items[0].is_sops_encrypted
    unreadable = encrypted.replace("data:\n", "data: {}\ndata:\n")
    assert read(unreadable).items[0].is_sops_encrypted  # cannot tell: never touched


def test_an_entry_is_edited_where_it_stands() -> None:
    text = (
        "apiVersion: config.kubernetes.io/v1\nkind: ResourceList\nitems:\n"
        "    -   apiVersion: v1   # wide, odd indentation\n        kind: ConfigMap\n        metadata:\n"
        "          name: a\n        data:\n          k: v\n"
    )
    inp = read(text)
    (item,) = inp.items
    assert (
        item.text == "apiVersion: v1   # wide, odd indentation\nkind: ConfigMap\nmetadata:\n  name: a\ndata:\n  k: v\n"
    )
    edited = item.with_data({**item.data, "data": {"k": "v", "n": "2"}})
    assert write(inp, [edited], []) == text + '          n: "2"\n'


def test_an_edit_an_anchor_makes_inexact_is_refused_with_where() -> None:
    stream = "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: a}\ndata: &d\n  k: v\nextra:\n  copy: *d\n"
    (item,) = read(stream).items
    with pytest.raises(ItemError, match=r"the anchor `&d`, which aliases .* \(document 1, line 4\)$"):
        item.with_data({**item.data, "data": {"k": "w"}})
    # A use of the anchor the walk reaches is written out instead: exact, and the anchor stays.
    direct = read(stream.replace("extra:\n  copy: *d", "copy: *d")).items[0]
    edited = direct.with_data({**direct.data, "data": {"k": "w"}})
    assert edited.source.endswith("data: &d\n  k: w\ncopy:\n  k: v\n")


def test_generated_items_have_their_header_from_data() -> None:
    item = Item.from_data({"apiVersion": "cert-manager.io/v1", "kind": "Certificate", "metadata": {"name": "c"}})
    assert item.header == Header("cert-manager.io/v1", "Certificate", "c")
    assert item.header.group == "cert-manager.io"


def test_an_oddly_written_metadata_key_leaves_the_header_to_the_parser() -> None:
    (item,) = read("apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name : spaced\n  labels:\n    name: not-this\n").items
    assert item.header == Header("v1", "ConfigMap", "spaced")
