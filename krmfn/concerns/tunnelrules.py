"""cloudflared ingress rules as a list: which rules are managed, their order, their validity.

Pure logic over plain data (the ``ingress`` list of cloudflared's ``config.yaml``);
:mod:`krmfn.concerns.tunnel` finds the configuration and writes it back.

How cloudflared reads the list (domain-facts §4.1, ``cloudflare/cloudflared:ingress/ingress.go``):
the first rule that matches wins; ``*.example.com`` matches every name that ends in
``.example.com`` (``a.example.com`` and ``a.b.example.com``) but not ``example.com``; a rule
without a hostname (or with ``*``) and without a path is a catch-all, and exactly the last
rule must be one. So a domain nested under another (``staging.example.com`` under
``example.com``) needs its rules before its parent's wildcard, and a rule the user wrote for
one host under a managed domain must stay before that domain's wildcard.

A rule for a managed hostname is krmfn's when it follows krmfn's convention (the caller's
*is_owned*, e.g. the gateway's DNS target as origin server name): krmfn takes it over, setting
the service and the ``originRequest`` keys it manages and keeping every other key the user
wrote (``noTLSVerify``, ``http2Origin``, …). Any other rule for a managed hostname is the
user's choice (a dedicated apex gateway, its own SNI): it stays as written, and only the
missing rules are added.
"""

from __future__ import annotations

import heapq
import re
import warnings
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from krmfn.api.tunnelservice import TEMPLATE as _TEMPLATE
from krmfn.api.tunnelservice import service_problem


@dataclass(frozen=True)
class ManagedDomain:
    """A tunnel domain and the two rules it must have, apex first."""

    name: str
    apex: dict[str, Any]
    wildcard: dict[str, Any]


@dataclass
class Plan:
    """The rule list to write, and what the user must hear about it."""

    rules: list[Any]
    #: For each rule of :attr:`rules`, the index of the input rule it stands for, if any.
    origins: list[int | None] = field(default_factory=list)
    #: Indices of the input rules that are the user's (the catch-all included).
    user_rules: set[int] = field(default_factory=set)
    errors: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    infos: list[str] = field(default_factory=list)
    #: Managed hostnames (lower-cased) whose rule is the user's, left as written.
    left_as_written: set[str] = field(default_factory=set)
    added: list[str] = field(default_factory=list)
    updated: list[str] = field(default_factory=list)
    removed: list[str] = field(default_factory=list)


# --- reading rules -------------------------------------------------------------------


def hostname(rule: dict[str, Any]) -> str:
    """The rule's host pattern, ``""`` for one that matches every host."""
    host = rule.get("hostname")
    return "" if host in (None, "", "*") else str(host)


def has_path(rule: dict[str, Any]) -> bool:
    return rule.get("path") not in (None, "")


def is_catch_all(rule: dict[str, Any]) -> bool:
    return hostname(rule) == "" and not has_path(rule)


def describe(rule: Any) -> str:
    """A short name for a rule in messages: its hostname and path, or its service."""
    if not isinstance(rule, dict):
        return repr(rule)
    parts = []
    if hostname(rule):
        parts.append(f"hostname: {hostname(rule)}")
    if has_path(rule):
        parts.append(f"path: {rule['path']}")
    if not parts:
        parts.append(f"service: {rule.get('service')}")
    return "`" + ", ".join(parts) + "`"


def host_covers(outer: str, inner: str) -> bool:
    """True when every host that pattern *inner* matches is also matched by *outer*."""
    outer, inner = outer.lower(), inner.lower()
    if outer == "":
        return True
    if inner == "":
        return False
    if not outer.startswith("*."):
        return outer == inner
    suffix = outer[1:]  # ".example.com": cloudflared keeps the dot
    bare = inner[2:] if inner.startswith("*.") else inner
    return inner == outer or bare.endswith(suffix)


def first_match_covers(first: dict[str, Any], later: dict[str, Any]) -> bool:
    """True when *first*, placed before *later*, takes every request *later* would get."""
    if not host_covers(hostname(first), hostname(later)):
        return False
    return not has_path(first) or (has_path(later) and first.get("path") == later.get("path"))


def overlaps(a: dict[str, Any], b: dict[str, Any]) -> bool:
    """True when some request could match both (host patterns nest or are disjoint)."""
    return host_covers(hostname(a), hostname(b)) or host_covers(hostname(b), hostname(a))


# --- validation as cloudflared does it ------------------------------------------------


def hostname_problem(host: Any) -> str | None:
    """Why cloudflared would refuse (or never match) this hostname, or None."""
    if host is None:
        return None
    if not isinstance(host, str):
        return f"`hostname` must be a string, not {host!r}"
    bare = _TEMPLATE.sub("x", host)
    if "://" in bare:
        return f"`hostname` must not have a scheme: {host!r}"
    if ":" in bare:
        return f'`hostname` must not have a port: {host!r} (cloudflared: "Hostname cannot contain a port")'
    if "/" in bare:
        return f"`hostname` must not have a path: {host!r} (use the rule's `path` for that)"
    if bare.rfind("*") > 0 or (bare.startswith("*") and bare not in ("*",) and not bare.startswith("*.")):
        return f'`hostname` may use `*` only as its whole first label, e.g. "*.example.com": {host!r}'
    return None


def path_problem(path: Any) -> str | None:
    """Why Go's ``regexp.Compile`` would refuse this ``path``, or None.

    Go uses RE2 syntax, which Python's ``re`` does not share. The check rejects what RE2
    refuses and Python accepts (look-around, back-references, atomic groups, possessive
    and stacked quantifiers, repeat counts over 1000), translates what RE2 accepts and
    Python does not (``\\z``, ``\\pL``, ``\\x{…}``, ``\\Q…\\E``, ``(?<name>``, ``(?U)``,
    ``[[:alpha:]]``), then compiles the rest with Python. It errs towards accepting.
    """
    if path is None or path == "":
        return None
    if not isinstance(path, str):
        return f"`path` must be a string, not {path!r}"
    translated = _go_to_python(path)
    if translated.startswith("!"):
        return f"`path` {path!r} must be a Go (RE2) regular expression: {translated[1:]}"
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            re.compile(translated)
    except re.error as exc:
        return f"`path` {path!r} must be a valid regular expression: {exc.msg}"
    return None


_QUANTIFIER = re.compile(r"\*|\+|\?|\{(\d+)(,(\d*))?\}")
_FLAGS = re.compile(r"\(\?([imsU]*)(?:-([imsU]*))?([:)])")


def _go_to_python(pattern: str) -> str:
    """The pattern in Python syntax, or ``!reason`` for what RE2 refuses."""
    out: list[str] = []
    i, n = 0, len(pattern)
    in_class = False
    last_was_repeat = False
    while i < n:
        c = pattern[i]
        repeat = False
        if c == "\\" and i + 1 < n:
            nxt = pattern[i + 1]
            if nxt == "Q":
                end = pattern.find("\\E", i + 2)
                literal = pattern[i + 2 :] if end < 0 else pattern[i + 2 : end]
                out.append(re.escape(literal))
                i = n if end < 0 else end + 2
                last_was_repeat = False
                continue
            if nxt in "pP":
                m = re.match(r"\\[pP](\{[^}]*\}|.)", pattern[i:])
                out.append(r"\w")
                i += len(m.group(0)) if m else 2
                last_was_repeat = False
                continue
            if nxt == "x" and pattern.startswith("{", i + 2):
                m = re.match(r"\\x\{([0-9A-Fa-f]{1,6})\}", pattern[i:])
                if not m:
                    return "!it has an invalid `\\x{…}` escape"
                out.append(re.escape(chr(min(int(m.group(1), 16), 0x10FFFF))))
                i += len(m.group(0))
                last_was_repeat = False
                continue
            if nxt.isdigit():
                m = re.match(r"\\([0-7]{1,3})", pattern[i:])
                if nxt in "89" or (nxt != "0" and m and len(m.group(1)) == 1):
                    return f"!it uses the back-reference `\\{nxt}`, which RE2 does not support"
                assert m is not None
                out.append(re.escape(chr(int(m.group(1), 8))))
                i += len(m.group(0))
                last_was_repeat = False
                continue
            out.append("\\Z" if nxt == "z" else pattern[i : i + 2])
            i += 2
            last_was_repeat = False
            continue
        if in_class:
            if c == "[" and pattern.startswith(":", i + 1):
                end = pattern.find(":]", i + 2)
                if end >= 0:
                    out.append(r"\w")
                    i = end + 2
                    continue
            if c == "]" and not _class_start(pattern, i):
                in_class = False
            out.append("\\[" if c == "[" else c)
            i += 1
            continue
        if c == "[":
            in_class = True
            out.append(c)
            i += 1
            last_was_repeat = False
            continue
        if c == "(" and pattern.startswith("?", i + 1):
            rest = pattern[i + 2 :]
            if rest.startswith(("=", "!", "<=", "<!")):
                return "!it uses a look-around assertion, which RE2 does not support"
            if rest.startswith((">", "(", "#", "P=", "P>", "|", "R", "&")) or rest[:1].isdigit():
                return f"!it uses the group syntax `(?{rest[:2]}`, which RE2 does not support"
            if rest.startswith("<"):
                out.append("(?P<")
                i += 3
                last_was_repeat = False
                continue
            if not rest.startswith("P<"):
                m = _FLAGS.match(pattern, i)
                if not m:
                    return f"!it uses the flag group `(?{rest[:3]}`, which RE2 does not support (flags: i, m, s, U)"
                # Flags never make an RE2 pattern valid or invalid, and Python wants global
                # flags first: a flag group is checked as a plain group, a bare one dropped.
                out.append("(?:" if m.group(3) == ":" else "")
                i = m.end()
                last_was_repeat = False
                continue
        m = _QUANTIFIER.match(pattern, i)
        if m and (c != "{" or _is_repeat(m)):
            if last_was_repeat:
                return f"!it stacks repetition operators (`{pattern[max(0, i - 1) : m.end()]}`), which RE2 refuses"
            if c == "{" and max(int(m.group(1)), int(m.group(3) or 0)) > 1000:
                return f"!its repeat count `{m.group(0)}` is over RE2's limit of 1000"
            out.append(m.group(0))
            i = m.end()
            if pattern.startswith("?", i):  # lazy form of the same operator
                out.append("?")
                i += 1
            repeat = True
        else:
            out.append("\\{" if c == "{" else c)
            i += 1
        last_was_repeat = repeat
    return "".join(out)


def _class_start(pattern: str, i: int) -> bool:
    """A ``]`` right after ``[`` or ``[^`` is a literal, not the end of the class."""
    return pattern[i - 1] == "[" or (pattern[i - 1] == "^" and i >= 2 and pattern[i - 2] == "[")


def _is_repeat(m: re.Match[str]) -> bool:
    return m.group(0).startswith("{") and (m.group(3) in (None, "") or int(m.group(3)) >= int(m.group(1)))


def rule_problems(rule: Any, index: int, total: int) -> list[str]:
    """Every reason cloudflared would refuse rule *index* of *total*."""
    if not isinstance(rule, dict):
        return [f"must be a mapping with `hostname`, `path` and `service`, not {rule!r}"]
    problems = [p for p in (hostname_problem(rule.get("hostname")), path_problem(rule.get("path"))) if p]
    service = service_problem(rule.get("service"))
    if service:
        problems.append(service)
    if is_catch_all(rule) and index != total - 1:
        problems.append(
            "matches every hostname, so it must be the last rule (cloudflared: the rules which follow it "
            "would never be triggered)"
        )
    return problems


# --- planning ------------------------------------------------------------------------


def nested_first(names: Sequence[str], is_under: Callable[[str, str], bool]) -> list[str]:
    """*names* in their order, except that a domain goes before every domain it is under."""
    placed: list[str] = []
    for name in names:
        at = next((i for i, other in enumerate(placed) if is_under(name, other)), len(placed))
        placed.insert(at, name)
    return placed


def plan(
    ingress: Sequence[Any],
    managed: Sequence[ManagedDomain],
    is_owned: Callable[[dict[str, Any]], bool],
    catch_all_service: str,
    defaults: Mapping[str, Any] | None = None,
) -> Plan:
    """The new ingress list: managed rules in place, user rules kept, one catch-all last.

    *managed* is already in nesting order. A path-less rule whose hostname is a managed
    apex or wildcard is replaced by the managed rule; another rule that *is_owned* says
    krmfn wrote (for a domain no longer configured) is dropped; every other rule is the
    user's and keeps its relative order. *defaults* is the config's top-level ``originRequest``,
    which every rule inherits: a rule that reads the same with it as the managed one is kept.
    """
    out = Plan(rules=[])
    total = len(ingress)
    for i, rule in enumerate(ingress):
        for problem in rule_problems(rule, i, total):
            out.errors.append(f"ingress[{i}] {describe(rule)} {problem}")
    if out.errors:
        return out

    wanted: dict[str, dict[str, Any]] = {}
    for domain in managed:
        wanted[domain.apex["hostname"].lower()] = domain.apex
        wanted[domain.wildcard["hostname"].lower()] = domain.wildcard
    anchors: dict[str, int] = {}
    existing: dict[str, Any] = {}
    user: list[tuple[int, dict[str, Any]]] = []
    catch_all: tuple[int, dict[str, Any]] | None = None
    for i, rule in enumerate(ingress):
        host = hostname(rule).lower()
        if is_catch_all(rule):
            catch_all = (i, rule)
            out.user_rules.add(i)
        elif not has_path(rule) and host in wanted:
            if host in anchors:
                out.warnings.append(f"ingress[{i}] {describe(rule)} repeats a managed hostname and was removed")
                continue
            anchors[host] = i
            existing[host] = rule
        elif is_owned(rule):
            out.removed.append(str(rule["hostname"]))
        else:
            user.append((i, rule))
            out.user_rules.add(i)

    chain: list[dict[str, Any]] = []
    for rule in (rule for domain in managed for rule in (domain.apex, domain.wildcard)):
        host = rule["hostname"].lower()
        old = existing.get(host)
        if old is None:
            out.added.append(rule["hostname"])
            chain.append(rule)
            continue
        taken = take_over(old, rule)
        if effective(taken, defaults) == effective(old, defaults):
            chain.append(old)
        elif is_owned(old):
            out.updated.append(rule["hostname"])
            chain.append(taken)
        else:
            out.user_rules.add(anchors[host])
            out.left_as_written.add(host)
            out.infos.append(
                f"ingress[{anchors[host]}] {describe(old)} is the user's rule for a managed hostname and was left "
                f"as written (service {old.get('service')!r}, origin server name "
                f"{_origin_name(old, defaults)}); MultiDomain would have written service {rule['service']!r}, "
                f"origin server name {_origin_name(rule, defaults)}"
            )
            chain.append(old)

    merged = _merge(user, chain, anchors, total, out.warnings)
    merged.append(catch_all if catch_all is not None else (None, {"service": catch_all_service}))
    out.rules = [rule for _, rule in merged]
    out.origins = [origin for origin, _ in merged]
    return out


def take_over(old: dict[str, Any], wanted: dict[str, Any]) -> dict[str, Any]:
    """*old* as krmfn writes it: *wanted*'s service and ``originRequest`` keys, the user's other keys kept.

    The origin server name is krmfn's to choose: one it does not write (no listener serves a
    name for the rule) is removed, since the old one was krmfn's convention too.
    """
    wanted_origin = wanted.get("originRequest") or {}
    origin = old.get("originRequest")
    kept = dict(origin) if isinstance(origin, dict) else {}
    if "originServerName" not in wanted_origin:
        kept.pop("originServerName", None)
    kept.update(wanted_origin)
    merged = dict(old)
    merged["service"] = wanted["service"]
    if kept:
        merged["originRequest"] = kept
    else:
        merged.pop("originRequest", None)
    return merged


def effective(rule: dict[str, Any], defaults: Mapping[str, Any] | None) -> dict[str, Any]:
    """The rule as cloudflared applies it: its ``originRequest`` over the top-level one."""
    origin = rule.get("originRequest")
    merged = {**(defaults or {}), **(origin if isinstance(origin, dict) else {})}
    out = {k: v for k, v in rule.items() if k != "originRequest"}
    if merged:
        out["originRequest"] = merged
    return out


def _origin_name(rule: dict[str, Any], defaults: Mapping[str, Any] | None) -> str:
    name = effective(rule, defaults).get("originRequest", {}).get("originServerName")
    return repr(str(name)) if name is not None else "none"


def _merge(
    user: list[tuple[int, dict[str, Any]]],
    chain: list[dict[str, Any]],
    anchors: dict[str, int],
    total: int,
    messages: list[str],
) -> list[tuple[int | None, dict[str, Any]]]:
    """Interleave user and managed rules so that no rule shadows one that must win.

    Each rule has a preferred place: where it was, or, for a new managed rule, next to the
    managed rule before it in *chain*. A topological sort that always takes the available
    rule with the earliest place leaves everything where it was unless a constraint moves
    it: user rules keep their order, a domain's apex precedes its wildcard, and a rule that
    would take all of another's requests goes after it.
    """
    keys: list[tuple[float, int, int]] = []
    for j, rule in enumerate(chain):
        anchor = anchors.get(rule["hostname"].lower())
        if anchor is not None:
            keys.append((anchor, 1, j))
        elif keys:
            keys.append((keys[-1][0], 2, j))
        else:
            later = [anchors[r["hostname"].lower()] for r in chain[j:] if r["hostname"].lower() in anchors]
            keys.append((later[0], 0, j) if later else (total, 0, j))
    nodes: list[tuple[tuple[float, int, int], dict[str, Any]]] = [((i, 1, -1), rule) for i, rule in user]
    nodes += list(zip(keys, chain, strict=True))
    where_from = [i for i, _ in user] + [anchors.get(rule["hostname"].lower()) for rule in chain]
    after: dict[int, list[int]] = {k: [] for k in range(len(nodes))}
    blockers = dict.fromkeys(range(len(nodes)), 0)

    def edge(a: int, b: int) -> None:
        after[a].append(b)
        blockers[b] += 1

    for k in range(len(user) - 1):
        edge(k, k + 1)
    base = len(user)
    # *chain* holds each domain's apex then wildcard, nested domains first: a domain's
    # rules go before the rules of every domain it is under.
    # A new rule follows the managed rule before it, wherever constraints moved that one.
    domain_of = [rule["hostname"].removeprefix("*.") for rule in chain]
    for j in range(len(chain)):
        for k in range(j + 1, len(chain)):
            new_after_j = k == j + 1 and keys[k][1] == 2
            if new_after_j or domain_of[j] == domain_of[k] or host_covers("*." + domain_of[k], domain_of[j]):
                edge(base + j, base + k)
    for u, (where, rule) in enumerate(user):
        shadowed_by = []
        shadows = []
        for j, managed_rule in enumerate(chain):
            if first_match_covers(managed_rule, rule):
                edge(u, base + j)
                shadowed_by.append(managed_rule["hostname"])
            elif overlaps(rule, managed_rule):
                edge(base + j, u)
                shadows.append(managed_rule["hostname"])
        if shadowed_by:
            messages.append(
                f"ingress[{where}] {describe(rule)} is a rule for a host of a managed tunnel domain; it is kept "
                f"before the managed rule `{shadowed_by[0]}`, which would otherwise shadow it, so those requests "
                f"go to {rule.get('service')!r} and not to the gateway"
            )
        if shadows:
            names = ", ".join(f"`{h}`" for h in shadows)
            messages.append(
                f"ingress[{where}] {describe(rule)} would shadow the managed rule(s) {names}; "
                "the managed rules are placed before it, so it only gets the requests they do not match"
            )
    ready = [(nodes[k][0], k) for k in range(len(nodes)) if blockers[k] == 0]
    heapq.heapify(ready)
    done: set[int] = set()
    order: list[tuple[int | None, dict[str, Any]]] = []
    while len(done) < len(nodes):
        if not ready:
            # The user's own order contradicts shadowing (a broad rule before a narrow one
            # that a managed rule also covers): give up one constraint, the earliest place.
            k = min((k for k in range(len(nodes)) if k not in done), key=lambda k: nodes[k][0])
            messages.append(
                f"the user's rule {describe(nodes[k][1])} is placed where its order conflicts with "
                "the rules around it; check the ingress order"
            )
            blockers[k] = 0
            ready.append((nodes[k][0], k))
        _, k = heapq.heappop(ready)
        done.add(k)
        rule = nodes[k][1]
        order.append((where_from[k], rule))
        for b in after[k]:
            blockers[b] -= 1
            if blockers[b] == 0 and b not in done:
                heapq.heappush(ready, (nodes[b][0], b))
    return order


def stay_in_place(origins: Sequence[int | None], is_user: Callable[[int], bool]) -> list[int]:
    """The input rules that can keep their place: the heaviest increasing run of *origins*.

    A text diff of a list sees a move as a deletion and an insertion, and the moved
    entry's comments go with the deletion. Removing first the rules that must move, then
    inserting them where they belong, lets every other rule keep its lines; the user's
    own rules weigh more, so it is the managed rules that move around them.
    """
    seq = [(o, 1000 if is_user(o) else 1) for o in origins if o is not None]
    best = [w for _, w in seq]
    back: list[int | None] = [None] * len(seq)
    for k, (o, w) in enumerate(seq):
        for j in range(k):
            if seq[j][0] < o and best[j] + w > best[k]:
                best[k], back[k] = best[j] + w, j
    if not seq:
        return []
    at: int | None = max(range(len(seq)), key=lambda k: best[k])
    kept: list[int] = []
    while at is not None:
        kept.append(seq[at][0])
        at = back[at]
    return kept[::-1]
