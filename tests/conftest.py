"""Shared helpers: run the pure expansion on YAML text, and run the real CLI."""

from __future__ import annotations

import io
import os
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from krmfn.api.config import load_config
from krmfn.cli import run
from krmfn.expand import Expansion, expand
from krmfn.krm import resourcelist
from krmfn.krm.item import Item
from krmfn.krm.yamltext import load

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(Path(__file__).resolve().parent))


FLUX_VARIABLES = {
    "SECRET_DOMAIN": "example.com",
    "SECRET_DOMAIN_TWO": "example.org",
    "SECRET_DOMAIN_THREE": "example.net",
}


def flux_substitute(text: str, variables: dict[str, str] | None = None) -> str:
    """The two forms krmfn writes, substituted as fluxcd/pkg/envsubst does (literal replace)."""
    import re

    values = variables or FLUX_VARIABLES
    text = re.sub(r"\$\{(\w+)//\./-\}", lambda m: values[m.group(1)].replace(".", "-"), text)
    text = re.sub(r"\$\{(\w+)/\./-\}", lambda m: values[m.group(1)].replace(".", "-", 1), text)
    return re.sub(r"\$\{(\w+)\}", lambda m: values.get(m.group(1), m.group(0)), text)


def items_of(stream: str) -> list[Item]:
    """Items of a plain YAML stream, as the edge would read them."""
    return resourcelist.read(stream).items if stream.strip() else []


def expand_yaml(config: str, stream: str = "", *, config_path: str | None = "multidomain.yaml") -> Expansion:
    """The pure expansion of *config* over the resources in *stream*."""
    return expand(load_config(load(config)), items_of(stream), config_path=config_path)


def by_kind(expansion: Expansion, kind: str) -> list[dict[str, Any]]:
    return [i.data for i in expansion.items if i.header.kind == kind]


def messages(expansion: Expansion, severity: str | None = None) -> list[str]:
    return [res.message for res in expansion.results if severity is None or res.severity == severity]


def resource_list(config: str, stream: str) -> str:
    """A ResourceList holding *stream*'s resources with *config* as functionConfig."""
    body = "".join(
        "- " + "\n  ".join(doc.strip("\n").split("\n")) + "\n" for doc in stream.split("---\n") if doc.strip()
    )
    cfg = "\n".join("  " + line if line else line for line in config.strip("\n").split("\n"))
    return (
        "apiVersion: config.kubernetes.io/v1\nkind: ResourceList\n"
        + ("items:\n" + body if body else "items: []\n")
        + "functionConfig:\n"
        + cfg
        + "\n"
    )


def run_text(text: str, config_file: str | None = None) -> tuple[str, int]:
    """The whole function on text, in-process."""
    return run(text.encode(), config_file)


def run_cli(args: list[str], stdin: bytes, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[bytes]:
    """The installed console script, as runners call it."""
    exe = shutil.which("krmfn")
    cmd = [exe, *args] if exe else [sys.executable, "-m", "krmfn", *args]
    return subprocess.run(cmd, input=stdin, capture_output=True, env={**os.environ, **(env or {})}, check=False)


@pytest.fixture
def stdout() -> io.StringIO:
    return io.StringIO()
