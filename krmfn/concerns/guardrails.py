"""An admission policy that keeps route hostnames inside the managed domains (``spec.guardrails``).

Once several domains are served from one gateway, any HTTPRoute in any namespace can claim
any hostname, and external-dns publishes it: "route sprawl". This module generates a
policy that rejects HTTPRoute/GRPCRoute ``spec.hostnames`` and Ingress ``spec.rules[].host``
outside the managed domains. The default engine is the built-in ValidatingAdmissionPolicy
(``admissionregistration.k8s.io/v1``, GA in Kubernetes 1.30), so no Kyverno is needed; for
clusters that run Kyverno, a ``ClusterPolicy`` carries the same CEL in ``validate.cel``.

The domains go into the CEL as string literals. A Flux variable stays ``'${VAR}'`` there,
and Flux's post-build substitution turns it into the real domain before the policy reaches
the API server. A domain covers its apex and every name below it, wildcards included
(``*.example.com`` ends with ``.example.com``); matching is on whole labels, so
``notexample.com`` is not under ``example.com``. A route without hostnames inherits them
from its listener, and an Ingress rule without ``host`` has no name to check: both pass.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from krmfn.api.config import Config, GuardrailsSpec
from krmfn.context import Context

FILE = "hostname-policy.yaml"
VAP_API_VERSION = "admissionregistration.k8s.io/v1"
KYVERNO_API_VERSION = "kyverno.io/v1"
ROUTE_KINDS = ("HTTPRoute", "GRPCRoute")


def policy_name(config: Config) -> str:
    return f"krmfn-{config.name}-hostnames"


def domain_list(config: Config) -> str:
    """The managed domains as a CEL list literal; domain text is `[a-z0-9.-]` or a `${VAR}`, never a quote."""
    return "[" + ", ".join(f"'{d.name.text}'" for d in config.domains) + "]"


def _allowed(host: str, domains: str) -> str:
    return f"{domains}.exists(d, {host} == d || {host}.endsWith('.' + d))"


def route_expression(config: Config) -> str:
    """True when every `spec.hostnames` entry of a route is under a managed domain."""
    return f"!has(object.spec.hostnames) || object.spec.hostnames.all(h, {_allowed('h', domain_list(config))})"


def ingress_expression(config: Config) -> str:
    """True when every `spec.rules[].host` of an Ingress is under a managed domain."""
    allowed = _allowed("r.host", domain_list(config))
    return f"!has(object.spec.rules) || object.spec.rules.all(r, !has(r.host) || {allowed})"


def _message(config: Config, field: str) -> str:
    names = ", ".join(d.name.text for d in config.domains)
    return f"{field} must be one of the managed domains or a name under one: {names} (MultiDomain {config.name})"


def generate(ctx: Context) -> None:
    spec = ctx.config.spec.guardrails
    if spec is None:
        return
    if spec.engine == "Kyverno":
        ctx.generate(cluster_policy(ctx.config, spec), FILE)
        return
    ctx.generate(admission_policy(ctx.config), FILE)
    ctx.generate(admission_policy_binding(ctx.config, spec), FILE)


def admission_policy(config: Config) -> dict[str, Any]:
    kinds = ", ".join(f"'{k}'" for k in ROUTE_KINDS)
    return {
        "apiVersion": VAP_API_VERSION,
        "kind": "ValidatingAdmissionPolicy",
        "metadata": {"name": policy_name(config)},
        "spec": {
            "failurePolicy": "Fail",
            "matchConstraints": {
                "resourceRules": [
                    _resource_rule("gateway.networking.k8s.io", ["httproutes", "grpcroutes"]),
                    _resource_rule("networking.k8s.io", ["ingresses"]),
                ]
            },
            "validations": [
                {
                    "expression": f"!(object.kind in [{kinds}]) || {route_expression(config)}",
                    "message": _message(config, "spec.hostnames"),
                },
                {
                    "expression": f"object.kind != 'Ingress' || {ingress_expression(config)}",
                    "message": _message(config, "spec.rules[].host"),
                },
            ],
        },
    }


def _resource_rule(group: str, resources: list[str]) -> dict[str, Any]:
    return {"apiGroups": [group], "apiVersions": ["*"], "operations": ["CREATE", "UPDATE"], "resources": resources}


def admission_policy_binding(config: Config, spec: GuardrailsSpec) -> dict[str, Any]:
    body: dict[str, Any] = {"policyName": policy_name(config), "validationActions": [spec.action]}
    if spec.exclude_namespaces:
        body["matchResources"] = {
            "namespaceSelector": {
                "matchExpressions": [
                    {"key": "kubernetes.io/metadata.name", "operator": "NotIn", "values": list(spec.exclude_namespaces)}
                ]
            }
        }
    return {
        "apiVersion": VAP_API_VERSION,
        "kind": "ValidatingAdmissionPolicyBinding",
        "metadata": {"name": policy_name(config)},
        "spec": body,
    }


def cluster_policy(config: Config, spec: GuardrailsSpec) -> dict[str, Any]:
    route_check = {"expression": route_expression(config), "message": _message(config, "spec.hostnames")}
    ingress_check = {"expression": ingress_expression(config), "message": _message(config, "spec.rules[].host")}
    rules = [
        _kyverno_rule(spec, "route-hostnames", ROUTE_KINDS, route_check),
        _kyverno_rule(spec, "ingress-hosts", ("Ingress",), ingress_check),
    ]
    return {
        "apiVersion": KYVERNO_API_VERSION,
        "kind": "ClusterPolicy",
        "metadata": {"name": policy_name(config)},
        "spec": {"background": True, "rules": rules},
    }


def _kyverno_rule(spec: GuardrailsSpec, name: str, kinds: Sequence[str], check: dict[str, str]) -> dict[str, Any]:
    rule: dict[str, Any] = {"name": name, "match": {"any": [{"resources": {"kinds": list(kinds)}}]}}
    if spec.exclude_namespaces:
        rule["exclude"] = {"any": [{"resources": {"namespaces": list(spec.exclude_namespaces)}}]}
    # Kyverno 1.13+ spells the action per rule; `spec.validationFailureAction` is deprecated there
    action = "Enforce" if spec.action == "Deny" else "Audit"
    rule["validate"] = {"failureAction": action, "cel": {"expressions": [check]}}
    return rule
