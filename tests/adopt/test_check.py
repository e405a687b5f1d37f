"""`krmfn check` (CI and pre-commit), `krmfn diff --json`, and directories read as kpt reads packages."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import jsonpatch
import pytest
import yaml
from conftest import run_cli

from krmfn.krm import package, resourcelist
from krmfn.krm.item import PATH_ANNOTATIONS, is_orchestrator_annotation

ROOT = Path(__file__).resolve().parents[2]
EXAMPLE = ROOT / "examples" / "tunnel-apex-repair"


def test_check_passes_on_a_tree_in_step() -> None:
    proc = run_cli(["check", str(EXAMPLE / "expected")], b"")
    assert (proc.returncode, proc.stdout) == (0, b""), proc.stderr


def test_check_fails_with_the_diff_when_a_render_would_change_the_tree() -> None:
    proc = run_cli(["check", str(EXAMPLE / "pkg")], b"")
    assert proc.returncode == 1
    out = proc.stdout.decode()
    assert out.startswith("--- a/helmrelease.yaml#HelmRelease/cloudflare-tunnel\n")
    assert "+++ b/edge/certificates.yaml#Certificate/" in out
    assert b"out of step" in proc.stderr
    assert b"Traceback" not in proc.stderr


def test_check_reads_stdin_like_the_other_commands() -> None:
    stream = b"".join(
        (EXAMPLE / "pkg" / name).read_bytes() + b"\n---\n" for name in ("helmrelease.yaml", "multidomain.yaml")
    )
    assert run_cli(["check"], stream).returncode == 1


@pytest.mark.parametrize("command", ["check", "init", "plan", "diff"])
def test_bad_input_follows_the_error_contract(command: str, tmp_path: Path) -> None:
    (tmp_path / "broken.yaml").write_text("apiVersion: v1\nkind: ConfigMap\nmetadata: {name: a\n")
    for args, stdin in (([command, str(tmp_path)], b""), ([command], b"a: [")):
        proc = run_cli(args, stdin)
        assert proc.returncode == 1
        assert proc.stdout == b"", "nothing on stdout after an error"
        lines = proc.stderr.decode().splitlines()
        assert lines, "one stderr line per error"
        assert all(line.startswith("krmfn: error: ") for line in lines), lines
        assert b"Traceback" not in proc.stderr
    proc = run_cli([command, str(tmp_path / "missing")], b"")
    assert proc.returncode == 1
    assert b"must be a directory" in proc.stderr


def test_diff_json_gives_rfc6902_operations_that_replay_the_change() -> None:
    proc = run_cli(["diff", "--json", str(EXAMPLE / "pkg")], b"")
    assert proc.returncode == 0, proc.stderr
    changes = json.loads(proc.stdout)
    by_kind = {c["change"] for c in changes}
    assert by_kind == {"added", "modified"}
    tunnel = next(c for c in changes if c["resource"]["kind"] == "HelmRelease")
    assert tunnel["file"] == "helmrelease.yaml"
    assert tunnel["resource"] == {
        "apiVersion": "helm.toolkit.fluxcd.io/v2",
        "kind": "HelmRelease",
        "name": "cloudflare-tunnel",
        "namespace": "network",
    }
    before = yaml.safe_load((EXAMPLE / "pkg" / "helmrelease.yaml").read_text())
    after = yaml.safe_load((EXAMPLE / "expected" / "helmrelease.yaml").read_text())
    assert jsonpatch.apply_patch(before, tunnel["patch"]) == after
    for added in (c for c in changes if c["change"] == "added"):
        assert added["file"].startswith("edge/")
        assert jsonpatch.apply_patch({}, added["patch"])["kind"] == added["resource"]["kind"]


def test_diff_json_says_what_is_removed(tmp_path: Path) -> None:
    pkg = tmp_path / "pkg"
    shutil.copytree(ROOT / "examples" / "tunnel-multi-domain" / "expected", pkg)
    config = pkg / "multidomain.yaml"
    config.write_text(config.read_text().replace("    - name: example.org\n", ""))
    changes = json.loads(run_cli(["diff", "--json", str(pkg)], b"").stdout)
    removed = [c for c in changes if c["change"] == "removed"]
    assert [c["resource"]["name"] for c in removed] == ["example-org"]
    assert jsonpatch.apply_patch({"spec": {}, "kind": "x"}, [{"op": "remove", "path": "/spec"}]) == {"kind": "x"}
    assert all(op["op"] == "remove" for op in removed[0]["patch"])


def _kpt_source(pkg: Path) -> list[dict[str, object]]:
    out = subprocess.run(["kpt", "fn", "source", str(pkg)], capture_output=True, text=True, check=True).stdout
    return [item.data for item in resourcelist.read(out).items]  # anchors repeat across items: not one document


def _without_kpt_annotations(data: dict[str, object]) -> tuple[str, dict[str, object]]:
    data = json.loads(json.dumps(data))
    meta = data.get("metadata") or {}
    assert isinstance(meta, dict)
    annotations = meta.get("annotations") or {}
    path = annotations[PATH_ANNOTATIONS[1]]
    kept = {k: v for k, v in annotations.items() if not is_orchestrator_annotation(k)}
    if kept:
        meta["annotations"] = kept
    else:
        meta.pop("annotations", None)
    if not meta:
        data.pop("metadata")
    return path, data


def test_a_directory_is_read_as_kpt_fn_source_reads_it(tmp_path: Path) -> None:
    pkg = tmp_path / "pkg"
    shutil.copytree(ROOT / "examples" / "cluster-template" / "pkg", pkg)
    (pkg / "notes").mkdir()
    (pkg / "notes" / "gatus.yaml").write_text("endpoints: [{name: x}]\n")  # not a resource: ignored below
    (pkg / "talos.yml").write_text("machine: {}\n")
    ignore = pkg / ".krmignore"
    ignore.write_text(ignore.read_text() + "# kpt refuses non-resources\nnotes/\n/talos.yml\n")
    ours = package.read(str(pkg))
    theirs = sorted((_without_kpt_annotations(d) for d in _kpt_source(pkg)), key=lambda x: x[0])
    assert [(i.path, i.data) for i in ours.items] == [(p, d) for p, d in theirs]
    assert ours.function_config is not None
    assert ours.function_config.path == "kubernetes/apps/network/envoy-gateway/app/multidomain.yaml"
    assert all(i.raw is not None for i in ours.items), "read as they are, byte for byte"


def test_krmignore_negation_is_refused(tmp_path: Path) -> None:
    (tmp_path / ".krmignore").write_text("*.yaml\n!keep.yaml\n")
    proc = run_cli(["check", str(tmp_path)], b"")
    assert proc.returncode == 1
    assert b".krmignore line 2" in proc.stderr
