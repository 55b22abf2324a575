# Copyright (c) mxhero-unroute developers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""What the DNS engine needs from a DNS provider (RFC 2136, and the hosted APIs: Route 53, Cloudflare, PowerDNS,
Azure DNS, Google Cloud DNS, dns-lexicon).

Values travel in DNS presentation format (``10 mx.example.``, ``"v=spf1" " -all"``)
so that a hosted API adapter can map them to its own JSON without knowing dnspython.
"""

from __future__ import annotations


class RRset(object):
    def __init__(self, name, rdtype, ttl=None, values=None):
        self.name = name
        self.rdtype = rdtype
        self.ttl = ttl
        self.values = list(values or [])

    def as_dict(self):
        return {"record": self.name, "type": self.rdtype, "ttl": self.ttl, "values": sorted(self.values)}


class PrerequisiteFailed(Exception):
    """The RRset is no longer what was read: someone changed it between our read and our write."""


class OutcomeUnknown(Exception):
    """An update was sent and its answer never came (timeout, connection lost): it may or may not have
    taken effect. Never re-sent blindly: the engine reads the RRset again to find out."""


# What a provider's write promises when someone else changes the RRset between our read and our write.
ATOMIC_CAS = "atomic_cas"    # the service refuses the write (RFC 2136 prerequisite, Route 53 ChangeBatch DELETE)
READ_VERIFY = "read_verify"  # no version token: compared just before the write and verified after it


class DnsProvider(object):
    """Interface. Every implementation is the only code that talks to its service.

    Providers know records, zones and their service's errors; nothing about mxHero.
    """

    name = "provider"
    guarantee = ATOMIC_CAS

    def check_zone(self, zone):
        """Raise UnrouteError unless the provider serves ``zone`` authoritatively."""
        raise NotImplementedError

    def find_cut(self, name):
        """The zone apex below ``zone`` at or above ``name`` where a delegation starts, or None.

        An API provider holds the delegation as an NS RRset inside the zone, so reading NS at each name
        between the apex and ``name`` finds it."""
        zone = self.zone_fqdn
        labels = name.lower().rstrip(".").split(".")
        depth = len(zone.rstrip(".").split("."))
        for cut in range(depth + 1, len(labels) + 1):
            below = ".".join(labels[-cut:]) + "."
            if self.read(below, "NS").values:
                return below
        return None

    def read(self, name, rdtype):
        """The current RRset (empty ``values`` when there is none)."""
        raise NotImplementedError

    def read_many(self, names, rdtype):
        """{name: RRset} for several names of one type. An API provider overrides it to read them in one
        listing (DKIM selectors sit side by side under ``_domainkey``) where each call is a round trip."""
        return dict((name, self.read(name, rdtype)) for name in names)

    def change(self, expected, delete, add, ttl):
        """Delete ``delete`` values and add ``add`` values of ``expected``'s name/type, atomically,
        only if the RRset still equals ``expected``; raise PrerequisiteFailed otherwise, and
        OutcomeUnknown when the update left but no answer came back."""
        raise NotImplementedError
