"""Measure krmfn at scale, as ratios taken in one run on this machine (issues 2 and 7).

    python3 bench/run.py [--reps 5] [--sizes 1000,10000] [--skip-kustomize]

For each size (items, 1% managed; see ``bench/inputs.py``) the input is the steady state a
re-render sees: the function's own output after one run. Measured, as medians of --reps runs:

- wall time of the whole ``krmfn`` process on the ResourceList, and of PyYAML with libyaml
  (``CSafeLoader`` load + ``CSafeDumper`` dump) of the same text, in the same interpreter;
- the peak resident memory of the krmfn process (``wait4`` rusage);
- growth: time at the largest size ÷ time at the smallest;
- cold start: ``krmfn`` on a 30-item list ÷ ``python -c pass``;
- ``kubectl kustomize --enable-alpha-plugins`` over 1,000 resources with the function (a
  container function, run through the docker shim in tests/e2e/bin) ÷ without it.

Prints a markdown table. Targets: ratio to PyYAML ≤ 1.0 (stretch ≤ 0.3), peak memory at
10,000 items ≤ 300 MB, growth ≤ 12, cold start ≤ 15, kustomize ≤ 1.2.
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import yaml

sys.path.insert(0, str(Path(__file__).resolve().parent))
import inputs  # bench/inputs.py

ROOT = Path(__file__).resolve().parent.parent
SHIM = ROOT / "tests" / "e2e" / "bin"


def krmfn_command() -> list[str]:
    exe = shutil.which("krmfn")
    return [exe] if exe else [sys.executable, "-m", "krmfn"]


def timed_process(
    cmd: list[str], stdin: Path | None, env: dict[str, str] | None = None, cwd: Path | None = None
) -> tuple[float, float, int]:
    """(wall seconds, peak RSS MiB, exit code) of one child process, output discarded."""
    with stdin.open("rb") if stdin else open(os.devnull, "rb") as sin, open(os.devnull, "wb") as null:
        start = time.perf_counter()
        proc = subprocess.Popen(cmd, stdin=sin, stdout=null, stderr=null, env=env, cwd=cwd)
        _, status, rusage = os.wait4(proc.pid, 0)
        seconds = time.perf_counter() - start
    proc.returncode = os.waitstatus_to_exitcode(status)
    return seconds, rusage.ru_maxrss / 1024, proc.returncode


def median(reps: int, measure: Callable[[], float]) -> float:
    return statistics.median(measure() for _ in range(reps))


def pyyaml_round_trip(text: str) -> float:
    start = time.perf_counter()
    data = yaml.load(text, Loader=yaml.CSafeLoader)
    yaml.dump(data, Dumper=yaml.CSafeDumper)
    return time.perf_counter() - start


def steady_input(items: int, workdir: Path) -> Path:
    """The function's output on a fresh input: what a re-render reads."""
    path = workdir / f"input-{items}.yaml"
    done = subprocess.run(krmfn_command(), input=inputs.resource_list(items).encode(), capture_output=True, check=False)
    if done.returncode != 0:
        raise SystemExit(f"krmfn failed on the {items}-item input:\n{done.stderr.decode()}")
    path.write_bytes(done.stdout)
    return path


def measure_size(items: int, reps: int, workdir: Path) -> dict[str, float]:
    path = steady_input(items, workdir)
    text = path.read_text(encoding="utf-8")
    runs = [timed_process(krmfn_command(), path) for _ in range(reps)]
    assert all(code == 0 for _, _, code in runs)
    krmfn_s = statistics.median(s for s, _, _ in runs)
    rss = max(m for _, m, _ in runs)
    pyyaml_s = median(reps, lambda: pyyaml_round_trip(text))
    return {"items": items, "mb": len(text.encode()) / 1e6, "krmfn": krmfn_s, "pyyaml": pyyaml_s, "rss": rss}


def measure_cold_start(reps: int, workdir: Path) -> tuple[float, float]:
    path = workdir / "input-30.yaml"
    path.write_text(inputs.resource_list(30))
    krmfn_s = median(reps, lambda: timed_process(krmfn_command(), path)[0])
    python = [sys.executable, "-c", "pass"]
    pass_s = median(reps, lambda: timed_process(python, None)[0])
    return krmfn_s, pass_s


def kustomization(root: Path, items: int, with_function: bool) -> Path:
    cfg, stream = inputs.stream(items)
    pkg = root / ("with" if with_function else "without")
    pkg.mkdir()
    (pkg / "resources.yaml").write_text(stream)
    body = "apiVersion: kustomize.config.k8s.io/v1beta1\nkind: Kustomization\nresources:\n  - resources.yaml\n"
    if with_function:
        annotated = cfg.replace(
            '    config.kubernetes.io/local-config: "true"\n',
            '    config.kubernetes.io/local-config: "true"\n'
            "    config.kubernetes.io/function: |\n      container:\n        image: localhost/krmfn:bench\n",
        )
        (pkg / "multidomain.yaml").write_text(annotated)
        body += "transformers:\n  - multidomain.yaml\n"
    (pkg / "kustomization.yaml").write_text(body)
    return pkg


def measure_kustomize(items: int, reps: int, workdir: Path) -> tuple[float, float] | None:
    if shutil.which("kubectl") is None:
        return None
    root = workdir / "kustomize"
    root.mkdir()
    env = {**os.environ, "PATH": f"{SHIM}{os.pathsep}{os.environ['PATH']}"}
    times = {}
    for with_function in (False, True):
        pkg = kustomization(root, items, with_function)
        cmd = ["kubectl", "kustomize", "--enable-alpha-plugins", str(pkg)]
        first = subprocess.run(cmd, env=env, capture_output=True, check=False)
        if first.returncode != 0:
            raise SystemExit(f"kubectl kustomize failed:\n{first.stderr.decode()[-2000:]}")
        times[with_function] = median(reps, lambda cmd=cmd: timed_process(cmd, None, env=env)[0])  # type: ignore[misc]
    return times[True], times[False]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--reps", type=int, default=5)
    parser.add_argument("--sizes", default="1000,10000")
    parser.add_argument("--kustomize-items", type=int, default=1000)
    parser.add_argument("--skip-kustomize", action="store_true")
    args = parser.parse_args(argv)
    sizes = [int(s) for s in args.sizes.split(",")]
    with tempfile.TemporaryDirectory() as tmp:
        workdir = Path(tmp)
        rows = [measure_size(n, args.reps, workdir) for n in sizes]
        cold, python = measure_cold_start(args.reps, workdir)
        kustomize = None if args.skip_kustomize else measure_kustomize(args.kustomize_items, args.reps, workdir)
    print(f"Medians of {args.reps} runs; Python {sys.version.split()[0]}, {os.cpu_count()} CPUs.\n")
    print("| measure | value | target |")
    print("|---|---|---|")
    for row in rows:
        n = f"{int(row['items']):,} items ({row['mb']:.1f} MB)"
        print(f"| {n}: krmfn process | {row['krmfn']:.2f} s | |")
        print(f"| {n}: PyYAML C load+dump | {row['pyyaml']:.2f} s | |")
        print(f"| {n}: krmfn ÷ PyYAML | **{row['krmfn'] / row['pyyaml']:.2f}** | ≤ 1.0 (stretch ≤ 0.3) |")
        print(f"| {n}: peak memory | {row['rss']:.0f} MiB | ≤ 300 MB at 10,000 |")
    if len(rows) > 1:
        growth = rows[-1]["krmfn"] / rows[0]["krmfn"]
        print(f"| growth {int(rows[-1]['items']):,} ÷ {int(rows[0]['items']):,} items | **{growth:.1f}** | ≤ 12 |")
    ratio = f"**{cold / python:.1f}** ({cold * 1000:.0f} ms ÷ {python * 1000:.0f} ms)"
    print(f"| cold start, 30 items: krmfn ÷ `python -c pass` | {ratio} | ≤ 15 |")
    if kustomize is not None:
        with_fn, without = kustomize
        print(
            f"| `kubectl kustomize`, {args.kustomize_items:,} resources: with ÷ without the function | "
            f"**{with_fn / without:.2f}** ({with_fn:.2f} s ÷ {without:.2f} s) | ≤ 1.2 |"
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
