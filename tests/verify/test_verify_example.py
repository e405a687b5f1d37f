"""The README's `krmfn verify` example, run for real: the cluster-template fixture's plan against the seed.

The plan is `krmfn plan --json` of ``examples/cluster-template/pkg`` (what krmfn will make
exist once the second domain is added). The world it is checked against is the one the seed
leaves: a Knot DNS on 127.0.0.1 serving the zone files in ``examples/cluster-template/verify/``
(the first domain's tunnel target; the second domain's records pointing at the first
domain's target, or at a target nothing published), and a gateway on 127.0.0.1 that serves
only the first domain's certificate and answers 404 on the second domain's apex. The README
shows the report between the verify markers; ``KRMFN_UPDATE_EXPECTED=1`` rewrites that block.
"""

from __future__ import annotations

import io
import json
import os
import re
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest
import trustme
import yaml
from verifyservers import Knot, TLSServer

from krmfn.cli import main, report

ROOT = Path(__file__).resolve().parents[2]
EXAMPLE = ROOT / "examples" / "cluster-template"
ZONES = EXAMPLE / "verify"
README = ROOT / "README.md"
BLOCK = re.compile(r"(<!-- verify:begin -->\n```console\n)(.*?)(```\n<!-- verify:end -->)", re.S)
#: What the README shows in place of the ports and files this run used.
SHOWN = {"nameserver": "127.0.0.1:5353", "connect": "192.168.42.23:443", "plan": "plan.json", "ca": "ca.pem"}


def plan_json(tmp: Path) -> Path:
    source = subprocess.run(
        ["kpt", "fn", "source", str(EXAMPLE / "pkg")], capture_output=True, check=True, text=True
    ).stdout
    kptfile = yaml.safe_load((EXAMPLE / "pkg" / "Kptfile").read_text())
    config = EXAMPLE / "pkg" / next(m["configPath"] for m in kptfile["pipeline"]["mutators"] if "configPath" in m)
    text, code = report(source.encode(), str(config), "plan", as_json=True)
    assert code == 0
    path = tmp / "plan.json"
    path.write_text(text)
    return path


@pytest.fixture(scope="module")
def seed(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, str]]:
    """The seed's world: its zones on a real nameserver, its gateway with one certificate."""
    root = tmp_path_factory.mktemp("seed")
    ca = trustme.CA()
    ca.cert_pem.write_to_path(str(root / "ca.pem"))
    first_only = ca.issue_cert("example.com", "*.example.com")
    zones = {p.name.removesuffix(".zone"): p.read_text() for p in sorted(ZONES.glob("*.zone"))}
    with (
        Knot(root / "knot", zones) as knot,
        TLSServer({}, default=first_only, statuses={"example.org": 404}) as gateway,
    ):
        yield {
            "plan": str(plan_json(root)),
            "nameserver": knot.nameserver,
            "connect": f"127.0.0.1:{gateway.port}",
            "ca": str(root / "ca.pem"),
        }


def verify(seed: dict[str, str], *extra: str) -> tuple[int, str]:
    out = io.StringIO()
    args = ["--plan", seed["plan"], "--vars", str(EXAMPLE / "flux-vars.env"), "--nameserver", seed["nameserver"]]
    args += ["--connect", seed["connect"], "--cafile", seed["ca"], "--http", *extra]
    code = main(["verify", *args], stdout=out)
    return code, out.getvalue()


def shown(seed: dict[str, str], text: str) -> str:
    for key, value in seed.items():
        text = text.replace(value, SHOWN[key])
    return text


def test_each_classic_fault_is_found_and_what_is_right_passes(seed: dict[str, str]) -> None:
    code, text = verify(seed, "--json")
    assert code == 1
    checks = {
        h["name"]: {c["check"]: c for c in h["checks"]} for d in json.loads(text)["domains"] for h in d["hostnames"]
    }
    assert checks["flux-webhook.example.org"]["dns.record"]["message"].startswith(
        "wrong target: CNAME external.example.com"
    )
    assert checks["external.example.org"]["dns.record"]["message"].startswith("missing")
    assert checks["echo.example.org"]["dns.record"]["status"] == "pass"
    assert "dangling" in checks["echo.example.org"]["dns.chain"]["message"]
    second = [n for n in checks if n.endswith("example.org")]
    assert second
    assert all(checks[n]["tls.covers"]["status"] == "fail" for n in second)
    first = [n for n in checks if n.endswith("example.com")]
    assert first
    assert all(checks[n]["tls.covers"]["status"] == "pass" for n in first)
    assert checks["example.org"]["http"]["status"] == "fail"


def test_readme_shows_the_report(seed: dict[str, str]) -> None:
    code, text = verify(seed)
    assert code == 1
    command = (
        "$ krmfn plan --json --config kubernetes/apps/network/envoy-gateway/app/multidomain.yaml "
        "< <(kpt fn source .) > plan.json\n"
        f"$ krmfn verify --plan plan.json --vars flux-vars.env --nameserver {SHOWN['nameserver']} \\\n"
        f"    --connect {SHOWN['connect']} --cafile ca.pem --http\n"
    )
    transcript = command + shown(seed, text)
    readme = README.read_text()
    match = BLOCK.search(readme)
    assert match, "README.md must hold the verify block"
    if os.environ.get("KRMFN_UPDATE_EXPECTED") == "1":
        README.write_text(readme[: match.start(2)] + transcript + readme[match.end(2) :])
        return
    assert match.group(2) == transcript
