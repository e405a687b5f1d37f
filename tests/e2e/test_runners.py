"""The Flux and Argo CD snippets in deploy/ work as written.

Argo CD's repo-server and Flux's controllers cannot run here; what can is run for real:
the CMP's generate command as argocd-cmp-server runs it (``command`` + ``args`` in the app
directory), and the Flux pre-render script, whose output is then substituted the way
Flux's envsubst does (literal ``${VAR}`` and ``${VAR//./-}``) and validated.
"""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import yaml
from conftest import flux_substitute
from crdschema import assert_manifests_valid
from manifests import DOMAINS, EDGE_BLOCK, multidomain

ROOT = Path(__file__).resolve().parents[2]
SHIM = ROOT / "tests" / "e2e" / "bin"

CONFIG = multidomain(
    DOMAINS,
    "  certificates: {namespace: network, issuerRef: {name: letsencrypt-production}, nameSuffix: production}\n",
    metadata=EDGE_BLOCK,
)
APP = "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: app\n  namespace: default\ndata:\n  greeting: hello\n"


def test_argocd_cmp_generate_command(tmp_path: Path) -> None:
    plugin = yaml.safe_load((ROOT / "deploy" / "argocd" / "cmp-plugin.yaml").read_text())
    generate = plugin["spec"]["generate"]
    app = tmp_path / "app"
    app.mkdir()
    (app / "multidomain.yaml").write_text(CONFIG)
    (app / "configmap.yaml").write_text(APP)
    env = {"PATH": os.environ["PATH"], "ARGOCD_APP_NAME": "network", "HOME": str(tmp_path)}
    proc = subprocess.run(
        [*generate["command"], *generate["args"]], cwd=app, capture_output=True, text=True, env=env, check=False
    )
    assert proc.returncode == 0, proc.stderr
    docs = [d for d in yaml.safe_load_all(proc.stdout) if d]
    assert [d["kind"] for d in docs] == ["ConfigMap", "Certificate", "Certificate"]
    assert plugin["spec"]["discover"]["fileName"] == "./multidomain.yaml"


def test_argocd_cmp_fails_the_sync_on_a_bad_config(tmp_path: Path) -> None:
    generate = yaml.safe_load((ROOT / "deploy" / "argocd" / "cmp-plugin.yaml").read_text())["spec"]["generate"]
    app = tmp_path / "app"
    app.mkdir()
    (app / "multidomain.yaml").write_text(CONFIG.replace("example.org", "example..org"))
    proc = subprocess.run(
        [*generate["command"], *generate["args"]], cwd=app, capture_output=True, text=True, check=False
    )
    assert proc.returncode == 1
    assert proc.stdout == ""
    assert "`spec.domains[1].name` must not contain an empty label" in proc.stderr


def test_argocd_build_options() -> None:
    cm = yaml.safe_load((ROOT / "deploy" / "argocd" / "argocd-cm.yaml").read_text())
    assert cm["data"]["kustomize.buildOptions"].split() == ["--enable-alpha-plugins", "--enable-exec"]


def test_flux_pre_render_keeps_placeholders_for_post_build_substitution(tmp_path: Path) -> None:
    kdir = tmp_path / "k"
    kdir.mkdir()
    (kdir / "kustomization.yaml").write_text("resources: [app.yaml]\ntransformers: [multidomain.yaml]\n")
    (kdir / "app.yaml").write_text(APP)
    annotation = "  annotations:\n    config.kubernetes.io/function: |\n      container:\n        image: ghcr.io/krmfn/krmfn:0.1.0\n"
    (kdir / "multidomain.yaml").write_text(CONFIG.replace("  name: edge\n", "  name: edge\n" + annotation))
    out = tmp_path / "rendered.yaml"
    env = {**os.environ, "PATH": f"{SHIM}{os.pathsep}{os.environ['PATH']}"}
    proc = subprocess.run(
        [str(ROOT / "deploy" / "flux" / "prerender.sh"), str(kdir), str(out)],
        capture_output=True,
        text=True,
        env=env,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr
    rendered = out.read_text()
    assert "name: ${SECRET_DOMAIN//./-}-production\n" in rendered
    assert "- ${SECRET_DOMAIN}\n" in rendered
    substituted = flux_substitute(rendered, {"SECRET_DOMAIN": "example.co.uk"})
    assert "name: example-co-uk-production\n" in substituted
    assert "${" not in substituted
    assert_manifests_valid(substituted)
    flux = yaml.safe_load((ROOT / "deploy" / "flux" / "kustomization.yaml").read_text())
    assert flux["spec"]["postBuild"]["substituteFrom"] == [{"kind": "Secret", "name": "cluster-secrets"}]
    assert_manifests_valid((ROOT / "deploy" / "flux" / "kustomization.yaml").read_text())
