"""The layers stay layers: every ``krmfn`` import is checked against the package docstrings.

``krmfn/krm`` (the KRM edge) knows nothing of domains, ``krmfn/api`` (the MultiDomain
resource) nothing of the concerns, a concern imports another concern only through the
shared modules :mod:`krmfn.concerns` names, and ``krmfn/verify`` works on the plan document
alone (never the MultiDomain models, the concerns or the expansion). Imports inside
functions count too.
"""

from __future__ import annotations

import ast
import shutil
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[1] / "krmfn"

#: What each layer may import, besides itself.
ALLOWED = {
    "krm": {"krmfn.errors"},
    "api": {"krmfn", "krmfn.errors", "krmfn.krm"},
    "concerns": {"krmfn.errors", "krmfn.krm", "krmfn.api", "krmfn.context"},
    "verify": {"krmfn.errors", "krmfn.krm"},
    # `krmfn init` reads manifests with the concerns' readers and dry-runs the expansion:
    # above the concerns like plan.py, but a package, so that reading and writing stay apart
    "adopt": {"krmfn", "krmfn.errors", "krmfn.krm", "krmfn.api", "krmfn.concerns", "krmfn.expand", "krmfn.ownership"},
}
#: Concerns other concerns may import, and who may (None: every concern).
SHARED_CONCERNS: dict[str, set[str] | None] = {
    "krmfn.concerns.certificates": None,
    "krmfn.concerns.routes": None,
    "krmfn.concerns.tunnelrules": {"krmfn.concerns.tunnel"},
    # routes from chart values join the route model for everyone who reads routes
    "krmfn.concerns.valueroutes": None,
    # which installation publishes which record: what the records and their targets are checked against
    "krmfn.concerns.publication": {"krmfn.concerns.dnsrecords", "krmfn.concerns.targets"},
    # the tunnel's gateway names the tunnel's target records
    "krmfn.concerns.tunnel": {"krmfn.concerns.targets"},
    # where an installation and its chart values are, for every kind (a values file included):
    # for the concerns that edit them, those that read them (publication) and the routes in them
    "krmfn.concerns.chartvalues": {
        "krmfn.concerns.externaldns",
        "krmfn.concerns.tunnel",
        "krmfn.concerns.splithorizon",
        "krmfn.concerns.publication",
        "krmfn.concerns.valueroutes",
    },
    "krmfn.concerns.serving": None,
    "krmfn.concerns.removedzones": None,
    "krmfn.concerns.perdomain": {"krmfn.concerns.gateways"},
}


def module_name(path: Path, package: Path) -> str:
    parts = path.relative_to(package.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def krmfn_imports(path: Path, package: Path) -> set[str]:
    """Every krmfn module *path* imports, at any depth; ``from krmfn.x import y`` names ``krmfn.x.y``
    when that is a module, else ``krmfn.x``."""
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            found.update(a.name for a in node.names if a.name.split(".")[0] == "krmfn")
        elif isinstance(node, ast.ImportFrom) and node.module and node.module.split(".")[0] == "krmfn":
            for alias in node.names:
                sub = f"{node.module}.{alias.name}"
                at = package.parent / sub.replace(".", "/")
                is_module = at.with_suffix(".py").exists() or (at / "__init__.py").exists()
                found.add(sub if is_module else node.module)
    return found


def violations(layer: str, package: Path = PACKAGE) -> list[str]:
    out = []
    for path in sorted((package / layer).rglob("*.py")):
        me = module_name(path, package)
        for imported in sorted(krmfn_imports(path, package)):
            if imported == f"krmfn.{layer}" or imported.startswith(f"krmfn.{layer}."):
                if layer == "concerns" and imported not in (me, "krmfn.concerns"):
                    allowed_for = SHARED_CONCERNS.get(imported, set())
                    if allowed_for is not None and me not in allowed_for:
                        out.append(f"{me} imports {imported}, a concern it must not reach into")
                continue
            # `krmfn` itself (for __version__) is allowed only as itself, never as a prefix
            if any(imported == a or (a != "krmfn" and imported.startswith(a + ".")) for a in ALLOWED[layer]):
                continue
            out.append(f"{me} imports {imported}")
    return out


@pytest.mark.parametrize("layer", sorted(ALLOWED))
def test_layer_imports_only_what_its_docstring_allows(layer: str) -> None:
    assert violations(layer) == []


def test_every_module_is_in_a_layer_or_at_the_top() -> None:
    top = {p.stem for p in PACKAGE.glob("*.py")}
    # layout and placement are top level: they read kustomize and Flux objects (not the KRM
    # edge's business, which knows no kinds) for the context and the expansion (not a concern's).
    assert top == {
        "__init__",
        "__main__",
        "cli",
        "plan",
        "expand",
        "context",
        "ownership",
        "errors",
        "layout",
        "placement",
    }, "a new module belongs in krmfn/krm, krmfn/api, krmfn/concerns or krmfn/verify"


def test_the_checker_sees_a_violation(tmp_path: Path) -> None:
    """The rule can fail: an api module importing a concern inside a function, a concern
    reaching into another, a concern importing the expansion."""
    package = tmp_path / "krmfn"
    shutil.copytree(PACKAGE, package, ignore=shutil.ignore_patterns("__pycache__"))
    assert violations("api", package) == []
    (package / "api" / "probe.py").write_text("def f() -> None:\n    from krmfn.concerns.tunnel import reconcile\n")
    (package / "concerns" / "probe.py").write_text("from krmfn.concerns import tunnelrules\nfrom krmfn import expand\n")
    (package / "verify" / "probe.py").write_text("def f() -> None:\n    from krmfn.api.config import Config\n")
    assert violations("api", package) == ["krmfn.api.probe imports krmfn.concerns.tunnel"]
    assert violations("verify", package) == ["krmfn.verify.probe imports krmfn.api.config"]
    assert violations("concerns", package) == [
        "krmfn.concerns.probe imports krmfn.concerns.tunnelrules, a concern it must not reach into",
        "krmfn.concerns.probe imports krmfn.expand",
    ]
