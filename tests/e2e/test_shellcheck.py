"""Every shell script the project ships or runs in CI passes shellcheck (installed by scripts/setup)."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
SCRIPTS = sorted(
    [
        *ROOT.glob("deploy/**/*.sh"),
        *ROOT.glob("docs/**/*.sh"),
        *(p for p in (ROOT / "scripts").iterdir() if p.is_file() and p.read_text().startswith("#!/usr/bin/env bash")),
        ROOT / ".ci" / "run",
    ]
)


def test_the_scripts_are_found() -> None:
    names = {str(p.relative_to(ROOT)) for p in SCRIPTS}
    assert {"scripts/setup", "scripts/check", ".ci/run", "deploy/flux/render.sh", "deploy/kpt/pipe.sh"} <= names


@pytest.mark.skipif(shutil.which("shellcheck") is None, reason="shellcheck not installed (scripts/setup installs it)")
@pytest.mark.parametrize("script", SCRIPTS, ids=lambda p: str(p.relative_to(ROOT)))
def test_shellcheck(script: Path) -> None:
    proc = subprocess.run(["shellcheck", str(script)], capture_output=True, text=True, check=False)
    assert proc.returncode == 0, proc.stdout
