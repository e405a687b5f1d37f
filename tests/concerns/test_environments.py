"""examples/environments: one base MultiDomain, one kustomize overlay per environment.

Each overlay is rendered for real (``kubectl kustomize --enable-alpha-plugins``, the container
function run through the docker shim), compared with ``expected/<env>.yaml``, and checked to
hold its own domain and nothing of the other environments'. Set ``KRMFN_UPDATE_EXPECTED=1``
to rewrite the expectations after checking them by eye.
"""

from __future__ import annotations

import os
import re
import subprocess
from pathlib import Path
from typing import Any

import celpy
import pytest
import yaml
from celpy.adapter import json_to_cel

ROOT = Path(__file__).resolve().parents[2]
EXAMPLE = ROOT / "examples" / "environments"
SHIM = ROOT / "tests" / "e2e" / "bin"
UPDATE = os.environ.get("KRMFN_UPDATE_EXPECTED") == "1"

#: environment → (its domain, its ACME server, its external-dns TXT owner)
ENVIRONMENTS = {
    "dev": ("dev.example.com", "staging", "dev"),
    "staging": ("staging.example.com", "staging", "staging"),
    "production": ("example.com", "production", "production-eu1"),
}
SERVERS = {
    "staging": "https://acme-staging-v02.api.letsencrypt.org/directory",
    "production": "https://acme-v02.api.letsencrypt.org/directory",
}


def render(env: str, tmp_path: Path) -> str:
    proc = subprocess.run(
        ["kubectl", "kustomize", "--enable-alpha-plugins", str(EXAMPLE / "overlays" / env)],
        capture_output=True,
        text=True,
        env={
            **os.environ,
            "PATH": f"{SHIM}{os.pathsep}{os.environ['PATH']}",
            "KRMFN_DOCKER_LOG": str(tmp_path / "log"),
        },
        check=False,
    )
    assert proc.returncode == 0, proc.stderr
    assert "--network none" in (tmp_path / "log").read_text(), "the function ran as a container"
    return proc.stdout


def one(docs: list[dict[str, Any]], kind: str) -> dict[str, Any]:
    found = [d for d in docs if d["kind"] == kind]
    assert len(found) == 1, [d["kind"] for d in docs]
    return found[0]


def admits(policy: dict[str, Any], host: str) -> bool:
    env = celpy.Environment()
    obj = json_to_cel({"kind": "HTTPRoute", "spec": {"hostnames": [host]}})
    return all(
        bool(env.program(env.compile(v["expression"])).evaluate({"object": obj})) for v in policy["spec"]["validations"]
    )


@pytest.mark.parametrize("env", sorted(ENVIRONMENTS))
def test_overlay_renders_as_expected(env: str, tmp_path: Path) -> None:
    out = render(env, tmp_path)
    expected = EXAMPLE / "expected" / f"{env}.yaml"
    if UPDATE:
        expected.write_text(out)
    assert out == expected.read_text()


@pytest.mark.parametrize("env", sorted(ENVIRONMENTS))
def test_overlay_holds_only_its_own_domain(env: str, tmp_path: Path) -> None:
    domain, server, owner = ENVIRONMENTS[env]
    base = domain.replace(".", "-")
    out = render(env, tmp_path)
    docs = list(yaml.safe_load_all(out))
    assert sorted(d["kind"] for d in docs) == [
        "Certificate",
        "ClusterIssuer",
        "Gateway",
        "HelmRelease",
        "ValidatingAdmissionPolicy",
        "ValidatingAdmissionPolicyBinding",
    ]
    cert = one(docs, "Certificate")
    assert cert["metadata"]["name"] == base
    assert cert["spec"]["dnsNames"] == [domain, f"*.{domain}"]
    issuer = one(docs, "ClusterIssuer")
    assert cert["spec"]["issuerRef"]["name"] == issuer["metadata"]["name"] == f"letsencrypt-{server}"
    assert issuer["spec"]["acme"]["server"] == SERVERS[server]
    assert issuer["spec"]["acme"]["solvers"][0]["selector"]["dnsZones"] == [domain]
    values = one(docs, "HelmRelease")["spec"]["values"]
    assert values["domainFilters"] == [domain]
    assert values["txtOwnerId"] == owner
    (https,) = [x for x in one(docs, "Gateway")["spec"]["listeners"] if x["name"] == "https"]
    assert [ref["name"] for ref in https["tls"]["certificateRefs"]] == [f"{base}-tls"]
    policy = one(docs, "ValidatingAdmissionPolicy")
    assert admits(policy, f"echo.{domain}")
    assert not admits(policy, "echo.example.org")
    # every name in the output that ends in example.com is this environment's, nothing else's
    names = set(re.findall(r"[*a-z0-9.-]*example\.com", out.replace("ops@example.com", "")))
    assert {n.removeprefix("*").removeprefix(".") for n in names} == {domain}
    for other, (other_domain, _, _) in ENVIRONMENTS.items():
        if other == env or other_domain == "example.com":
            continue  # production's zone is the parent of the others: its text is in every name
        assert other_domain not in out
        assert other_domain.replace(".", "-") not in out
        # names under dev. and staging. are under example.com too, so production's policy admits them
        assert admits(policy, f"echo.{other_domain}") == (domain == "example.com")


@pytest.mark.parametrize("env", sorted(ENVIRONMENTS))
def test_expected_output_is_valid_against_the_schemas(env: str) -> None:
    from crdschema import assert_manifests_valid

    reports = assert_manifests_valid((EXAMPLE / "expected" / f"{env}.yaml").read_text(), allow_unknown_kinds=False)
    assert len(reports) == 6


def test_base_config_is_the_production_config() -> None:
    """The base MultiDomain is a complete, valid config on its own (production's values)."""
    from krmfn.api.config import load_config

    data = yaml.safe_load((EXAMPLE / "edge" / "multidomain.yaml").read_text())
    config = load_config(data)
    assert [d.name.text for d in config.domains] == ["example.com"]
    assert config.spec.sync_waves is not None
    assert config.spec.guardrails is not None
