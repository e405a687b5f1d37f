"""Generated files go next to the MultiDomain, and something applies them (krmfn/placement.py).

In process, on items as kpt hands them over; `tests/e2e/test_layouts.py` runs the same with kpt
and kubectl kustomize.
"""

from __future__ import annotations

from conftest import messages
from trees import FILES, MULTIDOMAIN, kpt_items

from krmfn.api.config import load_config
from krmfn.expand import Expansion, expand
from krmfn.krm.item import Item
from krmfn.krm.yamltext import load

APP = "kubernetes/apps/network/envoy-gateway/app"
CONFIG = load_config(
    load(
        FILES[MULTIDOMAIN]
        .split("---\n", 1)[1]
        .replace("    - name: ${SECRET_DOMAIN}\n", "    - name: ${SECRET_DOMAIN}\n    - name: example.org\n")
    )
)


def run(files: dict[str, str], config_path: str | None = MULTIDOMAIN) -> Expansion:
    return expand(CONFIG, kpt_items(files), config_path=config_path)


def at(exp: Expansion, path: str) -> Item:
    (item,) = [i for i in exp.items if i.path == path]
    return item


def test_the_kustomization_lists_the_generated_file_and_keeps_its_comments() -> None:
    exp = run(FILES)
    resources = at(exp, f"{APP}/kustomization.yaml").data["resources"]
    assert resources == ["./certificate.yaml", "./envoy.yaml", "./edge/certificates.yaml"]
    generated = [i for i in exp.items if i.path == f"{APP}/edge/certificates.yaml"]
    assert [i.header.name for i in generated] == ["example-org-production"]
    assert f"patched {APP}/kustomization.yaml: `resources` lists the generated ./edge/certificates.yaml" in messages(
        exp
    )


def test_the_config_path_of_a_pipe_is_the_bare_file_name_and_the_twin_wins() -> None:
    """`kpt fn source --fn-config DIR/multidomain.yaml` annotates the config `multidomain.yaml`."""
    exp = run(FILES, config_path="multidomain.yaml")
    assert any(i.path == f"{APP}/edge/certificates.yaml" for i in exp.items)


def test_bare_entries_get_bare_entries() -> None:
    files = {**FILES, f"{APP}/kustomization.yaml": "resources:\n  - certificate.yaml\n  - envoy.yaml\n"}
    assert at(run(files), f"{APP}/kustomization.yaml").data["resources"][-1] == "edge/certificates.yaml"


def test_a_kustomization_without_resources_gets_them() -> None:
    files = {**FILES, f"{APP}/kustomization.yaml": "apiVersion: kustomize.config.k8s.io/v1beta1\nkind: Kustomization\n"}
    assert at(run(files), f"{APP}/kustomization.yaml").data["resources"] == ["./edge/certificates.yaml"]


def test_a_directory_nothing_applies_is_warned_about() -> None:
    files = {(k if k != MULTIDOMAIN else "kubernetes/edge/multidomain.yaml"): v for k, v in FILES.items()}
    warnings = messages(run(files, "kubernetes/edge/multidomain.yaml"), "warning")
    assert (
        "nothing applies the generated kubernetes/edge/edge/certificates.yaml: no kustomization.yaml in "
        "kubernetes/edge or above it, and no Flux Kustomization's path, reaches them; put the MultiDomain in a "
        "directory whose kustomization.yaml is applied (krmfn then lists its files there), or create "
        "kubernetes/edge/kustomization.yaml"
    ) in warnings


def test_a_kustomization_above_that_does_not_list_them_is_named() -> None:
    files = {k: v for k, v in FILES.items() if k != f"{APP}/kustomization.yaml"}
    files["kubernetes/apps/network/envoy-gateway/kustomization.yaml"] = "resources: [app/certificate.yaml]\n"
    ks = "kubernetes/apps/network/envoy-gateway/ks.yaml"
    files[ks] = files[ks].replace("envoy-gateway/app", "envoy-gateway")
    (warning,) = [w for w in messages(run(files), "warning") if w.startswith("nothing applies")]
    assert (
        "the nearest kustomization.yaml, kubernetes/apps/network/envoy-gateway/kustomization.yaml, does not" in warning
    )
    assert "- ./app/edge/certificates.yaml" in warning


def test_a_flux_path_without_kustomization_applies_everything_below_it() -> None:
    files = {k: v for k, v in FILES.items() if k != f"{APP}/kustomization.yaml"}
    assert not [w for w in messages(run(files), "warning") if w.startswith("nothing applies")]


def test_a_plain_package_is_not_warned_about() -> None:
    files = {"multidomain.yaml": FILES[MULTIDOMAIN], "envoy.yaml": FILES[f"{APP}/envoy.yaml"]}
    exp = run(files, config_path="multidomain.yaml")
    assert any(i.path == "edge/certificates.yaml" for i in exp.items)
    assert not [w for w in messages(exp, "warning") if w.startswith("nothing applies")]


def application(path: str) -> str:
    return (
        "apiVersion: argoproj.io/v1alpha1\nkind: Application\nmetadata: {name: root, namespace: argocd}\n"
        f"spec:\n  source: {{repoURL: 'https://git.example.com/r.git', path: {path}}}\n"
        "  destination: {server: 'https://kubernetes.default.svc'}\n"
    )


def test_argo_cd_applications_that_do_not_reach_the_directory_are_warned_about() -> None:
    """Thakurvaibhav/k8s: the Applications point at charts; nothing applies the MultiDomain's directory."""
    base = {"clusters/multidomain.yaml": FILES[MULTIDOMAIN], "envoy.yaml": FILES[f"{APP}/envoy.yaml"]}
    elsewhere = run({**base, "bootstrap/dev.yaml": application("charts/app-of-apps")}, "clusters/multidomain.yaml")
    (warning,) = [w for w in messages(elsewhere, "warning") if w.startswith("nothing applies")]
    assert "no Argo CD Application in the input has a source `path` that reaches clusters" in warning
    assert "(theirs: charts/app-of-apps;" in warning
    for path in ("clusters", "./clusters/", "."):
        reaching = run({**base, "bootstrap/dev.yaml": application(path)}, "clusters/multidomain.yaml")
        assert not [w for w in messages(reaching, "warning") if w.startswith("nothing applies")], path


def test_a_target_namespace_that_moves_a_generated_certificate_is_warned_about() -> None:
    files = dict(FILES)
    files[MULTIDOMAIN] = files[MULTIDOMAIN].replace(
        "  certificates:\n", "  certificates:\n    namespace: cert-manager\n"
    )
    config = load_config(load(files[MULTIDOMAIN].split("---\n", 1)[1]))
    warnings = messages(expand(config, kpt_items(files), config_path=MULTIDOMAIN), "warning")
    assert any(
        "lands in namespace network, not cert-manager: Flux Kustomization envoy-gateway sets the namespace" in w
        for w in warnings
    )


def test_a_pruned_file_leaves_every_kustomization_that_listed_it() -> None:
    first = run(FILES)
    files = dict(FILES)
    files[f"{APP}/kustomization.yaml"] = at(first, f"{APP}/kustomization.yaml").text
    files[f"{APP}/edge/certificates.yaml"] = at(first, f"{APP}/edge/certificates.yaml").text
    files["kubernetes/apps/network/kustomization.yaml"] += "  - ./envoy-gateway/app/edge/certificates.yaml\n"
    one = load_config(load(FILES[MULTIDOMAIN].split("---\n", 1)[1]))
    exp = expand(one, kpt_items(files), config_path=MULTIDOMAIN)
    assert at(exp, f"{APP}/kustomization.yaml").data["resources"] == ["./certificate.yaml", "./envoy.yaml"]
    assert (
        "./envoy-gateway/app/edge/certificates.yaml"
        not in at(exp, "kubernetes/apps/network/kustomization.yaml").data["resources"]
    )
    assert not any(i.path == f"{APP}/edge/certificates.yaml" for i in exp.items)
