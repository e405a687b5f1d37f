"""The fidelity oracle (issue 13): over real repository layouts, every byte krmfn does not change
comes back, every change reads back as intended, and a second run changes nothing.

The layouts are every ``examples/*/pkg`` tree (new ones are picked up as they land), presented
as ``kpt fn source`` presents them (run for real) and as a plain stream (the files concatenated,
as ``cat`` would), mixed by hypothesis with documents of every odd shape a repository holds:
kustomize Kustomizations and Components, lists, scalars, re-defined anchors, merge keys, quoted
and unusual keys, flow style, directives, content on the ``---`` line, CRLF line endings.

For each input the function runs in-process exactly as the console script does, and:

- with exit 0, the answer holds the expansion's items in order: an item the expansion left
  alone has the input's characters, and its separator before it too; a changed or generated
  one reads back as the data the expansion meant;
- with exit 1, a ResourceList holds the input's items as they came, a stream is empty;
- running on the answer gives the same answer (results aside, which count what was done).
"""

from __future__ import annotations

import functools
import os
import random
import re
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from krmfn import cli
from krmfn.krm.layout import ListLayout, StreamLayout
from krmfn.krm.resourcelist import read

ROOT = Path(__file__).resolve().parents[2]
PACKAGES = sorted(ROOT.glob("examples/*/pkg"))
SCALE = float(os.environ.get("KRMFN_PROPERTY_SCALE", "1"))
SETTINGS: dict[str, Any] = {
    "deadline": None,
    "derandomize": True,
    "database": None,
    "suppress_health_check": [HealthCheck.too_slow, HealthCheck.data_too_large],
}


@functools.cache
def kpt_source(pkg: Path) -> str:
    """The package as `kpt fn source` hands it to a function."""
    if shutil.which("kpt") is None:  # pragma: no cover - kpt is installed where the tests run
        pytest.skip("kpt is not installed")
    done = subprocess.run(["kpt", "fn", "source", str(pkg)], capture_output=True, text=True, check=True)
    return done.stdout


@functools.cache
def files_of(pkg: Path) -> tuple[str, ...]:
    """The files kpt reads in the package (its path annotations say which), in path order."""
    paths = sorted(set(re.findall(r"(?m)^ +config\.kubernetes\.io/path: '?([^'\n]+)'?$", kpt_source(pkg))))
    return tuple((pkg / path).read_text(encoding="utf-8") for path in paths)


def as_stream(files: list[str]) -> str:
    parts = []
    for text in files:
        body = text if text.endswith("\n") else text + "\n"
        parts.append(body if body.startswith("---") else "---\n" + body)
    return "".join(parts)


# --- documents of every odd shape ----------------------------------------------------------

ODD = [
    "apiVersion: kustomize.config.k8s.io/v1beta1\nkind: Kustomization\nresources:\n  - ./app\n",
    "apiVersion: kustomize.config.k8s.io/v1alpha1\nkind: Component\nresources:\n- ./secret.sops.yaml\n",
    "endpoints:\n  - name: status\n    url: https://status.example.net\n",
    "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: &app anchors\ndata:\n  a: &k one\n  b: *k\n  c: &k two\n  d: *k\n  e: *app\n",
    "apiVersion: helm.toolkit.fluxcd.io/v2\nkind: HelmRelease\nmetadata:\n  name: edge-exporter  # mentions edge\n"
    "spec:\n  values:\n    defaults: &d {interval: 30s}\n    endpoints:\n      - <<: *d\n        port: metrics\n",
    '"apiVersion": v1\nkind: ConfigMap\nmetadata:\n  name: quoted-key\ndata:\n  k: v\n',
    "x-note: an odd key\napiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: odd-key\n",
    "{apiVersion: v1, kind: ConfigMap, metadata: {name: flow}, data: {k: v}}\n",
    'apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: multi-line\ndata:\n  text: "starts here\n  kind: Secret and goes on"\n',
    "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: script\ndata:\n  run.sh: |\n    echo '---'\n    - not a list\n",
    "- a\n- b\n",
    "just a scalar\n",
    "apiVersion: v1\nkind: Secret\nmetadata:\n  name: tagged\nstringData:\n  n: !!int '7'\n  s: !custom text\n",
]
# Only a stream can hold these: a document's own `---` line, directives, nothing at all.
STREAM_ONLY = [
    "--- !!map\napiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: tagged-document\n",
    "--- {apiVersion: v1, kind: ConfigMap, metadata: {name: on-the-marker}}\n",
    "...\n%YAML 1.1\n---\napiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: versioned\n",
    "---\n",
    "# only a comment\n",
]
SEPARATORS = ["---\n", "--- # next\n", "\n---\n"]


def entry(doc: str, indent: str = "") -> str:
    """*doc* as an entry of a block `items` sequence."""
    lines = doc.rstrip("\n").split("\n")
    return "".join(f"{indent}{'- ' if i == 0 else '  '}{line}\n" if line else "\n" for i, line in enumerate(lines))


def mixed(pkg: Path, form: str, odd: list[str], seed: int, crlf: bool) -> str:
    """*pkg* as *form*, with the *odd* documents placed at random (by *seed*)."""
    rnd = random.Random(seed)
    if form == "resourcelist":
        text = kpt_source(pkg)
        head, _, rest = text.partition("\nitems:\n")
        entries = re.split(r"(?m)^(?=- )", rest)
        body, tail = entries[:-1], entries[-1]
        last = re.split(r"(?m)^(?=[A-Za-z])", tail, maxsplit=1)
        body.append(last[0])
        tail = last[1] if len(last) > 1 else ""
        for doc in odd:
            body.insert(rnd.randint(1, len(body)), entry(doc))
        text = head + "\nitems:\n" + "".join(body) + tail
    else:
        docs = list(files_of(pkg))
        for doc in odd:
            docs.insert(rnd.randint(0, len(docs)), doc)
        text = ""
        for raw in docs:
            doc = raw if raw.endswith("\n") else raw + "\n"
            if not text:
                doc = doc.removeprefix("...\n")  # an end marker before any document is not YAML
            text += doc if doc.startswith(("---", "...", "%")) or not text else rnd.choice(SEPARATORS) + doc
    return text.replace("\n", "\r\n") if crlf else text


@st.composite
def shapes(draw: st.DrawFn) -> tuple[str, str, list[int], int, bool]:
    """Which package, in which form, with which odd documents (indices, kept small in reports)."""
    form = draw(st.sampled_from(["resourcelist", "stream"]))
    pool = len(ODD) + (len(STREAM_ONLY) if form == "stream" else 0)
    odd = draw(st.lists(st.integers(0, pool - 1), max_size=5))
    return (
        draw(st.sampled_from([p.parent.name for p in PACKAGES])),
        form,
        odd,
        draw(st.integers(0, 2**16)),
        draw(st.booleans()),
    )


# --- the oracle ----------------------------------------------------------------------------


def check_fidelity(text: str) -> None:
    out, code = cli.run(text.encode())
    inp = read(text)
    if code == 1:
        if inp.form == "stream":
            assert out == "", "fail closed: nothing on stdout after an error"
        else:
            assert [i.raw for i in read(out).items] == [i.raw for i in inp.items]
        return
    inp = read(text)
    items, _ = cli._expand(inp, None)  # the expansion the answer was written from
    answer = read(out)
    assert len(answer.items) == len(items)
    layout = inp.layout
    assert isinstance(layout, StreamLayout | ListLayout)
    kept = {id(item): k for k, item in enumerate(inp.items)}
    for meant, got in zip(items, answer.items, strict=True):
        if meant.raw is not None:
            assert got.raw == meant.raw, "an unchanged item changed"
            span = layout.spans[kept[id(meant)]]
            assert layout.text[span.gap : span.end] in out, "an unchanged item lost what stood before it"
        else:
            assert got.value == meant.value, f"a changed item does not read back as meant:\n{got.source}"
    again, code = cli.run(out.encode())
    assert code == 0
    assert _without_results(again) == _without_results(out), "a second run changed something"


def _without_results(text: str) -> str:
    return re.split(r"(?m)^results:\r?$", text, maxsplit=1)[0]


#: Layouts and forms the oracle finds wrong today, and why (strict: a fix must remove its entry).
KNOWN: dict[tuple[str, str], str] = {}
CASES = [
    pytest.param(
        pkg,
        form,
        id=f"{pkg.parent.name}-{form}",
        marks=[pytest.mark.xfail(strict=True, reason=KNOWN[(pkg.parent.name, form)])]
        if (pkg.parent.name, form) in KNOWN
        else [],
    )
    for pkg in PACKAGES
    for form in ("resourcelist", "stream")
]


@pytest.mark.parametrize(("pkg", "form"), CASES)
def test_every_layout_as_it_comes(pkg: Path, form: str) -> None:
    text = kpt_source(pkg) if form == "resourcelist" else as_stream(list(files_of(pkg)))
    check_fidelity(text)


@settings(max_examples=max(1, int(40 * SCALE)), **SETTINGS)
@given(shapes())
def test_every_layout_mixed_with_every_odd_shape(shape: tuple[str, str, list[int], int, bool]) -> None:
    name, form, odd, seed, crlf = shape
    docs = [(ODD + STREAM_ONLY)[i] for i in odd]
    check_fidelity(mixed(ROOT / "examples" / name / "pkg", form, docs, seed, crlf))
