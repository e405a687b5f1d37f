"""500 hostnames against a real nameserver: all answered in parallel, each question asked once."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from verifyplans import cname, domain, host, plan, write_zones, zone_text, zones_for
from verifyservers import Knot

from krmfn.verify.resolver import parse_nameserver
from krmfn.verify.run import Options, verify

COUNT = 500


def _plan() -> dict[str, object]:
    hosts = [host(f"h{i}.example.com", "example.com", cname("external.example.com")) for i in range(COUNT)]
    return plan([domain("example.com", True, hosts)])


@pytest.fixture(scope="module")
def knot(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Knot]:
    zones = zones_for(_plan())
    with Knot(tmp_path_factory.mktemp("knot"), {o: zone_text(o, lines) for o, lines in zones.items()}) as server:
        yield server


def test_500_hostnames_finish_within_the_deadline_asking_each_question_once(knot: Knot) -> None:
    document = _plan()
    options = Options(nameserver=parse_nameserver(knot.nameserver), tls=False, timeout=5, deadline=120, workers=32)
    report = verify(document, document, "test", options)
    assert report.deadline_hit is False
    assert report.count("pass") == 2 * COUNT, "a record and a chain per hostname"
    assert report.count("fail") == 0
    # One question per hostname (its answer carries the in-zone chain to external.example.com),
    # plus the tunnel's name, shared by all 500 chains and asked once.
    assert report.queries == COUNT + 1


def test_one_worker_asks_the_same_questions(knot: Knot) -> None:
    """The count does not depend on the threads racing: the shared answer is asked once either way."""
    document = plan(
        [
            domain(
                "example.com",
                True,
                [host(f"h{i}.example.com", "example.com", cname("external.example.com")) for i in range(20)],
            )
        ]
    )
    options = Options(nameserver=parse_nameserver(knot.nameserver), tls=False, workers=1)
    report = verify(document, document, "test", options)
    assert (report.queries, report.count("pass")) == (21, 40)


def test_the_zone_path_for_the_bulk_plan(tmp_path: Path) -> None:
    """The same 500 names offline, through the zone files the server was given."""
    document = _plan()
    report = verify(document, document, "test", Options(zones=tuple(write_zones(tmp_path, zones_for(document)))))
    assert (report.count("pass"), report.count("fail"), report.unplanned) == (2 * COUNT, 0, [])
