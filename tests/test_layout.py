"""Namespaces as GitOps writes them, and what applies which file (krmfn/layout.py)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from conftest import expand_yaml, messages
from trees import FILES, MULTIDOMAIN, kpt_items

from krmfn.context import Context
from krmfn.krm.item import Item
from krmfn.layout import ANY, Layout, resource_header


def landing(files: dict[str, str]) -> dict[tuple[str, str], Any]:
    items = kpt_items(files)
    layout = Layout(items)
    out = {}
    for item in items:
        header = resource_header(item)
        if header is not None:
            out[(header.kind, header.name)] = layout.namespaces(item, header.namespace)
    return out


def test_the_cluster_template_layout() -> None:
    found = landing(FILES)
    assert found[("Certificate", "${SECRET_DOMAIN/./-}-production")] == {"network"}, "targetNamespace"
    assert found[("Gateway", "envoy-external")] == {"network"}
    assert found[("HelmRelease", "echo")] == {"default"}
    assert found[("Kustomization", "envoy-gateway")] == {"network"}, "the Flux object itself, by namespace:"
    assert found[("Secret", "cluster-secrets")] == {"network", "default"}, "a component built in two places"
    assert found[("Kustomization", "cluster-apps")] == {"flux-system"}, "applied by nothing here: its own"
    assert found[("MultiDomain", "edge")] is ANY, "listed nowhere and no namespace of its own"


def test_the_package_may_be_a_subtree_of_the_repository() -> None:
    sub = {path.removeprefix("kubernetes/"): text for path, text in FILES.items() if path.startswith("kubernetes/")}
    found = landing(sub)
    assert found[("Certificate", "${SECRET_DOMAIN/./-}-production")] == {"network"}
    assert found[("HelmRelease", "echo")] == {"default"}


KS = """\
apiVersion: kustomize.toolkit.fluxcd.io/v1
kind: Kustomization
metadata: {name: app}
spec: {path: ./apps/app, targetNamespace: flux-target}
"""


@pytest.mark.parametrize(
    ("files", "expected"),
    [
        pytest.param(
            {"apps/app/cm.yaml": "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: cm, namespace: own}\n"},
            {"own"},
            id="its-own",
        ),
        pytest.param({"apps/app/cm.yaml": "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: cm}\n"}, ANY, id="any"),
        pytest.param(
            {
                "apps/app/kustomization.yaml": "namespace: inner\nresources: [cm.yaml]\n",
                "apps/app/cm.yaml": "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: cm, namespace: own}\n",
            },
            {"inner"},
            id="kustomization-overrides-its-own",
        ),
        pytest.param(
            {
                "apps/kustomization.yaml": "namespace: outer\nresources: [app]\n",
                "apps/app/kustomization.yaml": "namespace: inner\nresources: [cm.yaml]\n",
                "apps/app/cm.yaml": "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: cm}\n",
            },
            {"outer"},
            id="outermost-wins",
        ),
        pytest.param(
            {
                "flux/ks.yaml": KS,
                "apps/app/kustomization.yaml": "namespace: inner\nresources: [cm.yaml]\n",
                "apps/app/cm.yaml": "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: cm}\n",
            },
            {"flux-target"},
            id="target-namespace-wins",
        ),
        pytest.param(
            {"flux/ks.yaml": KS, "apps/app/deep/cm.yaml": "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: cm}\n"},
            {"flux-target"},
            id="flux-scans-a-directory-without-kustomization",
        ),
        pytest.param(
            {
                "flux/ks.yaml": KS,
                "apps/app/sub/kustomization.yaml": "resources: []\n",
                "apps/app/sub/cm.yaml": "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: cm}\n",
            },
            ANY,
            id="flux-stops-at-a-kustomization-that-does-not-list-the-file",
        ),
        pytest.param(
            {
                "apps/app/kustomization.yaml": "resources: [cm.yaml]\n",
                "apps/app/cm.yaml": "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: cm}\n",
                "other/kustomization.yaml": "namespace: two\nresources: [../apps/app/cm.yaml]\n",
            },
            ANY,
            id="built-twice-once-without-namespace",
        ),
    ],
)
def test_namespace_rules(files: dict[str, str], expected: Any) -> None:
    assert landing(files)[("ConfigMap", "cm")] == expected


def test_without_paths_every_resource_keeps_its_own_namespace() -> None:
    item = Item("apiVersion: v1\nkind: ConfigMap\nmetadata: {name: cm}\n")
    assert Layout([item]).namespaces(item, None) is ANY
    assert Layout([item]).namespaces(item, "own") == frozenset({"own"})


def test_a_missing_namespace_never_hides_a_duplicate() -> None:
    """Two HelmReleases of one name, one without namespace: neither is `the` target."""
    config = """\
apiVersion: krmfn.dev/v1alpha1
kind: MultiDomain
metadata: {name: edge}
spec:
  domains: [{name: example.org}]
  externalDNS: [{kind: HelmRelease, name: external-dns, namespace: network}]
"""
    release = "apiVersion: helm.toolkit.fluxcd.io/v2\nkind: HelmRelease\nmetadata:\n  name: external-dns\n{}spec:\n  values: {{}}\n"
    stream = release.format("  namespace: network\n") + "---\n" + release.format("")
    assert "HelmRelease network/external-dns must appear once in the input; found 2" in messages(
        expand_yaml(config, stream), "error"
    )
    assert messages(expand_yaml(config, release.format("")), "error") == []


def test_lookups_go_through_the_index(tmp_path: Path) -> None:
    """Finding a resource costs one lookup, however many items there are; replace keeps it findable."""
    from krmfn.api.config import load_config
    from krmfn.krm.yamltext import load

    config = load_config(load(FILES[MULTIDOMAIN].split("---\n", 1)[1]))
    many = [f"apiVersion: v1\nkind: ConfigMap\nmetadata: {{name: c{i}}}\n" for i in range(500)]
    items = kpt_items({f"apps/c{i}.yaml": text for i, text in enumerate(many)})
    ctx = Context(config=config, items=items)
    (found,) = ctx.find("ConfigMap", "c250")
    assert ctx.lookups == 1
    ctx.replace(found, {**found.data, "data": {"a": "b"}}, "test")
    (again,) = ctx.find("ConfigMap", "c250", "anywhere")
    assert again.data["data"] == {"a": "b"}
    assert ctx.lookups == 2
