"""`krmfn init` then a render changes nothing, and one added domain line then updates every place.

Run on every example's rendered tree (``expected/``, a repository krmfn already keeps in
step, with its MultiDomain replaced by what ``init`` writes) and on every real-layout
fixture (``examples/<name>/`` with a ``flux-vars.env``): ``init`` reads the tree, its output
goes where the package's Kptfile looks for the config, and ``kpt fn render`` must leave every
other file byte for byte as it was, apart from what the head of the generated file announces.
A pipe-form example (values files, which `kpt fn render` refuses) is run through its pipe instead,
and compared with the pipe that has `cat` as its function.
"""

from __future__ import annotations

import io
import json
import shutil
import subprocess
from pathlib import Path

import jsonschema
import pytest
import yaml

from krmfn.api.config import json_schema, load_config
from krmfn.cli import main
from krmfn.krm.yamltext import load

ROOT = Path(__file__).resolve().parents[2]
EXAMPLES = ROOT / "examples"
#: Examples `kpt fn render` turns into expected/ (a pipe-form example cannot be rendered at all:
#: see PIPED).
RENDERED = sorted(
    p.name for p in EXAMPLES.iterdir() if (p / "expected" / "Kptfile").is_file() and not (p / "pipe").exists()
)
#: Pipe-form examples (``examples/<name>/pipe`` holds the config's path in the package): their values
#: files are not KRM, so they run as `kpt fn source | krmfn | kpt fn sink`.
PIPED = sorted(p.name for p in EXAMPLES.iterdir() if (p / "expected" / "Kptfile").is_file() and (p / "pipe").exists())
#: Pipe-form examples `init` cannot describe, and why: strict, so that the day they round-trip the test
#: fails until this entry goes.
NOT_PIPED = {
    "argocd-app-of-apps": "its existing Certificate lives in a Helm template of charts/cert-manager that `kpt fn "
    "source` cannot read, so `init` cannot write `existingCertificate` (a render generates a second one); and "
    "its values.<cluster>.yaml files describe four clusters, which one MultiDomain per cluster must split",
}
REAL_LAYOUTS = sorted(p.name for p in EXAMPLES.iterdir() if (p / "flux-vars.env").is_file())
#: Real-layout fixtures krmfn cannot render yet, and why: strict, so that the day they render
#: the test fails until this entry goes.
NOT_RENDERED_YET = dict.fromkeys(
    sorted(set(REAL_LAYOUTS) - set(RENDERED)),
    "krmfn stops on the tree's kustomization.yaml items (`Kustomization must have a string metadata.name`): "
    "whole trees as input (issues 11, 13); the hand-written Certificate also needs adoption (issue 11)",
)
#: Examples whose config uses what `init` does not read back (yet), and why.
NOT_READ = {
    "expiry-alerts": "`expiryAlerts` is not read from the generated PrometheusRule",
    "hostname-guardrails": "`guardrails` is not read from the generated admission policy",
    "sync-waves": "`syncWaves` is not read from the generated resources' annotations",
    "routes-both-domains": "`dns.ttl`/`dns.proxied` are not read from the generated DNSEndpoints",
    "routes-ingress-tunnel": "`kind: IngressClass` gateways are not read",
    "byhand-phycoforce-secondary": "`init` lists Gateway external-root, the apex gateway the person kept out on "
    "purpose (the config says why); a render then records that listener's certificateRefs as krmfn's "
    "(`krmfn.dev/certificate-refs`), a mark on it, not a change to what it serves",
    "external-dns-alone": "its one installation is in regex mode, which `init` does not list, and without "
    "`certificates` nothing else names a zone",
}


def init(pkg: Path) -> str:
    """`krmfn init PKG`, in-process (the subprocess form is tested with `check` and the CI job)."""
    out = io.StringIO()
    assert main(["init", str(pkg)], stdout=out) == 0
    return out.getvalue()


def config_path(pkg: Path) -> Path:
    kptfile = yaml.safe_load((pkg / "Kptfile").read_text())
    paths = [str(m["configPath"]) for m in kptfile["pipeline"]["mutators"] if "configPath" in m]
    return pkg / paths[0]


def render(pkg: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        ["kpt", "fn", "render", "--allow-exec", "--truncate-output=false", str(pkg)],
        cwd=pkg.parent,
        capture_output=True,
        text=True,
        check=False,
    )


def settled(pkg: Path) -> dict[str, bytes]:
    """*pkg*'s files after a render with `cat` as the function: kpt moves some comments once by itself
    (`- # note` above a mapping entry), which is not krmfn's change."""
    kptfile = pkg / "Kptfile"
    original = kptfile.read_text()
    kptfile.write_text(original.replace("exec: krmfn", "exec: cat"))
    assert render(pkg).returncode == 0
    kptfile.write_text(original)
    return files(pkg)


def files(root: Path) -> dict[str, bytes]:
    return {str(p.relative_to(root)): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()}


def adopted(example: str, tmp_path: Path) -> tuple[Path, Path, str]:
    """A copy of the example's tree with the config `init` writes for it."""
    pkg = tmp_path / "pkg"
    source = EXAMPLES / example / ("expected" if example in RENDERED else "pkg")
    shutil.copytree(source, pkg)
    config = config_path(pkg)
    config.unlink()
    text = init(pkg)
    config.write_text(text)
    return pkg, config, text


@pytest.mark.parametrize("example", REAL_LAYOUTS)
def test_init_output_is_a_valid_multidomain(example: str, tmp_path: Path) -> None:
    """On every real layout, today: the config `init` writes validates against the published schema."""
    _, _, text = adopted(example, tmp_path)
    assert text.startswith("# yaml-language-server: $schema=")
    data = load(text)
    jsonschema.validate(data, json_schema())
    load_config(data)
    assert "  # from " in text


def test_init_describes_the_cluster_template_as_its_users_would(tmp_path: Path) -> None:
    """The real-layout cluster-template: what its fixture's hand-written MultiDomain says, read back."""
    _, _, text = adopted("cluster-template", tmp_path)
    spec = load(text)["spec"]
    # read from its rendered output (`expected/`), where the second domain is everywhere
    assert [d["name"] for d in spec["domains"]] == ["${SECRET_DOMAIN}", "${SECRET_DOMAIN_TWO}"]
    assert spec["certificates"] == {
        "issuerRef": {"name": "letsencrypt-production", "kind": "ClusterIssuer"},
        "nameSuffix": "production",
        "duration": "160h",
        "privateKey": {"algorithm": "ECDSA"},
        "usages": ["digital signature"],
    }
    assert [(g["name"], g["namespace"], g["listener"], g.get("dns")) for g in spec["gateways"]] == [
        ("envoy-external", "network", "https", {"target": "external.{domain}", "type": "CNAME"}),
        ("envoy-internal", "network", "https", None),
    ]
    assert [i["name"] for i in spec["externalDNS"]] == ["cloudflare-dns"]
    assert spec["tunnel"]["originRequest"] == {"http2Origin": True}
    assert spec["splitHorizon"]["name"] == "k8s-gateway"
    assert "# from Gateway envoy-external (kubernetes/apps/network/envoy-gateway/app/envoy.yaml)" in text


@pytest.mark.parametrize("example", RENDERED)
def test_init_then_render_changes_nothing(example: str, tmp_path: Path) -> None:
    if example in NOT_READ:
        pytest.xfail(NOT_READ[example])
    pkg, config, text = adopted(example, tmp_path)
    jsonschema.validate(load(text), json_schema())
    before = settled(pkg)
    proc = render(pkg)
    assert proc.returncode == 0, proc.stderr
    after = files(pkg)
    name = str(config.relative_to(pkg))
    changed = sorted(k for k in set(before) | set(after) if k != name and before.get(k) != after.get(k))
    assert changed == [], f"a render after `krmfn init` changed {changed}\n{text}"
    assert "# A render with this config changes nothing." in text


def pipe(pkg: Path, config: Path, out: Path, function: list[str]) -> subprocess.CompletedProcess[bytes]:
    """`kpt fn source PKG --fn-config CONFIG | FUNCTION | kpt fn sink OUT`, stage by stage; the function's run."""
    source = subprocess.run(
        ["kpt", "fn", "source", str(pkg), "--fn-config", str(config)], capture_output=True, check=True
    )
    run = subprocess.run(function, input=source.stdout, capture_output=True, check=False)
    sink = subprocess.run(["kpt", "fn", "sink", str(out)], input=run.stdout, capture_output=True, check=False)
    assert sink.returncode == 0, sink.stderr.decode()
    return run


@pytest.mark.parametrize(
    "example",
    [
        pytest.param(name, marks=pytest.mark.xfail(strict=True, reason=NOT_PIPED[name])) if name in NOT_PIPED else name
        for name in PIPED
    ],
)
def test_init_then_pipe_changes_nothing(example: str, tmp_path: Path) -> None:
    """A pipe-form example's output tree, with its config replaced by what `krmfn init DIR` writes: krmfn
    through the pipe writes what the pipe writes with `cat` as the function (kpt's own reformatting)."""
    pkg = tmp_path / "pkg"
    shutil.copytree(EXAMPLES / example / "expected", pkg)
    config = pkg / (EXAMPLES / example / "pipe").read_text().strip()
    config.unlink()
    text = init(pkg)
    config.write_text(text)
    jsonschema.validate(load(text), json_schema())
    assert pipe(pkg, config, tmp_path / "cat", ["cat"]).returncode == 0
    run = pipe(pkg, config, tmp_path / "krmfn", ["krmfn"])
    assert run.returncode == 0, run.stdout.decode()[-2000:]
    before, after = files(tmp_path / "cat"), files(tmp_path / "krmfn")
    name = str(config.relative_to(pkg))
    changed = sorted(k for k in set(before) | set(after) if k != name and before.get(k) != after.get(k))
    assert changed == [], f"the pipe after `krmfn init` changed {changed}\n{text}"
    assert "# A render with this config changes nothing." in text


def add_domain(text: str, domain: str) -> str:
    """The user's one-line change: a domain after the last `- name:` of `spec.domains`."""
    lines = text.split("\n")
    start = lines.index("  domains:")
    end = next(i for i in range(start + 1, len(lines)) if not lines[i].startswith("    "))
    return "\n".join([*lines[:end], f"    - name: {domain}", *lines[end:]])


@pytest.mark.parametrize("example", ["split-horizon-k8s-gateway", "tunnel-multi-domain", "external-dns-helmrelease"])
def test_one_added_domain_line_updates_every_place(example: str, tmp_path: Path) -> None:
    pkg, config, text = adopted(example, tmp_path)
    config.write_text(add_domain(text, "example.net"))
    before = files(pkg)
    proc = render(pkg)
    assert proc.returncode == 0, proc.stderr
    after = files(pkg)
    spec = load_config(load(config.read_text())).spec
    rendered = "".join(v.decode() for k, v in after.items() if k.endswith(".yaml"))
    assert "example-net" in rendered  # its Certificate and Secret
    for name, content in after.items():
        if name == str(config.relative_to(pkg)) or content == before.get(name):
            continue
        assert b"example.net" in content or b"example-net" in content, f"{name} changed without the new domain"
    if spec.external_dns:
        assert all("example.net" in json.dumps(d) for d in _values_of(after, "domainFilters"))
    if spec.tunnel:
        assert "hostname: example.net" in rendered
        assert "*.example.net" in rendered
    if spec.split_horizon:
        assert any("example.net" in str(v) for v in _values_of(after, "domain"))


def _values_of(tree: dict[str, bytes], key: str) -> list[object]:
    found = []
    for name, content in tree.items():
        if not name.endswith(".yaml"):
            continue
        for doc in yaml.safe_load_all(content):
            values = (doc or {}).get("spec", {}).get("values") if isinstance(doc, dict) else None
            if isinstance(values, dict) and key in values:
                found.append(values[key])
    return found


@pytest.mark.parametrize(
    "example",
    [
        pytest.param(name, marks=pytest.mark.xfail(strict=True, reason=NOT_RENDERED_YET[name]))
        if name in NOT_RENDERED_YET
        else name
        for name in REAL_LAYOUTS
    ]
    or ["(none on this branch)"],
)
def test_real_layout_fixture_round_trips(example: str, tmp_path: Path) -> None:
    """The issue's bar, on each real-layout repository: no errors, nothing changed but ownership
    marks and the repairs the head of the file announces; then one domain line updates every place."""
    if example not in REAL_LAYOUTS:
        pytest.skip("no real-layout fixture (examples/*/flux-vars.env) is on this branch yet")
    pkg, config, text = adopted(example, tmp_path)
    before = files(pkg)
    proc = render(pkg)
    assert proc.returncode == 0, proc.stderr
    after = files(pkg)
    name = str(config.relative_to(pkg))
    for path in sorted(set(before) | set(after)):
        if path == name or before.get(path) == after.get(path):
            continue
        old = before.get(path, b"").decode().splitlines()
        new = after.get(path, b"").decode().splitlines()
        added = [line for line in new if line not in old]
        removed = [line for line in old if line not in new]
        marks_only = not removed and all("krmfn.dev/owned-by" in line for line in added)
        announced = any(path in note or note in text for note in (path,))
        assert marks_only or announced, f"{path} changed beyond ownership marks:\n{removed}\n{added}\n{text}"
    assert not any(line.startswith("#   - ! ") for line in text.splitlines()), text
    config.write_text(add_domain(config.read_text(), "example.net"))
    proc = render(pkg)
    assert proc.returncode == 0, proc.stderr
    grown = files(pkg)
    changed = [p for p in grown if grown[p] != after.get(p) and p != name]
    assert changed, "the added domain changed nothing"
    for path in changed:
        assert b"example.net" in grown[path] or b"example-net" in grown[path], f"{path} changed without the domain"
