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
  - A run record is a file that can be edited, so nothing in it is written only because it is there. Before
    anything is read, every entry is checked against what a run of this collection can have done
    (docs/report.md, "What a restore accepts"); the first one that fails refuses the whole task, one line, nothing
    written. A value put back must be one the fingerprint matches (a run removes only mxHero's), at a name in
    O(records), in the RRset the run read (C(rrset)); a value taken out must be one the run added (not in that
    RRset and one of O(replacement)); an SPF record put back must differ from the one
    taken out by the fingerprint's terms only.
  - Then every RRset is read, and must hold exactly what the run left (its read RRset without the removed values,
    with the added ones), or already be as before the run. Only when all pass is anything written, each update
    carrying the RRset as read as its prerequisite. Check mode computes the same plan and diff and skips the writes.
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
      - What the run removed, as its record lists it (C(record), C(type), C(ttl), C(value) and C(rrset), the RRset as
        the run read it, per entry; other keys are ignored). These values are put back.
      - Every entry is checked before anything is read or written (see the description); one entry a run cannot have
        recorded refuses the whole list.
    type: list
    elements: dict
    default: []
  added:
    description: What the run added (a replacement MX, the rewritten SPF record). These values are taken out.
    type: list
    elements: dict
    default: []
  records:
    description:
      - The owner names the run worked on (the O(mxhero.unroute.dns_mx#module:records) it was given); an entry for
        any other name is refused. Default the zone apex (or O(record)).
    type: list
    elements: str
    version_added: 0.3.0
  zone_scan:
    description:
      - The run read the whole zone (O(mxhero.unroute.dns_mx#module:zone_scan)) and may have changed any name in
        it. An entry for a name beyond O(records) is then accepted when the name lies in O(zone) and its values
        pass the same checks (every MX put back matches the fingerprint; the SPF record put back differs from
        the one taken out by the fingerprint's terms only); no MX taken out at such a name, since a run adds
        O(replacement) only at the names it is given.
      - The record's MAC (C(unroute_record_key)) is what proves the entries came from a run.
    type: bool
    default: false
    version_added: 0.3.0
  replacement:
    description:
      - The MX replacement the run was given (O(mxhero.unroute.dns_mx#module:replacement)). Every MX value the
        record says the run added must be one of these, or the record is refused; without it, a record that says
        the run added an MX record is refused.
    type: list
    elements: dict
    version_added: 0.3.0
    suboptions:
      preference:
        description: MX preference, 0 to 65535.
        type: int
        required: true
      exchange:
        description: Host name of the mail exchanger.
        type: str
        required: true
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
from ansible_collections.mxhero.unroute.plugins.module_utils._dns import validate
from ansible_collections.mxhero.unroute.plugins.module_utils._dns.restore import restore

ARGSPEC = dns_module.ARGSPEC.extend(dict(
    removed=dict(type="list", elements="dict", default=[]),
    added=dict(type="list", elements="dict", default=[]),
    records=dict(type="list", elements="str"),
    zone_scan=dict(type="bool", default=False),
    replacement=dict(type="list", elements="dict", options=dict(
        preference=dict(type="int", required=True),
        exchange=dict(type="str", required=True),
    )),
), mutually_exclusive=[("record", "records")])


def _entries(params, option):
    zone = params["zone"].rstrip(".")
    for index, item in enumerate(params[option]):
        where = "option %s[%d]" % (option, index)
        if not item.get("record") or not item.get("value") or not item.get("type"):
            raise UnrouteError(zone, where, "an entry needs record, type and value (as the run record lists them)",
                               "pass the domain's removed/added lists from the run record unchanged")
        if str(item["type"]).upper() not in ("MX", "TXT"):
            raise UnrouteError(zone, where, "the run record is refused: a run changes only MX and TXT records, "
                               "not %s" % item["type"], "restore it by hand if the record is genuine; nothing "
                               "was written")
        record_name(params["zone"], item["record"])
    return params[option]


def execute(params, ctx):
    if params.get("provider") == "manual":
        raise UnrouteError(params["zone"].rstrip("."), None, "provider manual writes nothing, so there is nothing "
                           "this module can put back", "restore the records by hand from the run record's "
                           "removed and added lists")
    removed, added = _entries(params, "removed"), _entries(params, "added")
    names = validate.check_records(params["zone"], params.get("record") or None, params.get("records"))

    # The record's entries were checked above, before any engine is built; the operation carries them.
    def perform(engine, params, ctx):
        return restore(engine.provider, engine.zone, removed, added, engine.fp, names,
                       replacement=params.get("replacement"), check_mode=ctx.check_mode, done=ctx.done,
                       zone_scan=params["zone_scan"])
    return dns_module.run(_runner.Operation(perform), params, ctx)


def main():
    _runner.main(ARGSPEC, execute, name="mxhero.unroute.dns_restore")


if __name__ == "__main__":
    main()
