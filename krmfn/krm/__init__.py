"""The KRM edge: reading and writing ResourceLists, plain streams and JSON byte for byte.

Holds the item (:mod:`~krmfn.krm.item`, its header scan :mod:`~krmfn.krm.header`), the
reader and writer (:mod:`~krmfn.krm.resourcelist`, cutting any YAML into items exactly
:mod:`~krmfn.krm.cut`, splicing the answer into the input :mod:`~krmfn.krm.layout`, line
endings :mod:`~krmfn.krm.lines`), YAML parsing with positions and limits
(:mod:`~krmfn.krm.yamltext`, :mod:`~krmfn.krm.composer`), minimal text edits
(:mod:`~krmfn.krm.yamledit`), reading a directory as kpt does (:mod:`~krmfn.krm.package`)
and the function results (:mod:`~krmfn.krm.results`). It knows nothing of domains.

May import: :mod:`krmfn.errors` and its own modules; never :mod:`krmfn.api`,
:mod:`krmfn.concerns` or the top-level expansion modules (``tests/test_layers.py``).
"""
