"""Installations whose settings live in a local chart's values file (`kind: HelmValues`).

The values files here carry the path annotation `kpt fn source` adds to every item; a
values file reaches krmfn no other way (``kpt fn render`` refuses non-KRM YAML).
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from conftest import expand_yaml, items_of, messages
from manifests import domains, kpt_item, multidomain

from krmfn.api.config import load_config
from krmfn.cli import report
from krmfn.concerns.valueroutes import read
from krmfn.context import Context
from krmfn.errors import ConfigError
from krmfn.expand import Expansion
from krmfn.krm.yamltext import load

EXTERNAL_DNS_CHART = kpt_item(
    "system/external-dns/Chart.yaml",
    """\
apiVersion: v2
name: external-dns
version: 0.0.0
dependencies:
  - name: external-dns
    version: 1.14.3
    repository: https://kubernetes-sigs.github.io/external-dns
""",
)

EXTERNAL_DNS_VALUES = kpt_item(
    "system/external-dns/values.yaml",
    """\
# The chart's defaults: every zone the token can read
external-dns:
  provider: cloudflare  # the token is made by Terraform
  txtOwnerId: &owner homelab
  labels:
    owner: *owner
  interval: 5m
""",
)


def external_dns(values_path: str | None = "external-dns", file: str = "system/external-dns/values.yaml") -> str:
    entry = f"    - kind: HelmValues\n      name: external-dns\n      namespace: external-dns\n      file: {file}\n"
    entry += f"      valuesPath: {values_path}\n" if values_path else ""
    return multidomain(domains("example.com", "example.org"), "  externalDNS:\n" + entry)


def values_text(exp: Expansion, path: str) -> str:
    (item,) = [i for i in exp.items if i.path == path]
    return item.text


def test_a_values_file_installation_gets_its_filters_under_the_subchart_key() -> None:
    exp = expand_yaml(external_dns(), "---\n".join([EXTERNAL_DNS_CHART, EXTERNAL_DNS_VALUES]))
    text = values_text(exp, "system/external-dns/values.yaml")
    assert load(text)["external-dns"]["domainFilters"] == ["example.com", "example.org"]
    assert "domainFilters" not in load(text)  # not at the top, where the wrapper chart never reads it
    # a text edit: comments, the anchor and its alias as written
    assert "# The chart's defaults: every zone the token can read\n" in text
    assert "provider: cloudflare  # the token is made by Terraform\n" in text
    assert "txtOwnerId: &owner homelab\n" in text
    assert "owner: *owner\n" in text
    before = EXTERNAL_DNS_VALUES.splitlines()
    added = [line.strip() for line in text.splitlines() if line not in before]
    assert added == ["domainFilters:", "- example.com", "- example.org"]
    assert "patched values file system/external-dns/values.yaml: set `external-dns.domainFilters`" in messages(exp)
    # it had no filter: one info that says what changes, no token warning
    (note,) = [m for m in messages(exp, "info") if "had no domain filter" in m]
    assert "now manages example.com, example.org only" in note
    assert messages(exp, "warning") == []
    assert messages(exp, "error") == []


def test_a_second_run_changes_nothing() -> None:
    first = expand_yaml(external_dns(), "---\n".join([EXTERNAL_DNS_CHART, EXTERNAL_DNS_VALUES]))
    again = expand_yaml(external_dns(), "---\n".join(i.text for i in first.items))
    assert "0 pruned, 0 patched" in messages(again)[-1]
    assert values_text(again, "system/external-dns/values.yaml") == values_text(
        first, "system/external-dns/values.yaml"
    )


def test_a_nested_values_path() -> None:
    values = kpt_item(
        "charts/dns/values.yaml",
        "platform:\n  external-dns:\n    domainFilters: [example.com]\n    provider: cloudflare\n",
    )
    exp = expand_yaml(external_dns("platform.external-dns", "charts/dns/values.yaml"), values)
    text = values_text(exp, "charts/dns/values.yaml")
    assert load(text)["platform"]["external-dns"]["domainFilters"] == ["example.com", "example.org"]
    assert "set `platform.external-dns.domainFilters`" in " ".join(messages(exp))
    assert not any("had no domain filter" in m for m in messages(exp))  # it had one


def test_a_values_path_through_a_scalar_is_an_error_naming_the_file() -> None:
    values = kpt_item("charts/dns/values.yaml", "external-dns: disabled\n")
    exp = expand_yaml(external_dns("external-dns", "charts/dns/values.yaml"), values)
    (error,) = messages(exp, "error")
    assert error.startswith("values file charts/dns/values.yaml: `external-dns` must be a mapping")
    (result,) = [res for res in exp.results if res.severity == "error"]
    assert result.file == "charts/dns/values.yaml"
    assert result.resource is None  # a values file is not a resource: no made-up resourceRef


def test_filters_under_a_subchart_key_without_a_values_path_are_an_error() -> None:
    values = kpt_item("system/external-dns/values.yaml", "external-dns:\n  domainFilters: [example.com]\n")
    exp = expand_yaml(external_dns(None), "---\n".join([EXTERNAL_DNS_CHART, values]))
    (error,) = messages(exp, "error")
    assert "holds `domainFilters` under `external-dns`" in error
    assert "set `spec.externalDNS[0].valuesPath: external-dns`" in error
    assert values_text(exp, "system/external-dns/values.yaml") == values  # unchanged


def test_a_values_file_not_in_the_input_is_an_error_that_says_why() -> None:
    """Under `kpt fn render` the file had to be kpt-ignored: the message says to use the pipe."""
    exp = expand_yaml(external_dns(), EXTERNAL_DNS_CHART)
    (error,) = messages(exp, "error")
    assert error.startswith("system/external-dns/values.yaml named in `spec.externalDNS[0]` must be in the input")
    assert "`kpt fn render` refuses it" in error
    assert "kpt fn source PKG --fn-config CONFIG | krmfn | kpt fn sink OUT" in error
    assert "krmfn plan DIR" in error
    (result,) = [res for res in exp.results if res.severity == "error"]
    assert result.field == "spec.externalDNS[0].file"


def test_a_values_file_of_several_documents_is_refused() -> None:
    path = "system/external-dns/values.yaml"
    exp = expand_yaml(external_dns(), "---\n".join([kpt_item(path, "a: 1\n"), kpt_item(path, "b: 2\n")]))
    (error,) = messages(exp, "error")
    assert "must hold one YAML document to edit; it holds 2" in error


def test_the_file_is_found_whatever_the_spelling_of_its_path() -> None:
    values = kpt_item("./system/external-dns/values.yaml", "external-dns:\n  provider: cloudflare\n")
    exp = expand_yaml(external_dns(), values)
    assert messages(exp, "error") == []
    (item,) = [i for i in exp.items if "external-dns" in i.text]
    assert load(item.text)["external-dns"]["domainFilters"] == ["example.com", "example.org"]


# --- the config ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("entry", "problem"),
    [
        ("kind: HelmValues, name: x", "spec.externalDNS[0].file: is required for HelmValues"),
        (
            "kind: HelmRelease, name: x, file: a/values.yaml",
            "spec.externalDNS[0].file: must not be set for a HelmRelease",
        ),
        ("kind: HelmValues, name: x, file: ../values.yaml", "must be a relative path to a .yaml file"),
        ("kind: HelmValues, name: x, file: /abs/values.yaml", "must be a relative path to a .yaml file"),
        ("kind: HelmValues, name: x, file: a/values.json", "must be a relative path to a .yaml file"),
    ],
)
def test_the_file_field(entry: str, problem: str) -> None:
    text = multidomain(domains("example.com"), f"  externalDNS:\n    - {{{entry}}}\n")
    with pytest.raises(ConfigError) as raised:
        load_config(load(text))
    assert problem in str(raised.value)


def test_a_tunnel_entry_needs_its_file() -> None:
    text = multidomain(
        domains("example.com"), "  tunnel: {kind: HelmValues, name: cloudflared, service: 'http://svc:80'}\n"
    )
    with pytest.raises(ConfigError) as raised:
        load_config(load(text))
    assert "spec.tunnel.file: is required for HelmValues" in str(raised.value)


# --- the tunnel ------------------------------------------------------------------------


CLOUDFLARED_VALUES = kpt_item(
    "system/cloudflared/values.yaml",
    """\
app-template:
  configMaps:
    config:
      enabled: true
      data:
        # the routing table of a locally managed tunnel
        config.yaml: |
          tunnel: homelab
          credentials-file: /etc/cloudflared/credentials.json
          ingress:
            - hostname: '*.example.com'
              service: https://ingress-nginx-controller.ingress-nginx
              originRequest:
                noTLSVerify: true
            - service: http_status:404
  persistence:
    config:
      name: &cm cloudflared-config
      type: configMap
    other:
      name: *cm
""",
)

TUNNEL = """\
  tunnel:
    kind: HelmValues
    name: cloudflared
    namespace: cloudflared
    file: system/cloudflared/values.yaml
    valuesPath: app-template
    service: https://ingress-nginx-controller.ingress-nginx
    originRequest:
      noTLSVerify: true
"""


def test_the_tunnel_in_a_values_file() -> None:
    config = multidomain(
        domains("example.com", "example.org"), "  gateways:\n    - {name: nginx, kind: IngressClass}\n"
    )
    exp = expand_yaml(config + TUNNEL, CLOUDFLARED_VALUES)
    assert messages(exp, "error") == []
    text = values_text(exp, "system/cloudflared/values.yaml")
    data = load(text)
    inner = load(data["app-template"]["configMaps"]["config"]["data"]["config.yaml"])
    hosts = [rule.get("hostname") for rule in inner["ingress"]]
    assert hosts == ["example.com", "*.example.com", "example.org", "*.example.org", None]
    for rule in inner["ingress"][:-1]:
        # the user's setting kept and given to the new rules; no server name nothing serves
        assert rule["originRequest"] == {"noTLSVerify": True}, rule
        assert rule["service"] == "https://ingress-nginx-controller.ingress-nginx"
    assert inner["tunnel"] == "homelab"
    assert inner["credentials-file"] == "/etc/cloudflared/credentials.json"
    # the string stays a `|` block under its comment; the anchor stays
    assert "        # the routing table of a locally managed tunnel\n        config.yaml: |\n" in text
    assert "name: &cm cloudflared-config\n" in text
    assert "name: *cm\n" in text
    assert "patched values file system/cloudflared/values.yaml: added tunnel rules for" in " ".join(messages(exp))
    again = expand_yaml(config + TUNNEL, text)
    assert "0 pruned, 0 patched" in messages(again)[-1]


def test_the_tunnel_values_file_missing() -> None:
    exp = expand_yaml(multidomain(domains("example.com")) + TUNNEL, EXTERNAL_DNS_CHART)
    assert any(m.startswith("system/cloudflared/values.yaml named in `spec.tunnel`") for m in messages(exp, "error"))


# --- routes in values files ------------------------------------------------------------


def chart(directory: str, *dependencies: str) -> str:
    deps = "".join(
        f"  - name: {d}\n    version: 1.0.0\n    repository: https://charts.example.net\n" for d in dependencies
    )
    return kpt_item(f"{directory}/Chart.yaml", f"apiVersion: v2\nname: wrapper\nversion: 0.0.0\ndependencies:\n{deps}")


MATRIX_VALUES = kpt_item(
    "apps/matrix/values.yaml",
    """\
elementweb:
  ingress:
    enabled: true
    className: nginx
    hosts:
      - host: &frontend chat.example.com
        paths: [{path: /, pathType: Prefix}]
    tls:
      - secretName: element-tls
        hosts: [*frontend]
dendrite:
  ingress:
    enabled: true
    className: nginx
    hostName: matrix.example.org
notachart:
  ingress:
    hosts: [ignored.example.com]
""",
)

ARGOCD_VALUES = kpt_item(
    "system/argocd/values.yaml",
    """\
argo-cd:
  global:
    domain: argocd.example.com
  server:
    ingress:
      enabled: true
      ingressClassName: nginx
      tls: true
""",
)

ROUTES_CONFIG = multidomain(
    domains("example.com", "example.org"), "  gateways:\n    - {name: nginx, kind: IngressClass}\n"
)


def ingresses_of(stream: str, config: str = ROUTES_CONFIG) -> dict[str, tuple[str, str | None, str]]:
    """host → (Ingress name, class, the field it is read from), for every Ingress from values."""

    found = read(Context(load_config(load(config)), items_of(stream)))
    assert found.problems == []
    return {
        host: (ing.name, ing.class_name, ing.host_fields[i])
        for ing in found.ingresses
        for i, host in enumerate(ing.hosts)
    }


def test_ingress_hosts_of_a_wrapper_charts_values_file() -> None:
    hosts = ingresses_of("---\n".join([chart("apps/matrix", "elementweb", "dendrite"), MATRIX_VALUES]))
    assert hosts == {
        "chat.example.com": ("matrix", "nginx", "elementweb.ingress.hosts[0].host"),
        # dendrite's chart takes one host, `hostName`
        "matrix.example.org": ("matrix", "nginx", "dendrite.ingress.hostName"),
    }  # `notachart` is no dependency of the chart: nothing renders its values


def test_argo_cd_server_ingress_takes_its_host_from_the_global_domain() -> None:
    hosts = ingresses_of("---\n".join([chart("system/argocd", "argo-cd", "argocd-apps"), ARGOCD_VALUES]))
    assert hosts == {"argocd.example.com": ("argocd-server", "nginx", "argo-cd.global.domain")}
    explicit = ARGOCD_VALUES.replace("      tls: true\n", "      tls: true\n      hostname: cd.example.org\n")
    hosts = ingresses_of("---\n".join([chart("system/argocd", "argo-cd"), explicit]))
    assert hosts == {"cd.example.org": ("argocd-server", "nginx", "argo-cd.server.ingress.hostname")}


def test_a_values_file_without_its_chart_is_not_read() -> None:
    """Only `values.yaml` beside a `Chart.yaml` is what Helm renders by default."""
    assert ingresses_of(MATRIX_VALUES) == {}
    other = MATRIX_VALUES.replace("apps/matrix/values.yaml", "apps/matrix/values-dev.yaml")
    assert ingresses_of("---\n".join([chart("apps/matrix", "elementweb", "dendrite"), other])) == {}


def test_a_configured_values_file_gives_the_release_name() -> None:
    """`{{ .Release.Name }}` resolves when a HelmValues entry names the file (and so the release)."""
    values = kpt_item(
        "apps/web/values.yaml",
        "app-template:\n  ingress:\n    main:\n      className: nginx\n"
        "      hosts:\n        - host: '{{ .Release.Name }}.example.com'\n",
    )
    stream = "---\n".join([chart("apps/web", "app-template"), values])
    config = ROUTES_CONFIG + (
        "  externalDNS:\n    - {kind: HelmValues, name: www, file: apps/web/values.yaml, valuesPath: app-template}\n"
    )
    assert ingresses_of(stream, config) == {
        "www.example.com": ("www", "nginx", "app-template.ingress.main.hosts[0].host")
    }


def test_plan_of_a_directory_lists_the_values_files_hosts(tmp_path: Path) -> None:
    """`krmfn plan DIR` reads the chart files as `kpt fn source` would, without annotations."""
    root = tmp_path
    files = {
        "Kptfile": "apiVersion: kpt.dev/v1\nkind: Kptfile\nmetadata:\n  name: x\npipeline:\n  mutators:\n"
        "    - exec: krmfn\n      configPath: multidomain.yaml\n",
        "multidomain.yaml": ROUTES_CONFIG.replace(
            "  name: edge\n", "  name: edge\n  annotations: {config.kubernetes.io/local-config: 'true'}\n"
        ),
        "apps/matrix/Chart.yaml": chart("apps/matrix", "elementweb", "dendrite").split("\nmetadata:")[0] + "\n",
        "apps/matrix/values.yaml": MATRIX_VALUES.split("\nmetadata:")[0] + "\n",
    }
    for name, text in files.items():
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        (root / name).write_text(text)
    text, code = report(b"", None, "plan", as_json=True, directory=str(root))
    assert code == 0, text
    hosts = {h["name"]: h for d in json.loads(text)["domains"] for h in d["hostnames"]}
    assert hosts["chat.example.com"]["sources"] == [
        {
            "resource": {
                "kind": "HelmValues",
                "namespace": None,
                "name": "apps/matrix/values.yaml",
                "file": "apps/matrix/values.yaml",
            },
            "field": "elementweb.ingress.hosts[0].host",
        }
    ]
    assert "matrix.example.org" in hosts


def test_a_values_file_krmfn_cannot_read_is_passed_through() -> None:
    """Read only for its routes, a broken values file is no reason to stop (issue 11.1)."""
    broken = kpt_item("apps/web/values.yaml", "app-template:\n  ingress: {}\napp-template:\n  ingress: {}\n")
    stream = "---\n".join([chart("apps/web", "app-template"), broken])
    assert ingresses_of(stream) == {}
    exp = expand_yaml(ROUTES_CONFIG, stream)
    assert messages(exp, "error") == []
    assert [i.text for i in exp.items if i.path == "apps/web/values.yaml"] == [broken]
