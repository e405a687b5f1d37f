"""Verify a plan: every hostname through DNS (or zone files), TLS and, on request, HTTPS.

Hostnames are checked in parallel on a thread pool: each one waits mostly on the network,
and the lookups they share (every route's CNAME to ``external.<domain>``) are asked once
(:class:`~krmfn.verify.resolver.LiveLookup`). Every network step is bounded by
``timeout`` and by what is left of the overall ``deadline``.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

from krmfn.verify import compare, https, plandoc, tls
from krmfn.verify.answers import Lookup, Resolution, describe, resolve
from krmfn.verify.plandoc import Domain, Host, Plan
from krmfn.verify.report import Check, DomainReport, HostReport, Report
from krmfn.verify.resolver import Deadline, LiveLookup, Nameserver, system_nameserver
from krmfn.verify.zonefile import ZoneLookup, read_zone


@dataclass(frozen=True)
class Options:
    nameserver: Nameserver | None = None  # None and no zones: the system resolver
    zones: tuple[str, ...] = ()
    connect: tuple[str, int] | None = None
    port: int = 443
    cafile: str | None = None
    tls: bool = True
    http: bool = False
    timeout: float = 3.0
    deadline: float = 60.0
    workers: int = 32
    now: dt.datetime | None = None


@dataclass(frozen=True)
class _Job:
    domain: Domain
    host: Host
    #: For --http: the name to request (the apex, or a name a tunnelled wildcard covers).
    http_name: str | None
    tunnelled: bool


def verify(document: Any, planned: Any, source: str, options: Options, lookup: Lookup | None = None) -> Report:
    """Check the substituted plan *document*; *planned* is it before substitution.

    *lookup* replaces the nameserver (tests answer from a dict).
    """
    plan = plandoc.read(document, planned, source)
    deadline = Deadline(options.deadline)
    if lookup is not None:
        where = "the given answers"
    elif options.zones:
        lookup = ZoneLookup(read_zone(path) for path in options.zones)
        where = "zone file(s) " + ", ".join(options.zones)
    else:
        server = options.nameserver or system_nameserver()
        lookup = LiveLookup(server, options.timeout, deadline)
        where = f"nameserver {server.describe()}"
    ctx = compare.context_of(plan, offline=bool(options.zones))
    jobs = _jobs(plan, options.http)
    checker = _Checker(plan, options, lookup, ctx, deadline)
    with ThreadPoolExecutor(max_workers=max(1, options.workers), thread_name_prefix="krmfn-verify") as pool:
        checked = list(pool.map(checker.check, jobs))
    reports = {id(d): DomainReport(d.name, d.planned, d.primary) for d in plan.domains}
    for job, host_report in zip(jobs, checked, strict=True):
        reports[id(job.domain)].hosts.append(host_report)
    report = Report(plan.multi_domain, where, list(reports.values()))
    if isinstance(lookup, ZoneLookup):
        report.unplanned = unplanned(plan, lookup)
    report.queries = getattr(lookup, "queries", 0)
    report.deadline_hit = deadline.hit
    return report


def _jobs(plan: Plan, http: bool) -> list[_Job]:
    jobs = []
    for domain in plan.domains:
        tunnelled = any(h.tunnel_rule for h in domain.hosts)
        for host in domain.hosts:
            http_name = None
            if http and host.name == domain.name:
                http_name = host.name
            elif http and host.is_wildcard and host.tunnel_rule:
                http_name = _wildcard_sample(domain, host)
            jobs.append(_Job(domain, host, http_name, tunnelled))
    return jobs


def _wildcard_sample(domain: Domain, wildcard: Host) -> str:
    """A planned route the wildcard's tunnel rule serves, else a sample name under it."""
    for host in domain.hosts:
        if not host.is_wildcard and host.tunnel_rule == wildcard.tunnel_rule and host.name != domain.name:
            return host.name
    return wildcard.queried


class _Checker:
    def __init__(self, plan: Plan, options: Options, lookup: Lookup, ctx: compare.Context, deadline: Deadline) -> None:
        self.plan = plan
        self.options = options
        self.lookup = lookup
        self.ctx = ctx
        self.deadline = deadline
        self.now = options.now or dt.datetime.now(dt.UTC)

    def check(self, job: _Job) -> HostReport:
        host = job.host
        res = resolve(host.queried, self.lookup)
        checks = [compare.check_record(host, job.domain.primary, res, self.ctx)]
        chain = compare.check_chain(host, res, self.ctx)
        if chain is not None:
            checks.append(chain)
        if not self.options.zones:
            if self.options.tls and (host.record is not None or host.certificate is not None):
                checks.extend(self._tls(host, res))
            if job.http_name is not None:
                checks.append(self._http(job, res))
        return HostReport(host.name, host.planned, host.queried, checks)

    def _address(self, res: Resolution) -> tuple[str, int] | None:
        if self.options.connect is not None:
            return self.options.connect
        return (res.addresses[0], self.options.port) if res.addresses else None

    def _tls(self, host: Host, res: Resolution) -> list[Check]:
        where = self._address(res)
        if where is None:
            return [Check("tls.covers", "skip", "no address to connect to (give --connect HOST:PORT)")]
        budget = self.deadline.budget(self.options.timeout)
        if budget is None:
            return [Check("tls.covers", "skip", "not checked: the overall deadline had passed")]
        served = tls.fetch(where[0], where[1], host.queried, self.options.cafile, budget)
        return tls.judge(served, host.queried, self.now, self.plan.expiry_warning_days)

    def _http(self, job: _Job, res: Resolution) -> Check:
        name = job.http_name or job.host.queried
        if name != job.host.queried:
            res = resolve(name, self.lookup)
        where = self._address(res)
        if where is None:
            return Check("http", "skip", f"no address for {name} (give --connect HOST:PORT)")
        budget = self.deadline.budget(self.options.timeout)
        if budget is None:
            return Check("http", "skip", "not checked: the overall deadline had passed")
        response = https.request(where[0], where[1], name, self.options.cafile, budget)
        return https.judge(response, job.host, name, apex=job.host.name == job.domain.name, tunnelled=job.tunnelled)


def unplanned(plan: Plan, lookup: ZoneLookup) -> list[Check]:
    """Address and CNAME records under a planned domain that no planned name accounts for."""
    known = {h.name for _, h in plan.hosts()} | {h.target_name for _, h in plan.hosts() if h.target_name}
    domains = [d.name for d in plan.domains]
    out = []
    for name, zone, records in lookup.owned():
        if name in known or not _under(name, domains):
            continue
        out.append(
            Check(
                "dns.record",
                "warn",
                f"{name} in {zone.path} is in no planned hostname (drift, or a record krmfn does not manage)",
                None,
                f"{name} {describe(records)}",
            )
        )
    return out


def _under(name: str, domains: Sequence[str]) -> bool:
    return any(name == d or name.endswith("." + d) for d in domains)
