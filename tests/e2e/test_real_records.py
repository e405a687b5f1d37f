"""Real layouts after a render, as the cluster will have them: one record per hostname, every target published.

Issue 12's acceptance on the real-layout fixtures that krmfn renders (``examples/*/expected``
with a ``flux-vars.env``): what Flux applies (``tests/fluxtree.py``, variables substituted),
plus the HTTPRoutes the charts render from HelmRelease values (``tests/chartroutes.py``,
written apart from krmfn's reader), read the way external-dns reads them:

- ``crd``: every DNSEndpoint endpoint; ``gateway-httproute``: each hostname of a route on a
  Gateway it selects (``--gateway-name``), with that Gateway's target annotation, unless the
  route's ``controller`` annotation says otherwise; ``service``: the hostname annotation a
  Gateway's ``spec.infrastructure.annotations`` puts on its LoadBalancer Service; always
  through the installation's ``domainFilters``.

Then, for every hostname under a managed domain: some installation publishes it, and none
publishes it twice with different targets; every CNAME target under a managed zone is
published too; and ``krmfn plan`` lists every hostname a chart renders, with its HelmRelease.
"""

from __future__ import annotations

import json
import shutil
import subprocess
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
import yaml
from byhand import check_entry, check_invariants, load_person
from chartroutes import with_chart_routes
from fluxtree import applied, envsubst, read_vars

from krmfn.cli import report

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"
LAYOUTS = sorted(
    p.name
    for p in EXAMPLES.iterdir()
    if (p / "flux-vars.env").is_file() and (p / "expected" / "Kptfile").is_file() and not p.name.startswith("byhand-")
)
#: The three hand-made changes of issue 18, rendered here from their before-trees.
BYHAND = sorted(p.name for p in EXAMPLES.glob("byhand-*") if (p / "person.yaml").is_file())
#: Cases krmfn cannot render yet, and why (strict: the day one renders, the entry must go).
BYHAND_NOT_RENDERED: dict[str, str] = {}
PREFIX = "external-dns.alpha.kubernetes.io/"
Doc = dict[str, Any]


@dataclass
class Installation:
    name: str
    sources: set[str]
    filters: list[str]
    gateway_name: str | None
    #: `--gateway-label-filter` as the fixtures write it: `key=value` pairs, all required.
    gateway_labels: dict[str, str] = field(default_factory=dict)
    published: dict[str, dict[str, frozenset[str]]] = field(default_factory=dict)

    def admits(self, name: str) -> bool:
        return not self.filters or any(name == f or name.endswith("." + f) for f in self.filters)

    def publish(self, name: str, targets: frozenset[str], who: str) -> None:
        if self.admits(name):
            self.published.setdefault(name, {})[who] = targets


def installations(docs: list[Doc]) -> list[Installation]:
    """Every external-dns HelmRelease (values with `sources` and `provider`)."""
    out = []
    for doc in docs:
        values = (doc.get("spec") or {}).get("values") or {}
        if doc.get("kind") != "HelmRelease" or "sources" not in values or "provider" not in values:
            continue
        args = [str(a) for a in values.get("extraArgs") or []]
        webhook = (values.get("provider") or {}).get("webhook") if isinstance(values.get("provider"), dict) else None
        args += [str(a) for a in (webhook or {}).get("extraArgs") or []]
        gateway = next((a.split("=", 1)[1] for a in args if a.startswith("--gateway-name=")), None)
        selector = next((a.split("=", 1)[1] for a in args if a.startswith("--gateway-label-filter=")), "")
        labels = dict(part.split("=", 1) for part in selector.split(",") if "=" in part)
        filters = [str(f) for f in values.get("domainFilters") or []]
        out.append(Installation(doc["metadata"]["name"], set(values["sources"]), filters, gateway, labels))
    return out


def publish(docs: list[Doc], installs: list[Installation]) -> None:
    gateways = {(d["metadata"].get("namespace"), d["metadata"]["name"]): d for d in docs if d.get("kind") == "Gateway"}
    for inst in installs:
        for doc in docs:
            meta = doc.get("metadata") or {}
            who = f"{doc.get('kind')} {meta.get('namespace')}/{meta.get('name')}"
            if doc.get("kind") == "DNSEndpoint" and "crd" in inst.sources:
                for ep in (doc.get("spec") or {}).get("endpoints") or []:
                    inst.publish(str(ep["dnsName"]), frozenset(ep.get("targets") or []), who)
            elif doc.get("kind") == "HTTPRoute" and "gateway-httproute" in inst.sources:
                annotations = meta.get("annotations") or {}
                if annotations.get(PREFIX + "controller", "dns-controller") != "dns-controller":
                    continue
                for ref in (doc.get("spec") or {}).get("parentRefs") or []:
                    gateway = gateways.get((ref.get("namespace") or meta.get("namespace"), ref.get("name")))
                    if gateway is None or (inst.gateway_name and inst.gateway_name != ref.get("name")):
                        continue
                    labels = gateway["metadata"].get("labels") or {}
                    if any(labels.get(k) != v for k, v in inst.gateway_labels.items()):
                        continue
                    target = (gateway["metadata"].get("annotations") or {}).get(PREFIX + "target")
                    if not target:
                        continue
                    for host in (doc.get("spec") or {}).get("hostnames") or []:
                        inst.publish(str(host), frozenset([str(target)]), meta.get("x-from") or who)
            elif doc.get("kind") == "Gateway" and "service" in inst.sources:
                infra = ((doc.get("spec") or {}).get("infrastructure") or {}).get("annotations") or {}
                for host in str(infra.get(PREFIX + "hostname") or "").split(","):
                    if host.strip():
                        inst.publish(host.strip(), frozenset(["<load balancer>"]), f"{who} (its Service)")


def split_horizon(docs: list[Doc]) -> list[str]:
    """Zones a k8s_gateway answers on the LAN for (its `values.domain`, space-separated)."""
    out: list[str] = []
    for doc in docs:
        values = (doc.get("spec") or {}).get("values") or {}
        if doc.get("kind") == "HelmRelease" and isinstance(values.get("domain"), str):
            out += values["domain"].split()
    return out


def zones(example: Path, variables: dict[str, str]) -> list[str]:
    """The managed domains: `spec.domains` of the fixture's MultiDomain, substituted."""
    config = multidomain_of(example)
    return [envsubst(str(d["name"]), variables) for d in config["spec"]["domains"]]


def under(name: str, domains: list[str]) -> bool:
    return any(name == z or name.endswith("." + z) for z in domains)


@pytest.fixture(scope="module", params=LAYOUTS)
def layout(request: pytest.FixtureRequest) -> dict[str, Any]:
    example = EXAMPLES / request.param
    variables = read_vars(example / "flux-vars.env")
    docs = with_chart_routes(applied(example / "expected", variables).all_docs)
    installs = installations(docs)
    publish(docs, installs)
    return {
        "example": example,
        "docs": docs,
        "installs": installs,
        "zones": zones(example, variables),
        "lan": split_horizon(docs),
    }


def test_there_are_layouts_to_check() -> None:
    assert {"cluster-template", "bjw-s-home-ops"} <= set(LAYOUTS)


def test_every_hostname_under_a_managed_domain_has_exactly_one_record(layout: dict[str, Any]) -> None:
    routes = [d for d in layout["docs"] if d.get("kind") in ("HTTPRoute", "GRPCRoute")]
    hostnames = {h for r in routes for h in (r.get("spec") or {}).get("hostnames") or [] if under(h, layout["zones"])}
    assert hostnames, "the fixture has routes on its managed domains"
    for inst in layout["installs"]:
        twice = {name: by for name, by in inst.published.items() if name in hostnames and len(set(by.values())) > 1}
        assert twice == {}, f"{inst.name} publishes these names with two different targets"
    published = {name for inst in layout["installs"] for name in inst.published}
    unpublished = sorted(h for h in hostnames if h not in published and not under(h, layout["lan"]))
    assert unpublished == []


def test_each_record_points_at_its_own_domains_target(layout: dict[str, Any]) -> None:
    """Where the config names a per-domain target (`dns.target: external.{domain}`), a hostname's record is its
    own domain's target, not the primary's that the Gateway annotation gives every route."""
    wanted = gateway_targets(layout["example"], read_vars(layout["example"] / "flux-vars.env"))
    checked = 0
    for route in (d for d in layout["docs"] if d.get("kind") == "HTTPRoute"):
        for ref in route["spec"].get("parentRefs") or []:
            template = wanted.get(str(ref.get("name")))
            if template is None:
                continue
            for host in route["spec"].get("hostnames") or []:
                zone = max((z for z in layout["zones"] if under(host, [z])), key=len, default=None)
                if zone is None:
                    continue
                records = {t for i in layout["installs"] for t in i.published.get(host, {}).values()}
                assert records == {frozenset([template.replace("{domain}", zone)])}, host
                checked += 1
    assert checked or not wanted


def gateway_targets(example: Path, variables: dict[str, str]) -> dict[str, str]:
    """Gateway name -> `dns.target` template, for the gateways whose target depends on the domain."""
    config = multidomain_of(example)
    return {
        g["name"]: envsubst(g["dns"]["target"], variables)
        for g in config["spec"].get("gateways") or []
        if "{domain}" in str((g.get("dns") or {}).get("target", ""))
    }


def multidomain_of(example: Path) -> Doc:
    kptfile = yaml.safe_load((example / "pkg" / "Kptfile").read_text())
    path = next(m["configPath"] for m in kptfile["pipeline"]["mutators"] if "configPath" in m)
    return dict(yaml.safe_load((example / "pkg" / path).read_text()))


def test_every_cname_target_under_a_managed_zone_is_published(layout: dict[str, Any]) -> None:
    published = {name for inst in layout["installs"] for name in inst.published}
    dangling = {
        (name, target)
        for inst in layout["installs"]
        for name, by in inst.published.items()
        for targets in by.values()
        for target in targets
        if under(target, layout["zones"]) and target not in published
    }
    assert dangling == set()


def test_the_plan_lists_every_hostname_a_chart_renders(layout: dict[str, Any], tmp_path: Path) -> None:
    example: Path = layout["example"]
    variables = read_vars(example / "flux-vars.env")
    charts = [d for d in layout["docs"] if "x-from" in (d.get("metadata") or {})]
    wanted = {h for r in charts for h in r["spec"]["hostnames"] if under(h, layout["zones"])}
    document = plan_of(example)
    planned = {
        envsubst(h["name"], variables): {s["resource"]["kind"] for s in h["sources"]}
        for d in document["domains"]
        for h in d["hostnames"]
    }
    missing = sorted(h for h in wanted if "HelmRelease" not in planned.get(h, set()))
    assert missing == []


@pytest.mark.parametrize("name", BYHAND)
def test_a_hand_made_change_renders_with_one_record_per_name_and_every_target(name: str, tmp_path: Path) -> None:
    """Issue 18's record facts from the one added line: the tunnel target, the person's later record
    fixes from the start, an existing right record respected, no name twice (routes counted)."""
    if name in BYHAND_NOT_RENDERED:
        pytest.xfail(BYHAND_NOT_RENDERED[name])
    example = EXAMPLES / name
    pkg = tmp_path / "pkg"
    shutil.copytree(example / "pkg", pkg)
    proc = subprocess.run(
        ["kpt", "fn", "render", "--allow-exec", str(pkg)], capture_output=True, text=True, check=False
    )
    assert proc.returncode == 0, proc.stderr
    variables = read_vars(example / "flux-vars.env")
    before, after = applied(example / "pkg", variables).all_docs, applied(pkg, variables).all_docs
    person = load_person(example / "person.yaml")
    records = [e for e in person["changes"] if e.get("inScope") and e.get("kind") == "DNSEndpoint"]
    assert records, "each case has record facts"
    assert {e["id"]: check_entry(e, after, before) for e in records} == {e["id"]: [] for e in records}
    assert check_invariants(["noDuplicateRecords", "noConflictingRecords"], after) == []


def plan_of(example: Path) -> Any:
    """`krmfn plan --json` on the fixture's input tree, as `kpt fn source` gives it."""
    source = subprocess.run(
        ["kpt", "fn", "source", str(example / "pkg")], capture_output=True, check=True, text=True
    ).stdout
    kptfile = yaml.safe_load((example / "pkg" / "Kptfile").read_text())
    config = example / "pkg" / next(m["configPath"] for m in kptfile["pipeline"]["mutators"] if "configPath" in m)
    text, code = report(source.encode(), str(config), "plan", as_json=True)
    assert code == 0
    return json.loads(text)
