"""Under kpt fn render, cloudflared's config kept as a configMapGenerator file is edited in place (issue 18).

kpt refuses the file itself (no apiVersion), so the package ignores it; krmfn finds it through
the kustomization and the package path kpt passes, and writes it back only on success.
"""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

#: The krmfn of the environment running the tests (the one `scripts/setup` installs).
KRMFN = shutil.which("krmfn") or "krmfn"

KPTFILE = """\
apiVersion: kpt.dev/v1
kind: Kptfile
metadata:
  name: pkg
  annotations:
    config.kubernetes.io/local-config: "true"
pipeline:
  mutators:
    - exec: {krmfn}
      configPath: multidomain.yaml
"""
MULTIDOMAIN = """\
apiVersion: krmfn.dev/v1alpha1
kind: MultiDomain
metadata:
  name: edge
  annotations:
    config.kubernetes.io/local-config: "true"
spec:
  domains:
    - name: example.com
    - name: example.org
  certificates: {namespace: network, issuerRef: {name: letsencrypt-production}}
  tunnel:
    kind: ConfigMap
    name: cloudflared-configmap
    namespace: network
    service: https://envoy.network.svc.cluster.local
"""
KUSTOMIZATION = """\
apiVersion: kustomize.config.k8s.io/v1beta1
kind: Kustomization
metadata:
  name: cloudflared
namespace: network
configMapGenerator:
  - name: cloudflared-configmap
    files:
      - ./configs/config.yaml
generatorOptions:
  disableNameSuffixHash: true
"""
CONFIG = """\
originRequest:
  http2Origin: true
  originServerName: "external.example.com"

ingress:
  # the apex on a gateway of its own
  - hostname: "example.com"
    service: https://root.network.svc.cluster.local
    originRequest:
      originServerName: "example.com"
  - hostname: "*.example.com"
    service: https://envoy.network.svc.cluster.local
  - service: http_status:404
"""


def make(tmp_path: Path) -> Path:
    pkg = tmp_path / "pkg"
    (pkg / "app" / "configs").mkdir(parents=True)
    (pkg / "Kptfile").write_text(KPTFILE.format(krmfn=KRMFN))
    (pkg / ".krmignore").write_text("app/configs/config.yaml\n")
    (pkg / "multidomain.yaml").write_text(MULTIDOMAIN)
    (pkg / "app" / "kustomization.yaml").write_text(KUSTOMIZATION)
    (pkg / "app" / "configs" / "config.yaml").write_text(CONFIG)
    return pkg


def render(pkg: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        ["kpt", "fn", "render", "--allow-exec", "--truncate-output=false", str(pkg)],
        capture_output=True,
        text=True,
        check=False,
    )


@pytest.mark.skipif(shutil.which("kpt") is None, reason="needs kpt")
def test_the_generator_file_gets_the_new_domains_rules_and_keeps_the_users(tmp_path: Path) -> None:
    pkg = make(tmp_path)
    proc = render(pkg)
    assert proc.returncode == 0, proc.stderr
    assert (pkg / "app" / "configs" / "config.yaml").read_text() == CONFIG.replace(
        "  - service: http_status:404\n",
        "  - hostname: example.org\n    originRequest:\n      originServerName: external.example.org\n"
        "    service: https://envoy.network.svc.cluster.local\n"
        '  - hostname: "*.example.org"\n    originRequest:\n      originServerName: external.example.org\n'
        "    service: https://envoy.network.svc.cluster.local\n  - service: http_status:404\n",
    )
    assert "wrote app/configs/config.yaml" in proc.stderr
    assert "left as written" in proc.stderr  # the apex rule is the user's
    built = subprocess.run(["kubectl", "kustomize", str(pkg / "app")], capture_output=True, text=True, check=True)
    assert "hostname: example.org" in built.stdout
    after = (pkg / "app" / "configs" / "config.yaml").read_text()
    again = render(pkg)
    assert again.returncode == 0, again.stderr
    assert (pkg / "app" / "configs" / "config.yaml").read_text() == after
    assert "wrote" not in again.stderr


@pytest.mark.skipif(shutil.which("kpt") is None, reason="needs kpt")
def test_after_an_error_the_file_is_not_written(tmp_path: Path) -> None:
    pkg = make(tmp_path)
    # an issuer the config names is not in the package: an error, so the run must change nothing
    (pkg / "multidomain.yaml").write_text(MULTIDOMAIN + "  issuers: [{name: missing}]\n")
    proc = render(pkg)
    assert proc.returncode != 0
    assert (pkg / "app" / "configs" / "config.yaml").read_text() == CONFIG
