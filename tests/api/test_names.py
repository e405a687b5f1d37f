"""Domain names: what is accepted, how it is normalised, what names derive from it."""

from __future__ import annotations

import pytest

from krmfn.api.names import DomainName, expand_template, parse_domain


@pytest.mark.parametrize(
    ("raw", "text", "base"),
    [
        ("example.com", "example.com", "example-com"),
        ("Example.CO.uk.", "example.co.uk", "example-co-uk"),
        ("bücher.example", "xn--bcher-kva.example", "xn--bcher-kva-example"),
        ("${SECRET_DOMAIN}", "${SECRET_DOMAIN}", "${SECRET_DOMAIN//./-}"),
        ("dev.${SECRET_DOMAIN}", "dev.${SECRET_DOMAIN}", "dev-${SECRET_DOMAIN//./-}"),
        ("a-1.b.${_X9}", "a-1.b.${_X9}", "a-1-b-${_X9//./-}"),
    ],
)
def test_valid_domains(raw: str, text: str, base: str) -> None:
    name = parse_domain(raw)
    assert name.text == text
    assert name.base == base


@pytest.mark.parametrize(
    ("raw", "message"),
    [
        ("", "must be a non-empty domain name"),
        ("example..com", "must not contain an empty label: 'example..com'"),
        ("a" * 64 + ".com", "labels must be at most 63 characters long"),
        (("a" * 60 + ".") * 5 + "com", "must be at most 253 characters long"),
        ("my_app.example.com", "must not contain an underscore"),
        ("-app.example.com", "labels must be letters, digits and inner hyphens: '-app'"),
        ("192.168.1.10", "must be a domain name, not an IP address"),
        ("https://example.com", "must be a domain name, not a URL"),
        ("*.example.com", "must not be a wildcard"),
        ("example.com ", "must not have leading or trailing whitespace"),
        ("localhost", "at least two labels"),
        ("${}", "must name the Flux variable"),
        ("${A", "must close the Flux variable"),
        ("$A", "must use braces around a Flux variable"),
        ("${A/./-}", "without operators"),
        ("${A}.com", "must end with the Flux variable"),
        ("dev${A}", "must separate labels from the Flux variable with a dot"),
        ("Dev.${A}", "labels must be lower-case"),
        ("${A}${B}", "exactly one Flux variable"),
        ("\u2603.com", "internationalised domain name"),
        ("ex ample.com", "labels must be letters"),
    ],
)
def test_invalid_domains_say_what_must_hold(raw: str, message: str) -> None:
    with pytest.raises(
        ValueError, match=message.replace("(", r"\(").replace("*", r"\*").replace("$", r"\$").replace("{", r"\{")
    ):
        parse_domain(raw)


def test_coverage_and_nesting() -> None:
    parent, child = parse_domain("example.com"), parse_domain("staging.example.com")
    assert child.is_under(parent)
    assert not parent.is_under(child)
    assert not parse_domain("notexample.com").is_under(parent)
    assert parent.covers("example.com")
    assert parent.covers("a.b.example.com")
    assert not parent.covers("badexample.com")


def test_templates_keep_variables() -> None:
    assert (
        expand_template("external.{domain}", DomainName("${SECRET_DOMAIN}", "SECRET_DOMAIN"))
        == "external.${SECRET_DOMAIN}"
    )
    assert str(parse_domain("example.org")) == "example.org"
