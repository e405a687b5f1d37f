"""The bad-input corpus (``tests/bad_inputs/``, format in its README): every case, every check.

Each case states the exit code and the message it expects. On top of that, every case must
end the way any bad input must (SPEC, "Rules that always hold"): a ResourceList on stdout
whose results say what went wrong with an explicit severity, exit 0 or 1, one readable
``krmfn: <severity>: …`` line on stderr per error or warning, never a traceback and never
the "internal error" that marks a bug.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import yaml
from conftest import resource_list

from krmfn.cli import run

CORPUS = Path(__file__).resolve().parents[1] / "bad_inputs"
CASE_FILES = sorted(CORPUS.glob("*.yaml"))
KNOWN_KEYS = {
    "description",
    "input",
    "input_file",
    "generate",
    "functionConfig",
    "items",
    "process",
    "max_seconds",
    "max_rss_mib",
    "expect",
}
KNOWN_EXPECT = {
    "exit",
    "message_regex",
    "stderr_regex",
    "error_count",
    "passthrough",
    "forbidden_regex",
    "output_regex",
}
PROCESS_TIMEOUT = 120.0


@dataclass
class Outcome:
    stdout: str
    stderr: str
    exit: int
    seconds: float
    max_rss_mib: float | None = None


def load_case(path: Path) -> dict[str, Any]:
    spec = yaml.safe_load(path.read_text(encoding="utf-8"))
    assert isinstance(spec, dict), f"{path.name} must be a mapping"
    return spec


def stdin_of(spec: dict[str, Any]) -> bytes:
    if "input" in spec:
        return str(spec["input"]).encode()
    if "input_file" in spec:
        return (CORPUS / str(spec["input_file"])).read_bytes()
    if "generate" in spec:
        return generate(float(spec["generate"]["mib"]), int(spec["generate"].get("item_kib", 10)))
    return resource_list(spec.get("functionConfig", ""), spec.get("items", "")).encode()


def generate(mib: float, item_kib: int = 10) -> bytes:
    """A ResourceList of about *mib* MiB: a valid config and ConfigMaps of *item_kib* KiB each."""
    line = "      " + "x" * 100 + "\n"
    lines = max(1, item_kib * 1024 // len(line))
    config = (
        "apiVersion: krmfn.dev/v1alpha1\nkind: MultiDomain\nmetadata:\n  name: edge\n"
        "spec:\n  domains:\n    - name: example.org\n  certificates:\n    namespace: network\n"
        "    issuerRef: {name: letsencrypt-production}\n"
    )
    head = "apiVersion: config.kubernetes.io/v1\nkind: ResourceList\nitems:\n"
    tail = "functionConfig:\n" + "".join("  " + x + "\n" for x in config.rstrip("\n").split("\n"))
    entry_size = len(
        f"- apiVersion: v1\n  kind: ConfigMap\n  metadata:\n    name: big-{0:06d}\n  data:\n    payload: |\n"
    ) + lines * len(line)
    count = int(mib * 1024 * 1024) // entry_size
    body = "".join(
        f"- apiVersion: v1\n  kind: ConfigMap\n  metadata:\n    name: big-{i:06d}\n  data:\n    payload: |\n"
        + line * lines
        for i in range(count)
    )
    return (head + body + tail).encode()


def run_in_process(data: bytes, capsys: pytest.CaptureFixture[str]) -> Outcome:
    capsys.readouterr()
    start = time.perf_counter()
    stdout, code = run(data)
    seconds = time.perf_counter() - start
    return Outcome(stdout, capsys.readouterr().err, code, seconds)


def run_process(data: bytes, timeout: float = PROCESS_TIMEOUT) -> Outcome:
    """The real console script, stdin and stdout through files, its own peak RSS from wait4."""
    exe = shutil.which("krmfn")
    cmd = [exe] if exe else [sys.executable, "-m", "krmfn"]
    with tempfile.TemporaryDirectory() as tmp:
        paths = [Path(tmp, name) for name in ("stdin", "stdout", "stderr")]
        paths[0].write_bytes(data)
        with paths[0].open("rb") as sin, paths[1].open("wb") as sout, paths[2].open("wb") as serr:
            start = time.perf_counter()
            proc = subprocess.Popen(cmd, stdin=sin, stdout=sout, stderr=serr)
            status, rusage = _wait(proc, start + timeout)
            seconds = time.perf_counter() - start
        code = os.waitstatus_to_exitcode(status)
        return Outcome(
            paths[1].read_text(encoding="utf-8"),
            paths[2].read_text(encoding="utf-8"),
            code,
            seconds,
            rusage.ru_maxrss / 1024,  # KiB on Linux
        )


def _wait(proc: subprocess.Popen[bytes], deadline: float) -> tuple[int, Any]:
    while True:
        pid, status, rusage = os.wait4(proc.pid, os.WNOHANG)
        if pid:
            proc.returncode = os.waitstatus_to_exitcode(status)
            return status, rusage
        if time.perf_counter() > deadline:
            proc.kill()
            os.wait4(proc.pid, 0)
            proc.returncode = -9
            pytest.fail(f"krmfn did not finish within {PROCESS_TIMEOUT:.0f} s")
        time.sleep(0.01)


def check_always(out: Outcome) -> list[dict[str, Any]]:
    """What holds for every input, good or bad; returns the results."""
    assert out.exit in (0, 1), out.stderr
    assert "Traceback" not in out.stderr
    answer = yaml.load(out.stdout, Loader=yaml.CSafeLoader)
    assert isinstance(answer, dict), out.stdout[:300]
    assert answer.get("kind") == "ResourceList"
    results = answer.get("results") or []
    assert all(res.get("severity") in ("error", "warning", "info") for res in results)
    lines = out.stderr.splitlines()
    for line in lines:
        assert re.match(r"krmfn: (error|warning): \S", line), f"not a readable result line: {line!r}"
    for res in results:
        if res["severity"] != "info":
            assert any(res["message"] in line for line in lines), f"no stderr line for {res['message']!r}"
        assert "internal error" not in res["message"], res["message"]
    errors = [res for res in results if res["severity"] == "error"]
    assert bool(errors) == (out.exit == 1), (out.exit, errors)
    return results


@dataclass(frozen=True)
class Mode:
    name: str
    process: bool


def modes_of(spec: dict[str, Any]) -> list[Mode]:
    process = spec.get("process", False)
    if process == "both":
        return [Mode("in-process", False), Mode("process", True)]
    return [Mode("process", True)] if process else [Mode("in-process", False)]


def test_corpus_is_complete() -> None:
    assert len(CASE_FILES) >= 30
    for path in CASE_FILES:
        spec = load_case(path)
        assert set(spec) <= KNOWN_KEYS, f"{path.name}: unknown keys {set(spec) - KNOWN_KEYS}"
        assert set(spec["expect"]) <= KNOWN_EXPECT, f"{path.name}: unknown expect keys"
        assert spec.get("description"), f"{path.name} must say what it tests"
        assert spec["expect"]["exit"] in (0, 1)
        if spec["expect"]["exit"] == 1:
            assert spec["expect"].get("message_regex"), f"{path.name} must state the message it expects"
        if "max_rss_mib" in spec:
            assert spec.get("process"), f"{path.name}: max_rss_mib needs process: true"
        if "input_file" in spec:
            assert (CORPUS / spec["input_file"]).is_file()


@pytest.mark.parametrize("path", CASE_FILES, ids=[p.stem for p in CASE_FILES])
def test_bad_input(path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    spec = load_case(path)
    expect = spec["expect"]
    data = stdin_of(spec)
    for mode in modes_of(spec):
        out = run_process(data) if mode.process else run_in_process(data, capsys)
        results = check_always(out)
        assert out.exit == expect["exit"], f"{mode.name}: exit {out.exit}\n{out.stderr}"
        errors = [res["message"] for res in results if res["severity"] == "error"]
        if "message_regex" in expect:
            assert any(re.search(expect["message_regex"], m) for m in errors), f"{mode.name}: {errors}"
        if "stderr_regex" in expect:
            assert re.search(expect["stderr_regex"], out.stderr, re.M), f"{mode.name}: {out.stderr}"
        if "error_count" in expect:
            assert len(errors) == expect["error_count"], errors
        if "forbidden_regex" in expect:
            said = out.stderr + "\n".join(res["message"] for res in results)
            assert not re.search(expect["forbidden_regex"], said)
        if "output_regex" in expect:
            assert re.search(expect["output_regex"], out.stdout, re.M)
        if expect.get("passthrough"):
            for doc in str(spec.get("items", "")).split("---\n"):
                entry = "- " + "\n  ".join(doc.strip("\n").split("\n")) + "\n"
                assert entry in out.stdout, f"{mode.name}: an input item did not come back byte for byte:\n{entry}"
        limit = spec.get("max_seconds")
        if limit is not None and (not mode.process or spec.get("process") is True):  # with `both`: in-process
            assert out.seconds <= limit, f"{mode.name}: took {out.seconds:.2f} s, more than {limit} s"
        if "max_rss_mib" in spec and mode.process:
            assert out.max_rss_mib is not None
            assert out.max_rss_mib <= spec["max_rss_mib"], f"peak RSS {out.max_rss_mib:.0f} MiB"
