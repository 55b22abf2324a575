# Copyright (c) mxhero-unroute developers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""RFC 2136 dynamic update with TSIG (BIND, PowerDNS, Knot...), via dnspython."""

from __future__ import annotations

import socket

from ansible_collections.mxhero.unroute.plugins.module_utils._errors import UnrouteError
from ansible_collections.mxhero.unroute.plugins.module_utils._dns.provider import (
    DnsProvider, PrerequisiteFailed, RRset)

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

ALGORITHMS = ("hmac-md5", "hmac-sha1", "hmac-sha224", "hmac-sha256", "hmac-sha384", "hmac-sha512")

_TSIG_ERRORS = {
    "PeerBadKey": "the server does not know TSIG key '%s' (BADKEY)",
    "PeerBadSignature": "the server rejected the TSIG signature of key '%s' (BADSIG): the secret or algorithm is wrong",
    "PeerBadTime": "the server rejected the TSIG time of key '%s' (BADTIME): check the clocks",
    "PeerBadTruncation": "the server rejected the TSIG MAC length of key '%s' (BADTRUNC)",
    "BadSignature": "the server's reply failed TSIG verification with key '%s': the secret or algorithm is wrong",
}


class Rfc2136Provider(DnsProvider):
    def __init__(self, zone, server=None, port=53, key_name=None, key_secret=None,
                 key_algorithm="hmac-sha256", protocol="tcp", timeout=10.0):
        self.zone = dns.name.from_text(zone)
        self.zone_text = zone.rstrip(".")
        self.port = int(port)
        self.protocol = protocol
        self.timeout = float(timeout)
        self.key_name = key_name
        self.keyring = None
        self.algorithm = None
        if key_name and key_secret:
            try:
                self.keyring = dns.tsigkeyring.from_text({key_name: key_secret})
            except Exception:
                raise UnrouteError(self.zone_text, "TSIG key '%s'" % key_name, "key_secret is not valid base64",
                                   "give the secret exactly as in the server's key statement")
            self.algorithm = dns.name.from_text(key_algorithm)
        self.server = server or self._primary()

    # -- plumbing --------------------------------------------------------------
    def _where(self):
        return "%s:%d" % (self.server, self.port)

    def _primary(self):
        """RFC 2136 sends updates to the zone's primary: the SOA MNAME, found by the system resolver."""
        try:
            soa = dns.resolver.resolve(self.zone, "SOA", lifetime=self.timeout)
            mname = soa[0].mname.to_text()
            return dns.resolver.resolve(mname, "A", lifetime=self.timeout)[0].address
        except dns.exception.DNSException as err:
            raise UnrouteError(self.zone_text, "zone %s" % self.zone_text,
                               "no server given and the zone's primary could not be found (%s)" % err,
                               "set server: to the zone's primary name server")

    def _send(self, message, what):
        try:
            if self.protocol == "udp":
                return dns.query.udp(message, self.server, port=self.port, timeout=self.timeout)
            return dns.query.tcp(message, self.server, port=self.port, timeout=self.timeout)
        except dns.exception.Timeout:
            raise UnrouteError(self.zone_text, what, "%s did not answer within %ss (%s)"
                               % (self._where(), self.timeout, self.protocol),
                               "check server, port and firewall, or raise timeout")
        except (ConnectionError, socket.error) as err:
            raise UnrouteError(self.zone_text, what,
                               "cannot reach %s over %s: %s" % (self._where(), self.protocol, err),
                               "check server and port")
        except Exception as err:  # dnspython raises TSIG failures as exception classes of dns.tsig
            name = type(err).__name__
            if name in _TSIG_ERRORS:
                raise UnrouteError(self.zone_text, what, "%s refused us: %s" % (
                    self._where(), _TSIG_ERRORS[name] % self.key_name),
                    "check key_name, key_secret and key_algorithm against the server's key statement")
            if isinstance(err, dns.exception.DNSException):
                raise UnrouteError(self.zone_text, what, "DNS error talking to %s: %s" % (self._where(), err))
            raise

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
                raise UnrouteError(self.zone_text, what, "%s refused the query (REFUSED): it does not serve zone "
                                   "%s to %s" % (self._where(), self.zone_text, who),
                                   "point server at the zone's primary, or allow this client to query it")
            # BIND also answers REFUSED when its integrity checks reject the new records (an in-zone MX
            # target without an address record), so name both causes.
            raise UnrouteError(self.zone_text, what, "%s refused the update (REFUSED): %s may not update zone "
                               "%s, or the server's checks rejected the new records"
                               % (self._where(), who, self.zone_text),
                               "check the zone's update-policy/allow-update for this key and the server's log")
        if rcode == dns.rcode.NOTAUTH:
            raise UnrouteError(self.zone_text, what, "%s answered NOTAUTH: it is not authoritative for %s or "
                               "rejected TSIG key '%s'" % (self._where(), self.zone_text, self.key_name),
                               "point server at the zone's primary and check the key")
        if rcode == dns.rcode.NOTZONE:
            raise UnrouteError(self.zone_text, what, "%s answered NOTZONE: the name is outside zone %s"
                               % (self._where(), self.zone_text), "check zone and record")
        raise UnrouteError(self.zone_text, what, "%s answered %s" % (self._where(), text),
                           "look at the server's log; nothing was changed")

    def _message(self, qname, rdtype):
        msg = dns.message.make_query(qname, rdtype)
        if self.keyring:
            msg.use_tsig(self.keyring, keyname=self.key_name, algorithm=self.algorithm)
        return msg

    # -- interface -------------------------------------------------------------
    def check_zone(self, zone):
        what = "zone %s" % self.zone_text
        response = self._send(self._message(self.zone, dns.rdatatype.SOA), what)
        self._check_rcode(response, what, updating=False)
        authoritative = response.flags & dns.flags.AA
        has_soa = any(r.rdtype == dns.rdatatype.SOA and r.name == self.zone for r in response.answer)
        if not (authoritative and has_soa):
            raise UnrouteError(self.zone_text, what, "%s is not authoritative for %s (no SOA in its answer)"
                               % (self._where(), self.zone_text), "point server at the zone's primary")

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
        response = self._send(update, what)
        self._check_rcode(response, what, updating=True)


def _rdataset(rdtype, values):
    # Prerequisite RRs carry TTL 0 (RFC 2136 2.4.2); BIND answers FORMERR otherwise.
    rds = dns.rdataset.Rdataset(dns.rdataclass.IN, rdtype)
    for value in values:
        rds.add(dns.rdata.from_text(dns.rdataclass.IN, rdtype, value), 0)
    return rds
