"""The pre-commit hook, for real: `pre-commit try-repo` builds krmfn from this checkout into
its own virtual environment (dependencies from the package index, nothing else from the
network) and runs `krmfn-check` in a throw-away git repository holding an example package.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
EXAMPLE = ROOT / "examples" / "tunnel-multi-domain"
PRE_COMMIT = shutil.which("pre-commit")


def git(repo: Path, *args: str) -> None:
    subprocess.run(
        ["git", "-c", "user.name=test", "-c", "user.email=ops@example.com", *args],
        cwd=repo,
        check=True,
        capture_output=True,
    )


def try_hook(repo: Path, home: Path) -> subprocess.CompletedProcess[str]:
    assert PRE_COMMIT is not None
    env = {**os.environ, "PRE_COMMIT_HOME": str(home)}
    return subprocess.run(
        [PRE_COMMIT, "try-repo", str(ROOT), "krmfn-check", "--all-files", "--verbose"],
        cwd=repo,
        capture_output=True,
        text=True,
        env=env,
        check=False,
    )


@pytest.mark.skipif(PRE_COMMIT is None, reason="pre-commit is a dev dependency: scripts/setup installs it")
def test_hook_fails_out_of_step_and_passes_after_the_render(tmp_path: Path) -> None:
    repo = tmp_path / "repo"
    shutil.copytree(EXAMPLE / "pkg", repo)  # the config says two domains; nothing is rendered yet
    git(repo, "init", "-q")
    git(repo, "add", "-A")
    git(repo, "commit", "-qm", "before the render")
    home = tmp_path / "pre-commit-home"

    failed = try_hook(repo, home)
    assert failed.returncode == 1, failed.stdout + failed.stderr
    assert "krmfn check" in failed.stdout
    assert "Failed" in failed.stdout
    assert "+++ b/edge/certificates.yaml" in failed.stdout, "the diff is shown"

    render = subprocess.run(
        ["kpt", "fn", "render", "--allow-exec", str(repo)], cwd=tmp_path, capture_output=True, text=True, check=False
    )
    assert render.returncode == 0, render.stderr
    git(repo, "add", "-A")
    passed = try_hook(repo, home)
    assert passed.returncode == 0, passed.stdout + passed.stderr
    assert "Passed" in passed.stdout
