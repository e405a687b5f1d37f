"""Real servers on loopback for the verify tests: Knot DNS, and a TLS/HTTPS server with SNI.

Both listen on 127.0.0.1 only, on a free port, with bounded waits, and stop completely
(process reaped, threads joined) when the test module is done.
"""

from __future__ import annotations

import http.server
import shutil
import socket
import ssl
import subprocess
import threading
import time
from pathlib import Path
from types import TracebackType
from typing import Any

import dns.exception
import dns.message
import dns.query
import trustme

KNOTD = shutil.which("knotd") or "/usr/sbin/knotd"
START_TIMEOUT = 15.0


def free_port() -> int:
    """A port free for both UDP and TCP on 127.0.0.1."""
    for _ in range(50):
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as udp:
            udp.bind(("127.0.0.1", 0))
            port = int(udp.getsockname()[1])
            with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as tcp:
                try:
                    tcp.bind(("127.0.0.1", port))
                except OSError:
                    continue
            return port
    raise RuntimeError("no free port on 127.0.0.1")


class Knot:
    """knotd in the foreground, serving the given zones (origin -> zone text) from *root*."""

    def __init__(self, root: Path, zones: dict[str, str]) -> None:
        if not Path(KNOTD).exists():
            raise RuntimeError("knotd is not installed: run scripts/setup (it installs the Debian package `knot`)")
        self.root = root
        self.zones = zones
        self.port = free_port()
        self.process: subprocess.Popen[bytes] | None = None

    def __enter__(self) -> Knot:
        self.start()
        return self

    def __exit__(self, *exc: type[BaseException] | BaseException | TracebackType | None) -> None:
        self.stop()

    def start(self) -> None:
        self.root.mkdir(parents=True, exist_ok=True)
        for origin, text in self.zones.items():
            (self.root / f"{origin}.zone").write_text(text)
        zone_list = "\n".join(f"  - domain: {origin}" for origin in self.zones)
        (self.root / "knot.conf").write_text(
            f"""server:
    rundir: "{self.root}"
    listen: 127.0.0.1@{self.port}
    udp-workers: 2
    tcp-workers: 1
    background-workers: 1
database:
    storage: "{self.root}/db"
    journal-db-max-size: 16M
    kasp-db-max-size: 16M
    timer-db-max-size: 16M
    catalog-db-max-size: 16M
control:
    listen: "{self.root}/knot.sock"
log:
  - target: stderr
    any: warning
template:
  - id: default
    storage: "{self.root}"
    file: "%s.zone"
zone:
{zone_list}
"""
        )
        self.log = (self.root / "knotd.log").open("wb")
        self.process = subprocess.Popen(
            [KNOTD, "--config", str(self.root / "knot.conf")], stdout=self.log, stderr=subprocess.STDOUT
        )
        origin = next(iter(self.zones))
        end = time.monotonic() + START_TIMEOUT
        while time.monotonic() < end:
            if self.process.poll() is not None:
                break
            try:
                answer = dns.query.udp(dns.message.make_query(origin, "SOA"), "127.0.0.1", timeout=0.2, port=self.port)
            except (OSError, dns.exception.Timeout):
                time.sleep(0.05)
                continue
            if answer.answer:
                return
            time.sleep(0.05)
        self.stop()
        raise RuntimeError(f"knotd did not serve {origin}: {(self.root / 'knotd.log').read_text()[-2000:]}")

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=10)
        self.process = None
        self.log.close()

    @property
    def nameserver(self) -> str:
        return f"127.0.0.1:{self.port}"


class _Handler(http.server.BaseHTTPRequestHandler):
    server: _TLSHTTPServer

    def setup(self) -> None:
        self.request.settimeout(5)
        self.request.do_handshake()  # here, in the request's thread, not in accept()
        super().setup()

    def do_GET(self) -> None:
        host = (self.headers.get("Host") or "").split(":")[0]
        with self.server.lock:
            self.server.requests.append(host)
        self.send_response(self.server.statuses.get(host, 200))
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, format: str, *args: Any) -> None:
        pass


class _TLSHTTPServer(http.server.ThreadingHTTPServer):
    daemon_threads = False  # server_close() joins them: nothing outlives the test
    tls: ssl.SSLContext
    statuses: dict[str, int]
    requests: list[str]
    lock: threading.Lock

    def get_request(self) -> tuple[Any, Any]:
        sock, address = self.socket.accept()
        return self.tls.wrap_socket(sock, server_side=True, do_handshake_on_connect=False), address

    def handle_error(self, request: Any, client_address: Any) -> None:
        pass  # verify's TLS check hangs up right after the handshake


class TLSServer:
    """HTTPS on 127.0.0.1 with a certificate per SNI name (the default for any other name)."""

    def __init__(self, certs: dict[str, trustme.LeafCert], default: trustme.LeafCert, statuses: dict[str, int]) -> None:
        self.contexts = {name: self._context(cert) for name, cert in certs.items()}
        self.default = self._context(default)
        self.server_names: list[str | None] = []
        self.server = _TLSHTTPServer(("127.0.0.1", 0), _Handler)
        self.server.tls = self.default
        self.server.statuses = statuses
        self.server.requests = []
        self.server.lock = threading.Lock()
        self.default.sni_callback = self._pick
        self.port = int(self.server.server_address[1])
        self.thread = threading.Thread(target=self.server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)

    @staticmethod
    def _context(cert: trustme.LeafCert) -> ssl.SSLContext:
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        cert.configure_cert(context)
        return context

    def _pick(self, conn: ssl.SSLObject, name: str | None, _: ssl.SSLContext) -> None:
        with self.server.lock:
            self.server_names.append(name)
        conn.context = self.contexts.get(name or "", self.default)

    def __enter__(self) -> TLSServer:
        self.thread.start()
        return self

    def __exit__(self, *exc: type[BaseException] | BaseException | TracebackType | None) -> None:
        self.server.shutdown()
        self.server.server_close()
        self.thread.join(timeout=10)

    @property
    def requests(self) -> list[str]:
        return list(self.server.requests)

    @property
    def connect(self) -> str:
        return f"127.0.0.1:{self.port}"
