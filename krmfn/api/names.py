"""Domain names as the user writes them, and the resource names derived from them.

A domain is an FQDN (IDN converted to punycode, lower-cased, no trailing dot), a Flux
post-build variable (``${SECRET_DOMAIN}``), or labels in front of one
(``dev.${SECRET_DOMAIN}``). Flux substitutes variables as text after rendering, so a
variable stays a variable in everything generated from it.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

_LABEL = re.compile(r"^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$")
_VARIABLE = re.compile(r"\$\{([_A-Za-z][_A-Za-z0-9]*)\}")
_VAR_NAME = re.compile(r"^[_A-Za-z][_A-Za-z0-9]*$")


@dataclass(frozen=True)
class DomainName:
    """A validated domain: its text as written in manifests, and its parts."""

    text: str
    #: The Flux variable the domain ends in, or None for a literal FQDN.
    variable: str | None = None

    @property
    def base(self) -> str:
        """The name stem of every resource generated for this domain (SPEC §1).

        ``example.co.uk`` → ``example-co-uk``; ``${SECRET_DOMAIN}`` → ``${SECRET_DOMAIN//./-}``
        (Flux's replace-all; ``${VAR/./-}`` would replace only the first dot).
        """
        if self.variable is None:
            return self.text.replace(".", "-")
        prefix = self.text[: -len(f"${{{self.variable}}}")]
        return prefix.replace(".", "-") + f"${{{self.variable}//./-}}"

    def is_under(self, other: DomainName) -> bool:
        """True when this domain is a proper subdomain of *other* (as text; variables opaque)."""
        return self.text.endswith("." + other.text)

    def covers(self, hostname: str) -> bool:
        """True for the apex itself and every name below it."""
        return hostname == self.text or hostname.endswith("." + self.text)

    def __str__(self) -> str:
        return self.text


def parse_domain(raw: str) -> DomainName:
    """Validate and normalise a domain as written in ``spec.domains[].name``.

    Raises ValueError with a message that quotes the value and says what must hold.
    """
    if not isinstance(raw, str) or not raw:
        raise ValueError("must be a non-empty domain name")
    if raw != raw.strip():
        raise ValueError(f"must not have leading or trailing whitespace: {raw!r}")
    if "$" in raw:
        return _parse_variable_domain(raw)
    if "://" in raw:
        raise ValueError(f"must be a domain name, not a URL: {raw!r} (drop the scheme)")
    if "*" in raw:
        raise ValueError(f"must not be a wildcard: {raw!r} (the wildcard name is added by `wildcard: true`)")
    name = raw[:-1] if raw.endswith(".") else raw
    try:
        ascii_name = name.encode("ascii").decode().lower()
    except UnicodeEncodeError:
        ascii_name = _punycode(name, raw)
    _check_fqdn(ascii_name, raw)
    return DomainName(ascii_name)


def _punycode(name: str, raw: str) -> str:
    import idna  # only internationalised names pay for the import

    try:
        return idna.encode(name, uts46=True).decode("ascii")
    except idna.IDNAError as exc:
        raise ValueError(f"must be a valid internationalised domain name: {raw!r} ({exc})") from None


def _check_fqdn(name: str, raw: str) -> None:
    if len(name) > 253:
        raise ValueError(f"must be at most 253 characters long; {raw[:40]!r}… has {len(name)}")
    labels = name.split(".")
    if len(labels) < 2:
        raise ValueError(f"must be a fully qualified domain name with at least two labels: {raw!r}")
    for label in labels:
        if not label:
            raise ValueError(f"must not contain an empty label: {raw!r}")
        if len(label) > 63:
            raise ValueError(f"labels must be at most 63 characters long; {label[:20]!r}… in {raw!r} has {len(label)}")
        if "_" in label:
            raise ValueError(f"must not contain an underscore: {raw!r} (not valid in a host name or certificate)")
        if not _LABEL.match(label):
            raise ValueError(f"labels must be letters, digits and inner hyphens: {label!r} in {raw!r} is not")
    if labels[-1].isdigit():
        raise ValueError(f"must be a domain name, not an IP address: {raw!r}")


def _parse_variable_domain(raw: str) -> DomainName:
    matches = list(_VARIABLE.finditer(raw))
    if len(matches) != 1 or raw.count("$") != 1:
        hint = "write it as `${VAR}` or `labels.${VAR}`"
        if "${" in raw and "}" not in raw[raw.index("${") :]:
            raise ValueError(f"must close the Flux variable with `}}`: {raw!r} ({hint})")
        if "${}" in raw:
            raise ValueError(f"must name the Flux variable: {raw!r} ({hint})")
        if re.search(r"\$(?!\{)", raw):
            raise ValueError(f"must use braces around a Flux variable: {raw!r} ({hint})")
        inner = re.search(r"\$\{([^}]*)\}", raw)
        if inner and not _VAR_NAME.match(inner.group(1)):
            raise ValueError(
                f"must use a plain Flux variable name (letters, digits, `_`), without operators: {raw!r} ({hint})"
            )
        raise ValueError(f"must contain exactly one Flux variable: {raw!r} ({hint})")
    match = matches[0]
    if match.end() != len(raw):
        raise ValueError(f"must end with the Flux variable: {raw!r} (write it as `labels.${{VAR}}`)")
    prefix = raw[: match.start()]
    if prefix:
        if not prefix.endswith("."):
            raise ValueError(f"must separate labels from the Flux variable with a dot: {raw!r}")
        for label in prefix[:-1].split("."):
            if not _LABEL.match(label):
                raise ValueError(f"labels must be lower-case letters, digits and inner hyphens: {label!r} in {raw!r}")
    return DomainName(raw, variable=match.group(1))


#: A resource name (DNS-1123 subdomain) and a DNS name (a certificate's `dnsNames` entry) in Kubernetes.
MAX_NAME = 253


def derived_name_problems(domain: DomainName, *, suffix: str | None, wildcard: bool) -> list[str]:
    """What the names derived from *domain* break: the Certificate and Secret names (DNS-1123
    subdomains, at most 253 characters) and the wildcard entry ``*.<domain>`` (a DNS name,
    at most 253 characters). A Flux variable's length is known only after substitution, so
    a domain that holds one is not measured.
    """
    if domain.variable is not None:
        return []
    base = domain.base
    certificate = f"{base}-{suffix}" if suffix else base
    names = [("Certificate name", certificate), ("Secret name", f"{certificate}-tls")]
    if wildcard:
        names.append(("wildcard certificate name", f"*.{domain.text}"))
    out = []
    for what, name in names:
        if len(name) > MAX_NAME:
            shown = f"{name[:24]}…{name[-12:]}"
            out.append(
                f"must be short enough for the names derived from it: {domain.text[:24]!r}… derives the {what} "
                f"{shown!r} of {len(name)} characters; Kubernetes allows at most {MAX_NAME} (shorten the domain"
                + (", drop `wildcard`" if what.startswith("wildcard") else ", or `spec.certificates.nameSuffix`")
                + ")"
            )
    return out


def expand_template(template: str, domain: DomainName) -> str:
    """``external.{domain}`` → ``external.example.org`` (or ``external.${VAR}``)."""
    return template.replace("{domain}", domain.text)
