"""An HTTP CONNECT proxy, as customers' egress proxies are, that remembers what went through it.

Users behind a proxy set HTTPS_PROXY in a task's ``environment:``; the lab's proxy
lets a test show that the Google and Microsoft 365 requests really took that path.
TLS stays end to end (CONNECT tunnels bytes), so the services' certificates are
checked as they would be through a real proxy. Only loopback targets are allowed:
the lab never reaches beyond this machine.
"""

from __future__ import annotations

import select
import socket
import socketserver
import threading
import time

from .base import LabService

_LOOPBACK = ("127.0.0.1", "localhost", "::1")


class ProxyService(LabService):
    name = "proxy"
    section = ""

    @classmethod
    def wanted(cls, estate):
        return bool(estate.with_section("google") or estate.with_section("microsoft365"))

    def __init__(self, ctx):
        super().__init__(ctx)
        self.seen = []

    def start(self):
        service = self

        class Handler(socketserver.StreamRequestHandler):
            def handle(self):
                service.handle(self)

        self.server = socketserver.ThreadingTCPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        threading.Thread(target=self.server.serve_forever, kwargs={"poll_interval": 0.2}, daemon=True).start()
        return {"url": "http://127.0.0.1:%d" % self.server.server_address[1]}

    def state(self):
        with self.lock:
            return {"requests": list(self.seen)}

    def handle(self, conn):
        line = conn.rfile.readline(8192).decode("latin-1").strip()
        while conn.rfile.readline(8192) not in (b"\r\n", b"\n", b""):
            pass  # headers: nothing in them matters to a tunnel
        parts = line.split()
        if len(parts) != 3 or parts[0].upper() != "CONNECT":
            conn.wfile.write(b"HTTP/1.1 405 Method Not Allowed\r\nAllow: CONNECT\r\nContent-Length: 0\r\n\r\n")
            return
        host, _, port = parts[1].rpartition(":")
        host = host.strip("[]")
        with self.lock:
            self.seen.append({"method": "CONNECT", "target": parts[1], "at": time.time()})
        if host not in _LOOPBACK or not port.isdigit():
            conn.wfile.write(b"HTTP/1.1 403 Forbidden\r\nContent-Length: 0\r\n\r\n")
            return
        try:
            upstream = socket.create_connection((host, int(port)), timeout=10)
        except OSError:
            conn.wfile.write(b"HTTP/1.1 502 Bad Gateway\r\nContent-Length: 0\r\n\r\n")
            return
        conn.wfile.write(b"HTTP/1.1 200 Connection established\r\n\r\n")
        conn.wfile.flush()
        _pipe(conn.connection, upstream)


def _pipe(client, upstream):
    sockets = [client, upstream]
    try:
        while True:
            readable, _, broken = select.select(sockets, [], sockets, 60)
            if broken or not readable:
                return
            for sock in readable:
                data = sock.recv(65536)
                if not data:
                    return
                (upstream if sock is client else client).sendall(data)
    except OSError:
        return
    finally:
        upstream.close()
