"""A real PowerDNS Authoritative (Debian's pdns_server, sqlite3 backend) for the lab's PowerDNS zones.

Its own config dir, DNS and API on loopback ports, a random API key in a 0600 file. Zones are created
through the server's own HTTP API, the way an operator's tooling would.
"""

from __future__ import annotations

import json
import os
import secrets
import shutil
import signal
import sqlite3
import subprocess
import tempfile
import urllib.request
from pathlib import Path

from ..ports import free_port
from .hosted_dns import HostedDnsService, dump_lines, rrsets

SCHEMA_CANDIDATES = ("/usr/share/doc/pdns-backend-sqlite3/schema.sqlite3.sql",
                     "/usr/share/pdns-backend-sqlite3/schema/schema.sqlite3.sql")


def pdns_binary():
    for candidate in ("/usr/sbin/pdns_server", shutil.which("pdns_server") or ""):
        if candidate and os.access(candidate, os.X_OK):
            return candidate
    raise RuntimeError("PowerDNS is not installed (pdns_server not found): run scripts/setup.sh or "
                       "'apt-get install pdns-server pdns-backend-sqlite3'")


class PowerDnsService(HostedDnsService):
    name = "powerdns"
    # Zones written through dns-lexicon's powerdns provider live on the same real server.
    holds = ("powerdns", "lexicon")

    @classmethod
    def wanted(cls, estate):
        return any(d.dns_provider in cls.holds for d in estate.domains)

    def domains(self):
        return [d for d in self.ctx.estate.domains if d.dns_provider in self.holds]

    def start(self):
        self.dir = Path(self.ctx.dir) / "powerdns"
        if self.dir.exists():
            shutil.rmtree(self.dir)
        self.dir.mkdir(parents=True)
        schema = next((p for p in SCHEMA_CANDIDATES if os.path.exists(p)), None)
        if schema is None:
            raise RuntimeError("the PowerDNS sqlite3 schema is missing: apt-get install pdns-backend-sqlite3")
        db = self.dir / "pdns.sqlite3"
        with sqlite3.connect(str(db)) as conn:
            conn.executescript(Path(schema).read_text())
        self.key = secrets.token_urlsafe(24)
        self.key_file = self.dir / "api.key"
        fd = os.open(str(self.key_file), os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w") as handle:
            handle.write(self.key + "\n")
        self.dns_port = free_port(udp_too=True)
        self.api_port = free_port()
        (self.dir / "pdns.conf").write_text("\n".join([
            "launch=gsqlite3",
            "gsqlite3-database=%s" % db,
            "local-address=127.0.0.1",
            "local-port=%d" % self.dns_port,
            "socket-dir=%s" % self._socket_dir(),
            "api=yes",
            "api-key=%s" % self.key,
            "webserver=yes",
            "webserver-address=127.0.0.1",
            "webserver-port=%d" % self.api_port,
            "webserver-allow-from=127.0.0.0/8",
            "guardian=no",
            "daemon=no",
            "disable-syslog=yes",
            "loglevel=4",
            "distributor-threads=1",
            "receiver-threads=1",
            # The same server also takes RFC 2136 updates, for users who want a guarded write against it.
            "dnsupdate=yes",
            "default-soa-content=ns1.pdns-lab.test. hostmaster.@ 0 10800 3600 604800 3600",
        ]) + "\n")
        self.log = open(self.dir / "pdns.log", "ab")
        self.process = subprocess.Popen([pdns_binary(), "--config-dir=%s" % self.dir], stdout=self.log,
                                        stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)
        self.url = "http://127.0.0.1:%d" % self.api_port
        self._wait()
        for domain in self.domains():
            self.create_zone(domain)
        return {"url": self.url, "endpoint": self.url, "api_key_file": str(self.key_file),
                "server_id": "localhost", "dns_port": self.dns_port, "log": str(self.dir / "pdns.log"),
                "zones": [d.name for d in self.domains()]}

    def _socket_dir(self):
        """A UNIX socket path holds at most 107 bytes; a deep lab folder (pytest's) gets a short one in /tmp."""
        if len(str(self.dir / "pdns.controlsocket")) < 100:
            return self.dir
        self.short_dir = tempfile.mkdtemp(prefix="unroute-pdns-")
        return self.short_dir

    def _wait(self, timeout=20.0):
        self.wait_answering(lambda: self.api("GET", ""), "pdns_server", timeout)

    def api(self, method, path, body=None):
        req = urllib.request.Request("%s/api/v1/servers/localhost%s" % (self.url, path), method=method,
                                     data=None if body is None else json.dumps(body).encode(),
                                     headers={"X-API-Key": self.key, "Content-Type": "application/json"})
        with urllib.request.urlopen(req, timeout=10) as resp:
            data = resp.read()
            return json.loads(data) if data else None

    def create_zone(self, domain):
        sets = [{"name": name, "type": rdtype, "ttl": ttl, "changetype": "REPLACE",
                 "records": [{"content": v, "disabled": False} for v in values]}
                for name, rdtype, ttl, values in rrsets(domain)]
        self.api("POST", "/zones", {"name": domain.name + ".", "kind": "Native", "soa_edit_api": "DEFAULT",
                                    "nameservers": domain.nameservers, "rrsets": sets})

    def records(self, zone):
        data = self.api("GET", "/zones/%s." % zone)
        return dump_lines((s["name"], s["type"], s["ttl"], [r["content"] for r in s["records"] if not r["disabled"]])
                          for s in data.get("rrsets", []) if s["type"] not in ("SOA", "NS") or
                          s["name"].lower() != zone + ".")

    def host_vars(self, domain):
        if domain.dns_provider == "lexicon":
            return {"unroute_dns_provider": "lexicon", "unroute_dns_lexicon_provider": "powerdns",
                    "unroute_dns_lexicon_options": {
                        "pdns_server": self.url,
                        "auth_token": "{{ lookup('ansible.builtin.file', '%s') }}" % self.key_file}}
        if domain.dns_provider != self.provider:
            return {}
        return {"unroute_dns_provider": "powerdns", "unroute_dns_powerdns_api_url": self.url,
                "unroute_dns_powerdns_api_key": "{{ lookup('ansible.builtin.file', '%s') }}" % self.key_file}

    def stop(self):
        process = getattr(self, "process", None)
        if process is not None and process.poll() is None:
            process.send_signal(signal.SIGTERM)
            try:
                process.wait(10)
            except subprocess.TimeoutExpired:
                process.kill()
        if getattr(self, "short_dir", None):
            shutil.rmtree(self.short_dir, ignore_errors=True)
