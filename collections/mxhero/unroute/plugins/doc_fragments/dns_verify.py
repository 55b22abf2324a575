# Copyright (c) mxhero-unroute developers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations


class ModuleDocFragment(object):
    DOCUMENTATION = r"""
options:
  verify:
    description:
      - V(authoritative) proves a change on every authoritative server of O(zone) - the primary's NOERROR
        says nothing about its secondaries, and mail keeps reaching mxHero through any server still serving
        the old records.
      - After a real change, the zone's NS RRset is read (from the server the update went to, for a
        C(provider) without a DNS server from the system resolver), each NS name's A and AAAA addresses found
        (names inside the zone from that same server, others from the system resolver), and each address
        is asked directly (no recursion, on O(port)) for every changed RRset until it serves the new values
        or O(verify_timeout) passes. RV(verification) has one entry per server address.
      - A server still serving the old RRset (V(stale)) or not answering with authority (V(unreachable))
        after the timeout is a warning naming it; the task still succeeds, the change is made.
      - Nothing is asked in check mode, when nothing changed, with C(provider=manual) (a person makes the
        change), or when the task failed.
      - The role C(mxhero.unroute.unroute) sets V(authoritative) (C(unroute_dns_verify)).
    type: str
    default: none
    choices: [none, authoritative]
  verify_timeout:
    description:
      - Seconds to wait, in all, for every authoritative server to serve the change with O(verify=authoritative).
      - V(0) asks each server once. Zone transfers after a NOTIFY usually take a few seconds; hosted providers
        can take a minute.
    type: int
    default: 60
"""
