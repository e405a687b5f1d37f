"""`--http`: one HTTPS request per apex and per tunnelled wildcard, to catch the apex-404.

cloudflared answers a name that no ingress rule matches with its catch-all, which in
every setup we serve is ``http_status:404``; the cluster-template's tunnel has only a
``*.<domain>`` rule, so the apex gets that 404 (domain-facts §4.5). A request to ``/``
that returns 404 is therefore reported as the apex-404 when the plan has no rule for the
apex, and as a plain 404 otherwise.
"""

from __future__ import annotations

import http.client
import socket
import ssl
from dataclasses import dataclass

from krmfn.verify.plandoc import Host
from krmfn.verify.report import Check


@dataclass(frozen=True)
class Response:
    status: int | None = None
    error: str | None = None


def request(address: str, port: int, hostname: str, cafile: str | None, timeout: float) -> Response:
    """``GET /`` for *hostname* at *address*:*port* (SNI and Host are the hostname)."""
    context = ssl.create_default_context(cafile=cafile) if cafile else ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    context.check_hostname = False
    if cafile is None:
        context.verify_mode = ssl.CERT_NONE  # the TLS checks judge the certificate; this is about routing
    try:
        with (
            socket.create_connection((address, port), timeout=timeout) as raw,
            context.wrap_socket(raw, server_hostname=hostname) as tls,
        ):
            tls.sendall(
                f"GET / HTTP/1.1\r\nHost: {hostname}\r\nUser-Agent: krmfn-verify\r\nConnection: close\r\n\r\n".encode()
            )
            response = http.client.HTTPResponse(tls)
            response.begin()
            return Response(status=response.status)
    except (OSError, ssl.SSLError, http.client.HTTPException) as exc:
        return Response(error=f"no HTTP answer from {address}:{port}: {exc}")


def judge(response: Response, host: Host, url_name: str, apex: bool, tunnelled: bool) -> Check:
    """*tunnelled*: some name of the domain has a tunnel rule, so the tunnel is in front of it."""
    expected = "a response from the service (not 404 or 5xx)"
    url = f"https://{url_name}/"
    if response.status is None:
        return Check("http", "fail", response.error or "no answer", expected, None)
    found = f"{response.status} for {url}"
    if response.status == 404:
        if apex and tunnelled and host.tunnel_rule is None:
            return Check(
                "http",
                "fail",
                "apex-404: no tunnel rule matches the apex, so the tunnel's catch-all answers 404 "
                "(the plan has no rule for it: add the apex to the tunnel's ingress rules)",
                expected,
                found,
            )
        rule = f" although the tunnel rule {host.tunnel_rule} matches it" if host.tunnel_rule else ""
        return Check("http", "fail", f"404{rule}: no route answers {url}", expected, found)
    if response.status >= 500:
        return Check("http", "fail", f"{response.status}: the origin behind the name failed", expected, found)
    return Check("http", "pass", "answered", expected, found)
