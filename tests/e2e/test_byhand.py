"""The three hand-made "add a domain" changes of issue 18, checked as fixtures.

Each ``examples/byhand-*`` holds the tree before a person's change (``pkg/``), what the person
did as facts (``person.yaml``) and their result in the fixture's terms (``person.patch``).
Before krmfn can render these trees, this proves the fixtures themselves: the tree is what
Flux would apply, kpt reads it, every fact of the change is false before and true on the
person's result, what must be kept is true on both, what the person missed is false on both,
and the invariants find the person's own double records. Once krmfn handles the layout, the
same facts are checked on its render (``test_krmfn_render_does_what_the_person_did``).
"""

from __future__ import annotations

import re
import shutil
import subprocess
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import pytest
from byhand import Doc, VocabularyError, admits, check_entry, check_invariants, load_person
from fluxtree import applied, read_vars

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"
CASES = sorted(p.name for p in EXAMPLES.glob("byhand-*") if (p / "person.yaml").is_file())

#: Names the person's own result publishes twice with different targets (a hand-written
#: DNSEndpoint beside the route the Gateway source still publishes).
PERSONS_DOUBLE_RECORDS = {
    "byhand-phycoforce-secondary": set(),
    "byhand-anton-second-domain": {"echo-two.example.org"},
    "byhand-anton-third-domain": {"echo.example.net", "example.org", "www.example.org"},
}


def render(example: Path, root: Path) -> list[Doc]:
    return applied(root, read_vars(example / "flux-vars.env")).all_docs


@pytest.fixture(scope="module", params=CASES)
def case(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    example = EXAMPLES / request.param
    result = tmp_path_factory.mktemp(request.param) / "pkg"
    shutil.copytree(example / "pkg", result)
    subprocess.run(["patch", "-p1", "-s", "-d", str(result), "-i", str(example / "person.patch")], check=True)
    return {
        "name": request.param,
        "example": example,
        "person": load_person(example / "person.yaml"),
        "before": render(example, example / "pkg"),
        "result": render(example, result),
    }


def entries(case: dict[str, Any], **flags: bool) -> list[dict[str, Any]]:
    chosen = [e for e in case["person"]["changes"] if e.get("inScope")]
    return [e for e in chosen if all(bool(e.get(k)) == v for k, v in flags.items())]


def test_there_are_three_cases() -> None:
    assert CASES == ["byhand-anton-second-domain", "byhand-anton-third-domain", "byhand-phycoforce-secondary"]


def test_every_entry_names_its_commit_file_and_resource(case: dict[str, Any]) -> None:
    ids = [e["id"] for e in case["person"]["changes"]]
    assert len(ids) == len(set(ids))
    for e in case["person"]["changes"]:
        assert all(e.get(k) for k in ("file", "kind", "name", "what")), e["id"]
        assert e.get("commit") or e.get("keep") or e.get("missed"), f"{e['id']}: which commit?"


def test_the_change_is_not_there_before(case: dict[str, Any]) -> None:
    for e in entries(case, keep=False):
        assert check_entry(e, case["before"]), f"{case['name']}: {e['id']} already holds before the change"


def test_the_persons_result_has_every_change_but_what_they_missed(case: dict[str, Any]) -> None:
    for e in entries(case, keep=False, missed=False):
        assert check_entry(e, case["result"], case["before"]) == [], e["id"]
    for e in entries(case, missed=True):
        assert check_entry(e, case["result"], case["before"]), f"{e['id']}: the person did not miss it after all"


def test_what_must_be_kept_holds_before_and_after(case: dict[str, Any]) -> None:
    for e in entries(case, keep=True):
        assert check_entry(e, case["before"], case["before"]) == [], e["id"]
        assert check_entry(e, case["result"], case["before"]) == [], e["id"]


def test_invariants_find_the_persons_double_records(case: dict[str, Any]) -> None:
    others = [i for i in case["person"]["invariants"] if i != "noConflictingRecords"]
    assert check_invariants(others, case["before"]) == []
    assert check_invariants(others, case["result"]) == []
    found = check_invariants(["noConflictingRecords"], case["result"])
    names = {line.split(" ", 1)[0] for line in found}
    assert names == PERSONS_DOUBLE_RECORDS[case["name"]], found


def test_kpt_reads_the_whole_tree(case: dict[str, Any], tmp_path: Path) -> None:
    """An identity render succeeds (kpt refuses non-KRM YAML, hence each fixture's .krmignore)."""
    pkg = tmp_path / "pkg"
    shutil.copytree(case["example"] / "pkg", pkg)
    kptfile = pkg / "Kptfile"
    kptfile.write_text(re.sub(r"exec: krmfn\b", "exec: cat", kptfile.read_text()))
    proc = subprocess.run(
        ["kpt", "fn", "render", "--allow-exec", str(pkg)], capture_output=True, text=True, check=False
    )
    assert proc.returncode == 0, proc.stderr


def kpt_render(example: Path, tmp_path: Path, *, without_added_line: bool = False) -> Path:
    """``pkg/`` rendered by krmfn under kpt (optionally with the added domain line taken out)."""
    pkg = tmp_path / "pkg"
    shutil.copytree(example / "pkg", pkg)
    if without_added_line:
        config = pkg / re.search(r"configPath: (\S+)", (pkg / "Kptfile").read_text()).group(1)  # type: ignore[union-attr]
        config.write_text(drop_domain(config.read_text(), added_domain(example)))
    proc = subprocess.run(
        ["kpt", "fn", "render", "--allow-exec", "--truncate-output=false", str(pkg)],
        capture_output=True,
        text=True,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr
    return pkg


def added_domain(example: Path) -> str:
    """The spelling, in the MultiDomain, of the domain the one added line names (``addedDomain`` substituted)."""
    person = load_person(example / "person.yaml")
    variables = read_vars(example / "flux-vars.env")
    return next(f"${{{k}}}" for k, v in variables.items() if v == person["addedDomain"])


def drop_domain(text: str, name: str) -> str:
    lines = [
        line for line in text.splitlines(keepends=True) if not re.match(r"\s*- .*name: \"?" + re.escape(name), line)
    ]
    assert len(lines) == len(text.splitlines()) - 1, f"one `spec.domains` line names {name}"
    return "".join(lines)


def skip_until_rendered(name: str) -> Path:
    example = EXAMPLES / name
    if not (example / "expected").is_dir():
        pytest.skip(f"examples/{name}: krmfn does not render this layout yet (issues 11, 13, 18)")
    return example


@pytest.mark.parametrize("name", CASES)
def test_krmfn_render_does_what_the_person_did(name: str, tmp_path: Path) -> None:
    """The acceptance of issue 18: from the one added line, every fact in scope holds (each later
    fix from the start, what must stay untouched), and no name has two records, no Certificate is
    duplicated, no listener lists a Secret twice, every parent ref resolves."""
    example = skip_until_rendered(name)
    person = load_person(example / "person.yaml")
    before = render(example, example / "pkg")
    after = render(example, kpt_render(example, tmp_path))
    failing = {e["id"]: check_entry(e, after, before) for e in person["changes"] if e.get("inScope")}
    assert {k: v for k, v in failing.items() if v} == {}
    assert check_invariants(person["invariants"], after) == []


@pytest.mark.parametrize("name", CASES)
def test_it_is_the_added_line_that_does_it(name: str, tmp_path: Path) -> None:
    """Without the one added line, no change of the person's is there, and what must stay stays."""
    example = skip_until_rendered(name)
    person = load_person(example / "person.yaml")
    before = render(example, example / "pkg")
    after = render(example, kpt_render(example, tmp_path, without_added_line=True))
    for e in entries({"person": person}, keep=False):
        assert check_entry(e, after, before), f"{e['id']} holds without the added line"
    for e in entries({"person": person}, keep=True):
        assert check_entry(e, after, before) == [], e["id"]


# --- the checker itself --------------------------------------------------------------------


@pytest.mark.parametrize(
    ("listener", "host", "expected"),
    [
        (None, "example.org", True),
        ("*.example.org", "app.example.org", True),
        ("*.example.org", "a.b.example.org", True),
        ("*.example.org", "example.org", False),
        ("*.example.org", "app.example.com", False),
        ("example.org", "example.org", True),
        ("example.org", "www.example.org", False),
    ],
)
def test_listener_hostname_matching(listener: str | None, host: str, expected: bool) -> None:
    assert admits(listener, host) is expected


def _tunnel(rules: Sequence[dict[str, Any]]) -> list[Doc]:
    import yaml

    text = yaml.safe_dump({"originRequest": {"originServerName": "external.example.com"}, "ingress": list(rules)})
    return [{"kind": "ConfigMap", "metadata": {"name": "t"}, "data": {"config.yaml": text}}]


def test_tunnel_rules_are_checked_for_order_sni_and_catch_all() -> None:
    apex, wild, last = {"hostname": "example.com", "service": "s"}, {"hostname": "*.example.com"}, {"service": "x"}
    fact = {
        "kind": "ConfigMap",
        "tunnelRulesInOrder": [{"hostname": "example.com", "originServerName": "external.example.com"}, wild],
        "catchAllLast": "x",
    }
    assert check_entry({"expect": fact}, _tunnel([apex, wild, last])) == []
    assert "out of order" in check_entry({"expect": fact}, _tunnel([wild, apex, last]))[0]
    assert "catch-all" in check_entry({"expect": fact}, _tunnel([apex, last, wild]))[0]
    exact = {"kind": "ConfigMap", "tunnelRulesInOrder": [{**apex, "exact": True}]}
    assert check_entry({"expect": exact}, _tunnel([{**apex, "originRequest": {"a": 1}}, last]))


def test_an_unknown_key_is_refused(tmp_path: Path) -> None:
    person = tmp_path / "person.yaml"
    person.write_text("changes:\n  - {id: x, inScope: true, expect: {kind: Gateway, listenr: https}}\n")
    with pytest.raises(VocabularyError, match="listenr"):
        load_person(person)
