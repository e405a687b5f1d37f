"""The `krmfn verify` flags, and running verify on a plan document once the edge has one.

:mod:`krmfn.cli` owns reading the manifests and building the plan (that needs the
expansion, which this package must not import); everything after that is here. Bad flags
raise :class:`~krmfn.errors.InputError` with a message naming the flag and its value.
"""

from __future__ import annotations

import argparse
import json
import math
import ssl
from collections.abc import Sequence
from typing import IO, Any, NoReturn

from krmfn.errors import InputError
from krmfn.verify import report, variables
from krmfn.verify.resolver import parse_address, parse_nameserver
from krmfn.verify.run import Options, verify

DESCRIPTION = """\
Check that the live DNS zone and the gateways match the plan, per hostname: the record
(type and target), the CNAME chain to an address, the certificate served for the name
(coverage, validity, chain with --cafile, days to expiry) and, with --http, the answer
for each apex and one name per tunnelled wildcard (a 404 from the tunnel's catch-all is
the apex-404).

The plan comes from the same input as `krmfn plan` (stdin, --config FILE), or from a
saved `krmfn plan --json` with --plan FILE. Flux variables in it (${SECRET_DOMAIN}) are
substituted from --vars FILE (KEY=VALUE lines, or a plaintext Secret/ConfigMap such as a
decrypted cluster-secrets) and --var KEY=VALUE; their values are never printed.

Exit status: 1 when any check fails or the deadline passes, 0 otherwise.
"""

EPILOG = """\
examples:
  krmfn verify --config multidomain.yaml --vars cluster-secrets.env < manifests.yaml
  krmfn plan --json < manifests.yaml > plan.json
  krmfn verify --plan plan.json --var SECRET_DOMAIN=example.com --nameserver 1.1.1.1
  krmfn verify --plan plan.json --vars secrets.yaml --zone example.com.txt   # offline, DNS only
  krmfn verify --plan plan.json --vars secrets.yaml --connect 192.0.2.10:443 --cafile ca.pem
"""


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> NoReturn:
        raise InputError(f"verify: {message} (see krmfn verify --help)")


def parse(argv: Sequence[str]) -> argparse.Namespace:
    parser = _Parser(
        prog="krmfn verify",
        description=DESCRIPTION,
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--config", metavar="FILE", help="MultiDomain config file, as for `krmfn plan`")
    parser.add_argument("--plan", metavar="FILE", help="a saved `krmfn plan --json` instead of the manifests")
    parser.add_argument("--vars", metavar="FILE", action="append", default=[], help="Flux variables (repeatable)")
    parser.add_argument("--var", metavar="KEY=VALUE", action="append", default=[], help="one variable (repeatable)")
    parser.add_argument("--nameserver", metavar="HOST[:PORT]", help="ask this nameserver (default: the system's)")
    parser.add_argument(
        "--zone", metavar="FILE", action="append", default=[], help="compare with a zone file, offline (repeatable)"
    )
    parser.add_argument("--connect", metavar="HOST:PORT", help="TLS and HTTP to this address instead of the name's")
    parser.add_argument("--port", metavar="N", type=_port, default=443, help="TLS/HTTP port on resolved addresses")
    parser.add_argument("--cafile", metavar="FILE", help="PEM CA certificates to verify served chains against")
    parser.add_argument("--no-tls", action="store_true", help="check DNS only")
    parser.add_argument("--http", action="store_true", help="request each apex and one name per tunnelled wildcard")
    parser.add_argument("--timeout", metavar="S", type=_seconds, default=3.0, help="per query or connection (3)")
    parser.add_argument("--deadline", metavar="S", type=_seconds, default=60.0, help="for everything (60)")
    parser.add_argument("--workers", metavar="N", type=_workers, default=32, help="parallel hostnames (32)")
    parser.add_argument("--json", action="store_true", help="print JSON (schema/verify.schema.json)")
    parsed = parser.parse_args(list(argv))
    if parsed.plan and parsed.config:
        raise InputError("verify: --plan FILE and --config FILE cannot be combined: the plan already holds the config")
    if parsed.zone:
        clash = [f for f in ("nameserver", "connect", "cafile", "http") if getattr(parsed, f)]
        if clash:
            raise InputError(f"verify: --zone compares offline, DNS only: it cannot be combined with --{clash[0]}")
    return parsed


def _number(text: str, what: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} must be {what}") from None
    if not math.isfinite(value) or value <= 0:
        raise argparse.ArgumentTypeError(f"{text!r} must be {what}")
    return value


def _seconds(text: str) -> float:
    return _number(text, "a number of seconds above 0")


def _port(text: str) -> int:
    if not text.isdigit() or not 0 < int(text) < 65536:
        raise argparse.ArgumentTypeError(f"{text!r} must be a port number from 1 to 65535")
    return int(text)


def _workers(text: str) -> int:
    if not text.isdigit() or not 0 < int(text) <= 256:
        raise argparse.ArgumentTypeError(f"{text!r} must be a whole number from 1 to 256")
    return int(text)


def read_plan_file(path: str) -> Any:
    try:
        with open(path, encoding="utf-8") as handle:
            return json.load(handle)
    except OSError as exc:
        raise InputError(f"--plan {path} must be a readable file: {exc.strerror}") from None
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        where = f" (line {exc.lineno})" if isinstance(exc, json.JSONDecodeError) else ""
        raise InputError(f"--plan {path} must be the JSON of `krmfn plan --json`{where}") from None


def options(parsed: argparse.Namespace) -> Options:
    if parsed.cafile:
        try:
            ssl.create_default_context(cafile=parsed.cafile)
        except (OSError, ssl.SSLError) as exc:
            reason = getattr(exc, "strerror", None) or getattr(exc, "reason", None) or exc
            raise InputError(
                f"--cafile {parsed.cafile} must be a readable file of PEM certificates: {reason}"
            ) from None
    return Options(
        nameserver=parse_nameserver(parsed.nameserver) if parsed.nameserver else None,
        zones=tuple(parsed.zone),
        connect=parse_address(parsed.connect, "--connect", 443) if parsed.connect else None,
        port=parsed.port,
        cafile=parsed.cafile,
        tls=not parsed.no_tls,
        http=parsed.http,
        timeout=parsed.timeout,
        deadline=parsed.deadline,
        workers=parsed.workers,
    )


def execute(parsed: argparse.Namespace, document: Any, source: str, out: IO[str]) -> int:
    """Substitute, verify and print; 1 when a check failed."""
    values: dict[str, str] = {}
    for path in parsed.vars:
        values.update(variables.read_vars_file(path))
    for flag in parsed.var:
        key, value = variables.parse_var_flag(flag)
        values[key] = value
    settings = options(parsed)
    substituted = variables.substitute_document(document, values)
    result = verify(substituted, document, source, settings)
    out.write(report.to_json(result) if parsed.json else report.render(result))
    out.flush()
    return 1 if result.failed else 0
