"""Validate Kubernetes manifests against the real CRD schemas from pytest.

The work is done by ``tests/schemas/validate.mjs`` (Node.js), which uses the
pinned ``kubernetes-models`` npm packages (core kinds, cert-manager, Gateway
API, Flux) plus a hand-written external-dns ``DNSEndpoint`` schema. One node
process validates every document of the given YAML text.

Install its dependencies once with ``npm ci --prefix tests/schemas``.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Literal, cast

if TYPE_CHECKING:
    from collections.abc import Iterable, Mapping

SCHEMAS_DIR = Path(__file__).resolve().parent / "schemas"
VALIDATOR_SCRIPT = SCHEMAS_DIR / "validate.mjs"
INSTALL_HINT = "run `npm ci --prefix tests/schemas` (needs node >= 20 on PATH)"

Status = Literal["ok", "invalid", "unknown-kind"]
_STATUSES: frozenset[str] = frozenset({"ok", "invalid", "unknown-kind"})
# validate.mjs exits 0 when nothing is invalid and 1 when something is.
_EXPECTED_EXIT_CODES = frozenset({0, 1})


class SchemaValidationUnavailableError(RuntimeError):
    """Node.js or the npm dependencies of ``tests/schemas`` are missing."""


class SchemaValidatorError(RuntimeError):
    """The validator process failed or printed something unexpected."""


@dataclass(frozen=True)
class ValidationReport:
    """Outcome for one Kubernetes object (``ResourceList`` items count singly)."""

    index: int
    api_version: str | None
    kind: str | None
    name: str | None
    status: Status
    errors: list[str]

    @property
    def ok(self) -> bool:
        """Whether the object is not invalid (``unknown-kind`` counts as ok)."""
        return self.status != "invalid"

    def describe(self) -> str:
        """One human-readable line (plus error lines) for assertion messages."""
        head = f"#{self.index} {self.api_version} {self.kind} {self.name!r}: {self.status}"
        return "\n".join([head, *(f"    {error}" for error in self.errors)])


def _missing_dependencies() -> list[str]:
    """Names from package.json whose package is not in node_modules."""
    manifest = json.loads((SCHEMAS_DIR / "package.json").read_text(encoding="utf-8"))
    dependencies = cast("dict[str, str]", manifest.get("dependencies", {}))
    node_modules = SCHEMAS_DIR / "node_modules"
    return [name for name in dependencies if not (node_modules / name / "package.json").is_file()]


def _node_executable() -> str | None:
    return shutil.which("node")


def unavailable_reason() -> str | None:
    """Explain why schema validation cannot run, or return None if it can."""
    if _node_executable() is None:
        return f"schema validation needs Node.js, but `node` is not on PATH: install it, then {INSTALL_HINT}"
    missing = _missing_dependencies()
    if missing:
        return (
            "schema validation dependencies missing from tests/schemas/node_modules "
            f"({', '.join(missing)}): {INSTALL_HINT}"
        )
    return None


def schema_validation_available() -> bool:
    """Return True when node is on PATH and tests/schemas/node_modules is complete."""
    return unavailable_reason() is None


def require_schema_validation() -> None:
    """Raise SchemaValidationUnavailableError (with the install hint) if unavailable."""
    reason = unavailable_reason()
    if reason is not None:
        raise SchemaValidationUnavailableError(reason)


def _optional_str(record: Mapping[str, object], key: str) -> str | None:
    value = record.get(key)
    if value is None or isinstance(value, str):
        return value
    msg = f"validator output field {key!r} is not a string: {value!r}"
    raise SchemaValidatorError(msg)


def _parse_report(line: str) -> ValidationReport:
    try:
        decoded: object = json.loads(line)
    except json.JSONDecodeError as exc:
        msg = f"validator printed a non-JSON line: {line!r}"
        raise SchemaValidatorError(msg) from exc
    if not isinstance(decoded, dict):
        msg = f"validator printed a non-object JSON line: {line!r}"
        raise SchemaValidatorError(msg)
    record = cast("dict[str, object]", decoded)
    index, status, errors = (
        record.get("index"),
        record.get("status"),
        record.get("errors"),
    )
    if not isinstance(index, int) or not isinstance(status, str) or status not in _STATUSES:
        msg = f"validator printed an unexpected record: {line!r}"
        raise SchemaValidatorError(msg)
    if not isinstance(errors, list) or not all(isinstance(error, str) for error in errors):
        msg = f"validator printed malformed errors: {line!r}"
        raise SchemaValidatorError(msg)
    return ValidationReport(
        index=index,
        api_version=_optional_str(record, "apiVersion"),
        kind=_optional_str(record, "kind"),
        name=_optional_str(record, "name"),
        status=cast("Status", status),
        errors=cast("list[str]", errors),
    )


def validate_manifests(
    yaml_text: str,
    *,
    substitutions: Mapping[str, str] | None = None,
    allow_unknown_fields: bool = False,
    timeout: float = 120.0,
) -> list[ValidationReport]:
    """Validate every object of a multi-document YAML text; one report per object.

    ``kind: ResourceList`` documents are unwrapped into their ``items``.
    ``substitutions`` replaces ``${KEY}`` in the text before parsing, as Flux
    post-build substitution does (Gateway API hostname patterns reject a
    literal ``${SECRET_DOMAIN}``). Unknown fields in schema-defined objects
    are errors unless ``allow_unknown_fields`` is set.

    Raises SchemaValidationUnavailableError when node or node_modules is
    missing, SchemaValidatorError when the validator itself fails.
    """
    require_schema_validation()
    node = _node_executable()
    if node is None:  # pragma: no cover - checked by require_schema_validation
        raise SchemaValidationUnavailableError(INSTALL_HINT)
    args = [node, str(VALIDATOR_SCRIPT)]
    for key, value in (substitutions or {}).items():
        args += ["--substitute", f"{key}={value}"]
    if allow_unknown_fields:
        args.append("--allow-unknown-fields")
    # A file, not a pipe: node's readFileSync(0) fails with EAGAIN on a large piped input.
    with tempfile.NamedTemporaryFile("w", suffix=".yaml", encoding="utf-8") as handle:
        handle.write(yaml_text)
        handle.flush()
        completed = subprocess.run(  # noqa: S603, RUF100 - fixed script, no shell
            [*args, handle.name],
            capture_output=True,
            text=True,
            encoding="utf-8",
            timeout=timeout,
            check=False,
        )
    if completed.returncode not in _EXPECTED_EXIT_CODES:
        stderr = completed.stderr.strip()
        msg = f"validate.mjs exited with {completed.returncode}: {stderr}"
        raise SchemaValidatorError(msg)
    return [_parse_report(line) for line in completed.stdout.splitlines() if line.strip()]


def format_reports(reports: Iterable[ValidationReport]) -> str:
    """Render reports as text, one object per line, for assertion messages."""
    return "\n".join(report.describe() for report in reports)


def assert_manifests_valid(
    yaml_text: str,
    *,
    substitutions: Mapping[str, str] | None = None,
    allow_unknown_kinds: bool = True,
    allow_unknown_fields: bool = False,
) -> list[ValidationReport]:
    """Validate, raising AssertionError that lists every invalid object.

    Returns the reports when nothing failed.

    With ``allow_unknown_kinds=False`` an object without a known schema is a
    failure too (use it to make sure every emitted kind is really checked).
    """
    reports = validate_manifests(
        yaml_text,
        substitutions=substitutions,
        allow_unknown_fields=allow_unknown_fields,
    )
    failed = [r for r in reports if not r.ok or (not allow_unknown_kinds and r.status == "unknown-kind")]
    if failed:
        msg = f"{len(failed)} of {len(reports)} manifest(s) failed schema validation:\n{format_reports(failed)}"
        raise AssertionError(msg)
    return reports
