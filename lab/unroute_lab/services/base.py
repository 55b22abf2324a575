"""What every emulated service provides to the supervisor (see docs/lab.md)."""

from __future__ import annotations

import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, unquote, urlsplit


class LabService:
    """Base class: one service of the lab, an emulated platform (Google, Exchange Online, WinRM...) or real
    software (BIND, Postfix, sshd).

    Subclasses set ``name`` (its key in lab.json's ``services``) and ``section`` (the estate key that makes it
    wanted) and implement ``start`` (and ``state``/``host_vars`` where they have any). An emulator's state lives
    in memory for the life of the lab and changes only through the emulated API.
    """

    name = ""
    section = ""
    # Where it runs. False: an emulator, in threads of the supervisor process (state and faults through its
    # control endpoint). True: real software in processes of its own, started by 'unroute-lab up' itself,
    # which records their ids (ctx.pids) in pids.json for 'down'.
    process = False

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

    def publish(self, services, entry):
        """Put ``entry`` (what start() returned) in lab.json's ``services``; a service that completes another's
        entry (the BIND secondary, the mail servers' sshd) overrides this."""
        services[self.name] = entry

    @classmethod
    def down(cls, directory):
        """What 'unroute-lab down' must do for this service beyond ending the processes in pids.json."""

    def stop(self):
        server = getattr(self, "server", None)
        if server is not None:
            server.shutdown()
            server.server_close()

    def serve_https(self, handler_class, cert_name):
        """Serve ``handler_class`` over TLS (lab CA) on a free loopback port, in a thread; return the port."""
        return self.serve_http(handler_class, tls=self.ctx.pki.server_context(cert_name))

    def serve_http(self, handler_class, tls=None):
        """Serve ``handler_class`` (its ``svc`` set to this service) on a free loopback port, in a thread;
        return the port. With ``tls`` (an ssl context) the listener speaks HTTPS."""
        handler = type(handler_class.__name__, (handler_class,), {"svc": self})
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
        self.server.daemon_threads = True
        if tls is not None:
            # Handshake in the request thread, so a stalled client cannot block the accept loop.
            self.server.socket = tls.wrap_socket(self.server.socket, server_side=True,
                                                 do_handshake_on_connect=False)
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


class LabHandler(BaseHTTPRequestHandler):
    """The HTTP plumbing every emulated API shares; a service's handler adds only its routes and wire format.

    ``svc`` is the :class:`LabService` (set by :meth:`LabService.serve_http`). Answers always carry
    Content-Length, so clients can keep the connection alive.
    """

    svc = None
    # Headers and body leave in separate writes: without TCP_NODELAY a kept-alive connection waits for the
    # client's delayed ACK (about 40 ms) between them.
    disable_nagle_algorithm = True
    json_type = "application/json"
    json_options = {}   # json.dumps keywords (indent...) of this API's answers

    def log_message(self, *args):
        pass

    def read_body(self):
        length = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(length) if length else b""

    def split_path(self):
        """The decoded path segments and the query (last value of each key)."""
        url = urlsplit(self.path)
        return ([unquote(p) for p in url.path.split("/") if p],
                {k: v[-1] for k, v in parse_qs(url.query).items()})

    def common_headers(self):
        """Headers every answer of this API carries (a request id...)."""
        return ()

    def send_bytes(self, status, data=b"", content_type=None, headers=()):
        """One answer; ``headers`` is a mapping or (name, value) pairs, sent after the framing ones."""
        self.send_response(status)
        for key, value in self.common_headers():
            self.send_header(key, value)
        if content_type:
            self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(data)))
        for key, value in (headers.items() if isinstance(headers, dict) else headers):
            self.send_header(key, value)
        self.end_headers()
        if data:
            self.wfile.write(data)

    def send_json(self, status, body=None, headers=()):
        """``body`` as JSON (no body and no Content-Type when it is None)."""
        data = b"" if body is None else json.dumps(body, **self.json_options).encode()
        self.send_bytes(status, data, self.json_type if data else None, headers)


class LabContext:
    """What a service starts from: the estate, the lab folder, the lab CA; for process services also the
    manifest entries published so far (``services``) and the process ids to record (``pids``, name -> pid)."""

    def __init__(self, estate, directory, pki, services=None, pids=None):
        self.estate = estate
        self.dir = directory
        self.pki = pki
        self.services = {} if services is None else services
        self.pids = {} if pids is None else pids
