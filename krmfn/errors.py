"""The one exception hierarchy of krmfn, and who raises what.

- :class:`InputError` — the bytes on stdin (or a ``--config`` file) cannot be read as the
  input they must be: not UTF-8, not YAML, a ResourceList of the wrong apiVersion.
  Raised by :mod:`krmfn.krm.resourcelist` and :mod:`krmfn.krm.yamltext`, before anything
  is written.
- :class:`ItemError` — one input item's content cannot be read or changed as krmfn must
  (a value that does not fit its tag, a repeated key, an alias bomb, nesting too deep, an
  edit an anchor makes inexact). Raised only when something reads or changes that item's
  data, never for an item krmfn merely passes through; carries the item's file and line.
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


class ItemError(InputError):
    """One item's content cannot be read or changed; says which item, where, and why.

    :mod:`krmfn.krm.yamltext` raises it with the *problem* and the *line* within the text it
    parsed; :class:`krmfn.krm.item.Item` adds where that text is (:meth:`located`): the
    item's *subject* (``HelmRelease network/external-dns``, or ``document 4``), its *file*
    (the kpt path annotation) and *index*, and turns the line into one within that file's
    document, or within the input when there is no file. The problem never quotes a value.
    """

    def __init__(
        self,
        problem: str,
        *,
        line: int | None = None,
        subject: str = "",
        file: str | None = None,
        index: int | None = None,
        where: str | None = None,
    ) -> None:
        self.problem = problem
        self.line = line
        self.subject = subject
        self.file = file
        self.index = index
        self.where = where
        super().__init__(self.message)

    @property
    def message(self) -> str:
        """``HelmRelease x must not … (apps/x/helmrelease.yaml, line 12)``."""
        head = f"{self.subject} {self.problem}" if self.subject else self.problem
        place = [self.file or self.where or ""]
        if self.file and self.index:
            place.append(f"document {self.index + 1}")
        if self.line is not None:
            place.append(f"line {self.line}")
        where = ", ".join(p for p in place if p)
        return f"{head} ({where})" if where else head

    def located(self, *, subject: str, file: str | None, index: int | None, where: str, first_line: int) -> ItemError:
        """This error placed in an item: *first_line* is where the parsed text starts."""
        line = None if self.line is None else self.line + (first_line - 1 if file is None else 0)
        return ItemError(self.problem, line=line, subject=subject, file=file, index=index, where=where)


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
