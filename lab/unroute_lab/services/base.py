"""What every emulated service provides to the supervisor (see docs/lab.md)."""

from __future__ import annotations

import json
import math
import threading
import time
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
    # What the vendor does beyond its rate when the estate does not say (Cloudflare's 5-minute block).
    budget_defaults = {}

    def __init__(self, ctx):
        self.ctx = ctx  # LabContext: estate, dir, pki
        self.lock = threading.RLock()
        self.faults = []
        estate = getattr(ctx, "estate", None)
        spec = estate.budget(self.name) if estate is not None and hasattr(estate, "budget") else None
        # The vendor's rate limit, when the estate sets one for this service (docs/lab.md "Budgets").
        self.budget = Budget(dict(self.budget_defaults, **spec)) if spec else None

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


class Budget:
    """A vendor's rate limit as an emulator enforces it: a token bucket per account (``rate`` requests per ``per``
    seconds, holding at most ``burst``, default ``rate``), a separate one for writes where the vendor counts
    them apart (``writes``: the same keys), and, for a vendor that blocks an account once it is over
    (Cloudflare), ``block`` seconds during which every call is refused. Each service answers a refusal in its
    vendor's words; this only counts."""

    def __init__(self, spec, clock=time.monotonic):
        self.rate = float(spec["rate"]) / float(spec.get("per", 1.0))
        self.burst = float(spec.get("burst") or spec["rate"])
        self.block = float(spec.get("block") or 0)
        writes = spec.get("writes")
        self.writes = Budget(dict(writes, block=0), clock) if isinstance(writes, dict) else None
        self.clock = clock
        self.lock = threading.Lock()
        self.buckets = {}      # account -> [level, at]
        self.blocked = {}      # account -> monotonic time the block ends
        self.refused = 0
        self.accepted = 0

    def take(self, account, write=False):
        """None when the request may go on (one token spent); else the seconds until it could (Retry-After)."""
        if write and self.writes is not None:
            return self.writes.take(account)
        with self.lock:
            now = self.clock()
            until = self.blocked.get(account, 0.0)
            if now < until:
                self.refused += 1
                return until - now
            level, at = self.buckets.get(account, (self.burst, now))
            level = min(self.burst, level + (now - at) * self.rate)
            if level >= 1.0:
                self.buckets[account] = (level - 1.0, now)
                self.accepted += 1
                return None
            self.buckets[account] = (level, now)
            self.refused += 1
            if self.block:
                self.blocked[account] = now + self.block
                return self.block
            return (1.0 - level) / self.rate

    def remaining(self, account, write=False):
        """Whole requests left in the account's bucket now (the x-ms-ratelimit-remaining-* kind of header)."""
        if write and self.writes is not None:
            return self.writes.remaining(account)
        with self.lock:
            now = self.clock()
            level, at = self.buckets.get(account, (self.burst, now))
            return int(min(self.burst, level + (now - at) * self.rate))

    @staticmethod
    def seconds(value):
        """A Retry-After value: whole seconds, rounded up (never 0 for a real wait)."""
        return str(max(1, int(math.ceil(value))))


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
