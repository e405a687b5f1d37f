"""Hostname guardrails: the generated CEL is evaluated for real (cel-python), not compared as text."""

from __future__ import annotations

from typing import Any

import celpy
import pytest
from celpy.adapter import json_to_cel
from conftest import by_kind, expand_yaml, messages
from crdschema import assert_manifests_valid, validate_manifests
from manifests import CERTIFICATES, domains, multidomain

from krmfn.api.config import load_config
from krmfn.errors import ConfigError
from krmfn.expand import Expansion, expand
from krmfn.krm.yamltext import load

CONFIG = multidomain(domains("${SECRET_DOMAIN}", "example.org", "lab.example.net"), CERTIFICATES)
VAP = CONFIG + "  guardrails: {}\n"
KYVERNO = CONFIG + "  guardrails: {engine: Kyverno}\n"
FLUX = {"SECRET_DOMAIN": "example.com"}

ALLOWED = [
    "example.com",  # apex of a Flux-variable domain
    "echo.example.com",
    "*.example.com",
    "a.b.example.com",  # two labels below: DNS-wise still under the domain
    "example.org",
    "*.example.org",
    "lab.example.net",  # a managed domain that is itself a subdomain
    "x.lab.example.net",
    "*.lab.example.net",
]
DENIED = [
    "notexample.com",  # ends with the domain's text, but not at a label boundary
    "notexample.org",
    "example.com.evil.io",
    "evil.io",
    "*.com",
    "example.net",  # the parent of a managed domain is not managed
    "other.example.net",
    "xlab.example.net",
    "*.example.net",
]


def substitute(text: str, variables: dict[str, str]) -> str:
    """What Flux's post-build substitution does to the rendered text."""
    for key, value in variables.items():
        text = text.replace("${" + key + "}", value)
    return text


def evaluate(expression: str, obj: dict[str, Any]) -> bool:
    env = celpy.Environment()
    program = env.program(env.compile(expression))
    result = program.evaluate({"object": json_to_cel(obj)})
    assert isinstance(result, celpy.celtypes.BoolType), result
    return bool(result)


def vap_admits(exp: Expansion, obj: dict[str, Any], variables: dict[str, str] = FLUX) -> bool:
    """Every validation of the generated ValidatingAdmissionPolicy holds for *obj*."""
    (policy,) = by_kind(exp, "ValidatingAdmissionPolicy")
    validations = policy["spec"]["validations"]
    return all(evaluate(substitute(v["expression"], variables), obj) for v in validations)


def kyverno_admits(exp: Expansion, obj: dict[str, Any], variables: dict[str, str] = FLUX) -> bool:
    """Every CEL expression of every ClusterPolicy rule that matches *obj*'s kind holds."""
    (policy,) = by_kind(exp, "ClusterPolicy")
    ok = True
    for rule in policy["spec"]["rules"]:
        if obj["kind"] not in rule["match"]["any"][0]["resources"]["kinds"]:
            continue
        for check in rule["validate"]["cel"]["expressions"]:
            ok = ok and evaluate(substitute(check["expression"], variables), obj)
    return ok


def route(hostnames: list[str] | None, kind: str = "HTTPRoute") -> dict[str, Any]:
    spec: dict[str, Any] = {"parentRefs": [{"name": "envoy-external", "namespace": "network"}]}
    if hostnames is not None:
        spec["hostnames"] = hostnames
    return {"apiVersion": "gateway.networking.k8s.io/v1", "kind": kind, "metadata": {"name": "r"}, "spec": spec}


def ingress(*hosts: str | None, rules: bool = True) -> dict[str, Any]:
    spec: dict[str, Any] = {}
    if rules:
        spec["rules"] = [{"host": h} if h is not None else {"http": {"paths": []}} for h in hosts]
    return {"apiVersion": "networking.k8s.io/v1", "kind": "Ingress", "metadata": {"name": "i"}, "spec": spec}


ADMITS = {"ValidatingAdmissionPolicy": (VAP, vap_admits), "Kyverno": (KYVERNO, kyverno_admits)}


@pytest.fixture(params=sorted(ADMITS))
def engine(request: pytest.FixtureRequest) -> tuple[Expansion, Any]:
    config, admits = ADMITS[request.param]
    return expand_yaml(config), admits


@pytest.mark.parametrize("host", ALLOWED)
@pytest.mark.parametrize("kind", ["HTTPRoute", "GRPCRoute"])
def test_route_hostnames_under_a_managed_domain_are_admitted(
    engine: tuple[Expansion, Any], host: str, kind: str
) -> None:
    exp, admits = engine
    assert admits(exp, route([host], kind))


@pytest.mark.parametrize("host", DENIED)
@pytest.mark.parametrize("kind", ["HTTPRoute", "GRPCRoute"])
def test_route_hostnames_outside_the_managed_domains_are_denied(
    engine: tuple[Expansion, Any], host: str, kind: str
) -> None:
    exp, admits = engine
    assert not admits(exp, route([host], kind))
    assert not admits(exp, route(["echo.example.com", host], kind)), "one bad name among good ones"


@pytest.mark.parametrize("host", ALLOWED)
def test_ingress_hosts_under_a_managed_domain_are_admitted(engine: tuple[Expansion, Any], host: str) -> None:
    exp, admits = engine
    assert admits(exp, ingress(host, "echo.example.org"))


@pytest.mark.parametrize("host", DENIED)
def test_ingress_hosts_outside_the_managed_domains_are_denied(engine: tuple[Expansion, Any], host: str) -> None:
    exp, admits = engine
    assert not admits(exp, ingress("echo.example.org", host))


def test_objects_without_names_to_check_are_admitted(engine: tuple[Expansion, Any]) -> None:
    exp, admits = engine
    assert admits(exp, route(None))
    assert admits(exp, route([]))
    assert admits(exp, ingress(None))
    assert admits(exp, ingress(rules=False))
    assert admits(exp, {"kind": "Service", "spec": {"hostnames": ["evil.io"]}})


def test_before_flux_substitution_the_variable_is_not_a_domain(engine: tuple[Expansion, Any]) -> None:
    """Applied without Flux, the literal `${SECRET_DOMAIN}` matches nothing real: fail closed."""
    exp, admits = engine
    assert not admits(exp, route(["echo.example.com"]), variables={})
    assert admits(exp, route(["echo.example.org"]), variables={})


def test_variable_with_labels_in_front() -> None:
    exp = expand_yaml(VAP.replace("${SECRET_DOMAIN}", "dev.${SECRET_DOMAIN}"))
    assert vap_admits(exp, route(["echo.dev.example.com", "dev.example.com"]))
    assert not vap_admits(exp, route(["echo.example.com"]))
    assert not vap_admits(exp, route(["echo.notdev.example.com"]))


def test_policy_and_binding_shape() -> None:
    exp = expand_yaml(VAP)
    (policy,) = by_kind(exp, "ValidatingAdmissionPolicy")
    (binding,) = by_kind(exp, "ValidatingAdmissionPolicyBinding")
    assert policy["apiVersion"] == binding["apiVersion"] == "admissionregistration.k8s.io/v1"
    assert policy["metadata"]["name"] == "krmfn-edge-hostnames"
    assert "namespace" not in policy["metadata"]
    spec = policy["spec"]
    assert spec["failurePolicy"] == "Fail"
    rules = spec["matchConstraints"]["resourceRules"]
    assert [(r["apiGroups"], r["resources"]) for r in rules] == [
        (["gateway.networking.k8s.io"], ["httproutes", "grpcroutes"]),
        (["networking.k8s.io"], ["ingresses"]),
    ]
    assert spec["validations"][0]["message"] == (
        "spec.hostnames must be one of the managed domains or a name under one: "
        "${SECRET_DOMAIN}, example.org, lab.example.net (MultiDomain edge)"
    )
    assert binding["spec"] == {"policyName": "krmfn-edge-hostnames", "validationActions": ["Deny"]}


@pytest.mark.parametrize("action", ["Warn", "Audit"])
def test_binding_action_and_excluded_namespaces(action: str) -> None:
    exp = expand_yaml(CONFIG + f"  guardrails: {{action: {action}, excludeNamespaces: [kube-system, flux-system]}}\n")
    (binding,) = by_kind(exp, "ValidatingAdmissionPolicyBinding")
    assert binding["spec"] == {
        "policyName": "krmfn-edge-hostnames",
        "validationActions": [action],
        "matchResources": {
            "namespaceSelector": {
                "matchExpressions": [
                    {
                        "key": "kubernetes.io/metadata.name",
                        "operator": "NotIn",
                        "values": ["kube-system", "flux-system"],
                    }
                ]
            }
        },
    }


def test_kyverno_policy_shape() -> None:
    exp = expand_yaml(KYVERNO)
    assert by_kind(exp, "ValidatingAdmissionPolicy") == []
    (policy,) = by_kind(exp, "ClusterPolicy")
    assert policy["apiVersion"] == "kyverno.io/v1"
    rules = policy["spec"]["rules"]
    assert [r["name"] for r in rules] == ["route-hostnames", "ingress-hosts"]
    assert [r["match"]["any"][0]["resources"]["kinds"] for r in rules] == [["HTTPRoute", "GRPCRoute"], ["Ingress"]]
    assert {r["validate"]["failureAction"] for r in rules} == {"Enforce"}
    assert all("exclude" not in r for r in rules)
    audit = expand_yaml(CONFIG + "  guardrails: {engine: Kyverno, action: Audit, excludeNamespaces: [lab]}\n")
    (policy,) = by_kind(audit, "ClusterPolicy")
    for rule in policy["spec"]["rules"]:
        assert rule["validate"]["failureAction"] == "Audit"
        assert rule["exclude"] == {"any": [{"resources": {"namespaces": ["lab"]}}]}


def test_kyverno_cannot_warn() -> None:
    with pytest.raises(ConfigError) as err:
        load_config(load(CONFIG + "  guardrails: {engine: Kyverno, action: Warn}\n"))
    assert err.value.problems[0].path == "spec.guardrails"
    assert "Kyverno has `Deny` and `Audit` only" in err.value.problems[0].message


def test_off_by_default() -> None:
    exp = expand_yaml(CONFIG)
    kinds = {i.header.kind for i in exp.items}
    assert kinds == {"Certificate"}


def test_idempotent_and_pruned_when_switched_off() -> None:
    exp = expand_yaml(VAP)
    again = expand(load_config(load(VAP)), exp.items, config_path="multidomain.yaml")
    assert [i.text for i in again.items] == [i.text for i in exp.items]
    off = expand(load_config(load(CONFIG)), exp.items, config_path="multidomain.yaml")
    assert {i.header.kind for i in off.items} == {"Certificate"}
    assert "pruned ValidatingAdmissionPolicy krmfn-edge-hostnames: the config no longer generates it" in messages(off)
    assert [m for m in messages(exp) if m.startswith("generated")] == [
        "generated Certificate network/${SECRET_DOMAIN//./-}",
        "generated Certificate network/example-org",
        "generated Certificate network/lab-example-net",
        "generated ValidatingAdmissionPolicy krmfn-edge-hostnames",
        "generated ValidatingAdmissionPolicyBinding krmfn-edge-hostnames",
    ]


def test_policy_and_binding_validate_against_the_kubernetes_schema() -> None:
    exp = expand_yaml(CONFIG + "  guardrails: {excludeNamespaces: [kube-system]}\n")
    text = "---\n".join(i.text for i in exp.items)
    reports = assert_manifests_valid(text, substitutions=FLUX, allow_unknown_kinds=False)
    assert {r.kind for r in reports} == {"Certificate", "ValidatingAdmissionPolicy", "ValidatingAdmissionPolicyBinding"}


def test_kyverno_cluster_policy_has_no_schema_here() -> None:
    """No pinned schema package covers Kyverno: the validator says so rather than passing it."""
    exp = expand_yaml(KYVERNO)
    (report,) = [r for r in validate_manifests("---\n".join(i.text for i in exp.items)) if r.kind == "ClusterPolicy"]
    assert report.status == "unknown-kind"
