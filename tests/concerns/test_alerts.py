"""Certificate expiry alerts: a PrometheusRule whose threshold follows each Certificate's lifetime."""

from __future__ import annotations

from typing import Any

import pytest
from conftest import by_kind, expand_yaml, messages
from crdschema import validate_manifests
from manifests import DOMAINS, certificates, multidomain

from krmfn.api.config import load_config
from krmfn.concerns.alerts import format_duration, parse_duration
from krmfn.errors import ConfigError
from krmfn.expand import expand
from krmfn.krm.yamltext import load

CONFIG = multidomain(DOMAINS, certificates(suffix="production"))
ALERTS = CONFIG + "  expiryAlerts: {}\n"


def rule_of(config: str) -> dict[str, Any]:
    (rule,) = by_kind(expand_yaml(config), "PrometheusRule")
    return rule


def thresholds(config: str) -> list[str]:
    """The number after `<` in each alert expression (seconds)."""
    groups = rule_of(config)["spec"]["groups"]
    return [r["expr"].rpartition("< ")[2] for g in groups for r in g["rules"]]


@pytest.mark.parametrize(
    ("text", "seconds"),
    [
        ("160h", 576000),
        ("2160h", 7776000),
        ("1h30m", 5400),
        ("90m", 5400),
        ("1.5h", 5400),
        ("300ms", 0.3),
        ("10s", 10),
        ("1h0m0s", 3600),
        ("2us", 2e-6),
        ("2µs", 2e-6),
        ("5ns", 5e-9),
    ],
)
def test_go_durations(text: str, seconds: float) -> None:
    assert parse_duration(text) == pytest.approx(seconds)


@pytest.mark.parametrize("text", ["90d", "", "h", "1h 30m", "-1h", "1w", "1hx"])
def test_not_go_durations(text: str) -> None:
    with pytest.raises(ValueError, match="must be a Go duration"):
        parse_duration(text)


@pytest.mark.parametrize(
    ("seconds", "text"), [(192000, "53h20m"), (2592000, "720h"), (90, "1m30s"), (0, "0s"), (5, "5s")]
)
def test_format_duration(seconds: float, text: str) -> None:
    assert format_duration(seconds) == text


def test_default_threshold_is_a_third_of_90_days() -> None:
    rule = rule_of(ALERTS)
    assert rule["apiVersion"] == "monitoring.coreos.com/v1"
    assert rule["metadata"]["name"] == "edge-certificate-expiry"
    assert rule["metadata"]["namespace"] == "network"
    assert "labels" not in rule["metadata"]
    (group,) = rule["spec"]["groups"]
    assert group["name"] == "krmfn-edge-certificate-expiry"
    first, second = group["rules"]
    assert first == {
        "alert": "CertificateExpiringSoon",
        "expr": 'certmanager_certificate_expiration_timestamp_seconds{name="${SECRET_DOMAIN//./-}-production", '
        'namespace="network"} - time() < 2592000',
        "for": "1h",
        "labels": {"severity": "warning"},
        "annotations": {
            "summary": "Certificate network/${SECRET_DOMAIN//./-}-production expires in less than 720h",
            "description": "Certificate {{ .Labels.namespace }}/{{ .Labels.name }} expires in "
            "{{ .Value | humanizeDuration }}; cert-manager should have renewed it by now. Check `kubectl describe "
            "certificate -n network ${SECRET_DOMAIN//./-}-production` and its CertificateRequests and Orders.",
        },
    }
    assert 'name="example-org-production"' in second["expr"]


def test_no_dollar_sign_for_flux_besides_the_domain_variables() -> None:
    """Flux substitutes `${...}`; the alert text must not depend on anything else surviving it."""
    exp = expand_yaml(ALERTS)
    text = next(i.text for i in exp.items if i.header.kind == "PrometheusRule")
    assert text.replace("${SECRET_DOMAIN//./-}", "").count("$") == 0


def test_shortlived_160h_certificates_get_hours() -> None:
    config = ALERTS.replace("nameSuffix: production\n", "nameSuffix: production\n    duration: 160h\n")
    assert thresholds(config) == ["192000", "192000"]
    assert "expires in less than 53h20m" in rule_of(config)["spec"]["groups"][0]["rules"][0]["annotations"]["summary"]


def test_shorter_renew_before_wins_over_a_third() -> None:
    config = ALERTS.replace(
        "nameSuffix: production\n", "nameSuffix: production\n    duration: 2160h\n    renewBefore: 360h\n"
    )
    assert thresholds(config) == ["1296000", "1296000"]
    longer = config.replace("renewBefore: 360h", "renewBefore: 1000h")
    assert thresholds(longer) == ["2592000", "2592000"]


def test_explicit_threshold_and_every_option() -> None:
    config = CONFIG + (
        "  expiryAlerts:\n    threshold: 400h\n    for: 30m\n    severity: critical\n"
        "    namespace: monitoring\n    labels: {release: kube-prometheus-stack}\n"
    )
    exp = expand_yaml(config)
    assert not messages(exp, "warning")
    (rule,) = by_kind(exp, "PrometheusRule")
    assert rule["metadata"]["namespace"] == "monitoring"
    assert rule["metadata"]["labels"] == {"release": "kube-prometheus-stack"}
    alert = rule["spec"]["groups"][0]["rules"][0]
    assert alert["expr"].endswith("< 1440000")
    assert alert["for"] == "30m"
    assert alert["labels"] == {"severity": "critical"}


def test_threshold_above_the_renewal_point_is_a_warning() -> None:
    exp = expand_yaml(CONFIG + "  expiryAlerts: {threshold: 1000h}\n")
    assert messages(exp, "warning") == [
        "`spec.expiryAlerts.threshold` '1000h' is longer than the 720h left when cert-manager renews, "
        "so the alert would fire before renewal is even due; use at most 720h"
    ]
    assert by_kind(exp, "PrometheusRule")


def test_threshold_as_long_as_the_lifetime_is_an_error() -> None:
    config = CONFIG.replace("nameSuffix: production\n", "nameSuffix: production\n    duration: 160h\n")
    exp = expand_yaml(config + "  expiryAlerts: {threshold: 160h}\n")
    assert messages(exp, "error") == [
        "`spec.expiryAlerts.threshold` must be shorter than the certificates' lifetime (160h); "
        "'160h' would fire as soon as a certificate is issued"
    ]
    assert exp.results[0].field == "spec.expiryAlerts.threshold"


def test_days_are_not_go_syntax() -> None:
    with pytest.raises(ConfigError) as err:
        load_config(load(CONFIG + "  expiryAlerts: {threshold: 30d}\n"))
    (problem,) = err.value.problems
    assert problem.path == "spec.expiryAlerts.threshold"
    assert "'30d' does not" in problem.message


def test_for_is_a_prometheus_duration() -> None:
    with pytest.raises(ConfigError) as err:
        load_config(load(CONFIG + "  expiryAlerts: {for: soon}\n"))
    assert err.value.problems[0].path == "spec.expiryAlerts.for"
    assert load_config(load(CONFIG + "  expiryAlerts: {for: 1d}\n")).spec.expiry_alerts is not None


def test_off_by_default_idempotent_and_pruned() -> None:
    assert by_kind(expand_yaml(CONFIG), "PrometheusRule") == []
    exp = expand_yaml(ALERTS)
    again = expand(load_config(load(ALERTS)), exp.items, config_path="multidomain.yaml")
    assert [i.text for i in again.items] == [i.text for i in exp.items]
    off = expand(load_config(load(CONFIG)), exp.items, config_path="multidomain.yaml")
    assert by_kind(off, "PrometheusRule") == []
    assert "pruned PrometheusRule network/edge-certificate-expiry: the config no longer generates it" in messages(off)


def test_no_certificate_no_rule() -> None:
    """A Certificate refused (over 100 names) gets no alert, and with none there is no empty rule."""
    extras = ", ".join(f'"h{i}.example.org"' for i in range(99))
    config = ALERTS.replace("    - name: ${SECRET_DOMAIN}\n", "").replace(
        "    - name: example.org\n", f"    - name: example.org\n      extraDNSNames: [{extras}]\n"
    )
    exp = expand_yaml(config)
    assert messages(exp, "error")
    assert by_kind(exp, "PrometheusRule") == []


def test_prometheus_rule_is_not_covered_by_the_schema_validator() -> None:
    """No pinned schema package covers monitoring.coreos.com: the validator says so."""
    exp = expand_yaml(ALERTS)
    (report,) = [r for r in validate_manifests("---\n".join(i.text for i in exp.items)) if r.kind == "PrometheusRule"]
    assert report.status == "unknown-kind"
