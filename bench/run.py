"""Measure krmfn as users run it: whole processes, ratios taken in one interleaved run (issue 14).

    python3 bench/run.py [--reps 5] [--quick] [--no-kpt] [--image localhost/krmfn:dev] [--krmfn CMD]

What runs is krmfn from a wheel installed in a fresh plain virtual environment, as the image
has it (``pip wheel`` of this checkout, ``python -m venv``, ``pip install`` of the wheel; the
dependencies come from the package index), unless ``--krmfn`` names a command to time instead.

Inputs, each in the steady state a re-render sees (the function's own output after one run):

- synthetic: 1,000 and 10,000 items, 1% managed (``bench/inputs.py``), and 30 for the cold start;
- home-ops: the onedr0p-home-ops fixture grown to about 300 files, and to 1,200 files, whose
  stream is as large as the real repository's (0.9 MB: the fixture's files are smaller), as
  Flux would apply it (every Kustomization built and substituted, ``tests/fluxtree.py``): the
  stream a CI pre-render pipes in, with the MultiDomain given by ``--config``;
- routes: cluster-template with 10 domains plus 1,000 or 10,000 HTTPRoutes (``bench/layouts.py``),
  as ``kpt fn source`` sends it.

Every figure is a median of --reps, and every command of a repetition runs before the next
repetition starts, so a load that comes and goes touches them all alike. Beside krmfn, on the
same input: PyYAML with libyaml as a whole process (``load_all`` with the C loader, ``dump_all``
with the C dumper), ``cat``, and ``python -c pass`` of the same interpreter. ``kpt fn render`` of
the home-ops tree runs with ``exec: krmfn`` and with ``exec: cat``. With ``--image``, the cold
start is measured again inside the container image (both commands timed in one container).

Prints a markdown table and the load average before and after. No test times anything: CI
counts calls instead (tests/test_linearity.py, tests/krm/test_scale_proxy.py).
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import inputs  # bench/inputs.py
import layouts  # bench/layouts.py

ROOT = Path(__file__).resolve().parent.parent
#: PyYAML with libyaml, load and dump, as one process: the floor for "reads and writes YAML".
PYYAML = (
    "import sys, yaml\n"
    "docs = list(yaml.load_all(sys.stdin.buffer, Loader=yaml.CSafeLoader))\n"
    "yaml.dump_all(docs, sys.stdout, Dumper=yaml.CSafeDumper)\n"
)


@dataclass
class Job:
    """One command, run once per repetition."""

    label: str
    argv: list[str]
    stdin: Path | None = None
    env: dict[str, str] | None = None
    seconds: list[float] = field(default_factory=list)

    def run(self) -> None:
        with self.stdin.open("rb") if self.stdin else open(os.devnull, "rb") as sin, open(os.devnull, "wb") as null:
            start = time.perf_counter()
            code = subprocess.run(self.argv, stdin=sin, stdout=null, stderr=null, env=self.env, check=False).returncode
            self.seconds.append(time.perf_counter() - start)
        if code != 0:
            raise SystemExit(f"{self.label}: {' '.join(self.argv)} exited {code}")

    def peak_rss_mib(self) -> float:
        """Peak resident memory of one more run, from GNU time: the rusage of a child forked from
        this (large) process would count the pages it shared with this one before exec."""
        with self.stdin.open("rb") if self.stdin else open(os.devnull, "rb") as sin:
            done = subprocess.run(
                ["/usr/bin/time", "-f", "%M", *self.argv],
                stdin=sin,
                stdout=subprocess.DEVNULL,
                stderr=subprocess.PIPE,
                env=self.env,
                check=True,
            )
        return int(done.stderr.decode().strip().splitlines()[-1]) / 1024

    @property
    def median(self) -> float:
        return statistics.median(self.seconds)


def wheel_venv(workdir: Path) -> Path:
    """A plain venv with this checkout's wheel installed: the layout the image and `pip install krmfn` give."""
    wheels, venv = workdir / "wheels", workdir / "venv"
    subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "-q", "--no-deps", "-w", str(wheels), str(ROOT)],
        check=True,
        capture_output=True,
    )
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
    wheel = next(wheels.glob("krmfn-*.whl"))
    subprocess.run([str(venv / "bin" / "pip"), "install", "-q", str(wheel)], check=True, capture_output=True)
    return venv


def steady(krmfn: list[str], data: bytes, path: Path) -> Path:
    """The function's answer to *data*, written at *path*: what a re-render reads."""
    done = subprocess.run(krmfn, input=data, capture_output=True, check=False)
    if done.returncode != 0:
        raise SystemExit(f"krmfn failed making {path.name}:\n{done.stderr.decode()[-3000:]}")
    path.write_bytes(done.stdout)
    return path


def count_docs(path: Path) -> int:
    """Items of a ResourceList krmfn wrote (entries at column 0, results aside), or documents of a stream."""
    text = path.read_bytes()
    if b"\nkind: ResourceList\n" in text[:200]:
        return text.count(b"\n- ") - text.count(b"\n- message:")
    return text.count(b"\n---\n") + 1


def in_container(image: str, data: bytes, reps: int) -> dict[str, float]:
    """krmfn on *data* and `python -c pass`, timed inside one container of *image* (medians, seconds)."""
    script = f"""
import json, statistics, subprocess, sys, time
data = sys.stdin.buffer.read()
times = {{"krmfn": [], "pass": []}}
for _ in range({reps}):
    for name, cmd in (("krmfn", ["/opt/krmfn/bin/krmfn"]), ("pass", ["/opt/krmfn/bin/python", "-c", "pass"])):
        start = time.perf_counter()
        subprocess.run(cmd, input=data, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=True)
        times[name].append(time.perf_counter() - start)
print(json.dumps({{k: statistics.median(v) for k, v in times.items()}}))
"""
    argv = ["podman", "run", "--rm", "-i", "--network", "none", "--entrypoint", "/opt/krmfn/bin/python"]
    done = subprocess.run([*argv, image, "-c", script], input=data, capture_output=True, check=True)
    return json.loads(done.stdout)  # type: ignore[no-any-return]


def kpt_packages(tree: Path, krmfn_bin: Path, workdir: Path) -> tuple[Job, Job]:
    """`kpt fn render` of *tree* (already rendered once) with exec: krmfn, and of a copy with exec: cat."""
    env = {**os.environ, "PATH": f"{krmfn_bin}{os.pathsep}{os.environ['PATH']}"}
    render = ["kpt", "fn", "render", "--allow-exec"]
    first = subprocess.run([*render, str(tree)], env=env, capture_output=True, check=False)
    if first.returncode != 0:
        raise SystemExit(f"kpt fn render {tree} failed:\n{first.stderr.decode()[-3000:]}")
    cat = workdir / f"{tree.name}-cat"
    shutil.copytree(tree, cat)
    kptfile = cat / "Kptfile"
    kptfile.write_text(kptfile.read_text().replace("exec: krmfn", "exec: cat"))
    files = sum(1 for p in tree.rglob("*") if p.is_file())
    return (
        Job(f"kpt fn render, {files} files: exec krmfn", [*render, str(tree)], env=env),
        Job(f"kpt fn render, {files} files: exec cat", [*render, str(cat)], env=env),
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--reps", type=int, default=5)
    parser.add_argument("--quick", action="store_true", help="skip the 10,000-item and 10,000-route inputs")
    parser.add_argument("--no-kpt", action="store_true", help="skip the kpt fn render figures")
    parser.add_argument("--image", help="also measure the cold start inside this container image (podman)")
    parser.add_argument(
        "--krmfn", help="time this command instead of a fresh wheel install (its venv's python, if any, for pass)"
    )
    parser.add_argument("--home-ops-files", default="300,1200", help="tree sizes for the home-ops streams")
    args = parser.parse_args(argv)
    load_before = os.getloadavg()
    with tempfile.TemporaryDirectory(prefix="krmfn-bench-") as tmp:
        work = Path(tmp)
        if args.krmfn:
            krmfn = args.krmfn.split()
            krmfn_bin = Path(shutil.which(krmfn[0]) or krmfn[0]).parent
            python = str(krmfn_bin / "python") if (krmfn_bin / "python").exists() else sys.executable
        else:
            venv = wheel_venv(work)
            krmfn_bin = venv / "bin"
            krmfn, python = [str(krmfn_bin / "krmfn")], str(krmfn_bin / "python")
        big = () if args.quick else (10_000,)
        inp: dict[str, Path] = {}
        for n in (30, 1000, *big):
            inp[f"{n:,} items"] = steady(krmfn, inputs.resource_list(n).encode(), work / f"items-{n}.yaml")
        with_config: dict[str, list[str]] = {}
        trees = {}
        for files in (int(n) for n in args.home_ops_files.split(",")):
            name = f"home-ops stream, {files:,} files"
            trees[files] = tree = layouts.home_ops_tree(work / f"home-ops-{files}", files)
            with_config[name] = ["--config", str(tree / layouts.HOME_OPS_CONFIG)]
            built = layouts.flux_build(tree, layouts.HOME_OPS_VARIABLES)
            inp[name] = steady([*krmfn, *with_config[name]], built, work / f"home-ops-{files}.yaml")
        home = trees[min(trees)]
        for n in (1000, *big):
            tree = layouts.routes_tree(work / f"routes-{n}", n)
            data = layouts.source(tree, layouts.CLUSTER_TEMPLATE_CONFIG)
            inp[f"{n:,} routes"] = steady(krmfn, data, work / f"routes-{n}.yaml")
        jobs: dict[str, Job] = {"python -c pass": Job("python -c pass", [python, "-c", "pass"])}
        for name, path in inp.items():
            jobs[f"krmfn {name}"] = Job(f"krmfn {name}", [*krmfn, *with_config.get(name, [])], path)
            if name != "30 items":
                jobs[f"pyyaml {name}"] = Job(f"PyYAML-C {name}", [python, "-c", PYYAML], path)
                jobs[f"cat {name}"] = Job(f"cat {name}", ["cat"], path)
        if not args.no_kpt:
            jobs["kpt krmfn"], jobs["kpt cat"] = kpt_packages(home, krmfn_bin, work)
        for _ in range(args.reps):
            for job in jobs.values():
                job.run()
        peaks = {name: jobs[f"krmfn {name}"].peak_rss_mib() for name in inp if name != "1,000 routes"}
        peaks["python -c pass"] = jobs["python -c pass"].peak_rss_mib()
        container = in_container(args.image, inp["30 items"].read_bytes(), args.reps) if args.image else None
        sizes = {name: (path.stat().st_size, count_docs(path)) for name, path in inp.items()}
    load_after = os.getloadavg()
    print(report(jobs, sizes, peaks, container=container, args=args, load_before=load_before, load_after=load_after))
    return 0


def report(
    jobs: dict[str, Job],
    sizes: dict[str, tuple[int, int]],
    peaks: dict[str, float],
    *,
    container: dict[str, float] | None,
    args: argparse.Namespace,
    load_before: tuple[float, float, float],
    load_after: tuple[float, float, float],
) -> str:
    def ms(job: str) -> str:
        return f"{jobs[job].median * 1000:,.0f} ms"

    def ratio(a: str, b: str) -> float:
        return jobs[a].median / jobs[b].median

    lines = [
        f"Medians of {args.reps} interleaved runs; Python {sys.version.split()[0]}, {os.cpu_count()} CPUs; "
        f"load average {load_before[0]:.2f} before, {load_after[0]:.2f} after.",
        "",
        "| figure | value | target |",
        "|---|---|---|",
    ]
    for name, (size, docs) in sizes.items():
        if name == "30 items":
            continue
        what = f"{name} ({size / 1e6:.1f} MB, {docs:,} documents)"
        lines.append(
            f"| {what}: krmfn ÷ PyYAML-C | **{ratio(f'krmfn {name}', f'pyyaml {name}'):.2f}** "
            f"({ms(f'krmfn {name}')} ÷ {ms(f'pyyaml {name}')}; cat {ms(f'cat {name}')}) | "
            + ("≤ 1.0 (stretch 0.5) |" if name.startswith("home-ops") else "≤ 1.0 (stretch 0.3) |")
        )
    if "krmfn 10,000 routes" in jobs:
        growth = ratio("krmfn 10,000 routes", "krmfn 1,000 routes")
        lines.append(
            f"| 1,000 → 10,000 routes on 10 domains: time growth | **{growth:.1f}×** "
            f"({ms('krmfn 1,000 routes')} → {ms('krmfn 10,000 routes')}) | ≤ 11× |"
        )
    cold = ratio("krmfn 30 items", "python -c pass")
    lines.append(
        f"| cold start, 30 items ÷ `python -c pass`, wheel in a plain venv | **{cold:.1f}×** "
        f"({ms('krmfn 30 items')} ÷ {ms('python -c pass')}) | ≤ 10× (stretch 6×) |"
    )
    if container is not None:
        lines.append(
            f"| cold start in the image ({args.image}), 30 items ÷ `python -c pass` | "
            f"**{container['krmfn'] / container['pass']:.1f}×** ({container['krmfn'] * 1000:.0f} ms ÷ "
            f"{container['pass'] * 1000:.0f} ms) | ≤ 10× |"
        )
    if "kpt krmfn" in jobs:
        lines.append(
            f"| {jobs['kpt krmfn'].label.removesuffix(': exec krmfn')}: exec krmfn ÷ exec cat | "
            f"**{ratio('kpt krmfn', 'kpt cat'):.2f}** ({ms('kpt krmfn')} ÷ {ms('kpt cat')}) | ≤ 1.25 (stretch 1.1) |"
        )
    for name, rss in peaks.items():
        target = "≤ 100 MB" if name == "10,000 items" else ""
        lines.append(f"| {name}: peak RSS | **{rss:.0f} MiB** | {target} |")
    return "\n".join(lines)


if __name__ == "__main__":
    raise SystemExit(main())
