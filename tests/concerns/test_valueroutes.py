"""Routes in Helm values are routes: read per chart convention, resolved, checked, published once."""

from __future__ import annotations

from typing import Any

import pytest
from conftest import by_kind, expand_yaml, items_of, messages
from manifests import (
    APP_TEMPLATE_ROUTE,
    EXTERNAL_DNS,
    EXTERNAL_DNS_INSTALLATION,
    HTTP_LISTENER,
    HTTP_ROUTE,
    PRODUCTION_SECRETS,
    certificates,
    domains,
    gateway,
    helmrelease,
    https_listener,
    multidomain,
)

from krmfn.api.config import load_config
from krmfn.concerns.routes import Route
from krmfn.concerns.valueroutes import read
from krmfn.context import Context
from krmfn.expand import Expansion, expand
from krmfn.krm.yamltext import load

CONFIG = multidomain(
    domains("${SECRET_DOMAIN}", "example.org"),
    certificates(None, suffix="production"),
    """\
  gateways:
    - name: envoy-external
      namespace: network
      dns: {target: "external.{domain}", type: CNAME}
""",
    EXTERNAL_DNS_INSTALLATION,
)
GATEWAY = gateway(HTTP_LISTENER + https_listener(*PRODUCTION_SECRETS))
BASE = EXTERNAL_DNS + "---\n" + GATEWAY


def values_of(stream: str, config: str = CONFIG) -> tuple[list[Route], list[str]]:
    ctx = Context(load_config(load(config)), items_of(stream))
    found = read(ctx)
    return found.routes, [p.message for p in found.problems]


def only(stream: str) -> Route:
    routes, problems = values_of(stream)
    assert problems == []
    assert len(routes) == 1, routes
    return routes[0]


def text_of(exp: Expansion, kind: str, name: str) -> str:
    return next(i.text for i in exp.items if i.header.kind == kind and i.header.name == name)


# --- reading -------------------------------------------------------------------------------


def test_app_template_route_is_named_after_the_release_with_the_release_name_resolved() -> None:
    route = only(helmrelease("atuin", APP_TEMPLATE_ROUTE, namespace="selfhosted"))
    assert (route.kind, route.name, route.namespace) == ("HTTPRoute", "atuin", "selfhosted")
    assert route.hostnames == ("atuin.example.org",)
    assert route.hostname_fields == ("spec.values.route.app.hostnames[0]",)
    assert [(p.name, p.namespace, p.section) for p in route.parents] == [("envoy-external", "network", None)]
    assert route.describe() == "HTTPRoute selfhosted/atuin (from HelmRelease selfhosted/atuin `spec.values.route.app`)"
    assert route.annotations_at is not None
    assert route.annotations_at.keys == ("spec", "values", "route", "app", "annotations")


def test_several_enabled_routes_get_their_identifier_appended() -> None:
    values = """\
    route:
      frigate:
        hostnames: [frigate.example.com]
        parentRefs: [{name: envoy-internal}]
      go2rtc:
        hostnames: [frigate-go2rtc.example.com]
        parentRefs: [{name: envoy-internal}]
      off:
        enabled: false
        hostnames: [never.example.com]
      tcp:
        kind: TCPRoute
        parentRefs: [{name: envoy-internal}]
      note: not a route
"""
    routes, _ = values_of(helmrelease("frigate", values, namespace="home"))
    assert [(r.name, r.hostnames) for r in routes] == [
        ("frigate", ("frigate.example.com",)),  # already ends with its identifier
        ("frigate-go2rtc", ("frigate-go2rtc.example.com",)),
    ]
    # a parentRef without a namespace is in the route's namespace (Gateway API)
    assert routes[0].parents[0].namespace == "home"


def test_force_rename_prefix_suffix_and_always_append() -> None:
    values = """\
    global: {alwaysAppendIdentifierToResourceName: true}
    route:
      a: {forceRename: "{{ .Release.Name }}-Web", hostnames: [a.example.org]}
      b: {prefix: pre, suffix: post, hostnames: [b.example.org]}
"""
    routes, _ = values_of(helmrelease("app", values))
    assert [r.name for r in routes] == ["app-web", "pre-app-b-post"]


def test_flux_release_name_and_target_namespace() -> None:
    spec = "  releaseName: web\n  targetNamespace: apps\n"
    route = only(helmrelease("atuin", APP_TEMPLATE_ROUTE, namespace="flux-system", spec=spec))
    assert (route.name, route.namespace, route.hostnames) == ("web", "apps", ("web.example.org",))
    implied = only(helmrelease("atuin", APP_TEMPLATE_ROUTE, namespace="flux-system", spec="  targetNamespace: apps\n"))
    assert implied.hostnames == ("apps-atuin.example.org",)  # Flux: [targetNamespace-]name


def test_http_route_and_a_single_route_are_one_route_each() -> None:
    echo = only(helmrelease("echo", HTTP_ROUTE))
    assert (echo.name, echo.hostnames, echo.at) == ("echo", ("echo.${SECRET_DOMAIN}",), "spec.values.httpRoute")
    assert echo.annotations_at is not None
    single = "    route:\n      enabled: true\n      hostnames: [renovate.example.com]\n      parentRefs: [{name: x}]\n"
    route = only(helmrelease("renovate-operator", single))
    assert (route.name, route.hostnames) == ("renovate-operator", ("renovate.example.com",))
    assert route.annotations_at is None  # not app-template: it may have no annotations value
    disabled = HTTP_ROUTE.replace("enabled: true", "enabled: false")
    assert values_of(helmrelease("echo", disabled)) == ([], [])


def test_templates_that_cannot_be_known_here_are_reported_and_left_out() -> None:
    values = """\
    base: example.org
    route:
      app:
        hostnames:
          - "{{ .Release.Namespace }}.{{ .Values.base }}"
          - "{{ include \\"app.host\\" . }}"
          - "{{ .Values.missing }}.example.org"
"""
    routes, problems = values_of(helmrelease("app", values, namespace="tools"))
    assert routes[0].hostnames == ("tools.example.org",)
    assert len(problems) == 2
    assert "`spec.values.route.app.hostnames[1]`" not in problems[0]
    assert "{{ include" in problems[0]
    assert "cannot be evaluated" in problems[0]
    exp = expand_yaml(CONFIG, BASE + "---\n" + helmrelease("app", values, namespace="tools"))
    found = [r for r in exp.results if "cannot be evaluated" in r.message]
    assert [r.field for r in found] == [
        "spec.values.route.app.hostnames[1]",
        "spec.values.route.app.hostnames[2]",
    ]


def test_release_namespace_unknown_without_a_namespace() -> None:
    values = '    route:\n      app:\n        hostnames: ["{{ .Release.Namespace }}.example.org"]\n'
    routes, problems = values_of(helmrelease("app", values, namespace=None))
    assert routes[0].hostnames == ()
    assert len(problems) == 1


def test_argo_cd_values_object_values_string_and_wrapper_charts() -> None:
    app = """\
apiVersion: argoproj.io/v1alpha1
kind: Application
metadata: {name: blog, namespace: argocd}
spec:
  destination: {namespace: web}
  sources:
    - repoURL: https://example.com/charts
      path: apps/blog
      helm:
        releaseName: site
        valuesObject:
          app-template:
            route:
              main: {hostnames: ["{{ .Release.Name }}.example.org"], parentRefs: [{name: envoy-external}]}
    - repoURL: https://example.com/values
      helm:
        values: |
          # a comment the edit keeps
          httpRoute:
            hostnames: [docs.example.org]
"""
    routes, problems = values_of(app)
    assert problems == []
    assert [(r.name, r.namespace, r.hostnames, r.at) for r in routes] == [
        ("site", "web", ("site.example.org",), "spec.sources[0].helm.valuesObject.app-template.route.main"),
        ("blog", "web", ("docs.example.org",), "spec.sources[1].helm.values.httpRoute"),
    ]
    assert routes[1].annotations_at is not None
    assert routes[1].annotations_at.inner == ("httpRoute", "annotations")


def test_ingress_values_in_both_shapes() -> None:
    values = """\
    ingress:
      main:
        className: external
        hosts:
          - host: "{{ .Release.Name }}.example.org"
            paths: [{path: /}]
"""
    scaffold = (
        "    ingress:\n      enabled: true\n      className: lan\n      hosts:\n        - host: nas.example.org\n"
    )
    plain = "    ingress:\n      enabled: true\n      hosts: [grafana.example.com]\n"
    ctx = Context(
        load_config(load(CONFIG)),
        items_of("---\n".join([helmrelease("blog", values), helmrelease("nas", scaffold), helmrelease("g", plain)])),
    )
    found = read(ctx).ingresses
    assert [(i.name, i.hosts, i.class_name, i.host_fields) for i in found] == [
        ("blog", ("blog.example.org",), "external", ("spec.values.ingress.main.hosts[0].host",)),
        ("nas", ("nas.example.org",), "lan", ("spec.values.ingress.hosts[0].host",)),
        ("g", ("grafana.example.com",), None, ("spec.values.ingress.hosts[0]",)),
    ]


# --- taking part in everything routes do -------------------------------------------------------


def test_second_domain_route_in_values_gets_a_record_and_controller_none_in_its_values() -> None:
    release = helmrelease("atuin", APP_TEMPLATE_ROUTE)
    exp = expand_yaml(CONFIG, BASE + "---\n" + release)
    (dns,) = by_kind(exp, "DNSEndpoint")
    assert dns["metadata"] == {"name": "atuin-helmrelease", "namespace": "default"} | {
        "annotations": dns["metadata"]["annotations"]
    }
    assert dns["spec"]["endpoints"] == [
        {"dnsName": "atuin.example.org", "recordType": "CNAME", "targets": ["external.example.org"]}
    ]
    text = text_of(exp, "HelmRelease", "atuin")
    assert text == release + (
        "        annotations:\n"
        "          external-dns.alpha.kubernetes.io/controller: none\n"
        "          krmfn.dev/dns-endpoint: atuin-helmrelease\n"
    )
    again = expand(load_config(load(CONFIG)), exp.items, config_path="multidomain.yaml")
    assert [i.text for i in again.items] == [i.text for i in exp.items]


def test_removing_the_domain_gives_the_values_back_as_written() -> None:
    release = helmrelease("atuin", APP_TEMPLATE_ROUTE)
    exp = expand_yaml(CONFIG, BASE + "---\n" + release)
    fewer = CONFIG.replace("    - name: example.org\n", "")
    again = expand(load_config(load(fewer)), exp.items, config_path="multidomain.yaml")
    assert text_of(again, "HelmRelease", "atuin") == release
    assert by_kind(again, "DNSEndpoint") == []


def test_a_route_whose_gateway_target_is_right_is_left_alone() -> None:
    release = helmrelease("echo", HTTP_ROUTE)
    exp = expand_yaml(CONFIG, BASE + "---\n" + release)
    assert by_kind(exp, "DNSEndpoint") == []
    assert text_of(exp, "HelmRelease", "echo") == release


def test_a_chart_without_route_annotations_gets_no_second_record_and_a_warning() -> None:
    single = "    route:\n      hostnames: [renovate.example.org]\n      parentRefs: [{name: envoy-external, namespace: network}]\n"
    release = helmrelease("renovate", single)
    exp = expand_yaml(CONFIG, BASE + "---\n" + release)
    assert by_kind(exp, "DNSEndpoint") == []
    assert text_of(exp, "HelmRelease", "renovate") == release
    (warning,) = [m for m in messages(exp, "warning") if "needs its own records" in m]
    assert "renovate.example.org → external.example.org" in warning
    assert "`spec.values.route.annotations`" in warning
    assert "HTTPRoute resource" in warning


def test_values_string_of_an_argo_cd_application_is_edited_in_place() -> None:
    app = """\
apiVersion: argoproj.io/v1alpha1
kind: Application
metadata: {name: docs, namespace: argocd}
spec:
  destination: {namespace: web}
  source:
    chart: docs
    helm:
      values: |
        # the docs site
        httpRoute:
          hostnames: [docs.example.org] # second domain
          parentRefs: [{name: envoy-external, namespace: network}]
"""
    exp = expand_yaml(CONFIG, BASE + "---\n" + app)
    assert by_kind(exp, "DNSEndpoint")[0]["metadata"]["name"] == "docs-application"
    values = next(i.data for i in exp.items if i.header.kind == "Application")["spec"]["source"]["helm"]["values"]
    assert values.startswith("# the docs site\nhttpRoute:\n  hostnames: [docs.example.org] # second domain\n")
    assert "  annotations:\n    external-dns.alpha.kubernetes.io/controller: none\n" in values


def test_checks_name_the_values_field() -> None:
    values = APP_TEMPLATE_ROUTE.replace("{{ .Release.Name }}.example.org", "app.other.net")
    exp = expand_yaml(CONFIG, BASE + "---\n" + helmrelease("app", values))
    found = [r for r in exp.results if "must be under a domain" in r.message]
    assert [r.field for r in found] == ["spec.values.route.app.hostnames[0]"]
    assert "HTTPRoute default/app (from HelmRelease default/app `spec.values.route.app`)" in found[0].message


# --- records someone already publishes -----------------------------------------------------


def endpoint(name: str, target: str) -> str:
    return (
        "apiVersion: externaldns.k8s.io/v1alpha1\nkind: DNSEndpoint\nmetadata:\n  name: hand-written\n"
        f"  namespace: default\nspec:\n  endpoints:\n    - dnsName: {name}\n      recordType: CNAME\n"
        f"      targets: [{target}]\n"
    )


@pytest.mark.parametrize("kind", ["values", "resource"])
def test_a_record_already_right_is_respected(kind: str) -> None:
    owner = helmrelease("atuin", APP_TEMPLATE_ROUTE) if kind == "values" else _route_resource("atuin.example.org")
    exp = expand_yaml(CONFIG, BASE + "---\n" + owner + "---\n" + endpoint("atuin.example.org", "external.example.org"))
    assert [e["metadata"]["name"] for e in by_kind(exp, "DNSEndpoint")] == ["hand-written"]
    assert any(
        "already published as CNAME external.example.org by DNSEndpoint default/hand-written" in m
        for m in messages(exp)
    )
    owner_text = next(i.text for i in exp.items if i.header.name == "atuin")
    assert "external-dns.alpha.kubernetes.io/controller: none" in owner_text  # its own, wrong record goes
    assert "krmfn.dev/dns-endpoint: hand-written" in owner_text


def test_a_record_that_is_wrong_is_reported_with_both_named() -> None:
    stream = BASE + "---\n" + helmrelease("atuin", APP_TEMPLATE_ROUTE) + "---\n"
    exp = expand_yaml(CONFIG, stream + endpoint("atuin.example.org", '"external.${SECRET_DOMAIN}"'))
    assert [e["metadata"]["name"] for e in by_kind(exp, "DNSEndpoint")] == ["hand-written"]
    (warning,) = [m for m in messages(exp, "warning") if "must have one record" in m]
    assert "CNAME external.example.org (its own domain's target)" in warning
    assert "DNSEndpoint default/hand-written publishes CNAME external.${SECRET_DOMAIN}" in warning


def test_no_dns_endpoint_without_an_installation_that_reads_them() -> None:
    no_crd = EXTERNAL_DNS.replace('["crd", "gateway-httproute"]', '["gateway-httproute"]')
    exp = expand_yaml(CONFIG, no_crd + "---\n" + GATEWAY + "---\n" + helmrelease("atuin", APP_TEMPLATE_ROUTE))
    assert by_kind(exp, "DNSEndpoint") == []
    (error,) = messages(exp, "error")
    assert "must be read by an external-dns installation whose sources include `crd`" in error
    assert "add `crd` to the sources of one of HelmRelease network/cloudflare-dns" in error
    assert "controller" not in text_of(exp, "HelmRelease", "atuin")
    unconfigured = CONFIG.replace(EXTERNAL_DNS_INSTALLATION, "")
    exp = expand_yaml(unconfigured, GATEWAY + "---\n" + helmrelease("atuin", APP_TEMPLATE_ROUTE))
    assert any("list the external-dns installation" in m for m in messages(exp, "error"))


def _route_resource(hostname: str) -> str:
    return (
        "apiVersion: gateway.networking.k8s.io/v1\nkind: HTTPRoute\nmetadata:\n  name: atuin\n  namespace: default\n"
        f"spec:\n  hostnames: [{hostname}]\n  parentRefs: [{{name: envoy-external, namespace: network}}]\n"
    )


def test_lan_address_list_gives_one_record_with_every_address() -> None:
    config = multidomain(
        domains("example.com", "example.org"),
        certificates(),
        "  gateways:\n    - name: lan\n      kind: IngressClass\n"
        "      dns: {exposure: lan, lanAddress: [192.168.1.21, 192.168.1.22, 192.168.1.23]}\n",
        EXTERNAL_DNS_INSTALLATION,
    )
    scaffold = (
        "    ingress:\n      enabled: true\n      className: lan\n      hosts:\n        - host: nas.example.org\n"
    )
    exp = expand_yaml(config, EXTERNAL_DNS + "---\n" + helmrelease("nas", scaffold))
    (dns,) = by_kind(exp, "DNSEndpoint")
    record: dict[str, Any] = dns["spec"]["endpoints"][0]
    assert (record["recordType"], record["targets"]) == ("A", ["192.168.1.21", "192.168.1.22", "192.168.1.23"])
    assert text_of(exp, "HelmRelease", "nas").endswith(
        "        - host: nas.example.org\n      annotations:\n"
        "        external-dns.alpha.kubernetes.io/controller: none\n        krmfn.dev/dns-endpoint: nas-helmrelease\n"
    )
