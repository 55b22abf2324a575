#!/usr/bin/python
# Copyright (c) mxhero-unroute developers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
module: dns_info
short_description: Find mxHero leftovers in a domain's DNS (MX, SPF, DKIM), read-only
version_added: 0.1.0
description:
  - Reports MX records pointing at mxHero, SPF terms authorising mxHero, and DKIM selector CNAMEs pointing
    into mxHero's domains.
  - Asks O(server) directly when given (the authoritative view), otherwise the system resolver (what the
    world sees).
  - DKIM selectors cannot be listed through DNS; the module looks at O(dkim_selectors).
author:
  - mxhero-unroute developers (@mxhero-unroute)
extends_documentation_fragment:
  - mxhero.unroute.dns
  - mxhero.unroute.fingerprint
  - mxhero.unroute.dns_zone_scan
  - mxhero.unroute.attributes
  - mxhero.unroute.attributes.ACTIONGROUP_DNS
attributes:
  check_mode:
    support: full
    details:
      - This module never changes anything.
  diff_mode:
    support: none
  idempotent:
    support: full
options:
  checks:
    description:
      - What to look at. V(dkim) alone is what the C(mxhero.unroute.unroute) role adds to M(mxhero.unroute.dns_mx)
        and M(mxhero.unroute.dns_spf), which already report MX and SPF.
      - V(mail_zone) (added in 0.3.0) checks the zone as a mail zone, as the role does once after a real run
        changed it - the apex and O(mail_zone_names) - and returns RV(mail_zone_check). The apex needs at least
        one MX (a null MX only where it stands alone; this collection never writes one), every name at most one
        SPF record, and each SPF record at most 10 DNS lookups of its own (RFC 7208 4.6.4). What is wrong is
        also a warning; nothing fails.
    type: list
    elements: str
    choices: [mx, spf, dkim, mail_zone]
    default: [mx, spf, dkim]
  mail_zone_names:
    description:
      - Names inside the zone a run changed, checked with the apex when O(checks) holds V(mail_zone).
    type: list
    elements: str
    default: []
    version_added: 0.3.0
  dkim_selectors:
    description:
      - DKIM selectors to look up under C(_domainkey) of O(record).
    type: list
    elements: str
    default: [mxhero, mxh, mxh1, mxh2, default, selector1, selector2, google, s1, s2]
"""

EXAMPLES = r"""
- name: What does the world see for example.com?
  mxhero.unroute.dns_info:
    zone: example.com
  register: dns_findings

- name: Ask the primary directly
  mxhero.unroute.dns_info:
    zone: example.com
    server: 192.0.2.53
    dkim_selectors: [mxh1, selector1]
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
  description: Always false.
  returned: always
  type: bool
findings:
  description: mxHero MX records, SPF terms and DKIM CNAMEs, each with action V(reported).
  returned: always
  type: list
  elements: dict
records:
  description: The MX values and SPF policies read.
  returned: always
  type: dict
  sample: {mx: ["10 smtp-in.mxhero.com.", "20 mail.example.com."], spf: ["v=spf1 include:spf.mxhero.com ~all"]}
mail_zone_check:
  description:
    - With V(mail_zone) in O(checks) - C(ok), C(problems) (one line each), C(notes), the C(names) read, and a
      one-line C(summary).
  returned: when O(checks) holds V(mail_zone)
  type: dict
  version_added: 0.3.0
  sample: {ok: true, problems: [], notes: [], names: [example.com.], summary: "ok: example.com (...)"}
removed:
  description: Always empty.
  returned: always
  type: list
  elements: dict
added:
  description: Always empty.
  returned: always
  type: list
  elements: dict
"""

from ansible_collections.mxhero.unroute.plugins.module_utils import _runner
from ansible_collections.mxhero.unroute.plugins.module_utils._dns import module as dns_module
from ansible_collections.mxhero.unroute.plugins.module_utils._dns import mail_zone
from ansible_collections.mxhero.unroute.plugins.module_utils._dns import validate
from ansible_collections.mxhero.unroute.plugins.module_utils._dns.engine import DEFAULT_DKIM_SELECTORS, txt_policy

ARGSPEC = dns_module.ARGSPEC.extend(dict(
    dns_module.ZONE_SCAN_OPTIONS,
    dkim_selectors=dict(type="list", elements="str", default=list(DEFAULT_DKIM_SELECTORS)),
    checks=dict(type="list", elements="str", choices=["mx", "spf", "dkim", "mail_zone"],
                default=["mx", "spf", "dkim"]),
    mail_zone_names=dict(type="list", elements="str", default=[]),
))


def _info(engine, params, ctx):
    checks = [c for c in params["checks"] if c != "mail_zone"]
    outcome = engine.info(record=params["record"], dkim_selectors=params["dkim_selectors"], checks=checks,
                          zone_scan=params["zone_scan"], customer_zones=dns_module.customer_zones(params))
    if "mail_zone" in params["checks"]:
        names = validate.check_records(engine.zone, records=[engine.zone] + list(params["mail_zone_names"]))
        report = mail_zone.check(engine.provider.read, txt_policy, engine.zone, names)
        for problem in report["problems"]:
            ctx.warn("%s: mail zone check: %s" % (engine.zone, problem))
        outcome = dict(outcome, mail_zone_check=report)
    return outcome


OPERATION = _runner.Operation(_info, read_only=True)


def execute(params, ctx):
    return dns_module.run(OPERATION, params, ctx)


def main():
    _runner.main(ARGSPEC, execute, name="mxhero.unroute.dns_info")


if __name__ == "__main__":
    main()
