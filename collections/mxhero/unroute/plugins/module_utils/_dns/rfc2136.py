# Copyright (c) mxhero-unroute developers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""RFC 2136 dynamic update with TSIG (BIND, PowerDNS, Knot...), via dnspython."""

from __future__ import annotations

import collections
import socket
import threading
import time

from ansible_collections.mxhero.unroute.plugins.module_utils._errors import UnrouteError
from ansible_collections.mxhero.unroute.plugins.module_utils._dns import validate
from ansible_collections.mxhero.unroute.plugins.module_utils._dns.provider import (
    ATOMIC_CAS, AccessDenied, CredentialsRefused, DnsProvider, OutcomeUnknown, PrerequisiteFailed, ProviderError,
    RRset, Unreachable, ZONE_TYPES, ZoneListRefused, ZoneNotFound)

try:
    import dns.exception
    import dns.flags
    import dns.message
    import dns.name
    import dns.query
    import dns.rcode
    import dns.rdata
    import dns.rdataclass
    import dns.rdataset
    import dns.rdatatype
    import dns.resolver
    import dns.tsig
    import dns.tsigkeyring
    import dns.update
    HAS_DNSPYTHON = True
except ImportError:  # pragma: no cover - reported by the module
    HAS_DNSPYTHON = False

ALGORITHMS = validate.ALGORITHMS

# Reads reuse one TCP connection per server and thread (RFC 7766 6.2.1: a client SHOULD reuse a connection for
# several queries; BIND keeps an idle one open for tcp-idle-timeout, 30 s by default). A connection per query was
# most of an audit's time. Writes always get a connection of their own, so that a failure is never a stale
# connection mistaken for a write whose outcome is unknown.
_CONNECTIONS = threading.local()
# The last transfer of each zone with its SOA serial: the next module of the same domain asks the serial
# (one query) and reuses the transfer while it is unchanged. Every dynamic update raises the serial (BIND,
# PowerDNS, Knot), our own writes drop the entry, and an entry lives at most _ZONE_TTL seconds.
_ZONES = collections.OrderedDict()
_ZONES_LOCK = threading.Lock()
_ZONE_ENTRIES = 64
_ZONE_TTL = 120.0

_TSIG_ERRORS = {
    "PeerBadKey": "the server does not know TSIG key '%s' (BADKEY)",
    "PeerBadSignature": "the server rejected the TSIG signature of key '%s' (BADSIG): the secret or algorithm is wrong",
    "PeerBadTime": "the server rejected the TSIG time of key '%s' (BADTIME): check the clocks",
    "PeerBadTruncation": "the server rejected the TSIG MAC length of key '%s' (BADTRUNC)",
    "BadSignature": "the server's reply failed TSIG verification with key '%s': the secret or algorithm is wrong",
}


class Rfc2136Provider(DnsProvider):
    name = "rfc2136"
    guarantee = ATOMIC_CAS
    options = dict(
        server=dict(type="str"),
        port=dict(type="int", default=53),
        key_name=dict(type="str"),
        key_secret=dict(type="str", no_log=True),
        # No `choices`: a typo must fail with the domain named, like every other option (validate.check_key).
        key_algorithm=dict(type="str", default="hmac-sha256"),
        protocol=dict(type="str", default="tcp", choices=["tcp", "udp"]),
    )

    @classmethod
    def from_params(cls, zone, params, read_only=False, on_secret=None):
        """Without ``server`` a read-only run asks the system resolver (what the world sees); a write needs
        the zone's primary, which the constructor finds from the SOA."""
        if read_only and not (params.get("server") or "").strip():
            from ansible_collections.mxhero.unroute.plugins.module_utils._dns.resolver import ResolverProvider
            return ResolverProvider(zone, timeout=params["timeout"])
        return cls(zone, server=params.get("server"), port=params["port"], key_name=params.get("key_name"),
                   key_secret=params.get("key_secret"), key_algorithm=params["key_algorithm"],
                   protocol=params["protocol"], timeout=params["timeout"])

    @classmethod
    def available(cls):
        return HAS_DNSPYTHON

    @classmethod
    def check(cls, zone, params):
        validate.check_key(zone, params.get("key_name"), params.get("key_secret"), params["key_algorithm"])

    def __init__(self, zone, server=None, port=53, key_name=None, key_secret=None,
                 key_algorithm="hmac-sha256", protocol="tcp", timeout=10.0):
        # The same checks as the modules', for callers that build a provider directly.
        validate.check_zone(zone)
        self.zone = dns.name.from_text(zone)
        self.zone_text = zone.rstrip(".")
        self.zone_fqdn = validate.fqdn(zone)
        self.port = validate.check_port(zone, port)
        self.protocol = protocol
        self.timeout = validate.check_timeout(zone, timeout)
        self.key_name = key_name or None
        self.keyring = None
        self.algorithm = None
        validate.check_key(zone, key_name, key_secret, key_algorithm)
        if key_name:
            try:
                self.keyring = dns.tsigkeyring.from_text({key_name: "".join(key_secret.split())})
            except Exception:
                raise validate.refuse(zone, "key_secret", key_secret, "the secret is not valid base64",
                                      "give the secret exactly as in the server's key statement", secret=True)
            self.algorithm = dns.name.from_text(key_algorithm.lower())
        self.server_name = server.strip() if server and server.strip() else None
        self.addresses = validate.check_server(zone, server, self.port) or [self._primary()]
        self.server = self.addresses[0]

    @property
    def primary(self):
        return self.server

    # -- plumbing --------------------------------------------------------------
    def _where(self):
        if self.server_name and self.server_name.strip("[]") != self.server:
            return "%s (%s) port %d" % (self.server_name, self.server, self.port)
        return "%s:%d" % (self.server, self.port)

    def _primary(self):
        """RFC 2136 sends updates to the zone's primary: the SOA MNAME, found by the system resolver."""
        try:
            soa = dns.resolver.resolve(self.zone, "SOA", lifetime=self.timeout)
            mname = soa[0].mname.to_text()
            return dns.resolver.resolve(mname, "A", lifetime=self.timeout)[0].address
        except dns.exception.DNSException as err:
            raise ZoneNotFound(self.zone_text, "zone %s" % self.zone_text,
                               "no server given and the zone's primary could not be found (%s)" % err,
                               reason="primary")

    def _connect(self, what):
        """A connected TCP socket, trying each address of the server in turn; nothing is sent yet."""
        last = None
        for address in self.addresses:
            family = socket.AF_INET6 if ":" in address else socket.AF_INET
            sock = socket.socket(family, socket.SOCK_STREAM)
            sock.settimeout(self.timeout)
            try:
                sock.connect((address, self.port))
            except socket.timeout:
                sock.close()
                raise Unreachable(self.zone_text, what, "%s did not accept a connection within %ss (tcp)"
                                  % (self._where(), self.timeout))
            except OSError as err:
                sock.close()
                last = err
                continue
            self.server = address
            sock.setblocking(False)
            return sock
        raise Unreachable(self.zone_text, what, "cannot reach %s over tcp: %s"
                          % (self._where(), getattr(last, "strerror", None) or last), reason="connect")

    def _send(self, message, what, write=False):
        """The server's answer to ``message``. For a write, any failure once it may have left the machine is
        OutcomeUnknown: the server may have applied it, and only a fresh read can tell."""
        def send():
            if self.protocol == "udp":
                return dns.query.udp(message, self.server, port=self.port, timeout=self.timeout)
            if not write:
                return self._read_over_kept_connection(message, what)
            sock = self._connect(what)
            try:
                return dns.query.tcp(message, self.server, port=self.port, timeout=self.timeout, sock=sock)
            finally:
                sock.close()
        return self.attempt(send, what, write)

    def _read_over_kept_connection(self, message, what):
        kept = getattr(_CONNECTIONS, "socks", None)
        if kept is None:
            kept = _CONNECTIONS.socks = {}
        key = (tuple(self.addresses), self.port)
        sock = kept.pop(key, None)
        if sock is not None:
            try:
                answer = dns.query.tcp(message, self.server, port=self.port, timeout=self.timeout, sock=sock)
            except (EOFError, OSError, dns.exception.Timeout):
                # The server closed the idle connection (or it went bad): ask again on a new one.
                sock.close()
            else:
                kept[key] = sock
                return answer
        sock = self._connect(what)
        try:
            answer = dns.query.tcp(message, self.server, port=self.port, timeout=self.timeout, sock=sock)
        except BaseException:
            sock.close()
            raise
        kept[key] = sock
        return answer

    def classify(self, err, what, write):
        name = type(err).__name__
        if isinstance(err, dns.query.TransferError):
            return err
        if name in _TSIG_ERRORS and name != "BadSignature":
            # The server answered and rejected our signature: nothing was applied.
            return CredentialsRefused(self.zone_text, what, "%s refused us: %s" % (
                self._where(), _TSIG_ERRORS[name] % self.key_name))
        cause = self._failure(err)
        if write:
            return OutcomeUnknown(cause)
        if name in _TSIG_ERRORS:
            return CredentialsRefused(self.zone_text, what, "%s: %s" % (self._where(),
                                                                        _TSIG_ERRORS[name] % self.key_name))
        return Unreachable(self.zone_text, what, cause)

    def _failure(self, err):
        if isinstance(err, dns.exception.Timeout):
            return "%s did not answer within %ss (%s)" % (self._where(), self.timeout, self.protocol)
        if isinstance(err, EOFError):
            return "%s closed the connection before answering (%s)" % (self._where(), self.protocol)
        if isinstance(err, OSError):
            return "cannot reach %s over %s: %s" % (self._where(), self.protocol, getattr(err, "strerror", None) or err)
        return "%s sent an answer that cannot be read (%s: %s)" % (self._where(), type(err).__name__, err)

    def _check_rcode(self, response, what, updating):
        rcode = response.rcode()
        if rcode == dns.rcode.NOERROR:
            return
        text = dns.rcode.to_text(rcode)
        if rcode == dns.rcode.NXRRSET and updating:
            raise PrerequisiteFailed(text)
        if rcode == dns.rcode.REFUSED:
            who = "TSIG key '%s'" % self.key_name if self.key_name else "an unsigned request"
            if not updating:
                raise AccessDenied(self.zone_text, what, "%s refused the query (REFUSED): it does not serve zone "
                                   "%s to %s" % (self._where(), self.zone_text, who), reason="query")
            # BIND also answers REFUSED when its integrity checks reject the new records (an in-zone MX
            # target without an address record), so name both causes.
            raise AccessDenied(self.zone_text, what, "%s refused the update (REFUSED): %s may not update zone "
                               "%s, or the server's checks rejected the new records"
                               % (self._where(), who, self.zone_text))
        if rcode == dns.rcode.NOTAUTH:
            raise ZoneNotFound(self.zone_text, what, "%s answered NOTAUTH: it is not authoritative for %s or "
                               "rejected TSIG key '%s'" % (self._where(), self.zone_text, self.key_name),
                               reason="notauth")
        if rcode == dns.rcode.NOTZONE:
            raise ProviderError(self.zone_text, what, "%s answered NOTZONE: the name is outside zone %s"
                                % (self._where(), self.zone_text), reason="notzone")
        raise UnrouteError(self.zone_text, what, "%s answered %s" % (self._where(), text),
                           "look at the server's log; nothing was changed")

    def _message(self, qname, rdtype):
        msg = dns.message.make_query(qname, rdtype)
        if self.keyring:
            msg.use_tsig(self.keyring, keyname=self.key_name, algorithm=self.algorithm)
        return msg

    # -- interface -------------------------------------------------------------
    def find_zone(self):
        what = "zone %s" % self.zone_text
        response = self._send(self._message(self.zone, dns.rdatatype.SOA), what)
        authoritative = response.flags & dns.flags.AA
        # A name inside a zone the server serves (NXDOMAIN or NODATA for SOA, the zone's SOA in authority):
        # the user gave a record where the zone belongs.
        enclosing = [r.name for r in response.authority if r.rdtype == dns.rdatatype.SOA and r.name != self.zone]
        if authoritative and enclosing and self.zone.is_subdomain(enclosing[0]) and \
                response.rcode() in (dns.rcode.NOERROR, dns.rcode.NXDOMAIN):
            apex = enclosing[0].to_text().rstrip(".")
            raise UnrouteError(self.zone_text, "option zone '%s'" % self.zone_text,
                               "%s is a name inside zone %s, not a zone of its own" % (self.zone_text, apex),
                               "give zone: %s and record: %s" % (apex, self.zone_text))
        self._check_rcode(response, what, updating=False)
        has_soa = any(r.rdtype == dns.rdatatype.SOA and r.name == self.zone for r in response.answer)
        if not (authoritative and has_soa):
            raise ZoneNotFound(self.zone_text, what, "%s is not authoritative for %s (no SOA in its answer)"
                               % (self._where(), self.zone_text))

    def find_cut(self, name):
        """Walk down from the zone apex to ``name`` asking for NS: an NS RRset at a name below the apex
        (a referral, or the child's own answer when this server also serves it) is a zone cut."""
        qname = dns.name.from_text(name)
        labels = qname.relativize(self.zone).labels if qname.is_subdomain(self.zone) else ()
        for depth in range(len(labels) - 1, -1, -1):
            below = dns.name.Name(labels[depth:]).derelativize(self.zone)
            what = "%s NS" % below.to_text()
            response = self._send(self._message(below, dns.rdatatype.NS), what)
            if response.rcode() == dns.rcode.NXDOMAIN:
                return None
            self._check_rcode(response, what, updating=False)
            for rrset in list(response.answer) + list(response.authority):
                if rrset.rdtype == dns.rdatatype.NS and rrset.name == below:
                    return below.to_text()
        return None

    def read(self, name, rdtype):
        qname = dns.name.from_text(name)
        what = "%s %s" % (qname.to_text(), rdtype)
        response = self._send(self._message(qname, dns.rdatatype.from_text(rdtype)), what)
        if response.rcode() == dns.rcode.NXDOMAIN:
            return RRset(qname.to_text(), rdtype)
        self._check_rcode(response, what, updating=False)
        for rrset in response.answer:
            if rrset.name == qname and rrset.rdtype == dns.rdatatype.from_text(rdtype):
                return RRset(qname.to_text(), rdtype, rrset.ttl, [r.to_text() for r in rrset])
        return RRset(qname.to_text(), rdtype)

    def _zone_key(self):
        return (tuple(self.addresses), self.port, self.zone_fqdn, self.key_name)

    def _serial(self):
        """The zone's SOA serial as the server has it now (None: no SOA in the answer)."""
        what = "zone %s SOA" % self.zone_text
        response = self._send(self._message(self.zone, dns.rdatatype.SOA), what)
        self._check_rcode(response, what, updating=False)
        for rrset in response.answer:
            if rrset.rdtype == dns.rdatatype.SOA and rrset.name == self.zone:
                return rrset[0].serial
        return None

    def read_zone(self):
        """The zone by AXFR (RFC 5936), signed with the TSIG key when one is given: one transfer for the whole
        zone however large. A server that refuses the transfer (allow-transfer) is ZoneListRefused."""
        key = self._zone_key()
        with _ZONES_LOCK:
            kept = _ZONES.get(key)
        if kept is not None and time.monotonic() - kept[2] < _ZONE_TTL and kept[0] is not None \
                and self._serial() == kept[0]:
            return [RRset(r.name, r.rdtype, r.ttl, r.values) for r in kept[1]]
        serial = [None]
        rrsets = self._transfer(serial)
        with _ZONES_LOCK:
            _ZONES[key] = (serial[0], rrsets, time.monotonic())
            _ZONES.move_to_end(key)
            while len(_ZONES) > _ZONE_ENTRIES:
                _ZONES.popitem(last=False)
        return [RRset(r.name, r.rdtype, r.ttl, r.values) for r in rrsets]

    def _transfer(self, serial):
        what = "zone %s (AXFR)" % self.zone_text
        wanted = set(dns.rdatatype.from_text(t) for t in ZONE_TYPES)

        def transfer():
            out = []
            serial[0] = None
            xfr = dns.query.xfr(self.server, self.zone, port=self.port, keyring=self.keyring,
                                keyname=self.key_name, keyalgorithm=self.algorithm, timeout=self.timeout,
                                lifetime=max(self.timeout * 6, 60.0), relativize=False)
            for message in xfr:
                for rrset in message.answer:
                    if rrset.rdtype == dns.rdatatype.SOA and serial[0] is None and rrset.name == self.zone:
                        serial[0] = rrset[0].serial
                    if rrset.rdtype in wanted:
                        out.append(RRset(rrset.name.to_text(), dns.rdatatype.to_text(rrset.rdtype), rrset.ttl,
                                         [r.to_text() for r in rrset]))
            return out
        try:
            rrsets = self.attempt(transfer, what)
        except dns.query.TransferError as err:
            raise ZoneListRefused("%s refused the zone transfer (%s)" % (self._where(), dns.rcode.to_text(err.rcode)))
        # A transfer delivers an RRset in one or more messages; put each name and type back together.
        merged = {}
        for rrset in rrsets:
            key = (rrset.name.lower(), rrset.rdtype)
            if key in merged:
                merged[key].values.extend(v for v in rrset.values if v not in merged[key].values)
            else:
                merged[key] = RRset(rrset.name.lower(), rrset.rdtype, rrset.ttl, rrset.values)
        return list(merged.values())

    def change(self, expected, delete, add, ttl):
        qname = dns.name.from_text(expected.name)
        rdtype = dns.rdatatype.from_text(expected.rdtype)
        update = dns.update.UpdateMessage(self.zone, keyring=self.keyring, keyname=self.key_name,
                                          keyalgorithm=self.algorithm)
        if expected.values:
            # Value-dependent prerequisite: the RRset must still be exactly what we read (RFC 2136 2.4.2).
            update.present(qname, _rdataset(rdtype, expected.values))
        else:
            update.absent(qname, rdtype)
        for value in delete:
            update.delete(qname, dns.rdata.from_text(dns.rdataclass.IN, rdtype, value))
        for value in add:
            update.add(qname, ttl, dns.rdata.from_text(dns.rdataclass.IN, rdtype, value))
        what = "%s %s" % (qname.to_text(), expected.rdtype)
        with _ZONES_LOCK:
            _ZONES.pop(self._zone_key(), None)
        response = self._send(update, what, write=True)
        self._check_rcode(response, what, updating=True)


def _rdataset(rdtype, values):
    # Prerequisite RRs carry TTL 0 (RFC 2136 2.4.2); BIND answers FORMERR otherwise.
    rds = dns.rdataset.Rdataset(dns.rdataclass.IN, rdtype)
    for value in values:
        rds.add(dns.rdata.from_text(dns.rdataclass.IN, rdtype, value), 0)
    return rds
