"""The edge as runners see it: stdin to stdout, exit codes, stderr lines, never a traceback."""

from __future__ import annotations

import io
import json
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
