"""The bad-input corpus (``tests/bad_inputs/``, format in its README): every case, every command.

Each case states the exit code and the message it expects. On top of that, every case must
end the way any bad input must (SPEC, "Rules that always hold"), through every command in
:data:`COMMANDS`: exit 0 or 1, one readable ``krmfn: <severity>: …`` line on stderr per
error or warning, never a traceback and never the "internal error" that marks a bug; a
ResourceList answered with results that say what went wrong, or, where there is no place
for results (a plain stream, ``plan``, ``diff``), nothing at all on stdout after an error
(fail closed).
"""

from __future__ import annotations

import io
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import pytest
import yaml
from conftest import resource_list

from krmfn.cli import main, run

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
    "commands",
}
KNOWN_EXPECT = {
    "exit",
    "message_regex",
    "stderr_regex",
    "error_count",
    "passthrough",
    "forbidden_regex",
    "output_regex",
    "prefix",
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


#: Forks the command from a fresh interpreter and reports its peak RSS. A child exec'd straight
#: from pytest inherits pytest's memory high-water mark in its rusage (Linux keeps the pre-exec
#: peak), so the measure would follow the size of the test run, not of krmfn.
_LAUNCHER = """
import os, sys
pid = os.fork()
if pid == 0:
    os.execvp(sys.argv[2], sys.argv[2:])
_, status, usage = os.wait4(pid, 0)
with open(sys.argv[1], "w") as out:
    out.write(str(usage.ru_maxrss))
sys.exit(os.waitstatus_to_exitcode(status))
"""


def run_process(data: bytes, timeout: float = PROCESS_TIMEOUT) -> Outcome:
    """The real console script, stdin and stdout through files, its own peak RSS from wait4."""
    exe = shutil.which("krmfn")
    cmd = [exe] if exe else [sys.executable, "-m", "krmfn"]
    with tempfile.TemporaryDirectory() as tmp:
        paths = [Path(tmp, name) for name in ("stdin", "stdout", "stderr", "rss")]
        paths[0].write_bytes(data)
        with paths[0].open("rb") as sin, paths[1].open("wb") as sout, paths[2].open("wb") as serr:
            start = time.perf_counter()
            launcher = [sys.executable, "-c", _LAUNCHER, str(paths[3]), *cmd]
            proc = subprocess.Popen(launcher, stdin=sin, stdout=sout, stderr=serr)
            status, _ = _wait(proc, start + timeout)
            seconds = time.perf_counter() - start
        code = os.waitstatus_to_exitcode(status)
        return Outcome(
            paths[1].read_text(encoding="utf-8"),
            paths[2].read_text(encoding="utf-8"),
            code,
            seconds,
            int(paths[3].read_text()) / 1024,  # KiB on Linux
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
    """What holds for every input, good or bad, answered by the function; returns the results.

    A ResourceList comes back as one, with an error result exactly when the exit code is 1;
    a plain stream after an error comes back as nothing.
    """
    check_lines(out)
    answer = _resource_list(out.stdout)
    if answer is None:
        assert out.exit == 0 or out.stdout == "", (
            f"fail closed: a stream after an error must be empty:\n{out.stdout[:300]}"
        )
        if out.exit == 1:
            assert "krmfn: error: " in out.stderr
        return [{"message": m, "severity": "error"} for m in _stderr_errors(out.stderr)]
    results = answer.get("results") or []
    assert all(res.get("severity") in ("error", "warning", "info") for res in results)
    lines = out.stderr.splitlines()
    for res in results:
        if res["severity"] != "info":
            assert sum(res["message"] in line for line in lines) >= 1, f"no stderr line for {res['message']!r}"
        assert "internal error" not in res["message"], res["message"]
    errors = [res for res in results if res["severity"] == "error"]
    assert bool(errors) == (out.exit == 1), (out.exit, errors)
    assert len(_stderr_errors(out.stderr)) == len(errors), "one stderr line per error result"
    return results


def check_lines(out: Outcome) -> None:
    """Exit 0 or 1; stderr is one readable line per problem; no traceback, no bug."""
    assert out.exit in (0, 1), out.stderr
    assert "Traceback" not in out.stderr
    assert "internal error" not in out.stderr, out.stderr
    for line in out.stderr.splitlines():
        assert re.match(r"krmfn: (error|warning): \S", line), f"not a readable result line: {line!r}"
    if out.exit == 1:
        assert _stderr_errors(out.stderr), "an error must reach stderr"


def _stderr_errors(stderr: str) -> list[str]:
    return [line.removeprefix("krmfn: error: ") for line in stderr.splitlines() if line.startswith("krmfn: error: ")]


def _resource_list(stdout: str) -> dict[str, Any] | None:
    if "ResourceList" not in stdout:
        return None
    try:
        answer = yaml.load(stdout, Loader=yaml.CSafeLoader)
    except yaml.YAMLError:
        return None
    return answer if isinstance(answer, dict) and answer.get("kind") == "ResourceList" else None


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
    names = {c.name for c in COMMANDS}
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
        for name, override in (spec.get("commands") or {}).items():
            assert name in names, f"{path.name}: no command {name!r}"
            assert override == "skip" or set(override) <= KNOWN_EXPECT, f"{path.name}: {name}"


@pytest.mark.parametrize("path", CASE_FILES, ids=[p.stem for p in CASE_FILES])
def test_bad_input(path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    spec = load_case(path)
    expect = spec["expect"]
    data = stdin_of(spec)
    for mode in modes_of(spec):
        out = run_process(data) if mode.process else run_in_process(data, capsys)
        results = check_always(out)
        errors = [res["message"] for res in results if res["severity"] == "error"]
        check_expected(spec, expect, out, errors, mode.name)
        limit = spec.get("max_seconds")
        if limit is not None and (not mode.process or spec.get("process") is True):  # with `both`: in-process
            assert out.seconds <= limit, f"{mode.name}: took {out.seconds:.2f} s, more than {limit} s"
        if "max_rss_mib" in spec and mode.process:
            assert out.max_rss_mib is not None
            assert out.max_rss_mib <= spec["max_rss_mib"], f"peak RSS {out.max_rss_mib:.0f} MiB"


def check_expected(spec: dict[str, Any], expect: dict[str, Any], out: Outcome, errors: list[str], how: str) -> None:
    """What the case says must come out."""
    assert out.exit == expect["exit"], f"{how}: exit {out.exit}\n{out.stderr}"
    if "message_regex" in expect:
        assert any(re.search(expect["message_regex"], m) for m in errors), f"{how}: {errors}"
    if "stderr_regex" in expect:
        assert re.search(expect["stderr_regex"], out.stderr, re.M), f"{how}: {out.stderr}"
    if "error_count" in expect:
        assert len(errors) == expect["error_count"], errors
    if "forbidden_regex" in expect:
        said = out.stdout + out.stderr + "\n".join(errors)
        match = re.search(expect["forbidden_regex"], out.stderr + "\n".join(errors))
        assert not match, f"{how}: {match.group() if match else ''}"
        del said
    if "output_regex" in expect:
        assert re.search(expect["output_regex"], out.stdout, re.M), f"{how}: {out.stdout[:2000]}"
    if expect.get("prefix"):
        given = stdin_of(spec).decode("utf-8")
        assert out.stdout.startswith(given), f"{how}: the input did not come back byte for byte first"
    if expect.get("passthrough"):
        for doc in _documents(spec):
            assert doc in out.stdout, f"{how}: an input item did not come back byte for byte:\n{doc}"


def _documents(spec: dict[str, Any]) -> list[str]:
    """Each input document as it must appear in a ResourceList answer (or a stream answer)."""
    if "input" in spec:
        return [d for d in re.split(r"(?m)^---[^\n]*\n", str(spec["input"])) if d.strip()]
    return [
        "- " + "\n  ".join(doc.strip("\n").split("\n")) + "\n"
        for doc in str(spec.get("items", "")).split("---\n")
        if doc.strip()
    ]


# --- every command -------------------------------------------------------------------------


@dataclass(frozen=True)
class Command:
    """One way to call krmfn on a case's input, and the contract its output keeps.

    *output*: ``answer`` is the function's own answer (a ResourceList, or a stream that is
    empty after an error); ``report`` is text for a person (``plan``, ``diff``), empty
    after an error; ``ignores-input`` prints the same thing whatever stdin holds.
    *config_file*: the case's functionConfig (or :data:`DEFAULT_CONFIG`) goes into a file
    named as the only argument, and its items come as a plain stream (kustomize's legacy
    exec plugin).
    """

    name: str
    argv: tuple[str, ...]
    output: Literal["answer", "report", "ignores-input"] = "answer"
    config_file: bool = False
    #: False for a command whose outcome is not the function's (`check` fails when a render
    #: would change anything; `init` needs no config): only the contract is checked.
    expects_case: bool = True


#: Every command; a new one (`init`, `check`, `verify`) is added here and meets the same contract.
COMMANDS: list[Command] = [
    Command("krmfn", ()),
    Command("plan", ("plan",), "report"),
    Command("plan --json", ("plan", "--json"), "report"),
    Command("diff", ("diff",), "report"),
    Command("schema", ("schema",), "ignores-input"),
    Command("CONFIG", (), config_file=True),
    Command("check", ("check",), "report", expects_case=False),
    Command("init", ("init",), "report", expects_case=False),
]

DEFAULT_CONFIG = """\
apiVersion: krmfn.dev/v1alpha1
kind: MultiDomain
metadata:
  name: edge
spec:
  domains:
    - name: example.org
  certificates:
    namespace: network
    issuerRef: {name: letsencrypt-production}
"""


def run_command(command: Command, spec: dict[str, Any], capsys: pytest.CaptureFixture[str], tmp: Path) -> Outcome:
    """*command* in-process on the case's input, exactly as the console script runs it."""
    argv = list(command.argv)
    data = stdin_of(spec)
    if command.config_file:
        config = tmp / "multidomain.yaml"
        has_config = "functionConfig" in spec and "input" not in spec
        config.write_text(str(spec["functionConfig"]) if has_config else DEFAULT_CONFIG, encoding="utf-8")
        argv.append(str(config))
        if has_config:
            data = str(spec.get("items", "")).encode()
    capsys.readouterr()
    stdout = io.StringIO()
    start = time.perf_counter()
    code = main(argv, stdin=io.BytesIO(data), stdout=stdout)
    return Outcome(stdout.getvalue(), capsys.readouterr().err, code, time.perf_counter() - start)


OTHER_COMMANDS = [c for c in COMMANDS if c.name != "krmfn"]
SMALL_CASES = [p for p in CASE_FILES if "generate" not in load_case(p)]


@pytest.mark.parametrize("command", OTHER_COMMANDS, ids=[c.name for c in OTHER_COMMANDS])
@pytest.mark.parametrize("path", SMALL_CASES, ids=[p.stem for p in SMALL_CASES])
def test_every_command_keeps_the_contract(
    path: Path, command: Command, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    spec = load_case(path)
    override = (spec.get("commands") or {}).get(command.name)
    if override == "skip":
        pytest.skip(f"{path.stem} says why {command.name} is not run on it")
    out = run_command(command, spec, capsys, tmp_path)
    if command.output == "ignores-input":
        assert (out.exit, out.stderr) == (0, "")
        assert '"properties"' in out.stdout
        return
    if command.output == "report":
        check_lines(out)
        errors = _stderr_errors(out.stderr)
        if out.exit == 1 and not (command.name == "check" and all("out of step" in e for e in errors)):
            assert out.stdout == "", "fail closed: no report after an error"
    else:
        errors = [res["message"] for res in check_always(out) if res["severity"] == "error"]
    expect = dict(spec["expect"])
    if (command.config_file and ("functionConfig" not in spec or "input" in spec)) or not command.expects_case:
        expect = {"exit": out.exit}  # another input than the case's, or another question: only the contract holds
    for key in ("passthrough", "prefix", "output_regex"):
        if command.output != "answer" or command.config_file:
            expect.pop(key, None)
    if isinstance(override, dict):
        expect.update(override)
    if "forbidden_regex" in spec["expect"]:
        expect["forbidden_regex"] = spec["expect"]["forbidden_regex"]
    check_expected(spec, expect, out, errors, command.name)
