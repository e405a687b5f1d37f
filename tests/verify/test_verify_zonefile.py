"""Zone files, offline: reading them as providers export them, and the plan compared with them."""

from __future__ import annotations

from pathlib import Path

import pytest
from verifyplans import FAULTS, VARIABLES, failing, statuses, two_domains, with_faults, write_zones, zones_for

from krmfn.errors import InputError
from krmfn.verify.answers import resolve
from krmfn.verify.run import Options, verify
from krmfn.verify.variables import substitute_document
from krmfn.verify.zonefile import ZoneLookup, read_zone

#: The layout of a Cloudflare DNS export: no $ORIGIN, absolute names, tags in comments.
CLOUDFLARE_EXPORT = """\
;;
;; Domain:     example.org.
;; Exported:   2025-01-01 00:00:00
;;
;; SOA Record
example.org\t3600\tIN\tSOA\tns1.example.net. dns.example.net. 2050000000 10000 2400 604800 3600

;; NS Records
example.org.\t86400\tIN\tNS\tns1.example.net.

;; CNAME Records
app.example.org.\t1\tIN\tCNAME\texternal.example.org. ; cf_tags=cf-proxied:true
external.example.org.\t1\tIN\tCNAME\ttunnel-1.example.net. ; cf_tags=cf-proxied:true
*.lab.example.org.\t1\tIN\tA\t127.0.0.20 ; cf_tags=cf-proxied:false
deep.node.example.org.\t1\tIN\tTXT\t"only text"

;; A Records
example.org.\t1\tIN\tA\t127.0.0.1 ; cf_tags=cf-proxied:true
"""


def test_a_cloudflare_export_is_named_by_its_soa(tmp_path: Path) -> None:
    path = tmp_path / "example.org.txt"
    path.write_text(CLOUDFLARE_EXPORT.replace("example.org\t3600", "example.org.\t3600"))
    zone = read_zone(str(path))
    assert zone.origin == "example.org"
    assert zone.records["app.example.org"] == {"CNAME": ("external.example.org",)}
    assert zone.records["example.org"] == {"A": ("127.0.0.1",)}
    lookup = ZoneLookup([zone])
    assert resolve("app.example.org", lookup).path == (
        "app.example.org",
        "external.example.org",
        "tunnel-1.example.net",
    )
    assert resolve("app.example.org", lookup).end == "outside"
    assert resolve("x.lab.example.org", lookup).addresses == ("127.0.0.20",), "a wildcard answers for a name under it"
    assert resolve("lab.example.org", lookup).end == "missing", "an empty non-terminal exists, without records"
    assert lookup("lab.example.org", "A").rcode == "NOERROR"
    assert lookup("node.example.org", "A").rcode == "NOERROR"
    assert lookup("x.y.lab.example.org", "A").at("x.y.lab.example.org") == {"A": ("127.0.0.20",)}, "RFC 4592"
    assert lookup("x.deep.node.example.org", "A").rcode == "NXDOMAIN", "no wildcard at the closest encloser"
    assert lookup("nothing.example.org", "A").rcode == "NXDOMAIN"
    assert lookup("example.net", "A").rcode == "OUTSIDE"


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ("@ IN SOA ns hostmaster 1 2 3 4 5\n", r"must name its zone: a `\$ORIGIN` line, or an SOA record"),
        (CLOUDFLARE_EXPORT, r"must name its zone"),
        ("$ORIGIN example.com.\n@ IN SOA ns hostmaster 1 2 3 4 5\nwww IN CNAME\n", r"is not a valid zone file: .*"),
    ],
)
def test_bad_zone_files_are_named(tmp_path: Path, content: str, message: str) -> None:
    path = tmp_path / "zone.txt"
    path.write_text(content)
    with pytest.raises(InputError, match=message) as caught:
        read_zone(str(path))
    assert str(caught.value).startswith(f"--zone {path}")


def test_unreadable_and_duplicate_zones(tmp_path: Path) -> None:
    with pytest.raises(InputError, match=r"^--zone .*nope must be a readable file"):
        read_zone(str(tmp_path / "nope"))
    binary = tmp_path / "binary"
    binary.write_bytes(b"\xff\xfe")
    with pytest.raises(InputError, match=r"must be UTF-8 text"):
        read_zone(str(binary))
    first, second = tmp_path / "a", tmp_path / "b"
    for path in (first, second):
        path.write_text("$ORIGIN example.com.\n@ 60 IN SOA ns.test. h.test. 1 2 3 4 5\n")
    with pytest.raises(InputError, match=r"--zone .*b and --zone .*a are both the zone example.com"):
        ZoneLookup([read_zone(str(first)), read_zone(str(second))])


def _verify(tmp_path: Path, zones: dict[str, list[str]]) -> tuple[object, dict[str, dict[str, str]]]:
    document = two_domains()
    report = verify(
        substitute_document(document, VARIABLES), document, "test", Options(zones=tuple(write_zones(tmp_path, zones)))
    )
    return report, statuses(report)


def test_the_zones_krmfn_plans_pass_offline(tmp_path: Path) -> None:
    report, found = _verify(tmp_path, zones_for(two_domains()))
    assert not report.failed  # type: ignore[attr-defined]
    assert report.count("warn") == 0  # type: ignore[attr-defined]
    assert found["docs.example.com"] == {"dns.record": "pass", "dns.chain": "pass"}
    assert found["nas.example.com"] == {"dns.record": "pass"}
    assert found["*.example.com"] == {"dns.record": "info"}, "offline: DNS only, no TLS"


def test_each_fault_is_found_offline_and_each_correct_name_passes(tmp_path: Path) -> None:
    report, found = _verify(tmp_path, with_faults(zones_for(two_domains())))
    assert failing(report) == set(FAULTS)  # type: ignore[arg-type]
    assert found["grafana.example.org"] == {"dns.record": "fail"}
    assert found["flux-webhook.example.org"] == {"dns.record": "fail", "dns.chain": "pass"}
    assert found["app.example.org"] == {"dns.record": "pass", "dns.chain": "fail"}
    assert found["docs.example.com"] == {"dns.record": "pass", "dns.chain": "pass"}
    assert found["home.example.org"] == {"dns.record": "pass"}
    unplanned = report.unplanned  # type: ignore[attr-defined]
    assert [(c.status, c.found) for c in unplanned] == [("warn", "old-app.example.com CNAME external.example.com")]
