"""The README's user quick start is the real transcript of docs/quickstart/quickstart.sh.

The script copies the cluster-template example into a fresh git repository without a
MultiDomain, then runs `krmfn init`, `kpt fn render`, the one-line domain addition, the second
render and `krmfn check`. The README shows its output between the quickstart markers; set
``KRMFN_UPDATE_EXPECTED=1`` to rewrite that block after reading the new transcript.
"""

from __future__ import annotations

import os
import re
import subprocess
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
README = ROOT / "README.md"
BLOCK = re.compile(r"(<!-- quickstart:begin -->\n```console\n)(.*?)(```\n<!-- quickstart:end -->)", re.S)


def transcript(tmp_path: Path) -> str:
    proc = subprocess.run(
        ["bash", str(ROOT / "docs" / "quickstart" / "quickstart.sh"), str(tmp_path / "my-repo")],
        capture_output=True,
        text=True,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr
    assert str(tmp_path) not in proc.stdout
    return proc.stdout


def test_the_quick_start_adopts_and_adds_a_domain(tmp_path: Path) -> None:
    text = transcript(tmp_path)
    assert text.count("Successfully executed 1 function(s)") == 2, "both renders must pass"
    assert text.rstrip().endswith("in step"), "after the renders, `krmfn check` must pass"


def test_readme_quick_start_is_the_transcript(tmp_path: Path) -> None:
    transcript_text = transcript(tmp_path)
    text = README.read_text()
    match = BLOCK.search(text)
    assert match, "README.md must hold the quickstart block"
    if os.environ.get("KRMFN_UPDATE_EXPECTED") == "1":
        README.write_text(text[: match.start(2)] + transcript_text + text[match.end(2) :])
        return
    assert match.group(2) == transcript_text
