"""The command starts and leaves quickly, and still says everything (issue 14).

``krmfn.cli.console`` (the ``krmfn`` script and ``python -m krmfn``) skips argument parsing
on the function's own calling forms, keeps pydantic from importing importlib.metadata to look
for plugins, keeps the cyclic GC off while modules load, and leaves with ``os._exit`` once
stdout and stderr are flushed. What each saves is measured in ``bench/``; here, without
timing anything, that the run needs none of those modules and loses no byte of output.
"""

from __future__ import annotations

import gc
import io
import subprocess
import sys
from typing import Any

import pytest
from conftest import resource_list, run_text
from manifests import EDGE_BLOCK, domains, multidomain

from krmfn import cli

CONFIG = multidomain(
    domains("example.com"), "  certificates: {namespace: network, issuerRef: {name: le}}\n", metadata=EDGE_BLOCK
)
APP = "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: app\n"
THRESHOLDS = gc.get_threshold()
#: Imported only by what a render does not do: parse arguments, look for pydantic plugins.
NOT_NEEDED = ("argparse", "importlib.metadata", "email")


def _module(*args: str, stdin: bytes, flags: tuple[str, ...] = ()) -> subprocess.CompletedProcess[bytes]:
    return subprocess.run([sys.executable, *flags, "-m", "krmfn", *args], input=stdin, capture_output=True, check=False)


def test_the_command_answers_what_the_function_answers() -> None:
    stdin = resource_list(CONFIG, APP)
    proc = _module(stdin=stdin.encode())
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.decode() == run_text(stdin)[0]
    assert "kind: Certificate" in proc.stdout.decode()


def test_an_error_still_reaches_stderr_and_the_exit_code() -> None:
    proc = _module(
        stdin=resource_list("apiVersion: v1\nkind: ConfigMap\nmetadata: {name: function-input}\n", APP).encode()
    )
    assert proc.returncode == 1
    assert proc.stderr.decode().startswith("krmfn: error: the function config must be a MultiDomain")
    assert b"severity: error" in proc.stdout


def test_a_render_imports_no_argument_parser_and_no_plugin_machinery() -> None:
    proc = _module(stdin=resource_list(CONFIG, APP).encode(), flags=("-X", "importtime"))
    assert proc.returncode == 0
    imported = {line.rpartition("|")[2].strip() for line in proc.stderr.decode().splitlines() if "|" in line}
    assert "pydantic" in imported, "the config is still validated by pydantic"
    assert not imported & set(NOT_NEEDED), imported & set(NOT_NEEDED)


@pytest.mark.parametrize(("args", "code", "out"), [(["--version"], 0, b"krmfn 0.1.0"), (["--bogus"], 2, b"")])
def test_argparse_exits_are_kept(args: list[str], code: int, out: bytes) -> None:
    proc = _module(*args, stdin=b"")
    assert proc.returncode == code
    assert proc.stdout.strip() == out
    assert code == 0 or b"unrecognized arguments: --bogus" in proc.stderr


def test_plugins_are_not_looked_for_but_the_loader_is_still_there() -> None:
    script = (
        "import sys\n"
        "from krmfn import cli\n"
        "cli._no_pydantic_plugins()\n"
        "import krmfn.api.config\n"
        "assert 'importlib.metadata' not in sys.modules\n"
        "from pydantic.plugin import _loader\n"
        "assert tuple(_loader.get_plugins()) == ()\n"
        "print(_loader.PYDANTIC_ENTRY_POINT_GROUP)\n"  # any other name: the real loader's
    )
    proc = subprocess.run([sys.executable, "-c", script], capture_output=True, check=False)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout == b"pydantic\n"


class _ExitCalledError(Exception):
    def __init__(self, code: int) -> None:
        self.code = code


def _console(monkeypatch: pytest.MonkeyPatch, argv: list[str], stdin: bytes, stdout: Any) -> tuple[int, bool, int]:
    """:func:`cli.console` in this process: (exit code, whether the GC was back on, its young threshold)."""

    def leave(code: int) -> None:
        raise _ExitCalledError(code)

    monkeypatch.setattr("krmfn.cli.os._exit", leave)
    monkeypatch.setattr(sys, "argv", ["krmfn", *argv])
    monkeypatch.setattr(sys, "stdin", io.TextIOWrapper(io.BytesIO(stdin)))
    monkeypatch.setattr(sys, "stdout", stdout)
    try:
        with pytest.raises(_ExitCalledError) as left:
            cli.console()
        return left.value.code, gc.isenabled(), gc.get_threshold()[0]
    finally:
        gc.enable()
        gc.unfreeze()
        gc.set_threshold(*THRESHOLDS)


def test_console_collects_again_once_loaded_and_exits_with_the_code(monkeypatch: pytest.MonkeyPatch) -> None:
    out = io.StringIO()
    assert _console(monkeypatch, [], resource_list(CONFIG, APP).encode(), out) == (0, True, cli.YOUNG_COLLECTION)
    assert "kind: Certificate" in out.getvalue()


def test_console_reports_a_reader_gone_away(monkeypatch: pytest.MonkeyPatch) -> None:
    class Gone(io.StringIO):
        def flush(self) -> None:
            raise BrokenPipeError

    assert _console(monkeypatch, ["schema"], b"", Gone())[0] == 1


def test_console_passes_argparse_exits_on(monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    assert _console(monkeypatch, ["--bogus"], b"", io.StringIO())[0] == 2
    assert _console(monkeypatch, ["--help"], b"", io.StringIO())[0] == 0


def test_console_prints_a_message_exit_as_python_would(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    def fail(**_: Any) -> int:
        raise SystemExit("krmfn: cannot go on")

    monkeypatch.setattr(cli, "main", fail)
    assert _console(monkeypatch, [], b"", io.StringIO())[0] == 1
    assert capsys.readouterr().err == "krmfn: cannot go on\n"
