"""tests/fluxtree.py emulates kustomize-controller; these pin it to what Flux does."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import fluxtree
import pytest
from fluxtree import FluxError, FluxKustomization, envsubst

EXAMPLES = Path(__file__).resolve().parents[1] / "examples"
FLUX_FIXTURES = sorted(p.name for p in EXAMPLES.iterdir() if (p / "flux-vars.env").is_file())
UK = {"SECRET_DOMAIN": "example.co.uk", "EMPTY": ""}


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("${SECRET_DOMAIN}", "example.co.uk"),
        ("${SECRET_DOMAIN/./-}-production-tls", "example-co.uk-production-tls"),
        ("${SECRET_DOMAIN//./-}-production-tls", "example-co-uk-production-tls"),
        ("${SECRET_DOMAIN/./}", "exampleco.uk"),
        ("${SECRET_DOMAIN//co/org}", "example.org.uk"),
        ("${MISSING:=fallback}", "fallback"),
        ("${MISSING:-fallback}", "fallback"),
        ("${MISSING=fallback}", "fallback"),
        ("${EMPTY:=fallback}", "fallback"),
        ("${SECRET_DOMAIN:=fallback}", "example.co.uk"),
        ("${MISSING:=${SECRET_DOMAIN}}", "example.co.uk"),
        ("$${SECRET_DOMAIN}", "${SECRET_DOMAIN}"),
        ("cost: $$5 and $HOME", "cost: $5 and $HOME"),
        ('"{{ .Release.Name }}.${SECRET_DOMAIN}"', '"{{ .Release.Name }}.example.co.uk"'),
        ("a: ${SECRET_DOMAIN}\nb: ${SECRET_DOMAIN//./-}\n", "a: example.co.uk\nb: example-co-uk\n"),
    ],
)
def test_envsubst_forms(text: str, expected: str) -> None:
    assert envsubst(text, UK) == expected


def test_strict_mode_names_the_missing_variable() -> None:
    with pytest.raises(FluxError, match='"SECRET_DOMAIN_TWO"'):
        envsubst("host: app.${SECRET_DOMAIN_TWO}", UK)
    with pytest.raises(FluxError, match='"SECRET_DOMAIN_TWO"'):
        envsubst("${SECRET_DOMAIN_TWO/./-}", UK)


def test_non_strict_mode_renders_a_missing_variable_empty() -> None:
    assert envsubst("app.${SECRET_DOMAIN_TWO}", UK, strict=False) == "app."


@pytest.mark.parametrize("text", ["${SECRET_DOMAIN-default}", "${SECRET_DOMAIN", "${ SECRET_DOMAIN }"])
def test_forms_flux_cannot_parse_are_errors(text: str) -> None:
    with pytest.raises(FluxError):
        envsubst(text, UK)


def test_forms_not_emulated_say_so() -> None:
    with pytest.raises(FluxError, match="does not emulate"):
        envsubst("${SECRET_DOMAIN%.uk}", UK)


def test_read_vars(tmp_path: Path) -> None:
    env = tmp_path / "flux-vars.env"
    env.write_text('# decrypted cluster-secrets\nSECRET_DOMAIN=example.com\n\nSECRET_DOMAIN_TWO="example.org"\n')
    assert fluxtree.read_vars(env) == {"SECRET_DOMAIN": "example.com", "SECRET_DOMAIN_TWO": "example.org"}


# --- small trees ---------------------------------------------------------------------------


def write(root: Path, files: dict[str, str]) -> Path:
    for name, text in files.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    return root


def kinds(docs: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    return {f"{d['kind']}/{d['metadata']['name']}": d for d in docs}


APP = """\
---
apiVersion: v1
kind: ConfigMap
metadata:
  name: settings
data:
  host: app.${SECRET_DOMAIN}
---
apiVersion: cert-manager.io/v1
kind: ClusterIssuer
metadata:
  name: letsencrypt-production
spec: {acme: {server: https://acme-v02.api.letsencrypt.org/directory}}
---
apiVersion: v1
kind: Namespace
metadata:
  name: network
"""


def test_target_namespace_sets_namespaced_resources_only(tmp_path: Path) -> None:
    write(tmp_path, {"app/resources.yaml": APP})
    ks = FluxKustomization(name="app", namespace="flux-system", path="app", file="ks.yaml", target_namespace="network")
    docs = kinds(fluxtree.build(tmp_path, ks, {"SECRET_DOMAIN": "example.com"}))
    assert docs["ConfigMap/settings"]["metadata"]["namespace"] == "network"
    assert "namespace" not in docs["ClusterIssuer/letsencrypt-production"]["metadata"]
    assert "namespace" not in docs["Namespace/network"]["metadata"]
    assert docs["ConfigMap/settings"]["data"]["host"] == "app.${SECRET_DOMAIN}", "no substituteFrom: not substituted"


def test_substitution_runs_with_substitute_from_and_substitute_overrides(tmp_path: Path) -> None:
    write(tmp_path, {"app/resources.yaml": APP})
    ks = FluxKustomization(
        name="app",
        namespace="flux-system",
        path="app",
        file="ks.yaml",
        substitute_from=[{"kind": "Secret", "name": "cluster-secrets"}],
    )
    assert kinds(fluxtree.build(tmp_path, ks, {"SECRET_DOMAIN": "example.com"}))["ConfigMap/settings"]["data"] == {
        "host": "app.example.com"
    }
    inline = FluxKustomization(
        name="app",
        namespace="flux-system",
        path="app",
        file="ks.yaml",
        substitute={"SECRET_DOMAIN": "example.net"},
        substitute_from=[{"kind": "Secret", "name": "cluster-secrets"}],
    )
    docs = kinds(fluxtree.build(tmp_path, inline, {"SECRET_DOMAIN": "example.com"}))
    assert docs["ConfigMap/settings"]["data"] == {"host": "app.example.net"}


def test_substitute_disabled_by_label_or_annotation(tmp_path: Path) -> None:
    cm = "---\napiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: {name}\n  {where}:\n    kustomize.toolkit.fluxcd.io/substitute: disabled\ndata:\n  script: echo ${{HOME}}\n"
    write(
        tmp_path,
        {
            "app/a.yaml": cm.format(name="a", where="labels"),
            "app/b.yaml": cm.format(name="b", where="annotations"),
        },
    )
    ks = FluxKustomization(name="app", namespace="flux-system", path="app", file="ks.yaml", substitute={"X": "1"})
    docs = kinds(fluxtree.build(tmp_path, ks, {}))
    assert docs["ConfigMap/a"]["data"]["script"] == docs["ConfigMap/b"]["data"]["script"] == "echo ${HOME}"


def test_strict_build_error_names_the_kustomization_and_resource(tmp_path: Path) -> None:
    write(tmp_path, {"app/resources.yaml": APP})
    ks = FluxKustomization(name="app", namespace="network", path="app", file="ks.yaml", substitute={"OTHER": "1"})
    with pytest.raises(FluxError, match=r'network/app: ConfigMap/settings: .*"SECRET_DOMAIN"'):
        fluxtree.build(tmp_path, ks, {})


def test_patches_and_components_join_the_existing_kustomization(tmp_path: Path) -> None:
    write(
        tmp_path,
        {
            "app/kustomization.yaml": "---\napiVersion: kustomize.config.k8s.io/v1beta1\nkind: Kustomization\nnamespace: wrong\nresources: [./resources.yaml]\n",
            "app/resources.yaml": APP,
            "components/extra/kustomization.yaml": "apiVersion: kustomize.config.k8s.io/v1alpha1\nkind: Component\nresources: [./secret.yaml]\n",
            "components/extra/secret.yaml": "apiVersion: v1\nkind: Secret\nmetadata:\n  name: cluster-secrets\n",
        },
    )
    patch = "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: _\n  labels:\n    patched: 'yes'\n"
    ks = FluxKustomization(
        name="app",
        namespace="flux-system",
        path="app",
        file="ks.yaml",
        target_namespace="network",
        patches=[{"patch": patch, "target": {"kind": "ConfigMap"}}],
        components=["../components/extra"],
    )
    docs = kinds(fluxtree.build(tmp_path, ks, None))
    assert docs["ConfigMap/settings"]["metadata"]["labels"] == {"patched": "yes"}
    assert docs["Secret/cluster-secrets"]["metadata"]["namespace"] == "network", "targetNamespace beats namespace:"
    assert (tmp_path / "app/kustomization.yaml").read_text().count("namespace: wrong") == 1, "the tree is untouched"


FLUX_TREE = {
    "kubernetes/apps/flux-system/flux-instance/app/helmrelease.yaml": """\
---
apiVersion: helm.toolkit.fluxcd.io/v2
kind: HelmRelease
metadata:
  name: flux-instance
spec:
  values:
    instance:
      sync: {kind: GitRepository, path: kubernetes/flux/cluster}
""",
    "kubernetes/flux/cluster/ks.yaml": """\
---
apiVersion: kustomize.toolkit.fluxcd.io/v1
kind: Kustomization
metadata:
  name: cluster-apps
  namespace: flux-system
spec:
  path: ./kubernetes/apps
  sourceRef: {kind: GitRepository, name: flux-system}
  patches:
    - patch: |-
        apiVersion: kustomize.toolkit.fluxcd.io/v1
        kind: Kustomization
        metadata:
          name: _
        spec:
          postBuild:
            substituteFrom:
              - {kind: Secret, name: cluster-secrets}
      target: {group: kustomize.toolkit.fluxcd.io, kind: Kustomization}
""",
    "kubernetes/apps/network/kustomization.yaml": """\
---
apiVersion: kustomize.config.k8s.io/v1beta1
kind: Kustomization
namespace: network
resources: [./namespace.yaml, ./echo/ks.yaml, ./shared/ks.yaml]
""",
    "kubernetes/apps/network/namespace.yaml": "---\napiVersion: v1\nkind: Namespace\nmetadata:\n  name: network\n",
    "kubernetes/apps/network/echo/ks.yaml": """\
---
apiVersion: kustomize.toolkit.fluxcd.io/v1
kind: Kustomization
metadata:
  name: echo
spec:
  path: ./kubernetes/apps/network/echo/app
  targetNamespace: network
  dependsOn: [{name: shared}]
  sourceRef: {kind: GitRepository, name: flux-system, namespace: flux-system}
""",
    "kubernetes/apps/network/echo/app/kustomization.yaml": "resources: [./route.yaml]\n",
    "kubernetes/apps/network/echo/app/route.yaml": """\
---
apiVersion: gateway.networking.k8s.io/v1
kind: HTTPRoute
metadata:
  name: echo
spec:
  hostnames: ["echo.${SECRET_DOMAIN}"]
""",
    "kubernetes/apps/network/shared/ks.yaml": """\
---
apiVersion: kustomize.toolkit.fluxcd.io/v1
kind: Kustomization
metadata:
  name: shared
spec:
  path: ./kubernetes/apps/network/shared/app
  targetNamespace: network
  sourceRef: {kind: GitRepository, name: flux-system, namespace: flux-system}
""",
    # no kustomization.yaml at this path: Flux generates one
    "kubernetes/apps/network/shared/app/route.yaml": "---\napiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: shared\n",
    "kubernetes/apps/network/shared/app/extra/cm.yaml": "---\napiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: extra\n",
    "kubernetes/apps/network/shared/app/nested/kustomization.yaml": "resources: [./cm.yaml]\n",
    "kubernetes/apps/network/shared/app/nested/cm.yaml": "---\napiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: nested\n",
}


def test_recursion_from_the_sync_path(tmp_path: Path) -> None:
    result = fluxtree.applied(write(tmp_path, FLUX_TREE), {"SECRET_DOMAIN": "example.com"})
    assert list(result.kustomizations) == [
        "flux-system/flux-system",
        "flux-system/cluster-apps",
        "network/echo",
        "network/shared",
    ]
    echo = result.kustomizations["network/echo"]
    assert echo.file == "kubernetes/apps/network/echo/ks.yaml"
    assert echo.depends_on == ["network/shared"]
    assert echo.substitute_from == [{"kind": "Secret", "name": "cluster-secrets"}], "the parent's patch reached it"
    assert result.builds["network/echo"][0]["spec"]["hostnames"] == ["echo.example.com"]
    assert result.files["network/echo"] == ["kubernetes/apps/network/echo/app/route.yaml"]
    # no kustomization.yaml at the path: Flux lists the files and the kustomization directories
    assert sorted(result.files["network/shared"]) == [
        "kubernetes/apps/network/shared/app/extra/cm.yaml",
        "kubernetes/apps/network/shared/app/nested/cm.yaml",
        "kubernetes/apps/network/shared/app/route.yaml",
    ]
    assert fluxtree.problems(result.builds) == []


def test_without_a_sync_path_every_ks_yaml_is_a_root(tmp_path: Path) -> None:
    tree = {k: v for k, v in FLUX_TREE.items() if "flux-instance" not in k}
    names = [ks.key for ks in fluxtree.flux_kustomizations(write(tmp_path, tree))]
    assert sorted(names) == [
        "flux-system/cluster-apps",
        "flux-system/echo",
        "flux-system/shared",
        "network/echo",
        "network/shared",
    ]


# --- problems ------------------------------------------------------------------------------


def cert(name: str, secret: str, ns: str = "network") -> dict[str, Any]:
    return {
        "apiVersion": "cert-manager.io/v1",
        "kind": "Certificate",
        "metadata": {"name": name, "namespace": ns},
        "spec": {"secretName": secret},
    }


def test_problems_on_consistent_docs_is_empty() -> None:
    assert fluxtree.problems([cert("a", "a-tls"), cert("b", "b-tls"), cert("a", "a-tls", ns="other")]) == []


def test_problem_two_certificates_with_one_name() -> None:
    assert fluxtree.problems({"one": [cert("a", "a-tls")], "two": [cert("a", "b-tls")]}) == [
        "two Certificates named network/a",
        "Certificate network/a applied 2 times, by one, two",
    ]


def test_problem_two_certificates_write_one_secret() -> None:
    assert fluxtree.problems([cert("a", "same-tls"), cert("b", "same-tls")]) == [
        "Certificates a and b in network both write Secret same-tls"
    ]


def test_problem_listener_lists_a_secret_twice() -> None:
    gateway = {
        "apiVersion": "gateway.networking.k8s.io/v1",
        "kind": "Gateway",
        "metadata": {"name": "envoy-external", "namespace": "network"},
        "spec": {
            "listeners": [
                {
                    "name": "https",
                    "tls": {
                        "certificateRefs": [
                            {"kind": "Secret", "name": "example-com-production-tls"},
                            {"kind": "Secret", "name": "example-com-production-tls", "namespace": "network"},
                        ]
                    },
                }
            ]
        },
    }
    assert fluxtree.problems([gateway]) == [
        "Gateway network/envoy-external listener https: Secret example-com-production-tls listed twice"
    ]


def test_problem_multidomain_applied() -> None:
    md = {"apiVersion": "krmfn.dev/v1alpha1", "kind": "MultiDomain", "metadata": {"name": "edge"}}
    assert fluxtree.problems([md]) == ["MultiDomain -/edge: a krmfn config is applied to the cluster"]


def test_problem_placeholder_left() -> None:
    route = {
        "kind": "HTTPRoute",
        "metadata": {"name": "echo", "namespace": "default"},
        "spec": {"hostnames": ["echo.${SECRET_DOMAIN_TWO}"]},
    }
    assert fluxtree.problems([route]) == [
        "HTTPRoute default/echo.spec.hostnames[0]: unsubstituted 'echo.${SECRET_DOMAIN_TWO}'"
    ]


def test_placeholders_flux_was_told_to_leave_are_no_problem() -> None:
    config = {
        "kind": "ConfigMap",
        "metadata": {
            "name": "gatus",
            "namespace": "o11y",
            "annotations": {"kustomize.toolkit.fluxcd.io/substitute": "disabled"},
        },
        "data": {"config.yaml": "token: ${PUSHOVER_TOKEN}"},
    }
    assert fluxtree.problems([config]) == []


def test_problem_resource_applied_by_two_kustomizations(tmp_path: Path) -> None:
    tree = dict(FLUX_TREE)
    tree["kubernetes/apps/network/echo/app/kustomization.yaml"] = (
        "resources: [./route.yaml, ../../shared/app/route.yaml]\n"
    )
    result = fluxtree.applied(write(tmp_path, tree), {"SECRET_DOMAIN": "example.com"})
    assert fluxtree.problems(result.builds) == [
        "ConfigMap network/shared applied 2 times, by network/echo, network/shared"
    ]


# --- the real-layout fixtures are valid repositories before any render --------------------


@pytest.mark.parametrize("name", FLUX_FIXTURES)
def test_fixture_builds_as_flux_would_with_no_problem(name: str) -> None:
    example = EXAMPLES / name
    result = fluxtree.applied(example / "pkg", fluxtree.read_vars(example / "flux-vars.env"))
    assert len(result.builds) >= 8, "the whole tree is reached from the bootstrap"
    assert fluxtree.problems(result.builds) == []
    docs = result.all_docs
    assert any(d["kind"] == "Certificate" for d in docs), "the hand-written Certificate is applied"
    assert all(
        d.get("metadata", {}).get("namespace") for d in docs if d["kind"] in {"HelmRelease", "Certificate", "HTTPRoute"}
    )
