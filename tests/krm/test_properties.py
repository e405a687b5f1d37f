"""Invariants that hold for every input (issue 7), proven with hypothesis over generated inputs.

Generators build what a GitOps repository holds: Kubernetes-looking resources with comments,
every quoting style, block scalars, flow maps and unicode; Secrets; SOPS-encrypted items; and
MultiDomain configs of one to five domains, literal or Flux variables. The function runs
in-process through ``krmfn.cli.run(bytes)``, exactly as the console script does.

Every property runs derandomized and without an example database, so CI sees the same
examples on every run.
"""

from __future__ import annotations

import contextlib
import io
import json
import os
import random
import re
from typing import Any

import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from krmfn.cli import run

SCALE = float(os.environ.get("KRMFN_PROPERTY_SCALE", "1"))


def examples(n: int) -> int:
    """*n* examples, scaled by KRMFN_PROPERTY_SCALE (e.g. 10 for a long local soak)."""
    return max(1, int(n * SCALE))


SETTINGS: dict[str, Any] = {
    "deadline": None,
    "derandomize": True,
    "database": None,
    "suppress_health_check": [HealthCheck.too_slow, HealthCheck.data_too_large, HealthCheck.filter_too_much],
}
OWNED = "krmfn.dev/owned-by: MultiDomain/"

# --- generators ----------------------------------------------------------------------

LOWER = "abcdefghijklmnopqrstuvwxyz"
DIGITS = "0123456789"
ALNUM = LOWER + DIGITS
CHARS = [chr(c) for c in range(0x20, 0x7F)] + list("äöüßéñçøåÆœ€£¥—–…·日本語中文한국어Ελληνικάкириллица🙂🚀✓")

# Plain strings are built from small alphabets (st.from_regex is too slow for thousands of examples).
NAME = st.tuples(st.sampled_from(LOWER), st.text(ALNUM + "-", max_size=7), st.sampled_from(ALNUM)).map("".join)
KEY = st.tuples(st.sampled_from(LOWER), st.text(ALNUM + "A_.-", max_size=7)).map("".join)
PLAIN = st.text(ALNUM + "-", max_size=11).map(lambda s: "v" + s)  # never a YAML 1.1 boolean or null
TEXT = st.text(alphabet=st.sampled_from(CHARS), max_size=24)
LINE = TEXT.map(lambda s: s.strip()).filter(bool)


def _quoted_double(s: str, ascii_only: bool) -> str:
    """A YAML double-quoted scalar; YAML has no surrogate pairs, so astral characters use \\U."""
    body = json.dumps(s, ensure_ascii=False)[1:-1]
    if ascii_only:
        body = "".join(
            c if ord(c) < 128 else (f"\\u{ord(c):04x}" if ord(c) < 0x10000 else f"\\U{ord(c):08x}") for c in body
        )
    return f'"{body}"'


def _quoted_single(s: str) -> str:
    return "'" + s.replace("'", "''") + "'"


@st.composite
def scalar_value(draw: st.DrawFn, indent: int) -> str:
    """A value in one of YAML's styles, as it follows ``key:`` (with its own newline)."""
    style = draw(st.sampled_from(["plain", "single", "double", "literal", "folded", "flow", "number"]))
    if style == "plain":
        return " " + draw(PLAIN) + "\n"
    if style == "single":
        return " " + _quoted_single(draw(TEXT)) + "\n"
    if style == "double":
        return " " + _quoted_double(draw(TEXT), draw(st.booleans())) + "\n"
    if style == "number":
        return " " + str(draw(st.integers(-1000, 10**6))) + "\n"
    if style == "flow":
        pairs = draw(st.dictionaries(KEY, PLAIN, min_size=0, max_size=3))
        return " {" + ", ".join(f"{k}: {v}" for k, v in pairs.items()) + "}\n"
    lines = draw(st.lists(LINE, min_size=1, max_size=4))
    header = "|" if style == "literal" else draw(st.sampled_from([">", ">-", "|-", "|+"]))
    pad = " " * (indent + 2)
    return f" {header}\n" + "".join(f"{pad}{line}\n" for line in lines)


@st.composite
def comment(draw: st.DrawFn, indent: int = 0) -> str:
    if not draw(st.booleans()):
        return ""
    return " " * indent + "# " + draw(TEXT).replace("\n", " ") + "\n"


@st.composite
def mapping_body(draw: st.DrawFn, indent: int, max_size: int = 4) -> str:
    keys = draw(st.lists(KEY, min_size=1, max_size=max_size, unique=True))
    pad = " " * indent
    return "".join(draw(comment(indent)) + f"{pad}{key}:" + draw(scalar_value(indent)) for key in keys)


@st.composite
def unmanaged_item(draw: st.DrawFn) -> str:
    """A resource the function does not read: a ConfigMap, Deployment, Service or Namespace."""
    kind = draw(st.sampled_from(["ConfigMap", "Deployment", "Service", "Namespace", "HTTPRouteLike"]))
    api = {"Deployment": "apps/v1", "HTTPRouteLike": "example.com/v1"}.get(kind, "v1")
    name = draw(NAME)
    inline = " # " + draw(TEXT) if draw(st.booleans()) else ""
    head = draw(comment())
    meta = f"metadata:\n  name: {name}{inline}\n"
    if draw(st.booleans()):
        meta += f"  namespace: {draw(NAME)}\n"
    if draw(st.booleans()):
        meta += "  labels: {app: " + draw(PLAIN) + ", 'team': \"" + draw(PLAIN) + '"}\n'
    if draw(st.booleans()):
        meta += "  annotations:\n" + draw(mapping_body(4, 2))
    body = ""
    if kind == "ConfigMap":
        body = "data:\n" + draw(mapping_body(2))
    elif kind == "Deployment":
        args = ", ".join(_quoted_double(a, False) for a in draw(st.lists(TEXT, max_size=3)))
        body = (
            "spec:\n  replicas: 1\n  template:\n    spec:\n      containers:\n"
            f"        - name: app\n          image: 'ghcr.io/example/{name}:1.0'\n          args: [{args}]\n"
            "          env:\n"
            + "".join(
                f"            - {{name: V{i}, value: {_quoted_double(v, True)}}}\n"
                for i, v in enumerate(draw(st.lists(TEXT, max_size=2)))
            )
        )
    elif kind == "Service":
        body = "spec:\n  ports:\n  - port: 80\n    name: http\n  selector:\n" + draw(mapping_body(4, 2))
    elif kind == "HTTPRouteLike":
        body = "spec:\n" + draw(mapping_body(2))
    return f"{head}apiVersion: {api}\nkind: {kind}\n{meta}{body}"


SECRET_TOKEN = st.text(ALNUM + "ABCDEFGHIJKLMNOPQRSTUVWXYZ", min_size=10, max_size=10).map(lambda s: "s3cr3t" + s)


@st.composite
def secret_item(draw: st.DrawFn, name: str | None = None, keys: list[str] | None = None) -> tuple[str, list[str]]:
    """A Secret whose values are distinctive tokens; returns (text, the values)."""
    keys = keys or draw(st.lists(KEY, min_size=1, max_size=3, unique=True))
    values = [draw(SECRET_TOKEN) for _ in keys]
    field = draw(st.sampled_from(["stringData", "data"]))
    styles = [draw(st.sampled_from(["plain", "single", "double"])) for _ in keys]
    lines = "".join(
        f"  {k}: " + {"plain": v, "single": f"'{v}'", "double": f'"{v}"'}[s] + "\n"
        for k, v, s in zip(keys, values, styles, strict=True)
    )
    text = f"apiVersion: v1\nkind: Secret\nmetadata:\n  name: {name or draw(NAME)}\n  namespace: flux-system\ntype: Opaque\n{field}:\n{lines}"
    return text, values


@st.composite
def sops_item(draw: st.DrawFn, kind: str = "ConfigMap", name: str | None = None, namespace: str = "apps") -> str:
    api = "helm.toolkit.fluxcd.io/v2" if kind == "HelmRelease" else "v1"
    value = "ENC[AES256_GCM,data:" + draw(st.text(ALNUM + "ABCXYZ+/", min_size=8, max_size=20)) + ",type:str]"
    body = (
        "spec:\n  values:\n    domainFilters: [old.example]\n" if kind == "HelmRelease" else f"data:\n  key: {value}\n"
    )
    return (
        f"apiVersion: {api}\nkind: {kind}\nmetadata:\n  name: {name or draw(NAME)}\n  namespace: {namespace}\n{body}"
        "sops:\n  kms: []\n  age:\n    - recipient: age1qqq\n      enc: |\n        -----BEGIN AGE ENCRYPTED FILE-----\n"
        "        YWdlLWVuY3J5cHRpb24\n        -----END AGE ENCRYPTED FILE-----\n"
        '  lastmodified: "2024-01-01T00:00:00Z"\n  mac: ENC[AES256_GCM,data:abc,type:str]\n  version: 3.8.1\n'
    )


LABEL = st.tuples(st.sampled_from(LOWER), st.text(ALNUM, max_size=6)).map("".join)
VARIABLE = st.tuples(st.sampled_from("ABCDEFGHIJKLMNOPQRSTUVWXYZ"), st.text("ABCDEFGHIJ0123456789_", max_size=10)).map(
    "".join
)


@st.composite
def domain_name(draw: st.DrawFn) -> str:
    form = draw(st.sampled_from(["fqdn", "fqdn", "variable", "labels+variable"]))
    if form == "fqdn":
        labels = draw(st.lists(LABEL, min_size=1, max_size=3))
        return ".".join(labels) + "." + draw(st.sampled_from(["org", "com", "net", "co.uk", "dev"]))
    prefix = draw(LABEL) + "." if form == "labels+variable" else ""
    return prefix + "${" + draw(VARIABLE) + "}"


def base_of(name: str) -> str:
    return re.sub(r"\$\{([^}]*)\}", r"\1", name).replace(".", "-").lower()


@st.composite
def config(draw: st.DrawFn, domains: list[str] | None = None) -> tuple[str, list[str]]:
    """A valid MultiDomain with 1-5 domains whose derived names do not collide; (text, names)."""
    names = domains or draw(st.lists(domain_name(), min_size=1, max_size=5, unique_by=base_of))
    primary = draw(st.one_of(st.none(), st.integers(0, len(names) - 1)))
    lines = []
    for i, name in enumerate(names):
        entry = f"    - name: {json.dumps(name) if '$' in name or draw(st.booleans()) else name}\n"
        if i == primary:
            entry += "      primary: true\n"
        if draw(st.booleans()):
            entry += f"      wildcard: {str(draw(st.booleans())).lower()}\n"
        lines.append(entry)
    suffix = f"    nameSuffix: {draw(st.sampled_from(['production', 'staging']))}\n" if draw(st.booleans()) else ""
    text = (
        "apiVersion: krmfn.dev/v1alpha1\nkind: MultiDomain\nmetadata:\n  name: edge\n"
        '  annotations:\n    config.kubernetes.io/local-config: "true"\n'
        "spec:\n  domains:\n" + "".join(lines) + "  certificates:\n    namespace: network\n"
        "    issuerRef: {name: letsencrypt-production, kind: ClusterIssuer}\n" + suffix
    )
    return text, names


@st.composite
def package(draw: st.DrawFn) -> tuple[str, list[str]]:
    """(functionConfig text, item texts): a config and a mix of resources it does not manage."""
    cfg, _ = draw(config())
    items = draw(st.lists(unmanaged_item(), min_size=1, max_size=8))
    if draw(st.booleans()):
        items.append(draw(sops_item()))
    if draw(st.booleans()):
        items.append(draw(secret_item())[0])
    return cfg, items


# --- running -------------------------------------------------------------------------


def resource_list(cfg: str, items: list[str]) -> str:
    """A ResourceList as kpt sends it: *items* as entries, *cfg* as functionConfig."""
    body = "".join(entry(item) for item in items)
    config = "".join("  " + line + "\n" for line in cfg.rstrip("\n").split("\n"))
    return "apiVersion: config.kubernetes.io/v1\nkind: ResourceList\nitems:\n" + body + "functionConfig:\n" + config


def f(text: str) -> tuple[str, int]:
    stdout, code, _ = run_quietly(text.encode())
    return stdout, code


def without_results(out: str) -> str:
    return out.split("\nresults:\n", 1)[0]


def results_of(out: str) -> list[dict[str, Any]]:
    answer = yaml.load(out, Loader=yaml.CSafeLoader)
    assert isinstance(answer, dict), out[:200]
    assert answer["kind"] == "ResourceList", out[:200]
    return list(answer.get("results") or [])


def entry(doc: str) -> str:
    """An item as it sits in a ResourceList that ``conftest.resource_list`` built."""
    return "- " + "\n  ".join(doc.strip("\n").split("\n")) + "\n"


def items_text(out: str) -> str:
    return without_results(out).split("\nfunctionConfig:\n", 1)[0]


def owned_entries(out: str) -> list[str]:
    """The generated items of an output ResourceList, as text."""
    body = items_text(out).split("\nitems:\n", 1)[1]
    return [e.rstrip("\n") for e in re.split(r"(?m)^(?=- )", body) if OWNED in e]


# --- nothing lost --------------------------------------------------------------------


@settings(max_examples=examples(250), **SETTINGS)
@given(package())
def test_nothing_lost(pkg: tuple[str, list[str]]) -> None:
    cfg, items = pkg
    out, code = f(resource_list(cfg, items))
    assert code == 0, results_of(out)
    for item in items:
        assert entry(item) in out, f"an unmanaged item did not come back byte for byte:\n{item}"
    assert items_text(out).count("\n- ") == len(items) + len(owned_entries(out))


@settings(max_examples=examples(100), **SETTINGS)
@given(package(), st.data())
def test_only_unwanted_owned_items_disappear(pkg: tuple[str, list[str]], data: st.DataObject) -> None:
    """Dropping domains from the config prunes their Certificates, and nothing else."""
    cfg, items = pkg
    first, code = f(resource_list(cfg, items))
    assert code == 0
    names = [line.split("name: ", 1)[1].strip('"') for line in cfg.splitlines() if line.startswith("    - name: ")]
    kept = data.draw(st.lists(st.sampled_from(names), min_size=1, unique=True))
    smaller = "\n".join(line for line in _domain_blocks(cfg, kept))
    rerun = (
        without_results(first).split("\nfunctionConfig:\n", 1)[0]
        + "\nfunctionConfig:\n"
        + "".join("  " + line + "\n" for line in smaller.rstrip("\n").split("\n"))
    )
    second, code = f(rerun)
    assert code == 0, results_of(second)
    for item in items:
        assert entry(item) in second
    before, after = owned_entries(first), owned_entries(second)
    assert len(after) == len(kept)
    assert set(after) <= set(before)  # the Certificates still wanted are kept byte for byte


def _domain_blocks(cfg: str, kept: list[str]) -> list[str]:
    """*cfg*'s lines with only the domains in *kept* (and no `primary` left dangling)."""
    out: list[str] = []
    keep = True
    for line in cfg.split("\n"):
        if line.startswith("    - name: "):
            keep = line.split("name: ", 1)[1].strip('"') in kept
        elif not line.startswith("      "):
            keep = True
        if keep:
            out.append(line)
    return out


# --- idempotent and deterministic ----------------------------------------------------


@settings(max_examples=examples(200), **SETTINGS)
@given(package())
def test_idempotent(pkg: tuple[str, list[str]]) -> None:
    cfg, items = pkg
    once, code = f(resource_list(cfg, items))
    assert code == 0
    twice, code = f(without_results(once))
    assert code == 0
    assert without_results(twice) == without_results(once)
    assert "0 generated, 0 updated" in twice


@settings(max_examples=examples(150), **SETTINGS)
@given(package(), st.randoms(use_true_random=False))
def test_deterministic_and_order_independent(pkg: tuple[str, list[str]], rnd: random.Random) -> None:
    cfg, items = pkg
    text = resource_list(cfg, items)
    out, _ = f(text)
    assert f(text)[0] == out
    shuffled = list(items)
    rnd.shuffle(shuffled)
    out_shuffled, _ = f(resource_list(cfg, shuffled))
    assert owned_entries(out_shuffled) == owned_entries(out)


@settings(max_examples=examples(150), **SETTINGS)
@given(config(), st.lists(unmanaged_item(), max_size=4), st.randoms(use_true_random=False))
def test_plain_stream_idempotent_byte_for_byte(
    cfg: tuple[str, list[str]], items: list[str], rnd: random.Random
) -> None:
    """In a plain pipe nothing restores anything: f(f(x)) must equal f(x) exactly."""
    config_doc = cfg[0]
    docs = [*items, config_doc]
    rnd.shuffle(docs)
    once, code = f("---\n".join(docs))
    assert code == 0
    twice, code = f(once)
    assert code == 0
    assert twice == once
    for doc in items:
        assert doc in once


# --- never a traceback ---------------------------------------------------------------


def check_answer(out: str, code: int, stderr: str, stdin: bytes) -> None:
    """Exit 0 or 1, one readable line per problem, and a ResourceList (or the stream given)."""
    assert code in (0, 1)
    assert "Traceback" not in stderr
    assert all(re.match(r"krmfn: (error|warning): \S", line) for line in stderr.splitlines()), stderr
    assert "internal error" not in stderr, stderr
    if code == 1:
        assert stderr.strip(), "an error must reach stderr"
    try:
        answer = yaml.load(out, Loader=yaml.CSafeLoader) if out.strip() else None
    except yaml.YAMLError:
        answer = None  # a plain stream passed back as given may be anything the syntax check let through
    if isinstance(answer, dict) and answer.get("kind") == "ResourceList":
        severities = [res["severity"] for res in answer.get("results") or []]
        assert ("error" in severities) == (code == 1)
    else:
        # A readable plain stream (no config in it) is answered as a stream, which has no place
        # for results: the error is on stderr (checked above) and in the exit code.
        assert code == 1


def run_quietly(data: bytes) -> tuple[str, int, str]:
    """(stdout, exit code, stderr) of the function run in-process."""
    err = io.StringIO()
    with contextlib.redirect_stderr(err):
        stdout, code = run(data)
    return stdout, code, err.getvalue()


def run_checked(data: bytes) -> tuple[str, int]:
    stdout, code, err = run_quietly(data)
    check_answer(stdout, code, err, data)
    return stdout, code


@settings(max_examples=examples(800), **SETTINGS)
@given(st.binary(max_size=300))
def test_random_bytes(data: bytes) -> None:
    run_checked(data)


@settings(max_examples=examples(250), **SETTINGS)
@given(package(), st.data())
def test_truncated_yaml(pkg: tuple[str, list[str]], data: st.DataObject) -> None:
    cfg, items = pkg
    whole = resource_list(cfg, items).encode()
    cut = data.draw(st.integers(0, len(whole)))
    run_checked(whole[:cut])


WRONG = st.one_of(
    st.integers(-5, 5),
    st.booleans(),
    st.none(),
    st.just([]),
    st.just({}),
    st.lists(st.integers(0, 3), min_size=1, max_size=2),
    st.dictionaries(KEY, PLAIN, min_size=1, max_size=2),
    TEXT,
    st.just("${}"),
    st.just("-bad-.example..org"),
)


def _paths(value: Any, prefix: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    out = [prefix] if prefix else []
    if isinstance(value, dict):
        for k, v in value.items():
            out.extend(_paths(v, (*prefix, k)))
    elif isinstance(value, list):
        for i, v in enumerate(value):
            out.extend(_paths(v, (*prefix, i)))
    return out


def _set(value: Any, path: tuple[Any, ...], new: Any) -> None:
    for part in path[:-1]:
        value = value[part]
    value[path[-1]] = new


FULL_CONFIG = """\
apiVersion: krmfn.dev/v1alpha1
kind: MultiDomain
metadata: {name: edge, namespace: flux-system}
spec:
  domains:
    - {name: example.org, primary: true, wildcard: true, extraDNSNames: ["*.lab.example.org"], gateways: [envoy-external], issuer: letsencrypt-production, tunnel: true, splitHorizon: true}
    - {name: "${SECRET_DOMAIN}"}
  certificates:
    namespace: network
    issuerRef: {name: letsencrypt-production, kind: ClusterIssuer}
    nameSuffix: production
    duration: 2160h
    renewBefore: 720h
    privateKey: {algorithm: ECDSA, size: 256, rotationPolicy: Always}
    usages: [digital signature, key encipherment]
    secretTemplate: {labels: {a: b}, annotations: {c: d}}
  issuers:
    - name: letsencrypt-production
      acme: {server: production, email: ops@example.org, solver: {cloudflare: {apiTokenSecretRef: {name: cf, key: token}}}}
  gateways:
    - {name: envoy-external, namespace: network, listener: https, dns: {target: "external.{domain}", type: CNAME}}
  externalDNS:
    - {kind: HelmRelease, name: cloudflare-dns, namespace: network}
  tunnel: {kind: HelmRelease, name: cloudflare-tunnel, namespace: network, service: "https://envoy.network.svc:443", originRequest: {http2Origin: true}}
  splitHorizon: {kind: HelmRelease, name: k8s-gateway, namespace: network}
"""
FULL = yaml.safe_load(FULL_CONFIG)
CONFIG_PATHS = _paths(FULL)


@settings(max_examples=examples(500), **SETTINGS)
@given(st.lists(st.tuples(st.sampled_from(CONFIG_PATHS), WRONG), min_size=1, max_size=3))
def test_wrong_types_at_every_config_field(changes: list[tuple[tuple[Any, ...], Any]]) -> None:
    import copy

    broken = copy.deepcopy(FULL)
    for path, value in changes:
        try:
            _set(broken, path, value)
        except (KeyError, IndexError, TypeError):
            continue  # an earlier change replaced a parent of this path
    text = resource_list(
        yaml.safe_dump(broken, sort_keys=False), ["apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: a\n"]
    )
    stdout, _ = run_checked(text.encode())
    assert "apiVersion: v1\n  kind: ConfigMap\n  metadata:\n    name: a\n" in stdout


# --- SOPS and secrets ----------------------------------------------------------------


@settings(max_examples=examples(100), **SETTINGS)
@given(package(), st.data())
def test_sops_encrypted_items_are_never_modified(pkg: tuple[str, list[str]], data: st.DataObject) -> None:
    """Even when the config names it as the external-dns installation to patch."""
    cfg, items = pkg
    release = data.draw(sops_item("HelmRelease", "cloudflare-dns", "network"))
    cfg += "  externalDNS:\n    - {kind: HelmRelease, name: cloudflare-dns, namespace: network}\n"
    out, code = run_checked(resource_list(cfg, [*items, release]).encode())
    assert entry(release) in out
    assert code == 1
    errors = [res["message"] for res in results_of(out) if res["severity"] == "error"]
    assert any("SOPS-encrypted" in m and "cloudflare-dns" in m for m in errors), errors


@settings(max_examples=examples(150), **SETTINGS)
@given(package(), st.data())
def test_no_secret_value_in_output_or_messages(pkg: tuple[str, list[str]], data: st.DataObject) -> None:
    cfg, items = pkg
    variables = re.findall(r"\$\{([A-Z0-9_]+)\}", cfg)
    keys = list(dict.fromkeys(variables)) or ["OTHER"]
    if data.draw(st.booleans()) and len(keys) > 1:
        keys = keys[:-1]  # one variable undefined: an error result names the key, never a value
    secret, values = data.draw(secret_item("cluster-secrets", keys))
    other, other_values = data.draw(secret_item())
    broken = data.draw(st.booleans())
    if broken:  # a repeated key in the Secret the function reads: the message must not quote values
        secret += secret.splitlines()[-1] + "\n"
    out, code, err = run_quietly(resource_list(cfg, [*items, secret, other]).encode())
    messages = " ".join(str(res.get("message")) for res in results_of(out))
    for value in [*values, *other_values]:
        assert value not in err
        assert value not in messages
        assert items_text(out).count(value) == "".join([*items, secret, other]).count(value)  # only in Secrets
    assert entry(secret) in out
    assert entry(other) in out
    if broken and variables:  # the function reads cluster-secrets only when a domain uses a variable
        assert code == 1
