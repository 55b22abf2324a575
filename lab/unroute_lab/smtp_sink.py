"""A minimal SMTP sink (RFC 5321 dialogue, no relaying) that keeps what it is handed, for mail-flow checks.

In the lab it stands for mxHero's relay (and for the customer's own relay), so a Postfix instance can be
seen handing mail to mxHero before a run and no longer after it. Run as a process:
``python -m unroute_lab.smtp_sink --listen mxhero=127.0.0.2 --listen customer=127.0.0.3 --spool DIR --ready FILE``
(free ports; FILE gets {name: port} when every listener is up; each message is kept as DIR/NAME/N.eml).
"""

from __future__ import annotations

import argparse
import json
import signal
import socketserver
import sys
import threading
from pathlib import Path


class _Handler(socketserver.StreamRequestHandler):
    def handle(self):
        self.wfile.write(b"220 sink.lab.test ESMTP\r\n")
        message, in_data = [], False
        for raw in self.rfile:
            line = raw.decode("utf-8", "replace").rstrip("\r\n")
            if in_data:
                if line == ".":
                    in_data = False
                    self.server.keep("\n".join(message))
                    message = []
                    self.wfile.write(b"250 2.0.0 queued\r\n")
                else:
                    message.append(line[1:] if line.startswith("..") else line)
                continue
            verb = line.split(" ", 1)[0].upper()
            if verb in ("EHLO", "HELO"):
                self.wfile.write(b"250 sink.lab.test\r\n")
            elif verb == "DATA":
                in_data = True
                self.wfile.write(b"354 go ahead\r\n")
            elif verb == "QUIT":
                self.wfile.write(b"221 bye\r\n")
                return
            else:
                self.wfile.write(b"250 ok\r\n")


class Sink(socketserver.ThreadingTCPServer):
    daemon_threads = True
    allow_reuse_address = True

    def __init__(self, address, port=0, spool=None):
        socketserver.ThreadingTCPServer.__init__(self, (address, port), _Handler)
        self.messages = []
        self.spool = Path(spool) if spool else None
        if self.spool:
            self.spool.mkdir(parents=True, exist_ok=True)
        self._lock = threading.Lock()
        self.thread = threading.Thread(target=self.serve_forever, daemon=True)
        self.thread.start()

    def keep(self, text):
        with self._lock:
            self.messages.append(text)
            if self.spool:
                (self.spool / ("%d.eml" % len(self.messages))).write_text(text + "\n")

    @property
    def port(self):
        return self.server_address[1]

    def stop(self):
        self.shutdown()
        self.server_close()


def received(spool):
    """Messages a sink process kept in ``spool`` (one folder of N.eml files), oldest first."""
    spool = Path(spool)
    files = sorted(spool.glob("*.eml"), key=lambda p: int(p.stem)) if spool.is_dir() else []
    return [p.read_text() for p in files]


def main(argv=None):
    parser = argparse.ArgumentParser(prog="unroute-lab-smtp-sink")
    parser.add_argument("--listen", action="append", required=True, help="NAME=ADDRESS (a free port is chosen)")
    parser.add_argument("--spool", required=True)
    parser.add_argument("--ready", required=True)
    args = parser.parse_args(argv)
    sinks = {}
    for spec in args.listen:
        name, address = spec.split("=", 1)
        sinks[name] = Sink(address, spool=Path(args.spool) / name)
    ready = Path(args.ready)
    ready.with_suffix(".tmp").write_text(json.dumps({n: {"address": s.server_address[0], "port": s.port}
                                                     for n, s in sinks.items()}))
    ready.with_suffix(".tmp").rename(ready)
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    signal.signal(signal.SIGINT, lambda *_: stop.set())
    stop.wait()
    for sink in sinks.values():
        sink.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
