"""Live DNS: one nameserver, asked through dnspython, each question once, within a deadline.

Questions go straight to the nameserver with ``dns.query`` rather than through
``dns.resolver``: verify needs the rcode and the answer section as they are (an
authoritative server's REFUSED, the CNAME an answer stops at), not a resolver's retries
across servers. Recursion is requested, so a recursive resolver follows chains and an
authoritative one simply ignores the flag.
"""

from __future__ import annotations

import ipaddress
import socket
import threading
import time
from collections.abc import Callable
from concurrent.futures import Future
from dataclasses import dataclass

import dns.exception
import dns.message
import dns.query
import dns.rcode
import dns.rdatatype
import dns.resolver

from krmfn.errors import InputError
from krmfn.verify.answers import NOERROR, NXDOMAIN, OUTSIDE, UNANSWERED, Answer, normalize

_TYPES = {dns.rdatatype.A: "A", dns.rdatatype.AAAA: "AAAA", dns.rdatatype.CNAME: "CNAME"}


@dataclass(frozen=True)
class Nameserver:
    address: str
    port: int

    def describe(self) -> str:
        host = f"[{self.address}]" if ":" in self.address else self.address
        return f"{host}:{self.port}"


def parse_address(text: str, flag: str, default_port: int) -> tuple[str, int]:
    """``HOST[:PORT]`` or ``[V6]:PORT`` into an IP address and a port (a name is resolved once)."""
    host, port_text = text, ""
    if text.startswith("["):
        host, _, rest = text[1:].partition("]")
        port_text = rest[1:] if rest.startswith(":") else rest
    elif text.count(":") == 1:
        host, _, port_text = text.partition(":")
    port = default_port
    if port_text:
        if not port_text.isdigit() or not 0 < int(port_text) < 65536:
            raise InputError(f"{flag} {text}: the port must be a number from 1 to 65535")
        port = int(port_text)
    if not host:
        raise InputError(f"{flag} {text} must name a host: HOST[:PORT]")
    try:
        return str(ipaddress.ip_address(host)), port
    except ValueError:
        pass
    try:
        found = socket.getaddrinfo(host, port, proto=socket.IPPROTO_UDP)
    except OSError as exc:
        raise InputError(f"{flag} {text}: the host does not resolve ({exc.strerror or exc})") from None
    return str(found[0][4][0]), port


def parse_nameserver(text: str) -> Nameserver:
    return Nameserver(*parse_address(text, "--nameserver", 53))


def system_nameserver(resolv_conf: str = "/etc/resolv.conf") -> Nameserver:
    """The first nameserver of the system's resolver configuration."""
    try:
        servers = dns.resolver.Resolver(filename=resolv_conf).nameservers
    except (OSError, dns.exception.DNSException):
        servers = []
    if not servers:
        raise InputError(f"{resolv_conf} names no nameserver: give one with --nameserver HOST[:PORT]")
    first = servers[0]
    return Nameserver(str(first), 53)


class Deadline:
    """The overall time budget; :attr:`hit` records that something was cut short by it."""

    def __init__(self, seconds: float, clock: Callable[[], float] = time.monotonic) -> None:
        self._clock = clock
        self._end = clock() + seconds
        self.hit = False

    def remaining(self) -> float:
        return self._end - self._clock()

    def budget(self, per_step: float) -> float | None:
        """The time one step may take, or None (and :attr:`hit`) when none is left."""
        left = self.remaining()
        if left <= 0:
            self.hit = True
            return None
        return min(per_step, left)


class LiveLookup:
    """A :data:`~krmfn.verify.answers.Lookup` on one nameserver, safe to call from many threads.

    Many hostnames share a target (every route's CNAME to ``external.<domain>``): each
    question is sent once and every thread that asks it waits for that one answer.
    """

    def __init__(self, server: Nameserver, timeout: float, deadline: Deadline) -> None:
        self.server = server
        self.timeout = timeout
        self.deadline = deadline
        self.queries = 0
        self._lock = threading.Lock()
        self._asked: dict[tuple[str, str], Future[Answer]] = {}

    def __call__(self, name: str, rdtype: str) -> Answer:
        key = (name, rdtype)
        with self._lock:
            pending = self._asked.get(key)
            mine = pending is None
            if pending is None:
                pending = self._asked[key] = Future()
        if mine:
            try:
                pending.set_result(self._ask(name, rdtype))
            except BaseException as exc:  # noqa: BLE001 - the waiters must not wait forever on a bug
                pending.set_exception(exc)
        return pending.result()

    def _ask(self, name: str, rdtype: str) -> Answer:
        budget = self.deadline.budget(self.timeout)
        if budget is None:
            return Answer(UNANSWERED, detail="not asked: the overall deadline had passed")
        with self._lock:
            self.queries += 1
        query = dns.message.make_query(name, rdtype)
        try:
            response, _ = dns.query.udp_with_fallback(query, self.server.address, timeout=budget, port=self.server.port)
        except dns.exception.Timeout:
            if self.deadline.remaining() <= 0:
                self.deadline.hit = True
            return Answer(UNANSWERED, detail=f"no answer from {self.server.describe()} within {budget:g}s")
        except (OSError, dns.exception.DNSException) as exc:
            return Answer(UNANSWERED, detail=f"{self.server.describe()}: {exc}")
        rcode = dns.rcode.to_text(response.rcode())
        if rcode == "REFUSED":
            return Answer(OUTSIDE, detail=f"{self.server.describe()} refused it (not authoritative for the name)")
        if rcode not in (NOERROR, NXDOMAIN):
            return Answer(UNANSWERED, detail=f"{self.server.describe()} answered {rcode}")
        records: dict[str, dict[str, tuple[str, ...]]] = {}
        for rrset in response.answer:
            kind = _TYPES.get(rrset.rdtype)
            if kind is not None:
                owner = records.setdefault(normalize(rrset.name.to_text()), {})
                owner[kind] = owner.get(kind, ()) + tuple(normalize(r.to_text()) for r in rrset)
        return Answer(rcode, records)
