"""The published schema and catalog are what the models say."""

from __future__ import annotations

import json
from pathlib import Path

import yaml

from krmfn.api.catalog import inline_refs, render_catalog, render_schema
from krmfn.api.config import json_schema

ROOT = Path(__file__).resolve().parents[2]


def test_committed_schema_matches_the_models() -> None:
    assert (ROOT / "schema" / "multidomain.schema.json").read_text() == render_schema(), (
        "run `python -m krmfn.api.catalog`"
    )


def test_committed_catalog_matches_the_models() -> None:
    assert (ROOT / "functions.yaml").read_text() == render_catalog(), "run `python -m krmfn.api.catalog`"


def test_catalog_is_a_kep_2906_entry_with_an_inlined_schema() -> None:
    catalog = yaml.safe_load((ROOT / "functions.yaml").read_text())
    assert catalog["kind"] == "Catalog"
    (fn,) = catalog["spec"]["krmFunctions"]
    assert fn["names"]["kind"] == "MultiDomain"
    (version,) = fn["versions"]
    assert version["idempotent"] is True
    schema = version["schema"]["openAPIV3Schema"]
    assert "$ref" not in json.dumps(schema)
    assert schema == inline_refs(json_schema())
    for example in version["examples"]:
        assert (ROOT / example).is_file()


def test_every_example_config_points_editors_at_the_schema() -> None:
    for config in ROOT.glob("examples/**/multidomain.yaml"):
        first = config.read_text().splitlines()[0]
        assert first.startswith("# yaml-language-server: $schema="), config
        target = (config.parent / first.split("=", 1)[1]).resolve()
        assert target == (ROOT / "schema" / "multidomain.schema.json").resolve(), config
