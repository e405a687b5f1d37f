"""Zone files (BIND format, as Cloudflare and most providers export them), answered offline.

A zone is named by its ``$ORIGIN`` or, as in Cloudflare's exports that have none, by the
owner of its SOA record. :class:`ZoneLookup` answers like the zones' authoritative server
would: the records at a name, a wildcard's records synthesized for a name that does not
exist, NXDOMAIN, or :data:`~krmfn.verify.answers.OUTSIDE` for a name in no given zone.
"""

from __future__ import annotations

import re
import threading
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

import dns.exception
import dns.rdatatype
import dns.zone

from krmfn.errors import InputError
from krmfn.verify.answers import NOERROR, NXDOMAIN, OUTSIDE, Answer, Records, normalize

_KINDS = {dns.rdatatype.A: "A", dns.rdatatype.AAAA: "AAAA", dns.rdatatype.CNAME: "CNAME"}
_ORIGIN = re.compile(r"^\$ORIGIN[ \t]+(\S+)", re.M | re.I)
_SOA_OWNER = re.compile(r"^(\S+\.)[ \t]+(?:[^;\n]*[ \t])?SOA[ \t]", re.M | re.I)


@dataclass(frozen=True)
class Zone:
    origin: str
    path: str
    #: name -> its A/AAAA/CNAME records (names with other types only are in :attr:`existing`).
    records: Mapping[str, Records]
    #: every name that exists: owners of any type and the empty non-terminals above them.
    existing: frozenset[str]


def read_zone(path: str) -> Zone:
    try:
        with open(path, encoding="utf-8") as handle:
            text = handle.read()
    except OSError as exc:
        raise InputError(f"--zone {path} must be a readable file: {exc.strerror}") from None
    except UnicodeDecodeError:
        raise InputError(f"--zone {path} must be UTF-8 text (a BIND-format zone file)") from None
    origin = _origin_of(text)
    if origin is None:
        raise InputError(
            f"--zone {path} must name its zone: a `$ORIGIN` line, or an SOA record whose owner is an absolute name"
        )
    try:
        zone = dns.zone.from_text(text, origin=origin, relativize=False, check_origin=False, filename=path)
    except dns.exception.DNSException as exc:
        raise InputError(f"--zone {path} is not a valid zone file: {exc}") from None
    records: dict[str, dict[str, tuple[str, ...]]] = {}
    existing: set[str] = set()
    apex = normalize(zone.origin.to_text()) if zone.origin is not None else normalize(origin)
    for owner, node in zone.nodes.items():
        name = normalize(owner.to_text())
        existing.update(_ancestors(name, apex))
        for rdataset in node.rdatasets:
            kind = _KINDS.get(rdataset.rdtype)
            if kind is not None:
                here = records.setdefault(name, {})
                here[kind] = tuple(normalize(r.to_text()) for r in rdataset)
    return Zone(apex, path, records, frozenset(existing))


def _origin_of(text: str) -> str | None:
    for pattern in (_ORIGIN, _SOA_OWNER):
        match = pattern.search(text)
        if match and match.group(1).endswith("."):
            return match.group(1)
    return None


def _ancestors(name: str, apex: str) -> Iterable[str]:
    """*name* and every name between it and the zone apex (empty non-terminals exist)."""
    while True:
        yield name
        if name == apex or "." not in name:
            return
        name = name.split(".", 1)[1]


class ZoneLookup:
    """Answers from zone files, with every type at a name at once."""

    def __init__(self, zones: Iterable[Zone]) -> None:
        self.zones: dict[str, Zone] = {}
        for zone in zones:
            if zone.origin in self.zones:
                raise InputError(
                    f"--zone {zone.path} and --zone {self.zones[zone.origin].path} are both the zone {zone.origin}"
                )
            self.zones[zone.origin] = zone
        self.queries = 0
        self._count = threading.Lock()

    def zone_of(self, name: str) -> Zone | None:
        for candidate in _ancestors(name, ""):
            if candidate in self.zones:
                return self.zones[candidate]
        return None

    def __call__(self, name: str, rdtype: str) -> Answer:
        with self._count:
            self.queries += 1
        zone = self.zone_of(name)
        if zone is None:
            return Answer(OUTSIDE, detail="in none of the --zone files")
        if name in zone.existing:
            return Answer(NOERROR, {name: zone.records.get(name, {})}, complete=True)
        for encloser in _ancestors(name, zone.origin):
            if encloser != name and encloser in zone.existing:
                wildcard = zone.records.get(f"*.{encloser}")
                if wildcard is None and f"*.{encloser}" not in zone.existing:
                    break
                return Answer(NOERROR, {name: wildcard or {}}, complete=True)
        return Answer(NXDOMAIN, detail=f"not in {zone.path}", complete=True)

    def owned(self) -> list[tuple[str, Zone, Records]]:
        """Every name with an A, AAAA or CNAME record, zone by zone."""
        return [(name, z, recs) for z in self.zones.values() for name, recs in sorted(z.records.items())]
