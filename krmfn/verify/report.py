"""What verify found, as data; the table for a person and the JSON (``schema/verify.schema.json``).

Each hostname gets checks: ``dns.record`` (the record at the name), ``dns.chain`` (the
CNAME chain from it), ``tls.*`` (the served certificate) and ``http`` (the tunnel's
answer). A check passes, fails, warns, informs or is skipped; only a failure (or the
deadline) makes the exit status 1.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

Status = Literal["pass", "fail", "warn", "info", "skip"]
CHECKS = ("dns.record", "dns.chain", "tls.covers", "tls.validity", "tls.chain", "tls.expiry", "http")
#: Table columns: a column shows the worst status of its checks.
COLUMNS = (("DNS", ("dns.record",)), ("CHAIN", ("dns.chain",)), ("TLS", CHECKS[2:6]), ("HTTP", ("http",)))
MARKS: dict[Status, str] = {"pass": "✓", "fail": "✗", "warn": "!", "info": "·", "skip": "-"}
_RANK: dict[Status, int] = {"fail": 4, "warn": 3, "pass": 2, "info": 1, "skip": 0}


@dataclass(frozen=True)
class Check:
    check: str
    status: Status
    message: str
    expected: str | None = None
    found: str | None = None

    def to_data(self) -> dict[str, Any]:
        return {
            "check": self.check,
            "status": self.status,
            "message": self.message,
            "expected": self.expected,
            "found": self.found,
        }


@dataclass
class HostReport:
    name: str
    planned: str
    queried: str
    checks: list[Check] = field(default_factory=list)

    def to_data(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "planned": self.planned,
            "queried": self.queried,
            "checks": [c.to_data() for c in self.checks],
        }


@dataclass
class DomainReport:
    name: str
    planned: str
    primary: bool
    hosts: list[HostReport] = field(default_factory=list)


@dataclass
class Report:
    multi_domain: str
    source: str
    domains: list[DomainReport]
    #: Records in the zone files under a planned domain that no planned hostname explains.
    unplanned: list[Check] = field(default_factory=list)
    queries: int = 0
    deadline_hit: bool = False

    def checks(self) -> list[Check]:
        return [c for d in self.domains for h in d.hosts for c in h.checks] + self.unplanned

    def count(self, status: Status) -> int:
        return sum(1 for c in self.checks() if c.status == status)

    @property
    def failed(self) -> bool:
        return self.deadline_hit or self.count("fail") > 0

    def to_data(self) -> dict[str, Any]:
        return {
            "apiVersion": "krmfn.dev/v1alpha1",
            "kind": "Verification",
            "multiDomain": self.multi_domain,
            "source": self.source,
            "summary": {
                **{s: self.count(s) for s in ("pass", "fail", "warn", "info", "skip")},
                "hostnames": sum(len(d.hosts) for d in self.domains),
                "queries": self.queries,
                "deadlineHit": self.deadline_hit,
                "ok": not self.failed,
            },
            "domains": [
                {
                    "name": d.name,
                    "planned": d.planned,
                    "primary": d.primary,
                    "hostnames": [h.to_data() for h in d.hosts],
                }
                for d in self.domains
            ],
            "unplanned": [c.to_data() for c in self.unplanned],
        }


def to_json(report: Report) -> str:
    return json.dumps(report.to_data(), indent=2, ensure_ascii=False) + "\n"


def worst(checks: Sequence[Check]) -> Status | None:
    return max((c.status for c in checks), key=lambda s: _RANK[s], default=None)


def render(report: Report) -> str:
    """A table per domain: one row per hostname, a line per check that did not simply pass."""
    hosts = sum(len(d.hosts) for d in report.domains)
    lines = [
        f"krmfn verify: MultiDomain {report.multi_domain} against {report.source}: {hosts} hostname(s), "
        f"{report.count('fail')} check(s) failed, {report.count('warn')} warning(s)",
        "",
    ]
    width = max((len(h.name) for d in report.domains for h in d.hosts), default=8)
    for d in report.domains:
        lines.append(f"{d.name}{' (primary)' if d.primary else ''}")
        lines.append("  " + f"{'HOSTNAME':<{width}}  " + "  ".join(f"{c:<5}" for c, _ in COLUMNS).rstrip())
        for h in d.hosts:
            marks = []
            for _, ids in COLUMNS:
                status = worst([c for c in h.checks if c.check in ids])
                marks.append(f"{MARKS[status] if status else ' ':<5}")
            lines.append("  " + f"{h.name:<{width}}  " + "  ".join(marks).rstrip())
            if h.queried != h.name:
                lines.append(f"      · checked as the sample name {h.queried}")
            lines.extend(_details(h.checks, indent=6))
        lines.append("")
    if report.unplanned:
        lines.append("records in the zone files that no planned hostname explains")
        lines.extend(_details(report.unplanned, indent=2))
        lines.append("")
    if report.deadline_hit:
        lines.append("the overall deadline passed: some checks were not done (raise --deadline)")
    lines.append(f"{report.count('fail')} failed, {report.count('pass')} passed, {report.count('warn')} warnings")
    return "\n".join(lines) + "\n"


def _details(checks: Sequence[Check], indent: int) -> list[str]:
    out = []
    for c in checks:
        if c.status == "pass":
            continue
        out.append(" " * indent + f"{MARKS[c.status]} {c.check}: {c.message}")
        if c.status in ("fail", "warn") and (c.expected or c.found):
            out.append(" " * (indent + 4) + f"expected {c.expected or '-'}; found {c.found or '-'}")
        elif c.status == "info" and c.found:
            out.append(" " * (indent + 4) + f"found {c.found}")
    return out
