"""verify against a real authoritative server (Knot DNS on 127.0.0.1) serving zones with faults."""

from __future__ import annotations

import copy
import io
import json
import socket
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import jsonschema
import pytest
import trustme
from verifyplans import (
    FAULTS,
    VARIABLES,
    cname,
    host,
    two_domains,
    with_faults,
    zone_text,
    zones_for,
)
from verifyservers import Knot, TLSServer

from krmfn.cli import main

ROOT = Path(__file__).resolve().parents[2]
VERIFY_SCHEMA = json.loads((ROOT / "schema" / "verify.schema.json").read_text())


def _plan() -> dict[str, Any]:
    """The two-domain plan, plus a name whose chain leaves the served zones."""
    doc = copy.deepcopy(two_domains())
    doc["domains"][0]["hostnames"].append(host("cdn.${SECRET_DOMAIN}", "${SECRET_DOMAIN}", cname("edge.cdn.test")))
    return doc


@pytest.fixture(scope="module")
def knot(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Knot]:
    zones = with_faults(zones_for(_plan()))
    root = tmp_path_factory.mktemp("knot")
    with Knot(root / "server", {origin: zone_text(origin, lines) for origin, lines in zones.items()}) as server:
        yield server


@pytest.fixture(scope="module")
def files(tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    root = tmp_path_factory.mktemp("inputs")
    plan, secrets = root / "plan.json", root / "cluster-secrets.env"
    plan.write_text(json.dumps(_plan()))
    secrets.write_text("".join(f"{k}={v}\n" for k, v in VARIABLES.items()) + "CLOUDFLARE_TOKEN=not-for-output\n")
    return {"plan": str(plan), "vars": str(secrets)}


def _run(args: list[str]) -> tuple[int, str]:
    out = io.StringIO()
    code = main(["verify", *args], stdout=out)
    return code, out.getvalue()


def _by_name(document: dict[str, Any]) -> dict[str, dict[str, dict[str, Any]]]:
    return {h["name"]: {c["check"]: c for c in h["checks"]} for d in document["domains"] for h in d["hostnames"]}


def test_each_fault_is_detected_and_each_correct_name_passes(knot: Knot, files: dict[str, str]) -> None:
    code, text = _run(
        ["--plan", files["plan"], "--vars", files["vars"], "--nameserver", knot.nameserver, "--no-tls", "--json"]
    )
    assert code == 1
    document = json.loads(text)
    jsonschema.Draft202012Validator(VERIFY_SCHEMA).validate(document)
    checks = _by_name(document)
    failed = {name for name, by in checks.items() if any(c["status"] == "fail" for c in by.values())}
    assert failed == set(FAULTS)
    assert checks["grafana.example.org"]["dns.record"]["found"] == "NXDOMAIN"
    assert (
        "points at the primary domain's target external.example.com"
        in checks["flux-webhook.example.org"]["dns.record"]["message"]
    )
    assert (
        checks["app.example.org"]["dns.chain"]["message"]
        == "dangling CNAME: external.example.org does not exist (NXDOMAIN)"
    )
    assert (
        checks["nas.example.com"]["dns.record"]["message"]
        == "unexpected record(s) beside the planned one: A 127.0.0.99"
    )
    assert checks["echo.example.com"]["dns.record"]["message"].startswith("wrong type: an unexpected A record")
    assert checks["docs.example.com"]["dns.chain"]["found"] == (
        "docs.example.com → external.example.com → tunnel-1.example.net → 127.0.0.53"
    )
    assert checks["home.example.org"]["dns.record"]["status"] == "pass"
    assert checks["cdn.example.com"]["dns.record"]["status"] == "pass"
    assert checks["cdn.example.com"]["dns.chain"]["status"] == "skip", "edge.cdn.test is refused: not followed"
    assert checks["legacy.example.com"]["dns.record"]["status"] == "info"
    assert document["summary"]["deadlineHit"] is False
    assert document["summary"]["ok"] is False
    assert "not-for-output" not in text


def test_the_table_says_what_was_expected_and_found(knot: Knot, files: dict[str, str]) -> None:
    code, text = _run(["--plan", files["plan"], "--vars", files["vars"], "--nameserver", knot.nameserver, "--no-tls"])
    assert code == 1
    assert f"against nameserver {knot.nameserver}: 13 hostname(s), 5 check(s) failed" in text
    assert "  flux-webhook.example.org  ✗      ✓\n" in text
    assert "          expected CNAME external.example.org; found CNAME external.example.com\n" in text
    assert "  *.example.com" in text
    assert "checked as the sample name krmfn-verify-sample.example.com" in text


def test_the_planned_zones_pass_with_tls_through_one_gateway(tmp_path: Path, files: dict[str, str]) -> None:
    """Every check green: the zones krmfn plans, and a gateway serving a certificate per domain."""
    ca = trustme.CA()
    certs = {
        "example.com": ca.issue_cert("example.com", "*.example.com"),
        "example.org": ca.issue_cert("example.org", "*.example.org"),
    }
    by_sni = {n: certs[".".join(n.split(".")[-2:])] for n in ("example.com", "example.org")}
    by_sni.update(
        {
            f"{label}.{d}": certs[d]
            for d in certs
            for label in (
                "docs",
                "echo",
                "nas",
                "legacy",
                "cdn",
                "app",
                "flux-webhook",
                "grafana",
                "home",
                "krmfn-verify-sample",
            )
        }
    )
    cafile = tmp_path / "ca.pem"
    ca.cert_pem.write_to_path(str(cafile))
    zones = zones_for(_plan())
    zones["example.com"].append("edge.cdn.example.com. A 127.0.0.1")
    zones["example.com"] = [line.replace("edge.cdn.test.", "edge.cdn.example.com.") for line in zones["example.com"]]
    doc = _plan()
    doc["domains"][0]["hostnames"][-1]["record"]["targets"] = ["edge.cdn.example.com"]
    (tmp_path / "plan.json").write_text(json.dumps(doc))
    with (
        Knot(tmp_path / "knot", {o: zone_text(o, lines) for o, lines in zones.items()}) as server,
        TLSServer(by_sni, default=certs["example.com"], statuses={}) as gateway,
    ):
        code, text = _run(
            [
                "--plan",
                str(tmp_path / "plan.json"),
                "--vars",
                files["vars"],
                "--nameserver",
                server.nameserver,
                "--connect",
                gateway.connect,
                "--cafile",
                str(cafile),
                "--json",
            ]
        )
    document = json.loads(text)
    assert code == 0, text
    assert document["summary"]["fail"] == 0
    assert document["summary"]["warn"] == 0
    checks = _by_name(document)
    assert set(checks["docs.example.com"]) == {
        "dns.record",
        "dns.chain",
        "tls.covers",
        "tls.validity",
        "tls.chain",
        "tls.expiry",
    }
    assert {c["status"] for c in checks["*.example.org"].values()} == {"info", "pass"}
    assert "tls.covers" not in checks["legacy.example.com"], "no record, no certificate"
    assert set(gateway.server_names) >= {"docs.example.com", "krmfn-verify-sample.example.org"}


def test_a_silent_nameserver_times_out_within_the_deadline(files: dict[str, str]) -> None:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as silent:
        silent.bind(("127.0.0.1", 0))
        port = silent.getsockname()[1]
        code, text = _run(
            [
                "--plan",
                files["plan"],
                "--vars",
                files["vars"],
                "--nameserver",
                f"127.0.0.1:{port}",
                "--no-tls",
                "--timeout",
                "0.2",
                "--deadline",
                "0.5",
                "--workers",
                "1",
                "--json",
            ]
        )
    document = json.loads(text)
    assert code == 1
    assert document["summary"]["deadlineHit"] is True
    messages = {c["message"] for d in document["domains"] for h in d["hostnames"] for c in h["checks"]}
    assert "no answer: not asked: the overall deadline had passed" in messages
    assert any(m.startswith("no answer: no answer from 127.0.0.1:") for m in messages)
