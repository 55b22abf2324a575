"""The process that hosts every emulated service of a lab and its control endpoint.

Started detached by ``unroute-lab up``; writes ``DIR/supervisor.json`` when ready.
Control API (loopback HTTP, no auth - the lab is local):
  GET  /state                     every service's state
  POST /fault   {"service", ...}  switch a fault on (see LabService.set_fault)
  POST /faults/clear {"service"}  switch faults off
"""

from __future__ import annotations

import argparse
import json
import signal
import sys
import threading
from http.server import ThreadingHTTPServer
from pathlib import Path

from . import estate as estate_mod
from .pki import LabPKI
from .services import load_services
from .services.base import LabContext, LabHandler


def run(directory, estate_path):
    directory = Path(directory)
    estate = estate_mod.load(estate_path)
    ctx = LabContext(estate, directory, LabPKI(directory / "pki"))
    services = {}
    for cls in load_services(process=False):
        if cls.wanted(estate):
            services[cls.name] = cls(ctx)
    manifest = {name: svc.start() for name, svc in services.items()}
    host_vars = {}
    for domain in estate.domains:
        merged = {}
        for svc in services.values():
            merged.update(svc.host_vars(domain) or {})
        if merged:
            host_vars[domain.name] = merged

    class Handler(LabHandler):
        json_options = {"indent": 1, "sort_keys": True, "default": str}

        def _send(self, code, body):
            self.send_json(code, body)

        def do_GET(self):
            if self.path == "/state":
                return self._send(200, {name: svc.state() for name, svc in services.items()})
            if self.path.startswith("/state?"):
                # One zone of one hosted-DNS service (what the tests read after every run).
                from urllib.parse import parse_qs, urlsplit
                query = dict((k, v[0]) for k, v in parse_qs(urlsplit(self.path).query).items())
                svc = services.get(query.get("service"))
                if svc is None:
                    return self._send(404, {"error": "no such service %r" % query.get("service")})
                try:
                    return self._send(200, svc.state(zone=query.get("zone")))
                except Exception as err:  # noqa: B902 - the lab reports, the test decides
                    return self._send(500, {"error": "%s: %s" % (type(err).__name__, err)})
            return self._send(404, {"error": "unknown path"})

        def do_POST(self):
            try:
                body = json.loads(self.read_body() or b"{}")
            except ValueError:
                return self._send(400, {"error": "body is not JSON"})
            svc = services.get(body.get("service"))
            if svc is None:
                return self._send(404, {"error": "no such service %r; running: %s"
                                        % (body.get("service"), sorted(services))})
            spec = {k: v for k, v in body.items() if k != "service"}
            if self.path == "/fault":
                return self._send(200, svc.set_fault(spec))
            if self.path == "/faults/clear":
                svc.clear_faults()
                return self._send(200, {"cleared": svc.name})
            return self._send(404, {"error": "unknown path"})

    control = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    control.daemon_threads = True
    info = {"control_port": control.server_address[1], "services": manifest, "host_vars": host_vars}
    tmp = directory / "supervisor.json.tmp"
    tmp.write_text(json.dumps(info, indent=1, sort_keys=True))
    tmp.rename(directory / "supervisor.json")

    stop = threading.Event()

    def _stop(*_):
        stop.set()
        threading.Thread(target=control.shutdown, daemon=True).start()

    signal.signal(signal.SIGTERM, _stop)
    signal.signal(signal.SIGINT, _stop)
    control.serve_forever(poll_interval=0.2)
    for svc in services.values():
        svc.stop()


def main(argv=None):
    parser = argparse.ArgumentParser(prog="unroute-lab-supervisor")
    parser.add_argument("--dir", required=True)
    parser.add_argument("--estate", required=True)
    args = parser.parse_args(argv)
    run(args.dir, args.estate)
    return 0


if __name__ == "__main__":
    sys.exit(main())
