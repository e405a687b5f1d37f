"""The ``krmfn.dev/v1alpha1`` ``MultiDomain`` API: models, validation and defaults.

:func:`load_config` turns the function config (plain data) into a :class:`Config`:
the validated model plus each domain resolved with its defaults. Every problem is reported
at once, each with its field path (``spec.domains[1].name``), as a
:class:`~krmfn.errors.ConfigError`.
"""

from __future__ import annotations

import difflib
import functools
import re
from dataclasses import dataclass
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from krmfn.api.names import DomainName, derived_name_problems, parse_domain
from krmfn.api.tunnelservice import service_problem
from krmfn.errors import ConfigError, Problem

API_VERSION = "krmfn.dev/v1alpha1"
KIND = "MultiDomain"

_K8S_NAME = r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$"
_DURATION = r"^([0-9]+(\.[0-9]+)?(ns|us|µs|ms|s|m|h))+$"
K8sName = Annotated[str, Field(pattern=_K8S_NAME, max_length=253)]
Namespace = Annotated[str, Field(pattern=r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$", max_length=63)]


#: The provider blocks of cert-manager's `ACMEChallengeSolverDNS01` (pkg/apis/acme/v1/types_issuer.go).
DNS01_PROVIDERS = (
    "acmeDNS",
    "akamai",
    "azureDNS",
    "cloudDNS",
    "cloudflare",
    "digitalocean",
    "rfc2136",
    "route53",
    "webhook",
)


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", populate_by_name=True, frozen=True)


class ExistingCertificate(_Model):
    """A cert-manager Certificate the user manages, by namespace and name, and the Secret it writes."""

    name: K8sName
    namespace: Namespace
    secret_name: K8sName = Field(alias="secretName")


class DomainSpec(_Model):
    """One DNS zone served by the cluster."""

    name: str = Field(description="An FQDN, a Flux variable `${VAR}`, or labels and a variable `dev.${VAR}`.")
    primary: bool | None = Field(None, description="At most one; default: the first domain.")
    wildcard: bool = Field(True, description="Add `*.<name>` to the certificate.")
    extra_dns_names: list[str] = Field(
        default_factory=list,
        alias="extraDNSNames",
        description="More names on this domain's certificate, e.g. `*.lab.example.org`.",
    )
    gateways: list[str] | None = Field(None, description="Names in `spec.gateways`; default: all of them.")
    tunnel: bool | None = Field(None, description="Route through the tunnel; default: true when `spec.tunnel` is set.")
    split_horizon: bool | None = Field(
        None,
        alias="splitHorizon",
        description="Serve on split-horizon DNS; default: true when `spec.splitHorizon` is set.",
    )
    issuer: str | None = Field(None, description="Issuer name; default: `spec.certificates.issuerRef.name`.")
    solver: int | str | None = Field(
        None,
        description="The issuer's DNS-01 solver for this zone: an index into `spec.acme.solvers` or a provider key "
        "such as `route53`; default: the solver already listing the zone, else the primary zone's, else the only one.",
    )

    existing_certificate: ExistingCertificate | None = Field(
        None,
        alias="existingCertificate",
        description="The domain's Certificate exists already, possibly where krmfn cannot see it (a Helm template): "
        "none is generated for the domain, and its Secret counts as the domain's certificate, assumed to hold the "
        "names `wildcard` and `extraDNSNames` describe. A Certificate of that name in the input is checked, not "
        "changed.",
    )

    @field_validator("name")
    @classmethod
    def _valid_domain(cls, value: str) -> str:
        return parse_domain(value).text

    @field_validator("solver", mode="before")
    @classmethod
    def _valid_solver(cls, value: Any) -> Any:
        index = isinstance(value, int) and not isinstance(value, bool) and value >= 0
        if value is None or index or value in DNS01_PROVIDERS:
            return value
        choices = ", ".join(DNS01_PROVIDERS)
        raise ValueError(f"must be an index into the issuer's `spec.acme.solvers` or one of {choices}; got {value!r}")


class IssuerRef(_Model):
    name: K8sName
    kind: Literal["ClusterIssuer", "Issuer"] = "ClusterIssuer"
    group: str = "cert-manager.io"


class PrivateKey(_Model):
    algorithm: Literal["RSA", "ECDSA", "Ed25519"] | None = None
    size: int | None = Field(None, ge=0)
    encoding: Literal["PKCS1", "PKCS8"] | None = None
    rotation_policy: Literal["Never", "Always"] | None = Field(None, alias="rotationPolicy")


class SecretTemplate(_Model):
    annotations: dict[str, str] = Field(default_factory=dict)
    labels: dict[str, str] = Field(default_factory=dict)


class CertificatesSpec(_Model):
    """How each domain's cert-manager Certificate is written."""

    namespace: Namespace | None = Field(None, description="Default: the namespace of the first gateway.")
    issuer_ref: IssuerRef | None = Field(None, alias="issuerRef")
    name_suffix: str | None = Field(
        None,
        alias="nameSuffix",
        pattern=r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$",
        description="Certificate `<base>-<suffix>`, Secret `<base>-<suffix>-tls`.",
    )
    duration: str | None = Field(None, pattern=_DURATION)
    renew_before: str | None = Field(None, alias="renewBefore", pattern=_DURATION)
    private_key: PrivateKey | None = Field(None, alias="privateKey")
    usages: list[str] | None = None
    secret_template: SecretTemplate | None = Field(None, alias="secretTemplate")
    revision_history_limit: int | None = Field(None, alias="revisionHistoryLimit", ge=1)


class AcmeSpec(_Model):
    """An ACME ClusterIssuer to generate when the input has none of that name."""

    server: str = Field("production", description="`production`, `staging` or an https URL.")
    email: str = Field(pattern=r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
    profile: str | None = None
    solver: dict[str, Any] = Field(
        description="One cert-manager `dns01` block, e.g. `{cloudflare: {apiTokenSecretRef: {...}}}`, passed through."
    )

    @field_validator("solver")
    @classmethod
    def _one_provider(cls, value: dict[str, Any]) -> dict[str, Any]:
        providers = [k for k in value if k in DNS01_PROVIDERS]
        unknown = [k for k in value if k not in DNS01_PROVIDERS and k != "cnameStrategy"]
        choices = ", ".join(DNS01_PROVIDERS)
        if unknown:
            raise ValueError(f"must hold a DNS-01 provider ({choices}) and `cnameStrategy` only; not {unknown[0]!r}")
        if len(providers) != 1:
            raise ValueError(f"must hold exactly one DNS-01 provider ({choices}); it has {len(providers)}")
        return value

    @field_validator("server")
    @classmethod
    def _valid_server(cls, value: str) -> str:
        if value not in ("production", "staging") and not value.startswith("https://"):
            raise ValueError(f"must be `production`, `staging` or an https URL, not {value!r}")
        return value


class IssuerSpec(_Model):
    name: K8sName
    acme: AcmeSpec | None = None


_VALUES_PATH = r"^[A-Za-z0-9_-]+(\.[A-Za-z0-9_-]+)*$"
_VALUES_PATH_HELP = (
    "Where the chart reads its values inside the release's values, as dot-separated keys: the "
    "subchart key of a wrapper chart (e.g. `external-dns`); default: the top."
)

_VALUES_FILE_HELP = (
    "HelmValues only: the values file of a local (wrapper) chart, as its path in the package, e.g. "
    "`system/external-dns/values.yaml`; a values file is not a resource, so it must reach krmfn as an item "
    "(`kpt fn source` or `krmfn plan DIR`, not `kpt fn render`)."
)
HELM_VALUES = "HelmValues"


def _relative_yaml_path(value: str | None) -> str | None:
    """A package-relative path to a YAML file, as kpt's path annotation writes it."""
    if value is None:
        return value
    parts = value.split("/")
    if value.startswith("/") or ".." in parts or not value.endswith((".yaml", ".yml")):
        raise ValueError(f"must be a relative path to a .yaml file inside the package, without `..`; got {value!r}")
    return "/".join(p for p in parts if p not in ("", "."))


_IPV4 = r"^((25[0-5]|2[0-4][0-9]|1[0-9][0-9]|[1-9]?[0-9])\.){3}(25[0-5]|2[0-4][0-9]|1[0-9][0-9]|[1-9]?[0-9])$"


class GatewayDNS(_Model):
    """DNS records for the hostnames of routes (or Ingresses) attached to a gateway."""

    target: str | None = Field(
        None, description="Record target, `{domain}` expanded, e.g. `external.{domain}`; required for a Gateway."
    )
    type: Literal["CNAME", "A"] = "CNAME"
    ttl: int | None = Field(None, ge=1, description="`recordTTL` of generated DNSEndpoints (1: automatic).")
    proxied: bool | None = Field(
        None, description="Cloudflare proxy for generated records; unset: `--cloudflare-proxied` decides."
    )
    exposure: Literal["public", "lan"] = Field(
        "public", description="IngressClass only: exposure of hosts whose Ingress has no `krmfn.dev/exposure`."
    )
    published_by: Literal["external-dns", "hand"] = Field(
        "external-dns",
        alias="publishedBy",
        description="`hand`: no external-dns publishes this gateway's records (the user makes them, e.g. in the "
        "Cloudflare dashboard): no DNSEndpoint is written and no route is annotated; `krmfn plan` lists each "
        "hostname's record to make.",
    )
    # a tuple, not a list: gateway entries are hashed (the plan groups hostnames by gateway)
    lan_address: str | tuple[str, ...] | None = Field(
        None,
        alias="lanAddress",
        description="IngressClass only: the IPv4 address of `lan` hosts, or a list of them (one A record with "
        "every address, e.g. one per worker node).",
    )

    @field_validator("lan_address")
    @classmethod
    def _ipv4(cls, value: str | tuple[str, ...] | None) -> str | tuple[str, ...] | None:
        addresses = [value] if isinstance(value, str) else list(value or [])
        if isinstance(value, tuple) and not value:
            raise ValueError("must list at least one address")
        for address in addresses:
            if not re.match(_IPV4, address):
                raise ValueError(f"must be an IPv4 address (or a list of them); {address!r} is not")
        if len(set(addresses)) != len(addresses):
            raise ValueError("must not list an address twice")
        return value

    @property
    def lan_addresses(self) -> list[str]:
        """`lanAddress` as a list (empty when unset)."""
        if self.lan_address is None:
            return []
        return [self.lan_address] if isinstance(self.lan_address, str) else list(self.lan_address)


class SecretRef(_Model):
    """A Secret by namespace and name."""

    name: K8sName
    namespace: Namespace


class GatewaySpec(_Model):
    """A Gateway whose listener serves every attached domain, or an Ingress class standing in for one."""

    name: K8sName
    kind: Literal["Gateway", "IngressClass"] = "Gateway"
    namespace: Namespace | None = Field(None, description="Required for a Gateway; an IngressClass has none.")
    listener: str = Field("https", pattern=_K8S_NAME)
    mode: Literal["shared", "perDomain"] = Field(
        "shared", description="`shared`: one listener lists every Secret; `perDomain`: one listener pair per domain."
    )
    dns: GatewayDNS | None = None
    default_certificate: SecretRef | None = Field(
        None,
        alias="defaultCertificate",
        description="IngressClass only: the Secret the controller serves for a host no `spec.tls` entry lists "
        "(ingress-nginx `--default-ssl-certificate`); hosts are covered by it only if its certificate holds them.",
    )
    write_tls: bool = Field(
        False,
        alias="writeTLS",
        description="IngressClass only: give each Ingress host under a managed domain that nothing serves a "
        "`spec.tls` entry with the domain's Secret; the Secret must be in the Ingress's namespace.",
    )


class ExternalDNSSpec(_Model):
    """One external-dns installation whose domain filters must let every (or its) zone through."""

    kind: Literal["HelmRelease", "Deployment", "Application", "HelmValues"] = Field(
        description="`HelmValues`: the values file of a local chart (`file`), for repositories that keep no "
        "HelmRelease or Application in git (Argo CD wrapper charts)."
    )
    name: K8sName
    namespace: Namespace | None = None
    file: str | None = Field(None, description=_VALUES_FILE_HELP)
    domains: list[str] | None = Field(
        None,
        min_length=1,
        description="The zones this installation filters for (names from `spec.domains`); default: every domain.",
    )
    container: str | None = Field(
        None, description="Deployment only: the external-dns container; default: `external-dns`, or the only container."
    )
    exclude_domains: list[str] | None = Field(
        None, alias="excludeDomains", description="`excludeDomains` / `--exclude-domains=`."
    )
    txt_owner_id: str | None = Field(
        None, alias="txtOwnerId", min_length=1, description="`txtOwnerId` / `--txt-owner-id=`."
    )
    txt_prefix: str | None = Field(None, alias="txtPrefix", min_length=1, description="`txtPrefix` / `--txt-prefix=`.")
    policy: Literal["sync", "upsert-only", "create-only"] | None = Field(None, description="`policy` / `--policy=`.")
    sources: list[str] | None = Field(None, min_length=1, description="`sources` / one `--source=` each.")
    values_path: str | None = Field(
        None,
        alias="valuesPath",
        pattern=_VALUES_PATH,
        description=f"HelmRelease, Application and HelmValues: {_VALUES_PATH_HELP}",
    )

    _file = field_validator("file")(_relative_yaml_path)


class TunnelSpec(_Model):
    """The cloudflared configuration whose ingress rules route every tunnel domain (SPEC §7)."""

    kind: Literal["HelmRelease", "ConfigMap", "HelmValues"] = Field(
        description="`HelmRelease`: a bjw-s app-template release; `ConfigMap`: a plain ConfigMap; `HelmValues`: "
        "the values file of a local chart wrapping app-template (`file`)."
    )
    name: K8sName
    namespace: Namespace | None = None
    file: str | None = Field(None, description=_VALUES_FILE_HELP)
    service: str = Field(
        description="Where the managed rules send traffic, e.g. `https://envoy-external.network.svc.cluster.local:443`."
    )
    origin_request: dict[str, Any] = Field(
        default_factory=dict,
        alias="originRequest",
        description="`originRequest` of each managed rule; `originServerName` is added per domain.",
    )
    config_map: str = Field(
        "config",
        alias="configMap",
        pattern=r"^[-._a-zA-Z0-9]+$",
        description="HelmRelease and HelmValues: the app-template entry `configMaps.<configMap>` of the values.",
    )
    key: str = Field(
        "config.yaml", pattern=r"^[-._a-zA-Z0-9]+$", description="The `data` key holding cloudflared's `config.yaml`."
    )
    catch_all: str = Field(
        "http_status:404", alias="catchAll", description="`service` of the last rule, when the config has no catch-all."
    )
    gateway: str | None = Field(
        None,
        description="The `spec.gateways` entry the service reaches; default: the one named like the service's host.",
    )
    target: str | None = Field(
        None,
        pattern=r"^[-_.a-zA-Z0-9${}]+$",
        description="The tunnel's own name that each tunnel domain's target (the gateway's `dns.target`, e.g. "
        "`external.{domain}`) is a CNAME to, e.g. `<tunnel id>.cfargotunnel.com`; default: read from the tunnel's "
        "DNSEndpoint.",
    )
    dns_endpoint: K8sName | None = Field(
        None,
        alias="dnsEndpoint",
        description="The DNSEndpoint (in the tunnel's namespace) that publishes the tunnel's target names; default: "
        "the one whose endpoints point at `*.cfargotunnel.com`, else one krmfn generates when `target` is set.",
    )
    values_path: str | None = Field(
        None, alias="valuesPath", pattern=_VALUES_PATH, description=f"HelmRelease and HelmValues: {_VALUES_PATH_HELP}"
    )

    _file = field_validator("file")(_relative_yaml_path)

    @field_validator("service", "catch_all")
    @classmethod
    def _valid_service(cls, value: str) -> str:
        problem = service_problem(value)
        if problem:
            raise ValueError(problem.replace("must have a `service`", "must not be empty"))
        return value

    @field_validator("origin_request")
    @classmethod
    def _no_fixed_sni(cls, value: dict[str, Any]) -> dict[str, Any]:
        if "originServerName" in value:
            raise ValueError(
                "must not set `originServerName`: each domain's rules get their own (the gateway's DNS target), "
                "so that a secondary domain is not sent with the primary's SNI"
            )
        return value


class SplitHorizonSpec(_Model):
    """The k8s_gateway HelmRelease whose `values.domain` lists every split-horizon zone."""

    kind: Literal["HelmRelease"] = "HelmRelease"
    name: K8sName
    namespace: Namespace | None = None
    values_path: str | None = Field(None, alias="valuesPath", pattern=_VALUES_PATH, description=_VALUES_PATH_HELP)


class SyncWavesSpec(_Model):
    """Argo CD sync waves stamped on every generated resource, by kind (off unless set)."""

    waves: dict[str, int | None] = Field(
        default_factory=dict,
        description="Wave per kind, over the defaults (Secret -1; issuers, Certificate 0; ReferenceGrant 1; "
        "routes, DNSEndpoint 3; see docs/sync-waves.md); `null` leaves a kind without a wave.",
    )

    @field_validator("waves")
    @classmethod
    def _kinds(cls, value: dict[str, int | None]) -> dict[str, int | None]:
        for kind in value:
            if not re.fullmatch(r"[A-Z][A-Za-z0-9]*", kind):
                raise ValueError(f"keys must be resource kinds such as `Certificate`; {kind!r} is not one")
        return value


class GuardrailsSpec(_Model):
    """An admission policy that rejects route and Ingress hostnames outside the managed domains."""

    engine: Literal["ValidatingAdmissionPolicy", "Kyverno"] = Field(
        "ValidatingAdmissionPolicy",
        description="`ValidatingAdmissionPolicy` (Kubernetes 1.30+) or a Kyverno `ClusterPolicy`.",
    )
    action: Literal["Deny", "Warn", "Audit"] = Field(
        "Deny", description="What a violation does: `Deny`, `Warn` (ValidatingAdmissionPolicy only) or `Audit`."
    )
    exclude_namespaces: list[Namespace] = Field(
        default_factory=list, alias="excludeNamespaces", description="Namespaces whose routes are not checked."
    )

    @model_validator(mode="after")
    def _kyverno_cannot_warn(self) -> GuardrailsSpec:
        if self.engine == "Kyverno" and self.action == "Warn":
            raise ValueError(
                "`action: Warn` needs `engine: ValidatingAdmissionPolicy`; Kyverno has `Deny` and `Audit` only"
            )
        return self


class ExpiryAlertsSpec(_Model):
    """A PrometheusRule that fires when a managed certificate is close to expiry."""

    threshold: str | None = Field(
        None,
        pattern=_DURATION,
        description="Remaining lifetime that fires the alert, a Go duration such as `48h`; "
        "default: one third of the Certificate's `duration` (90 days when unset), or `renewBefore` if shorter.",
    )
    for_: str = Field(
        "1h",
        alias="for",
        pattern=r"^([0-9]+(ms|s|m|h|d|w|y))+$",
        description="The alert's `for`, a Prometheus duration.",
    )
    severity: str = Field("warning", min_length=1, description="The alert's `severity` label.")
    namespace: Namespace | None = Field(
        None, description="Namespace of the PrometheusRule; default: the Certificates'."
    )
    labels: dict[str, str] = Field(
        default_factory=dict, description="Labels of the PrometheusRule, e.g. the one Prometheus' `ruleSelector` wants."
    )


class Spec(_Model):
    domains: list[DomainSpec] = Field(min_length=1)
    certificates: CertificatesSpec | None = Field(
        None, description="One Certificate per domain; when unset, no Certificate is generated or changed."
    )
    issuers: list[IssuerSpec] = Field(default_factory=list)
    gateways: list[GatewaySpec] = Field(default_factory=list)
    external_dns: list[ExternalDNSSpec] = Field(default_factory=list, alias="externalDNS")
    tunnel: TunnelSpec | None = None
    split_horizon: SplitHorizonSpec | None = Field(None, alias="splitHorizon")
    external_dns_annotation_prefix: str = Field(
        "external-dns.alpha.kubernetes.io/",
        alias="externalDNSAnnotationPrefix",
        pattern=r"^[a-z0-9]([-a-z0-9.]*[a-z0-9])?/$",
        description="external-dns's `--annotation-prefix`; `external-dns.kubernetes.io/` from external-dns v0.22.",
    )
    reference_grant_version: Literal["v1beta1", "v1"] = Field(
        "v1beta1", alias="referenceGrantVersion", description="ReferenceGrant API version; `v1` from Gateway API v1.5."
    )
    sync_waves: SyncWavesSpec | None = Field(None, alias="syncWaves", description="Argo CD sync waves; off when unset.")
    guardrails: GuardrailsSpec | None = Field(None, description="Hostname admission policy; off when unset.")
    expiry_alerts: ExpiryAlertsSpec | None = Field(
        None, alias="expiryAlerts", description="Certificate expiry PrometheusRule; off when unset."
    )


class Metadata(BaseModel):
    model_config = ConfigDict(extra="allow", frozen=True)
    name: K8sName
    namespace: Namespace | None = None


class MultiDomain(_Model):
    """The function config: one resource listing every domain the cluster serves."""

    api_version: Literal["krmfn.dev/v1alpha1"] = Field(alias="apiVersion")
    kind: Literal["MultiDomain"]
    metadata: Metadata
    spec: Spec


# --- resolved view -------------------------------------------------------------------


@dataclass(frozen=True)
class Domain:
    """A domain with every default applied."""

    index: int
    name: DomainName
    primary: bool
    wildcard: bool
    extra_dns_names: tuple[str, ...]
    gateways: tuple[str, ...]
    tunnel: bool
    split_horizon: bool
    #: The issuer of the domain's Certificate; None when `spec.certificates` is not set.
    issuer: str | None
    #: The Certificate the user manages for the domain (`existingCertificate`); None: krmfn's.
    existing_certificate: ExistingCertificate | None = None

    @property
    def field(self) -> str:
        return f"spec.domains[{self.index}]"


@dataclass(frozen=True)
class Config:
    """The validated MultiDomain and its resolved domains (primary first, then config order)."""

    model: MultiDomain
    domains: tuple[Domain, ...]
    #: The default issuer of the Certificates; None when `spec.certificates` is not set and
    #: `spec.issuers` is empty.
    issuer_ref: IssuerRef | None
    #: None when `spec.certificates` is not set: no Certificate is generated.
    certificate_namespace: str | None

    @property
    def name(self) -> str:
        return self.model.metadata.name

    @property
    def spec(self) -> Spec:
        return self.model.spec

    @property
    def certificates(self) -> CertificatesSpec | None:
        """`spec.certificates`, or None when Certificates are not managed."""
        return self.model.spec.certificates

    @property
    def issuer_kind(self) -> str:
        return self.issuer_ref.kind if self.issuer_ref is not None else "ClusterIssuer"


def load_config(data: Any) -> Config:
    """Validate the function config; raise ConfigError listing every problem."""
    if not isinstance(data, dict):
        raise ConfigError([Problem(".", "the function config must be a mapping (a MultiDomain resource)")])
    try:
        model = MultiDomain.model_validate(data)
    except ValidationError as exc:
        found = [_problem(err) for err in exc.errors()]
        found.extend(p for p in _raw_domain_name_problems(data) if p not in found)
        raise ConfigError(found) from None
    problems: list[Problem] = []
    config = _resolve(model, problems)
    if problems:
        raise ConfigError(problems)
    assert config is not None
    return config


@functools.cache
def _field_names() -> tuple[str, ...]:
    """Every field name of the API as a user writes it, for "did you mean" (`lanAddresses` → `lanAddress`)."""
    names: set[str] = set()
    for model in _Model.__subclasses__():
        names.update(f.alias or name for name, f in model.model_fields.items())
    return tuple(sorted(names))


def _problem(err: Any) -> Problem:
    path = _path(err["loc"])
    kind, value = err["type"], err.get("input")
    if kind == "extra_forbidden":
        close = difflib.get_close_matches(str(err["loc"][-1]), _field_names(), n=1, cutoff=0.85)
        hint = f"; did you mean `{close[0]}`?" if close else ""
        return Problem(path, f"is not a field of MultiDomain; remove it or check its spelling{hint}")
    if kind == "missing":
        return Problem(path, "is required")
    if kind == "literal_error" and path in ("apiVersion", "kind"):
        expected = API_VERSION if path == "apiVersion" else KIND
        return Problem(path, f"must be {expected!r}, not {value!r}")
    message = _must(str(err["msg"]).removeprefix("Value error, "))
    if kind == "string_pattern_mismatch":
        return Problem(path, f"must match the pattern `{err['ctx']['pattern']}`; {value!r} does not")
    if kind not in ("value_error",) and not isinstance(value, dict | list):
        message = f"{message[0].lower()}{message[1:]}; got {value!r}"
    return Problem(path, message[0].lower() + message[1:] if message else "is invalid")


_SHOULD = re.compile(r"^(?:Input|List|String|Dictionary|Tuple|Set) should ")
_MAPPING = re.compile(r"a valid dictionary(?: or instance of \w+)?")


def _must(message: str) -> str:
    """pydantic's "Input should be a valid dictionary" in the kpt style: "must be a mapping"."""
    return _MAPPING.sub("a mapping", _SHOULD.sub("must ", message)).replace(" after validation", "")


def _path(loc: tuple[Any, ...]) -> str:
    aliases = {
        "extra_dns_names": "extraDNSNames",
        "split_horizon": "splitHorizon",
        "issuer_ref": "issuerRef",
        "name_suffix": "nameSuffix",
        "renew_before": "renewBefore",
        "private_key": "privateKey",
        "rotation_policy": "rotationPolicy",
        "secret_template": "secretTemplate",
        "revision_history_limit": "revisionHistoryLimit",
        "external_dns": "externalDNS",
        "origin_request": "originRequest",
        "config_map": "configMap",
        "catch_all": "catchAll",
        "api_version": "apiVersion",
        "exclude_domains": "excludeDomains",
        "txt_owner_id": "txtOwnerId",
        "txt_prefix": "txtPrefix",
        "lan_address": "lanAddress",
        "dns_endpoint": "dnsEndpoint",
        "external_dns_annotation_prefix": "externalDNSAnnotationPrefix",
        "reference_grant_version": "referenceGrantVersion",
        "sync_waves": "syncWaves",
        "exclude_namespaces": "excludeNamespaces",
        "expiry_alerts": "expiryAlerts",
        "for_": "for",
        "values_path": "valuesPath",
        "default_certificate": "defaultCertificate",
        "write_tls": "writeTLS",
        "existing_certificate": "existingCertificate",
        "secret_name": "secretName",
        "published_by": "publishedBy",
    }
    out = ""
    for part in loc:
        if isinstance(part, int):
            out += f"[{part}]"
        else:
            name = aliases.get(str(part), str(part))
            out += f".{name}" if out else name
    return out or "."


def _resolve(model: MultiDomain, problems: list[Problem]) -> Config | None:
    spec = model.spec
    primaries = [i for i, d in enumerate(spec.domains) if d.primary]
    if len(primaries) > 1:
        problems.append(
            Problem(
                f"spec.domains[{primaries[1]}].primary",
                f"at most one domain may be primary; spec.domains[{primaries[0]}] already is",
            )
        )
    gateway_names = [g.name for g in spec.gateways]
    certs = spec.certificates
    problems.extend(
        _domain_name_problems(
            [(i, d.name, d.wildcard) for i, d in enumerate(spec.domains)],
            certs.name_suffix if certs is not None else None,
            certificates=certs is not None,
        )
    )
    for i, d in enumerate(spec.domains):
        name = parse_domain(d.name)
        for j, gw in enumerate(d.gateways or []):
            if gw not in gateway_names:
                problems.append(
                    Problem(
                        f"spec.domains[{i}].gateways[{j}]", f"must name a gateway in `spec.gateways`; {gw!r} is not one"
                    )
                )
        if d.existing_certificate is not None and d.issuer is not None:
            problems.append(
                Problem(
                    f"spec.domains[{i}].issuer",
                    f"must not be set with `existingCertificate` (krmfn writes no Certificate for {d.name!r}); "
                    f"got {d.issuer!r}",
                )
            )
        if d.tunnel and spec.tunnel is None:
            problems.append(Problem(f"spec.domains[{i}].tunnel", "must not be true when `spec.tunnel` is not set"))
        if d.split_horizon and spec.split_horizon is None:
            problems.append(
                Problem(f"spec.domains[{i}].splitHorizon", "must not be true when `spec.splitHorizon` is not set")
            )
        for j, extra in enumerate(d.extra_dns_names):
            bare = extra[2:] if extra.startswith("*.") else extra
            try:
                extra_name = parse_domain(bare)
            except ValueError as exc:
                problems.append(Problem(f"spec.domains[{i}].extraDNSNames[{j}]", str(exc)))
                continue
            if not (extra_name.text == name.text or extra_name.is_under(name)):
                problems.append(
                    Problem(
                        f"spec.domains[{i}].extraDNSNames[{j}]",
                        f"must be {d.name!r} or a name under it; {extra!r} is not",
                    )
                )
    seen_gateways: set[tuple[str, str | None, str]] = set()
    for i, g in enumerate(spec.gateways):
        if (g.kind, g.namespace, g.name) in seen_gateways:
            where = f"{g.namespace}/{g.name}" if g.namespace else g.name
            problems.append(Problem(f"spec.gateways[{i}]", f"must not repeat {g.kind} {where}"))
        seen_gateways.add((g.kind, g.namespace, g.name))
        problems.extend(_gateway_problems(g, f"spec.gateways[{i}]"))
    for i, e in enumerate(spec.external_dns):
        if e.kind == "Deployment" and e.values_path is not None:
            problems.append(Problem(f"spec.externalDNS[{i}].valuesPath", "must not be set for a Deployment (no chart)"))
        problems.extend(_file_problems(e.kind, e.file, f"spec.externalDNS[{i}]"))
    if spec.tunnel is not None and spec.tunnel.kind == "ConfigMap" and spec.tunnel.values_path is not None:
        problems.append(Problem("spec.tunnel.valuesPath", "must not be set for a ConfigMap (no chart)"))
    if spec.tunnel is not None:
        problems.extend(_file_problems(spec.tunnel.kind, spec.tunnel.file, "spec.tunnel"))
    issuer_ref, namespace = _certificate_defaults(spec, problems)
    problems.extend(_existing_certificate_problems(spec, namespace))
    if problems:
        return None
    primary_index = primaries[0] if primaries else 0
    domains = [
        Domain(
            index=i,
            name=parse_domain(d.name),
            primary=i == primary_index,
            wildcard=d.wildcard,
            extra_dns_names=tuple(d.extra_dns_names),
            gateways=tuple(d.gateways if d.gateways is not None else gateway_names),
            tunnel=d.tunnel if d.tunnel is not None else spec.tunnel is not None,
            split_horizon=d.split_horizon if d.split_horizon is not None else spec.split_horizon is not None,
            issuer=d.issuer or (issuer_ref.name if issuer_ref is not None and spec.certificates else None),
            existing_certificate=d.existing_certificate,
        )
        for i, d in enumerate(spec.domains)
    ]
    domains.sort(key=lambda d: (not d.primary, d.index))
    return Config(model=model, domains=tuple(domains), issuer_ref=issuer_ref, certificate_namespace=namespace)


def _file_problems(kind: str, file: str | None, where: str) -> list[Problem]:
    """`file` names the values file of a `HelmValues` entry, and only of one."""
    if kind == HELM_VALUES and file is None:
        return [Problem(f"{where}.file", "is required for HelmValues: the values file's path in the package")]
    if kind != HELM_VALUES and file is not None:
        return [Problem(f"{where}.file", f"must not be set for a {kind} (HelmValues only)")]
    return []


def _certificate_defaults(spec: Spec, problems: list[Problem]) -> tuple[IssuerRef | None, str | None]:
    """The default issuer and the Certificates' namespace; what is required only when `certificates` is set."""
    certs = spec.certificates
    issuer_ref = certs.issuer_ref if certs is not None else None
    if issuer_ref is None and spec.issuers:
        issuer_ref = IssuerRef(name=spec.issuers[0].name)
    if certs is None:
        return issuer_ref, None
    if issuer_ref is None:
        problems.append(Problem("spec.certificates.issuerRef", "is required when `spec.issuers` is empty"))
    namespace = certs.namespace or next((g.namespace for g in spec.gateways if g.namespace), None)
    if namespace is None:
        why = (
            "no entry of `spec.gateways` is a Gateway with a namespace" if spec.gateways else "`spec.gateways` is empty"
        )
        problems.append(Problem("spec.certificates.namespace", f"is required when {why}"))
    return issuer_ref, namespace


def _existing_certificate_problems(spec: Spec, namespace: str | None) -> list[Problem]:
    """Two domains naming one existing Certificate with different Secrets, or one that krmfn would generate."""
    out: list[Problem] = []
    seen: dict[tuple[str, str], tuple[int, str]] = {}
    suffix = spec.certificates.name_suffix if spec.certificates is not None else None
    generated: dict[tuple[str, str], str] = {}
    if namespace is not None:
        for d in spec.domains:
            if d.existing_certificate is None:
                base = parse_domain(d.name).base
                name = f"{base}-{suffix}" if suffix else base
                generated[(namespace, name)] = d.name
                generated[(namespace, f"{name}-tls")] = d.name
    for i, d in enumerate(spec.domains):
        cert = d.existing_certificate
        if cert is None:
            continue
        where = f"spec.domains[{i}].existingCertificate"
        earlier = seen.setdefault((cert.namespace, cert.name), (i, cert.secret_name))
        if earlier[1] != cert.secret_name:
            out.append(
                Problem(
                    f"{where}.secretName",
                    f"must be {earlier[1]!r}, as spec.domains[{earlier[0]}] says Certificate "
                    f"{cert.namespace}/{cert.name} writes; got {cert.secret_name!r}",
                )
            )
        for field_name, value in (("name", cert.name), ("secretName", cert.secret_name)):
            other = generated.get((cert.namespace, value))
            if other is not None:
                out.append(
                    Problem(
                        f"{where}.{field_name}",
                        f"must not be {value!r}: krmfn generates a Certificate and Secret of that name in "
                        f"{cert.namespace} for {other!r}",
                    )
                )
    return out


def _domain_name_problems(
    domains: list[tuple[int, str, bool]], suffix: str | None, *, certificates: bool = True
) -> list[Problem]:
    """Repeated domains, two domains deriving one resource name, names over their limit (the
    Certificate's and Secret's names and dnsNames, when *certificates* are generated).

    Run on whatever domains parse, also when other fields are invalid, so that every
    problem with the names is reported at once.
    """
    problems: list[Problem] = []
    seen_names: dict[str, tuple[int, str]] = {}
    seen_bases: dict[str, tuple[int, str]] = {}
    for i, raw, wildcard in domains:
        try:
            name = parse_domain(raw)
        except ValueError:
            continue  # reported by the field's own validation
        where = f"spec.domains[{i}].name"
        if name.text in seen_names:
            problems.append(Problem(where, f"must not repeat spec.domains[{seen_names[name.text][0]}]: {raw!r}"))
            continue
        seen_names[name.text] = (i, raw)
        if name.base in seen_bases:
            other = seen_bases[name.base][1]
            problems.append(
                Problem(where, f"{raw!r} and {other!r} both derive the resource name {name.base!r}; rename one")
            )
        seen_bases.setdefault(name.base, (i, raw))
        if certificates:
            problems.extend(
                Problem(where, message) for message in derived_name_problems(name, suffix=suffix, wildcard=wildcard)
            )
    return problems


def _raw_domain_name_problems(data: dict[str, Any]) -> list[Problem]:
    """:func:`_domain_name_problems` on the raw config, for when the models did not validate."""
    spec = data.get("spec")
    domains = spec.get("domains") if isinstance(spec, dict) else None
    certificates = spec.get("certificates") if isinstance(spec, dict) else None
    suffix = certificates.get("nameSuffix") if isinstance(certificates, dict) else None
    found = [
        (i, d["name"], d.get("wildcard") is not False)
        for i, d in enumerate(domains if isinstance(domains, list) else [])
        if isinstance(d, dict) and isinstance(d.get("name"), str)
    ]
    return _domain_name_problems(
        found, suffix if isinstance(suffix, str) else None, certificates=isinstance(certificates, dict)
    )


def _gateway_problems(g: GatewaySpec, where: str) -> list[Problem]:
    """What a single `spec.gateways[]` entry must satisfy beyond its field types."""
    out: list[Problem] = []
    dns = g.dns
    if g.kind == "Gateway":
        if g.namespace is None:
            out.append(Problem(f"{where}.namespace", "is required for a Gateway"))
        if dns is not None and dns.target is None:
            out.append(Problem(f"{where}.dns.target", "is required for a Gateway"))
        if dns is not None and ("exposure" in dns.model_fields_set or dns.lan_address is not None):
            out.append(Problem(f"{where}.dns", "must not set `exposure` or `lanAddress` (IngressClass only)"))
        if g.default_certificate is not None or g.write_tls:
            out.append(Problem(where, "must not set `defaultCertificate` or `writeTLS` (IngressClass only)"))
    else:
        if g.namespace is not None:
            out.append(Problem(f"{where}.namespace", "must not be set for an IngressClass (it is cluster-scoped)"))
        if "listener" in g.model_fields_set or g.mode != "shared":
            out.append(Problem(where, "must not set `listener` or `mode` for an IngressClass (only a Gateway)"))
        if dns is not None and dns.exposure == "public" and dns.target is None:
            out.append(Problem(f"{where}.dns.target", "is required when `exposure` is `public`"))
        if dns is not None and dns.exposure == "lan" and dns.lan_address is None:
            out.append(Problem(f"{where}.dns.lanAddress", "is required when `exposure` is `lan`"))
    return out


def json_schema() -> dict[str, Any]:
    """The JSON Schema of MultiDomain, as published in ``functions.yaml``."""
    schema = MultiDomain.model_json_schema(by_alias=True)
    schema["$schema"] = "https://json-schema.org/draft/2020-12/schema"
    schema["title"] = "MultiDomain"
    return schema


def is_multidomain(data: Any) -> bool:
    return (
        isinstance(data, dict) and data.get("kind") == KIND and str(data.get("apiVersion", "")).startswith("krmfn.dev/")
    )
