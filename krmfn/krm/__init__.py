"""The KRM edge: reading and writing ResourceLists, plain streams and JSON byte for byte.

Holds the resource (:mod:`~krmfn.krm.item`), the reader and writer
(:mod:`~krmfn.krm.resourcelist`), YAML parsing with positions and limits
(:mod:`~krmfn.krm.yamltext`), minimal text edits (:mod:`~krmfn.krm.yamledit`) and the
function results (:mod:`~krmfn.krm.results`). It knows nothing of domains.

May import: :mod:`krmfn.errors` and its own modules; never :mod:`krmfn.api`,
:mod:`krmfn.concerns` or the top-level expansion modules (``tests/test_layers.py``).
"""
