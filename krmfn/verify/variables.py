"""Flux post-build variables: read them from files and flags, substitute them as Flux does.

Flux's kustomize-controller substitutes ``${VAR}`` in the rendered manifests from
``postBuild.substitute`` and ``substituteFrom`` (Secrets and ConfigMaps), with the bash
forms of fluxcd/pkg/envsubst; the plan keeps the variables, so verify must substitute the
same way to query the names Flux will publish. The replace forms are literal string
replacements there (``strings.Replace``), not glob patterns, and so they are here.

A value may be a secret (``cluster-secrets`` holds tokens beside the domains), so no
message here ever quotes a value or a line of a vars file: only file names, line numbers,
key names and the variables the plan uses.
"""

from __future__ import annotations

import base64
import binascii
import re
from collections.abc import Iterable, Mapping
from typing import Any

from krmfn.errors import InputError, KrmfnError
from krmfn.krm import yamltext

_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
_DOTENV = re.compile(r"(?:export[ \t]+)?([A-Za-z_][A-Za-z0-9_]*)[ \t]*=(.*)")
#: `$${X}` is Flux's escape for a literal `${X}`; every other `${...}` is an expression.
_REFERENCE = re.compile(r"\$\$\{|\$\{([^}]*)\}")
#: The forms substituted: plain, `/` first and `//` every replacement, and the defaults.
_EXPRESSION = re.compile(
    r"(?P<name>[A-Za-z_][A-Za-z0-9_]*)"
    r"(?:(?P<slashes>//?)(?P<pattern>[^/]*)(?:/(?P<replacement>.*))?|(?P<default_op>:?[-=])(?P<default>.*))?",
    re.S,
)


def parse_var_flag(value: str) -> tuple[str, str]:
    """One ``--var KEY=VALUE``."""
    key, sep, val = value.partition("=")
    if not sep:
        what = f" {key}" if _NAME.fullmatch(key) else ""
        raise InputError(f"--var{what} must be KEY=VALUE: it has no `=`")
    if not _NAME.fullmatch(key):
        raise InputError(f"--var `{key}` must start with a variable name (letters, digits, `_`, not a digit first)")
    return key, val


def read_vars_file(path: str) -> dict[str, str]:
    """The variables of one ``--vars FILE``: dotenv lines, or Secret/ConfigMap manifests."""
    try:
        with open(path, "rb") as handle:
            raw = handle.read()
    except OSError as exc:
        raise InputError(f"--vars {path} must be a readable file: {exc.strerror}") from None
    try:
        text = raw.decode("utf-8").lstrip("\ufeff").replace("\r\n", "\n")
    except UnicodeDecodeError as exc:
        raise InputError(f"--vars {path} must be UTF-8: byte {exc.start} is not") from None
    lines = [(n, line.strip()) for n, line in enumerate(text.split("\n"), 1)]
    meaningful = [(n, line) for n, line in lines if line and not line.startswith("#")]
    if not meaningful:
        raise InputError(f"--vars {path} must hold KEY=VALUE lines or a Secret or ConfigMap; it is empty")
    if any(_DOTENV.fullmatch(line) for _, line in meaningful) and not re.search(r"^kind:", text, re.M):
        return _dotenv(path, meaningful)
    return _manifests(path, text)


def _dotenv(path: str, lines: Iterable[tuple[int, str]]) -> dict[str, str]:
    out: dict[str, str] = {}
    for number, line in lines:
        match = _DOTENV.fullmatch(line)
        if match is None:
            raise InputError(f"--vars {path} line {number} must be KEY=VALUE (a variable name, `=`, the value)")
        value = match.group(2).strip()
        if len(value) >= 2 and value[0] == value[-1] and value[0] in "'\"":
            value = value[1:-1]
        out[match.group(1)] = value
    return out


def _manifests(path: str, text: str) -> dict[str, str]:
    try:
        documents = [yamltext.to_data(node) for node in yamltext.compose_all(text)]
    except KrmfnError as exc:
        raise InputError(f"--vars {path} must be KEY=VALUE lines or YAML manifests: {exc}") from None
    sources = [d for d in documents if isinstance(d, dict) and d.get("kind") in ("Secret", "ConfigMap")]
    if not sources:
        raise InputError(
            f"--vars {path} must hold KEY=VALUE lines or a Secret or ConfigMap manifest "
            "(a decrypted `cluster-secrets`); it holds neither"
        )
    out: dict[str, str] = {}
    for doc in sources:
        if "sops" in doc:
            raise InputError(f"--vars {path} is SOPS-encrypted (it has a `sops` block): give a decrypted copy")
        kind = doc["kind"]
        for key, value in _mapping(doc.get("data"), path, kind, "data").items():
            out[key] = _base64(value, path, key) if kind == "Secret" else str(value)
        for key, value in _mapping(doc.get("stringData"), path, kind, "stringData").items():
            out[key] = str(value)
    return out


def _mapping(block: Any, path: str, kind: str, field: str) -> dict[str, Any]:
    if block is None:
        return {}
    if not isinstance(block, dict):
        raise InputError(f"--vars {path}: the {kind}'s `{field}` must be a mapping of keys to values")
    return {str(k): v for k, v in block.items()}


def _base64(value: Any, path: str, key: str) -> str:
    try:
        return base64.b64decode(str(value), validate=True).decode("utf-8")
    except (binascii.Error, UnicodeDecodeError):
        raise InputError(f"--vars {path}: `data.{key}` must be base64 of UTF-8 text (a Secret's data)") from None


def substitute_document(document: Any, variables: Mapping[str, str]) -> Any:
    """A copy of *document* with every string substituted; every undefined variable at once."""
    missing: dict[str, str] = {}
    out = _walk(document, variables, "", missing)
    if missing:
        listed = "; ".join(f"${{{name}}} (used at `{where}`)" for name, where in sorted(missing.items()))
        first = sorted(missing)[0]
        raise InputError(f"Flux variable(s) not defined: {listed}; give them with --vars FILE or --var {first}=VALUE")
    return out


def _walk(value: Any, variables: Mapping[str, str], path: str, missing: dict[str, str]) -> Any:
    if isinstance(value, dict):
        return {k: _walk(v, variables, f"{path}.{k}" if path else str(k), missing) for k, v in value.items()}
    if isinstance(value, list):
        return [_walk(v, variables, f"{path}[{i}]", missing) for i, v in enumerate(value)]
    if isinstance(value, str) and "${" in value:
        return substitute(value, variables, path, missing)
    return value


def substitute(text: str, variables: Mapping[str, str], where: str = "", missing: dict[str, str] | None = None) -> str:
    """*text* with its Flux expressions replaced; undefined names go into *missing* (or raise)."""
    found: dict[str, str] = {} if missing is None else missing

    def one(match: re.Match[str]) -> str:
        if match.group(1) is None:
            return "${"
        expression = _EXPRESSION.fullmatch(match.group(1))
        if expression is None:
            raise InputError(
                f"`{where}`: `${{{match.group(1)}}}` is not a Flux expression verify can substitute "
                "(`${VAR}`, `${VAR/a/b}`, `${VAR//a/b}`, `${VAR:=default}`, `${VAR:-default}`)"
            )
        return _evaluate(expression, variables, where, found)

    out = _REFERENCE.sub(one, text)
    if missing is None and found:
        name, at = next(iter(found.items()))
        raise InputError(f"Flux variable ${{{name}}} (used at `{at}`) is not defined")
    return out


def _evaluate(expression: re.Match[str], variables: Mapping[str, str], where: str, missing: dict[str, str]) -> str:
    name = expression["name"]
    value = variables.get(name)
    op = expression["default_op"]
    if op is not None:
        unset = value is None or (op.startswith(":") and value == "")
        return expression["default"] if unset else str(value)
    if value is None:
        missing.setdefault(name, where)
        return ""
    if expression["slashes"] is None:
        return value
    count = -1 if expression["slashes"] == "//" else 1
    return value.replace(expression["pattern"], expression["replacement"] or "", count)
