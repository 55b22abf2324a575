#!/usr/bin/python
# Copyright (c) mxhero-unroute developers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
module: dns_restore
short_description: Put back the DNS records a run removed and take out the ones it added
version_added: 0.2.0
description:
  - Takes the C(removed) and C(added) lists of one domain from a run record (what M(mxhero.unroute.dns_mx) and
    M(mxhero.unroute.dns_spf) recorded) and returns each touched RRset to its state before the run - the old
    values exactly as recorded (TXT strings split as they were) and their TTL.
  - An RRset is changed only while it is as the run left it (the run's additions present, its removals absent);
    the update carries the RRset as read as its prerequisite. Anything else is refused with one line and nothing
    written for that RRset; the domain stops there.
  - An RRset already back as it was is left alone, so a second restore changes nothing.
  - C(playbooks/restore.yml) runs it for every domain of a run record, in reverse order (SPF before MX).
author:
  - mxhero-unroute developers (@mxhero-unroute)
extends_documentation_fragment:
  - mxhero.unroute.dns
  - mxhero.unroute.fingerprint
  - mxhero.unroute.attributes
  - mxhero.unroute.attributes.ACTIONGROUP_DNS
attributes:
  check_mode:
    support: full
    details:
      - Returns the same findings and diff as a real run; actions read C(would_add) and C(would_remove).
  diff_mode:
    support: full
  idempotent:
    support: full
options:
  removed:
    description:
      - What the run removed, as its record lists it (C(record), C(type), C(ttl), C(value) per entry; other keys are
        ignored). These values are put back.
    type: list
    elements: dict
    default: []
  added:
    description: What the run added (a replacement MX, the rewritten SPF record). These values are taken out.
    type: list
    elements: dict
    default: []
"""

EXAMPLES = r"""
- name: Put back what the run of 27 November removed from example.com
  mxhero.unroute.dns_restore:
    zone: example.com
    server: 192.0.2.53
    key_name: unroute
    key_secret: "{{ vault_tsig_secret }}"
    removed: "{{ (record.domains | selectattr('domain', '==', 'example.com') | first).removed }}"
    added: "{{ (record.domains | selectattr('domain', '==', 'example.com') | first).added }}"
"""

RETURN = r"""
changed:
  description: Whether an RRset was (or, in check mode, would be) restored.
  returned: always
  type: bool
findings:
  description: One per value put back (action C(added)/C(would_add)) and per value taken out (C(removed)/C(would_remove)).
  returned: always
  type: list
  elements: dict
added:
  description: The values put back.
  returned: always
  type: list
  elements: dict
removed:
  description: The values taken out.
  returned: always
  type: list
  elements: dict
diff:
  description: Every touched RRset before and after.
  returned: when diff mode is on
  type: dict
"""

from ansible_collections.mxhero.unroute.plugins.module_utils import _runner
from ansible_collections.mxhero.unroute.plugins.module_utils._errors import UnrouteError
from ansible_collections.mxhero.unroute.plugins.module_utils._dns import module as dns_module
from ansible_collections.mxhero.unroute.plugins.module_utils._dns.engine import record_name
from ansible_collections.mxhero.unroute.plugins.module_utils._dns.restore import restore

ARGSPEC = dns_module.ARGSPEC.extend(dict(
    removed=dict(type="list", elements="dict", default=[]),
    added=dict(type="list", elements="dict", default=[]),
))


def _entries(params, option):
    items = [i for i in params[option] if str(i.get("type", "")).upper() in ("MX", "TXT")]
    for index, item in enumerate(items):
        if not item.get("record") or not item.get("value"):
            raise UnrouteError(params["zone"].rstrip("."), "option %s[%d]" % (option, index),
                               "an entry needs record, type and value (as the run record lists them)",
                               "pass the domain's removed/added lists from the run record unchanged")
        record_name(params["zone"], item["record"])
    return items


def execute(params, ctx):
    if params.get("provider") == "manual":
        raise UnrouteError(params["zone"].rstrip("."), None, "provider manual writes nothing, so there is nothing "
                           "this module can put back", "restore the records by hand from the run record's "
                           "removed and added lists")
    removed, added = _entries(params, "removed"), _entries(params, "added")
    return dns_module.execute(params, ctx, lambda engine: restore(
        engine.provider, engine.zone, removed, added, check_mode=ctx.check_mode, done=ctx.done))


def main():
    _runner.main(ARGSPEC, execute, name="mxhero.unroute.dns_restore")


if __name__ == "__main__":
    main()
