"""A PrometheusRule that fires when a managed certificate is about to expire (``spec.expiryAlerts``).

cert-manager exports ``certmanager_certificate_expiration_timestamp_seconds{name, namespace}``
(the certificate's notAfter, Unix time) for every Certificate. One alert rule per generated
Certificate fires when ``expiration - time()`` drops below a threshold. A fixed threshold
does not fit every lifetime: the seed's 15 to 20 days assumes 90-day certificates, while the
cluster-template's `shortlived` 160h certificates never have that much left. So the default
is derived from each Certificate's ``duration`` (90 days when unset, as in cert-manager):
one third of it, which is where cert-manager renews by default, or ``renewBefore`` when that
is shorter. The alert's ``for`` (1h by default) then means "renewal is overdue", not
"renewal is due".
"""

from __future__ import annotations

import re
from typing import Any

from krmfn.api.config import ExpiryAlertsSpec
from krmfn.context import Context, ManagedCertificate
from krmfn.krm import results as r

API_VERSION = "monitoring.coreos.com/v1"
FILE = "certificate-alerts.yaml"
METRIC = "certmanager_certificate_expiration_timestamp_seconds"
ALERT = "CertificateExpiringSoon"
#: cert-manager's documented default `duration`.
DEFAULT_DURATION = "2160h"

_UNITS = {"ns": 1e-9, "us": 1e-6, "µs": 1e-6, "ms": 1e-3, "s": 1.0, "m": 60.0, "h": 3600.0}
_PART = re.compile(r"([0-9]+(?:\.[0-9]+)?)(ns|us|µs|ms|s|m|h)")


def parse_duration(text: str) -> float:
    """Seconds in a Go duration such as ``160h`` or ``1h30m`` (no days: ``90d`` is not Go syntax)."""
    parts = list(_PART.finditer(text))
    if not parts or "".join(m.group(0) for m in parts) != text:
        raise ValueError(f"must be a Go duration such as `160h` or `1h30m`; {text!r} is not")
    return sum(float(m.group(1)) * _UNITS[m.group(2)] for m in parts)


def format_duration(seconds: float) -> str:
    """``192000`` → ``53h20m``: whole hours and minutes, seconds only when present."""
    total = round(seconds)
    hours, rest = divmod(total, 3600)
    minutes, secs = divmod(rest, 60)
    text = (f"{hours}h" if hours else "") + (f"{minutes}m" if minutes else "") + (f"{secs}s" if secs else "")
    return text or "0s"


def generate(ctx: Context) -> None:
    spec = ctx.config.spec.expiry_alerts
    if spec is None:
        return
    certificates = list(ctx.certificates.values())
    if not certificates:
        return
    if spec.threshold is not None:
        shortest = min(
            certificates, key=lambda c: parse_duration(str(c.data["spec"].get("duration") or DEFAULT_DURATION))
        )
        _check_threshold(ctx, spec.threshold, shortest.data["spec"])
    rules = [_rule(spec, cert) for cert in certificates]
    metadata: dict[str, Any] = {
        "name": f"{ctx.config.name}-certificate-expiry",
        "namespace": spec.namespace or ctx.config.certificate_namespace,
    }
    if spec.labels:
        metadata["labels"] = dict(spec.labels)
    ctx.generate(
        {
            "apiVersion": API_VERSION,
            "kind": "PrometheusRule",
            "metadata": metadata,
            "spec": {"groups": [{"name": f"krmfn-{ctx.config.name}-certificate-expiry", "rules": rules}]},
        },
        FILE,
    )


def threshold_seconds(spec: ExpiryAlertsSpec, certificate_spec: dict[str, Any]) -> float:
    """The remaining lifetime below which the alert fires, for one Certificate."""
    if spec.threshold is not None:
        return parse_duration(spec.threshold)
    return _renewal_point(certificate_spec)


def _renewal_point(certificate_spec: dict[str, Any]) -> float:
    """Remaining lifetime at which cert-manager renews: ``renewBefore``, else a third of ``duration``."""
    third = parse_duration(str(certificate_spec.get("duration") or DEFAULT_DURATION)) / 3
    renew_before = certificate_spec.get("renewBefore")
    return min(third, parse_duration(str(renew_before))) if renew_before else third


def _rule(spec: ExpiryAlertsSpec, cert: ManagedCertificate) -> dict[str, Any]:
    name, namespace, cert_spec = cert.name, cert.namespace, cert.data["spec"]
    threshold = threshold_seconds(spec, cert_spec)
    selector = f'{{name="{name}", namespace="{namespace}"}}'
    # `.Value`/`.Labels` rather than `$value`/`$labels`: nothing here for Flux's substitution to touch
    return {
        "alert": ALERT,
        "expr": f"{METRIC}{selector} - time() < {round(threshold)}",
        "for": spec.for_,
        "labels": {"severity": spec.severity},
        "annotations": {
            "summary": f"Certificate {namespace}/{name} expires in less than {format_duration(threshold)}",
            "description": (
                "Certificate {{ .Labels.namespace }}/{{ .Labels.name }} expires in {{ .Value | humanizeDuration }}; "
                "cert-manager should have renewed it by now. Check `kubectl describe certificate -n "
                f"{namespace} {name}` and its CertificateRequests and Orders."
            ),
        },
    }


def _check_threshold(ctx: Context, text: str, certificates: dict[str, Any]) -> None:
    """A threshold must leave the alert silent while cert-manager is still expected to renew."""
    field = "spec.expiryAlerts.threshold"
    threshold = parse_duration(text)
    duration = parse_duration(str(certificates.get("duration") or DEFAULT_DURATION))
    renewal = _renewal_point(certificates)
    if threshold >= duration:
        ctx.report(
            r.error(
                f"`{field}` must be shorter than the certificates' lifetime ({format_duration(duration)}); "
                f"{text!r} would fire as soon as a certificate is issued",
                field=field,
                resource=ctx.config_ref,
            )
        )
    elif threshold > renewal:
        ctx.report(
            r.warning(
                f"`{field}` {text!r} is longer than the {format_duration(renewal)} left when cert-manager renews, "
                f"so the alert would fire before renewal is even due; use at most {format_duration(renewal)}",
                field=field,
                resource=ctx.config_ref,
            )
        )
