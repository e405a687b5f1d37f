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

import gc
import os
import sys
import types
from collections.abc import Sequence
from typing import IO, Any, NoReturn

from krmfn import __version__
from krmfn.errors import ConfigError, InputError, ItemError, KrmfnError
from krmfn.krm import generated
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
#: Every command; any other lone argument is a config file (kustomize's legacy exec-plugin form).
COMMANDS = ("schema", *REPORTS, "verify", "init")


#: New objects between two young collections in a render (Python's default is 700).
YOUNG_COLLECTION = 100_000


def console() -> NoReturn:
    """The ``krmfn`` command and ``python -m krmfn``: :func:`main`, quick to start and to leave.

    A KRM function is started once per render, and on a small package its start-up and exit
    take longer than its work (see bench/README.md for what each of these saves):

    - the cyclic garbage collector is off while modules load, since nothing they build is
      garbage; what they built is then frozen out of every later collection, and a young
      collection waits for 100,000 new objects rather than 700 (the parsed items live until
      the output is written; garbage cycles are rare in a render);
    - pydantic is given a plugin loader that finds no plugins, so that building the first
      model does not import importlib.metadata and email to look for them (:func:`_no_pydantic_plugins`);
    - once stdout and stderr are flushed, the process leaves with ``os._exit``: freeing every
      object and module one by one changes nothing outside it. krmfn holds no other buffered
      file and registers no exit handler.
    """
    gc.disable()
    _no_pydantic_plugins()
    try:
        code = main(load=_loaded)
    except SystemExit as exc:  # argparse: --help, --version, a usage error (already printed)
        code = exc.code if isinstance(exc.code, int) else 0 if exc.code is None else _print_exit(exc.code)
    try:
        sys.stdout.flush()
    except OSError:  # the reader went away (`krmfn plan | head`): nothing more can be said
        code = code or 1
    sys.stderr.flush()
    os._exit(code)


def _loaded() -> None:
    """Called once the modules a run needs are imported: freeze them, collect from now on, seldom."""
    gc.freeze()
    gc.set_threshold(YOUNG_COLLECTION)
    gc.enable()


def _print_exit(message: object) -> int:
    print(message, file=sys.stderr)
    return 1


#: pydantic's plugin loader, imported when it builds its first model.
_PYDANTIC_LOADER = "pydantic.plugin._loader"


def _no_pydantic_plugins() -> None:
    """Stand in for pydantic's plugin loader with one that loads no plugins.

    pydantic asks its loader for plugins (``pydantic`` entry points, which instrument
    validation) when it builds a model; importing the loader imports importlib.metadata, and
    with it email, zipfile and csv, which costs a krmfn run more than building its models does.
    krmfn uses no plugins. The stand-in answers ``get_plugins()`` and takes any other name from
    the real loader. Only the command does this, and only before pydantic is imported.
    """
    if "pydantic" in sys.modules:
        return
    stand_in = types.ModuleType(_PYDANTIC_LOADER, "krmfn: no pydantic plugins (see krmfn.cli)")

    def get_plugins() -> tuple[()]:
        return ()

    def real(name: str) -> Any:
        if name.startswith("__"):  # the import system asking what kind of module this is
            raise AttributeError(name)
        del sys.modules[_PYDANTIC_LOADER]
        import importlib

        return getattr(importlib.import_module(_PYDANTIC_LOADER), name)

    stand_in.get_plugins = get_plugins  # type: ignore[attr-defined]
    stand_in.__getattr__ = real  # type: ignore[method-assign]
    sys.modules[_PYDANTIC_LOADER] = stand_in


def main(
    argv: Sequence[str] | None = None,
    stdin: IO[bytes] | None = None,
    stdout: IO[str] | None = None,
    load: Any = None,
) -> int:
    """The command line; *load*, if given, is called once the modules the command needs are imported."""
    args = list(sys.argv[1:] if argv is None else argv)
    out = stdout if stdout is not None else sys.stdout
    if not args or (len(args) == 1 and args[0] not in COMMANDS and not args[0].startswith("-")):
        # The function as kpt and kustomize run it: nothing to parse. The input is not kept
        # here: run() lets go of the bytes once they are decoded.
        data = _read_stdin(stdin)
        if isinstance(data, Result):
            return _emit(out, *_fail_unreadable(data.message, args[0] if args else None))
        return _emit(out, *run(data, args[0] if args else None, load=load))
    if load is not None:
        load()
    if args[:1] == ["verify"]:
        return _verify(args[1:], stdin, out)
    import argparse

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


#: Characters written at a time, so that the encoded output never exists whole beside the text.
WRITE_CHUNK = 1 << 20


def _emit(out: IO[str], text: str, code: int) -> int:
    """Write the answer; a reader that went away is a failure, said on stderr, never a silent 0."""
    try:
        for start in range(0, len(text), WRITE_CHUNK):
            out.write(text[start : start + WRITE_CHUNK])
        out.flush()
    except OSError as exc:
        _silence(out)
        why = "the reader closed it" if isinstance(exc, BrokenPipeError) else exc.strerror or type(exc).__name__
        print(f"krmfn: error: the output must be written to stdout, which failed: {why}", file=sys.stderr)
        return 1
    return code


def _silence(out: IO[str]) -> None:
    """Point a broken stdout at /dev/null, so the interpreter's last flush does not fail again."""
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


def run(data: bytes, config_file: str | None = None, load: Any = None) -> tuple[str, int]:
    """The whole function on bytes: (output text, exit code). Reports to stderr.

    *load*, if given, is called once every module the run needs is imported.
    """
    from krmfn import expand  # noqa: F401 - imported here, before the work, for *load*
    from krmfn.krm import resourcelist

    if load is not None:
        load()

    try:
        inp = resourcelist.read(resourcelist.decode(data))
    except InputError as exc:
        return _fail_unreadable(str(exc), config_file)
    except Exception as exc:  # noqa: BLE001 - the one place a bug becomes a result
        return _fail_unreadable(_bug(exc).message, config_file)
    del data  # the items hold what they need; the caller keeps no copy (see main)
    changed: list[generated.Changed] = []
    try:
        made = generated.read(inp.items)
        items, results = _expand(inp, config_file, made)
        items, changed = generated.split(items, made)
    except Exception as exc:  # noqa: BLE001 - the one place a bug becomes a result
        items, results = list(inp.items), [_as_result(exc)]
    if changed and not r.has_errors(results):
        try:
            generated.write(changed)
            results = [*results, *(_wrote(change) for change in changed)]
        except OSError as exc:
            results = [*results, r.error(f"the file a configMapGenerator reads could not be written: {exc}")]
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
            text = "" if _is_stream(inp) else _unchanged(inp, results)
    _to_stderr(results)
    return text, 1 if r.has_errors(results) else 0


def _wrote(change: generated.Changed) -> Result:
    return r.info(
        f"wrote {change.path}: the file a kustomize configMapGenerator makes a ConfigMap of, changed above",
        file=change.path,
    )


def _is_stream(inp: Any) -> bool:
    """Output with no place for results: a plain stream, or JSON resources without a wrapper."""
    return inp.form == "stream" or (inp.form == "json" and not inp.wrapper_kind)


def _unchanged(inp: Any, results: list[Result]) -> str:
    """The ResourceList as it came, when even that cannot be written with the results (a bug): nothing."""
    from krmfn.krm import resourcelist

    try:
        return resourcelist.write(inp, list(inp.items), [res.to_data() for res in results])
    except Exception:  # noqa: BLE001 - the error is on stderr; nothing half-written reaches stdout
        return ""


def _as_result(exc: BaseException) -> Result:
    """The error result for an exception raised while expanding."""
    if isinstance(exc, ItemError):
        return r.error(exc.message, file=exc.file, file_index=exc.index)
    if isinstance(exc, KrmfnError):  # the input's fault (an unreadable item, a wrong config file)
        return r.error(str(exc))
    return _bug(exc)


def _expand(inp: Any, config_file: str | None, extra: Sequence[Any] = ()) -> tuple[list[Any], list[Result]]:
    from krmfn.expand import expand

    items = [*inp.items, *extra]
    loaded = _load(inp, config_file)
    if isinstance(loaded, list):
        return items, loaded
    config, config_item = loaded
    expansion = expand(
        config, items, config_path=config_item.path, plain_stream=inp.form == "stream" or not inp.wrapper_kind
    )
    # what each change was is for `krmfn plan` and `diff`; the function says how many
    return expansion.items, r.summarise(expansion.results, _config_ref(config_item))


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
    items = [*inp.items, *generated.read(inp.items)]
    expansion = expand(config, items, config_path=config_item.path, plain_stream=_is_stream(inp))
    results = expansion.results
    if r.has_errors(results):
        return "", 1, results
    if command == "check":
        return (*_check(items, expansion, 0), results)
    if command == "diff":
        if as_json:
            return json.dumps(planning.diff_json(items, expansion), indent=2) + "\n", 0, results
        return planning.diff(items, expansion), 0, results
    document = planning.plan_document(config, expansion, items)
    if as_json:
        return json.dumps(document, indent=2) + "\n", 0, results
    return planning.render(document), 0, results


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
    items = [*inp.items, *generated.read(inp.items)]
    expansion = expand(config, items, config_path=config_item.path, plain_stream=inp.form == "stream")
    _to_stderr(expansion.results)
    if r.has_errors(expansion.results):
        return None  # a render that fails has no plan worth checking
    from krmfn.plan import plan_document

    return plan_document(config, expansion, items)


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
