# Copyright (c) mxhero-unroute developers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Proof on every nameserver: after a change, ask each authoritative server of the zone directly until it
serves the changed RRsets (issue 14).

A primary's NOERROR says nothing about its secondaries (or a hosted provider's edge servers): mail keeps
going to mxHero through any server still serving the old MX. DNS queries only, so it works the same for
every provider.
"""

from __future__ import annotations

import time

try:
    import dns.exception
    import dns.flags
    import dns.message
    import dns.name
    import dns.query
    import dns.rcode
    import dns.rdata
    import dns.rdataclass
    import dns.rdatatype
    import dns.resolver
except ImportError:  # pragma: no cover - reported by the module
    pass

CHOICES = ("none", "authoritative")
# One query never waits longer than this, so a dead server does not hold up the others' polling.
QUERY_TIMEOUT = 2.0
FIRST_PAUSE = 0.25
MAX_PAUSE = 2.0


class NotFound(Exception):
    """The zone's authoritative servers could not be found."""


def changed_rrsets(outcome):
    """(owner, type, values after) of every RRset the module changed, from its ``before``/``after``."""
    before, after = outcome.get("before"), outcome.get("after")
    if not isinstance(after, dict):
        return []
    if "record" in after:
        pairs = [(before or {}, after)]
    else:
        pairs = [((before or {}).get(k) or {}, v) for k, v in sorted(after.items())]
    return [(a["record"], a["type"], list(a["values"])) for b, a in pairs
            if sorted(b.get("values") or []) != sorted(a.get("values") or [])]


def verify(zone, changes, port=53, server=None, timeout=10.0, verify_timeout=60, clock=time.monotonic,
           sleep=time.sleep):
    """Poll every authoritative server of ``zone`` for ``changes`` until each serves them or
    ``verify_timeout`` seconds pass. Returns (results, warnings); never raises for a server's answer.

    ``server``: an address to ask for the zone's NS RRset and its in-zone addresses (the primary the
    change went to); without it the system resolver answers."""
    zone = zone.rstrip(".").lower() + "."
    try:
        servers = find_servers(zone, server, port, timeout)
    except NotFound as err:
        return [], ["the change is not proven on the zone's nameservers: %s" % err]
    wanted = [(name, rdtype, _rdatas(rdtype, values)) for name, rdtype, values in changes]
    rrsets = ["%s %s" % (name, rdtype) for name, rdtype, dummy in changes]
    start = clock()
    deadline = start + max(0, verify_timeout)
    states = []
    for name, address in servers:
        states.append({"server": name, "address": address, "rrsets": rrsets, "pending": list(wanted),
                       "state": "unreachable", "waited": 0.0,
                       "detail": None if address else "no A or AAAA record found for this name"})
    pause = FIRST_PAUSE
    while True:
        for entry in states:
            if not entry["address"] or not entry["pending"]:
                continue
            _poll(entry, port, min(timeout, QUERY_TIMEOUT, max(0.5, deadline - clock())))
            entry["waited"] = round(clock() - start, 1)
        now = clock()
        if now >= deadline or not any(e["pending"] and e["address"] for e in states):
            break
        sleep(min(pause, deadline - now))
        pause = min(pause * 2, MAX_PAUSE)
    results, warnings = [], []
    for entry in states:
        entry.pop("pending")
        if entry["detail"] is None:
            entry.pop("detail")
        results.append(entry)
        where = "%s (%s)" % (entry["server"], entry["address"]) if entry["address"] else entry["server"]
        if entry["state"] == "stale":
            warnings.append("nameserver %s still serves the old %s after %ss: its copy of the zone is behind the "
                            "primary (zone transfer stalled or slow?); resolvers that ask it still see the old "
                            "records - check it and its transfers from the primary"
                            % (where, ", ".join(rrsets), entry["waited"]))
        elif entry["state"] == "unreachable":
            warnings.append("nameserver %s could not confirm %s within %ss (%s): the change is not proven there"
                            % (where, ", ".join(rrsets), entry["waited"], entry.get("detail") or "no answer"))
    return results, warnings


def find_servers(zone, server, port, timeout):
    """(NS name, address) of every authoritative server of ``zone``; an NS without address has None."""
    names = sorted(set(r.target.to_text().lower() for r in _ask(zone, "NS", server, port, timeout)))
    if not names:
        raise NotFound("%s has no NS records%s" % (zone, " at %s" % server if server else ""))
    origin = dns.name.from_text(zone)
    servers = []
    for name in names:
        # Glue-like: a name inside the zone is answered by the zone's own server; others by the resolver.
        ask = server if server and dns.name.from_text(name).is_subdomain(origin) else None
        addresses = []
        for rdtype in ("A", "AAAA"):
            try:
                addresses.extend(r.address for r in _ask(name, rdtype, ask, port, timeout))
            except NotFound:
                continue
        servers.extend((name, address) for address in sorted(set(addresses), key=lambda a: (":" in a, a)))
        if not addresses:
            servers.append((name, None))
    return servers


def _ask(name, rdtype, server, port, timeout):
    """The RRset ``name``/``rdtype``: from ``server`` directly (no recursion), else the system resolver."""
    if server:
        try:
            response = _query(name, rdtype, server, port, timeout)
        except (OSError, dns.exception.DNSException) as err:
            raise NotFound("%s %s: %s port %d did not answer (%s)" % (name, rdtype, server, port,
                                                                      type(err).__name__))
        if response.rcode() not in (dns.rcode.NOERROR, dns.rcode.NXDOMAIN):
            raise NotFound("%s %s: %s port %d answered %s" % (name, rdtype, server, port,
                                                              dns.rcode.to_text(response.rcode())))
        rrset = _answer(response, name, rdtype)
        return list(rrset) if rrset is not None else []
    resolver = dns.resolver.Resolver()
    resolver.cache = None
    resolver.lifetime = float(timeout)
    try:
        answer = resolver.resolve(name, rdtype, raise_on_no_answer=False)
    except dns.resolver.NXDOMAIN:
        return []
    except dns.exception.DNSException as err:
        raise NotFound("%s %s: the system resolver failed (%s)" % (name, rdtype, type(err).__name__))
    return list(answer.rrset) if answer.rrset is not None else []


def _poll(entry, port, timeout):
    """Ask one server for the RRsets it has not yet shown in their new form; update its state."""
    still = []
    for name, rdtype, wanted in entry["pending"]:
        try:
            response = _query(name, rdtype, entry["address"], port, timeout)
        except (OSError, dns.exception.DNSException) as err:
            entry.update(state="unreachable", detail="no answer on port %d: %s" % (port, type(err).__name__))
            still.append((name, rdtype, wanted))
            continue
        rcode = response.rcode()
        if rcode not in (dns.rcode.NOERROR, dns.rcode.NXDOMAIN) or not response.flags & dns.flags.AA:
            # REFUSED, SERVFAIL (a secondary that lost the zone) or a non-authoritative answer prove nothing.
            entry.update(state="unreachable", detail="answered %s%s" % (
                dns.rcode.to_text(rcode), "" if response.flags & dns.flags.AA else " without authority"))
            still.append((name, rdtype, wanted))
            continue
        rrset = _answer(response, name, rdtype)
        if set(rrset or []) != wanted:
            entry.update(state="stale", detail=None)
            still.append((name, rdtype, wanted))
    entry["pending"] = still
    if not still:
        entry.update(state="current", detail=None)


def _query(name, rdtype, address, port, timeout):
    query = dns.message.make_query(name, rdtype)
    # Straight to the server's own data: no recursion, no cache in between.
    query.flags &= ~dns.flags.RD
    response, dummy = dns.query.udp_with_fallback(query, address, port=port, timeout=timeout)
    return response


def _answer(response, name, rdtype):
    qname, qtype = dns.name.from_text(name), dns.rdatatype.from_text(rdtype)
    for rrset in response.answer:
        if rrset.name == qname and rrset.rdtype == qtype and rrset.rdclass == dns.rdataclass.IN:
            return rrset
    return None


def _rdatas(rdtype, values):
    return set(dns.rdata.from_text(dns.rdataclass.IN, dns.rdatatype.from_text(rdtype), v) for v in values)
