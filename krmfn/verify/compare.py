"""The DNS verdicts: what a resolution found against what the plan says, as pure functions.

Cloudflare answers a proxied record with its own edge addresses, never the CNAME behind
it, so a live answer of addresses where a proxied CNAME is planned proves only that the
record exists; a zone export shows the CNAME itself and is compared strictly.
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass

from krmfn.verify.answers import ADDRESS_TYPES, Records, Resolution, describe, normalize
from krmfn.verify.plandoc import Host, Plan, Record
from krmfn.verify.report import Check, Status


@dataclass(frozen=True)
class Context:
    #: the primary domain's record targets: a secondary name found pointing at one of them
    #: is the seed's single Gateway target.
    primary_targets: frozenset[str]
    #: True when answers come from zone files (every record visible, proxying or not).
    offline: bool


def context_of(plan: Plan, offline: bool) -> Context:
    targets: set[str] = set()
    for domain in plan.domains:
        if domain.primary:
            for host in domain.hosts:
                if host.record is not None and host.record.type == "CNAME":
                    targets.update(host.record.targets)
                if host.target_name:
                    targets.add(host.target_name)
    return Context(frozenset(targets), offline)


def planned(record: Record) -> str:
    return f"{record.type} {', '.join(record.targets)}"


def check_record(host: Host, primary: bool, res: Resolution, ctx: Context) -> Check:
    start = res.start
    found = describe(start.records) if start.records else _absence(res)
    if host.record is None:
        return Check("dns.record", "info", "not managed by krmfn (the plan has no record for it)", None, found)
    expected = planned(host.record)
    if res.end == "unanswered" and not start.records:
        return Check("dns.record", "fail", f"no answer: {start.detail}", expected, found)
    if res.end == "outside" and not start.records:
        return Check("dns.record", "fail", f"not checked: {start.detail}", expected, found)
    if not start.records:
        return Check("dns.record", "fail", "missing: the name has no record", expected, found)
    problem = compare_records(host.record, start.records, primary, ctx)
    if problem is None:
        return Check("dns.record", "pass", "as planned", expected, found)
    status, message = problem
    return Check("dns.record", status, message, expected, found)


def compare_records(record: Record, found: Records, primary: bool, ctx: Context) -> tuple[Status, str] | None:
    """(status, message) when *found* differs from *record*; None when it matches."""
    want = {normalize(t) for t in record.targets}
    if record.type not in found:
        if record.type == "CNAME" and not ctx.offline and set(found) <= set(ADDRESS_TYPES):
            if record.proxied is True:
                return None  # Cloudflare's edge addresses: the record exists, its target is hidden
            if record.proxied is None:
                return (
                    "warn",
                    f"addresses where a CNAME is planned: Cloudflare's edge if the record is proxied (the plan "
                    f"leaves proxying to the installation's default), else an unexpected {_types(found)} record",
                )
        return "fail", f"wrong type: an unexpected {_types(found)} record where {record.type} is planned"
    got = set(found[record.type])
    others = [t for t in found if t != record.type]
    if want - got:
        message = f"wrong target: {record.type} {', '.join(sorted(got))} instead of {', '.join(sorted(want - got))}"
        hit = sorted(got & ctx.primary_targets)
        if hit and not primary:
            message += f" — it points at the primary domain's target {', '.join(hit)} (the seed's single target)"
        return "fail", message
    extra = [f"{record.type} {t}" for t in sorted(got - want)] + [f"{t} {', '.join(found[t])}" for t in others]
    if extra:
        return "fail", f"unexpected record(s) beside the planned one: {'; '.join(extra)}"
    return None


def check_chain(host: Host, res: Resolution, ctx: Context) -> Check | None:
    """The CNAME chain from the name: it must end in an address, through the planned target."""
    if "CNAME" not in res.start.records:
        return None
    found = " → ".join(res.path)
    if res.addresses:
        found += f" → {', '.join(res.addresses)}"
    last = res.end_name
    if res.end == "dangling":
        message = f"dangling CNAME: {last} does not exist (NXDOMAIN)"
        if host.target_name == last and host.target_record is None:
            message += "; the plan says nothing in the tree publishes it"
        return Check("dns.chain", "fail", message, "a chain that ends in an address", found)
    if res.end in ("loop", "too-long"):
        what = "loops back to" if res.end == "loop" else "has too many CNAMEs after"
        return Check("dns.chain", "fail", f"the chain {what} {last}", "a chain that ends in an address", found)
    if res.end == "nodata":
        return Check(
            "dns.chain", "fail", f"the chain ends at {last}, which has no address", "an A or AAAA record", found
        )
    if res.end == "unanswered":
        return Check("dns.chain", "fail", f"no answer for {last}: {res.states[last].detail}", None, found)
    target = _target_problem(host, res, ctx)
    if target is not None:
        return target
    if res.end == "outside":
        note = "the zone files" if ctx.offline else "the nameserver's zones"
        return Check(
            "dns.chain", "skip", f"followed to {last}, which is outside {note} ({res.states[last].detail})", None, found
        )
    return Check("dns.chain", "pass", "ends in an address", None, found)


def _target_problem(host: Host, res: Resolution, ctx: Context) -> Check | None:
    """The planned target name (``external.<domain>``) must carry its own planned record."""
    name = host.target_name
    if name is None or host.target_record is None or name not in res.states:
        return None
    state = res.states[name]
    if not state.records:
        return None
    problem = compare_records(host.target_record, state.records, primary=True, ctx=ctx)
    if problem is None:
        return None
    status, message = problem
    return Check(
        "dns.chain",
        "fail" if status == "fail" else "warn",
        f"the target {name}: {message}",
        f"{name} {planned(host.target_record)}",
        f"{name} {describe(state.records)}",
    )


def _absence(res: Resolution) -> str:
    detail = res.start.detail
    if res.end == "missing":
        return "NXDOMAIN" if res.start.rcode == "NXDOMAIN" else "no A, AAAA or CNAME record"
    return detail or res.end


def _types(found: Collection[str]) -> str:
    return "/".join(t for t in ("CNAME", *ADDRESS_TYPES) if t in found)
