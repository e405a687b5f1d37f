"""Results a person can read: many infos of one kind become one line with a count (issue 14)."""

from __future__ import annotations

from krmfn.krm import results as r
from krmfn.krm.results import ResourceRef, Result, plural, summarise

CONFIG = ResourceRef("krmfn.dev/v1alpha1", "MultiDomain", "edge")


def _route(name: str, namespace: str | None = None) -> ResourceRef:
    return ResourceRef("gateway.networking.k8s.io/v1", "HTTPRoute", name, namespace)


def _patched(name: str, source: str = "dnsrecords") -> Result:
    return r.info(f"patched HTTPRoute {name}: external-dns must not publish it", resource=_route(name), source=source)


def test_one_of_a_kind_keeps_its_own_words() -> None:
    alone = [_patched("web-0"), r.info("generated Certificate network/a", source="ownership")]
    assert summarise(alone, CONFIG) == alone


def test_a_few_of_a_kind_keep_their_own_words() -> None:
    few = [_patched(f"web-{i}") for i in range(3)]
    assert summarise(few, CONFIG) == few
    assert len(summarise([*few, _patched("web-3")], CONFIG)) == 1


def test_several_become_one_line_with_the_count_and_the_first_names_in_place_of_the_first() -> None:
    before = r.info("ClusterIssuer le serves solver [0]", source="issuers")
    routes = [_patched(f"web-{i}") for i in range(5)]
    after = r.info("MultiDomain edge: 1 domain(s)")
    out = summarise([before, *routes[:2], after, *routes[2:]], CONFIG)
    assert out[0] == before
    assert out[2] == after
    assert len(out) == 3
    assert out[1].message == (
        "dnsrecords: patched 5 HTTPRoutes (web-0, web-1, web-2 and 2 more); `krmfn diff` shows each change"
    )
    assert out[1].resource == CONFIG
    assert out[1].severity == "info"


def test_groups_are_per_source_verb_and_kind() -> None:
    names = "abcd"
    results = [
        *(_patched(n) for n in names),
        _patched("e", source="routes"),
        *(
            r.info(
                f"generated DNSEndpoint {n}-httproute",
                resource=ResourceRef("v1", "DNSEndpoint", f"{n}-httproute"),
                source="ownership",
            )
            for n in names
        ),
    ]
    messages = [res.message for res in summarise(results, CONFIG)]
    assert messages == [
        "dnsrecords: patched 4 HTTPRoutes (a, b, c and 1 more); `krmfn diff` shows each change",
        results[4].message,
        "ownership: generated 4 DNSEndpoints (a-httproute, b-httproute, c-httproute and 1 more);"
        " `krmfn diff` shows each change",
    ]


def test_notes_keep_the_first_one_as_an_example() -> None:
    notes = [
        r.info(
            f"DNSEndpoint web-{i}-httproute publishes the hostnames of HTTPRoute web-{i}",
            resource=_route(f"web-{i}", "apps"),
            source="dnsrecords",
        )
        for i in range(4)
    ]
    (only,) = summarise(notes, CONFIG)
    assert only.message == (
        "dnsrecords: 4 notes on HTTPRoutes (apps/web-0, apps/web-1, apps/web-2 and 1 more), the first: "
        "DNSEndpoint web-0-httproute publishes the hostnames of HTTPRoute web-0; `krmfn plan` shows all"
    )


def test_file_results_are_named_by_their_file() -> None:
    files = [
        r.info(f"patched {f}: `resources` lists the generated ./edge/certificates.yaml", file=f, source="placement")
        for f in ("a/kustomization.yaml", "b/kustomization.yaml", "c/kustomization.yaml", "d/kustomization.yaml")
    ]
    (only,) = summarise(files, CONFIG)
    assert only.message.startswith("placement: patched 4 files (a/kustomization.yaml, b/kustomization.yaml,")


def test_warnings_errors_and_unsourced_infos_stay_one_per_problem() -> None:
    kept = [
        r.warning("token too narrow", resource=_route("a"), source="dnsrecords"),
        r.warning("token too narrow", resource=_route("b"), source="dnsrecords"),
        r.error("must be in the input", resource=_route("c"), source="dnsrecords"),
        r.error("must be in the input", resource=_route("d"), source="dnsrecords"),
        r.info("patched HTTPRoute e: x", resource=_route("e")),
        r.info("patched HTTPRoute f: x", resource=_route("f")),
    ]
    assert summarise(kept, CONFIG) == kept


def test_the_source_is_never_written_out_nor_compared() -> None:
    assert set(_patched("a").to_data()) == {"message", "severity", "resourceRef"}
    assert _patched("a") == _patched("a", source="elsewhere")


def test_plurals() -> None:
    assert [plural(k) for k in ("Gateway", "Ingress", "NetworkPolicy", "Gateway", "Key")] == [
        "Gateways",
        "Ingresses",
        "NetworkPolicies",
        "Gateways",
        "Keys",
    ]


def test_notes_fold_only_with_notes_that_say_the_same() -> None:
    ingress = ResourceRef("networking.k8s.io/v1", "Ingress", "nas", "storage")
    publishes = [
        r.info(
            f"DNSEndpoint {n}-ingress publishes the hostnames of Ingress web/{n}: {n}.example.com → external.example.com",
            resource=ingress,
            source="dnsrecords",
        )
        for n in "abcd"
    ]
    wildcard = r.info(
        "Ingress storage/nas: wildcard host '*.nas.example.org' gets no DNS record",
        resource=ingress,
        source="dnsrecords",
    )
    out = summarise([publishes[0], wildcard, *publishes[1:]], CONFIG)
    assert [res.message.split(",")[0] for res in out] == [
        "dnsrecords: 4 notes on Ingresses (storage/nas",
        wildcard.message,
    ]
