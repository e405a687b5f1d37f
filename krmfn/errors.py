"""The one exception hierarchy of krmfn, and who raises what.

- :class:`InputError` — the bytes on stdin (or a ``--config`` file) cannot be read as the
  input they must be: not UTF-8, not YAML, not a mapping, a ResourceList of the wrong
  apiVersion. Raised by :mod:`krmfn.krm.resourcelist` and :mod:`krmfn.krm.yamltext`.
- :class:`ConfigError` — the ``MultiDomain`` config is invalid. Carries every problem at
  once, each with its field path. Raised by :mod:`krmfn.api.config`.
- :class:`EditError` — a textual edit did not read back as the data it was meant to write;
  a bug in :mod:`krmfn.krm.yamledit`, reported rather than written out.

At the edge (:mod:`krmfn.cli`) each becomes one or more ``severity: error`` results; any
other exception is a bug and becomes a single error result that says so.
"""

from __future__ import annotations

from dataclasses import dataclass


class KrmfnError(Exception):
    """Base class of every error krmfn raises on purpose."""


class InputError(KrmfnError):
    """The input cannot be read."""


@dataclass(frozen=True)
class Problem:
    """One thing wrong with the config: where (``spec.domains[1].name``) and what."""

    path: str
    message: str


class ConfigError(KrmfnError):
    """The MultiDomain config is invalid; :attr:`problems` lists every problem found."""

    def __init__(self, problems: list[Problem]) -> None:
        super().__init__("; ".join(f"{p.path}: {p.message}" for p in problems))
        self.problems = problems


class EditError(KrmfnError):
    """An edit of YAML text did not produce the intended data."""
