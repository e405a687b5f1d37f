"""Ownership: re-running changes nothing, removed domains are pruned, edits are in place."""

from __future__ import annotations

from collections.abc import Sequence

from conftest import by_kind, expand_yaml, items_of, messages

from krmfn.api.config import load_config
from krmfn.expand import expand
from krmfn.krm.item import Item
from krmfn.krm.resourcelist import read, write
from krmfn.krm.yamltext import load

TWO = """\
apiVersion: krmfn.dev/v1alpha1
kind: MultiDomain
metadata:
  name: edge
  annotations: {config.kubernetes.io/local-config: "true"}
spec:
  domains: [{name: example.com}, {name: example.org}]
  certificates: {namespace: network, issuerRef: {name: le}}
"""
APP = "# mine\napiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: app # keep\n  namespace: default\n"


def stream_of(exp_items: Sequence[Item]) -> str:
    inp = read(APP)
    return write(inp, exp_items, [])


def test_generated_items_are_owned_and_placed_next_to_the_config() -> None:
    exp = expand_yaml(TWO, APP, config_path="network/multidomain.yaml")
    cert = by_kind(exp, "Certificate")[0]
    annotations = cert["metadata"]["annotations"]
    assert annotations["krmfn.dev/owned-by"] == "MultiDomain/edge"
    assert annotations["config.kubernetes.io/path"] == "network/edge/certificates.yaml"
    assert annotations["internal.config.kubernetes.io/path"] == "network/edge/certificates.yaml"
    indexes = [c["metadata"]["annotations"]["internal.config.kubernetes.io/index"] for c in by_kind(exp, "Certificate")]
    assert indexes == ["0", "1"]
    assert "path" not in str(exp.items[0].data)


def test_plain_streams_get_no_file_annotations() -> None:
    exp = expand(load_config(load(TWO)), items_of(APP), plain_stream=True)
    assert by_kind(exp, "Certificate")[0]["metadata"]["annotations"] == {"krmfn.dev/owned-by": "MultiDomain/edge"}


def test_running_on_the_output_changes_nothing() -> None:
    first = expand_yaml(TWO, APP)
    text = stream_of(first.items)
    second = expand(load_config(load(TWO)), items_of(text), config_path="multidomain.yaml")
    assert stream_of(second.items) == text
    assert all(item.raw is not None for item in second.items)
    assert "2 unchanged" in messages(second)[-1]


def test_removed_domain_prunes_its_certificate_only() -> None:
    text = stream_of(expand_yaml(TWO, APP).items)
    one = TWO.replace(", {name: example.org}", "")
    exp = expand(load_config(load(one)), items_of(text), config_path="multidomain.yaml")
    assert [c["metadata"]["name"] for c in by_kind(exp, "Certificate")] == ["example-com"]
    assert any(m.startswith("pruned Certificate network/example-org") for m in messages(exp, "info"))
    assert exp.items[0].raw is not None
    assert exp.items[0].raw.startswith("# mine")


def test_changed_config_edits_the_owned_item_in_place_keeping_comments_and_kpt_annotations() -> None:
    text = stream_of(expand_yaml(TWO, APP).items)
    text = text.replace("  dnsNames:\n", "  # the user's note\n  dnsNames:\n", 1)
    text = text.replace(
        "    krmfn.dev/owned-by: MultiDomain/edge\n",
        "    krmfn.dev/owned-by: MultiDomain/edge\n    config.k8s.io/id: '7'\n",
        1,
    )
    changed = TWO.replace("{name: example.com}", "{name: example.com, extraDNSNames: [a.example.com]}")
    exp = expand(load_config(load(changed)), items_of(text), config_path="multidomain.yaml")
    cert = next(i for i in exp.items if i.header.kind == "Certificate")
    assert "# the user's note\n" in cert.text
    assert "config.k8s.io/id: '7'" in cert.text
    assert cert.data["spec"]["dnsNames"] == ["example.com", "*.example.com", "a.example.com"]
    assert any(m.startswith("updated Certificate network/example-com") for m in messages(exp, "info"))


def test_items_owned_by_another_multidomain_are_not_touched() -> None:
    other = stream_of(expand_yaml(TWO, APP).items).replace("MultiDomain/edge", "MultiDomain/other")
    exp = expand(load_config(load(TWO)), items_of(other), config_path="multidomain.yaml")
    errors = messages(exp, "error")
    assert len(errors) == 2
    assert "is in the input but not owned by MultiDomain edge" in errors[0]


def test_generator_mode_is_recognised() -> None:
    config_item = TWO.replace("kind: MultiDomain", "kind: MultiDomain")
    exp = expand_yaml(TWO, config_item)
    assert len(by_kind(exp, "Certificate")) == 2
    assert messages(exp, "warning") == []


def test_config_without_local_config_gets_a_warning() -> None:
    exp = expand_yaml(TWO, TWO.replace('  annotations: {config.kubernetes.io/local-config: "true"}\n', ""))
    assert any("should carry the annotation `config.kubernetes.io/local-config" in m for m in messages(exp, "warning"))


def test_a_list_item_that_mentions_the_owner_is_not_owned_and_passes_through() -> None:
    from conftest import resource_list, run_text

    listed = "- edge\n- krmfn.dev/owned-by: MultiDomain/edge\n- config.kubernetes.io/local-config\n"
    text, code = run_text(resource_list(TWO, listed + "---\n" + APP))
    assert code == 0, text
    assert "  - - edge\n" in text or "- - edge\n" in text
