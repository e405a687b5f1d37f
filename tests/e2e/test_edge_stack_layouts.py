"""The edge stack on real-layout fixtures: what Flux applies from a whole rendered tree (issues 12, 18).

Each fact is checked with the ``person.yaml`` vocabulary (``tests/byhand.py``) on the documents
Flux would apply from the fixture's ``expected/`` (``tests/fluxtree.py``, variables
substituted), against those of its ``pkg/`` for what must not change. ``expected/`` is what
``kpt fn render`` makes of ``pkg/`` (``tests/e2e/test_examples.py``), so these are facts about a
render of the whole tree. A fixture without ``expected/`` yet is skipped.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from byhand import Doc, check_fact
from fluxtree import applied, read_vars

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"
TUNNEL = "https://envoy-external.{{ .Release.Namespace }}.svc.cluster.local:443"

FACTS: dict[str, list[dict[str, Any]]] = {
    "cluster-template": [
        # the template's rule is krmfn's convention: kept exactly; the apex rules are added before each wildcard
        {
            "kind": "HelmRelease",
            "name": "cloudflare-tunnel",
            "namespace": "network",
            "tunnelRulesInOrder": [
                {"hostname": "example.com", "service": TUNNEL, "originServerName": "external.example.com"},
                {
                    "hostname": "*.example.com",
                    "service": TUNNEL,
                    "originRequest": {"http2Origin": True, "originServerName": "external.example.com"},
                    "exact": True,
                },
                {"hostname": "example.org", "service": TUNNEL, "originServerName": "external.example.org"},
                {"hostname": "*.example.org", "service": TUNNEL, "originServerName": "external.example.org"},
            ],
            "catchAllLast": "http_status:404",
        },
    ],
}


def render(example: Path, tree: str) -> list[Doc]:
    return applied(example / tree, read_vars(example / "flux-vars.env")).all_docs


#: The Service hostname annotation each Gateway must carry after Flux substitution (None: must not change).
HOSTNAMES: dict[str, dict[str, str | None]] = {
    # the LAN answer for the second domain's CNAME target: k8s_gateway reads the Service's annotation
    "cluster-template": {"envoy-external": "external.example.com,external.example.org", "envoy-internal": None},
}
HOSTNAME = "external-dns.alpha.kubernetes.io/hostname"


def infrastructure_hostname(docs: list[Doc], gateway: str) -> str | None:
    (doc,) = [d for d in docs if d.get("kind") == "Gateway" and d["metadata"]["name"] == gateway]
    value = ((doc.get("spec") or {}).get("infrastructure") or {}).get("annotations", {}).get(HOSTNAME)
    return str(value) if value is not None else None


@pytest.mark.parametrize("name", sorted(HOSTNAMES))
def test_the_services_hostname_annotation_names_every_attached_domains_target(name: str) -> None:
    example = EXAMPLES / name
    if not (example / "expected").is_dir():
        pytest.skip(f"examples/{name} has no expected output yet")
    before, after = render(example, "pkg"), render(example, "expected")
    for gateway, wanted in HOSTNAMES[name].items():
        assert infrastructure_hostname(after, gateway) == (wanted or infrastructure_hostname(before, gateway))


@pytest.mark.parametrize("name", sorted(FACTS))
def test_the_rendered_tree_applies_what_the_edge_stack_promises(name: str) -> None:
    example = EXAMPLES / name
    if not (example / "expected").is_dir():
        pytest.skip(f"examples/{name} has no expected output yet")
    before, after = render(example, "pkg"), render(example, "expected")
    failing = [problem for fact in FACTS[name] for problem in check_fact(fact, after, before)]
    assert failing == []
