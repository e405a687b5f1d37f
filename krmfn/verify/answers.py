"""DNS answers as plain data, and the walk from a hostname down its CNAME chain.

A :data:`Lookup` answers one question (name, type) from a nameserver or from zone files;
:func:`resolve` asks it what a resolver would and keeps what it saw at every name on the
way, so the comparison with the plan (:mod:`~krmfn.verify.compare`) needs no network and
tests can hand it answers directly.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Literal

#: Answers that carry data (possibly none: NODATA).
NOERROR = "NOERROR"
NXDOMAIN = "NXDOMAIN"
#: The name is outside what the source can answer for (a nameserver's REFUSED, a name in
#: no zone file): the walk stops there without a verdict.
OUTSIDE = "OUTSIDE"
#: No usable answer: a timeout, the deadline, SERVFAIL, a network error.
UNANSWERED = "UNANSWERED"

ADDRESS_TYPES = ("A", "AAAA")
MAX_CHAIN = 8

Records = Mapping[str, tuple[str, ...]]


@dataclass(frozen=True)
class Answer:
    rcode: str
    #: owner name -> record type -> targets, for A, AAAA and CNAME only.
    records: Mapping[str, Records] = field(default_factory=dict)
    detail: str = ""
    #: True when the source gave every type at each name (a zone file), not just the one asked.
    complete: bool = False

    def at(self, name: str) -> Records:
        return self.records.get(name, {})


Lookup = Callable[[str, str], Answer]


@dataclass(frozen=True)
class NameState:
    """What was found at one name: an rcode and its A/AAAA/CNAME records."""

    rcode: str
    records: Records
    detail: str = ""


End = Literal["address", "nodata", "dangling", "outside", "unanswered", "loop", "too-long", "missing"]


@dataclass(frozen=True)
class Resolution:
    name: str
    #: Every name visited, in order: the hostname, then each CNAME target.
    path: tuple[str, ...]
    states: Mapping[str, NameState]
    end: End
    addresses: tuple[str, ...] = ()

    @property
    def start(self) -> NameState:
        return self.states[self.name]

    @property
    def end_name(self) -> str:
        return self.path[-1]


def normalize(value: str) -> str:
    """A name lowercased without its final dot, an address in its canonical spelling."""
    text = value.strip().lower().rstrip(".")
    try:
        return str(ipaddress.ip_address(text))
    except ValueError:
        return text


def resolve(name: str, lookup: Lookup) -> Resolution:
    """Follow *name* as a stub resolver would: CNAMEs (at most :data:`MAX_CHAIN`), then addresses."""
    path: list[str] = []
    states: dict[str, NameState] = {}
    current = name
    answer = lookup(current, "A")
    while True:
        path.append(current)
        here = dict(answer.at(current))
        if not here and answer.rcode != NOERROR:
            states[current] = NameState(answer.rcode, {}, answer.detail)
            return Resolution(name, tuple(path), states, _end_for(answer.rcode, first=len(path) == 1))
        cname = here.get("CNAME")
        if cname:
            states[current] = NameState(NOERROR, here)
            following = cname[0]
            if following in path:
                return Resolution(name, tuple(path), states, "loop")
            if len(path) > MAX_CHAIN:
                return Resolution(name, tuple(path), states, "too-long")
            current = following
            # An authoritative server follows a chain only inside its zone; its rcode is
            # about the chain's last name (RFC 6604), so an NXDOMAIN answer already tells.
            if not answer.at(following) and answer.rcode == NOERROR:
                answer = lookup(following, "A")
            continue
        if "AAAA" not in here and not answer.complete and (len(path) == 1 or not here.get("A")):
            extra = lookup(current, "AAAA")
            if extra.rcode == NOERROR and extra.at(current).get("AAAA"):
                here["AAAA"] = extra.at(current)["AAAA"]
        states[current] = NameState(NOERROR, here)
        addresses = tuple(a for t in ADDRESS_TYPES for a in here.get(t, ()))
        if addresses:
            return Resolution(name, tuple(path), states, "address", addresses)
        return Resolution(name, tuple(path), states, "missing" if len(path) == 1 else "nodata")


def _end_for(rcode: str, first: bool) -> End:
    if rcode == NXDOMAIN:
        return "missing" if first else "dangling"
    if rcode == OUTSIDE:
        return "outside"
    return "unanswered"


def describe(records: Records) -> str:
    """`CNAME external.example.org` / `A 192.0.2.1, 192.0.2.2`, types in a stable order."""
    parts = [f"{t} {', '.join(records[t])}" for t in ("CNAME", *ADDRESS_TYPES) if records.get(t)]
    return "; ".join(parts) if parts else "no A, AAAA or CNAME record"
