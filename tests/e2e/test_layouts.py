"""Whole GitOps trees through the real runners: generated files get applied, nothing is duplicated.

The tree is :func:`trees.flux_tree` (the cluster-template layout, the MultiDomain in
``kubernetes/apps/network/envoy-gateway/app/``). Every kpt form must leave the same files;
``kubectl kustomize`` of that directory must then output every domain's Certificate and no
MultiDomain, and what Flux would apply must hold each Certificate and Secret once.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from pathlib import Path
from typing import Any

import fluxtree
import pytest
import yaml
from conftest import flux_substitute
from trees import MULTIDOMAIN, VARIABLES, flux_tree, read_tree

APP = "kubernetes/apps/network/envoy-gateway/app"


def kpt(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(["kpt", *args], cwd=cwd, capture_output=True, text=True, check=False)


def render(pkg: Path) -> subprocess.CompletedProcess[str]:
    proc = kpt("fn", "render", "--allow-exec", "--truncate-output=false", str(pkg), cwd=pkg.parent)
    assert proc.returncode == 0, proc.stderr
    return proc


def kustomize(directory: Path, variables: dict[str, str] = VARIABLES) -> list[dict[str, Any]]:
    proc = subprocess.run(["kubectl", "kustomize", str(directory)], capture_output=True, text=True, check=False)
    assert proc.returncode == 0, proc.stderr
    return [d for d in yaml.safe_load_all(flux_substitute(proc.stdout, variables)) if d]


def flux_problems(root: Path) -> list[str]:
    """What is wrong with what Flux applies from the tree (fluxtree: built, namespaced, substituted)."""
    return fluxtree.problems(fluxtree.applied(root, VARIABLES).builds)


def identity_render(tree: Path) -> dict[str, str]:
    """The same tree rendered with `cat` as the function: what kpt does to files by itself."""
    copy = tree.parent / "identity"
    shutil.copytree(tree, copy)
    kptfile = copy / "Kptfile"
    kptfile.write_text(kptfile.read_text().replace("exec: krmfn", "exec: cat"))
    render(copy)
    out = read_tree(copy)
    out["Kptfile"] = read_tree(tree)["Kptfile"]
    return out


def test_kpt_render_of_the_whole_tree(tmp_path: Path) -> None:
    pkg = flux_tree(tmp_path / "pkg")
    identity = identity_render(pkg)
    proc = render(pkg)
    after = read_tree(pkg)
    changed = sorted(p for p in after if after[p] != identity.get(p))
    assert changed == [
        "kubernetes/apps/network/cloudflare-dns/app/helmrelease.yaml",
        f"{APP}/certificate.yaml",
        f"{APP}/edge/certificates.yaml",
        f"{APP}/envoy.yaml",
        f"{APP}/kustomization.yaml",
    ], "every other file is byte for byte what a `cat` render leaves"
    for reported in (
        "patched HelmRelease cloudflare-dns",
        "adopted Certificate ${SECRET_DOMAIN/./-}-production",
        "generated Certificate network/example-org-production",
        "patched Gateway envoy-external",
        f"patched {APP}/kustomization.yaml",
    ):
        assert reported in proc.stderr
    assert after[f"{APP}/certificate.yaml"] == identity[f"{APP}/certificate.yaml"].replace(
        '  name: "${SECRET_DOMAIN/./-}-production"\n',
        '  name: "${SECRET_DOMAIN/./-}-production"\n  annotations:\n    krmfn.dev/owned-by: MultiDomain/edge\n',
    ), "the hand-written Certificate is adopted: only the owner mark is added"
    assert after[f"{APP}/kustomization.yaml"].endswith(
        "  # the template's own Certificate, written by hand\n  - ./certificate.yaml\n  - ./envoy.yaml\n"
        "  - ./edge/certificates.yaml\n"
    )
    built = kustomize(pkg / APP)
    assert sorted((d["kind"], d["metadata"]["name"]) for d in built if d["kind"] in ("Certificate", "MultiDomain")) == [
        ("Certificate", "example-com-production"),
        ("Certificate", "example-org-production"),
    ]
    assert flux_problems(pkg) == []
    again = render(pkg)
    assert read_tree(pkg) == after, again.stderr


def test_a_removed_domain_is_pruned_and_unlisted(tmp_path: Path) -> None:
    pkg = flux_tree(tmp_path / "pkg")
    render(pkg)
    config = pkg / MULTIDOMAIN
    config.write_text(config.read_text().replace("    - name: example.org\n", ""))
    proc = render(pkg)
    assert not (pkg / APP / "edge" / "certificates.yaml").exists()
    assert "./edge/certificates.yaml" not in (pkg / APP / "kustomization.yaml").read_text()
    assert "no longer lists the removed ./edge/certificates.yaml" in proc.stderr
    assert [d["metadata"]["name"] for d in kustomize(pkg / APP) if d["kind"] == "Certificate"] == [
        "example-com-production"
    ]


def test_the_first_render_of_a_single_domain_tree_changes_only_ownership_marks(tmp_path: Path) -> None:
    pkg = flux_tree(tmp_path / "pkg", domains=("${SECRET_DOMAIN}",))
    identity = identity_render(pkg)
    render(pkg)
    after = read_tree(pkg)
    for path, text in after.items():
        if text == identity.get(path):
            continue
        removed = [line for line in text.splitlines() if line not in identity[path].splitlines()]
        assert all("krmfn.dev/" in line or line.strip() == "annotations:" for line in removed), (path, removed)


@pytest.mark.parametrize("form", ["pipe", "eval"])
def test_every_kpt_form_puts_the_files_in_the_same_place(tmp_path: Path, form: str) -> None:
    """`kpt fn source | krmfn | kpt fn sink` and `kpt fn eval` on the `kubernetes/` subtree, as the recipes do."""
    rendered = flux_tree(tmp_path / "rendered")
    render(rendered)
    repo = flux_tree(tmp_path / "repo")
    (repo / "kubernetes" / ".krmignore").write_text("apps/default/echo/app/resources/\n")
    script = Path(__file__).resolve().parents[2] / "deploy" / ("kpt/pipe.sh" if form == "pipe" else "flux/render.sh")
    out = tmp_path / "out"
    # render.sh with no argument: the `kubernetes` tree and the one multidomain.yaml in it
    args = [str(script), "kubernetes", MULTIDOMAIN, str(out)] if form == "pipe" else [str(script)]
    proc = subprocess.run(args, cwd=repo, capture_output=True, text=True, check=False, env=dict(os.environ))
    assert proc.returncode == 0, proc.stderr
    result = out if form == "pipe" else repo / "kubernetes"
    want = {p.removeprefix("kubernetes/"): t for p, t in read_tree(rendered).items() if p.startswith("kubernetes/")}
    got = read_tree(result)
    for path in (f"{APP}/edge/certificates.yaml", f"{APP}/kustomization.yaml", f"{APP}/certificate.yaml"):
        short = path.removeprefix("kubernetes/")
        assert _without_kpt_marks(got[short]) == _without_kpt_marks(want[short]), short


def _without_kpt_marks(text: str) -> str:
    return re.sub(r"\n *(internal\.)?config\.kubernetes\.io/\w+: .*", "", text)


def test_a_pipe_that_fails_fails_the_recipe(tmp_path: Path) -> None:
    repo = flux_tree(tmp_path / "repo")
    (repo / "kubernetes" / ".krmignore").write_text("apps/default/echo/app/resources/\n")
    config = repo / MULTIDOMAIN
    config.write_text(config.read_text().replace("example.org", "example..org"))
    script = Path(__file__).resolve().parents[2] / "deploy" / "kpt" / "pipe.sh"
    proc = subprocess.run(
        [str(script), "kubernetes", MULTIDOMAIN, str(tmp_path / "out")],
        cwd=repo,
        capture_output=True,
        text=True,
        check=False,
    )
    assert proc.returncode != 0
    assert "must not contain an empty label" in proc.stderr


def test_the_cluster_template_fixture_applies_every_domains_certificate() -> None:
    """Issue 11's proof on the real-layout fixture: its rendered app directory, built as Flux builds it."""
    example = Path(__file__).resolve().parents[2] / "examples" / "cluster-template"
    built = kustomize(example / "expected" / APP, fluxtree.read_vars(example / "flux-vars.env"))
    certificates = [d for d in built if d["kind"] == "Certificate"]
    assert sorted(d["spec"]["secretName"] for d in certificates) == [
        "example-com-production-tls",
        "example-org-production-tls",
    ]
    assert not [d for d in built if d["kind"] == "MultiDomain"]
