"""The pure rule-list logic: matching, validation as cloudflared does it, ordering."""

from __future__ import annotations

from typing import Any

import pytest

from krmfn.api.tunnelservice import service_problem
from krmfn.concerns.tunnelrules import (
    ManagedDomain,
    describe,
    first_match_covers,
    host_covers,
    hostname_problem,
    is_catch_all,
    nested_first,
    path_problem,
    plan,
    rule_problems,
    stay_in_place,
    take_over,
)

SVC = "https://envoy-external.network.svc.cluster.local:443"


def managed(name: str) -> ManagedDomain:
    origin = {"originServerName": f"external.{name}"}
    return ManagedDomain(
        name,
        {"hostname": name, "originRequest": dict(origin), "service": SVC},
        {"hostname": f"*.{name}", "originRequest": dict(origin), "service": SVC},
    )


def never_owned(rule: dict[str, Any]) -> bool:
    return False


def hosts(rules: list[Any]) -> list[str]:
    return [r.get("hostname", "<catch-all>") + (f" {r['path']}" if "path" in r else "") for r in rules]


@pytest.mark.parametrize(
    ("outer", "inner", "expected"),
    [
        ("*.example.com", "a.example.com", True),
        ("*.example.com", "a.b.example.com", True),  # cloudflared: a plain suffix match
        ("*.example.com", "example.com", False),
        ("*.example.com", "badexample.com", False),  # the dot is part of the suffix
        ("*.example.com", "*.staging.example.com", True),
        ("*.example.com", "*.example.com", True),
        ("*.staging.example.com", "*.example.com", False),
        ("example.com", "example.com", True),
        ("example.com", "EXAMPLE.com", True),
        ("example.com", "*.example.com", False),
        ("", "anything.org", True),
        ("a.com", "", False),
    ],
)
def test_host_covers(outer: str, inner: str, expected: bool) -> None:
    assert host_covers(outer, inner) is expected


def test_first_match_covers_takes_paths_into_account() -> None:
    wild = {"hostname": "*.example.com"}
    assert first_match_covers(wild, {"hostname": "a.example.com", "path": "^/api"})
    assert not first_match_covers({"hostname": "*.example.com", "path": "^/api"}, {"hostname": "a.example.com"})
    same_path = {"hostname": "a.example.com", "path": "^/x"}
    assert first_match_covers(same_path, dict(same_path))


def test_catch_all_and_describe() -> None:
    assert is_catch_all({"service": "http_status:404"})
    assert is_catch_all({"hostname": "*", "service": "http_status:404"})
    assert not is_catch_all({"path": "^/health", "service": "http://x:80"})
    assert describe({"hostname": "a.com", "path": "^/x", "service": "s"}) == "`hostname: a.com, path: ^/x`"
    assert describe({"service": "http_status:404"}) == "`service: http_status:404`"
    assert describe("text") == "'text'"


@pytest.mark.parametrize(
    ("host", "problem"),
    [
        ("example.com", None),
        ("*.example.com", None),
        ("*", None),
        ("*.${SECRET_DOMAIN}", None),
        ("app.{{ .Values.domain }}", None),
        (None, None),
        ("example.com:8443", "must not have a port"),
        ("https://example.com", "must not have a scheme"),
        ("example.com/api", "must not have a path"),
        ("a.*.example.com", "only as its whole first label"),
        ("*example.com", "only as its whole first label"),
        ("**.example.com", "only as its whole first label"),
        (42, "must be a string"),
    ],
)
def test_hostname_problem(host: Any, problem: str | None) -> None:
    found = hostname_problem(host)
    assert (found is None) if problem is None else (found is not None and problem in found)


@pytest.mark.parametrize(
    ("service", "problem"),
    [
        ("https://envoy-external.network.svc.cluster.local:443", None),
        ("https://envoy-external.{{ .Release.Namespace }}.svc.cluster.local:443", None),
        ("http_status:404", None),
        ("{{ .Values.origin }}", None),
        ("${ORIGIN}", None),
        ("hello_world", None),
        ("unix:/run/app.sock", None),
        ("tcp://db.internal:5432", None),
        ("http_status:four", "must be `http_status:` and a number"),
        ("https://svc.local:443/api", "must not have a path"),
        ("envoy-external:443", "must be a URL with a scheme and a hostname"),
        ("https://[::1", "must be a URL with a scheme and a hostname"),
        ("", "must have a `service`"),
        (None, "must have a `service`"),
    ],
)
def test_service_problem(service: Any, problem: str | None) -> None:
    found = service_problem(service)
    assert (found is None) if problem is None else (found is not None and problem in found)


@pytest.mark.parametrize(
    "path",
    [
        None,
        "",
        "^/api/.*$",
        r"^/static/\d+\.png\z",  # \z: RE2 only
        r"^/\pL+$",
        r"^/\p{Greek}[\pN]$",
        r"\x{263a}",
        r"\Qa.b*c\E/x",
        r"\Qunterminated",
        r"(?i)^/Admin",
        r"(?i:foo)bar",
        r"(?U)a+b",
        r"(?<name>x)",
        r"(?P<name>x)",
        r"[[:alpha:]]+",
        r"[[:a]",
        r"[]a]",
        r"[^]a]",
        r"\012",  # octal in RE2, a back-reference in Python
        r"a{2,5}",
        r"a{,5}",  # not a repeat in RE2: literal text
        r"a*?b+?",
        r"\.\/",
    ],
)
def test_path_valid_in_re2(path: Any) -> None:
    assert path_problem(path) is None


@pytest.mark.parametrize(
    ("path", "problem"),
    [
        (r"(?=x)", "look-around"),
        (r"a(?<!b)", "look-around"),
        (r"(a)\1", "back-reference"),
        (r"\8", "back-reference"),
        (r"(?>a)", "does not support"),
        (r"(?P=name)", "does not support"),
        (r"(?x)a b", "flag group"),
        (r"a++", "stacks repetition"),
        (r"a*+", "stacks repetition"),
        (r"a{2}{3}", "stacks repetition"),
        (r"a{1001}", "over RE2's limit"),
        (r"\x{zz}", "invalid `\\x{…}` escape"),
        (r"(unclosed", "valid regular expression"),
        (r"*a", "valid regular expression"),
        (r"[a-", "valid regular expression"),
        (42, "must be a string"),
    ],
)
def test_path_invalid_in_re2(path: Any, problem: str) -> None:
    found = path_problem(path)
    assert found is not None
    assert problem in found


def test_rule_problems() -> None:
    assert rule_problems("x", 0, 1) == ["must be a mapping with `hostname`, `path` and `service`, not 'x'"]
    assert rule_problems({"service": "http_status:404"}, 0, 2)[0].startswith("matches every hostname")
    assert rule_problems({"service": "http_status:404"}, 1, 2) == []
    both = rule_problems({"hostname": "a.com:80", "path": "(?=x)", "service": "https://x/y"}, 0, 2)
    assert len(both) == 3


def test_nested_first_keeps_order_otherwise() -> None:
    def under(a: str, b: str) -> bool:
        return a.endswith("." + b)

    assert nested_first(["example.com", "example.org", "staging.example.com", "a.staging.example.com"], under) == [
        "a.staging.example.com",
        "staging.example.com",
        "example.com",
        "example.org",
    ]
    assert nested_first(["a.b.com", "b.com"], under) == ["a.b.com", "b.com"]


def test_plan_fresh_list_gets_managed_rules_and_a_catch_all() -> None:
    p = plan([], [managed("example.com")], never_owned, "http_status:404")
    assert hosts(p.rules) == ["example.com", "*.example.com", "<catch-all>"]
    assert p.rules[-1] == {"service": "http_status:404"}
    assert p.added == ["example.com", "*.example.com"]


def test_plan_inserts_the_apex_before_an_existing_wildcard() -> None:
    m = managed("example.com")
    p = plan([dict(m.wildcard), {"service": "http_status:404"}], [m], never_owned, "http_status:404")
    assert hosts(p.rules) == ["example.com", "*.example.com", "<catch-all>"]
    assert p.added == ["example.com"]
    assert p.updated == []


def test_plan_keeps_user_rules_in_order_and_in_place() -> None:
    ingress = [
        {"hostname": "grafana.other.net", "service": "http://grafana:80"},
        {"hostname": "ssh.other.net", "service": "ssh://host:22"},
        {"service": "http_status:503"},
    ]
    p = plan(ingress, [managed("example.com")], never_owned, "http_status:404")
    assert hosts(p.rules) == ["grafana.other.net", "ssh.other.net", "example.com", "*.example.com", "<catch-all>"]
    assert p.rules[-1] == {"service": "http_status:503"}
    assert p.warnings == []


def test_plan_keeps_a_user_rule_before_the_wildcard_that_would_shadow_it() -> None:
    ingress = [
        {"hostname": "*.example.com", "service": SVC},
        {"hostname": "legacy.example.com", "service": "http://legacy:80"},
        {"hostname": "example.com", "path": "^/api", "service": "http://api:80"},
    ]
    p = plan(ingress, [managed("example.com")], never_owned, "http_status:404")
    assert hosts(p.rules) == ["legacy.example.com", "example.com ^/api", "example.com", "*.example.com", "<catch-all>"]
    assert len(p.warnings) == 2
    assert "legacy.example.com" in p.warnings[0]
    assert "`*.example.com`" in p.warnings[0]
    assert "`example.com`" in p.warnings[1]


def test_plan_puts_managed_rules_before_a_user_rule_that_would_shadow_them() -> None:
    ingress = [{"hostname": "*.example.org", "service": "http://other:80"}, {"service": "http_status:404"}]
    p = plan(ingress, [managed("shop.example.org")], never_owned, "http_status:404")
    assert hosts(p.rules) == ["shop.example.org", "*.shop.example.org", "*.example.org", "<catch-all>"]
    assert len(p.warnings) == 1
    assert "would shadow the managed rule(s) `shop.example.org`, `*.shop.example.org`" in p.warnings[0]


def test_plan_orders_nested_domains_even_when_written_the_other_way() -> None:
    parent, child = managed("example.com"), managed("staging.example.com")
    ingress = [dict(parent.apex), dict(parent.wildcard), dict(child.apex), dict(child.wildcard)]
    p = plan(ingress, [child, parent], never_owned, "http_status:404")
    assert hosts(p.rules)[:4] == ["staging.example.com", "*.staging.example.com", "example.com", "*.example.com"]


def test_plan_drops_owned_rules_and_duplicates() -> None:
    m = managed("example.com")
    ingress = [
        dict(m.apex),
        {"hostname": "example.com", "service": SVC},
        {"hostname": "*.gone.net", "originRequest": {"originServerName": "external.gone.net"}, "service": SVC},
        dict(m.wildcard),
    ]
    p = plan(ingress, [m], lambda rule: rule.get("hostname") == "*.gone.net", "http_status:404")
    assert hosts(p.rules) == ["example.com", "*.example.com", "<catch-all>"]
    assert p.removed == ["*.gone.net"]
    assert "repeats a managed hostname" in p.warnings[0]


def test_plan_takes_over_a_rule_of_its_own_convention_keeping_the_users_settings() -> None:
    m = managed("example.com")
    old = {
        "hostname": "*.example.com",
        "originRequest": {"noTLSVerify": True, "originServerName": "external.other.com"},
        "service": "http://old:80",
    }
    p = plan([dict(m.apex), old], [m], lambda rule: rule is old, "http_status:404")
    assert p.updated == ["*.example.com"]
    assert p.infos == []
    assert p.rules[1] == {
        "hostname": "*.example.com",
        "originRequest": {"noTLSVerify": True, "originServerName": "external.example.com"},
        "service": SVC,
    }


def test_plan_leaves_the_users_rule_for_a_managed_hostname_as_written() -> None:
    m = managed("example.com")
    apex = {
        "hostname": "example.com",
        "service": "https://root:443",
        "originRequest": {"originServerName": "example.com"},
    }
    p = plan([apex, dict(m.wildcard), {"service": "http_status:404"}], [m], never_owned, "http_status:404")
    assert p.rules[0] is apex
    assert p.added == p.updated == []
    (info,) = p.infos
    assert info.startswith("ingress[0] `hostname: example.com` is the user's rule for a managed hostname")
    assert "'https://root:443'" in info
    assert "'external.example.com'" in info
    assert 0 in p.user_rules


def test_plan_adds_only_the_missing_rule_beside_a_users_rule() -> None:
    m = managed("example.com")
    wildcard = {"hostname": "*.example.com", "service": "http://mine:80"}
    p = plan([wildcard], [m], never_owned, "http_status:404")
    assert hosts(p.rules) == ["example.com", "*.example.com", "<catch-all>"]
    assert p.rules[1] is wildcard
    assert p.added == ["example.com"]


@pytest.mark.parametrize(
    ("old", "wanted", "expected"),
    [
        # the user's keys stay, krmfn's are set, in the place the user had them
        (
            {"hostname": "a", "originRequest": {"originServerName": "x", "noTLSVerify": True}, "service": "s"},
            {"hostname": "a", "originRequest": {"originServerName": "y"}, "service": "t"},
            {"hostname": "a", "originRequest": {"originServerName": "y", "noTLSVerify": True}, "service": "t"},
        ),
        # no origin server name wanted (nothing serves one): the old one goes
        (
            {"hostname": "a", "originRequest": {"originServerName": "x"}, "service": "s"},
            {"hostname": "a", "service": "s"},
            {"hostname": "a", "service": "s"},
        ),
        # must not change: nothing to set
        (
            {"hostname": "a", "service": "s", "access": {"required": True}},
            {"hostname": "a", "service": "s"},
            {"hostname": "a", "service": "s", "access": {"required": True}},
        ),
    ],
)
def test_take_over(old: dict[str, Any], wanted: dict[str, Any], expected: dict[str, Any]) -> None:
    merged = take_over(old, wanted)
    assert merged == expected
    assert list(merged) == list(expected)
    assert list(merged.get("originRequest", {})) == list(expected.get("originRequest", {}))


def test_plan_refuses_invalid_user_rules() -> None:
    ingress = [
        {"service": "http_status:404"},
        {"hostname": "a.example.net:8443", "service": "http://a:80"},
        {"service": "http_status:404"},
    ]
    p = plan(ingress, [managed("example.com")], never_owned, "http_status:404")
    assert p.rules == []
    assert len(p.errors) == 2
    assert p.errors[0].startswith("ingress[0] `service: http_status:404` matches every hostname")
    assert p.errors[1].startswith("ingress[1] `hostname: a.example.net:8443` `hostname` must not have a port")


def test_plan_survives_a_user_order_that_contradicts_shadowing() -> None:
    # The user's broad `*.org` comes before their narrow `a.x.org`, which the managed `*.x.org`
    # would shadow: not every constraint can hold, but every rule is still written once.
    ingress = [
        {"hostname": "*.org", "service": "http://a:80"},
        {"hostname": "a.x.org", "service": "http://b:80"},
    ]
    p = plan(ingress, [managed("x.org")], never_owned, "http_status:404")
    assert sorted(hosts(p.rules)) == sorted(["*.org", "a.x.org", "x.org", "*.x.org", "<catch-all>"])
    assert any("conflicts" in w for w in p.warnings)


def test_plan_is_idempotent() -> None:
    ingress = [
        {"hostname": "legacy.example.com", "service": "http://legacy:80"},
        {"hostname": "*.example.org", "service": "http://other:80"},
        {"service": "http_status:404"},
    ]
    domains = [managed("staging.example.com"), managed("example.com"), managed("shop.example.org")]
    first = plan(ingress, domains, never_owned, "http_status:404")
    second = plan(first.rules, domains, never_owned, "http_status:404")
    assert second.rules == first.rules
    assert second.added == second.updated == second.removed == []


def test_stay_in_place_prefers_the_users_rules() -> None:
    # Managed rule 0 must move after the user's rule 1: the user's rule stays, rule 0 moves.
    assert stay_in_place([5, 1, 0, 2, 3], lambda i: i in (1, 2, 3)) == [1, 2, 3]
    assert stay_in_place([None, 0, 1], lambda i: False) == [0, 1]
    assert stay_in_place([None, None], lambda i: True) == []


def test_a_rule_that_inherits_the_managed_settings_from_the_top_level_reads_the_same() -> None:
    """phycoforce/home-ops: `*.<domain>` without its own originRequest inherits the top-level SNI."""
    m = managed("example.com")
    wildcard = {"hostname": "*.example.com", "service": SVC}
    defaults = {"http2Origin": True, "originServerName": "external.example.com"}
    p = plan([wildcard], [m], never_owned, "http_status:404", defaults)
    assert p.rules[1] is wildcard
    assert p.infos == []
    other = plan([wildcard], [m], never_owned, "http_status:404", {"originServerName": "elsewhere.example.com"})
    assert "origin server name 'elsewhere.example.com'" in other.infos[0]
