"""`krmfn init` on wrapper charts: external-dns and the tunnel configured in a local chart's values file.

The values files carry the path annotation `kpt fn source` (or `krmfn init DIR`) gives every
item; the chart a file configures is read from the ``Chart.yaml`` beside it.
"""

from __future__ import annotations

from typing import Any

from conftest import items_of
from manifests import kpt_item, wrapper_chart

from krmfn.adopt import describe
from krmfn.api.config import load_config
from krmfn.krm.yamltext import load


def external_dns_values(key: str = "external-dns", filters: str = "[example.com, example.org]", **kw: str) -> str:
    path = kw.get("path", "system/external-dns/values.yaml")
    return kpt_item(path, f"{key}:\n  provider: cloudflare\n  domainFilters: {filters}\n  sources: [ingress]\n")


def cloudflared_values(rules: str = "'*.example.com'") -> str:
    return kpt_item(
        "system/cloudflared/values.yaml",
        f"""\
app-template:
  configMaps:
    routes:
      data:
        config.yaml: |
          tunnel: homelab
          ingress:
            - hostname: {rules}
              service: https://ingress-nginx-controller.ingress-nginx
              originRequest:
                noTLSVerify: true
            - service: http_status:404
""",
    )


def init(*documents: str) -> tuple[str, dict[str, Any]]:
    text, results = describe(items_of("---\n".join(documents)))
    assert [r for r in results if r.severity == "error"] == [], results
    data = load(text)
    load_config(data)
    return text, data


def test_an_external_dns_values_file_is_a_helm_values_installation() -> None:
    text, data = init(wrapper_chart("system/external-dns", "external-dns"), external_dns_values())
    assert data["spec"]["externalDNS"] == [
        {
            "kind": "HelmValues",
            "name": "external-dns",
            "file": "system/external-dns/values.yaml",
            "valuesPath": "external-dns",
        }
    ]
    assert [d["name"] for d in data["spec"]["domains"]] == ["example.com", "example.org"]
    assert "    - kind: HelmValues  # from values file system/external-dns/values.yaml\n" in text
    assert "valuesPath: external-dns  # from the dependency 'external-dns' of system/external-dns/Chart.yaml" in text
    # the filters are exactly the domains: the render leaves the file as it is
    assert "# A render with this config changes nothing." in text


def test_the_subchart_key_is_the_dependencys_alias_and_a_cluster_file_is_named_for_its_cluster() -> None:
    _, data = init(
        wrapper_chart("charts/dns", "external-dns", alias="public"),
        external_dns_values("public", "[dev.example.com]", path="charts/dns/values.dev-01.yaml"),
    )
    (entry,) = data["spec"]["externalDNS"]
    assert (entry["name"], entry["file"], entry["valuesPath"]) == (
        "dns-dev-01",
        "charts/dns/values.dev-01.yaml",
        "public",
    )


def test_a_values_file_is_not_an_installation_without_its_chart_or_of_another_chart() -> None:
    values = external_dns_values()
    for documents in ([values], [wrapper_chart("system/external-dns", "app-template"), values]):
        text, results = describe(items_of("---\n".join(documents)))
        assert text == ""
        assert "the input must name at least one domain" in results[-1].message


def test_an_external_dns_values_file_without_filters_is_left_out_and_said_so() -> None:
    text, data = init(
        wrapper_chart("system/external-dns", "external-dns"),
        kpt_item("system/external-dns/values.yaml", "external-dns:\n  provider: cloudflare\n"),
        wrapper_chart("system/cloudflared", "app-template"),
        cloudflared_values(),
    )
    assert "externalDNS" not in data["spec"]
    assert "values file system/external-dns/values.yaml has no domain filter under `external-dns`" in text


def test_a_cloudflared_values_file_is_the_helm_values_tunnel() -> None:
    text, data = init(wrapper_chart("system/cloudflared", "app-template"), cloudflared_values())
    assert data["spec"]["domains"] == [{"name": "example.com"}]
    assert data["spec"]["tunnel"] == {
        "kind": "HelmValues",
        "name": "cloudflared",
        "file": "system/cloudflared/values.yaml",
        "valuesPath": "app-template",
        "service": "https://ingress-nginx-controller.ingress-nginx",
        "originRequest": {"noTLSVerify": True},
        "configMap": "routes",
    }
    assert "  tunnel:\n    kind: HelmValues  # from values file system/cloudflared/values.yaml\n" in text
    assert "valuesPath: app-template  # from the dependency 'app-template' of system/cloudflared/Chart.yaml" in text
    assert "name: example.com  # from values file system/cloudflared/values.yaml tunnel rule *.example.com" in text


def test_app_template_values_without_a_cloudflared_config_are_no_tunnel() -> None:
    app = kpt_item("apps/blog/values.yaml", "app-template:\n  configMaps:\n    web:\n      data:\n        a: b\n")
    _, data = init(
        wrapper_chart("system/external-dns", "external-dns"),
        external_dns_values(),
        wrapper_chart("apps/blog", "app-template"),
        app,
    )
    assert "tunnel" not in data["spec"]
