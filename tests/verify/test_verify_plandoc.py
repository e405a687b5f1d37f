"""Reading the plan document: the fixtures follow the contract, and a broken plan is named."""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import jsonschema
import pytest
from verifyplans import VARIABLES, two_domains

from krmfn.errors import InputError
from krmfn.verify import plandoc
from krmfn.verify.variables import substitute_document

ROOT = Path(__file__).resolve().parents[2]
PLAN_SCHEMA = json.loads((ROOT / "schema" / "plan.schema.json").read_text())


def test_the_fixture_plan_follows_the_plan_schema() -> None:
    jsonschema.Draft202012Validator(PLAN_SCHEMA).validate(two_domains())


def test_read_keeps_the_planned_spelling_and_substitutes_the_rest() -> None:
    document = two_domains()
    plan = plandoc.read(substitute_document(document, VARIABLES), document, "test")
    assert plan.multi_domain == "edge"
    assert plan.expiry_warning_days == 21
    one, two = plan.domains
    assert (one.name, one.planned, one.primary) == ("example.com", "${SECRET_DOMAIN}", True)
    assert (two.name, two.primary) == ("example.org", False)
    wildcard = one.hosts[1]
    assert (wildcard.name, wildcard.planned, wildcard.is_wildcard) == ("*.example.com", "*.${SECRET_DOMAIN}", True)
    assert wildcard.queried == "krmfn-verify-sample.example.com"
    app = two.hosts[2]
    assert app.record == plandoc.Record("CNAME", ("external.example.org",), False)
    assert app.target_name == "external.example.org"
    assert app.target_record == plandoc.Record("CNAME", ("tunnel-1.example.net",), True)
    assert app.certificate == "network/secret-domain-two-production"
    assert app.tunnel_rule == "*.example.org"
    assert app.queried == "app.example.org"
    assert one.hosts[5].certificate is None
    assert len(plan.hosts()) == 12


def _broken(change: Any) -> dict[str, Any]:
    doc = copy.deepcopy(two_domains())
    change(doc)
    return doc


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (lambda d: d.update(kind="ResourceList"), r"must be a `krmfn plan --json` document"),
        (lambda d: d.update(domains={}), r"`domains` must be a list"),
        (lambda d: d["domains"].__setitem__(0, "x"), r"`domains\[0\]` must be an object"),
        (lambda d: d["domains"][0].pop("name"), r"`domains\[0\]\.name` must be a non-empty string"),
        (lambda d: d["domains"][0].pop("hostnames"), r"`domains\[0\]\.hostnames` must be a list"),
        (
            lambda d: d["domains"][1]["hostnames"][2]["record"].update(type="TXT"),
            r"`domains\[1\]\.hostnames\[2\]\.record\.type` must be one of A, AAAA, CNAME; got 'TXT'",
        ),
        (
            lambda d: d["domains"][1]["hostnames"][2]["record"].update(targets=[]),
            r"`domains\[1\]\.hostnames\[2\]\.record\.targets` must be a non-empty list",
        ),
        (
            lambda d: d["domains"][1]["hostnames"][2]["target"].pop("name"),
            r"`domains\[1\]\.hostnames\[2\]\.target\.name` must be a non-empty string",
        ),
        (
            lambda d: d["domains"][1]["hostnames"][2].update(certificate=[]),
            r"`domains\[1\]\.hostnames\[2\]\.certificate` must be an object",
        ),
        (
            lambda d: d["domains"][1]["hostnames"][2].update(tunnelRule="x"),
            r"`domains\[1\]\.hostnames\[2\]\.tunnelRule` must be an object",
        ),
        (lambda d: d.update(expiryWarningDays=True), r"`expiryWarningDays` must be a number or null"),
    ],
)
def test_a_broken_plan_names_the_field(change: Any, message: str) -> None:
    doc = _broken(change)
    with pytest.raises(InputError, match=message):
        plandoc.read(doc, doc, "--plan plan.json")


def test_a_plan_that_is_not_an_object() -> None:
    with pytest.raises(InputError, match=r"^--plan p.json: `\.` must be an object"):
        plandoc.read([], [], "--plan p.json")
