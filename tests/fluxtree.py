"""What Flux would apply from a repository tree: kustomize-controller emulated for tests.

Tests assert on what reaches the cluster, not on the files: every Flux ``Kustomization`` is
found the way Flux finds them (from the sync path of the bootstrap, recursively through what
each build outputs), built the way kustomize-controller builds it, and post-build substituted
the way ``fluxcd/pkg/envsubst`` does. Sources read: ``fluxcd/pkg@e2cfd1a2``
``kustomize/kustomize_generator.go`` (the in-place kustomization edit), ``kustomize/
kustomize_varsub.go`` (per-resource substitution, opt-out, strict mode) and ``envsubst/``
(the parser; replacements are literal ``strings.Replace``).

Not emulated: SOPS decryption (encrypted values stay as written), remote bases, sources
other than the repository's own GitRepository (those Kustomizations are listed, not built),
``${VAR#glob}``/``${VAR%glob}`` trimming (an error says so).
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import tempfile
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

Doc = dict[str, Any]
FLUX_KS = ("kustomize.toolkit.fluxcd.io/v1", "Kustomization")
KUSTOMIZATION_FILES = ("kustomization.yaml", "kustomization.yml", "Kustomization")
DISABLED = "kustomize.toolkit.fluxcd.io/substitute"
ORIGIN = "config.kubernetes.io/origin"
VAR_NAME = re.compile(r"^[_a-zA-Z][_a-zA-Z0-9]*$")
# kustomize knows only built-in kinds, so its namespace transformer stamps targetNamespace on
# these CRD kinds too; the API server drops it on apply (fluxcd/pkg ssa/manager_apply.go).
CLUSTER_SCOPED = {
    "ClusterIssuer",
    "GatewayClass",
    "ClusterSecretStore",
    "ClusterExternalSecret",
    "CiliumLoadBalancerIPPool",
    "CiliumL2AnnouncementPolicy",
    "CiliumBGPClusterConfig",
    "ClusterPolicy",
    "ValidatingAdmissionPolicy",
    "ValidatingAdmissionPolicyBinding",
    "ClusterPushSecret",
}


def repo_path(path: str) -> str:
    """A Flux ``path`` (``./kubernetes/apps``, ``kubernetes/apps/``) as a repo-relative path."""
    return os.path.normpath(path.lstrip("/"))


class FluxError(Exception):
    """A build or a substitution Flux itself would fail on (the message says which and why)."""


@dataclass(frozen=True)
class FluxKustomization:
    name: str
    namespace: str
    path: str  # repo-relative, no leading ./
    file: str  # repo-relative file that declared it ("" for the synthetic flux-system)
    target_namespace: str | None = None
    patches: list[Doc] = field(default_factory=list)
    components: list[str] = field(default_factory=list)
    substitute: dict[str, str] = field(default_factory=dict)
    substitute_from: list[Doc] = field(default_factory=list)
    depends_on: list[str] = field(default_factory=list)
    source_kind: str = "GitRepository"

    @property
    def key(self) -> str:
        return f"{self.namespace}/{self.name}"

    @classmethod
    def from_doc(cls, doc: Doc, file: str, default_namespace: str) -> FluxKustomization:
        spec = doc.get("spec") or {}
        meta = doc.get("metadata") or {}
        post = spec.get("postBuild") or {}
        namespace = meta.get("namespace") or default_namespace
        return cls(
            name=meta["name"],
            namespace=namespace,
            path=repo_path(str(spec.get("path") or ".")),
            file=file,
            target_namespace=spec.get("targetNamespace"),
            patches=list(spec.get("patches") or []),
            components=list(spec.get("components") or []),
            substitute={str(k): str(v) for k, v in (post.get("substitute") or {}).items()},
            substitute_from=list(post.get("substituteFrom") or []),
            depends_on=[f"{d.get('namespace', namespace)}/{d['name']}" for d in spec.get("dependsOn") or []],
            source_kind=(spec.get("sourceRef") or {}).get("kind", "GitRepository"),
        )


# --- post-build substitution (fluxcd/pkg/envsubst) ---------------------------------------


def envsubst(text: str, variables: Mapping[str, str], *, strict: bool = True) -> str:
    """*text* with ``${…}`` expanded as kustomize-controller does; ``$$`` is a literal ``$``."""
    out, pos = _Subst(text, variables, strict).top()
    assert pos == len(text)
    return out


class _Subst:
    def __init__(self, text: str, variables: Mapping[str, str], strict: bool) -> None:
        self.text, self.vars, self.strict = text, variables, strict

    def top(self) -> tuple[str, int]:
        out, i, text = [], 0, self.text
        while i < len(text):
            if text.startswith("$$", i):
                out.append("$")
                i += 2
            elif text.startswith("${", i):
                value, i = self.func(i + 2)
                out.append(value)
            else:
                out.append(text[i])
                i += 1
        return "".join(out), i

    def func(self, i: int) -> tuple[str, int]:
        """One ``${…}`` whose body starts at *i*; returns its value and the index after ``}``."""
        m = re.compile(r"\w+").match(self.text, i)
        if not m:
            raise FluxError(f"envsubst: unable to parse variable name at {self.text[i - 2 : i + 20]!r}")
        name, i = m.group(), m.end()
        rest = self.text[i:]
        if rest.startswith("}"):
            return self.value(name, "", []), i + 1
        for op in (":=", ":-", ":?", ":+", "="):
            if rest.startswith(op):
                args, i = self.args(i + len(op), stop="}")
                return self.value(name, op, args), i + 1
        if rest[:2] in ("/#", "/%") or rest[:1] in (",", "^", "#", "%", ":"):
            raise FluxError(
                f"envsubst: fluxtree does not emulate the form at {self.text[i - len(name) - 2 : i + 20]!r}"
            )
        for op in ("//", "/"):
            if rest.startswith(op):
                pattern, i = self.args(i + len(op), stop="/}")
                replacement: list[str] = []
                if self.text[i] == "/":
                    replacement, i = self.args(i + 1, stop="}")
                return self.value(name, op, ["".join(pattern), "".join(replacement)]), i + 1
        # `${VAR-default}` is documented upstream but the parser refuses it, as everything else here
        raise FluxError(f"envsubst: missing closing brace at {self.text[i - len(name) - 2 : i + 20]!r}")

    def args(self, i: int, stop: str) -> tuple[list[str], int]:
        """Literal text and nested ``${…}`` up to one of *stop*; ``\\/``, ``\\\\``, ``$$`` escape."""
        parts: list[str] = []
        while i < len(self.text) and self.text[i] not in stop:
            if self.text.startswith("${", i):
                value, i = self.func(i + 2)
                parts.append(value)
            elif self.text[i] == "\\" and self.text[i + 1 : i + 2] in ("/", "\\"):
                parts.append(self.text[i + 1])
                i += 2
            elif self.text.startswith("$$", i):
                parts.append("$")
                i += 2
            else:
                parts.append(self.text[i])
                i += 1
        if i >= len(self.text):
            raise FluxError("envsubst: missing closing brace")
        return parts, i

    def value(self, name: str, op: str, args: list[str]) -> str:
        exists = name in self.vars
        if self.strict and not exists and op not in (":=", ":-", ":?", ":+", "="):
            raise FluxError(f'variable not set (strict mode): "{name}"')
        value = self.vars.get(name, "")
        if op == "/":
            return value.replace(args[0], args[1], 1)
        if op == "//":
            return value.replace(args[0], args[1])
        return value if value or not args else "".join(args)


def read_vars(path: Path) -> dict[str, str]:
    """``KEY=value`` lines (a fixture's ``flux-vars.env``): what ``cluster-secrets`` decrypts to."""
    out: dict[str, str] = {}
    for line in path.read_text().splitlines():
        if line.strip() and not line.lstrip().startswith("#"):
            key, _, value = line.partition("=")
            out[key.strip()] = value.strip().strip("\"'")
    return out


# --- build: what kustomize-controller does with one Flux Kustomization ---------------------


def _kustomization_file(directory: Path) -> Path | None:
    return next((directory / n for n in KUSTOMIZATION_FILES if (directory / n).is_file()), None)


def _generated_resources(directory: Path) -> list[str]:
    """Flux's ``scanManifests``: YAML files, and subdirectories that hold a kustomization."""
    found: list[str] = []
    for current, dirs, files in os.walk(directory):
        dirs.sort()
        here = Path(current)
        for sub in list(dirs):
            if _kustomization_file(here / sub):
                found.append("./" + str((here / sub).relative_to(directory)))
                dirs.remove(sub)
        found += ["./" + str((here / f).relative_to(directory)) for f in sorted(files) if f.endswith((".yaml", ".yml"))]
    return found


def _edit_kustomization(directory: Path, ks: FluxKustomization) -> None:
    """The in-place edit of ``GenerateManifest``: namespace, patches, components appended."""
    existing = _kustomization_file(directory)
    if existing is None:
        data: Doc = {"apiVersion": "kustomize.config.k8s.io/v1beta1", "kind": "Kustomization"}
        data["resources"] = _generated_resources(directory)
        if not data["resources"]:
            data["namespace"] = "_placeholder"
    else:
        data = yaml.safe_load(existing.read_text()) or {}
        existing.unlink()
    if ks.target_namespace:
        data["namespace"] = ks.target_namespace
    data["patches"] = list(data.get("patches") or []) + ks.patches
    data["components"] = list(data.get("components") or []) + ks.components
    data["buildMetadata"] = sorted({*(data.get("buildMetadata") or []), "originAnnotations"})
    (directory / "kustomization.yaml").write_text(yaml.safe_dump(data, sort_keys=False))


def _origin(doc: Doc, ks: FluxKustomization) -> str:
    """The repo-relative file a built document came from (the origin annotation is removed)."""
    meta = doc.setdefault("metadata", {})
    annotations = meta.get("annotations") or {}
    origin = yaml.safe_load(annotations.pop(ORIGIN, "") or "{}") or {}
    if not annotations:
        meta.pop("annotations", None)
    where = origin.get("path") or origin.get("configuredIn") or ""
    return os.path.normpath(os.path.join(ks.path, where)) if where else ks.path


def _substitution_disabled(meta: Doc) -> bool:
    return "disabled" in ((meta.get("labels") or {}).get(DISABLED), (meta.get("annotations") or {}).get(DISABLED))


def build(root: Path, ks: FluxKustomization, variables: Mapping[str, str] | None, *, strict: bool = True) -> list[Doc]:
    """The documents kustomize-controller applies for *ks*.

    *variables* are what ``substituteFrom`` reads (None: no substitution, as for discovery);
    ``postBuild.substitute`` overrides them."""
    return [doc for doc, _ in build_with_files(root, ks, variables, strict=strict)]


def build_with_files(
    root: Path,
    ks: FluxKustomization,
    variables: Mapping[str, str] | None,
    *,
    strict: bool = True,
    checkout: Path | None = None,
) -> list[tuple[Doc, str]]:
    """:func:`build`, each document with the repo-relative file it came from.

    Flux builds every Kustomization in a fresh checkout and edits its path's kustomization in
    place. *checkout* is a copy of *root* to build in (one copy serves a whole tree: the edit
    is undone after each build); without it a temporary copy is made."""
    if checkout is None:
        with tempfile.TemporaryDirectory(prefix="fluxtree-") as tmp:
            repo = Path(tmp) / "repo"
            shutil.copytree(root, repo, symlinks=True)
            return build_with_files(root, ks, variables, strict=strict, checkout=repo)
    directory = checkout / ks.path
    if not directory.is_dir():
        raise FluxError(f"{ks.key} ({ks.file}): `spec.path` {ks.path!r} is not a directory")
    original = _kustomization_file(directory)
    saved = (original, original.read_bytes()) if original is not None else None
    try:
        _edit_kustomization(directory, ks)
        proc = subprocess.run(
            ["kubectl", "kustomize", "--load-restrictor=LoadRestrictionsNone", str(directory)],
            capture_output=True,
            text=True,
            check=False,
        )
    finally:
        (directory / "kustomization.yaml").unlink(missing_ok=True)
        if saved is not None:
            saved[0].write_bytes(saved[1])
    if proc.returncode != 0:
        raise FluxError(f"{ks.key} ({ks.file}): kustomize build failed: {proc.stderr.strip()}")
    values: dict[str, str] = {}
    if variables is not None and ks.substitute_from:
        values.update(variables)
    if variables is not None:
        values.update(ks.substitute)
    values = {k: v.replace("\n", "") for k, v in values.items()}
    for name in values:
        if not VAR_NAME.match(name):
            raise FluxError(f"{ks.key}: '{name}' var name is invalid")
    out: list[tuple[Doc, str]] = []
    for text in re.split(r"^---\n", proc.stdout, flags=re.MULTILINE):
        doc = yaml.safe_load(text)
        if not isinstance(doc, dict):
            continue
        meta = doc.get("metadata") or {}
        if values and not _substitution_disabled(meta):
            try:
                doc = yaml.safe_load(envsubst(text, values, strict=strict))
            except FluxError as err:
                raise FluxError(f"{ks.key}: {doc.get('kind')}/{meta.get('name')}: {err}") from None
        file = _origin(doc, ks)
        if doc.get("kind") in CLUSTER_SCOPED:
            doc["metadata"].pop("namespace", None)
        out.append((doc, file))
    return out


# --- the tree: bootstrap, recursion, everything applied ------------------------------------


def _yaml_docs(root: Path) -> Iterator[tuple[Doc, str]]:
    for path in sorted(root.rglob("*.y*ml")):
        try:
            docs = list(yaml.safe_load_all(path.read_text()))
        except yaml.YAMLError:
            continue
        yield from ((d, str(path.relative_to(root))) for d in docs if isinstance(d, dict))


def bootstrap(root: Path) -> list[FluxKustomization]:
    """Where Flux starts: the ``flux-system`` Kustomization at the instance's sync path, else
    every Flux Kustomization in a ``ks.yaml``."""
    for doc, file in _yaml_docs(root):
        spec = doc.get("spec") or {}
        sync = (spec.get("values") or {}).get("instance", {}).get("sync") if doc.get("kind") == "HelmRelease" else None
        sync = spec.get("sync") if doc.get("kind") == "FluxInstance" else sync
        if isinstance(sync, dict) and sync.get("path"):
            path = repo_path(str(sync["path"]))
            return [FluxKustomization(name="flux-system", namespace="flux-system", path=path, file=file)]
    return [
        FluxKustomization.from_doc(doc, file, "flux-system")
        for doc, file in _yaml_docs(root)
        if Path(file).name == "ks.yaml" and (doc.get("apiVersion"), doc.get("kind")) == FLUX_KS
    ]


@dataclass
class Applied:
    """What every Flux Kustomization applies, keyed by ``namespace/name``, in discovery order."""

    kustomizations: dict[str, FluxKustomization]
    builds: dict[str, list[Doc]]
    files: dict[str, list[str]]  # per build, the source file of each document
    skipped: list[FluxKustomization]  # other sources: listed, not built

    @property
    def all_docs(self) -> list[Doc]:
        return [doc for docs in self.builds.values() for doc in docs]


def applied(root: Path, variables: Mapping[str, str] | None, *, strict: bool = True) -> Applied:
    with tempfile.TemporaryDirectory(prefix="fluxtree-") as tmp:
        checkout = Path(tmp) / "repo"
        shutil.copytree(root, checkout, symlinks=True)
        return _applied(root, checkout, variables, strict)


def _applied(root: Path, checkout: Path, variables: Mapping[str, str] | None, strict: bool) -> Applied:
    result = Applied({}, {}, {}, [])
    queue = bootstrap(root)
    while queue:
        ks = queue.pop(0)
        if ks.key in result.kustomizations:
            continue
        result.kustomizations[ks.key] = ks
        if ks.source_kind != "GitRepository":
            result.skipped.append(ks)
            continue
        built = build_with_files(root, ks, variables, strict=strict, checkout=checkout)
        result.builds[ks.key] = [doc for doc, _ in built]
        result.files[ks.key] = [file for _, file in built]
        queue += [
            FluxKustomization.from_doc(doc, file, ks.namespace)
            for doc, file in built
            if (doc.get("apiVersion"), doc.get("kind")) == FLUX_KS
        ]
    return result


def flux_kustomizations(root: Path, variables: Mapping[str, str] | None = None) -> list[FluxKustomization]:
    return list(applied(root, variables).kustomizations.values())


# --- consistency checks --------------------------------------------------------------------


def _ref(doc: Doc) -> str:
    meta = doc.get("metadata") or {}
    return f"{doc.get('kind')} {meta.get('namespace') or '-'}/{meta.get('name')}"


def _placeholders(value: Any, where: str) -> Iterator[str]:
    if isinstance(value, str) and "${" in value:
        yield f"{where}: unsubstituted {value!r}"
    elif isinstance(value, dict):
        for k, v in value.items():
            yield from _placeholders(v, f"{where}.{k}")
    elif isinstance(value, list):
        for n, v in enumerate(value):
            yield from _placeholders(v, f"{where}[{n}]")


def problems(docs: Sequence[Doc] | Mapping[str, Sequence[Doc]]) -> list[str]:
    """What must never reach a cluster, as readable lines (empty: consistent).

    *docs* is one list, or the builds of :func:`applied` (then a resource applied by two Flux
    Kustomizations is named with both)."""
    builds = docs if isinstance(docs, Mapping) else {"docs": docs}
    found: list[str] = []
    owners: dict[tuple[str, str, str, str], list[str]] = {}
    certs: dict[tuple[str, str], int] = {}
    secrets: dict[tuple[str, str], str] = {}
    for owner, items in builds.items():
        for doc in items:
            meta = doc.get("metadata") or {}
            kind, ns, name = str(doc.get("kind")), meta.get("namespace") or "", str(meta.get("name"))
            group = str(doc.get("apiVersion", "")).rpartition("/")[0]
            owners.setdefault((group, kind, ns, name), []).append(owner)
            if not _substitution_disabled(meta):  # left for another tool on purpose (gatus, scripts)
                found += _placeholders(doc, _ref(doc))
            if group == "krmfn.dev":
                found.append(f"{_ref(doc)}: a krmfn config is applied to the cluster")
            if kind == "Certificate":
                certs[ns, name] = certs.get((ns, name), 0) + 1
                secret = str((doc.get("spec") or {}).get("secretName"))
                if (ns, secret) in secrets:
                    found.append(
                        f"Certificates {secrets[ns, secret]} and {name} in {ns or '-'} both write Secret {secret}"
                    )
                secrets.setdefault((ns, secret), name)
            if kind == "Gateway":
                for listener in (doc.get("spec") or {}).get("listeners") or []:
                    refs = [
                        (r.get("namespace") or ns, r.get("name"))
                        for r in (listener.get("tls") or {}).get("certificateRefs") or []
                    ]
                    found += [
                        f"{_ref(doc)} listener {listener.get('name')}: Secret {ref[1]} listed twice"
                        for n, ref in enumerate(refs)
                        if ref in refs[:n]
                    ]
    found += [f"two Certificates named {ns or '-'}/{name}" for (ns, name), count in certs.items() if count > 1]
    found += [
        f"{kind} {ns or '-'}/{name} applied {len(who)} times, by {', '.join(who)}"
        for (_, kind, ns, name), who in owners.items()
        if len(who) > 1
    ]
    return found
