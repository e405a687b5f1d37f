"""`--http`: one request per apex and per tunnelled wildcard, against a real HTTPS server on loopback."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
import trustme
from verifyplans import VARIABLES, domain, host, plan, table, two_domains
from verifyservers import TLSServer, free_port

from krmfn.verify import https
from krmfn.verify.plandoc import Host
from krmfn.verify.report import Report
from krmfn.verify.run import Options, verify
from krmfn.verify.variables import substitute_document

STATUSES = {"example.com": 404, "docs.example.com": 200, "example.org": 200, "app.example.org": 502}


@pytest.fixture(scope="module")
def gateway() -> Iterator[TLSServer]:
    cert = trustme.CA().issue_cert("example.com", "*.example.com", "example.org", "*.example.org")
    with TLSServer({}, default=cert, statuses=STATUSES) as server:
        yield server


def _http(report: Report) -> dict[str, Any]:
    return {h.name: c for d in report.domains for h in d.hosts for c in h.checks if c.check == "http"}


def test_the_apex_404_and_the_wildcard_samples(gateway: TLSServer) -> None:
    document = two_domains()
    options = Options(http=True, tls=False, connect=("127.0.0.1", gateway.port), timeout=5)
    report = verify(substitute_document(document, VARIABLES), document, "test", options, lookup=table({}))
    checks = _http(report)
    assert set(checks) == {"example.com", "*.example.com", "example.org", "*.example.org"}
    apex = checks["example.com"]
    assert (apex.status, apex.found) == ("fail", "404 for https://example.com/")
    assert apex.message.startswith("apex-404: no tunnel rule matches the apex")
    assert (checks["*.example.com"].status, checks["*.example.com"].found) == (
        "pass",
        "200 for https://docs.example.com/",
    )
    assert checks["example.org"].status == "pass"
    assert (checks["*.example.org"].status, checks["*.example.org"].message) == (
        "fail",
        "502: the origin behind the name failed",
    )
    assert sorted(gateway.requests) == sorted(STATUSES), "one request per apex and per tunnelled wildcard"
    assert report.failed


def test_a_wildcard_without_a_planned_route_is_asked_for_its_sample_name(gateway: TLSServer) -> None:
    document = plan(
        [domain("example.net", True, [host("*.example.net", "example.net", None, tunnel_rule="*.example.net")])]
    )
    options = Options(http=True, tls=False, connect=("127.0.0.1", gateway.port), timeout=5)
    check = _http(verify(document, document, "test", options, lookup=table({})))["*.example.net"]
    assert (check.status, check.found) == ("pass", "200 for https://krmfn-verify-sample.example.net/")


def test_no_address_and_no_answer() -> None:
    document = plan([domain("example.net", True, [host("example.net", "example.net", None)])])
    skipped = _http(verify(document, document, "test", Options(http=True, tls=False), lookup=table({})))
    assert (skipped["example.net"].status, skipped["example.net"].message) == (
        "skip",
        "no address for example.net (give --connect HOST:PORT)",
    )
    refused = https.request("127.0.0.1", free_port(), "example.net", None, 2)
    assert refused.status is None
    assert refused.error is not None
    assert https.judge(refused, _host("example.net"), "example.net", apex=True, tunnelled=True).status == "fail"


def _host(name: str, rule: str | None = None) -> Host:
    return Host(name, name, None, None, None, None, False, rule, "public")


@pytest.mark.parametrize(
    ("status", "rule", "apex", "tunnelled", "verdict", "message"),
    [
        (404, None, True, True, "fail", "apex-404: no tunnel rule matches the apex"),
        (404, None, True, False, "fail", "404: no route answers https://example.org/"),
        (404, "example.org", True, True, "fail", "404 although the tunnel rule example.org matches it"),
        (404, "*.example.org", False, True, "fail", "404 although the tunnel rule *.example.org matches it"),
        (301, None, True, True, "pass", "answered"),
        (401, None, True, True, "pass", "answered"),
        (530, None, True, True, "fail", "530: the origin behind the name failed"),
    ],
)
def test_verdicts(status: int, rule: str | None, apex: bool, tunnelled: bool, verdict: str, message: str) -> None:
    check = https.judge(https.Response(status=status), _host("example.org", rule), "example.org", apex, tunnelled)
    assert check.status == verdict
    assert check.message.startswith(message)
