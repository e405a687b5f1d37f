"""The DNS verdicts on hand-made answers: each fault class, each "must pass" case, proxying."""

from __future__ import annotations

import pytest
from verifyplans import VARIABLES, table, two_domains

from krmfn.verify import plandoc
from krmfn.verify.answers import Records, resolve
from krmfn.verify.compare import Context, check_chain, check_record, context_of
from krmfn.verify.plandoc import Host, Record
from krmfn.verify.variables import substitute_document

PLAN = plandoc.read(substitute_document(two_domains(), VARIABLES), two_domains(), "test")
LIVE = context_of(PLAN, offline=False)
OFFLINE = context_of(PLAN, offline=True)
TUNNEL = {"CNAME": ("tunnel-1.example.net",)}
ADDRESS = {"A": ("127.0.0.53",)}


def host(name: str, record: Record | None, target: str | None = None, target_record: Record | None = None) -> Host:
    return Host(name, name, record, target, target_record, None, False, None, "public")


def cname(target: str, proxied: bool | None = False) -> Record:
    return Record("CNAME", (target,), proxied)


def zone(**names: Records) -> dict[str, Records]:
    base: dict[str, Records] = {
        "external.example.com": TUNNEL,
        "external.example.org": TUNNEL,
        "tunnel-1.example.net": ADDRESS,
    }
    return {**base, **{k.replace("_", "."): v for k, v in names.items()}}


def test_the_primary_targets_come_from_the_plan() -> None:
    assert LIVE.primary_targets == {"external.example.com"}


@pytest.mark.parametrize(
    ("record", "found", "status", "message"),
    [
        (cname("external.example.org"), {"CNAME": ("external.example.org",)}, "pass", "as planned"),
        (Record("A", ("127.0.0.10",), False), {"A": ("127.0.0.10",)}, "pass", "as planned"),
        (
            Record("A", ("127.0.0.10", "127.0.0.11"), False),
            {"A": ("127.0.0.11", "127.0.0.10")},
            "pass",
            "as planned",
        ),
        (
            cname("external.example.org"),
            {"CNAME": ("external.example.com",)},
            "fail",
            "wrong target: CNAME external.example.com instead of external.example.org — it points at the "
            "primary domain's target external.example.com",
        ),
        (
            cname("external.example.org"),
            {"CNAME": ("elsewhere.example.net",)},
            "fail",
            "wrong target: CNAME elsewhere.example.net instead of external.example.org",
        ),
        (
            Record("A", ("127.0.0.10",), False),
            {"A": ("127.0.0.10", "127.0.0.99")},
            "fail",
            "unexpected record(s) beside the planned one: A 127.0.0.99",
        ),
        (
            Record("A", ("127.0.0.10",), False),
            {"A": ("127.0.0.10",), "AAAA": ("::1",)},
            "fail",
            "unexpected record(s) beside the planned one: AAAA ::1",
        ),
        (
            cname("external.example.org"),
            {"A": ("127.0.0.7",)},
            "fail",
            "wrong type: an unexpected A record where CNAME is planned",
        ),
        (
            Record("A", ("127.0.0.10",), False),
            {"CNAME": ("external.example.org",)},
            "fail",
            "wrong type: an unexpected CNAME record where A is planned",
        ),
        (cname("external.example.org", proxied=True), {"A": ("127.0.0.7",), "AAAA": ("::7",)}, "pass", "as planned"),
        (
            cname("external.example.org", proxied=None),
            {"A": ("127.0.0.7",)},
            "warn",
            "addresses where a CNAME is planned: Cloudflare's edge if the record is proxied",
        ),
    ],
)
def test_record_verdicts(record: Record, found: Records, status: str, message: str) -> None:
    check = check_record(
        host("app.example.org", record), False, resolve("app.example.org", table(zone(app_example_org=found))), LIVE
    )
    assert (check.check, check.status) == ("dns.record", status)
    assert check.message.startswith(message)


def test_a_secondary_pointing_at_the_primarys_target_is_only_the_seed_fault_for_a_secondary() -> None:
    found = {"CNAME": ("external.example.com",)}
    lookup = table(zone(app_example_com=found))
    check = check_record(
        host("app.example.com", cname("other.example.com")), True, resolve("app.example.com", lookup), LIVE
    )
    assert check.status == "fail"
    assert "primary" not in check.message


def test_zone_files_show_the_cname_behind_the_proxy() -> None:
    record = cname("external.example.org", proxied=True)
    res = resolve("app.example.org", table(zone(app_example_org={"A": ("127.0.0.7",)})))
    assert check_record(host("app.example.org", record), False, res, OFFLINE).status == "fail"


def test_missing_and_unanswered() -> None:
    record = cname("external.example.org")
    missing = check_record(host("gone.example.org", record), False, resolve("gone.example.org", table(zone())), LIVE)
    assert (missing.status, missing.message, missing.found) == ("fail", "missing: the name has no record", "NXDOMAIN")
    outside = resolve("a.example.test", table({}, outside=("test",)))
    refused = check_record(host("a.example.test", record), False, outside, LIVE)
    assert (refused.status, refused.message) == ("fail", "not checked: refused")


def test_a_name_krmfn_does_not_manage_is_information() -> None:
    res = resolve("legacy.example.com", table(zone(legacy_example_com={"A": ("127.0.0.5",)})))
    check = check_record(host("legacy.example.com", None), True, res, LIVE)
    assert (check.status, check.found) == ("info", "A 127.0.0.5")
    assert check_chain(host("legacy.example.com", None), res, LIVE) is None


def test_chain_verdicts() -> None:
    planned = host(
        "app.example.org", cname("external.example.org"), "external.example.org", cname("tunnel-1.example.net", True)
    )
    good = resolve("app.example.org", table(zone(app_example_org={"CNAME": ("external.example.org",)})))
    check = check_chain(planned, good, LIVE)
    assert check is not None
    assert (check.status, check.found) == (
        "pass",
        "app.example.org → external.example.org → tunnel-1.example.net → 127.0.0.53",
    )
    wrong_target = dict(zone(app_example_org={"CNAME": ("external.example.org",)}))
    wrong_target["external.example.org"] = {"CNAME": ("tunnel-9.example.net",)}
    wrong_target["tunnel-9.example.net"] = ADDRESS
    check = check_chain(planned, resolve("app.example.org", table(wrong_target)), LIVE)
    assert check is not None
    assert (check.status, check.expected, check.found) == (
        "fail",
        "external.example.org CNAME tunnel-1.example.net",
        "external.example.org CNAME tunnel-9.example.net",
    )
    assert check.message.startswith("the target external.example.org: wrong target")


def test_dangling_says_when_the_plan_knew_nothing_publishes_the_target() -> None:
    answers = zone(app_example_org={"CNAME": ("external.example.org",)})
    del answers["external.example.org"]
    res = resolve("app.example.org", table(answers))
    unpublished = host("app.example.org", cname("external.example.org"), "external.example.org", None)
    check = check_chain(unpublished, res, LIVE)
    assert check is not None
    assert (check.status, check.message) == (
        "fail",
        "dangling CNAME: external.example.org does not exist (NXDOMAIN); the plan says nothing in the tree publishes it",
    )


@pytest.mark.parametrize(
    ("answers", "status", "message"),
    [
        ({"app.example.org": {"CNAME": ("app.example.org",)}}, "fail", "the chain loops back to app.example.org"),
        (
            {"app.example.org": {"CNAME": ("empty.example.org",)}, "empty.example.org": {}},
            "fail",
            "the chain ends at empty.example.org, which has no address",
        ),
        (
            {"app.example.org": {"CNAME": ("x.cfargotunnel.test",)}},
            "skip",
            "followed to x.cfargotunnel.test, which is outside the nameserver's zones (refused)",
        ),
    ],
)
def test_chain_ends(answers: dict[str, Records], status: str, message: str) -> None:
    res = resolve("app.example.org", table(answers, outside=("test",)))
    check = check_chain(host("app.example.org", cname("external.example.org")), res, LIVE)
    assert check is not None
    assert (check.status, check.message) == (status, message)


def test_a_proxied_target_seen_as_addresses_is_a_warning_only_when_proxying_is_unknown() -> None:
    answers = zone(app_example_org={"CNAME": ("external.example.org",)})
    answers["external.example.org"] = {"A": ("127.0.0.9",)}
    res = resolve("app.example.org", table(answers))
    known = host("app.example.org", cname("external.example.org"), "external.example.org", cname("t.example.net", True))
    unknown = host(
        "app.example.org", cname("external.example.org"), "external.example.org", cname("t.example.net", None)
    )
    assert [c.status if (c := check_chain(h, res, LIVE)) else None for h in (known, unknown)] == ["pass", "warn"]


def test_context_without_a_primary() -> None:
    assert context_of(plandoc.Plan("x", None, ()), offline=False) == Context(frozenset(), False)
