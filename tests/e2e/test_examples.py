"""Every example in examples/ is a test, run through the real runner it documents.

- ``examples/<name>/pkg/`` is a kpt package: ``kpt fn render --allow-exec`` must turn it into
  exactly ``examples/<name>/expected/`` (every file, byte for byte), the printed results must
  match ``expected-results.txt``, and rendering the output again must change nothing.
- ``examples/<name>/pipe`` marks a package ``kpt fn render`` cannot run (non-KRM YAML that krmfn
  must edit: an Argo CD wrapper chart's values files). The file holds the function config's
  path inside ``pkg/``; ``expected/`` is what ``kpt fn source pkg --fn-config pkg/CONFIG | krmfn |
  kpt fn sink OUT`` writes, and ``expected-results.txt`` the results krmfn returns, one line each
  as kpt prints them.
- ``examples/<name>/kustomize/`` is a kustomization: ``kubectl kustomize
  --enable-alpha-plugins`` (container functions run through the docker shim) must print
  ``expected.yaml``.

Set ``KRMFN_UPDATE_EXPECTED=1`` to rewrite the expectations after checking them by eye.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from pathlib import Path

import pytest
import yaml
from yamlread import load_all

from krmfn.krm.results import plural

ROOT = Path(__file__).resolve().parents[2]
EXAMPLES = ROOT / "examples"
SHIM = ROOT / "tests" / "e2e" / "bin"
UPDATE = os.environ.get("KRMFN_UPDATE_EXPECTED") == "1"

KPT_EXAMPLES = sorted(p.name for p in EXAMPLES.iterdir() if (p / "pkg").is_dir())


def skip_unless_expected(example: Path) -> None:
    """A real-layout fixture lands before krmfn can render it; its expectations come with the
    code that handles it. Until then it is skipped, visibly, never passed."""
    if not (example / "expected").is_dir() and not (example / "expected.yaml").exists() and not UPDATE:
        pytest.skip(f"examples/{example.name} has no expected output yet")


KUSTOMIZE_EXAMPLES = sorted(p.name for p in EXAMPLES.iterdir() if (p / "kustomize").is_dir())


def tree(root: Path) -> dict[str, bytes]:
    return {str(p.relative_to(root)): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()}


def kpt_render(pkg: Path, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        ["kpt", "fn", "render", "--allow-exec", "--truncate-output=false", str(pkg)],
        cwd=cwd,
        capture_output=True,
        text=True,
        check=False,
    )


PIPE = "pipe"


def pipe_config(example: Path) -> str | None:
    """The function config's path inside ``pkg/`` of a pipe-form example, else None."""
    marker = example / PIPE
    return marker.read_text().strip() if marker.is_file() else None


def kpt_pipe(pkg: Path, config: str, out: Path) -> tuple[int, str]:
    """``set -o pipefail; kpt fn source PKG --fn-config CONFIG | krmfn | kpt fn sink OUT``, stage by stage
    (the exit status is the first failing stage's), and the results krmfn returned, as kpt prints them."""
    source = subprocess.run(
        ["kpt", "fn", "source", str(pkg), "--fn-config", str(pkg / config)], capture_output=True, check=True
    )
    function = subprocess.run(["krmfn"], input=source.stdout, capture_output=True, check=False)
    sink = subprocess.run(["kpt", "fn", "sink", str(out)], input=function.stdout, capture_output=True, check=False)
    assert sink.returncode == 0, sink.stderr.decode()
    results = next(load_all(function.stdout)).get("results") or []
    return function.returncode, "".join(_result_line(res) + "\n" for res in results)


def _result_line(result: dict[str, object]) -> str:
    """One result the way kpt prints it: ``[severity] apiVersion/Kind/name field: message``."""
    ref = result.get("resourceRef")
    where = ""
    if isinstance(ref, dict):
        where = f" {ref['apiVersion']}/{ref['kind']}/{ref['name']}"
        field = result.get("field")
        where += f" {field['path']}" if isinstance(field, dict) else ""
    return f"[{result['severity']}]{where}: {result['message']}"


def result_lines(stderr: str) -> str:
    """kpt's printed results, without its timing and progress lines."""
    keep = [line.strip() for line in stderr.splitlines() if re.match(r"\s*\[(info|warning|error)\]", line)]
    return "\n".join(keep) + "\n"


def test_there_are_examples() -> None:
    assert len(KPT_EXAMPLES) + len(KUSTOMIZE_EXAMPLES) >= 3


@pytest.mark.parametrize("name", KPT_EXAMPLES)
def test_kpt_example(name: str, tmp_path: Path) -> None:
    example = EXAMPLES / name
    skip_unless_expected(example)
    assert (example / "README.md").is_file(), f"examples/{name} needs a README.md"
    config = pipe_config(example)
    if config is not None:
        check_pipe_example(example, config, tmp_path)
        return
    pkg = tmp_path / "pkg"
    shutil.copytree(example / "pkg", pkg)
    proc = kpt_render(pkg, tmp_path)
    expected_exit = (
        int((example / "expected-exit-code").read_text()) if (example / "expected-exit-code").exists() else 0
    )
    assert proc.returncode == expected_exit, proc.stderr
    results = result_lines(proc.stderr)
    if UPDATE:
        shutil.rmtree(example / "expected", ignore_errors=True)
        shutil.copytree(pkg, example / "expected")
        (example / "expected-results.txt").write_text(results)
    assert results == (example / "expected-results.txt").read_text()
    assert tree(pkg) == tree(example / "expected"), f"kpt fn render output differs from examples/{name}/expected"
    if expected_exit == 0:
        # kpt itself is not idempotent on some comment forms (`- # note` over a mapping moves
        # once), so a second render is compared with a `cat` render of the same output.
        again = kpt_render(pkg, tmp_path)
        assert again.returncode == 0, again.stderr
        assert "0 generated, 0 updated" in again.stderr, again.stderr
        assert "0 pruned, 0 patched" in again.stderr, again.stderr
        identity = identity_render(example / "expected", tmp_path / "identity")
        assert tree(pkg) == identity, "a second render changed the package"


def check_pipe_example(example: Path, config: str, tmp_path: Path) -> None:
    """The pipe form: expected/ is what `kpt fn sink` writes; a second pipe over it changes nothing."""
    out = tmp_path / "out"
    code, results = kpt_pipe(example / "pkg", config, out)
    expected_exit = (
        int((example / "expected-exit-code").read_text()) if (example / "expected-exit-code").exists() else 0
    )
    assert code == expected_exit, results
    if UPDATE:
        shutil.rmtree(example / "expected", ignore_errors=True)
        shutil.copytree(out, example / "expected")
        (example / "expected-results.txt").write_text(results)
    assert results == (example / "expected-results.txt").read_text()
    assert tree(out) == tree(example / "expected"), f"the pipe's output differs from examples/{example.name}/expected"
    if expected_exit == 0:
        again_code, again = kpt_pipe(out, config, tmp_path / "again")
        assert again_code == 0, again
        assert "0 generated, 0 updated" in again, again
        assert "0 pruned, 0 patched" in again, again
        assert tree(tmp_path / "again") == tree(out), "a second run changed the package"


def identity_pipe(package: Path, at: Path) -> dict[str, bytes]:
    """*package* through `kpt fn source | kpt fn sink` alone: what kpt does to the files by itself."""
    source = subprocess.run(["kpt", "fn", "source", str(package)], capture_output=True, check=True)
    subprocess.run(["kpt", "fn", "sink", str(at)], input=source.stdout, capture_output=True, check=True)
    return tree(at)


def identity_render(package: Path, at: Path) -> dict[str, bytes]:
    """*package* rendered with `cat` as the function: what kpt does to the files by itself."""
    shutil.copytree(package, at)
    kptfile = at / "Kptfile"
    original = kptfile.read_text()
    kptfile.write_text(re.sub(r"exec: krmfn\b", "exec: cat", original))
    assert kpt_render(at, at.parent).returncode == 0
    kptfile.write_text(original)
    return tree(at)


@pytest.mark.parametrize("name", KPT_EXAMPLES)
def test_kpt_example_changes_only_what_it_reports(name: str, tmp_path: Path) -> None:
    """Against an identity function under kpt, only resources krmfn reported differ.

    kpt re-formats files itself (comment spacing, for one); rendering the same package with
    ``cat`` as the function isolates what krmfn changed from what kpt does anyway.
    """
    example = EXAMPLES / name
    skip_unless_expected(example)
    if (example / "expected-exit-code").exists():
        pytest.skip("an example that fails writes nothing")
    if pipe_config(example) is not None:
        identity = identity_pipe(example / "pkg", tmp_path / "identity")
    else:
        identity = identity_render(example / "pkg", tmp_path / "identity")
    printed = (example / "expected-results.txt").read_text()
    # "<verb> <Kind> [<namespace>/]<name>: why"; a name may hold slashes (`${VAR/./-}`), a namespace not
    reported = set(
        re.findall(r"\[info\] \S+: (?:patched|generated|updated|adopted) ([A-Z]\w*) (?:[a-z0-9-]+/)?(\S+?):", printed)
    )
    # a summary of several: "[info] …/MultiDomain/edge: gateways: patched 2 Gateways (envoy-external, envoy-internal); …"
    summaries = re.findall(
        r"\[info\] \S+: \w+: (?:patched|generated|updated|adopted) \d+ ([A-Z]\w*) \(([^)]*)\)", printed
    )
    summarised = {
        (kinds, re.sub(r"^[a-z0-9-]+/", "", name)) for kinds, names in summaries for name in names.split(", ")
    }
    reported_files = set(re.findall(r"\[info\]: (?:patched|wrote) (?:values file )?(\S+):", printed))
    rendered = tree(example / "expected")
    for path, content in identity.items():
        if path == "Kptfile":
            continue
        assert path in rendered, f"{path} disappeared"
        if content == rendered[path] or path in reported_files:
            continue
        before = {_ident(d): d for d in load_all(content) if d}
        after = {_ident(d): d for d in load_all(rendered[path]) if d}
        assert before.keys() <= after.keys(), f"{path}: resources disappeared"
        changed = {key for key in before if before[key] != after[key]} | (after.keys() - before.keys())
        assert changed, f"{path} differs only in formatting, which krmfn must not change"
        for kind, resource_name in changed:
            said = (kind, resource_name) in reported or (plural(kind), resource_name) in summarised
            assert said, f"{path}: {kind} {resource_name} changed but no result says so"


def _ident(doc: dict[str, object]) -> tuple[str, str]:
    meta = doc.get("metadata")
    return str(doc.get("kind")), str(meta.get("name") if isinstance(meta, dict) else "")


@pytest.mark.parametrize("name", KUSTOMIZE_EXAMPLES)
def test_kustomize_example(name: str, tmp_path: Path) -> None:
    example = EXAMPLES / name
    assert (example / "README.md").is_file(), f"examples/{name} needs a README.md"
    env = {
        **os.environ,
        "PATH": f"{SHIM}{os.pathsep}{os.environ['PATH']}",
        "KRMFN_DOCKER_LOG": str(tmp_path / "docker.log"),
    }
    proc = subprocess.run(
        ["kubectl", "kustomize", "--enable-alpha-plugins", str(example / "kustomize")],
        capture_output=True,
        text=True,
        env=env,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr
    if UPDATE:
        (example / "expected.yaml").write_text(proc.stdout)
    assert proc.stdout == (example / "expected.yaml").read_text()
    calls = (tmp_path / "docker.log").read_text()
    assert "--network none" in calls, calls
    assert "--user nobody" in calls, calls


@pytest.mark.parametrize("name", KPT_EXAMPLES + KUSTOMIZE_EXAMPLES)
def test_example_output_validates_against_the_crd_schemas(name: str) -> None:
    """Every resource an example renders is valid for its CRD, once Flux has substituted it."""
    import fluxtree
    import krmignore
    from conftest import flux_substitute
    from crdschema import assert_manifests_valid

    example = EXAMPLES / name
    skip_unless_expected(example)
    if (example / "expected-exit-code").exists():
        pytest.skip("a failing example renders nothing")
    if (example / "flux-vars.env").exists():
        # A whole repository: what Flux applies from it, built and substituted as Flux would.
        applied = fluxtree.applied(example / "expected", fluxtree.read_vars(example / "flux-vars.env"))
        assert fluxtree.problems(applied.builds) == []
        docs = [yaml.safe_dump(d) for d in applied.all_docs if "sops" not in d]  # SOPS: decrypted by Flux first
    else:
        skipped = krmignore.patterns(example / "expected")  # what kpt does not read is no manifest (Helm templates)
        files = (
            [example / "expected.yaml"]
            if (example / "expected.yaml").exists()
            else sorted(
                f
                for f in (example / "expected").rglob("*.yaml")
                if not krmignore.ignored(str(f.relative_to(example / "expected")), skipped)
            )
        )
        # A SOPS file is decrypted by Flux before it is applied; its encrypted form is no manifest.
        docs = [
            flux_substitute(f.read_text()) for f in files if f.name != "Kptfile" and not f.name.endswith(".sops.yaml")
        ]
        if pipe_config(example) is not None:
            # a pipe-form package holds chart files and values, which are no manifests
            docs = [d for d in docs if all(isinstance(x, dict) and "kind" in x for x in load_all(d.encode()) if x)]
    assert docs
    assert_manifests_valid("\n---\n".join(docs))
