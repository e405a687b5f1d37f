"""Which files of a package kpt skips: its ``.krmignore``, read as gitignore patterns (the subset the
fixtures use). A pattern without a slash matches a name at any depth (``Chart.yaml``,
``values*.yaml``); one with a slash is anchored at the package root; a trailing slash matches a
directory and everything below it; ``*`` never crosses a slash."""

from __future__ import annotations

import fnmatch
from pathlib import Path


def patterns(pkg: Path) -> list[str]:
    path = pkg / ".krmignore"
    lines = path.read_text().splitlines() if path.is_file() else []
    return [line.strip() for line in lines if line.strip() and not line.startswith("#")]


def ignored(rel: str, found: list[str]) -> bool:
    """Whether *rel* (a path relative to the package root) is ignored by any of *found*."""
    parts = rel.split("/")
    for pattern in found:
        directory = pattern.endswith("/")
        segments = pattern.strip("/").split("/")
        anchored = "/" in pattern.rstrip("/")
        for end in range(1, len(parts) + 1):
            if directory and end == len(parts):
                break  # a directory pattern never matches the file itself
            start = 0 if anchored else end - len(segments)
            if start < 0 or (anchored and end != len(segments)):
                continue
            if all(fnmatch.fnmatchcase(p, s) for p, s in zip(parts[start:end], segments, strict=True)):
                return True
    return False
