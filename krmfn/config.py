"""The ``krmfn.dev/v1alpha1`` ``MultiDomain`` API: models, validation and defaults.

:func:`load_config` turns the function config (plain data) into a :class:`Config`:
the validated model plus each domain resolved with its defaults. Every problem is reported
at once, each with its field path (``spec.domains[1].name``), as a
:class:`~krmfn.errors.ConfigError`.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from krmfn.errors import ConfigError, Problem
from krmfn.names import DomainName, parse_domain

API_VERSION = "krmfn.dev/v1alpha1"
KIND = "MultiDomain"

_K8S_NAME = r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$"
_DURATION = r"^([0-9]+(\.[0-9]+)?(ns|us|µs|ms|s|m|h))+$"
K8sName = Annotated[str, Field(pattern=_K8S_NAME, max_length=253)]
Namespace = Annotated[str, Field(pattern=r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$", max_length=63)]


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", populate_by_name=True, frozen=True)


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
        None, alias="splitHorizon", description="Serve on split-horizon DNS; default: true when `spec.splitHorizon` is set."
    )
    issuer: str | None = Field(None, description="Issuer name; default: `spec.certificates.issuerRef.name`.")

    @field_validator("name")
    @classmethod
    def _valid_domain(cls, value: str) -> str:
        return parse_domain(value).text


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
    server: str = Field("production", description="`production`, `staging` or an https URL.")
    email: str = Field(pattern=r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
    profile: str | None = None
    solver: dict[str, Any] = Field(description="One cert-manager DNS-01 provider block, e.g. `{cloudflare: {...}}`.")

    @field_validator("server")
    @classmethod
    def _valid_server(cls, value: str) -> str:
        if value not in ("production", "staging") and not value.startswith("https://"):
            raise ValueError(f"must be `production`, `staging` or an https URL, not {value!r}")
        return value


class IssuerSpec(_Model):
    name: K8sName
    acme: AcmeSpec | None = None


class GatewayDNS(_Model):
    target: str = Field(description="Record target, `{domain}` expanded, e.g. `external.{domain}`.")
    type: Literal["CNAME", "A"] = "CNAME"


class GatewaySpec(_Model):
    name: K8sName
    namespace: Namespace
    listener: str = Field("https", pattern=_K8S_NAME)
    dns: GatewayDNS | None = None


class ExternalDNSSpec(_Model):
    kind: Literal["HelmRelease", "Deployment", "Application"]
    name: K8sName
    namespace: Namespace | None = None


class TunnelSpec(_Model):
    kind: Literal["HelmRelease", "ConfigMap"]
    name: K8sName
    namespace: Namespace | None = None
    service: str
    origin_request: dict[str, Any] = Field(default_factory=dict, alias="originRequest")


class SplitHorizonSpec(_Model):
    kind: Literal["HelmRelease"] = "HelmRelease"
    name: K8sName
    namespace: Namespace | None = None


class Spec(_Model):
    domains: list[DomainSpec] = Field(min_length=1)
    certificates: CertificatesSpec = Field(default_factory=CertificatesSpec)
    issuers: list[IssuerSpec] = Field(default_factory=list)
    gateways: list[GatewaySpec] = Field(default_factory=list)
    external_dns: list[ExternalDNSSpec] = Field(default_factory=list, alias="externalDNS")
    tunnel: TunnelSpec | None = None
    split_horizon: SplitHorizonSpec | None = Field(None, alias="splitHorizon")


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
    issuer: str

    @property
    def field(self) -> str:
        return f"spec.domains[{self.index}]"


@dataclass(frozen=True)
class Config:
    """The validated MultiDomain and its resolved domains (primary first, then config order)."""

    model: MultiDomain
    domains: tuple[Domain, ...]
    issuer_ref: IssuerRef
    certificate_namespace: str

    @property
    def name(self) -> str:
        return self.model.metadata.name

    @property
    def spec(self) -> Spec:
        return self.model.spec


def load_config(data: Any) -> Config:
    """Validate the function config; raise ConfigError listing every problem."""
    if not isinstance(data, dict):
        raise ConfigError([Problem(".", "the function config must be a mapping (a MultiDomain resource)")])
    try:
        model = MultiDomain.model_validate(data)
    except ValidationError as exc:
        raise ConfigError([_problem(err) for err in exc.errors()]) from None
    problems: list[Problem] = []
    config = _resolve(model, problems)
    if problems:
        raise ConfigError(problems)
    assert config is not None
    return config


def _problem(err: Any) -> Problem:
    path = _path(err["loc"])
    kind, value = err["type"], err.get("input")
    if kind == "extra_forbidden":
        return Problem(path, "is not a field of MultiDomain; remove it or check its spelling")
    if kind == "missing":
        return Problem(path, "is required")
    if kind == "literal_error" and path in ("apiVersion", "kind"):
        expected = API_VERSION if path == "apiVersion" else KIND
        return Problem(path, f"must be {expected!r}, not {value!r}")
    message = str(err["msg"]).removeprefix("Value error, ")
    if kind == "string_pattern_mismatch":
        return Problem(path, f"must match the pattern `{err['ctx']['pattern']}`; {value!r} does not")
    if kind not in ("value_error",) and not isinstance(value, dict | list):
        message = f"{message[0].lower()}{message[1:]}; got {value!r}"
    return Problem(path, message[0].lower() + message[1:] if message else "is invalid")


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
        "api_version": "apiVersion",
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
    seen_names: dict[str, int] = {}
    seen_bases: dict[str, int] = {}
    gateway_names = [g.name for g in spec.gateways]
    for i, d in enumerate(spec.domains):
        name = parse_domain(d.name)
        if name.text in seen_names:
            problems.append(Problem(f"spec.domains[{i}].name", f"must not repeat spec.domains[{seen_names[name.text]}]: {d.name!r}"))
            continue
        seen_names[name.text] = i
        if name.base in seen_bases:
            other = spec.domains[seen_bases[name.base]].name
            problems.append(
                Problem(
                    f"spec.domains[{i}].name",
                    f"{d.name!r} and {other!r} both derive the resource name {name.base!r}; rename one",
                )
            )
        seen_bases.setdefault(name.base, i)
        for j, gw in enumerate(d.gateways or []):
            if gw not in gateway_names:
                problems.append(Problem(f"spec.domains[{i}].gateways[{j}]", f"must name a gateway in `spec.gateways`; {gw!r} is not one"))
        if d.tunnel and spec.tunnel is None:
            problems.append(Problem(f"spec.domains[{i}].tunnel", "must not be true when `spec.tunnel` is not set"))
        if d.split_horizon and spec.split_horizon is None:
            problems.append(Problem(f"spec.domains[{i}].splitHorizon", "must not be true when `spec.splitHorizon` is not set"))
        for j, extra in enumerate(d.extra_dns_names):
            bare = extra[2:] if extra.startswith("*.") else extra
            try:
                extra_name = parse_domain(bare)
            except ValueError as exc:
                problems.append(Problem(f"spec.domains[{i}].extraDNSNames[{j}]", str(exc)))
                continue
            if not (extra_name.text == name.text or extra_name.is_under(name)):
                problems.append(
                    Problem(f"spec.domains[{i}].extraDNSNames[{j}]", f"must be {d.name!r} or a name under it; {extra!r} is not")
                )
    seen_gateways: set[tuple[str, str]] = set()
    for i, g in enumerate(spec.gateways):
        if (g.namespace, g.name) in seen_gateways:
            problems.append(Problem(f"spec.gateways[{i}]", f"must not repeat gateway {g.namespace}/{g.name}"))
        seen_gateways.add((g.namespace, g.name))
    issuer_ref = spec.certificates.issuer_ref
    if issuer_ref is None:
        if spec.issuers:
            issuer_ref = IssuerRef(name=spec.issuers[0].name)
        else:
            problems.append(Problem("spec.certificates.issuerRef", "is required when `spec.issuers` is empty"))
    namespace = spec.certificates.namespace or (spec.gateways[0].namespace if spec.gateways else None)
    if namespace is None:
        problems.append(Problem("spec.certificates.namespace", "is required when `spec.gateways` is empty"))
    if problems or issuer_ref is None or namespace is None:
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
            issuer=d.issuer or issuer_ref.name,
        )
        for i, d in enumerate(spec.domains)
    ]
    domains.sort(key=lambda d: (not d.primary, d.index))
    return Config(model=model, domains=tuple(domains), issuer_ref=issuer_ref, certificate_namespace=namespace)


def json_schema() -> dict[str, Any]:
    """The JSON Schema of MultiDomain, as published in ``functions.yaml``."""
    schema = MultiDomain.model_json_schema(by_alias=True)
    schema["$schema"] = "https://json-schema.org/draft/2020-12/schema"
    schema["title"] = "MultiDomain"
    return schema


def is_multidomain(data: Any) -> bool:
    return isinstance(data, dict) and data.get("kind") == KIND and str(data.get("apiVersion", "")).startswith("krmfn.dev/")

