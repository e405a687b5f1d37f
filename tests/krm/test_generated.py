"""ConfigMaps from configMapGenerator files: read where kpt says the package is, written back only when changed."""

from __future__ import annotations

from pathlib import Path

from krmfn.krm import generated
from krmfn.krm.item import Item
from krmfn.krm.package import read as read_package

KUSTOMIZATION = """\
apiVersion: kustomize.config.k8s.io/v1beta1
kind: Kustomization
namespace: network
configMapGenerator:
  - name: cloudflared-configmap
    files:
      - ./configs/config.yaml
  - name: renamed
    files:
      - tunnel.yaml=./configs/config.yaml
  - name: outside
    files:
      - ../../secret.yaml
  - name: merged
    behavior: merge
    files:
      - ./configs/config.yaml
"""


def kustomization(package: Path, text: str = KUSTOMIZATION) -> Item:
    annotations = (
        "metadata:\n  annotations:\n    config.kubernetes.io/path: app/kustomization.yaml\n"
        f"    internal.config.kubernetes.io/package-path: '{package}'\n"
    )
    return Item(text.replace("namespace: network\n", annotations + "namespace: network\n"))


def package(tmp_path: Path) -> Path:
    (tmp_path / "app" / "configs").mkdir(parents=True)
    (tmp_path / "app" / "configs" / "config.yaml").write_text("ingress:\n  - service: http_status:404\n")
    (tmp_path / "secret.yaml").write_text("not: yours\n")
    return tmp_path


def test_generator_files_become_configmaps(tmp_path: Path) -> None:
    made = generated.read([kustomization(package(tmp_path))])
    assert [(i.header.name, i.header.namespace, sorted(i.data["data"])) for i in made] == [
        ("cloudflared-configmap", "network", ["config.yaml"]),
        ("renamed", "network", ["tunnel.yaml"]),
    ]
    assert made[0].data["data"]["config.yaml"] == "ingress:\n  - service: http_status:404\n"


def test_a_package_read_from_its_directory_knows_where_its_files_are(tmp_path: Path) -> None:
    """`krmfn plan DIR` reads the package itself: no kpt annotation, the same ConfigMaps."""
    (package(tmp_path) / "app" / "kustomization.yaml").write_text(KUSTOMIZATION)
    made = generated.read(read_package(str(tmp_path)).items)
    assert [i.header.name for i in made] == ["cloudflared-configmap", "renamed"]


def test_nothing_is_read_without_a_package_path_or_when_the_configmap_is_there(tmp_path: Path) -> None:
    package(tmp_path)
    assert generated.read([Item(KUSTOMIZATION)]) == []
    built = Item("apiVersion: v1\nkind: ConfigMap\nmetadata: {name: cloudflared-configmap}\n")
    names = [i.header.name for i in generated.read([kustomization(tmp_path), built])]
    assert names == ["renamed"]


def test_only_changed_files_are_written_and_the_items_never_leave(tmp_path: Path) -> None:
    made = generated.read([kustomization(package(tmp_path))])
    other = Item("apiVersion: v1\nkind: ConfigMap\nmetadata: {name: mine}\n")
    edited = made[0].with_data(
        {**made[0].data, "data": {"config.yaml": "ingress:\n  - hostname: a.example.org\n    service: http://a\n"}}
    )
    kept, changed = generated.split([other, edited, made[1]], made)
    assert kept == [other]
    assert [(c.path, c.text) for c in changed] == [
        ("app/configs/config.yaml", "ingress:\n  - hostname: a.example.org\n    service: http://a\n")
    ]
    generated.write(changed)
    assert (tmp_path / "app" / "configs" / "config.yaml").read_text().startswith("ingress:\n  - hostname: a.")
