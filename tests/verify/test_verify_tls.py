"""The certificate served per name, from a real TLS server on loopback with a certificate per SNI."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from pathlib import Path

import pytest
import trustme
from cryptography import x509
from cryptography.hazmat.primitives.serialization import Encoding
from verifyplans import address, domain, host, plan, statuses, table
from verifyservers import TLSServer, free_port

from krmfn.verify import tls
from krmfn.verify.run import Options, verify

NOW = dt.datetime.now(dt.UTC)
NAMES = ("docs", "wrong", "old", "soon", "stranger")


@pytest.fixture(scope="module")
def ca() -> trustme.CA:
    return trustme.CA()


@pytest.fixture(scope="module")
def gateway(ca: trustme.CA) -> Iterator[TLSServer]:
    good = ca.issue_cert("example.com", "*.example.com")
    certs = {
        "docs.example.com": good,
        "wrong.example.com": ca.issue_cert("other.example.net"),
        "old.example.com": ca.issue_cert(
            "old.example.com", not_before=NOW - dt.timedelta(days=90), not_after=NOW - dt.timedelta(days=1)
        ),
        "soon.example.com": ca.issue_cert("soon.example.com", not_after=NOW + dt.timedelta(days=5, hours=1)),
        "stranger.example.com": trustme.CA().issue_cert("stranger.example.com"),
    }
    with TLSServer(certs, default=good, statuses={}) as server:
        yield server


@pytest.fixture(scope="module")
def cafile(ca: trustme.CA, tmp_path_factory: pytest.TempPathFactory) -> str:
    path = tmp_path_factory.mktemp("ca") / "ca.pem"
    ca.cert_pem.write_to_path(str(path))
    return str(path)


def _report_for(gateway: TLSServer, cafile: str | None) -> dict[str, dict[str, str]]:
    hosts = [host(f"{n}.example.com", "example.com", address("127.0.0.1")) for n in NAMES]
    hosts.append(host("*.example.com", "example.com", address("127.0.0.1")))
    hosts.append(host("down.example.com", "example.com", address("127.0.0.2")))
    document = plan([domain("example.com", True, hosts)], expiry_days=21)
    answers = {f"{n}.example.com": {"A": ("127.0.0.1",)} for n in (*NAMES, "krmfn-verify-sample")}
    answers["down.example.com"] = {"A": ("127.0.0.2",)}
    options = Options(port=gateway.port, cafile=cafile, timeout=5)
    return statuses(verify(document, document, "test", options, lookup=table(answers)))


def test_each_certificate_fault_through_the_resolved_address(gateway: TLSServer, cafile: str) -> None:
    found = _report_for(gateway, cafile)
    tls_of = {name: {k: v for k, v in checks.items() if k.startswith("tls.")} for name, checks in found.items()}
    assert tls_of["docs.example.com"] == {
        "tls.covers": "pass",
        "tls.validity": "pass",
        "tls.chain": "pass",
        "tls.expiry": "pass",
    }
    assert tls_of["*.example.com"] == tls_of["docs.example.com"], "the sample name gets the wildcard certificate"
    assert tls_of["wrong.example.com"]["tls.covers"] == "fail"
    assert tls_of["old.example.com"]["tls.validity"] == "fail"
    assert tls_of["old.example.com"]["tls.chain"] == "fail", "OpenSSL refuses an expired chain too"
    assert "tls.expiry" not in tls_of["old.example.com"]
    assert tls_of["soon.example.com"]["tls.expiry"] == "warn"
    assert tls_of["soon.example.com"]["tls.validity"] == "pass"
    assert tls_of["stranger.example.com"] == {
        "tls.covers": "pass",
        "tls.validity": "pass",
        "tls.chain": "fail",
        "tls.expiry": "pass",
    }
    assert tls_of["down.example.com"] == {"tls.covers": "fail"}
    assert {"docs.example.com", "krmfn-verify-sample.example.com", "wrong.example.com"} <= set(gateway.server_names)


def test_without_a_ca_file_the_chain_is_not_judged(gateway: TLSServer) -> None:
    found = _report_for(gateway, None)
    assert "tls.chain" not in found["stranger.example.com"]
    assert found["stranger.example.com"]["tls.covers"] == "pass"


def test_messages_say_what_was_served(gateway: TLSServer, cafile: str) -> None:
    wrong = tls.judge(
        tls.fetch("127.0.0.1", gateway.port, "wrong.example.com", cafile, 5), "wrong.example.com", NOW, 21
    )
    covers = wrong[0]
    assert (covers.status, covers.message, covers.expected) == (
        "fail",
        "the served certificate does not cover the name",
        "a certificate for wrong.example.com",
    )
    assert covers.found is not None
    assert covers.found.startswith("other.example.net (valid ")
    soon = tls.judge(tls.fetch("127.0.0.1", gateway.port, "soon.example.com", None, 5), "soon.example.com", NOW, 21)
    assert next(c.message for c in soon if c.check == "tls.expiry").startswith("expires in 5 day(s)")
    stranger = tls.fetch("127.0.0.1", gateway.port, "stranger.example.com", cafile, 5)
    assert stranger.chain_error == "unable to get local issuer certificate"
    refused = tls.fetch("127.0.0.1", free_port(), "docs.example.com", cafile, 2)
    assert refused.error is not None
    assert refused.error.startswith("cannot connect to 127.0.0.1:")


def test_validity_against_the_clock(ca: trustme.CA) -> None:
    cert = ca.issue_cert("docs.example.com", not_before=NOW - dt.timedelta(days=1))
    der = x509.load_pem_x509_certificate(cert.cert_chain_pems[0].bytes()).public_bytes(Encoding.DER)
    served = tls.Served(der=der)
    before = tls.judge(served, "docs.example.com", NOW - dt.timedelta(days=10), None)
    assert [(c.check, c.status) for c in before][:2] == [("tls.covers", "pass"), ("tls.validity", "fail")]
    assert before[1].message.startswith("not valid before ")
    now = tls.judge(served, "docs.example.com", NOW, None)
    assert [c.status for c in now] == ["pass", "pass", "pass"], "no expiry window: days left are information"


@pytest.mark.parametrize(
    ("pattern", "name", "covered"),
    [
        ("docs.example.com", "docs.example.com", True),
        ("DOCS.example.com.", "docs.example.com", True),
        ("*.example.com", "docs.example.com", True),
        ("*.example.com", "example.com", False),
        ("*.example.com", "a.b.example.com", False),
        ("*.example.com", ".example.com", False),
        ("example.com", "docs.example.com", False),
    ],
)
def test_coverage(pattern: str, name: str, covered: bool) -> None:
    assert tls.covers(pattern, name) is covered


def test_a_certificate_without_dns_names(ca: trustme.CA) -> None:
    cert = x509.load_pem_x509_certificate(ca.cert_pem.bytes())
    assert tls.dns_names(cert) == []


def test_the_deadline_skips_the_handshake(gateway: TLSServer, tmp_path: Path) -> None:
    document = plan([domain("example.com", True, [host("docs.example.com", "example.com", address("127.0.0.1"))])])
    options = Options(port=gateway.port, deadline=1e-9)
    report = verify(document, document, "test", options, lookup=table({"docs.example.com": {"A": ("127.0.0.1",)}}))
    assert statuses(report)["docs.example.com"]["tls.covers"] == "skip"
    assert report.deadline_hit is True
