"""The ``krmfn.dev/v1alpha1`` MultiDomain resource: models, validation, derived names, schema.

:mod:`~krmfn.api.config` (the models and their defaults), :mod:`~krmfn.api.names` (domain
names, base names, Flux variables), :mod:`~krmfn.api.tunnelservice` (what cloudflared
accepts as a service, used to validate the config), :mod:`~krmfn.api.catalog` (the
published JSON Schema and ``functions.yaml``).

May import: :mod:`krmfn.errors`, :mod:`krmfn.krm` and its own modules; never
:mod:`krmfn.concerns` or the top-level expansion modules (``tests/test_layers.py``).
"""
