"""external-dns installations (SPEC §4): HelmRelease values, Deployment args, Argo CD Applications."""

from __future__ import annotations

from typing import Any

import pytest
from conftest import expand_yaml, messages
from crdschema import assert_manifests_valid
from manifests import CERTIFICATES, CLOUDFLARE_TUNNEL, EDGE_BLOCK, EXTERNAL_DNS, httproute, multidomain

from krmfn.api.config import load_config
from krmfn.concerns.externaldns import Effective, apply_args, flag_values, lets_through, txt_name
from krmfn.errors import ConfigError
from krmfn.expand import Expansion
from krmfn.krm.yamltext import load

SUBST = {"SECRET_DOMAIN": "example.com"}


def config(installs: str, domains: str = "    - name: ${SECRET_DOMAIN}\n    - name: example.org\n") -> str:
    return multidomain("  domains:\n" + domains, CERTIFICATES, "  externalDNS:\n" + installs, metadata=EDGE_BLOCK)


HELMRELEASE = "---\n" + EXTERNAL_DNS


DEPLOYMENT = """\
---
apiVersion: apps/v1
kind: Deployment
metadata:
  name: external-dns
  namespace: network
spec:
  selector:
    matchLabels: {app: external-dns}
  template:
    metadata:
      labels: {app: external-dns}
    spec:
      containers:
        - name: sidecar
          image: busybox
        - name: external-dns
          image: registry.k8s.io/external-dns/external-dns:v0.21.0
          args:
            - --source=gateway-httproute
            - --domain-filter
            - ${SECRET_DOMAIN}
            - --provider=cloudflare  # the provider
            - --domain-filter=stale.example
            - --policy=sync
"""

APPLICATION = """\
---
apiVersion: argoproj.io/v1alpha1
kind: Application
metadata:
  name: external-dns
  namespace: argocd
spec:
  project: default
  source:
    repoURL: https://kubernetes-sigs.github.io/external-dns/
    chart: external-dns
    targetRevision: 1.21.1
    helm:
      valuesObject:
        provider: {name: cloudflare}
        domainFilters:
          - ${SECRET_DOMAIN}
  destination: {server: https://kubernetes.default.svc, namespace: network}
"""

HR_HEAD = (
    "apiVersion: helm.toolkit.fluxcd.io/v2\nkind: HelmRelease\n"
    "metadata:\n  name: cloudflare-dns\n  namespace: network\n"
)
VALUES_OBJECT = (
    "      valuesObject:\n        provider: {name: cloudflare}\n        domainFilters:\n          - ${SECRET_DOMAIN}\n"
)
HR = "    - {kind: HelmRelease, name: cloudflare-dns, namespace: network}\n"
DEP = "    - {kind: Deployment, name: external-dns, namespace: network}\n"
APP = "    - {kind: Application, name: external-dns, namespace: argocd}\n"


def of_kind(exp: Expansion, kind: str) -> list[dict[str, Any]]:
    return [i.data for i in exp.items if i.header.kind == kind]


def stream(exp: Expansion) -> str:
    return "".join("---\n" + item.text for item in exp.items)


def text_of(exp: Expansion, kind: str) -> str:
    return next(i.text for i in exp.items if i.header.kind == kind)


def values_of(exp: Expansion, kind: str = "HelmRelease") -> Any:
    return of_kind(exp, kind)[0]["spec"]["values"]


def args_of(exp: Expansion) -> Any:
    return of_kind(exp, "Deployment")[0]["spec"]["template"]["spec"]["containers"][1]["args"]


# --- HelmRelease ---------------------------------------------------------------------


def test_helmrelease_gets_every_zone_and_keeps_everything_else() -> None:
    exp = expand_yaml(config(HR), HELMRELEASE)
    text = text_of(exp, "HelmRelease")
    expected = HELMRELEASE.removeprefix("---\n").replace('["${SECRET_DOMAIN}"]', '["${SECRET_DOMAIN}", "example.org"]')
    assert text == expected
    assert "patched HelmRelease network/cloudflare-dns: set `spec.values.domainFilters`" in messages(exp, "info")
    assert messages(exp, "warning") == [
        "HelmRelease network/cloudflare-dns: the Cloudflare API token it uses must be allowed to edit DNS in every "
        "zone this installation now filters (${SECRET_DOMAIN}, example.org); a token scoped to one zone, as "
        "cluster-template creates it, cannot see the others"
    ]
    assert messages(exp, "error") == []
    assert_manifests_valid(stream(exp), substitutions=SUBST, allow_unknown_kinds=False)


def test_helmrelease_listing_every_zone_is_byte_identical_and_idempotent() -> None:
    first = expand_yaml(config(HR), HELMRELEASE)
    again = expand_yaml(config(HR), stream(first))
    assert stream(again) == stream(first)
    one = expand_yaml(config(HR, "    - name: ${SECRET_DOMAIN}\n"), HELMRELEASE)
    assert text_of(one, "HelmRelease") == HELMRELEASE.removeprefix("---\n")
    assert not any(m.startswith("patched") for m in messages(one, "info"))


def test_optional_settings_are_written_when_given() -> None:
    install = (
        "    - kind: HelmRelease\n      name: cloudflare-dns\n      namespace: network\n"
        "      excludeDomains: [internal.example.org]\n      txtOwnerId: cluster-a\n"
        "      txtPrefix: 'k8s-%{record_type}.'\n      policy: upsert-only\n      sources: [crd]\n"
    )
    exp = expand_yaml(config(install), HELMRELEASE)
    values = values_of(exp)
    assert values["excludeDomains"] == ["internal.example.org"]
    assert values["txtOwnerId"] == "cluster-a"
    assert values["txtPrefix"] == "k8s-%{record_type}."
    assert values["policy"] == "upsert-only"
    assert values["sources"] == ["crd"]
    assert values["provider"] == "cloudflare"
    assert "# every zone" in text_of(exp, "HelmRelease")
    assert_manifests_valid(stream(exp), substitutions=SUBST, allow_unknown_kinds=False)


def test_helmrelease_without_values_gets_them() -> None:
    hr = HR_HEAD + "spec:\n  interval: 1h\n  values:\n"
    exp = expand_yaml(config(HR), hr)
    assert values_of(exp) == {"domainFilters": ["${SECRET_DOMAIN}", "example.org"]}


@pytest.mark.parametrize(
    ("body", "path"),
    [("spec: 3\n", "spec"), ("spec:\n  values: [1]\n", "spec.values")],
)
def test_a_malformed_helmrelease_is_an_error(body: str, path: str) -> None:
    hr = HR_HEAD + body
    exp = expand_yaml(config(HR), hr)
    assert f"HelmRelease network/cloudflare-dns: `{path}` must be a mapping" in messages(exp, "error")


@pytest.mark.parametrize(
    "extra",
    [
        "extraArgs: [--regex-domain-filter=.*]",
        "extraArgs: ['--regex-domain-exclusion=^int']",
        "extraArgs: {regex-domain-filter: '.*'}",
        "extraArgs: {--regex-domain-exclusion: '.*'}",
    ],
)
def test_regex_filters_in_extra_args_are_warned_about(extra: str) -> None:
    hr = HELMRELEASE.replace(
        "extraArgs:\n      - --cloudflare-proxied\n      - --gateway-name=envoy-external\n", extra + "\n"
    )
    exp = expand_yaml(config(HR), hr)
    [warning] = [m for m in messages(exp, "warning") if "regex" in m]
    if "filter" in extra:
        assert warning.startswith("HelmRelease network/cloudflare-dns sets `--regex-domain-filter`, which makes")
    else:
        assert warning.startswith(
            "HelmRelease network/cloudflare-dns sets `--regex-domain-exclusion` without `--regex-domain-filter`: "
            "from external-dns v0.21.0 that alone switches to regex mode"
        )
    assert "(${SECRET_DOMAIN}, example.org)" in warning


@pytest.mark.parametrize(
    ("chart", "image", "warned"),
    [
        ("  chart:\n    spec: {chart: external-dns, version: 1.20.0}\n", "", False),
        ("  chart:\n    spec: {chart: external-dns, version: 1.21.1}\n", "", True),
        ("  chartRef: {kind: OCIRepository, name: cloudflare-dns}\n", "", True),
        ("", "    image: {tag: v0.20.0}\n", False),
    ],
)
def test_the_exclusion_alone_switches_to_regex_mode_from_v0_21(chart: str, image: str, warned: bool) -> None:
    """external-dns@v0.21.0 endpoint/domain_filter.go: WithRegexDomainExclude sets isRegexFilter; v0.20.0's
    createDomainFilter read the exclusion only beside a regex filter."""
    hr = HELMRELEASE.replace("      - --gateway-name=envoy-external\n", "      - --regex-domain-exclusion=^int\n")
    hr = hr.replace("  chartRef:\n    kind: OCIRepository\n    name: cloudflare-dns\n", chart)
    hr = hr.replace("    provider: cloudflare\n", image + "    provider: cloudflare\n")
    oci = "---\napiVersion: source.toolkit.fluxcd.io/v1\nkind: OCIRepository\nmetadata:\n  name: cloudflare-dns\n"
    oci += "  namespace: network\nspec:\n  ref: {tag: 1.21.1}\n  url: oci://ghcr.io/home-operations/charts-mirror/external-dns\n"
    exp = expand_yaml(config(HR), hr + oci)
    assert messages(exp, "error") == []
    assert any("`--regex-domain-exclusion` without" in m for m in messages(exp, "warning")) is warned


# --- txtPrefix and apex records ----------------------------------------------------------

TUNNEL = "  tunnel: {kind: HelmRelease, name: cloudflare-tunnel, namespace: network, service: 'https://x:443'}\n"


def test_txt_prefix_without_record_type_warns_when_an_apex_is_routed() -> None:
    route = httproute("web", "[example.org]")
    exp = expand_yaml(config(HR), HELMRELEASE + "---\n" + route)
    [warning] = [m for m in messages(exp, "warning") if "txtPrefix" in m]
    assert "`txtPrefix` 'k8s.' must contain `%{record_type}` and end with a dot" in warning
    assert "(example.org (HTTPRoute web))" in warning
    assert "'k8s.cname-example.org'" in warning


def test_txt_prefix_warns_for_an_apex_in_a_dnsendpoint() -> None:
    endpoint = (
        "apiVersion: externaldns.k8s.io/v1alpha1\nkind: DNSEndpoint\nmetadata:\n  name: apex\n  namespace: network\n"
        "spec:\n  endpoints:\n    - {dnsName: example.org., recordType: CNAME, targets: [x.example.net]}\n    - junk\n"
    )
    exp = expand_yaml(config(HR), HELMRELEASE + "---\n" + endpoint)
    assert any("must contain `%{record_type}`" in m for m in messages(exp, "warning"))


@pytest.mark.parametrize(
    ("prefix", "warned"), [("k8s-%{record_type}.", False), ("%{record_type}-k8s", True), ("k8s-", True)]
)
def test_txt_prefix_must_have_record_type_and_a_dot(prefix: str, warned: bool) -> None:
    route = httproute("web", "['${SECRET_DOMAIN}']", parents=None, namespace=None)
    hr = HELMRELEASE.replace("txtPrefix: k8s.", f"txtPrefix: '{prefix}'")
    exp = expand_yaml(config(HR), hr + "---\n" + route)
    assert any("must contain `%{record_type}`" in m for m in messages(exp, "warning")) is warned


def test_no_apex_record_no_txt_prefix_warning() -> None:
    route = httproute("web", "[www.example.org]", parents=None, namespace=None)
    other = route.replace("web", "other").replace("www.example.org", "example.net")
    exp = expand_yaml(config(HR), HELMRELEASE + "---\n" + route + "---\n" + other)
    assert [m for m in messages(exp, "warning") if "txtPrefix" in m] == []


def test_a_tunnel_apex_rule_publishes_no_record() -> None:
    """cluster-template: the tunnel has an apex rule, but no route, Ingress or DNSEndpoint names the apex."""
    tunnel_config = config(HR) + TUNNEL
    exp = expand_yaml(tunnel_config, HELMRELEASE + "---\n" + CLOUDFLARE_TUNNEL)
    assert [m for m in messages(exp, "warning") if "txtPrefix" in m] == []


def test_an_apex_only_a_source_not_read_names_is_not_published() -> None:
    route = httproute("web", "[example.org]")
    hr = HELMRELEASE.replace('sources: ["crd", "gateway-httproute"]', 'sources: ["crd"]')
    exp = expand_yaml(config(HR), hr + "---\n" + route)
    assert [m for m in messages(exp, "warning") if "txtPrefix" in m] == []


def test_the_cloudflare_token_is_named_when_the_zones_change() -> None:
    hr = HELMRELEASE.replace(
        "    provider: cloudflare\n",
        "    provider: cloudflare\n    env:\n      - name: CF_API_TOKEN\n        valueFrom:\n"
        "          secretKeyRef: {name: cloudflare-dns-secret, key: api-token}\n",
    )
    exp = expand_yaml(config(HR), hr)
    assert any(
        "the Cloudflare API token in Secret cloudflare-dns-secret (key api-token) must be allowed" in m
        for m in messages(exp, "warning")
    )
    again = expand_yaml(config(HR), stream(exp))
    assert not any("Cloudflare API token" in m for m in messages(again, "warning")), "said once, when it matters"


@pytest.mark.parametrize(
    ("prefix", "name", "expected"),
    [
        ("k8s.", "example.com", "k8s.cname-example.com"),
        ("k8s.", "app.example.com", "k8s.cname-app.example.com"),
        ("ext-%{record_type}.", "example.com", "ext-cname.example.com"),
        ("k8s-", "localhost", "k8s-cname-localhost"),
    ],
)
def test_txt_name_follows_the_mapper(prefix: str, name: str, expected: str) -> None:
    assert txt_name(prefix, name) == expected


# --- Deployment ----------------------------------------------------------------------


def test_deployment_args_are_rewritten_where_the_filters_stood() -> None:
    exp = expand_yaml(config(DEP), DEPLOYMENT)
    assert args_of(exp) == [
        "--source=gateway-httproute",
        "--domain-filter=${SECRET_DOMAIN}",
        "--domain-filter=example.org",
        "--provider=cloudflare",
        "--policy=sync",
    ]
    text = text_of(exp, "Deployment")
    assert "- --provider=cloudflare  # the provider" in text
    assert "- name: sidecar\n          image: busybox\n" in text
    assert "`--domain-filter` in `spec.template.spec.containers[1].args`" in " ".join(messages(exp, "info"))
    assert_manifests_valid(stream(exp), substitutions=SUBST, allow_unknown_kinds=False)
    again = expand_yaml(config(DEP), stream(exp))
    assert stream(again) == stream(exp)


def test_deployment_args_in_the_space_form_that_already_match_are_untouched() -> None:
    dep = DEPLOYMENT.replace(
        "            - --domain-filter=stale.example\n", "            - --domain-filter\n            - example.org\n"
    )
    exp = expand_yaml(config(DEP), dep)
    assert text_of(exp, "Deployment") == dep.removeprefix("---\n")


def test_deployment_settings_become_flags() -> None:
    install = (
        "    - kind: Deployment\n      name: external-dns\n      namespace: network\n      container: external-dns\n"
        "      txtOwnerId: a\n      policy: upsert-only\n      sources: [crd, gateway-httproute]\n"
        "      excludeDomains: [int.example.org]\n      txtPrefix: 'k8s-%{record_type}.'\n"
    )
    exp = expand_yaml(config(install), DEPLOYMENT)
    assert args_of(exp) == [
        "--source=crd",
        "--source=gateway-httproute",
        "--domain-filter=${SECRET_DOMAIN}",
        "--domain-filter=example.org",
        "--provider=cloudflare",
        "--policy=upsert-only",
        "--exclude-domains=int.example.org",
        "--txt-owner-id=a",
        "--txt-prefix=k8s-%{record_type}.",
    ]


def test_flags_passed_in_command_are_edited_there() -> None:
    dep = DEPLOYMENT.replace("          args:\n", "          command:\n            - /bin/external-dns\n")
    exp = expand_yaml(config(DEP), dep)
    container = of_kind(exp, "Deployment")[0]["spec"]["template"]["spec"]["containers"][1]
    assert "args" not in container
    assert container["command"][0] == "/bin/external-dns"
    assert "--domain-filter=example.org" in container["command"]


def test_a_single_container_is_taken_whatever_its_name() -> None:
    dep = (
        "apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: external-dns\n  namespace: network\n"
        "spec:\n  template:\n    spec:\n      containers:\n        - name: dns\n          image: x\n"
    )
    exp = expand_yaml(config(DEP), dep)
    container = of_kind(exp, "Deployment")[0]["spec"]["template"]["spec"]["containers"][0]
    assert container["args"] == ["--domain-filter=${SECRET_DOMAIN}", "--domain-filter=example.org"]


@pytest.mark.parametrize(
    ("install", "body", "expected"),
    [
        (DEP, "spec: {}\n", "must have `spec.template.spec.containers`"),
        (
            DEP,
            "spec:\n  template:\n    spec:\n      containers: [{name: a}, {name: b}]\n",
            "must have a container named 'external-dns' (or a single container); it has a, b "
            "(set `spec.externalDNS[0].container`)",
        ),
        (
            "    - {kind: Deployment, name: external-dns, namespace: network, container: dns}\n",
            "spec:\n  template:\n    spec:\n      containers: [{name: a}]\n",
            "must have a container named 'dns'; it has a",
        ),
        (
            DEP,
            "spec:\n  template:\n    spec:\n      containers: [{name: external-dns, args: x}]\n",
            "`spec.template.spec.containers[0].args` must be a mapping",
        ),
    ],
)
def test_a_deployment_without_the_container_is_an_error(install: str, body: str, expected: str) -> None:
    dep = "apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: external-dns\n  namespace: network\n" + body
    exp = expand_yaml(config(install), dep)
    assert any(expected in m for m in messages(exp, "error")), messages(exp, "error")


@pytest.mark.parametrize("flag", ["--regex-domain-filter=.*", "--regex-domain-exclusion"])
def test_regex_flags_in_args_are_warned_about(flag: str) -> None:
    dep = DEPLOYMENT.replace("            - --policy=sync\n", f"            - --policy=sync\n            - {flag}\n")
    exp = expand_yaml(config(DEP), dep)
    assert any("sets `--regex-domain-" in m for m in messages(exp, "warning"))


@pytest.mark.parametrize(
    ("args", "flag", "values"),
    [
        (["--domain-filter=a", "--domain-filter", "b", "--x"], "--domain-filter", ["a", "b"]),
        (["--domain-filter"], "--domain-filter", []),
        (["--domain-filters=a"], "--domain-filter", []),
    ],
)
def test_flag_values_reads_both_forms(args: list[str], flag: str, values: list[str]) -> None:
    assert flag_values(args, flag)[0] == values


def test_apply_args_appends_absent_flags_and_keeps_others() -> None:
    out, changed = apply_args(["--a", "--policy", "sync", "--b"], {"domainFilters": ["x"], "policy": "sync"})
    assert out == ["--a", "--policy", "sync", "--b", "--domain-filter=x"]
    assert changed == ["--domain-filter"]


# --- Argo CD Application ---------------------------------------------------------------


def test_application_values_object_gets_every_zone() -> None:
    exp = expand_yaml(config(APP), APPLICATION)
    values = of_kind(exp, "Application")[0]["spec"]["source"]["helm"]["valuesObject"]
    assert values == {"provider": {"name": "cloudflare"}, "domainFilters": ["${SECRET_DOMAIN}", "example.org"]}
    text = text_of(exp, "Application")
    assert text == APPLICATION.removeprefix("---\n").replace(
        "- ${SECRET_DOMAIN}\n", "- ${SECRET_DOMAIN}\n          - example.org\n"
    )
    again = expand_yaml(config(APP), stream(exp))
    assert stream(again) == stream(exp)


def test_application_values_string_is_edited_in_place() -> None:
    app = APPLICATION.replace(
        VALUES_OBJECT,
        "      values: |\n        # chart values\n        provider: cloudflare\n"
        "        domainFilters: ['${SECRET_DOMAIN}']\n",
    )
    exp = expand_yaml(config(APP), app)
    helm = of_kind(exp, "Application")[0]["spec"]["source"]["helm"]
    assert (
        helm["values"] == "# chart values\nprovider: cloudflare\ndomainFilters: ['${SECRET_DOMAIN}', 'example.org']\n"
    )
    assert "values: |\n" in text_of(exp, "Application")
    assert "`spec.source.helm.values.domainFilters`" in " ".join(messages(exp, "info"))
    again = expand_yaml(config(APP), stream(exp))
    assert stream(again) == stream(exp)


def test_application_empty_values_string_gets_the_filters() -> None:
    app = APPLICATION.replace(
        VALUES_OBJECT,
        "      values: ''\n",
    )
    exp = expand_yaml(config(APP), app)
    helm = of_kind(exp, "Application")[0]["spec"]["source"]["helm"]
    assert load(helm["values"]) == {"domainFilters": ["${SECRET_DOMAIN}", "example.org"]}


MULTI_SOURCE = """\
apiVersion: argoproj.io/v1alpha1
kind: Application
metadata:
  name: external-dns
  namespace: argocd
spec:
  sources:
    - repoURL: https://github.com/example/values.git
      targetRevision: main
      ref: values
    - repoURL: https://kubernetes-sigs.github.io/external-dns/
      chart: external-dns
      targetRevision: 1.21.1
"""


def test_application_with_several_sources_patches_the_external_dns_chart() -> None:
    exp = expand_yaml(config(APP), MULTI_SOURCE)
    sources = of_kind(exp, "Application")[0]["spec"]["sources"]
    assert "helm" not in sources[0]
    assert sources[1]["helm"] == {"valuesObject": {"domainFilters": ["${SECRET_DOMAIN}", "example.org"]}}
    assert "`spec.sources[1].helm.valuesObject.domainFilters`" in " ".join(messages(exp, "info"))


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        ("spec:\n  project: default\n", "it has neither `spec.source` nor `spec.sources`"),
        (
            "spec:\n  sources: [{chart: a}, {chart: b}]\n",
            "must have exactly one Helm source of the external-dns chart to patch; found 2",
        ),
        ("spec: x\n", "`spec` must be a mapping"),
        ("spec:\n  source: {chart: external-dns, helm: 1}\n", "`spec.source.helm` must be a mapping"),
        (
            "spec:\n  source: {chart: external-dns, helm: {valuesObject: 1}}\n",
            "`spec.source.helm.valuesObject` must be a mapping",
        ),
        (
            "spec:\n  source: {chart: external-dns, helm: {values: '[1]'}}\n",
            "`spec.source.helm.values` must be a mapping",
        ),
    ],
)
def test_a_malformed_application_is_an_error(body: str, expected: str) -> None:
    app = (
        "apiVersion: argoproj.io/v1alpha1\nkind: Application\nmetadata:\n  name: external-dns\n  namespace: argocd\n"
        + body
    )
    exp = expand_yaml(config(APP), app)
    assert any(expected in m for m in messages(exp, "error")), messages(exp, "error")


# --- several installations, zone subsets ------------------------------------------------


def test_installations_filter_their_own_subsets() -> None:
    installs = (
        "    - {kind: HelmRelease, name: cloudflare-dns, namespace: network, domains: ['${SECRET_DOMAIN}']}\n"
        "    - {kind: Deployment, name: external-dns, namespace: network, domains: [example.org]}\n"
    )
    exp = expand_yaml(config(installs), HELMRELEASE + DEPLOYMENT)
    assert values_of(exp)["domainFilters"] == ["${SECRET_DOMAIN}"]
    assert [a for a in args_of(exp) if a.startswith("--domain-filter")] == ["--domain-filter=example.org"]
    # the zones this installation filtered for by hand are gone, and said so
    (warning,) = messages(exp, "warning")
    assert warning.startswith(
        "Deployment network/external-dns: removed zone(s) ${SECRET_DOMAIN}, stale.example from "
        "`spec.template.spec.containers[1].args --domain-filter`, because MultiDomain edge does not list them for "
        "this installation (`spec.externalDNS[1]`)"
    )


REMOVED = "removed zone(s) legacy.example.net from"


@pytest.mark.parametrize(
    ("installs", "stream", "field"),
    [
        (
            HR,
            HELMRELEASE.replace(
                'domainFilters: ["${SECRET_DOMAIN}"]', 'domainFilters: ["${SECRET_DOMAIN}", legacy.example.net]'
            ),
            "`spec.values.domainFilters`",
        ),
        (
            APP,
            APPLICATION.replace(
                "          - ${SECRET_DOMAIN}\n", "          - ${SECRET_DOMAIN}\n          - legacy.example.net\n"
            ),
            "`spec.source.helm.valuesObject.domainFilters`",
        ),
        (
            DEP,
            DEPLOYMENT.replace("stale.example", "legacy.example.net"),
            "`spec.template.spec.containers[1].args --domain-filter`",
        ),
    ],
)
def test_a_zone_written_by_hand_that_is_removed_is_named_in_every_form(installs: str, stream: str, field: str) -> None:
    exp = expand_yaml(config(installs), stream)
    (warning,) = [m for m in messages(exp, "warning") if REMOVED in m]
    assert f"{REMOVED} {field}" in warning
    assert "add them to `spec.domains`" in warning
    kept = expand_yaml(config(installs, "    - name: ${SECRET_DOMAIN}\n    - name: legacy.example.net\n"), stream)
    assert not [m for m in messages(kept, "warning") if "removed zone" in m]


def test_adding_a_zone_removes_nothing_and_warns_about_nothing() -> None:
    exp = expand_yaml(config(HR), HELMRELEASE)
    assert not [m for m in messages(exp, "warning") if "removed zone" in m]


def test_a_zone_no_installation_lets_through_is_warned_about() -> None:
    installs = (
        "    - kind: HelmRelease\n      name: cloudflare-dns\n      namespace: network\n"
        "      domains: ['${SECRET_DOMAIN}', example.org]\n      excludeDomains: [example.org]\n"
    )
    exp = expand_yaml(
        config(installs, "    - name: ${SECRET_DOMAIN}\n    - name: example.org\n    - name: example.net\n"),
        HELMRELEASE,
    )
    warnings = [m for m in messages(exp, "warning") if "is let through by no installation" in m]
    assert [w.split()[1] for w in warnings] == ["example.org", "example.net"]


def test_a_subset_must_name_configured_domains() -> None:
    installs = (
        "    - {kind: HelmRelease, name: cloudflare-dns, namespace: network, domains: [example.net, 'bad..name']}\n"
    )
    exp = expand_yaml(config(installs), HELMRELEASE)
    errors = [(r.field, r.message) for r in exp.results if r.severity == "error"]
    assert errors[0] == (
        "spec.externalDNS[0].domains[0]",
        "must name a domain of `spec.domains`; 'example.net' is not one",
    )
    assert errors[1][0] == "spec.externalDNS[0].domains[1]"
    assert "empty label" in errors[1][1]
    assert text_of(exp, "HelmRelease") == HELMRELEASE.removeprefix("---\n")


def test_a_missing_installation_is_an_error_and_skips_the_filter_check() -> None:
    exp = expand_yaml(config(HR + DEP), HELMRELEASE)
    assert any(
        "Deployment network/external-dns named in `spec.externalDNS[1]` must be in the input" in m
        for m in messages(exp, "error")
    )
    assert not any("let through" in m for m in messages(exp, "warning"))


@pytest.mark.parametrize(
    ("effective", "zone", "expected"),
    [
        (Effective(filters=["example.com"]), "example.com", True),
        (Effective(filters=["example.com"]), "sub.example.com", True),
        (Effective(filters=["example.com"]), "notexample.com", False),
        (Effective(filters=[".example.com"]), "example.com", False),
        (Effective(filters=[".example.com"]), "a.example.com", True),
        (Effective(filters=["Example.COM."]), "example.com", True),
        (Effective(filters=[""]), "example.com", True),
        (Effective(), "example.com", True),
        (Effective(filters=["example.com"], excludes=["example.com"]), "example.com", False),
        (Effective(filters=["${D}"]), "${D}", True),
        (Effective(filters=["other.org"], regex=["regex-domain-filter"]), "example.com", True),
    ],
)
def test_lets_through_follows_the_domain_filter(effective: Effective, zone: str, expected: bool) -> None:
    assert lets_through(effective, zone) is expected


def test_bad_installation_settings_are_config_errors() -> None:
    bad = "    - {kind: HelmRelease, name: x, domains: [], policy: always, txtOwnerId: ''}\n"
    with pytest.raises(ConfigError) as info:
        load_config(load(config(bad)))
    text = str(info.value)
    assert "spec.externalDNS[0].domains:" in text
    assert "spec.externalDNS[0].policy:" in text
    assert "spec.externalDNS[0].txtOwnerId:" in text


# --- wrapper charts: valuesPath ------------------------------------------------------------

WRAPPER_APP = """\
apiVersion: argoproj.io/v1alpha1
kind: Application
metadata:
  name: external-dns
  namespace: argocd
spec:
  project: default
  source:
    repoURL: https://github.com/example/platform.git
    path: charts/external-dns
    targetRevision: main
    helm:
      valuesObject:
        namespace: external-dns
        external-dns:
          provider: {name: google}
          domainFilters: [example.com] # the subchart reads only these
  destination: {server: https://kubernetes.default.svc, namespace: external-dns}
"""


def test_a_wrapper_charts_nested_filters_need_a_values_path() -> None:
    exp = expand_yaml(config(APP), WRAPPER_APP)
    assert messages(exp, "error") == [
        "Application argocd/external-dns holds `domainFilters` under `spec.source.helm.valuesObject.external-dns`, "
        "not at the top of its values: a wrapper chart passes it to its subchart 'external-dns'; set "
        "`spec.externalDNS[0].valuesPath: external-dns` so that krmfn edits it there"
    ]
    assert "domainFilters: [example.com] # the subchart" in text_of(exp, "Application")


def test_with_a_values_path_the_subchart_values_are_edited_in_place() -> None:
    install = "    - {kind: Application, name: external-dns, namespace: argocd, valuesPath: external-dns}\n"
    exp = expand_yaml(config(install), WRAPPER_APP)
    assert messages(exp, "error") == []
    text = text_of(exp, "Application")
    assert text == WRAPPER_APP.replace(
        "domainFilters: [example.com] # the subchart", "domainFilters: [example.com, example.org] # the subchart"
    ).replace("[example.com, example.org]", '["${SECRET_DOMAIN}", example.org]')
    values = of_kind(exp, "Application")[0]["spec"]["source"]["helm"]["valuesObject"]
    assert "domainFilters" not in values, "nothing at the top, where no chart reads it"


def test_a_chart_from_the_repository_without_a_values_path_is_warned_about() -> None:
    plain = WRAPPER_APP.replace(
        "        external-dns:\n          provider: {name: google}\n          domainFilters: [example.com] # the subchart reads only these\n",
        "",
    )
    exp = expand_yaml(config(APP), plain)
    [warning] = [m for m in messages(exp, "warning") if "valuesPath" in m]
    assert warning.startswith(
        "Application argocd/external-dns installs a chart from the repository 'external-dns', not the upstream "
        "external-dns chart, and `spec.externalDNS[0].valuesPath` is not set"
    )
    assert not any("valuesPath" in m for m in messages(expand_yaml(config(APP), APPLICATION), "warning"))


def test_a_helmrelease_of_the_upstream_chart_through_an_oci_mirror_is_upstream() -> None:
    oci = "---\napiVersion: source.toolkit.fluxcd.io/v1\nkind: OCIRepository\nmetadata:\n  name: cloudflare-dns\n"
    oci += "  namespace: network\nspec:\n  url: oci://ghcr.io/home-operations/charts-mirror/external-dns\n"
    exp = expand_yaml(config(HR), HELMRELEASE + oci)
    assert not any("valuesPath" in m for m in messages(exp))
    other = oci.replace("charts-mirror/external-dns", "charts/edge-dns")
    assert any(
        "installs the chart 'edge-dns'" in m for m in messages(expand_yaml(config(HR), HELMRELEASE + other), "warning")
    )


def test_a_values_path_through_a_scalar_is_an_error() -> None:
    install = "    - {kind: HelmRelease, name: cloudflare-dns, namespace: network, valuesPath: provider.x}\n"
    exp = expand_yaml(config(install), HELMRELEASE)
    assert messages(exp, "error") == [
        "HelmRelease network/cloudflare-dns: `spec.values.provider` must be a mapping to hold the chart's values "
        "(`spec.externalDNS[0].valuesPath` is 'provider.x')"
    ]
