"""Real-layout inputs at scale: the repository fixtures of ``examples/``, grown.

Two trees, written as kpt packages (``bench/run.py`` times them as streams and through
``kpt fn render``; ``tests/test_linearity.py`` counts work on the same trees):

- :func:`routes_tree`: cluster-template as rendered (``examples/cluster-template/expected``,
  the steady state) with its MultiDomain grown to *domains* zones and *routes* HTTPRoutes added,
  ten to an app, in Flux app directories as the template lays them out. Hostnames go round the
  zones; routes alternate between the external and the internal Gateway, so most external ones
  need a DNSEndpoint of their own (their zone is not the Gateway's target annotation's).
- :func:`home_ops_tree`: onedr0p-home-ops grown to about *files* files by copying its apps under
  new names, each copy's hostnames moved to the second domain in turn: what a home-ops
  repository with a few dozen apps looks like.

Only files of this project are copied; the hostnames are example.com/org/net names.
"""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
from pathlib import Path

import yaml

EXAMPLES = Path(__file__).resolve().parent.parent / "examples"
CLUSTER_TEMPLATE = EXAMPLES / "cluster-template" / "expected"
HOME_OPS = EXAMPLES / "onedr0p-home-ops" / "pkg"
#: The values Flux substitutes in the home-ops tree (fake).
HOME_OPS_VARIABLES = EXAMPLES / "onedr0p-home-ops" / "flux-vars.env"
#: Where each tree's MultiDomain is (the Kptfile's configPath).
CLUSTER_TEMPLATE_CONFIG = "kubernetes/apps/network/envoy-gateway/app/multidomain.yaml"
HOME_OPS_CONFIG = "kubernetes/apps/network/certificates/export/multidomain.yaml"
ROUTES_PER_APP = 10


def zones(count: int) -> list[str]:
    """The template's two variable domains, then literal ones."""
    return ["${SECRET_DOMAIN}", "${SECRET_DOMAIN_TWO}"] + [f"zone{i}.example.net" for i in range(2, count)]


def _route(name: str, hostname: str, gateway: str) -> str:
    return f"""\
---
apiVersion: gateway.networking.k8s.io/v1
kind: HTTPRoute
metadata:
  name: {name}
spec:
  hostnames: ["{hostname}"]
  parentRefs:
    - name: {gateway}
      namespace: network
      sectionName: https
  rules:
    - backendRefs:
        - name: {name}
          port: 80
"""


def _app_ks(app: str, namespace: str) -> str:
    return f"""\
---
apiVersion: kustomize.toolkit.fluxcd.io/v1
kind: Kustomization
metadata:
  name: {app}
spec:
  interval: 1h
  path: ./kubernetes/apps/{namespace}/{app}/app
  prune: true
  sourceRef:
    kind: GitRepository
    name: flux-system
    namespace: flux-system
  targetNamespace: {namespace}
  wait: false
"""


def _kustomization(resources: list[str], namespace: str | None = None) -> str:
    head = "---\napiVersion: kustomize.config.k8s.io/v1beta1\nkind: Kustomization\n"
    if namespace:
        head += f"namespace: {namespace}\n"
    return head + "resources:\n" + "".join(f"  - ./{r}\n" for r in resources)


def routes_tree(dest: Path, routes: int, domains: int = 10, namespace: str = "apps") -> Path:
    """cluster-template with *domains* zones and *routes* more HTTPRoutes, written at *dest*."""
    shutil.copytree(CLUSTER_TEMPLATE, dest)
    config = dest / CLUSTER_TEMPLATE_CONFIG
    text = config.read_text()
    listed = "".join(f"    - name: {z}\n" for z in zones(domains))
    text, count = re.subn(r"(?m)^  domains:\n(?:    - name: .*\n)+", "  domains:\n" + listed, text)
    assert count == 1, "cluster-template's MultiDomain lost its domains: list"
    config.write_text(text)
    names = zones(domains)
    root = dest / "kubernetes" / "apps" / namespace
    root.mkdir()
    apps = []
    for first in range(0, routes, ROUTES_PER_APP):
        app = f"app-{first // ROUTES_PER_APP}"
        apps.append(app)
        (root / app / "app").mkdir(parents=True)
        docs = []
        for i in range(first, min(first + ROUTES_PER_APP, routes)):
            gateway = "envoy-external" if i % 2 == 0 else "envoy-internal"
            docs.append(_route(f"web-{i}", f"web-{i}.{names[i // 2 % len(names)]}", gateway))
        (root / app / "app" / "httproute.yaml").write_text("".join(docs))
        (root / app / "app" / "kustomization.yaml").write_text(_kustomization(["httproute.yaml"]))
        (root / app / "ks.yaml").write_text(_app_ks(app, namespace))
    (root / "namespace.yaml").write_text(f"---\napiVersion: v1\nkind: Namespace\nmetadata:\n  name: {namespace}\n")
    (root / "kustomization.yaml").write_text(
        _kustomization(["namespace.yaml", *(f"{a}/ks.yaml" for a in apps)], namespace)
    )
    return dest


def home_ops_tree(dest: Path, files: int = 300) -> Path:
    """onedr0p-home-ops grown to about *files* files by copying its `default` apps, written at *dest*."""
    shutil.copytree(HOME_OPS, dest)
    apps_dir = dest / "kubernetes" / "apps" / "default"
    originals = sorted(p.name for p in apps_dir.iterdir() if p.is_dir())
    kustomization = apps_dir / "kustomization.yaml"
    listing = kustomization.read_text()
    copy = 0
    while sum(1 for p in dest.rglob("*") if p.is_file()) < files:
        copy += 1
        for app in originals:
            clone = f"{app}-{copy}"
            shutil.copytree(apps_dir / app, apps_dir / clone)
            for path in (apps_dir / clone).rglob("*.yaml"):
                text = re.sub(rf"\b{re.escape(app)}\b", clone, path.read_text())
                if copy % 2:  # every other copy is served on the second domain
                    text = text.replace(".example.com", ".example.org")
                path.write_text(text)
            listing = listing.replace(f"  - ./{app}/ks.yaml\n", f"  - ./{app}/ks.yaml\n  - ./{clone}/ks.yaml\n")
    kustomization.write_text(listing)
    return dest


def source(tree: Path, config: str) -> bytes:
    """*tree* as ``kpt fn source`` sends it to a function: a ResourceList with *config* as functionConfig."""
    done = subprocess.run(
        ["kpt", "fn", "source", str(tree), "--fn-config", str(tree / config)], capture_output=True, check=False
    )
    if done.returncode != 0:
        raise RuntimeError(f"kpt fn source {tree} failed: {done.stderr.decode()[-2000:]}")
    return done.stdout


def flux_build(tree: Path, variables: Path) -> bytes:
    """What Flux applies from *tree*, as one multi-document stream: the input of a CI pre-render.

    Every Flux Kustomization is built and substituted as kustomize-controller does
    (``tests/fluxtree.py``, with ``kubectl kustomize``); the MultiDomain, local config, is not
    in it (give it with ``--config``).
    """
    sys.path.insert(0, str(EXAMPLES.parent / "tests"))
    import fluxtree  # tests/fluxtree.py

    docs = fluxtree.applied(tree, fluxtree.read_vars(variables)).all_docs
    return yaml.dump_all(docs, Dumper=yaml.CSafeDumper, sort_keys=False).encode()
