"""`krmfn verify`: compare the live zone and gateways (or zone files) with a plan document.

The input is the `krmfn plan --json` document (``schema/plan.schema.json``), a plain dict:
verify never sees the MultiDomain or the manifests, so it can run on a saved plan. The
steps: substitute Flux variables (:mod:`~krmfn.verify.variables`), read the plan
(:mod:`~krmfn.verify.plandoc`), resolve every hostname through a nameserver
(:mod:`~krmfn.verify.resolver`) or zone files (:mod:`~krmfn.verify.zonefile`) into
:mod:`~krmfn.verify.answers`, compare (:mod:`~krmfn.verify.compare`), fetch and judge the
served certificate (:mod:`~krmfn.verify.tls`) and, on request, one HTTPS answer per apex
and wildcard (:mod:`~krmfn.verify.https`); :mod:`~krmfn.verify.run` ties them together and
:mod:`~krmfn.verify.report` prints the table or the JSON (``schema/verify.schema.json``).

The judging is pure (plan and answers in, checks out); only ``resolver``, ``tls.fetch``
and ``https.request`` touch the network. dnspython is imported by ``resolver`` and
``zonefile`` only, and this package only when the command runs, so the KRM function's
cold start never pays for it.

May import: :mod:`krmfn.errors`, :mod:`krmfn.krm` and its own modules; never
:mod:`krmfn.api`, :mod:`krmfn.concerns` or the expansion (``tests/test_layers.py``).
"""
