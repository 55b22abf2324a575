"""What every emulated service provides to the supervisor (see docs/lab.md)."""

from __future__ import annotations

import threading
from http.server import ThreadingHTTPServer


class LabService:
    """Base class: one emulated platform (Google, Exchange Online, WinRM...).

    Subclasses set ``name`` and ``section`` (the estate key they read) and
    implement ``start``/``stop``/``state``/``host_vars``. State lives in memory
    for the life of the lab and changes only through the emulated API.
    """

    name = ""
    section = ""

    def __init__(self, ctx):
        self.ctx = ctx  # LabContext: estate, dir, pki
        self.lock = threading.RLock()
        self.faults = []

    @classmethod
    def wanted(cls, estate):
        return bool(estate.with_section(cls.section or cls.name))

    def start(self):
        """Start listening; return this service's manifest entry (endpoints, credential paths)."""
        raise NotImplementedError

    def stop(self):
        server = getattr(self, "server", None)
        if server is not None:
            server.shutdown()
            server.server_close()

    def serve_https(self, handler_class, cert_name):
        """Serve ``handler_class`` over TLS (lab CA) on a free loopback port, in a thread; return the port."""
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), handler_class)
        self.server.daemon_threads = True
        tls = self.ctx.pki.server_context(cert_name)
        # Handshake in the request thread, so a stalled client cannot block the accept loop.
        self.server.socket = tls.wrap_socket(self.server.socket, server_side=True, do_handshake_on_connect=False)
        threading.Thread(target=self.server.serve_forever, kwargs={"poll_interval": 0.2}, daemon=True).start()
        return self.server.server_address[1]

    def state(self):
        """The service's full current state as JSON-serialisable data."""
        raise NotImplementedError

    def host_vars(self, domain):
        """Inventory variables the playbooks need for ``domain`` (no secrets inline: file paths/lookups)."""
        return {}

    # -- faults ----------------------------------------------------------------
    def set_fault(self, spec):
        """Switch a fault on. ``spec``: {"kind": ..., "count": n (default 1, -1 = until cleared), ...}."""
        spec = dict(spec)
        spec.setdefault("count", 1)
        with self.lock:
            self.faults.append(spec)
        return spec

    def clear_faults(self):
        with self.lock:
            self.faults = []

    def take_fault(self, *kinds, **match):
        """Consume and return the first armed fault among ``kinds`` matching ``match`` (or None)."""
        with self.lock:
            for spec in self.faults:
                if spec.get("kind") not in kinds:
                    continue
                if any(spec.get(k) not in (None, v) for k, v in match.items()):
                    continue
                if spec["count"] > 0:
                    spec["count"] -= 1
                    if spec["count"] == 0:
                        self.faults.remove(spec)
                return spec
        return None


class LabContext:
    def __init__(self, estate, directory, pki):
        self.estate = estate
        self.dir = directory
        self.pki = pki
