"""Where generated files go, and that something applies them.

Every generated resource is written to ``<MultiDomain's directory>/<MultiDomain name>/<file>``
(``kubernetes/apps/network/envoy-gateway/app/edge/certificates.yaml``), whichever kpt form
sent the input (``render``, ``eval``, ``source | krmfn | sink``): the directory is the one
of the MultiDomain of that name among the items. A plain stream has no files.

A file in a GitOps tree is applied only if a ``kustomization.yaml`` lists it (Flux and
kustomize stop at a directory that has one). So when the MultiDomain's directory has a
kustomization, its ``resources:`` lists every generated file (a minimal text edit that keeps
comments and the entries' ``./`` style), and every kustomization in the input loses the
entries of files this run removed. When nothing in the tree would apply the generated files,
or a Flux ``targetNamespace`` would move a generated Certificate away from the namespace its
Gateways read it from, a warning says so.
"""

from __future__ import annotations

import copy
import posixpath
from collections.abc import Sequence
from typing import Any

from krmfn.krm import results as r
from krmfn.krm.item import Item
from krmfn.krm.results import Result
from krmfn.layout import Kustomization, Layout, resource_header

#: Generated kinds whose namespace decides whether they work (a Certificate's Secret is read by
#: Gateways in one namespace; a ReferenceGrant must live beside the Secrets it grants).
_NAMESPACE_MATTERS = {("cert-manager.io", "Certificate"), ("gateway.networking.k8s.io", "ReferenceGrant")}


def generated_directory(config_name: str, config_path: str | None, items: Sequence[Item]) -> str:
    """``<config dir>/<name>``, the config's directory taken from its twin among *items*, else *config_path*.

    The twin comes first: ``kpt fn source --fn-config DIR/multidomain.yaml`` annotates the
    function config with the bare file name, while the same file among the items carries its
    path in the package. Without either (kustomize sends no paths) the files are ``<name>/<file>``.
    """
    path = _twin_path(config_name, items) or config_path or ""
    return posixpath.join(posixpath.dirname(path), config_name)


def _twin_path(config_name: str, items: Sequence[Item]) -> str | None:
    for item in items:
        header = resource_header(item)
        if header is not None and header.kind == "MultiDomain" and header.name == config_name and item.path:
            return item.path
    return None


def apply(
    layout: Layout, before: Sequence[Item], after: list[Item], directory: str | None
) -> tuple[list[Item], list[Result]]:
    """*after* with kustomizations listing the generated files and dropping removed ones; what was done."""
    if directory is None:
        return after, []
    results: list[Result] = []
    paths = [_normal(i.path) for i in after]  # one look per item: a generated item's path is read from its data
    removed = {_normal(i.path) for i in before if i.path} - set(paths)
    generated = sorted({p for p in paths if p and posixpath.dirname(p) == directory})
    config_directory = posixpath.dirname(directory)
    home = layout.kustomization(config_directory)
    out = list(after)
    for k in layout.kustomizations.values():
        add = generated if k is home else []
        drop = [e for e in k.entries if _target(k, e) in removed]
        if not add and not drop:
            continue
        at = next((n for n, item in enumerate(out) if (item.origin or item) is k.item or item is k.item), None)
        if at is None:
            continue  # the kustomization itself was removed: nothing to keep in step
        edited = _edit(out[at], k, add, drop)
        if edited is not None:
            out[at], added, dropped = edited
            parts = [f"lists the generated {', '.join(added)}"] if added else []
            parts += [f"no longer lists the removed {', '.join(dropped)}"] if dropped else []
            results.append(r.info(f"patched {k.file}: `resources` " + " and ".join(parts), file=k.file))
    if generated and home is None:
        results.extend(_unapplied(layout, directory, generated))
    results.extend(_moved(layout, config_directory, [i for i, p in zip(after, paths, strict=True) if p in generated]))
    return out, results


def _edit(
    item: Item, k: Kustomization, add: Sequence[str], drop: Sequence[str]
) -> tuple[Item, list[str], list[str]] | None:
    """The kustomization with *add* (package paths) listed and *drop* (entries) removed; None if unchanged."""
    data = copy.deepcopy(item.data)
    resources = data.get("resources")
    if resources is not None and not isinstance(resources, list):
        return None  # not a list kustomize could read either; leave it to kustomize to say so
    entries: list[Any] = [e for e in resources or [] if e not in drop]
    dropped = [e for e in resources or [] if e in drop]
    listed = {_target(k, e) for e in entries}
    style = "./" if any(isinstance(e, str) and e.startswith("./") for e in entries) or not entries else ""
    added = [style + posixpath.relpath(p, k.directory or ".") for p in add if p not in listed]
    if not added and not dropped:
        return None
    data["resources"] = entries + added
    return item.with_data(data), added, dropped


def _unapplied(layout: Layout, directory: str, files: Sequence[str]) -> list[Result]:
    """A warning when the tree shows that nothing would apply the generated files."""
    names = ", ".join(files)
    config_directory = posixpath.dirname(directory)
    walked = config_directory
    while True:
        k = layout.kustomization(walked)
        if k is not None:
            entries = "".join(f"\n  - ./{posixpath.relpath(f, walked or '.')}" for f in files)
            return [
                r.warning(
                    f"nothing applies the generated {names}: the nearest kustomization.yaml, {k.file}, does not "
                    "list them, and Flux and kustomize apply only what a kustomization lists; put the MultiDomain "
                    "in a directory whose kustomization.yaml is applied (krmfn then lists its files there), or add "
                    f"to {k.file}'s `resources:`{entries}",
                    file=k.file,
                )
            ]
        if layout.flux_builds(walked) and layout.applied(walked):
            return []  # a Flux path without a kustomization applies every manifest below it
        if not walked:
            break
        walked = posixpath.dirname(walked)
    if not layout.has_builds:
        return _unapplied_by_argo(layout, config_directory, names)
    return [
        r.warning(
            f"nothing applies the generated {names}: no kustomization.yaml in {config_directory or 'the package root'} "
            "or above it, and no Flux Kustomization's path, reaches them; put the MultiDomain in a directory whose "
            f"kustomization.yaml is applied (krmfn then lists its files there), or create {config_directory}/"
            "kustomization.yaml",
        )
    ]


def _unapplied_by_argo(layout: Layout, config_directory: str, names: str) -> list[Result]:
    """Argo CD applies what an Application's `path` names: none reaching the directory means nothing does.

    Without Applications in the input this is a plain package, which whatever applies it applies whole.
    """
    if not layout.argo_paths:
        return []
    reaching = [p for p in layout.argo_paths if not p or config_directory == p or config_directory.startswith(p + "/")]
    if reaching:
        return []
    paths = ", ".join(sorted(set(layout.argo_paths)))
    return [
        r.warning(
            f"nothing applies the generated {names}: no Argo CD Application in the input has a source `path` that "
            f"reaches {config_directory or 'the package root'} (theirs: {paths}; Applications that Helm templates "
            "render are not seen); add an Application for that directory, or copy the resources where a chart that "
            "is applied renders them",
        )
    ]


def _moved(layout: Layout, config_directory: str, generated: Sequence[Item]) -> list[Result]:
    """A warning for each generated Certificate or ReferenceGrant a build would move to another namespace."""
    out = []
    for item in generated:
        header = resource_header(item)
        if header is None or not header.namespace or (header.group, header.kind) not in _NAMESPACE_MATTERS:
            continue
        lands = layout.directory_namespaces(config_directory, header.namespace)
        if lands is None or lands == {header.namespace}:
            continue
        builds = layout.flux_builds(config_directory)
        by = f"Flux Kustomization {', '.join(builds)}" if builds else "the kustomization that builds it"
        out.append(
            r.warning(
                f"generated {header.kind} {header.namespace}/{header.name} lands in namespace "
                f"{', '.join(sorted(lands))}, not {header.namespace}: {by} sets the namespace of everything in "
                f"{config_directory}; put the MultiDomain where {header.namespace} is the namespace, or set "
                "`spec.certificates.namespace` to where it lands",
                file=item.path,
            )
        )
    return out


def _target(k: Kustomization, entry: Any) -> str | None:
    if not isinstance(entry, str) or "://" in entry:
        return None
    return _normal(posixpath.join(k.directory, entry))


def _normal(path: str | None) -> str:
    normal = posixpath.normpath(path or "")
    return "" if normal == "." else normal
