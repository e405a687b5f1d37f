"""The Argo CD real-layout fixtures are the trees their READMEs describe, read by the real kpt.

``examples/argocd-app-of-apps`` (wrapper charts, per-cluster values) and ``examples/tpi-k3s``
(Ansible + Argo CD, ingress-nginx) have no ``expected/`` until krmfn handles their layout
(issue 11). Meanwhile these tests hold the fixtures to what their READMEs claim: which files
kpt reads, why ``.krmignore`` is there, that ``kpt fn render`` refuses the trees, that the
Argo CD wiring points at files that exist, and that the MultiDomain adds one domain to the
one the tree already serves.
"""

from __future__ import annotations

import fnmatch
import re
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml
from krmignore import ignored
from krmignore import patterns as ignore_patterns

ROOT = Path(__file__).resolve().parents[2]
EXAMPLES = ROOT / "examples"
FIXTURES = {
    "argocd-app-of-apps": "multidomain/dev-01.yaml",
    "tpi-k3s": "kubernetes-services/additions/cert-manager/multidomain.yaml",
}
APP_OF_APPS = EXAMPLES / "argocd-app-of-apps" / "pkg"
TPI = EXAMPLES / "tpi-k3s" / "pkg"


def kpt(*args: str, stdin: str | None = None, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(["kpt", *args], input=stdin, capture_output=True, text=True, check=False, cwd=cwd)


def visible_files(pkg: Path) -> set[str]:
    """Files kpt must read: YAML (and the Kptfile) that `.krmignore` does not exclude."""
    patterns = ignore_patterns(pkg)
    rels = {str(p.relative_to(pkg)) for p in pkg.rglob("*") if p.is_file()}
    return {r for r in rels if (r.endswith((".yaml", ".yml")) or r == "Kptfile") and not ignored(r, patterns)}


def docs(path: Path) -> list[Any]:
    return [d for d in yaml.safe_load_all(path.read_text()) if d is not None]


def load(path: Path) -> Any:
    (doc,) = docs(path)
    return doc


def source(pkg: Path) -> list[dict[str, Any]]:
    proc = kpt("fn", "source", str(pkg))
    assert proc.returncode == 0, proc.stderr
    items: list[dict[str, Any]] = yaml.safe_load(proc.stdout)["items"]
    return items


def item_path(item: dict[str, Any]) -> str:
    # a top-level list (a playbook) arrives as {bareSeqNodeWrappingKey: [...], metadata: ...}
    return str(item["metadata"]["annotations"]["config.kubernetes.io/path"])


@pytest.mark.parametrize("name", sorted(FIXTURES))
def test_kpt_reads_every_file_outside_the_templates(name: str) -> None:
    pkg = EXAMPLES / name / "pkg"
    assert {item_path(i) for i in source(pkg)} == visible_files(pkg)


@pytest.mark.parametrize("name", sorted(FIXTURES))
def test_source_and_sink_keep_every_value(name: str, tmp_path: Path) -> None:
    """The pipe is the form that reads these trees; it re-formats files but loses no value."""
    pkg = EXAMPLES / name / "pkg"
    out = tmp_path / "out"
    proc = kpt("fn", "source", str(pkg))
    assert proc.returncode == 0, proc.stderr
    sink = kpt("fn", "sink", str(out), stdin=proc.stdout)
    assert sink.returncode == 0, sink.stderr
    for rel in sorted(visible_files(pkg)):
        assert docs(out / rel) == docs(pkg / rel), rel


@pytest.mark.parametrize("name", sorted(FIXTURES))
def test_helm_templates_are_why_krmignore_exists(name: str, tmp_path: Path) -> None:
    pkg = tmp_path / "pkg"
    shutil.copytree(EXAMPLES / name / "pkg", pkg)
    templates = [p for p in pkg.rglob("*.yaml") if "templates" in p.relative_to(pkg).parts]
    assert templates, "the fixture models Helm templates"
    (pkg / ".krmignore").unlink()
    proc = kpt("fn", "source", str(pkg))
    assert proc.returncode != 0
    assert "MalformedYAMLError" in proc.stderr


#: Fixtures whose `.krmignore` also lists the files that are not KRM (values, Chart.yaml, Ansible).
RENDERS = {"tpi-k3s"}


@pytest.mark.parametrize("name", sorted(FIXTURES))
def test_kpt_render_refuses_the_tree_before_any_function(name: str, tmp_path: Path) -> None:
    """Values files, Chart.yaml and Ansible files are not KRM: kpt stops even an identity render,
    unless `.krmignore` lists them too."""
    pkg = tmp_path / "pkg"
    shutil.copytree(EXAMPLES / name / "pkg", pkg)
    kptfile = pkg / "Kptfile"
    kptfile.write_text(kptfile.read_text().replace("exec: krmfn", "exec: cat"))
    if name in RENDERS:
        assert kpt("fn", "render", "--allow-exec", str(pkg), cwd=tmp_path).returncode == 0
        kept = [line for line in (pkg / ".krmignore").read_text().splitlines() if "templates/" in line]
        (pkg / ".krmignore").write_text("\n".join(kept) + "\n")
    proc = kpt("fn", "render", "--allow-exec", str(pkg), cwd=tmp_path)
    assert proc.returncode != 0
    assert "input resource list must contain only KRM resources" in proc.stderr


@pytest.mark.parametrize("name", sorted(FIXTURES))
def test_the_multidomain_is_local_config_outside_every_template(name: str) -> None:
    pkg = EXAMPLES / name / "pkg"
    rel = FIXTURES[name]
    config = load(pkg / rel)
    assert config["kind"] == "MultiDomain"
    assert config["metadata"]["annotations"]["config.kubernetes.io/local-config"] == "true"
    assert "templates" not in Path(rel).parts, "Helm would render (and Argo CD apply) it"
    assert (pkg / "Kptfile").read_text().count(f"configPath: {rel}") == 1
    schema = (pkg / rel).parent / re.findall(r"\$schema=(\S+)", (pkg / rel).read_text())[0]
    assert schema.resolve() == ROOT / "schema" / "multidomain.schema.json"


# --- argocd-app-of-apps --------------------------------------------------------------------

CLUSTERS = ["dev-01", "ops-01", "prod-01", "stag-01"]


def components() -> dict[str, dict[str, Any]]:
    values = load(APP_OF_APPS / "charts" / "app-of-apps" / "values.yaml")
    return {key: block for key, block in values.items() if isinstance(block, dict) and "source" in block}


@pytest.mark.parametrize("cluster", CLUSTERS)
def test_every_value_file_argo_cd_asks_for_exists(cluster: str) -> None:
    """Argo CD fails a sync on a missing value file; every chart has one per cluster."""
    bootstrap = load(APP_OF_APPS / "argocd-bootstrap-apps" / f"{cluster}.yaml")
    chart = APP_OF_APPS / bootstrap["spec"]["source"]["path"]
    for value_file in bootstrap["spec"]["source"]["helm"]["valueFiles"]:
        assert (chart / value_file).is_file(), value_file
    cluster_values = load(chart / f"values.{cluster}.yaml")
    assert cluster_values["cluster"]["name"] == cluster
    for key, block in components().items():
        assert cluster_values[key]["enable"] is True, key
        component = APP_OF_APPS / block["source"]["path"]
        assert (component / "Chart.yaml").is_file(), key
        assert (component / cluster_values["source"]["helm"]["valueFiles"]).is_file(), (key, cluster)
        template = next(
            (APP_OF_APPS / "charts" / "app-of-apps" / "templates").rglob(
                f"*/{block['source']['helm']['releaseName']}.yaml"
            )
        )
        assert f".Values.{key}.enable" in template.read_text()


def test_domain_filters_live_only_under_the_subchart_key() -> None:
    chart = APP_OF_APPS / "charts" / "external-dns"
    (dependency,) = load(chart / "Chart.yaml")["dependencies"]
    key = dependency.get("alias", dependency["name"])
    assert key == "external-dns"
    assert "domainFilters" not in load(chart / "values.yaml")[key], "values.yaml is every cluster's"
    for cluster in CLUSTERS:
        values = load(chart / f"values.{cluster}.yaml")
        assert set(values) == {key}, cluster
        assert len(values[key]["domainFilters"]) == 1, cluster


def docs_of_template(path: Path) -> list[Any]:
    """A template whose only Go actions are the `if` around it, as plain YAML."""
    lines = [line for line in path.read_text().splitlines() if not line.lstrip().startswith("{{")]
    return [d for d in yaml.safe_load_all("\n".join(lines)) if d is not None]


def test_the_dev_config_adds_one_domain_to_the_zone_dev_01_serves() -> None:
    config = load(APP_OF_APPS / "multidomain" / "dev-01.yaml")
    existing, added = (d["name"] for d in config["spec"]["domains"])
    charts = APP_OF_APPS / "charts"
    assert load(charts / "external-dns" / "values.dev-01.yaml")["external-dns"]["domainFilters"] == [existing]
    listener = load(charts / "envoy-gateway" / "values.dev-01.yaml")["gateway"]["defaultHttps"]
    assert listener == {"hostname": f"*.{existing}", "certSecretName": "ingress-tls"}
    certificate = docs_of_template(charts / "cert-manager" / "templates" / "certificates" / "dev-example-com.yaml")
    assert sorted(certificate[1]["spec"]["dnsNames"]) == sorted([existing, f"*.{existing}"])
    assert certificate[1]["spec"]["secretName"] == "ingress-tls"
    assert not fnmatch.fnmatch(f"grafana.{added}", listener["hostname"]), "the shared listener cannot admit it"
    route_hosts = [
        load(charts / "monitoring" / "values.dev-01.yaml")["grafana"]["httpRoute"]["host"],
        load(charts / "elastic-stack" / "values.dev-01.yaml")["dash"]["httpRoute"]["host"],
    ]
    assert all(host.endswith(f".{added}") for host in route_hosts)


# --- tpi-k3s -------------------------------------------------------------------------------


def test_tpi_config_adds_one_domain_to_the_ansible_cluster_domain() -> None:
    config = load(TPI / "kubernetes-services" / "additions" / "cert-manager" / "multidomain.yaml")
    existing, added = (d["name"] for d in config["spec"]["domains"])
    assert load(TPI / "group_vars" / "all.yml")["cluster_domain"] == existing
    assert load(TPI / "kubernetes-services" / "values.yaml")["second_domain"] == added
    root = load(TPI / "argo-cd" / "argo-git-repository.yaml")
    assert root["spec"]["source"]["helm"]["valuesObject"]["cluster_domain"] == "{{ cluster_domain }}"


def test_tpi_ingresses_on_the_added_domain_name_no_certificate() -> None:
    """What the README's first fact rests on: the controller's default certificate is served."""
    added = load(TPI / "kubernetes-services" / "values.yaml")["second_domain"]
    ingresses = docs(TPI / "kubernetes-services" / "additions" / "echo" / "ingress-example-org.yaml")
    hosts = [rule["host"] for ing in ingresses for rule in ing["spec"]["rules"]]
    assert len(hosts) >= 2
    assert all(h.endswith(f".{added}") for h in hosts)
    assert all("secretName" not in tls for ing in ingresses for tls in ing["spec"].get("tls", []))
    controller = (TPI / "kubernetes-services" / "templates" / "ingress.yaml").read_text()
    assert "default-ssl-certificate: cert-manager/wildcard-tls" in controller
    wildcard = load(
        TPI / "kubernetes-services" / "additions" / "cert-manager" / "templates" / "wildcard-certificate.yaml"
    )
    assert wildcard["spec"]["secretName"] == "wildcard-tls"
    assert wildcard["spec"]["dnsNames"] == ["*.{{ .Values.cluster_domain }}", "{{ .Values.cluster_domain }}"]


def test_tpi_has_no_external_dns_and_a_token_run_tunnel() -> None:
    text = "\n".join(p.read_text() for p in TPI.rglob("*") if p.is_file() and p.suffix in {".yaml", ".yml"})
    assert not re.search(r"chart:\s*external-dns|image:.*external-dns", text), "nothing installs external-dns"
    assert "kind: DNSEndpoint" not in text
    deployment = load(TPI / "kubernetes-services" / "additions" / "cloudflared" / "deployment.yaml")
    (container,) = deployment["spec"]["template"]["spec"]["containers"]
    assert container["args"] == ["tunnel", "--no-autoupdate", "run", "--token", "$(TUNNEL_TOKEN)"]
    assert not list((TPI / "kubernetes-services" / "additions" / "cloudflared").glob("*config*"))
