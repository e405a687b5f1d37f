"""Flux variables for verify: the forms Flux substitutes, and the files and flags they come from."""

from __future__ import annotations

import base64
from pathlib import Path

import pytest

from krmfn.errors import InputError
from krmfn.verify.variables import parse_var_flag, read_vars_file, substitute, substitute_document

SECRET = "s3cr3t-token-value"


@pytest.mark.parametrize(
    ("text", "values", "expected"),
    [
        ("app.${D}", {"D": "example.com"}, "app.example.com"),
        ("${D//./-}-production", {"D": "a.example.com"}, "a-example-com-production"),
        ("${D/./-}-production", {"D": "a.example.com"}, "a-example.com-production"),
        ("${D//.}", {"D": "a.b"}, "ab"),
        ("${D:=example.net}", {}, "example.net"),
        ("${D:=example.net}", {"D": ""}, "example.net"),
        ("${D:-example.net}", {"D": "example.org"}, "example.org"),
        ("${D-example.net}", {"D": ""}, ""),
        ("${D=example.net}", {}, "example.net"),
        ("$${D} stays", {"D": "x"}, "${D} stays"),
        ("no variables", {}, "no variables"),
        ("${A}.${B}", {"A": "x", "B": "example.com"}, "x.example.com"),
    ],
)
def test_substitutes_as_flux_does(text: str, values: dict[str, str], expected: str) -> None:
    assert substitute(text, values) == expected


def test_an_unsupported_expression_is_named() -> None:
    with pytest.raises(InputError, match=r"`domains\[0\]\.name`: `\$\{D\^\^\}` is not a Flux expression"):
        substitute("${D^^}", {"D": "x"}, "domains[0].name")


def test_a_single_undefined_variable_raises() -> None:
    with pytest.raises(InputError, match=r"\$\{NOPE\} \(used at `x`\) is not defined"):
        substitute("${NOPE}", {}, "x")


def test_every_undefined_variable_is_named_with_where_it_is_used() -> None:
    doc = {"domains": [{"name": "${ONE}", "hostnames": [{"name": "a.${TWO}"}, {"name": "b.${ONE}"}]}]}
    with pytest.raises(InputError) as caught:
        substitute_document(doc, {"OTHER": SECRET})
    message = str(caught.value)
    assert "${ONE} (used at `domains[0].name`)" in message
    assert "${TWO} (used at `domains[0].hostnames[0].name`)" in message
    assert "--var ONE=VALUE" in message
    assert SECRET not in message


def test_substitute_document_copies_and_keeps_other_values() -> None:
    doc = {"a": ["${D}", 3, None, True], "b": {"c": "x.${D}"}}
    out = substitute_document(doc, {"D": "example.com"})
    assert out == {"a": ["example.com", 3, None, True], "b": {"c": "x.example.com"}}
    assert doc["b"] == {"c": "x.${D}"}


def test_dotenv_lines(tmp_path: Path) -> None:
    path = tmp_path / "vars.env"
    path.write_text(
        "# cluster variables\n\nSECRET_DOMAIN=example.com\nexport SECRET_DOMAIN_TWO='example.org'\n"
        'TOKEN="a b"\r\nEMPTY=\n'
    )
    assert read_vars_file(str(path)) == {
        "SECRET_DOMAIN": "example.com",
        "SECRET_DOMAIN_TWO": "example.org",
        "TOKEN": "a b",
        "EMPTY": "",
    }


def test_a_plaintext_secret_and_configmap(tmp_path: Path) -> None:
    path = tmp_path / "cluster-secrets.yaml"
    encoded = base64.b64encode(b"example.org").decode()
    path.write_text(
        "apiVersion: v1\nkind: Secret\nmetadata:\n  name: cluster-secrets\n  namespace: flux-system\n"
        f"stringData:\n  SECRET_DOMAIN: example.com\n  PORT: 443\ndata:\n  SECRET_DOMAIN_TWO: {encoded}\n"
        "---\napiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: cluster-settings\ndata:\n  TIMEZONE: Etc/UTC\n"
        "---\napiVersion: v1\nkind: Namespace\nmetadata:\n  name: ignored\n"
    )
    assert read_vars_file(str(path)) == {
        "SECRET_DOMAIN": "example.com",
        "PORT": "443",
        "SECRET_DOMAIN_TWO": "example.org",
        "TIMEZONE": "Etc/UTC",
    }


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (f"A=1\nthis line holds {SECRET}\n", r"line 2 must be KEY=VALUE"),
        ("", r"it is empty"),
        ("# only a comment\n", r"it is empty"),
        ("apiVersion: v1\nkind: Namespace\nmetadata: {name: x}\n", r"holds neither"),
        (
            f"apiVersion: v1\nkind: Secret\nmetadata: {{name: x}}\nstringData:\n  K: ENC[{SECRET}]\nsops:\n  version: 3.9.0\n",
            r"SOPS-encrypted",
        ),
        (
            f"apiVersion: v1\nkind: Secret\nmetadata: {{name: x}}\ndata:\n  K: '{SECRET}!'\n",
            r"`data\.K` must be base64",
        ),
        ("apiVersion: v1\nkind: Secret\nmetadata: {name: x}\nstringData: [a]\n", r"`stringData` must be a mapping"),
        ("kind: Secret\nstringData: {a: [unclosed\n", r"must be KEY=VALUE lines or YAML manifests"),
    ],
)
def test_bad_vars_files_are_named_without_their_values(tmp_path: Path, content: str, message: str) -> None:
    path = tmp_path / "vars"
    path.write_text(content)
    with pytest.raises(InputError, match=message) as caught:
        read_vars_file(str(path))
    assert str(caught.value).startswith(f"--vars {path}")
    assert SECRET not in str(caught.value)


def test_unreadable_and_binary_vars_files(tmp_path: Path) -> None:
    with pytest.raises(InputError, match=r"--vars .*missing must be a readable file: No such file"):
        read_vars_file(str(tmp_path / "missing"))
    binary = tmp_path / "binary"
    binary.write_bytes(b"A=\xff\n")
    with pytest.raises(InputError, match=r"must be UTF-8"):
        read_vars_file(str(binary))


def test_var_flags() -> None:
    assert parse_var_flag("SECRET_DOMAIN=example.com") == ("SECRET_DOMAIN", "example.com")
    assert parse_var_flag("A=b=c") == ("A", "b=c")
    with pytest.raises(InputError, match=r"^--var SECRET_DOMAIN must be KEY=VALUE"):
        parse_var_flag("SECRET_DOMAIN")
    with pytest.raises(InputError, match=r"^--var must be KEY=VALUE"):
        parse_var_flag(f"{SECRET}.value")
    with pytest.raises(InputError, match=r"^--var `1A` must start with a variable name") as caught:
        parse_var_flag(f"1A={SECRET}")
    assert SECRET not in str(caught.value)
