# Copyright (c) mxhero-unroute developers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations


class ModuleDocFragment(object):
    DOCUMENTATION = r"""
options:
  zone_scan:
    description:
      - Read the whole zone once and work on every name the fingerprint matches, not only the apex and the
        names given. C(provider=rfc2136) reads it by AXFR signed with the TSIG key; the hosted providers page
        through their list call (Route 53 ListResourceRecordSets, Cloudflare dns_records, Azure record sets
        with nextLink, Cloud DNS rrsets with pageToken, the PowerDNS zone, lexicon's list_records).
      - Each name found is planned like the apex (no MX left, two SPF records and zone cuts are refused the
        same way); O(mxhero.unroute.dns_mx#module:replacement) is only added at the names given.
      - A server or service that will not hand the zone out (AXFR refused, the system resolver) gives a
        finding of kind C(zone_read) and only the given names are checked.
      - SPF C(include:) and C(redirect=) chains are followed through the zone (loops are reported, chains are
        shown on the findings as C(chain)); a chain into O(customer_zones) is reported for that zone's run, one
        leaving them whose record authorises mxHero is a V(manual) finding naming the service.
      - The role C(mxhero.unroute.unroute) sets it from C(unroute_dns_zone_scan) (default V(true)).
    type: bool
    default: false
    version_added: 0.3.0
  customer_zones:
    description:
      - The customer's other zones (the inventory's domains). An SPF chain into one of them is reported, not
        edited here (that zone's own run removes the term); a chain to any other name is a third party's.
    type: list
    elements: str
    default: []
    version_added: 0.3.0
"""
