"""Writing a surveyed config as the file a user commits: YAML with a comment on every field.

The file starts with the schema line (editors validate against it), then a head saying
where the values came from and what a first render with them changes. Each field that was
read from the repository ends with ``# from <where>``; a question (``# ? …``) stands on the
line above the field it is about. Small mappings whose parts share one source are written
in flow style on one line, as the examples write ``issuerRef`` and ``dns``.
"""

from __future__ import annotations

import textwrap
from typing import Any

from krmfn import __version__
from krmfn.adopt.survey import Survey
from krmfn.krm.yamltext import dump_flow, scalar

SCHEMA_URL = f"https://raw.githubusercontent.com/krmfn/krmfn/v{__version__}/schema/multidomain.schema.json"
WIDTH = 100


def emit(found: Survey, schema: str = SCHEMA_URL) -> str:
    lines = [f"# yaml-language-server: $schema={schema}"]
    lines += _comment_block(
        "",
        "Written by `krmfn init` from what the repository already has. Each field says where it was "
        "found; `# ?` marks what it could not decide: check those before the first render.",
    )
    fails = any(note.startswith("! ") for note in found.render_warnings)
    if found.render_changes:
        lines.append("# A render with this config changes:")
        for note in found.render_changes:
            lines += _comment_block("", note, bullet="  - ")
    elif not fails:
        lines.append("# A render with this config changes nothing.")
    if found.render_warnings:
        lines.append("# A render with this config fails (`!`) and warns:" if fails else "# and warns:")
        for note in found.render_warnings:
            lines += _comment_block("", note, bullet="  - ")
    if found.notes:
        lines.append("# Also seen in the repository:")
        for note in found.notes:
            lines += _comment_block("", note, bullet="  - ")
    _mapping(found, found.config, "", 0, lines)
    return "\n".join(lines) + "\n"


def _comment_block(pad: str, text: str, bullet: str = "") -> list[str]:
    rest = " " * len(bullet)
    wrapped = textwrap.wrap(text, WIDTH - len(pad) - 2 - len(bullet), break_on_hyphens=False) or [""]
    return [f"{pad}# {bullet if i == 0 else rest}{line}" for i, line in enumerate(wrapped)]


def _has_sources(found: Survey, path: str) -> bool:
    prefixes = (f"{path}.", f"{path}[")
    return any(k.startswith(prefixes) for k in [*found.sources, *found.questions])


def _mapping(found: Survey, value: dict[str, Any], path: str, indent: int, lines: list[str]) -> None:
    pad = " " * indent
    for key, child in value.items():
        here = f"{path}.{key}" if path else key
        for question in found.questions.get(here, []):
            lines += _comment_block(pad, f"? {question}")
        source = found.sources.get(here)
        comment = f"  # from {source}" if source else ""
        if isinstance(child, dict) and child and _has_sources(found, here):
            lines.append(f"{pad}{scalar(key)}:{comment}")
            _mapping(found, child, here, indent + 2, lines)
        elif isinstance(child, list) and any(isinstance(c, dict) for c in child):
            lines.append(f"{pad}{scalar(key)}:{comment}")
            for i, entry in enumerate(child):
                _entry(found, entry, f"{here}[{i}]", indent, lines)
        else:
            lines.append(f"{pad}{scalar(key)}: {dump_flow(child)}{comment}")


def _entry(found: Survey, entry: dict[str, Any], path: str, indent: int, lines: list[str]) -> None:
    """One list entry: its first field on the ``- `` line, the others under it."""
    body: list[str] = []
    _mapping(found, entry, path, indent + 4, body)
    first = next(i for i, line in enumerate(body) if not line.lstrip().startswith("#"))
    body[first] = " " * (indent + 2) + "- " + body[first][indent + 4 :]
    lines += body
