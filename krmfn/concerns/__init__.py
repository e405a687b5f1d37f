"""One module per place a domain must appear: Certificates, issuers, external-dns, gateways,
routes and DNS records, the tunnel, split horizon, and the optional extras (guardrails,
expiry alerts, sync waves, the Flux-variable check).

Each concern is a function of a :class:`krmfn.context.Context`; :mod:`krmfn.expand` runs
them in order.

May import: :mod:`krmfn.context`, :mod:`krmfn.errors`, :mod:`krmfn.api` and
:mod:`krmfn.krm`. Concerns do not import each other, except these shared names
(``tests/test_layers.py`` holds the same list):

- :mod:`~krmfn.concerns.certificates` — a domain's Certificate and Secret names and DNS
  names, which gateways, routes, the tunnel and the plan must agree with;
- :mod:`~krmfn.concerns.routes` — the route and Ingress model, reading route resources and
  their attachment, for the DNS records and gateways;
- :mod:`~krmfn.concerns.valueroutes` — routes and Ingresses a chart renders from its values,
  in the same model, for everyone who reads routes;
- :mod:`~krmfn.concerns.publication` — which external-dns installation publishes which
  record, for :mod:`~krmfn.concerns.dnsrecords` and :mod:`~krmfn.concerns.targets`;
- :mod:`~krmfn.concerns.tunnel` — the tunnel's gateway, for the tunnel's target records in
  :mod:`~krmfn.concerns.targets`;
- :mod:`~krmfn.concerns.tunnelrules` — the rule-list logic, for :mod:`~krmfn.concerns.tunnel`;
- :mod:`~krmfn.concerns.serving` — what serves a hostname with which certificate (listeners,
  Ingresses), for the tunnel's origin server names, the route checks and the plan;
- :mod:`~krmfn.concerns.removedzones` — the one warning for zones the user wrote that a
  concern removes;
- :mod:`~krmfn.concerns.perdomain` — ``mode: perDomain`` listeners and redirect routes, for
  :mod:`~krmfn.concerns.gateways`;
- :mod:`~krmfn.concerns.chartvalues` — where an installation is (a values file of a local chart
  included) and where a chart reads its values in it (wrapper charts), for the concerns that
  edit Helm values, :mod:`~krmfn.concerns.publication` that reads them and
  :mod:`~krmfn.concerns.valueroutes` that reads local charts' dependencies.
"""
