"""Ingress hosts are served a certificate that holds them, or a warning says what they get instead.

SPEC "Covered means served".

An ingress controller serves, for a host, the Secret of the ``spec.tls`` entry that lists it
(in the Ingress's own namespace), else its default certificate (ingress-nginx
``--default-ssl-certificate``). A Certificate for the host's domain elsewhere changes nothing
(gilesknap/tpi-k3s-ansible: every host of a new domain is served the first domain's wildcard).
So for each host under a managed domain on an Ingress of a configured IngressClass:

- served by a Secret that holds it: nothing to do;
- otherwise, with ``writeTLS: true`` on the class: the Ingress gets a ``spec.tls`` entry naming
  the domain's Secret (an entry the user wrote for the host without ``secretName`` gets it
  instead, when all its hosts are on that domain). The Secret must be in the Ingress's
  namespace: when the Certificates live elsewhere, the domain's Certificate is also generated
  there. The entries krmfn wrote are recorded in ``krmfn.dev/tls`` (``+secret:host;host`` for an
  added entry, ``=secret:host;host`` for a ``secretName`` set on the user's), so that a removed
  domain's are taken back;
- otherwise a warning names the host, what it is served instead, and both fixes.

What a Secret holds is known from the Certificates in the input and the generated ones
(:mod:`krmfn.concerns.serving`); the controller's default is known only when the class entry
names it (``defaultCertificate``). Without it, and without ``writeTLS``, hosts with no TLS entry
are left unjudged: one info says so (behind a tunnel the browser sees Cloudflare's certificate,
not the controller's).
"""

from __future__ import annotations

import copy
from typing import Any

from krmfn.api.config import Domain, GatewaySpec
from krmfn.concerns.certificates import FILE as CERTIFICATES_FILE
from krmfn.concerns.certificates import certificate, certificate_name, secret_name
from krmfn.concerns.routes import domain_of
from krmfn.concerns.serving import Serving, ingress_class, ingress_hosts
from krmfn.context import Context, ref_of
from krmfn.krm import results as r
from krmfn.krm.item import Item

MARK = "krmfn.dev/tls"
INGRESS_GROUP = "networking.k8s.io"


def reconcile(ctx: Context) -> None:
    classes = {g.name: (i, g) for i, g in enumerate(ctx.config.spec.gateways) if g.kind == "IngressClass"}
    if not classes:
        return
    serving = Serving.from_context(ctx)
    unjudged: dict[str, int] = {}
    opaque: dict[str, int] = {}
    copies: set[tuple[str, str]] = set()
    for item in ctx.of_kind(["Ingress"], group=INGRESS_GROUP):
        found = classes.get(ingress_class(item.data) or "")
        if found is None:
            continue
        index, gateway = found
        data = _undone(item)
        wanted, left, unknown = _unserved(ctx, serving, gateway, _namespace(ctx, item), data)
        unjudged[gateway.name] = unjudged.get(gateway.name, 0) + left
        opaque[gateway.name] = opaque.get(gateway.name, 0) + unknown
        if gateway.write_tls or item.annotation(MARK) is not None:
            _write(ctx, index, item, wanted=wanted if gateway.write_tls else {}, copies=copies)
        else:
            _warn(ctx, index, gateway, item, serving=serving, wanted=wanted)
    for name, count in unjudged.items():
        if count:
            ctx.report(
                r.info(
                    f"{count} host(s) of Ingresses of IngressClass {name!r} have no `spec.tls` entry: the controller "
                    "serves them its default certificate, which `defaultCertificate` does not name, so MultiDomain "
                    "cannot say whether it holds them (they do not count as covered)",
                    field=f"spec.gateways[{classes[name][0]}]",
                    resource=ctx.config_ref,
                )
            )
    for name, count in opaque.items():
        if count:
            ctx.report(
                r.info(
                    f"{count} host(s) of Ingresses of IngressClass {name!r} are served a Secret that no Certificate "
                    "of the input or the config describes (made elsewhere, or by a Helm template), so MultiDomain "
                    "cannot say whether it holds them (they do not count as covered); `existingCertificate` on the "
                    "domain names one",
                    field=f"spec.gateways[{classes[name][0]}]",
                    resource=ctx.config_ref,
                )
            )


def _namespace(ctx: Context, item: Item) -> str | None:
    """Where the Ingress lands: its own namespace, or the one its kustomization or Flux gives it."""
    return ctx.namespace_of(item)


def _undone(item: Item) -> dict[str, Any]:
    """The Ingress's data as the user wrote it: without the TLS entries krmfn wrote."""
    data = copy.deepcopy(item.data)
    spec = data.get("spec")
    if isinstance(spec, dict) and isinstance(spec.get("tls"), list):
        spec["tls"] = _undo(spec["tls"], _recorded(item))
    return data


def _unserved(
    ctx: Context, serving: Serving, gateway: GatewaySpec, namespace: str | None, data: dict[str, Any]
) -> tuple[dict[str, list[str]], int, int]:
    """Hosts under managed domains no Secret serves, by domain name; how many have no Secret
    krmfn can name; how many are served a Secret whose contents krmfn cannot know."""
    out: dict[str, list[str]] = {}
    unknown = opaque = 0
    for host in ingress_hosts(data):
        domain = domain_of(ctx.config, host.removeprefix("*."))
        if domain is None or gateway.name not in domain.gateways:
            continue
        secret = serving.ingress_secret(gateway, namespace, data, host)
        if secret is None and not gateway.write_tls:
            unknown += 1
        elif secret is None or not serving.ingress_holds(data, namespace, secret, host):
            if secret is not None and not gateway.write_tls and serving.holds(secret, host) is None:
                opaque += 1  # not known to hold it, nor known not to: no claim either way
                continue
            out.setdefault(domain.name.text, []).append(host)
    return out, unknown, opaque


def _warn(
    ctx: Context, index: int, gateway: GatewaySpec, item: Item, *, serving: Serving, wanted: dict[str, list[str]]
) -> None:
    namespace = _namespace(ctx, item)
    by_name = {d.name.text: d for d in ctx.config.domains}
    for domain_text, hosts in wanted.items():
        domain = by_name[domain_text]
        for host in hosts:
            secret = serving.ingress_secret(gateway, namespace, item.data, host)
            default = gateway.default_certificate
            is_default = default is not None and secret == f"{default.namespace}/{default.name}"
            what = f"the controller's default certificate (Secret {secret})" if is_default else f"Secret {secret}"
            managed = ctx.certificates.get(domain_text)
            cert = (
                f"{managed.namespace}/{managed.name}"
                if managed is not None
                else f"{ctx.config.certificate_namespace}/{certificate_name(ctx.config, domain)}"
            )
            ctx.report(
                r.warning(
                    f"host {host!r} of {ref_of(item).describe()} is served {what}, which does not hold it (its "
                    f"certificate is Certificate {cert}); give the Ingress a `spec.tls` entry for it whose Secret, in "
                    f"namespace {namespace or '(the Ingress namespace)'}, holds {domain_text}, or add "
                    f"{domain_text} to the default certificate; `writeTLS: true` on `spec.gateways[{index}]` makes "
                    "MultiDomain write the entry",
                    resource=ref_of(item),
                    file=item.path,
                )
            )


def _recorded(item: Item) -> list[tuple[str, str, list[str]]]:
    """The entries krmfn wrote: (``+`` added or ``=`` set, secretName, hosts)."""
    out = []
    for raw in (item.annotation(MARK) or "").split(","):
        part = raw.strip()
        if len(part) > 1 and part[0] in "+=" and ":" in part:
            secret, _, hosts = part[1:].partition(":")
            out.append((part[0], secret, [h for h in hosts.split(";") if h]))
    return out


def _write(
    ctx: Context,
    index: int,
    item: Item,
    *,
    wanted: dict[str, list[str]],
    copies: set[tuple[str, str]],
) -> None:
    namespace = _namespace(ctx, item)
    by_name = {d.name.text: d for d in ctx.config.domains}
    if wanted and namespace is None:
        ctx.report(
            r.warning(
                f"{ref_of(item).describe()} has no namespace MultiDomain can know, so it cannot give it a `spec.tls` "
                "entry: the Secret must be in the Ingress's namespace",
                resource=ref_of(item),
                file=item.path,
            )
        )
        wanted = {}
    new = _undone(item)
    spec = new.setdefault("spec", {})
    entries = spec.get("tls") if isinstance(spec.get("tls"), list) else []
    marks: list[str] = []
    for domain_text, hosts in wanted.items():
        domain = by_name[domain_text]
        assert namespace is not None
        managed = ctx.certificates.get(domain_text)
        existing = managed is not None and managed.origin == "existing"
        if managed is not None and existing and managed.namespace == namespace:
            marks.extend(_entry(entries, managed.secret, hosts))
            continue
        secret = secret_name(ctx.config, domain)
        marks.extend(_entry(entries, secret, hosts))
        # the user's own Certificate is elsewhere (or unseen): krmfn issues the domain's in this namespace
        away = existing or namespace != ctx.config.certificate_namespace
        if away and (namespace, domain_text) not in copies:
            copies.add((namespace, domain_text))
            _certificate_in(ctx, domain, namespace)
    if entries:
        spec["tls"] = entries
    else:
        spec.pop("tls", None)
    annotations = new.setdefault("metadata", {}).setdefault("annotations", {})
    if marks:
        annotations[MARK] = ",".join(marks)
    else:
        annotations.pop(MARK, None)
        if not annotations:
            new["metadata"].pop("annotations")
    written = ", ".join(h for listed in wanted.values() for h in listed) or "none now"
    why = f"its hosts under managed domains are served their domain's certificate (`spec.gateways[{index}].writeTLS`)"
    ctx.replace(item, new, f"{why}: {written}")


def _undo(entries: list[Any], recorded: list[tuple[str, str, list[str]]]) -> list[Any]:
    """*entries* without what krmfn wrote earlier: added entries removed, set ``secretName``s unset."""
    out = copy.deepcopy(entries)
    for how, secret, hosts in recorded:
        for entry in out:
            if isinstance(entry, dict) and entry.get("secretName") == secret and entry.get("hosts") == hosts:
                if how == "+":
                    out.remove(entry)
                else:
                    entry.pop("secretName")
                break
    return out


def _entry(entries: list[Any], secret: str, hosts: list[str]) -> list[str]:
    """Serve *hosts* with *secret*: through the user's entries that list only them, else one new entry."""
    marks = []
    left = list(hosts)
    for entry in entries:
        listed = entry.get("hosts") if isinstance(entry, dict) else None
        if not isinstance(listed, list) or entry.get("secretName") or not listed:
            continue
        if all(h in hosts for h in listed):
            entry["secretName"] = secret
            marks.append(f"={secret}:{';'.join(listed)}")
            left = [h for h in left if h not in listed]
    if left:
        entries.append({"hosts": left, "secretName": secret})
        marks.append(f"+{secret}:{';'.join(left)}")
    return marks


def _certificate_in(ctx: Context, domain: Domain, namespace: str) -> None:
    """The domain's Certificate, issued again in *namespace*: an Ingress reads Secrets of its own namespace only."""
    data = certificate(ctx.config, domain)
    data["metadata"]["namespace"] = namespace
    ctx.generate(data, CERTIFICATES_FILE)
