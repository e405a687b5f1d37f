"""deploy/ci/github-actions.yaml, run step by step on a repository as a pull request would leave it.

GitHub's own actions (checkout, setup-python) and the install step (krmfn is installed here
already; the step needs the network) are not run: every other step's `run:` is, with bash
in the repository root, as the runner does. The job must pass on a repository in step and
fail, with the diff in its log, when a file was edited by hand.
"""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[2]
JOB = ROOT / "deploy" / "ci" / "github-actions.yaml"
REPOSITORY = ROOT / "examples" / "tunnel-multi-domain" / "expected"


def steps() -> list[dict[str, str]]:
    workflow = yaml.safe_load(JOB.read_text())
    assert workflow[True]["pull_request"], "it runs on pull requests"  # PyYAML reads `on:` as True
    (job,) = workflow["jobs"].values()
    return list(job["steps"])


def run_job(repo: Path) -> tuple[int, str]:
    log = []
    for step in steps():
        if "run" not in step or step.get("name", "").startswith("Install"):
            continue
        proc = subprocess.run(["bash", "-e", "-c", step["run"]], cwd=repo, capture_output=True, text=True, check=False)
        log.append(proc.stdout + proc.stderr)
        if proc.returncode:
            return proc.returncode, "".join(log)
    return 0, "".join(log)


def test_the_job_installs_krmfn_and_runs_check() -> None:
    runs = [s["run"] for s in steps() if "run" in s]
    assert runs[0].startswith("pip install ")
    assert runs[-1] == "krmfn check ."


def test_the_job_passes_on_a_repository_in_step(tmp_path: Path) -> None:
    repo = tmp_path / "repo"
    shutil.copytree(REPOSITORY, repo)
    code, log = run_job(repo)
    assert code == 0, log
    assert "example.org" in log, "the plan is in the log"


def test_the_job_fails_with_the_diff_when_a_file_was_edited_by_hand(tmp_path: Path) -> None:
    repo = tmp_path / "repo"
    shutil.copytree(REPOSITORY, repo)
    tunnel = repo / "cloudflared.yaml"
    # a setting of a rule krmfn keeps (its origin server name is the domain's target), which the config sets
    edited = "http2Origin: false\n          originServerName: external.example.org"
    tunnel.write_text(
        tunnel.read_text().replace("http2Origin: true\n          originServerName: external.example.org", edited, 1)
    )
    code, log = run_job(repo)
    assert code == 1
    assert "-          http2Origin: false" in log
    assert "out of step" in log
