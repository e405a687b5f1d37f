"""End to end through the real runners on this machine: kpt and kubectl kustomize.

Nothing here is mocked but the container engine: a ``docker`` script on PATH runs the
local package where kustomize would start the image (the image itself is exercised by
``scripts/container-check.sh`` under podman).
"""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest
import yaml
from manifests import CERTIFICATES, EDGE_LOCAL, domains, multidomain

ROOT = Path(__file__).resolve().parents[2]
SHIM = ROOT / "tests" / "e2e" / "bin"

CONFIG = multidomain(domains("example.com", "${SECRET_DOMAIN_TWO}"), CERTIFICATES, metadata=EDGE_LOCAL)
# Written the way kpt writes files, so that kpt's own re-formatting shows no difference.
APP = """\
# The app: krmfn must not touch it.
apiVersion: apps/v1
kind: Deployment
metadata:
  name: echo # demo
  namespace: default
spec:
  template:
    spec:
      containers:
        - name: echo
          image: 'ghcr.io/mendhak/http-https-echo:37'
          args: ["--port", "8080"]
          env:
            - name: GREETING
              value: |
                hello
                world
"""


def package(root: Path, mutator: str = "exec: krmfn") -> Path:
    pkg = root / "pkg"
    pkg.mkdir()
    (pkg / "Kptfile").write_text(
        "apiVersion: kpt.dev/v1\nkind: Kptfile\nmetadata:\n  name: pkg\n  annotations:\n"
        '    config.kubernetes.io/local-config: "true"\n'
        f"pipeline:\n  mutators:\n    - {mutator}\n      configPath: multidomain.yaml\n"
    )
    (pkg / "multidomain.yaml").write_text(CONFIG)
    (pkg / "app.yaml").write_text(APP)
    return pkg


def run(cmd: list[str], cwd: Path, **kwargs: object) -> subprocess.CompletedProcess[str]:
    return subprocess.run(cmd, cwd=cwd, capture_output=True, text=True, check=False, **kwargs)  # type: ignore[call-overload, no-any-return]


def certificates(text: str) -> list[str]:
    return [d["metadata"]["name"] for d in yaml.safe_load_all(text) if d and d.get("kind") == "Certificate"]


def test_kpt_render_changes_only_what_it_generates(tmp_path: Path) -> None:
    pkg = package(tmp_path)
    original = tmp_path / "original"
    shutil.copytree(pkg, original)
    proc = run(["kpt", "fn", "render", "--allow-exec", str(pkg)], tmp_path)
    assert proc.returncode == 0, proc.stderr
    diff = run(["diff", "-r", str(original), str(pkg)], tmp_path)
    assert diff.stdout == f"Only in {pkg}: edge\n"
    assert certificates((pkg / "edge" / "certificates.yaml").read_text()) == [
        "example-com",
        "${SECRET_DOMAIN_TWO//./-}",
    ]
    again = run(["kpt", "fn", "render", "--allow-exec", str(pkg)], tmp_path)
    assert again.returncode == 0, again.stderr
    assert run(["diff", "-r", str(original), str(pkg)], tmp_path).stdout == diff.stdout


def test_kpt_render_fails_without_writing_on_a_bad_config(tmp_path: Path) -> None:
    pkg = package(tmp_path)
    (pkg / "multidomain.yaml").write_text(CONFIG.replace("example.com", "https://example.com"))
    before = {p.name: p.read_bytes() for p in pkg.iterdir()}
    proc = run(["kpt", "fn", "render", "--allow-exec", str(pkg)], tmp_path)
    assert proc.returncode != 0
    assert "`spec.domains[0].name` must be a domain name, not a URL: 'https://example.com'" in proc.stderr
    assert {p.name: p.read_bytes() for p in pkg.iterdir()} == before


def test_kpt_fn_eval_exec(tmp_path: Path) -> None:
    pkg = package(tmp_path)
    proc = run(
        ["kpt", "fn", "eval", str(pkg), "--exec", "krmfn", "--fn-config", str(pkg / "multidomain.yaml")], tmp_path
    )
    assert proc.returncode == 0, proc.stderr
    assert certificates((pkg / "edge" / "certificates.yaml").read_text()) == [
        "example-com",
        "${SECRET_DOMAIN_TWO//./-}",
    ]
    assert (pkg / "app.yaml").read_text() == APP


def test_kpt_source_krmfn_sink_pipe(tmp_path: Path) -> None:
    pkg = package(tmp_path)
    out = tmp_path / "out"
    proc = subprocess.run(
        f"kpt fn source {pkg} --fn-config {pkg / 'multidomain.yaml'} | krmfn | kpt fn sink {out}",
        shell=True,
        cwd=tmp_path,
        capture_output=True,
        text=True,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr
    assert (out / "app.yaml").read_text() == APP
    assert certificates((out / "edge" / "certificates.yaml").read_text()) == [
        "example-com",
        "${SECRET_DOMAIN_TWO//./-}",
    ]


def kustomization(root: Path, field: str, config_annotation: str) -> Path:
    kdir = root / "k"
    kdir.mkdir()
    (kdir / "kustomization.yaml").write_text(f"resources:\n  - app.yaml\n{field}:\n  - multidomain.yaml\n")
    (kdir / "app.yaml").write_text(APP)
    config = CONFIG.replace('    config.kubernetes.io/local-config: "true"\n', config_annotation)
    (kdir / "multidomain.yaml").write_text(config)
    return kdir


def test_kubectl_kustomize_container_transformer(tmp_path: Path) -> None:
    annotation = "    config.kubernetes.io/function: |\n      container:\n        image: ghcr.io/krmfn/krmfn:0.1.0\n"
    kdir = kustomization(tmp_path, "transformers", annotation)
    log = tmp_path / "docker.log"
    env = {**os.environ, "PATH": f"{SHIM}{os.pathsep}{os.environ['PATH']}", "KRMFN_DOCKER_LOG": str(log)}
    proc = run(["kubectl", "kustomize", "--enable-alpha-plugins", str(kdir)], tmp_path, env=env)
    assert proc.returncode == 0, proc.stderr
    docs = [d for d in yaml.safe_load_all(proc.stdout) if d]
    assert [d["kind"] for d in docs] == ["Deployment", "Certificate", "Certificate"]
    assert "run --rm -i -a STDIN -a STDOUT -a STDERR --network none --user nobody" in log.read_text()


def test_kubectl_kustomize_shows_errors_from_stderr(tmp_path: Path) -> None:
    annotation = "    config.kubernetes.io/function: |\n      container:\n        image: ghcr.io/krmfn/krmfn:0.1.0\n"
    kdir = kustomization(tmp_path, "transformers", annotation)
    (kdir / "multidomain.yaml").write_text(
        (kdir / "multidomain.yaml").read_text().replace("example.com", "exa_mple.com")
    )
    env = {**os.environ, "PATH": f"{SHIM}{os.pathsep}{os.environ['PATH']}"}
    proc = run(["kubectl", "kustomize", "--enable-alpha-plugins", str(kdir)], tmp_path, env=env)
    assert proc.returncode != 0
    assert "krmfn: error: `spec.domains[0].name` must not contain an underscore" in proc.stderr


def test_kubectl_kustomize_skips_exec_functions_silently(tmp_path: Path) -> None:
    """Documented behaviour we warn users about: kubectl has no --enable-exec."""
    annotation = "    config.kubernetes.io/function: |\n      exec:\n        path: krmfn\n"
    kdir = kustomization(tmp_path, "transformers", annotation)
    proc = run(["kubectl", "kustomize", "--enable-alpha-plugins", str(kdir)], tmp_path)
    assert proc.returncode == 0, proc.stderr
    assert certificates(proc.stdout) == []


@pytest.mark.parametrize("field", ["generators", "transformers"])
def test_kubectl_kustomize_legacy_exec_plugin(tmp_path: Path, field: str) -> None:
    kdir = kustomization(tmp_path, field, "")
    env = {**os.environ, "KUSTOMIZE_PLUGIN_HOME": str(ROOT / "plugins")}
    proc = run(["kubectl", "kustomize", "--enable-alpha-plugins", str(kdir)], tmp_path, env=env)
    assert proc.returncode == 0, proc.stderr
    docs = [d for d in yaml.safe_load_all(proc.stdout) if d]
    kinds = sorted(d["kind"] for d in docs)
    assert kinds == ["Certificate", "Certificate", "Deployment"]
