"""Drive a real BIND 9 (Debian's named) for the lab: config, zones, start, stop, dump."""

from __future__ import annotations

import base64
import os
import secrets
import shutil
import signal
import subprocess
import time
from pathlib import Path

import dns.message
import dns.name
import dns.query
import dns.rcode
import dns.rdatatype
import dns.tsig
import dns.tsigkeyring
import dns.zone

from .estate import MANUAL_HOSTS, zone_text
from .ports import free_port
from .services.base import LabService

KEY_NAME = "unroute"
KEY_ALGORITHM = "hmac-sha256"
# The lab's secondary (secondary.py) listens here, at the primary's port.
SECONDARY_ADDRESS = "127.0.0.2"
NAMED_CANDIDATES = ("/usr/sbin/named", "/usr/bin/named")


def named_binary():
    for candidate in NAMED_CANDIDATES + (shutil.which("named") or "",):
        if candidate and os.access(candidate, os.X_OK):
            return candidate
    raise RuntimeError("BIND 9 is not installed (named not found): run scripts/setup.sh or "
                       "'apt-get install bind9 bind9-utils bind9-dnsutils'")


class Bind:
    """One named process serving every zone of the estate from ``directory``."""

    def __init__(self, directory):
        self.dir = Path(directory)
        self.conf = self.dir / "named.conf"
        self.secret_file = self.dir / "tsig.secret"

    def write(self, domains):
        self.dir.mkdir(parents=True, exist_ok=True)
        # A journal left by an earlier lab in this folder would replay its updates over the fresh zones.
        for stale in list(self.dir.glob("*.jnl")) + list(self.dir.glob("*.zone")):
            stale.unlink()
        secret = base64.b64encode(secrets.token_bytes(32)).decode()
        self.secret_file.write_text(secret + "\n")
        self.secret_file.chmod(0o600)
        self.port = free_port(udp_too=True)
        zones = []
        for domain in domains:
            (self.dir / ("%s.zone" % domain.name)).write_text(zone_text(domain))
            # A zone hosted elsewhere is only the public delegation here: nobody may write this copy.
            if domain.updates_allowed and domain.dns_provider == "bind":
                policy = "update-policy { grant %s zonesub ANY; };" % KEY_NAME
            else:
                policy = "allow-update { none; };"
            if domain.secondary:
                # Only the lab's secondary hears of changes, at once (the default waits 5 s per zone). The
                # source is pinned: to 127.0.0.2 the kernel would send from 127.0.0.2, and a secondary refuses
                # a NOTIFY that does not come from its primary.
                policy += (" notify explicit; also-notify { %s port %d; }; notify-delay 0; notify-source %s;"
                           % (SECONDARY_ADDRESS, self.port, "127.0.0.1"))
            # A zone whose server refuses the collection's (signed) AXFR still hands the lab's own tools an
            # unsigned transfer from the loopback address, so dump_zone works for every zone.
            transfer = "key %s;" % KEY_NAME if domain.axfr else "!key %s; 127.0.0.1;" % KEY_NAME
            zones.append('zone "%s" { type primary; file "%s.zone"; %s allow-transfer { %s }; };'
                         % (domain.name, domain.name, policy, transfer))
        self.conf.write_text("\n".join([
            'key "%s" { algorithm %s; secret "%s"; };' % (KEY_NAME, KEY_ALGORITHM, secret),
            "options {",
            '  directory "%s";' % self.dir,
            '  pid-file "%s";' % (self.dir / "named.pid"),
            '  session-keyfile "%s";' % (self.dir / "session.key"),
            '  managed-keys-directory "%s";' % self.dir,
            "  listen-on port %d { 127.0.0.1; };" % self.port,
            "  listen-on-v6 { none; };",
            "  recursion no;",
            "  notify no;",
            "  dnssec-validation no;",
            "  allow-query { any; };",
            "};",
            "controls { };",
        ] + zones) + "\n")
        return self

    def start(self, first_zone=None, timeout=20.0):
        log = open(self.dir / "named.log", "ab")
        # -g: foreground, log to stderr; -n 1: one worker keeps a lab of 1,000 zones light.
        self.process = subprocess.Popen([named_binary(), "-g", "-n", "1", "-c", str(self.conf)],
                                        stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                                        start_new_session=True)
        deadline = time.monotonic() + timeout
        probe = dns.message.make_query(first_zone or ".", dns.rdatatype.SOA)
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError("named exited at start; see %s" % (self.dir / "named.log"))
            try:
                dns.query.tcp(probe, "127.0.0.1", port=self.port, timeout=1.0)
                return self.process.pid
            except (OSError, dns.exception.DNSException):
                time.sleep(0.1)
        self.process.send_signal(signal.SIGTERM)
        raise RuntimeError("named did not answer within %.0fs; see %s" % (timeout, self.dir / "named.log"))

    def manifest(self, zones):
        return {
            "server": "127.0.0.1",
            "port": self.port,
            "protocol": "tcp",
            "key_name": KEY_NAME,
            "key_algorithm": KEY_ALGORITHM,
            "key_secret_file": str(self.secret_file),
            "zones": zones,
            "log": str(self.dir / "named.log"),
        }


class BindService(LabService):
    """The lab's public DNS: always runs, primary for every zone of the estate."""

    name = "dns"
    process = True

    @classmethod
    def wanted(cls, estate):
        return True

    def start(self):
        domains = self.ctx.estate.domains
        bind = Bind(self.ctx.dir / "bind").write(domains)
        self.ctx.pids["named"] = bind.start(first_zone=domains[0].name if domains else None)
        # The zones the lab's BIND hosts for real; the others are only the public delegation.
        return bind.manifest([d.name for d in domains if d.dns_provider in ("bind",) + MANUAL_HOSTS])


def dump_zone(manifest, zone):
    """Every record of ``zone`` via a TSIG-signed AXFR, as presentation lines (SOA serial dropped)."""
    secret = Path(manifest["key_secret_file"]).read_text().strip()
    keyring = dns.tsigkeyring.from_text({manifest["key_name"]: secret})
    z = _transfer(manifest, zone, keyring)
    lines = []
    for name, node in sorted(z.nodes.items()):
        for rdataset in node.rdatasets:
            if rdataset.rdtype in (dns.rdatatype.SOA, dns.rdatatype.NS):
                continue
            for rdata in sorted(rdataset, key=lambda r: r.to_text()):
                lines.append("%s %d IN %s %s" % (name, rdataset.ttl, dns.rdatatype.to_text(rdataset.rdtype),
                                                 rdata.to_text()))
    return lines


def zone_snapshot(manifest, zone):
    """The whole zone as BIND serves it over AXFR, SOA serial and NS included, as one canonical text.

    Equal snapshots mean nothing was written: every update, even one that ends up with the same records,
    bumps the serial.
    """
    secret = Path(manifest["key_secret_file"]).read_text().strip()
    keyring = dns.tsigkeyring.from_text({manifest["key_name"]: secret})
    return _transfer(manifest, zone, keyring).to_text(sorted=True, relativize=False)


def _transfer(manifest, zone, keyring):
    """The zone by AXFR: signed, or unsigned for a zone that refuses the signed transfer (dns.axfr: false)."""
    try:
        xfr = dns.query.xfr(manifest["server"], zone, port=manifest["port"], keyring=keyring,
                            keyalgorithm=manifest["key_algorithm"], timeout=5.0, lifetime=20.0, relativize=False)
        return dns.zone.from_xfr(xfr, relativize=False)
    except dns.query.TransferError:
        xfr = dns.query.xfr(manifest["server"], zone, port=manifest["port"], timeout=5.0, lifetime=20.0,
                            relativize=False)
        return dns.zone.from_xfr(xfr, relativize=False)
