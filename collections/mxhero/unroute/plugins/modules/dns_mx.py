#!/usr/bin/python
# Copyright (c) mxhero-unroute developers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
module: dns_mx
short_description: Remove MX records that send a domain's mail to mxHero
version_added: 0.1.0
description:
  - Reads the MX RRset of O(record) from the zone's server and removes, one record at a time, the records whose
    exchange is an mxHero host (see the fingerprint options). Every other MX record stays.
  - Refuses, with nothing changed, when no MX record would remain, unless O(replacement) is given; the
    replacement records are then added in the same atomic update.
  - Every update carries the RRset as read as a prerequisite (RFC 2136 compare-and-swap); when someone changed
    it in between, the module re-reads and re-plans, a bounded number of times.
  - Unlike C(community.general.nsupdate) with C(state=absent), this never deletes the whole RRset.
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
      - Returns the same findings, O(replacement) additions and diff as a real run; actions read C(would_remove).
  diff_mode:
    support: full
  idempotent:
    support: full
options:
  state:
    description:
      - V(absent) removes mxHero MX records. It is the only state.
    type: str
    default: absent
    choices: [absent]
  records:
    description:
      - Owner names inside O(zone) to work on, in this order, instead of the single O(record); give the zone
        itself for the apex.
      - Every name is checked (syntax, inside the zone, not below a zone cut) and planned before the first
        update, so a bad name or a refusal stops the domain before anything is written.
      - The first error stops the names after it; the failed result still lists what was already done
        (RV(findings), RV(removed), RV(partial)).
      - Mutually exclusive with O(record). With O(records), RV(diff) is keyed by owner name.
    type: list
    elements: str
  replacement:
    description:
      - MX records to add in the same update as the removal, for example the domain's new mail service.
      - Added only when mxHero records are removed, and only those not already present.
      - Required when the mxHero records are the only MX records of O(record).
    type: list
    elements: dict
    suboptions:
      preference:
        description: MX preference, 0 to 65535.
        type: int
        required: true
      exchange:
        description:
          - Fully qualified host name of the mail exchanger.
          - Refused before anything is read or written when it is empty or V(.) (a null MX), an IP address,
            not a valid host name, or an mxHero host.
        type: str
        required: true
"""

EXAMPLES = r"""
- name: Remove mxHero MX records, keep the others
  mxhero.unroute.dns_mx:
    zone: example.com
    server: ns1.example.com
    key_name: unroute
    key_secret: "{{ vault_tsig_secret }}"

- name: The mxHero MX is the only one - replace it with Google Workspace in the same update
  mxhero.unroute.dns_mx:
    zone: example.com
    server: 192.0.2.53
    key_name: unroute
    key_secret: "{{ vault_tsig_secret }}"
    replacement:
      - preference: 1
        exchange: smtp.google.com

- name: Audit a sub-name in check mode, with the diff
  mxhero.unroute.dns_mx:
    zone: example.com
    record: eu.example.com
    server: 192.0.2.53
  check_mode: true
  diff: true
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
  description: Whether MX records were (or, in check mode, would be) removed or added.
  returned: always
  type: bool
findings:
  description:
    - One entry per mxHero MX record (action V(removed), or V(would_remove) in check mode) and per
      replacement record (V(added) / V(would_add)).
    - After an update whose answer was lost, its entries have C(outcome) (V(removed)/V(added) when a re-read
      shows the change, otherwise action and outcome V(unknown)).
  returned: always
  type: list
  elements: dict
  sample:
    - platform: dns
      kind: mx_record
      object: "example.com. MX 10 smtp-in.mxhero.com."
      evidence: ["host smtp-in.mxhero.com"]
      action: removed
      before: {record: example.com., type: MX, ttl: 3600, value: "10 smtp-in.mxhero.com."}
      after: null
removed:
  description:
    - Every MX record removed, enough to put it back (name, type, TTL, value).
    - After an update whose answer was lost, each entry also has C(outcome), V(removed) (a re-read shows the
      change took effect) or V(unknown) (the task fails; the entry stays so the run record keeps it).
  returned: always
  type: list
  elements: dict
  sample: [{record: example.com., type: MX, ttl: 3600, value: "10 smtp-in.mxhero.com."}]
added:
  description: Replacement MX records added.
  returned: always
  type: list
  elements: dict
partial:
  description:
    - On failure after some names of O(records) were changed, what was already done (and what has an unknown
      outcome). The failed result also keeps RV(findings), RV(removed) and RV(added) for them.
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
  description: The MX RRset before and after (with O(records), a mapping from owner name to RRset).
  returned: when diff mode is on
  type: dict
  sample:
    before: {record: example.com., type: MX, ttl: 3600, values: ["10 smtp-in.mxhero.com.", "20 mail.example.com."]}
    after: {record: example.com., type: MX, ttl: 3600, values: ["20 mail.example.com."]}
"""

from ansible_collections.mxhero.unroute.plugins.module_utils import _runner
from ansible_collections.mxhero.unroute.plugins.module_utils._dns import module as dns_module

ARGSPEC = dns_module.ARGSPEC.extend(dict(
    dns_module.VERIFY_OPTIONS,
    **dns_module.ZONE_SCAN_OPTIONS,
    state=dict(type="str", default="absent", choices=["absent"]),
    records=dict(type="list", elements="str"),
    replacement=dict(type="list", elements="dict", options=dict(
        preference=dict(type="int", required=True),
        exchange=dict(type="str", required=True),
    )),
), mutually_exclusive=[("record", "records")])


OPERATION = _runner.Operation(lambda engine, params, ctx: engine.mx(
    record=params["record"], records=params["records"], replacement=params["replacement"],
    check_mode=ctx.check_mode, zone_scan=params["zone_scan"]))


def execute(params, ctx):
    return dns_module.run(OPERATION, params, ctx)


def main():
    _runner.main(ARGSPEC, execute, name="mxhero.unroute.dns_mx")


if __name__ == "__main__":
    main()
