"""What cloudflared accepts as an ingress rule's ``service``.

Part of the API because the MultiDomain's own ``spec.tunnel.service`` and ``catchAll`` are
validated with it; :mod:`krmfn.concerns.tunnelrules` applies the same check to the rules a
user wrote (domain-facts §4.1, ``cloudflare/cloudflared:ingress/ingress.go``).
"""

from __future__ import annotations

import re
from typing import Any
from urllib.parse import urlsplit

#: Services cloudflared accepts that are not URLs (``ingress.go``, ``validate``).
_SPECIAL_SERVICES = ("hello_world", "hello-world", "helloworld", "bastion")
#: Text a later stage fills in (Helm ``tpl``, Flux post-build): opaque here.
TEMPLATE = re.compile(r"\{\{.*?\}\}|\$\{[^}]*\}")


def service_problem(service: Any) -> str | None:
    """Why cloudflared would refuse this ``service``, or None (unknown forms pass)."""
    if not isinstance(service, str) or not service:
        return "must have a `service` (a URL such as `https://host:443`, or `http_status:404`)"
    bare = TEMPLATE.sub("x", service)
    if bare.startswith("http_status:"):
        code = bare.removeprefix("http_status:")
        return None if code.isdigit() else f"`service` {service!r} must be `http_status:` and a number"
    if bare.startswith(("unix:", "unix+tls:")) or bare in _SPECIAL_SERVICES:
        return None
    try:
        url = urlsplit(bare)
    except ValueError:
        return f"`service` {service!r} must be a URL with a scheme and a hostname"
    if not url.scheme or not url.hostname:
        # A template may stand for the whole URL; only the rendered text can tell.
        return None if bare != service else f"`service` {service!r} must be a URL with a scheme and a hostname"
    if url.path:
        return f"`service` {service!r} must not have a path (cloudflared proxies the request's own path)"
    return None
