# Copyright (c) mxhero-unroute developers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Read-only provider over the system resolver (what the world sees), for dns_info without a server."""

from __future__ import annotations

from ansible_collections.mxhero.unroute.plugins.module_utils._errors import UnrouteError
from ansible_collections.mxhero.unroute.plugins.module_utils._dns.provider import DnsProvider, RRset

try:
    import dns.exception
    import dns.name
    import dns.resolver
except ImportError:  # pragma: no cover - reported by the module
    pass


class ResolverProvider(DnsProvider):
    """Read-only: what the world sees, for dns_info (and provider manual) when no server is given."""

    name = "resolver"

    def __init__(self, zone, timeout=10.0):
        self.zone = zone.rstrip(".")
        self.zone_text = self.zone
        self.zone_fqdn = self.zone.lower() + "."
        self.resolver = dns.resolver.Resolver()
        self.resolver.cache = None
        self.resolver.lifetime = float(timeout)

    def find_zone(self):
        return None

    def find_cut(self, name):
        """A zone cut between the zone and ``name``, as the resolver sees it (an NS RRset below the apex)."""
        zone = dns.name.from_text(self.zone)
        qname = dns.name.from_text(name)
        labels = qname.relativize(zone).labels if qname.is_subdomain(zone) else ()
        for depth in range(len(labels) - 1, -1, -1):
            below = dns.name.Name(labels[depth:]).derelativize(zone)
            if self.read(below.to_text(), "NS").values:
                return below.to_text()
        return None

    def read(self, name, rdtype):
        try:
            answer = self.resolver.resolve(name, rdtype, raise_on_no_answer=False)
        except dns.resolver.NXDOMAIN:
            return RRset(name, rdtype)
        except dns.exception.DNSException as err:
            raise UnrouteError(self.zone, "%s %s" % (name, rdtype), "the system resolver failed: %s" % err,
                               "check /etc/resolv.conf or give server:")
        if answer.rrset is None:
            return RRset(name, rdtype)
        return RRset(name, rdtype, answer.rrset.ttl, [r.to_text() for r in answer.rrset])

    def change(self, expected, delete, add, ttl):
        raise NotImplementedError("the system resolver is read-only")
