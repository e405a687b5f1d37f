"""The command line: read stdin, expand, write stdout, exit 0 or 1. Nothing else.

Every failure becomes a ``severity: error`` result in the output (and one line on
stderr, because kustomize ignores results); an unexpected exception is reported as a bug
in the same way, naming its type and where in krmfn it happened (never its message, which
may quote the data), never as a traceback.

Fail closed: when any error is reported, nothing half-changed is written. A ResourceList
comes back with the input's items and the results; a plain stream (and ``plan``,
``diff``) writes nothing on stdout, so a pipeline that ignores the exit status gets no
plausible-looking output to apply or commit.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from typing import IO, Any

from krmfn import __version__
from krmfn.errors import ConfigError, InputError, ItemError, KrmfnError
from krmfn.krm import results as r
from krmfn.krm.results import ResourceRef, Result

DESCRIPTION = """\
Expand a MultiDomain resource (krmfn.dev/v1alpha1) into cert-manager Certificates and keep
the resources that must list every domain in step.

Input on stdin, answered in the same form on stdout:
  - a ResourceList (kpt fn render/eval, kustomize transformers/generators);
  - a plain multi-document YAML stream, with the config from --config FILE or from the
    one MultiDomain resource in the stream;
  - JSON (a ResourceList or resources).

Exit status: 0 on success, 1 when any error result was reported. Errors and warnings are
also printed to stderr, one line each.
"""

EPILOG = """\
commands:
  krmfn schema      print the JSON Schema of MultiDomain
  krmfn plan        print, per domain, what will exist (certificate, issuer, every resource
                    that lists the domain, DNS records); --json for a machine-readable form
  krmfn diff        print the unified diff of what the function would change; --json for
                    RFC 6902 operations per changed resource
  krmfn verify      check the live DNS zone and gateways (or zone files) against the plan;
                    `krmfn verify --help` for its flags
  krmfn check       exit 1 and print the diff when a render would change the input, 0 when the
                    input is in step (for CI and pre-commit)
  krmfn init        print a MultiDomain describing the domains the input already serves, each
                    field with a comment saying where it was found
  krmfn CONFIG      same as --config CONFIG (the kustomize legacy exec-plugin calling form)

plan, diff, check and init read stdin, or the directory given after the command, read as
`kpt fn source` reads a package (.krmignore respected; the config from the Kptfile pipeline's
configPath for krmfn, else --config, else the one MultiDomain in it).

examples:
  kpt fn source pkg | krmfn | kpt fn sink out
  krmfn --config multidomain.yaml < manifests.yaml > rendered.yaml
  kpt fn eval pkg --exec krmfn --fn-config pkg/multidomain.yaml
  krmfn init kubernetes > kubernetes/apps/network/multidomain.yaml
  krmfn check .
"""

#: Commands that read the input and report on it, rather than answer with it.
REPORTS = ("plan", "diff", "check")


def main(argv: Sequence[str] | None = None, stdin: IO[bytes] | None = None, stdout: IO[str] | None = None) -> int:
    args = list(sys.argv[1:] if argv is None else argv)
    out = stdout if stdout is not None else sys.stdout
    if args[:1] == ["verify"]:
        return _verify(args[1:], stdin, out)
    parser = argparse.ArgumentParser(
        prog="krmfn", description=DESCRIPTION, epilog=EPILOG, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "--config", metavar="FILE", help="MultiDomain config file; input and output are plain YAML streams"
    )
    parser.add_argument("--json", action="store_true", help="with `plan` or `diff`: print JSON")
    parser.add_argument(
        "--name", help="with `init`: the MultiDomain's name (default: the owner of what is there, or edge)"
    )
    parser.add_argument("--version", action="version", version=f"krmfn {__version__}")
    parser.add_argument("command", nargs="?", help=argparse.SUPPRESS)
    parser.add_argument("directory", nargs="?", help=argparse.SUPPRESS)
    parsed = parser.parse_intermixed_args(args)
    if parsed.command == "schema":
        return _emit(out, *_print_schema())
    config_file = parsed.config
    if parsed.command in (*REPORTS, "init"):
        data = b"" if parsed.directory else _read_stdin(stdin)
        if isinstance(data, Result):
            _to_stderr([data])
            return _emit(out, "", 1)
        if parsed.command == "init":
            return _emit(out, *initial(data, parsed.directory, name=parsed.name))
        return _emit(out, *report(data, config_file, parsed.command, as_json=parsed.json, directory=parsed.directory))
    if parsed.directory is not None:
        parser.error(f"unexpected argument {parsed.directory!r}")
    if parsed.command is not None:
        if config_file is not None:
            parser.error(f"unexpected argument {parsed.command!r}")
        config_file = parsed.command
    data = _read_stdin(stdin)
    if isinstance(data, Result):
        return _emit(out, *_fail_unreadable(data.message, config_file))
    return _emit(out, *run(data, config_file))


def _read_stdin(stdin: IO[bytes] | None) -> bytes | Result:
    """All of stdin, or the error result that says why it cannot be read (a directory, closed)."""
    try:
        if stdin is not None:
            return stdin.read()
        if sys.stdin is None:
            return r.error("the input must come on stdin, which is closed")
        return sys.stdin.buffer.read()
    except OSError as exc:
        return r.error(f"the input on stdin must be readable: {exc.strerror or type(exc).__name__}")


def _emit(out: IO[str], text: str, code: int) -> int:
    """Write the answer; a reader that went away is a failure, said on stderr, never a silent 0."""
    try:
        out.write(text)
        out.flush()
    except OSError as exc:
        _silence(out)
        why = "the reader closed it" if isinstance(exc, BrokenPipeError) else exc.strerror or type(exc).__name__
        print(f"krmfn: error: the output must be written to stdout, which failed: {why}", file=sys.stderr)
        return 1
    return code


def _silence(out: IO[str]) -> None:
    """Point a broken stdout at /dev/null, so the interpreter's last flush does not fail again."""
    import os

    try:
        fd = out.fileno()
    except (OSError, ValueError):  # not a real file (tests pass a StringIO)
        return
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, fd)
    os.close(devnull)


def _print_schema() -> tuple[str, int]:
    import json

    from krmfn.api.config import json_schema

    return json.dumps(json_schema(), indent=2) + "\n", 0


def run(data: bytes, config_file: str | None = None) -> tuple[str, int]:
    """The whole function on bytes: (output text, exit code). Reports to stderr."""
    from krmfn.krm import resourcelist

    try:
        inp = resourcelist.read(resourcelist.decode(data))
    except InputError as exc:
        return _fail_unreadable(str(exc), config_file)
    except Exception as exc:  # noqa: BLE001 - the one place a bug becomes a result
        return _fail_unreadable(_bug(exc).message, config_file)
    try:
        items, results = _expand(inp, config_file)
    except Exception as exc:  # noqa: BLE001 - the one place a bug becomes a result
        items, results = list(inp.items), [_as_result(exc)]
    failed = r.has_errors(results)
    if failed:
        items = list(inp.items)  # fail closed: nothing half-changed
    if failed and _is_stream(inp):
        text = ""
    else:
        try:
            text = resourcelist.write(inp, items, [res.to_data() for res in results])
        except Exception as exc:  # noqa: BLE001
            results = [*results, _bug(exc)]
            text = "" if _is_stream(inp) else _unchanged(inp, data, results)
    _to_stderr(results)
    return text, 1 if r.has_errors(results) else 0


def _is_stream(inp: Any) -> bool:
    """Output with no place for results: a plain stream, or JSON resources without a wrapper."""
    return inp.form == "stream" or (inp.form == "json" and not inp.wrapper_kind)


def _unchanged(inp: Any, data: bytes, results: list[Result]) -> str:
    """The ResourceList as it came when even that cannot be written with the results (a bug)."""
    from krmfn.krm import resourcelist

    try:
        return resourcelist.write(inp, list(inp.items), [res.to_data() for res in results])
    except Exception:  # noqa: BLE001 - the input itself is still a ResourceList with its items
        return data.decode("utf-8", errors="replace")


def _as_result(exc: BaseException) -> Result:
    """The error result for an exception raised while expanding."""
    if isinstance(exc, ItemError):
        return r.error(exc.message, file=exc.file, file_index=exc.index)
    if isinstance(exc, KrmfnError):  # the input's fault (an unreadable item, a wrong config file)
        return r.error(str(exc))
    return _bug(exc)


def _expand(inp: Any, config_file: str | None) -> tuple[list[Any], list[Result]]:
    from krmfn.expand import expand

    items = list(inp.items)
    loaded = _load(inp, config_file)
    if isinstance(loaded, list):
        return items, loaded
    config, config_item = loaded
    expansion = expand(
        config, items, config_path=config_item.path, plain_stream=inp.form == "stream" or not inp.wrapper_kind
    )
    return expansion.items, expansion.results


def _read_input(data: bytes, directory: str | None) -> Any:
    """The input of a report: the package at *directory*, else the bytes of stdin."""
    from krmfn.krm import package, resourcelist

    if directory is not None:
        return package.read(directory)
    return resourcelist.read(resourcelist.decode(data))


def report(
    data: bytes, config_file: str | None, command: str, as_json: bool = False, directory: str | None = None
) -> tuple[str, int]:
    """`krmfn plan`, `diff` and `check`: what the function would do, for a person or for CI.

    Fails closed: after an error, nothing on stdout.
    """
    try:
        text, code, results = _report(data, config_file, command, as_json, directory)
    except Exception as exc:  # noqa: BLE001 - the one place a bug (or an unreadable item) becomes a result
        text, code, results = "", 1, [_as_result(exc)]
    _to_stderr(results)
    if r.has_errors(results):
        return "", 1
    return text, code


def _report(
    data: bytes, config_file: str | None, command: str, as_json: bool, directory: str | None
) -> tuple[str, int, list[Result]]:
    import json

    from krmfn import plan as planning
    from krmfn.expand import expand

    try:
        inp = _read_input(data, directory)
    except InputError as exc:
        return "", 1, [_as_result(exc)]
    loaded = _load(inp, config_file)
    if isinstance(loaded, list):
        return "", 1, loaded
    config, config_item = loaded
    expansion = expand(config, list(inp.items), config_path=config_item.path, plain_stream=_is_stream(inp))
    results = expansion.results
    if r.has_errors(results):
        return "", 1, results
    if command == "check":
        return (*_check(inp.items, expansion, 0), results)
    if command == "diff":
        if as_json:
            return json.dumps(planning.diff_json(inp.items, expansion), indent=2) + "\n", 0, results
        return planning.diff(inp.items, expansion), 0, results
    plans = planning.plan(config, expansion, inp.items)
    if as_json:
        return json.dumps([p.to_data() for p in plans], indent=2) + "\n", 0, results
    return planning.render(plans, config), 0, results


def _verify(argv: Sequence[str], stdin: IO[bytes] | None, out: IO[str]) -> int:
    """`krmfn verify`: the plan of the input (or of --plan FILE), checked by :mod:`krmfn.verify`."""
    try:
        from krmfn.verify import command
    except ImportError as exc:  # the optional extra is not installed
        missing = (exc.name or "").split(".")[0]
        if missing not in ("dns", "cryptography"):
            raise
        print(
            f"krmfn: error: krmfn verify needs the `verify` extra ({missing} is missing): pip install 'krmfn[verify]'",
            file=sys.stderr,
        )
        return 1
    try:
        parsed = command.parse(argv)
        if parsed.plan:
            document, source = command.read_plan_file(parsed.plan), f"--plan {parsed.plan}"
        else:
            document = _plan_of_input((stdin if stdin is not None else sys.stdin.buffer).read(), parsed.config)
            if document is None:
                return 1
            source = "the input's plan"
        return command.execute(parsed, document, source, out)
    except InputError as exc:
        print(r.error(str(exc)).line(), file=sys.stderr)
        return 1
    except Exception as exc:  # noqa: BLE001 - a bug is reported as one, never as a traceback
        print(_bug(exc).line(), file=sys.stderr)
        return 1


def _plan_of_input(data: bytes, config_file: str | None) -> Any:
    """The plan document of the input, as `krmfn plan --json` builds it; None after an error."""
    from krmfn.expand import expand
    from krmfn.krm import resourcelist

    try:
        inp = resourcelist.read(resourcelist.decode(data))
        loaded = _load(inp, config_file)
    except InputError as exc:
        loaded = [r.error(str(exc))]
    if isinstance(loaded, list):
        _to_stderr(loaded)
        return None
    config, config_item = loaded
    expansion = expand(config, list(inp.items), config_path=config_item.path, plain_stream=inp.form == "stream")
    _to_stderr(expansion.results)
    if r.has_errors(expansion.results):
        return None  # a render that fails has no plan worth checking
    return _plan_document(config, expansion, inp.items)


# --- ADAPTER(plan_document) -------------------------------------------------------------
# `krmfn.plan.plan_document(config, expansion, original)` (issue 12) returns the
# schema/plan.schema.json dict. Until it lands, the older `plan()` output is converted here,
# with what it knows (no CNAME targets, no tunnel rule details: `target`/`tunnelRule` null).
# Remove this block, and call plan_document directly, once it exists.
def _plan_document(config: Any, expansion: Any, original: Any) -> dict[str, Any]:
    from krmfn import plan as planning

    build = getattr(planning, "plan_document", None)
    if build is not None:
        return build(config, expansion, original)  # type: ignore[no-any-return]
    domains = []
    for p in planning.plan(config, expansion, original):
        old = p.to_data()
        cert_ns, _, cert_name = old["certificate"].rpartition("/")
        issuer_kind, _, issuer_name = old["issuer"].partition(" ")
        hostnames = []
        for h in old["hostnames"]:
            rec = h["record"]
            record = None
            if rec is not None and rec.get("type") in ("A", "AAAA", "CNAME") and rec.get("targets"):
                via = "DNSEndpoint" if str(rec.get("source", "")).startswith("DNSEndpoint ") else "route"
                resource = _old_ref(rec["source"]) if via == "DNSEndpoint" else None
                record = {
                    "type": rec["type"],
                    "targets": [str(t) for t in rec["targets"]],
                    "proxied": None,
                    "publishedBy": {"via": via, "resource": resource},
                }
            cert = None
            if h["certificate"]:
                ns, _, name = h["certificate"].rpartition("/")
                cert = {"namespace": ns or None, "name": name, "secretName": old["secret"], "servedBy": []}
            hostnames.append(
                {
                    "name": h["name"],
                    "sources": [{"resource": _old_ref(h["from"]), "field": ""}],
                    "record": record,
                    "target": None,
                    "certificate": cert,
                    "covered": cert is not None,
                    "tunnelRule": None,
                    "splitHorizon": bool(h["splitHorizon"]),
                }
            )
        domains.append(
            {
                "name": old["domain"],
                "primary": old["primary"],
                "certificate": {
                    "namespace": cert_ns or None,
                    "name": cert_name,
                    "secretName": old["secret"],
                    "dnsNames": old["dnsNames"],
                    "issuerRef": {"kind": issuer_kind, "name": issuer_name},
                    "origin": "generated",
                },
                "appearsIn": [{"resource": _old_ref(a["resource"]), "field": a["field"]} for a in old["appearsIn"]],
                "hostnames": hostnames,
            }
        )
    import re

    alerts = config.spec.expiry_alerts
    threshold = alerts.threshold if alerts is not None else None
    days = None
    if threshold:  # a Go duration: 48h, 1h30m
        seconds = {"h": 3600, "m": 60, "s": 1}
        days = sum(float(n) * seconds[u] for n, u in re.findall(r"([0-9.]+)(h|m|s)(?!s)", threshold)) / 86400
    return {
        "apiVersion": "krmfn.dev/v1alpha1",
        "kind": "Plan",
        "multiDomain": config.name,
        "expiryWarningDays": days,
        "domains": domains,
    }


def _old_ref(text: str) -> dict[str, Any]:
    """`Kind ns/name` (the older plan's description of a resource) as a schema ref."""
    kind, _, where = text.partition(" ")
    namespace, _, name = where.rpartition("/")
    return {"kind": kind, "namespace": namespace or None, "name": name or kind}


# --- end ADAPTER(plan_document) ---------------------------------------------------------


def _check(original: Any, expansion: Any, code: int) -> tuple[str, int]:
    """Exit 1 with the diff when a render would change the input; nothing on stdout after an error."""
    from krmfn import plan as planning

    if code:
        return "", code
    changed = planning.changes(original, expansion)
    if not changed:
        return "", 0
    print(
        f"krmfn: error: {len(changed)} resource(s) out of step with the MultiDomain config: render and commit "
        "(e.g. `kpt fn render --allow-exec PKG`)",
        file=sys.stderr,
    )
    return planning.diff(original, expansion), 1


def initial(data: bytes, directory: str | None, name: str | None = None) -> tuple[str, int]:
    """`krmfn init`: the MultiDomain describing what the input already has."""
    from krmfn.adopt import describe

    try:
        inp = _read_input(data, directory)
        text, results = describe(list(inp.items), name=name)
    except Exception as exc:  # noqa: BLE001 - an unreadable input, or a bug: one result, never a traceback
        text, results = "", [_as_result(exc)]
    _to_stderr(results)
    if r.has_errors(results):
        return "", 1
    return text, 0


def _load(inp: Any, config_file: str | None) -> Any:
    """(Config, config item), or the error results that explain why there is none."""
    from krmfn.api.config import is_multidomain, load_config
    from krmfn.krm.item import Item

    items = list(inp.items)
    config_item: Item | None = None
    try:
        if config_file is not None:
            config_item = _read_config_file(config_file)
        elif inp.function_config is not None and not _is_placeholder(inp.function_config.value):
            config_item = inp.function_config
        else:
            found = [i for i in items if i.header.kind == "MultiDomain" and is_multidomain(i.value)]
            if len(found) > 1:
                raise InputError(
                    f"the input holds {len(found)} MultiDomain resources; name the one to use as the function config"
                )
            config_item = found[0] if found else None
        if config_item is None:
            raise InputError(
                "the function config must be a MultiDomain (krmfn.dev/v1alpha1): give it as the "
                "ResourceList's functionConfig, with --config FILE, or as the one MultiDomain in the input"
            )
        config = load_config(config_item.data)
    except ConfigError as exc:
        ref = _config_ref(config_item)
        return [
            r.error(f"`{p.path}` {p.message}", resource=ref, field=p.path, file=_path_of(config_item))
            for p in exc.problems
        ]
    except ItemError as exc:
        return [_as_result(exc)]
    except KrmfnError as exc:
        return [r.error(str(exc), resource=_config_ref(config_item), file=_path_of(config_item))]
    return config, config_item


def _read_config_file(path: str) -> Any:
    from krmfn.krm import resourcelist
    from krmfn.krm.item import Item

    try:
        with open(path, "rb") as handle:
            raw = handle.read()
    except OSError as exc:
        raise InputError(f"--config {path} must be a readable file: {exc.strerror}") from None
    try:
        config = resourcelist.read(resourcelist.decode(raw))
    except InputError as exc:
        raise InputError(f"--config {path} {str(exc).removeprefix('input ')}") from None
    multidomains = [i for i in config.items if i.header.kind == "MultiDomain"]
    if len(config.items) == 1:
        multidomains = config.items  # one document: its validation says what is wrong with it
    if len(multidomains) != 1:
        raise InputError(f"--config {path} must hold exactly one MultiDomain resource; it holds {len(multidomains)}")
    item: Item = multidomains[0]
    item.where = path  # errors in it name the file given, and lines within it
    return item


def _is_placeholder(data: Any) -> bool:
    """kpt's stand-in config (`ConfigMap function-input` without data) means "no config"."""
    return isinstance(data, dict) and data.get("kind") == "ConfigMap" and not data.get("data")


def _config_ref(item: Any) -> ResourceRef | None:
    if item is None or not item.header.kind:
        return None
    h = item.header
    return ResourceRef(h.api_version, h.kind, h.name, h.namespace)


def _path_of(item: Any) -> str | None:
    return None if item is None else item.path


def _bug(exc: BaseException) -> Result:
    """A bug, said without its message (which may quote the data): its type and where it happened."""
    return r.error(
        f"internal error, a bug in krmfn {__version__} (please report it): {type(exc).__name__} at {_place(exc)}"
    )


def _place(exc: BaseException) -> str:
    """The innermost frame of the traceback inside krmfn: ``krmfn/krm/item.py:120 (header)``."""
    import os
    import traceback

    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    place = "an unknown place"
    for frame in traceback.extract_tb(exc.__traceback__):
        path = os.path.abspath(frame.filename)
        if path.startswith(os.path.join(root, "krmfn") + os.sep):
            place = f"{os.path.relpath(path, root)}:{frame.lineno} ({frame.name})"
    return place


def _fail_unreadable(message: str, config_file: str | None) -> tuple[str, int]:
    result = r.error(message)
    _to_stderr([result])
    if config_file is not None:
        return "", 1
    from krmfn.krm.yamltext import dump

    text = "apiVersion: config.kubernetes.io/v1\nkind: ResourceList\nitems: []\nresults:\n" + dump([result.to_data()])
    return text, 1


def _to_stderr(results: Sequence[Result]) -> None:
    for res in results:
        if res.severity != "info":
            print(res.line(), file=sys.stderr)
