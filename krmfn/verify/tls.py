"""The certificate a gateway serves for a name: fetched with SNI, judged as pure functions.

:func:`fetch` does one handshake (two when ``--cafile`` is given and the chain does not
verify, to still read the certificate); :func:`judge` decides coverage, the validity
window, the chain and the days left, from the DER bytes and a clock.
"""

from __future__ import annotations

import datetime as dt
import socket
import ssl
from dataclasses import dataclass

from cryptography import x509
from cryptography.x509.oid import NameOID

from krmfn.verify.report import Check


@dataclass(frozen=True)
class Served:
    """What one TLS connection showed: the leaf's DER, or why there is none."""

    der: bytes | None = None
    error: str | None = None
    #: None: not checked (no CA file); "": the chain verified; else OpenSSL's reason.
    chain_error: str | None = None


def fetch(address: str, port: int, sni: str, cafile: str | None, timeout: float) -> Served:
    """The leaf certificate served at *address*:*port* for *sni*."""
    chain_error: str | None = None
    if cafile is not None:
        verifying = ssl.create_default_context(cafile=cafile)
        verifying.check_hostname = False  # coverage is judged by judge(), with its own message
        try:
            return Served(der=_handshake(verifying, address, port, sni, timeout), chain_error="")
        except ssl.SSLCertVerificationError as exc:
            chain_error = exc.verify_message or str(exc)
        except (OSError, ssl.SSLError) as exc:
            return Served(error=_describe_error(exc, address, port))
    plain = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    plain.check_hostname = False
    plain.verify_mode = ssl.CERT_NONE  # read whatever is served; judge() says what is wrong with it
    try:
        return Served(der=_handshake(plain, address, port, sni, timeout), chain_error=chain_error)
    except (OSError, ssl.SSLError) as exc:
        return Served(error=_describe_error(exc, address, port))


def _handshake(context: ssl.SSLContext, address: str, port: int, sni: str, timeout: float) -> bytes:
    with (
        socket.create_connection((address, port), timeout=timeout) as raw,
        context.wrap_socket(raw, server_hostname=sni) as tls,
    ):
        der = tls.getpeercert(binary_form=True)
    if not der:
        raise ssl.SSLError("the server sent no certificate")
    return der


def _describe_error(exc: BaseException, address: str, port: int) -> str:
    where = f"[{address}]:{port}" if ":" in address else f"{address}:{port}"
    if isinstance(exc, TimeoutError | socket.timeout):
        return f"no TLS handshake with {where} in time"
    if isinstance(exc, ssl.SSLError):
        return f"TLS handshake with {where} failed: {exc.reason or exc}"
    return f"cannot connect to {where}: {getattr(exc, 'strerror', None) or exc}"


def covers(pattern: str, name: str) -> bool:
    """Whether a certificate name covers *name* (a wildcard covers exactly one label)."""
    pattern, name = pattern.lower().rstrip("."), name.lower().rstrip(".")
    if pattern.startswith("*."):
        head, _, rest = name.partition(".")
        return bool(head) and rest == pattern[2:]
    return pattern == name


def dns_names(cert: x509.Certificate) -> list[str]:
    try:
        san = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    except x509.ExtensionNotFound:
        return []
    return [str(n) for n in san.get_values_for_type(x509.DNSName)]


def describe(cert: x509.Certificate) -> str:
    issuer = cert.issuer.get_attributes_for_oid(NameOID.COMMON_NAME)
    by = f", issued by {issuer[0].value!s}" if issuer else ""
    return (
        f"{', '.join(dns_names(cert)) or 'no DNS names'} "
        f"(valid {cert.not_valid_before_utc:%Y-%m-%d} to {cert.not_valid_after_utc:%Y-%m-%d}{by})"
    )


def judge(served: Served, name: str, now: dt.datetime, warning_days: float | None) -> list[Check]:
    """The ``tls.*`` checks for *name* from what was served."""
    if served.der is None:
        return [Check("tls.covers", "fail", served.error or "no certificate", f"a certificate for {name}", None)]
    cert = x509.load_der_x509_certificate(served.der)
    found = describe(cert)
    names = dns_names(cert)
    checks = []
    if any(covers(n, name) for n in names):
        checks.append(Check("tls.covers", "pass", "covers the name", name, found))
    else:
        message = "the served certificate does not cover the name"
        checks.append(Check("tls.covers", "fail", message, f"a certificate for {name}", found))
    start, end = cert.not_valid_before_utc, cert.not_valid_after_utc
    if now < start:
        checks.append(Check("tls.validity", "fail", f"not valid before {start:%Y-%m-%d %H:%M} UTC", "valid now", found))
    elif now > end:
        checks.append(Check("tls.validity", "fail", f"expired on {end:%Y-%m-%d %H:%M} UTC", "valid now", found))
    else:
        checks.append(Check("tls.validity", "pass", "valid now", "valid now", found))
    if served.chain_error is not None:
        if served.chain_error:
            checks.append(Check("tls.chain", "fail", f"the chain does not verify: {served.chain_error}", None, found))
        else:
            checks.append(Check("tls.chain", "pass", "the chain verifies against --cafile", None, found))
    if now <= end:
        days = (end - now).total_seconds() / 86400
        left = f"expires in {days:.0f} day(s), on {end:%Y-%m-%d}"
        if warning_days is not None and days < warning_days:
            checks.append(
                Check("tls.expiry", "warn", f"{left}: inside the {warning_days:g}-day alert window", None, found)
            )
        else:
            checks.append(Check("tls.expiry", "pass", left, None, found))
    return checks
