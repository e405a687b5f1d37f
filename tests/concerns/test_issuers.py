"""ClusterIssuer DNS-01 zones (SPEC §3): patching, generating, and cert-manager's solver choice."""

from __future__ import annotations

from typing import Any

import pytest
from conftest import expand_yaml, messages
from crdschema import assert_manifests_valid
from manifests import CLUSTER_ISSUER, EDGE_BLOCK, certificates, multidomain

from krmfn.api.config import load_config
from krmfn.concerns.issuers import SERVERS, pick_solver, zone_key
from krmfn.errors import ConfigError
from krmfn.expand import Expansion
from krmfn.krm.yamltext import load

SUBST = {"SECRET_DOMAIN": "example.com"}


def config(domains: str = "    - name: ${SECRET_DOMAIN}\n    - name: example.org\n", issuers: str | None = None) -> str:
    issuers = issuers if issuers is not None else "    - name: letsencrypt-production\n"
    return multidomain(
        "  domains:\n" + domains,
        certificates(issuer="{name: letsencrypt-production, kind: ClusterIssuer}", suffix="production"),
        "  issuers:\n" + issuers,
        metadata=EDGE_BLOCK,
    )


TEMPLATE_ISSUER = "---\n" + CLUSTER_ISSUER


ISSUER_HEAD = "apiVersion: cert-manager.io/v1\nkind: ClusterIssuer\nmetadata:\n  name: letsencrypt-production\nspec:\n"


def of_kind(exp: Expansion, kind: str) -> list[dict[str, Any]]:
    return [i.data for i in exp.items if i.header.kind == kind]


def stream(exp: Expansion) -> str:
    return "".join("---\n" + item.text for item in exp.items)


def issuer_text(exp: Expansion, name: str = "letsencrypt-production") -> str:
    return next(i.text for i in exp.items if i.header.kind in ("ClusterIssuer", "Issuer") and i.header.name == name)


def zones(exp: Expansion, name: str = "letsencrypt-production") -> list[Any]:
    data = next(d for d in of_kind(exp, "ClusterIssuer") if d["metadata"]["name"] == name)
    return [s.get("selector", {}).get("dnsZones") for s in data["spec"]["acme"]["solvers"]]


def solvers_issuer(solvers: str) -> str:
    return (
        "apiVersion: cert-manager.io/v1\nkind: ClusterIssuer\nmetadata:\n  name: letsencrypt-production\n"
        "spec:\n  acme:\n    server: https://acme-v02.api.letsencrypt.org/directory\n"
        "    privateKeySecretRef: {name: letsencrypt-production}\n    solvers:\n" + solvers
    )


# --- patching ------------------------------------------------------------------------


def test_template_issuer_gets_the_second_zone_keeping_comments_and_quotes() -> None:
    exp = expand_yaml(config(), TEMPLATE_ISSUER)
    text = issuer_text(exp)
    assert 'dnsZones: ["${SECRET_DOMAIN}", "example.org"]  # the only zone' in text
    assert "# cert-manager ClusterIssuer, as cluster-template writes it" in text
    assert text.replace('["${SECRET_DOMAIN}", "example.org"]', '["${SECRET_DOMAIN}"]') == TEMPLATE_ISSUER.removeprefix(
        "---\n"
    )
    infos = messages(exp, "info")
    assert (
        "patched ClusterIssuer letsencrypt-production: set the DNS-01 solvers' `selector.dnsZones`; "
        "it serves solver [0] (cloudflare): ${SECRET_DOMAIN}, example.org"
    ) in infos
    [warning] = messages(exp, "warning")
    assert "Cloudflare API token in Secret cert-manager-secret (key api-token)" in warning
    assert "(${SECRET_DOMAIN}, example.org)" in warning
    assert messages(exp, "error") == []


def test_patched_issuer_validates_against_the_crd() -> None:
    exp = expand_yaml(config(), TEMPLATE_ISSUER)
    assert_manifests_valid(stream(exp), substitutions=SUBST, allow_unknown_kinds=False)


def test_running_on_the_output_changes_nothing() -> None:
    first = expand_yaml(config(), TEMPLATE_ISSUER)
    again = expand_yaml(config(), stream(first))
    assert stream(again) == stream(first)
    assert not any(m.startswith("patched") for m in messages(again, "info"))


def test_issuer_already_listing_every_zone_comes_out_byte_identical() -> None:
    exp = expand_yaml(config("    - name: ${SECRET_DOMAIN}\n"), TEMPLATE_ISSUER)
    assert issuer_text(exp) == TEMPLATE_ISSUER.removeprefix("---\n")
    assert messages(exp, "warning") == []  # one zone: no token to widen
    assert "ClusterIssuer letsencrypt-production serves solver [0] (cloudflare): ${SECRET_DOMAIN}" in messages(
        exp, "info"
    )
    assert not any(m.startswith("patched") for m in messages(exp, "info"))


def test_other_solvers_and_selectors_are_left_alone() -> None:
    issuer = solvers_issuer(
        "      - http01: {ingress: {ingressClassName: nginx}}\n"
        "      - dns01: {route53: {region: eu-west-1}}\n"
        "        selector: {dnsNames: [special.example.org]}\n"
        "      - dns01: {route53: {region: eu-west-1}}\n"
        "        selector: {matchLabels: {team: a}}\n"
        "      - dns01: {cloudflare: {apiTokenSecretRef: {name: cf, key: token}}}\n"
    )
    exp = expand_yaml(config("    - name: example.com\n    - name: example.org\n"), issuer)
    assert zones(exp) == [None, None, None, ["example.com", "example.org"]]
    data = of_kind(exp, "ClusterIssuer")[0]
    solvers = data["spec"]["acme"]["solvers"]
    assert solvers[1]["selector"] == {"dnsNames": ["special.example.org"]}
    assert solvers[2]["selector"] == {"matchLabels": {"team": "a"}}
    assert solvers[0] == {"http01": {"ingress": {"ingressClassName": "nginx"}}}
    assert messages(exp, "error") == []


TWO_PROVIDERS = solvers_issuer(
    "      - dns01: {cloudflare: {apiTokenSecretRef: {name: cf, key: token}}}\n"
    "        selector: {dnsZones: [example.com]}\n"
    "      - dns01: {route53: {region: eu-west-1}}\n"
    "        selector: {dnsZones: [example.net]}\n"
)


def test_a_zone_stays_with_the_solver_that_lists_it_and_new_zones_go_to_the_primary_ones() -> None:
    domains = "    - name: example.com\n    - name: example.net\n    - name: example.org\n"
    exp = expand_yaml(config(domains), TWO_PROVIDERS)
    assert zones(exp) == [["example.com", "example.org"], ["example.net"]]
    infos = messages(exp, "info")
    assert any(
        "solver [0] (cloudflare): example.com, example.org; solver [1] (route53): example.net" in m for m in infos
    )


@pytest.mark.parametrize("choice", ["route53", "1"])
def test_a_domain_can_choose_its_solver_by_provider_or_index(choice: str) -> None:
    domains = f"    - name: example.com\n    - name: example.org\n      solver: {choice}\n"
    exp = expand_yaml(config(domains), TWO_PROVIDERS)
    # example.net is no domain of the config any more: dropped with a warning
    assert zones(exp) == [["example.com"], ["example.org"]]
    assert any("removed zone(s) example.net" in m for m in messages(exp, "warning"))


def test_a_solver_left_with_only_moved_zones_is_kept_with_a_warning() -> None:
    domains = "    - name: example.com\n    - name: example.net\n      solver: cloudflare\n"
    exp = expand_yaml(config(domains), TWO_PROVIDERS)
    assert zones(exp) == [["example.com", "example.net"], ["example.net"]]
    assert any("lists only zones now served by another solver (example.net)" in m for m in messages(exp, "warning"))


def test_a_solver_serving_nothing_keeps_its_other_zones() -> None:
    issuer = solvers_issuer(
        "      - dns01: {cloudflare: {apiTokenSecretRef: {name: cf, key: token}}}\n"
        "        selector: {dnsZones: [example.com]}\n"
        "      - dns01: {route53: {region: eu-west-1}}\n"
        "        selector: {dnsZones: [example.org, legacy.net]}\n"
        "      - dns01: {webhook: {groupName: acme.example, solverName: x}}\n"
    )
    domains = "    - name: example.com\n    - name: example.org\n      solver: cloudflare\n"
    exp = expand_yaml(config(domains), issuer)
    assert zones(exp) == [["example.com", "example.org"], ["legacy.net"], None]


def test_a_solver_without_selector_gets_one() -> None:
    issuer = solvers_issuer("      - dns01: {cloudflare: {apiTokenSecretRef: {name: cf, key: token}}}\n")
    exp = expand_yaml(config("    - name: example.com\n"), issuer)
    assert zones(exp) == [["example.com"]]
    assert messages(exp, "error") == []


def test_zones_are_compared_without_case_or_trailing_dot() -> None:
    issuer = solvers_issuer(
        "      - dns01: {cloudflare: {apiTokenSecretRef: {name: cf, key: token}}}\n"
        "        selector: {dnsZones: [Example.COM.]}\n"
    )
    exp = expand_yaml(config("    - name: example.com\n"), issuer)
    assert zones(exp) == [["example.com"]]
    assert not any("removed" in m for m in messages(exp, "warning"))


@pytest.mark.parametrize(
    ("solvers", "domains", "expected"),
    [
        (
            "      - dns01: {cloudflare: {apiTokenSecretRef: {name: cf, key: token}}}\n"
            "        selector: {dnsZones: [a.net]}\n"
            "      - dns01: {route53: {region: eu-west-1}}\n",
            "    - name: example.com\n",
            "has 2 DNS-01 solvers and none lists the primary zone example.com, so example.com has no default; "
            "set `spec.domains[0].solver`",
        ),
        (
            "      - http01: {ingress: {ingressClassName: nginx}}\n",
            "    - name: example.com\n",
            "must have a DNS-01 solver that selects by `dnsZones` only (or none at all) to serve example.com; "
            "it has none",
        ),
        (
            "      - dns01: {cloudflare: {apiTokenSecretRef: {name: cf, key: token}}}\n",
            "    - name: example.com\n      solver: 3\n",
            "`spec.domains[0].solver` must be the index of a DNS-01 solver of ClusterIssuer letsencrypt-production; "
            "3 is not (it has 1 solver(s))",
        ),
        (
            "      - http01: {ingress: {ingressClassName: nginx}}\n",
            "    - name: example.com\n      solver: 0\n",
            "0 is not (that one is not a DNS-01 solver selecting by `dnsZones` only)",
        ),
        (
            "      - dns01: {cloudflare: {apiTokenSecretRef: {name: cf, key: token}}}\n",
            "    - name: example.com\n      solver: route53\n",
            "must name a provider of exactly one DNS-01 solver of ClusterIssuer letsencrypt-production; "
            "'route53' is the provider of 0 (write the solver's index instead)",
        ),
    ],
)
def test_a_zone_without_a_solver_is_an_error(solvers: str, domains: str, expected: str) -> None:
    issuer = solvers_issuer(solvers)
    exp = expand_yaml(config(domains), issuer)
    assert any(expected in m for m in messages(exp, "error")), messages(exp, "error")
    assert issuer_text(exp) == issuer  # nothing half-done


def test_a_non_acme_issuer_cannot_list_zones() -> None:
    issuer = ISSUER_HEAD + "  selfSigned: {}\n"
    exp = expand_yaml(config(), issuer)
    assert any("must be an ACME issuer with `spec.acme.solvers`" in m for m in messages(exp, "error"))


OTHER = "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: other\ndata: {a: b}\n"


def test_a_missing_issuer_without_acme_is_an_error() -> None:
    exp = expand_yaml(config(), OTHER)
    assert any(
        "ClusterIssuer letsencrypt-production named in `spec.issuers[0]` must be in the input" in m
        for m in messages(exp, "error")
    )


def test_generator_mode_skips_the_patch_with_one_warning() -> None:
    exp = expand_yaml(config(issuers="    - name: letsencrypt-production\n" + GENERATE.split("\n", 5)[5]), "")
    assert messages(exp, "error") == []
    assert any(m.startswith("generator mode:") for m in messages(exp, "warning"))
    assert [d["metadata"]["name"] for d in of_kind(exp, "ClusterIssuer")] == ["letsencrypt-staging"]


def test_issuer_names_must_not_repeat() -> None:
    exp = expand_yaml(
        config(issuers="    - name: letsencrypt-production\n    - name: letsencrypt-production\n"), TEMPLATE_ISSUER
    )
    assert "`spec.issuers[1].name` must not repeat issuer 'letsencrypt-production'" in messages(exp, "error")


def test_solver_needs_the_issuer_in_spec_issuers() -> None:
    exp = expand_yaml(config("    - name: example.com\n      solver: cloudflare\n", issuers="    - name: other\n"), "")
    assert any(
        "`spec.domains[0].solver` must only be set when the domain's issuer" in m for m in messages(exp, "error")
    )


def test_a_namespaced_issuer_is_patched_in_the_certificate_namespace() -> None:
    cfg = config("    - name: example.com\n    - name: example.org\n").replace("kind: ClusterIssuer}", "kind: Issuer}")
    issuer = solvers_issuer("      - dns01: {cloudflare: {apiTokenSecretRef: {name: cf, key: token}}}\n").replace(
        "kind: ClusterIssuer\nmetadata:\n", "kind: Issuer\nmetadata:\n  namespace: network\n"
    )
    exp = expand_yaml(cfg, issuer)
    data = of_kind(exp, "Issuer")[0]
    assert data["spec"]["acme"]["solvers"][0]["selector"] == {"dnsZones": ["example.com", "example.org"]}


def test_sops_encrypted_issuer_is_refused() -> None:
    issuer = TEMPLATE_ISSUER + "sops:\n  mac: ENC[AES256_GCM,data:x]\n  version: 3.9.0\n"
    exp = expand_yaml(config(), issuer)
    assert any("is SOPS-encrypted and must not be modified" in m for m in messages(exp, "error"))
    assert issuer_text(exp) == issuer.removeprefix("---\n")


# --- generating ----------------------------------------------------------------------

GENERATE = """\
    - name: letsencrypt-production
      acme:
        email: ops@example.org
        profile: shortlived
        solver: {cloudflare: {apiTokenSecretRef: {name: cert-manager-secret, key: api-token}}}
    - name: letsencrypt-staging
      acme:
        server: staging
        email: ops@example.org
        solver: {cloudflare: {apiTokenSecretRef: {name: cert-manager-secret, key: api-token}}}
"""


def test_staging_and_production_issuers_are_generated_from_one_config() -> None:
    exp = expand_yaml(config(issuers=GENERATE), "")
    production, staging = of_kind(exp, "ClusterIssuer")
    assert production == {
        "apiVersion": "cert-manager.io/v1",
        "kind": "ClusterIssuer",
        "metadata": {
            "name": "letsencrypt-production",
            "annotations": production["metadata"]["annotations"],
        },
        "spec": {
            "acme": {
                "server": "https://acme-v02.api.letsencrypt.org/directory",
                "email": "ops@example.org",
                "profile": "shortlived",
                "privateKeySecretRef": {"name": "letsencrypt-production"},
                "solvers": [
                    {
                        "dns01": {
                            "cloudflare": {"apiTokenSecretRef": {"name": "cert-manager-secret", "key": "api-token"}}
                        },
                        "selector": {"dnsZones": ["${SECRET_DOMAIN}", "example.org"]},
                    }
                ],
            }
        },
    }
    assert production["metadata"]["annotations"]["krmfn.dev/owned-by"] == "MultiDomain/edge"
    # The staging twin is used by no domain yet, so it serves every zone and is ready to switch to.
    assert staging["spec"]["acme"]["server"] == SERVERS["staging"]
    assert staging["spec"]["acme"]["privateKeySecretRef"] == {"name": "letsencrypt-staging"}
    assert "profile" not in staging["spec"]["acme"]
    assert staging["spec"]["acme"]["solvers"][0]["selector"]["dnsZones"] == ["${SECRET_DOMAIN}", "example.org"]
    assert messages(exp, "error") == []
    assert_manifests_valid(stream(exp), substitutions=SUBST, allow_unknown_kinds=False)


def test_generated_issuers_are_idempotent() -> None:
    first = expand_yaml(config(issuers=GENERATE), "")
    again = expand_yaml(config(issuers=GENERATE), stream(first))
    assert stream(again) == stream(first)
    assert any("0 generated, 0 updated, 4 unchanged, 0 pruned, 0 patched" in m for m in messages(again, "info"))


def test_an_issuer_serves_only_the_domains_that_use_it() -> None:
    issuers = """\
    - name: letsencrypt-production
      acme:
        email: ops@example.org
        server: https://acme.example/directory
        solver: {cloudflare: {apiTokenSecretRef: {name: cf, key: token}}}
    - name: route53
      acme:
        email: ops@example.org
        solver: {route53: {region: eu-west-1}, cnameStrategy: Follow}
"""
    domains = "    - name: example.com\n    - name: example.net\n      issuer: route53\n      solver: route53\n"
    exp = expand_yaml(config(domains, issuers), "")
    assert zones(exp) == [["example.com"]]
    assert zones(exp, "route53") == [["example.net"]]
    production = of_kind(exp, "ClusterIssuer")[0]
    assert production["spec"]["acme"]["server"] == "https://acme.example/directory"
    route53 = of_kind(exp, "ClusterIssuer")[1]
    assert route53["spec"]["acme"]["solvers"][0]["dns01"] == {
        "route53": {"region": "eu-west-1"},
        "cnameStrategy": "Follow",
    }
    assert messages(exp, "warning") == []
    assert messages(exp, "error") == []


def test_a_generated_issuer_has_one_solver_to_choose() -> None:
    domains = "    - name: example.com\n      solver: route53\n"
    exp = expand_yaml(config(domains, GENERATE), "")
    assert any("`spec.domains[0].solver` must be 0 or 'cloudflare'" in m for m in messages(exp, "error"))
    # the spare staging issuer serves the zone with its own solver: the choice is not its business
    assert [d["metadata"]["name"] for d in of_kind(exp, "ClusterIssuer")] == ["letsencrypt-staging"]


def test_a_namespaced_issuer_is_generated_in_the_certificate_namespace() -> None:
    cfg = config(issuers=GENERATE).replace("kind: ClusterIssuer}", "kind: Issuer}")
    exp = expand_yaml(cfg, "")
    assert [(d["kind"], d["metadata"]["namespace"]) for d in of_kind(exp, "Issuer")] == [("Issuer", "network")] * 2
    assert_manifests_valid(stream(exp), substitutions=SUBST, allow_unknown_kinds=False)


def test_an_issuer_in_the_input_is_patched_even_with_acme_given() -> None:
    exp = expand_yaml(config(issuers=GENERATE), TEMPLATE_ISSUER)
    text = issuer_text(exp)
    assert "krmfn.dev/owned-by" not in text
    assert '["${SECRET_DOMAIN}", "example.org"]' in text


# --- config validation ----------------------------------------------------------------


@pytest.mark.parametrize(
    ("issuers", "problem"),
    [
        (
            "    - name: x\n      acme: {email: a@b.cd, solver: {cloudflare: {}, route53: {}}}\n",
            "spec.issuers[0].acme.solver: must hold exactly one DNS-01 provider",
        ),
        (
            "    - name: x\n      acme: {email: a@b.cd, solver: {http01: {}}}\n",
            "and `cnameStrategy` only; not 'http01'",
        ),
        (
            "    - name: x\n      acme: {email: a@b.cd, server: http://x, solver: {cloudflare: {}}}\n",
            "must be `production`",
        ),
    ],
)
def test_bad_acme_config_is_reported_with_its_path(issuers: str, problem: str) -> None:
    with pytest.raises(ConfigError) as info:
        load_config(load(config(issuers=issuers)))
    assert problem in str(info.value)


@pytest.mark.parametrize("value", ["foo", "true", "-1", "[1]"])
def test_bad_solver_choice_is_reported_with_its_path(value: str) -> None:
    with pytest.raises(ConfigError) as info:
        load_config(load(config(f"    - name: example.com\n      solver: {value}\n")))
    assert "spec.domains[0].solver: must be an index into the issuer's `spec.acme.solvers` or one of" in str(info.value)


# --- cert-manager's choice -----------------------------------------------------------


def test_an_unlisted_issuer_in_the_input_is_checked_too() -> None:
    issuer = solvers_issuer(
        "      - dns01: {cloudflare: {apiTokenSecretRef: {name: cf, key: token}}}\n"
        "        selector: {dnsZones: [example.com]}\n"
    )
    exp = expand_yaml(
        config(
            "    - name: example.com\n    - name: example.org\n",
            issuers="    - name: other\n      acme: {email: a@b.cd, solver: {cloudflare: {}}}\n",
        ),
        issuer,
    )
    errors = messages(exp, "error")
    assert errors == [
        f"Certificate network/example-org-production must get a DNS-01 solver for {name!r} from ClusterIssuer "
        "letsencrypt-production, but none selects it (cert-manager would report 'no configured challenge solvers can "
        "be used for this challenge'); list its zone in a solver's `selector.dnsZones`, or add the issuer to "
        "`spec.issuers` so that krmfn does"
        for name in ("example.org", "*.example.org")
    ]
    fields = [r.field for r in exp.results if r.severity == "error"]
    assert fields == ["spec.dnsNames[0]", "spec.dnsNames[1]"]


def test_an_http01_solver_chosen_for_a_name_is_a_warning() -> None:
    issuer = solvers_issuer(
        "      - http01: {ingress: {ingressClassName: nginx}}\n"
        "        selector: {dnsNames: [example.com]}\n"
        "      - dns01: {cloudflare: {apiTokenSecretRef: {name: cf, key: token}}}\n"
        "        selector: {dnsZones: [example.com]}\n"
    )
    exp = expand_yaml(config("    - name: example.com\n"), issuer)
    assert messages(exp, "error") == []
    [warning] = messages(exp, "warning")
    assert "would solve 'example.com' with the HTTP-01 solver `spec.acme.solvers[0]`" in warning


def test_non_acme_and_absent_issuers_are_not_checked() -> None:
    ca = ISSUER_HEAD + "  ca: {secretName: ca}\n"
    other = "    - name: other\n      acme: {email: a@b.cd, solver: {cloudflare: {}}}\n"
    assert messages(expand_yaml(config(issuers=other), ca), "error") == []
    assert messages(expand_yaml(config(issuers=other), ""), "error") == []


CF: dict[str, Any] = {"dns01": {"cloudflare": {}}}
R53: dict[str, Any] = {"dns01": {"route53": {}}}
HTTP: dict[str, Any] = {"http01": {"ingress": {}}}


def sel(base: dict[str, Any], **selector: Any) -> dict[str, Any]:
    return {**base, "selector": selector}


@pytest.mark.parametrize(
    ("name", "solvers", "labels", "expected"),
    [
        # a zone covers its apex, every name below it, and its wildcard
        ("example.com", [sel(CF, dnsZones=["example.com"])], {}, 0),
        ("a.b.example.com", [sel(CF, dnsZones=["example.com"])], {}, 0),
        ("*.example.com", [sel(CF, dnsZones=["example.com"])], {}, 0),
        ("example.org", [sel(CF, dnsZones=["example.com"])], {}, None),
        ("notexample.com", [sel(CF, dnsZones=["example.com"])], {}, None),
        # a zone written as a wildcard matches neither apex nor normal names; a trailing dot never matches
        ("example.com", [sel(CF, dnsZones=["*.example.com"])], {}, None),
        ("a.example.com", [sel(CF, dnsZones=["*.example.com"])], {}, None),
        ("example.com", [sel(CF, dnsZones=["example.com."])], {}, None),
        ("EXAMPLE.com", [sel(CF, dnsZones=["example.COM"])], {}, 0),
        # the most specific zone wins, whatever the order
        ("www.sys.example.com", [sel(CF, dnsZones=["example.com"]), sel(R53, dnsZones=["sys.example.com"])], {}, 1),
        ("www.sys.example.com", [sel(R53, dnsZones=["sys.example.com"]), sel(CF, dnsZones=["example.com"])], {}, 0),
        # a dnsNames match beats any zone match; with both, zones and then labels decide
        ("a.example.com", [sel(CF, dnsZones=["a.example.com"]), sel(R53, dnsNames=["a.example.com"])], {}, 1),
        ("a.example.com", [sel(R53, dnsNames=["a.example.com"]), sel(CF, dnsZones=["a.example.com"])], {}, 0),
        (
            "a.example.com",
            [sel(R53, dnsNames=["a.example.com"]), sel(CF, dnsNames=["a.example.com"], dnsZones=["example.com"])],
            {},
            1,
        ),
        (
            "a.example.com",
            [sel(CF, dnsNames=["a.example.com"], dnsZones=["example.com"]), sel(R53, dnsNames=["a.example.com"])],
            {},
            0,
        ),
        (
            "a.example.com",
            [sel(CF, dnsNames=["a.example.com"]), sel(R53, dnsNames=["a.example.com"], matchLabels={"t": "x"})],
            {"t": "x"},
            1,
        ),
        (
            "a.example.com",
            [sel(CF, dnsNames=["a.example.com"], matchLabels={"t": "x"}), sel(R53, dnsNames=["a.example.com"])],
            {"t": "x"},
            0,
        ),
        # dnsNames are exact: they do not resolve wildcards
        ("*.example.com", [sel(CF, dnsNames=["a.example.com"])], {}, None),
        # a zone match beats a labels-only match; equal zones: more labels; then the earlier solver
        ("a.example.com", [sel(CF, matchLabels={"t": "x"}), sel(R53, dnsZones=["example.com"])], {"t": "x"}, 1),
        ("a.example.com", [sel(R53, dnsZones=["example.com"]), sel(CF, matchLabels={"t": "x"})], {"t": "x"}, 0),
        (
            "a.example.com",
            [sel(CF, dnsZones=["example.com"]), sel(R53, dnsZones=["example.com"], matchLabels={"t": "x"})],
            {"t": "x"},
            1,
        ),
        ("a.example.com", [sel(CF, dnsZones=["example.com"]), sel(R53, dnsZones=["example.com"])], {}, 0),
        # every label must match; more labels win among label-only matches
        ("a.example.com", [sel(CF, matchLabels={"t": "x", "u": "y"})], {"t": "x"}, None),
        (
            "a.example.com",
            [sel(CF, matchLabels={"t": "x"}), sel(R53, matchLabels={"t": "x", "u": "y"})],
            {"t": "x", "u": "y"},
            1,
        ),
        (
            "a.example.com",
            [sel(CF, matchLabels={"t": "x", "u": "y"}), sel(R53, matchLabels={"t": "x"})],
            {"t": "x", "u": "y"},
            0,
        ),
        ("a.example.com", [sel(CF), sel(R53)], {}, 0),
        # a solver without selector is the fallback, taken only when nothing was chosen before
        ("a.example.com", [CF, sel(R53, dnsZones=["example.com"])], {}, 1),
        ("a.example.com", [sel(R53, dnsZones=["example.com"]), CF], {}, 0),
        ("a.example.org", [sel(R53, dnsZones=["example.com"]), CF], {}, 1),
        ("a.example.org", [CF, R53], {}, 0),
        ("a.example.com", [CF, sel(R53, matchLabels={"t": "x"})], {"t": "x"}, 1),
        ("a.example.com", [CF, sel(R53)], {}, 0),
        # wildcards can only be solved by DNS-01
        ("*.example.com", [HTTP], {}, None),
        ("example.com", [HTTP], {}, 0),
        ("*.example.com", [HTTP, sel(CF, dnsZones=["example.com"])], {}, 1),
        # Flux variables are compared as text, label by label
        ("*.${SECRET_DOMAIN}", [sel(CF, dnsZones=["${SECRET_DOMAIN}"])], {}, 0),
        (
            "dev.${SECRET_DOMAIN}",
            [sel(CF, dnsZones=["${SECRET_DOMAIN}"]), sel(R53, dnsZones=["dev.${SECRET_DOMAIN}"])],
            {},
            1,
        ),
        ("${OTHER}", [sel(CF, dnsZones=["${SECRET_DOMAIN}"])], {}, None),
        # malformed entries are skipped, as the API server would have refused them
        (
            "example.com",
            ["x", sel(CF, dnsZones=[""]), {"dns01": {}, "selector": "x"}, sel(R53, dnsZones=["example.com"])],
            {},
            3,
        ),
    ],
)
def test_pick_solver_follows_cert_manager(
    name: str, solvers: list[Any], labels: dict[str, str], expected: int | None
) -> None:
    assert pick_solver(name, solvers, labels) == expected


def test_zone_key_keeps_variable_case() -> None:
    assert zone_key("Example.COM.") == "example.com"
    assert zone_key("${SECRET_DOMAIN}") == "${SECRET_DOMAIN}"


# --- Certificates of the input that a managed issuer signs (issue 12) -----------------------

LEGACY_ISSUER = TEMPLATE_ISSUER.replace(
    'dnsZones: ["${SECRET_DOMAIN}"]', 'dnsZones: ["${SECRET_DOMAIN}", legacy.example.net]'
)


def hand_written(name: str, dns_names: str, issuer: str = "letsencrypt-production") -> str:
    return (
        f"---\napiVersion: cert-manager.io/v1\nkind: Certificate\nmetadata: {{name: {name}, namespace: legacy}}\n"
        f"spec:\n  secretName: {name}-tls\n  issuerRef: {{name: {issuer}, kind: ClusterIssuer}}\n"
        f"  dnsNames: {dns_names}\n"
    )


def test_a_zone_a_certificate_of_the_input_still_needs_is_kept_with_a_warning_naming_it() -> None:
    exp = expand_yaml(config(), LEGACY_ISSUER + hand_written("nas", "[nas.legacy.example.net]"))
    assert zones(exp) == [["${SECRET_DOMAIN}", "example.org", "legacy.example.net"]]
    (warning,) = [m for m in messages(exp, "warning") if "kept zone" in m]
    assert warning.startswith(
        "ClusterIssuer letsencrypt-production: kept zone(s) legacy.example.net in "
        "`spec.acme.solvers[0].selector.dnsZones` although MultiDomain edge does not serve them: "
        "Certificate legacy/nas needs legacy.example.net"
    )
    assert not [m for m in messages(exp, "error") if "nas" in m]


@pytest.mark.parametrize(
    "certificate",
    [
        "",  # no Certificate needs it
        hand_written("nas", "[nas.legacy.example.net]", issuer="other"),  # its issuer is another one
    ],
)
def test_a_zone_nothing_needs_is_removed_with_a_warning_naming_it(certificate: str) -> None:
    exp = expand_yaml(config(), LEGACY_ISSUER + certificate)
    assert zones(exp) == [["${SECRET_DOMAIN}", "example.org"]]
    (warning,) = [m for m in messages(exp, "warning") if "removed zone" in m]
    assert "removed zone(s) legacy.example.net from `spec.acme.solvers[0].selector.dnsZones`" in warning


def test_the_solver_replay_covers_certificates_of_the_input() -> None:
    exp = expand_yaml(config(), TEMPLATE_ISSUER + hand_written("nas", "[nas.example.net]"))
    (error,) = [m for m in messages(exp, "error") if "nas" in m]
    assert error.startswith(
        "Certificate legacy/nas must get a DNS-01 solver for 'nas.example.net' from ClusterIssuer "
        "letsencrypt-production, but none selects it"
    )
    # must not change: a Certificate of an issuer MultiDomain does not manage is not its business
    other = expand_yaml(config(), TEMPLATE_ISSUER + hand_written("nas", "[nas.example.net]", issuer="other"))
    assert not [m for m in messages(other, "error") if "nas" in m]
