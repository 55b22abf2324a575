#!/usr/bin/python
# Copyright (c) mxhero-unroute developers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
module: dns_spf
short_description: Remove the SPF terms that authorise mxHero, keeping everything else
version_added: 0.1.0
description:
  - Reads the TXT RRset of O(record), finds the one SPF policy (C(v=spf1)) and removes the terms that point at
    mxHero - C(include:), C(a:), C(mx:), C(exists:), C(ptr:) or C(redirect=) naming an mxHero host, and
    C(ip4:)/C(ip6:) of an mxHero address.
  - Keeps every other term with its qualifier and order, the TTL, and every other TXT record at the name
    (site verifications and the like). The rewritten policy is re-split into strings of at most 255 bytes.
  - Refuses when the name has two or more SPF records (a permerror), rather than guess which one to edit.
  - Warns when the resulting policy authorises no sender at all.
  - A network wider than one address that contains an mxHero address is reported, not removed, unless
    O(match_cidrs=true).
  - The old TXT value is deleted and the new one added in one update whose prerequisite is the TXT RRset as
    read; a concurrent change makes the module re-read and re-plan.
author:
  - mxhero-unroute developers (@mxhero-unroute)
extends_documentation_fragment:
  - mxhero.unroute.dns
  - mxhero.unroute.fingerprint
  - mxhero.unroute.dns_zone_scan
  - mxhero.unroute.dns_verify
  - mxhero.unroute.attributes
  - mxhero.unroute.attributes.ACTIONGROUP_DNS
attributes:
  check_mode:
    support: full
    details:
      - Returns the same findings, rewritten policy and diff as a real run; actions read C(would_remove).
  diff_mode:
    support: full
  idempotent:
    support: full
options:
  state:
    description:
      - V(absent) removes the mxHero terms. It is the only state.
    type: str
    default: absent
    choices: [absent]
"""

EXAMPLES = r"""
- name: Remove mxHero from the SPF record of the apex
  mxhero.unroute.dns_spf:
    zone: example.com
    server: ns1.example.com
    key_name: unroute
    key_secret: "{{ vault_tsig_secret }}"

- name: Also treat a regional relay host as mxHero's
  mxhero.unroute.dns_spf:
    zone: example.com
    server: ns1.example.com
    key_name: unroute
    key_secret: "{{ vault_tsig_secret }}"
    mxhero_domains:
      - mxhero.eu.example
"""

RETURN = r"""
zone_scan:
  description:
    - What the whole-zone read found (with O(zone_scan)) - V(read), and when read the V(records) and V(names) it
      held, the V(seconds) it took and a V(note) for the run record, when not read the V(reason).
  returned: when O(zone_scan) is true
  type: dict
  sample: {read: true, records: 10012, names: 10004, seconds: 0.41, note: "10012 records of example.com read in one pass"}
cautions:
  description:
    - Consequences of the change a mail administrator must hear about (for example an SPF record that now
      authorises nobody). Also shown as Ansible warnings; kept here for the run record.
  returned: always
  type: list
  elements: str
changed:
  description: Whether the SPF record was (or, in check mode, would be) rewritten.
  returned: always
  type: bool
findings:
  description: One entry per mxHero SPF term (V(removed) / V(would_remove)), or V(reported) for a wider network.
  returned: always
  type: list
  elements: dict
  sample:
    - platform: dns
      kind: spf_term
      object: "example.com. TXT include:spf.mxhero.com"
      evidence: ["host spf.mxhero.com (include:spf.mxhero.com)"]
      action: removed
      before: {record: example.com., policy: "v=spf1 include:_spf.google.com include:spf.mxhero.com ~all"}
      after: {record: example.com., policy: "v=spf1 include:_spf.google.com ~all"}
removed:
  description:
    - The TXT value that was replaced (to put it back) and the terms taken out of it.
    - After an update whose answer was lost, each entry also has C(outcome), V(removed) (a re-read shows the
      change took effect) or V(unknown) (the task fails; the entry stays so the run record keeps it).
  returned: always
  type: list
  elements: dict
  sample: [{record: example.com., type: TXT, ttl: 3600, value: '"v=spf1 include:spf.mxhero.com ~all"',
            terms: ["include:spf.mxhero.com"]}]
added:
  description: The TXT value written in its place.
  returned: always
  type: list
  elements: dict
spf_before:
  description: The SPF policy as read (strings joined), or null when the name has no SPF record.
  returned: always
  type: str
spf_after:
  description: The SPF policy after the change (equal to RV(spf_before) when nothing matched).
  returned: always
  type: str
partial:
  description: On failure after an update of unknown outcome, what it was meant to do.
  returned: on failure after a change
  type: list
  elements: str
verification:
  description:
    - With O(verify=authoritative), after a real change, one entry per authoritative server address of O(zone), with
      C(server) (the NS name), C(address), C(state) (V(current) - it serves the new RRsets, V(stale) - it
      still serves something else, V(unreachable) - no authoritative answer), C(waited) (seconds from the
      first query to its last), C(rrsets) (the changed RRsets asked for) and, when not current, C(detail).
    - Empty in check mode, with O(verify=none), when nothing changed, or when the servers could not be found
      (a warning says why).
  returned: always
  type: list
  elements: dict
  sample:
    - {server: ns1.example.com., address: 192.0.2.53, state: current, waited: 0.0, rrsets: ["example.com. MX"]}
    - {server: ns2.example.com., address: 198.51.100.53, state: stale, waited: 30.1, rrsets: ["example.com. MX"]}
diff:
  description: The whole TXT RRset before and after.
  returned: when diff mode is on
  type: dict
"""

from ansible_collections.mxhero.unroute.plugins.module_utils import _runner
from ansible_collections.mxhero.unroute.plugins.module_utils._dns import module as dns_module

ARGSPEC = dns_module.ARGSPEC.extend(dict(
    dns_module.VERIFY_OPTIONS,
    **dns_module.ZONE_SCAN_OPTIONS,
    state=dict(type="str", default="absent", choices=["absent"]),
))


OPERATION = _runner.Operation(lambda engine, params, ctx: engine.spf(
    record=params["record"], check_mode=ctx.check_mode, zone_scan=params["zone_scan"],
    customer_zones=dns_module.customer_zones(params)))


def execute(params, ctx):
    return dns_module.run(OPERATION, params, ctx)


def main():
    _runner.main(ARGSPEC, execute, name="mxhero.unroute.dns_spf")


if __name__ == "__main__":
    main()
