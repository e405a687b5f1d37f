"""Reading a directory as ``kpt fn source`` reads a package, for ``krmfn init DIR`` and ``check DIR``.

Every ``*.yaml``/``*.yml`` file and the ``Kptfile`` below the directory, in path order,
each document an item that knows its file (:attr:`~krmfn.krm.item.Item.file`, relative to
the directory, as kpt's ``config.kubernetes.io/path`` would say). Unlike kpt, the documents
are not re-serialised and no annotation is written into them: they are read, never written
back, and a diff of them shows the file's own lines.

As kpt does, ``.krmignore`` at the top names what to skip, in ``.gitignore`` syntax
(the subset kpt's users write: ``#`` comments, ``name``, ``dir/``, ``/anchored/path``, ``*``
globs; ``!`` negation is refused rather than misread). ``.git`` is always skipped. The
function config is what the ``Kptfile`` pipeline gives krmfn (``configPath`` of a mutator
whose ``exec`` or ``image`` names krmfn), as ``kpt fn render`` would.
"""

from __future__ import annotations

import fnmatch
import posixpath
from pathlib import Path

from krmfn.errors import InputError
from krmfn.krm import resourcelist
from krmfn.krm.item import Item
from krmfn.krm.resourcelist import Input

SUFFIXES = (".yaml", ".yml")
IGNORE_FILE = ".krmignore"


def read(directory: str) -> Input:
    """The package at *directory* as one input, in the ResourceList form kpt would send."""
    root = Path(directory)
    if not root.is_dir():
        raise InputError(f"{directory} must be a directory (a package or repository checkout)")
    ignored = _ignore_rules(root)
    items: list[Item] = []
    for path in sorted(_files(root, ignored), key=lambda p: p.relative_to(root).as_posix()):
        rel = path.relative_to(root).as_posix()
        try:
            text = resourcelist.decode(path.read_bytes())
            found = resourcelist.read(text)
        except InputError as exc:
            raise InputError(f"{rel}: {exc}") from None
        except OSError as exc:
            raise InputError(f"{rel} must be readable: {exc.strerror}") from None
        if found.form != "stream" or found.function_config is not None:
            raise InputError(f"{rel} must hold resources, not a {found.wrapper_kind} (it is not a package file)")
        for item in found.items:
            item.file = rel
            item.package = str(root.resolve())
            item.where = f"{rel} ({item.where})"
            items.append(item)
    return Input(form="resourcelist", items=items, function_config=_function_config(items))


def _files(root: Path, ignored: list[str]) -> list[Path]:
    out = []
    for path in root.rglob("*"):
        rel = path.relative_to(root).as_posix()
        if ".git" in rel.split("/") or _is_ignored(rel, path.is_dir(), ignored):
            continue
        if path.is_file() and (path.name == "Kptfile" or path.name.endswith(SUFFIXES)):
            if any(_is_ignored(parent, True, ignored) for parent in _parents(rel)):
                continue
            out.append(path)
    return out


def _parents(rel: str) -> list[str]:
    parts = rel.split("/")[:-1]
    return ["/".join(parts[: i + 1]) for i in range(len(parts))]


def _ignore_rules(root: Path) -> list[str]:
    file = root / IGNORE_FILE
    if not file.is_file():
        return []
    rules = []
    for number, raw in enumerate(file.read_text(encoding="utf-8").splitlines(), 1):
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        if line.startswith("!"):
            raise InputError(f"{IGNORE_FILE} line {number}: negated patterns ({line!r}) are not supported here")
        rules.append(line)
    return rules


def _is_ignored(rel: str, is_dir: bool, rules: list[str]) -> bool:
    for rule in rules:
        pattern = rule.rstrip("/")
        if rule.endswith("/") and not is_dir:
            continue
        if "/" in pattern:
            if fnmatch.fnmatchcase(rel, pattern.lstrip("/")):
                return True
        elif fnmatch.fnmatchcase(posixpath.basename(rel), pattern):
            return True
    return False


def _function_config(items: list[Item]) -> Item | None:
    """The MultiDomain the Kptfile's pipeline gives krmfn, if it names one."""
    for item in items:
        if item.file != "Kptfile":
            continue
        pipeline = item.data.get("pipeline")
        mutators = pipeline.get("mutators") if isinstance(pipeline, dict) else None
        for step in mutators if isinstance(mutators, list) else []:
            if not isinstance(step, dict) or "krmfn" not in str(step.get("exec") or step.get("image") or ""):
                continue
            config_path = step.get("configPath")
            if not isinstance(config_path, str):
                continue
            wanted = posixpath.normpath(config_path)
            found = [i for i in items if i.file == wanted]
            if len(found) > 1:
                raise InputError(
                    f"Kptfile `pipeline.mutators` names configPath {config_path!r} for krmfn; "
                    f"it must hold one resource, and it holds {len(found)}"
                )
            return found[0] if found else None  # not written yet: `krmfn init` is about to
    return None
