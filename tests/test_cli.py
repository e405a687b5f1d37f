"""The edge as runners see it: stdin to stdout, exit codes, stderr lines, never a traceback."""

from __future__ import annotations

import io
import json
import re
from pathlib import Path

import pytest
from conftest import resource_list, run_cli, run_text
from manifests import EDGE_BLOCK, domains, multidomain

from krmfn import cli
from krmfn.krm.resourcelist import read

CONFIG = multidomain(
    domains("example.com"), "  certificates: {namespace: network, issuerRef: {name: le}}\n", metadata=EDGE_BLOCK
)
APP = "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: app\n"


def test_resource_list_in_resource_list_out(capsys: pytest.CaptureFixture[str]) -> None:
    text, code = run_text(resource_list(CONFIG, APP))
    assert code == 0
    out = read(text)
    assert out.form == "resourcelist"
    assert [i.header.kind for i in out.items] == ["ConfigMap", "Certificate"]
    assert "results:\n- message: generated Certificate network/example-com\n  severity: info\n" in text
    assert capsys.readouterr().err == ""


def test_plain_stream_with_config_file(tmp_path: Path) -> None:
    config = tmp_path / "md.yaml"
    config.write_text(CONFIG)
    proc = run_cli(["--config", str(config)], APP.encode())
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.decode().startswith(APP + "---\napiVersion: cert-manager.io/v1\nkind: Certificate\n")
    assert b"results" not in proc.stdout


def test_legacy_exec_plugin_form_takes_the_config_path_as_argument(tmp_path: Path) -> None:
    config = tmp_path / "md.yaml"
    config.write_text(CONFIG)
    proc = run_cli([str(config)], b"")
    assert proc.returncode == 0, proc.stderr
    assert read(proc.stdout.decode()).items[0].header.kind == "Certificate"


def test_config_found_among_the_items() -> None:
    text, code = run_text(APP + "---\n" + CONFIG)
    assert code == 0
    assert "kind: Certificate" in text


def test_kpt_placeholder_config_falls_back_to_the_items() -> None:
    placeholder = "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: function-input\n"
    text, code = run_text(resource_list(placeholder, APP + "---\n" + CONFIG))
    assert code == 0
    assert "kind: Certificate" in text


def test_invalid_config_is_an_error_result_with_field_and_exit_1(capsys: pytest.CaptureFixture[str]) -> None:
    text, code = run_text(resource_list(CONFIG.replace("example.com", "exa_mple.com"), APP))
    assert code == 1
    out = read(text)
    assert [i.header.name for i in out.items] == ["app"]
    assert "severity: error" in text
    assert "field:\n    path: spec.domains[0].name" in text
    err = capsys.readouterr().err.splitlines()
    assert err == [
        "krmfn: error: `spec.domains[0].name` must not contain an underscore: 'exa_mple.com' "
        "(not valid in a host name or certificate) (MultiDomain edge, `spec.domains[0].name`)"
    ]


def test_no_config_at_all_fails_closed_in_a_stream(capsys: pytest.CaptureFixture[str]) -> None:
    text, code = run_text(APP)
    assert code == 1
    assert "the function config must be a MultiDomain" in capsys.readouterr().err
    assert text == ""  # nothing a pipeline could mistake for the answer


def test_two_multidomains_and_no_functionconfig_is_an_error(capsys: pytest.CaptureFixture[str]) -> None:
    _, code = run_text(CONFIG + "---\n" + CONFIG.replace("name: edge", "name: other"))
    assert code == 1
    assert "holds 2 MultiDomain resources" in capsys.readouterr().err


def test_unreadable_input_still_answers_a_resource_list(capsys: pytest.CaptureFixture[str]) -> None:
    text, code = run_text("a: [\n")
    assert code == 1
    assert text.startswith("apiVersion: config.kubernetes.io/v1\nkind: ResourceList\nitems: []\nresults:\n")
    assert capsys.readouterr().err.startswith("krmfn: error: input must be valid YAML")


def test_unreadable_input_in_stream_mode_prints_nothing_on_stdout(tmp_path: Path) -> None:
    config = tmp_path / "md.yaml"
    config.write_text(CONFIG)
    proc = run_cli(["--config", str(config)], b"\xff\xfe")
    assert proc.returncode == 1
    assert proc.stdout == b""
    assert proc.stderr.decode().startswith("krmfn: error: input must be UTF-8")
    assert b"Traceback" not in proc.stderr


def test_missing_config_file(capsys: pytest.CaptureFixture[str]) -> None:
    _, code = run_text(APP, config_file="/nonexistent/md.yaml")
    assert code == 1
    assert "--config /nonexistent/md.yaml must be a readable file" in capsys.readouterr().err


def test_a_bug_becomes_one_error_result_not_a_traceback(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    import krmfn.expand

    def broken(*args: object, **kwargs: object) -> None:
        raise KeyError("spec")

    monkeypatch.setattr(krmfn.expand, "expand", broken)
    text, code = run_text(resource_list(CONFIG, APP))
    assert code == 1
    assert "internal error, a bug in krmfn" in text
    assert [i.header.name for i in read(text).items] == ["app"]
    assert "KeyError" in capsys.readouterr().err


def test_schema_command_prints_the_json_schema() -> None:
    out = io.StringIO()
    assert cli.main(["schema"], stdout=out) == 0
    schema = json.loads(out.getvalue())
    assert schema["title"] == "MultiDomain"
    assert schema["properties"]["kind"]["const"] == "MultiDomain"


def test_help_explains_forms_and_commands(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as info:
        cli.main(["--help"])
    assert info.value.code == 0
    text = capsys.readouterr().out
    for phrase in ("ResourceList", "--config FILE", "krmfn schema", "Exit status"):
        assert phrase in text


def test_main_reads_stdin_and_writes_stdout() -> None:
    out = io.StringIO()
    code = cli.main([], stdin=io.BytesIO(resource_list(CONFIG, APP).encode()), stdout=out)
    assert code == 0
    assert "kind: Certificate" in out.getvalue()


def test_the_real_process_on_a_json_resource_list() -> None:
    rl = {
        "apiVersion": "config.kubernetes.io/v1",
        "kind": "ResourceList",
        "items": [],
        "functionConfig": {
            "apiVersion": "krmfn.dev/v1alpha1",
            "kind": "MultiDomain",
            "metadata": {"name": "edge"},
            "spec": {
                "domains": [{"name": "example.com"}],
                "certificates": {"namespace": "n", "issuerRef": {"name": "le"}},
            },
        },
    }
    proc = run_cli([], json.dumps(rl).encode())
    assert proc.returncode == 0, proc.stderr
    out = json.loads(proc.stdout)
    assert out["items"][0]["kind"] == "Certificate"
    assert out["results"][-1]["severity"] == "info"


# --- the error paths: nothing secret, nothing half-written, never silent --------------------

SECRET = "hunter2-s3cr3t-value"


@pytest.mark.parametrize("where", ["krmfn.expand.expand", "krmfn.krm.layout.write_list"])
def test_an_internal_error_names_its_type_and_place_never_its_message(
    where: str, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """A bug's message may quote the data (a KeyError of a Secret's value): it is never shown."""
    module, _, name = where.rpartition(".")

    def broken(*args: object, **kwargs: object) -> None:
        raise KeyError(SECRET)

    import importlib

    monkeypatch.setattr(importlib.import_module(module), name, broken)
    if name == "write_list":
        monkeypatch.setattr("krmfn.krm.resourcelist.write_list", broken)
    secret_item = f"apiVersion: v1\nkind: Secret\nmetadata:\n  name: db\nstringData:\n  password: {SECRET}\n"
    given = resource_list(CONFIG, secret_item)
    text, code = run_text(given)
    err = capsys.readouterr().err
    assert code == 1
    assert re.search(
        r"internal error, a bug in krmfn \S+ \(please report it\): KeyError at krmfn/\S+\.py:\d+ \(\w+\)", err
    )
    said = err + "".join(line for line in text.splitlines() if "message" in line)
    assert SECRET not in said
    if name == "write_list":
        # even the unchanged answer could not be written: nothing on stdout rather than a partial
        # document (the input's bytes are let go once decoded, for memory: see cli.run)
        assert text == ""
    else:
        assert [i.header.name for i in read(text).items] == ["db"]  # the input's items, unchanged


def test_a_closed_stdout_is_a_failure_said_on_stderr(tmp_path: Path) -> None:
    import os
    import shutil
    import subprocess

    config = tmp_path / "md.yaml"
    config.write_text(CONFIG)
    read_end, write_end = os.pipe()
    os.close(read_end)  # the reader went away before krmfn wrote
    exe = shutil.which("krmfn")
    try:
        proc = subprocess.run(
            [exe or "krmfn", "--config", str(config)],
            input=APP.encode(),
            stdout=write_end,
            stderr=subprocess.PIPE,
            check=False,
        )
    finally:
        os.close(write_end)
    assert proc.returncode == 1
    assert proc.stderr.decode() == (
        "krmfn: error: the output must be written to stdout, which failed: the reader closed it\n"
    )


class _Unreadable(io.RawIOBase):
    def read(self, size: int = -1) -> bytes:
        raise IsADirectoryError(21, "Is a directory")


@pytest.mark.parametrize("args", [[], ["plan"], ["--config", "md.yaml"]])
def test_unreadable_stdin_is_a_message_not_a_traceback(args: list[str], capsys: pytest.CaptureFixture[str]) -> None:
    out = io.StringIO()
    code = cli.main(args, stdin=_Unreadable(), stdout=out)  # type: ignore[arg-type]
    assert code == 1
    assert capsys.readouterr().err == "krmfn: error: the input on stdin must be readable: Is a directory\n"
    if not args:
        assert read(out.getvalue()).form == "resourcelist"
    else:
        assert out.getvalue() == ""


def test_a_directory_as_stdin_stops_the_interpreter_before_krmfn_runs(tmp_path: Path) -> None:
    """CPython refuses a directory as stdin while it starts (init_sys_streams): no krmfn code can
    speak then. It still ends with exit 1 and no traceback, which is what a pipeline checks."""
    import os
    import shutil
    import subprocess

    fd = os.open(tmp_path, os.O_RDONLY)
    try:
        proc = subprocess.run([shutil.which("krmfn") or "krmfn"], stdin=fd, capture_output=True, check=False)
    finally:
        os.close(fd)
    assert proc.returncode == 1
    assert b"is a directory" in proc.stderr
    assert b"Traceback" not in proc.stderr


def test_a_stream_with_an_error_writes_nothing(tmp_path: Path) -> None:
    config = tmp_path / "md.yaml"
    config.write_text(
        CONFIG.replace(
            "issuerRef: {name: le}",
            "issuerRef: {name: le}}\n  gateways: [{name: gw, namespace: n, dns: {target: t.example.com}}",
        )
    )
    proc = run_cli(["--config", str(config)], APP.encode())
    assert proc.returncode == 1
    assert proc.stdout == b""
    assert proc.stderr.startswith(b"krmfn: error: ")


def test_plan_and_diff_on_an_unreadable_item_report_it_cleanly(capsys: pytest.CaptureFixture[str]) -> None:
    bad = "apiVersion: cert-manager.io/v1\nkind: Certificate\nmetadata: {name: c, namespace: network}\nspec: {}\nspec: {}\n"
    for command in ("plan", "diff"):
        out = io.StringIO()
        code = cli.main([command], stdin=io.BytesIO((CONFIG + "---\n" + bad).encode()), stdout=out)
        err = capsys.readouterr().err
        assert (code, out.getvalue()) == (1, ""), err
        assert err.splitlines()[0] == (
            "krmfn: error: Certificate network/c must not repeat a mapping key: `spec` appears twice (document 2, line 14)"
        )
        assert "Traceback" not in err
