"""The tests' YAML reader reads re-defined anchors as YAML 1.2 and Go's yaml.v3 do."""

from __future__ import annotations

import yaml
from yamlread import load_all


def test_an_anchor_defined_again_names_the_newest() -> None:
    text = "a: &x 1\nb: *x\nc: &x 2\nd: *x\n"
    assert list(load_all(text)) == [{"a": 1, "b": 1, "c": 2, "d": 2}]
    try:
        list(yaml.safe_load_all(text))
    except yaml.composer.ComposerError:
        pass  # what plain PyYAML does, and why this module exists
    else:
        raise AssertionError("PyYAML now accepts re-defined anchors; use yaml.safe_load_all again")
