"""Walking a name down its CNAME chain, on answers given by hand."""

from __future__ import annotations

from verifyplans import table

from krmfn.verify.answers import NOERROR, NXDOMAIN, UNANSWERED, Answer, describe, normalize, resolve


def test_a_chain_that_ends_in_addresses() -> None:
    lookup = table(
        {
            "app.example.org": {"CNAME": ("external.example.org",)},
            "external.example.org": {"CNAME": ("tunnel-1.example.net",)},
            "tunnel-1.example.net": {"A": ("127.0.0.53",), "AAAA": ("::1",)},
        }
    )
    res = resolve("app.example.org", lookup)
    assert res.path == ("app.example.org", "external.example.org", "tunnel-1.example.net")
    assert (res.end, res.addresses) == ("address", ("127.0.0.53", "::1"))
    assert res.start.records == {"CNAME": ("external.example.org",)}


def test_missing_dangling_nodata_and_outside() -> None:
    lookup = table(
        {
            "a.example.com": {"CNAME": ("gone.example.com",)},
            "b.example.com": {"CNAME": ("empty.example.com",)},
            "empty.example.com": {},
            "c.example.com": {"CNAME": ("x.cfargotunnel.test",)},
        },
        outside=("test",),
    )
    assert resolve("nope.example.com", lookup).end == "missing"
    assert resolve("empty.example.com", lookup).end == "missing"
    dangling = resolve("a.example.com", lookup)
    assert (dangling.end, dangling.end_name) == ("dangling", "gone.example.com")
    assert resolve("b.example.com", lookup).end == "nodata"
    outside = resolve("c.example.com", lookup)
    assert (outside.end, outside.end_name, outside.states["x.cfargotunnel.test"].detail) == (
        "outside",
        "x.cfargotunnel.test",
        "refused",
    )


def test_loops_and_long_chains_stop() -> None:
    loop = table({"a.example.com": {"CNAME": ("b.example.com",)}, "b.example.com": {"CNAME": ("a.example.com",)}})
    assert resolve("a.example.com", loop).end == "loop"
    long = table({f"n{i}.example.com": {"CNAME": (f"n{i + 1}.example.com",)} for i in range(20)})
    res = resolve("n0.example.com", long)
    assert res.end == "too-long"
    assert len(res.path) == 9


def test_an_authoritative_answer_is_followed_within_it_and_its_rcode_is_the_chains_end() -> None:
    """RFC 6604: an in-zone chain to a missing name comes as NXDOMAIN with the CNAME in it."""
    asked: list[tuple[str, str]] = []

    def lookup(name: str, rdtype: str) -> Answer:
        asked.append((name, rdtype))
        return Answer(
            NXDOMAIN,
            {"a.example.com": {"CNAME": ("b.example.com",)}, "b.example.com": {"CNAME": ("gone.example.com",)}},
        )

    res = resolve("a.example.com", lookup)
    assert (res.end, res.end_name) == ("dangling", "gone.example.com")
    assert asked == [("a.example.com", "A")]


def test_the_aaaa_question_is_asked_when_a_live_answer_has_no_address_type() -> None:
    asked: list[tuple[str, str]] = []

    def lookup(name: str, rdtype: str) -> Answer:
        asked.append((name, rdtype))
        if name == "v6.example.com" and rdtype == "AAAA":
            return Answer(NOERROR, {name: {"AAAA": ("2001:db8::1",)}})
        if name == "v4.example.com" and rdtype == "A":
            return Answer(NOERROR, {name: {"A": ("127.0.0.1",)}})
        if name == "a.example.com":
            return Answer(NOERROR, {name: {"CNAME": ("v4.example.com",)}})
        return Answer(NOERROR, {})

    assert resolve("v6.example.com", lookup).addresses == ("2001:db8::1",)
    assert resolve("v4.example.com", lookup).addresses == ("127.0.0.1",)
    asked.clear()
    assert resolve("a.example.com", lookup).addresses == ("127.0.0.1",)
    assert asked == [("a.example.com", "A"), ("v4.example.com", "A")], "a chain's end with an A needs no AAAA"


def test_no_answer_at_the_start() -> None:
    res = resolve("a.example.com", lambda n, t: Answer(UNANSWERED, detail="no answer within 1s"))
    assert (res.end, res.start.detail) == ("unanswered", "no answer within 1s")


def test_normalize_and_describe() -> None:
    assert normalize("External.Example.COM.") == "external.example.com"
    assert normalize("2001:DB8:0:0::1") == "2001:db8::1"
    assert describe({"A": ("127.0.0.1", "127.0.0.2"), "CNAME": ("x",)}) == "CNAME x; A 127.0.0.1, 127.0.0.2"
    assert describe({}) == "no A, AAAA or CNAME record"
