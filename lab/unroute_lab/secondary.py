"""A real BIND 9 secondary beside the lab's primary: NOTIFY + IXFR, and a fault that stops its transfers.

It listens on 127.0.0.2 at the primary's port, so the zone's second NS (``ns2.<zone>. A 127.0.0.2``) is
reachable the way a module reaches any authoritative server: its address, the zone's port.
"""

from __future__ import annotations

import base64
import secrets
import shutil
import signal
import subprocess
import time
from pathlib import Path

import dns.exception
import dns.flags
import dns.message
import dns.query
import dns.rcode
import dns.rdatatype

from .bind import KEY_ALGORITHM, KEY_NAME, SECONDARY_ADDRESS as ADDRESS, named_binary
from .ports import free_port
from .services.base import LabService

PRIMARY = "127.0.0.1"
# Where a stalled secondary looks for its primary: a loopback address nothing listens on, so every
# refresh fails at once and every NOTIFY (from 127.0.0.1, no longer a primary) is refused.
NOWHERE = "127.0.0.3"
RNDC_KEY = "unroute-lab-rndc"


class Secondary:
    """One named process holding secondary copies of the zones whose estate entry has ``dns.secondary``."""

    def __init__(self, directory):
        self.dir = Path(directory)
        self.conf = self.dir / "named.conf"
        self.rndc_conf = self.dir / "rndc.conf"

    def write(self, zones, port, tsig_secret):
        self.dir.mkdir(parents=True, exist_ok=True)
        # A copy left by an earlier lab here would be served before the first transfer.
        for stale in list(self.dir.glob("*.zone")) + list(self.dir.glob("*.jnl")):
            stale.unlink()
        self.zones = list(zones)
        self.port = port
        self.tsig_secret = tsig_secret
        self.control_port = free_port()
        rndc_secret = base64.b64encode(secrets.token_bytes(32)).decode()
        rndc_key = 'key "%s" { algorithm hmac-sha256; secret "%s"; };' % (RNDC_KEY, rndc_secret)
        self.rndc_conf.write_text("\n".join([
            rndc_key,
            'options { default-key "%s"; default-server %s; default-port %d; };'
            % (RNDC_KEY, PRIMARY, self.control_port)]) + "\n")
        self.rndc_conf.chmod(0o600)
        self._rndc_key = rndc_key
        self._write_conf(PRIMARY)
        return self

    def _write_conf(self, primary):
        zones = ['zone "%s" { type secondary; primaries { %s port %d key "%s"; }; file "%s.zone"; };'
                 % (zone, primary, self.port, KEY_NAME, zone) for zone in self.zones]
        self.conf.write_text("\n".join([
            'key "%s" { algorithm %s; secret "%s"; };' % (KEY_NAME, KEY_ALGORITHM, self.tsig_secret),
            self._rndc_key,
            "options {",
            '  directory "%s";' % self.dir,
            '  pid-file "%s";' % (self.dir / "named.pid"),
            '  session-keyfile "%s";' % (self.dir / "session.key"),
            '  managed-keys-directory "%s";' % self.dir,
            "  listen-on port %d { %s; };" % (self.port, ADDRESS),
            "  listen-on-v6 { none; };",
            "  recursion no;",
            "  notify no;",
            "  dnssec-validation no;",
            "  allow-query { any; };",
            "  allow-transfer { none; };",
            "};",
            'controls { inet %s port %d allow { %s; } keys { "%s"; }; };'
            % (PRIMARY, self.control_port, PRIMARY, RNDC_KEY),
        ] + zones) + "\n")

    def start(self, timeout=30.0):
        ensure_loopback_address(ADDRESS)
        log = open(self.dir / "named.log", "ab")
        self.process = subprocess.Popen([named_binary(), "-g", "-n", "1", "-c", str(self.conf)],
                                        stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                                        start_new_session=True)
        # Ready once every zone has come over by its first transfer: before that it answers SERVFAIL.
        deadline = time.monotonic() + timeout
        pending = list(self.zones)
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError("the secondary named exited at start; see %s" % (self.dir / "named.log"))
            pending = [zone for zone in pending if not serves(zone, ADDRESS, self.port)]
            if not pending:
                return self.process.pid
            time.sleep(0.1)
        self.process.send_signal(signal.SIGTERM)
        raise RuntimeError("the secondary named did not load %s within %.0fs; see %s"
                           % (", ".join(pending), timeout, self.dir / "named.log"))

    def manifest(self):
        return {"server": ADDRESS, "port": self.port, "zones": self.zones, "dir": str(self.dir),
                "conf": str(self.conf), "rndc_conf": str(self.rndc_conf), "log": str(self.dir / "named.log")}


class SecondaryService(LabService):
    """The BIND secondary, for the zones whose estate entry has ``dns: {secondary: true}``; its entry is
    ``services.dns.secondary`` in lab.json."""

    name = "dns_secondary"
    process = True

    @classmethod
    def wanted(cls, estate):
        return any(d.secondary for d in estate.domains)

    def start(self):
        primary = self.ctx.services["dns"]
        secondary = Secondary(self.ctx.dir / "bind-secondary").write(
            [d.name for d in self.ctx.estate.domains if d.secondary], primary["port"],
            Path(primary["key_secret_file"]).read_text().strip())
        self.ctx.pids["named_secondary"] = secondary.start()
        return secondary.manifest()

    def publish(self, services, entry):
        services["dns"]["secondary"] = entry


def ensure_loopback_address(address):
    """named listens only on addresses that sit on an interface: Linux routes all of 127/8 to lo, but
    only 127.0.0.1 is on it. Add the alias (root only, gone at reboot) or say how."""
    ip = shutil.which("ip") or "/usr/sbin/ip"
    shown = subprocess.run([ip, "-o", "-4", "addr", "show", "dev", "lo"], capture_output=True, text=True)
    if shown.returncode == 0 and (" %s/" % address) in shown.stdout:
        return
    added = subprocess.run([ip, "addr", "add", "%s/32" % address, "dev", "lo"], capture_output=True, text=True)
    if added.returncode != 0 and "File exists" not in added.stderr:
        raise RuntimeError("the lab's BIND secondary listens on %s, which is not on the loopback interface and "
                           "could not be added (%s): run 'sudo ip addr add %s/32 dev lo', or remove "
                           "'secondary: true' from the estate" % (address, added.stderr.strip() or "no ip tool",
                                                                address))


def serves(zone, address, port, timeout=1.0):
    """Whether the server at ``address`` answers for ``zone`` with authority (it has the zone loaded)."""
    query = dns.message.make_query(zone, dns.rdatatype.SOA)
    query.flags &= ~dns.flags.RD
    try:
        answer = dns.query.tcp(query, address, port=port, timeout=timeout)
    except (OSError, dns.exception.DNSException):
        return False
    return answer.rcode() == dns.rcode.NOERROR and bool(answer.flags & dns.flags.AA)


def set_stalled(manifest, stalled):
    """Switch the ``secondary_stalled`` fault: the secondary keeps serving what it has but transfers nothing
    (stalled), or goes back to its primary and catches up at once (cleared)."""
    conf = Path(manifest["conf"])
    text = conf.read_text()
    old, new = (PRIMARY, NOWHERE) if stalled else (NOWHERE, PRIMARY)
    conf.write_text(text.replace("primaries { %s port" % old, "primaries { %s port" % new))
    _rndc(manifest, "reconfig")
    if not stalled:
        for zone in manifest["zones"]:
            _rndc(manifest, "refresh", zone)
    return {"service": "dns", "fault": "secondary_stalled", "active": bool(stalled), "zones": manifest["zones"],
            "server": manifest["server"]}


def is_stalled(manifest):
    return ("primaries { %s port" % NOWHERE) in Path(manifest["conf"]).read_text()


def _rndc(manifest, *command):
    rndc = shutil.which("rndc") or "/usr/sbin/rndc"
    done = subprocess.run([rndc, "-c", manifest["rndc_conf"]] + list(command), capture_output=True, text=True,
                          timeout=30)
    if done.returncode != 0:
        raise RuntimeError("rndc %s on the lab's secondary failed: %s" % (" ".join(command),
                                                                          (done.stderr or done.stdout).strip()))
