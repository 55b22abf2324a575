# Copyright (c) mxhero-unroute developers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Put back what a run removed from DNS and take out what it added, RRset by RRset.

A run record is a file anyone with access to the reports can edit, so nothing in it is
written just because it is there. For every RRset the record names, the whole record is
checked before anything is read or written (docs/report.md, "What a restore accepts"):

- the name lies in the zone and is one the restore is told the run worked on
  (``records``; the zone apex by default) - a forged entry for another name is refused;
  after a whole-zone run (``zone_scan``) any name in the zone, which then takes no replacement;
- the ``removed`` entries carry the RRset as the run read it (``rrset``, its ``before``),
  all the same; every removed value is in it; the RRset the run left (its ``after``) is
  ``before`` without the removed values plus the added ones;
- MX: every value put back is one the fingerprint matches (a run only removes mxHero's);
  every value taken out was not in ``before`` and is one of ``replacement`` (what the
  inventory gives the run; none given, the run added none); at least one MX stays;
- TXT: one SPF value put back and one taken out, and removing the fingerprint's terms from
  the old policy gives exactly the new one - so the two differ by mxHero's terms only.

Then every RRset is read; it must hold exactly the recorded ``after`` (or already
``before``: nothing to do). Only when every RRset passes is anything written, each with the
RRset as read as the write's prerequisite. Check mode returns the same plan and the same
diff; it only leaves out the writes.
"""

from __future__ import annotations

import re

from ansible_collections.mxhero.unroute.plugins.module_utils._errors import UnrouteError
from ansible_collections.mxhero.unroute.plugins.module_utils._findings import finding, planned
from ansible_collections.mxhero.unroute.plugins.module_utils._dns import spf as spf_codec
from ansible_collections.mxhero.unroute.plugins.module_utils._dns.mx import mx_value, parse_mx
from ansible_collections.mxhero.unroute.plugins.module_utils._dns.provider import PrerequisiteFailed

_KINDS = {"MX": "mx_record", "TXT": "spf_record"}
# SPF before MX, like the reverse of the run (MX goes first there).
_ORDER = {"TXT": 0, "MX": 1}
_MX = re.compile(r"\d{1,5} [A-Za-z0-9_-]+(\.[A-Za-z0-9_-]+)*\.?")
_REFUSED = "restore the record by hand from the run record if it is genuine; nothing was written"


def _fqdn(name):
    return str(name).rstrip(".").lower() + "."


def groups(removed, added):
    """(name, type) -> {"removed": [...], "added": [...]}, SPF before MX, in the order the record lists them."""
    out = {}
    for side, items in (("removed", removed), ("added", added)):
        for item in items or []:
            key = (_fqdn(item["record"]), str(item["type"]).upper())
            out.setdefault(key, {"removed": [], "added": []})[side].append(item)
    return dict(sorted(out.items(), key=lambda kv: _ORDER.get(kv[0][1], 2)))


class Refused(UnrouteError):
    """A run record entry that is not what a run of this collection can have recorded."""


class RRsetPlan(object):
    """What the record says the run did to one RRset, after it passed every check."""

    def __init__(self, name, rdtype, before, put_back, take_out, ttl):
        self.name = name
        self.rdtype = rdtype
        self.before = sorted(before)
        self.put_back = list(put_back)
        self.take_out = list(take_out)
        self.after = sorted((set(before) - set(put_back)) | set(take_out))
        self.ttl = ttl


def _refuse(zone, what, cause):
    return Refused(zone, what, "the run record is refused: %s" % cause, _REFUSED)


def check(zone, removed, added, fp, names, replacement=None, zone_scan=False):
    """Every RRset plan of the record, or Refused for the first entry a run cannot have recorded.

    With ``zone_scan`` the run read the whole zone and may have changed any name in it: a name beyond
    ``names`` is accepted (the caller has checked it lies in the zone) on the same value checks, and with
    no replacement (a run adds the inventory's replacement only at the names it gives)."""
    given = set(mx_value(r["preference"], r["exchange"]) for r in replacement or [])
    plans = []
    for (name, rdtype), sides in groups(removed, added).items():
        what = "%s %s" % (name, rdtype)
        wanted = given
        if name not in names:
            if not zone_scan:
                raise _refuse(zone, what, "it names %s, which the run was not told to change (names: %s)"
                              % (name, ", ".join(sorted(names))))
            wanted = set()
        old = [str(i["value"]) for i in sides["removed"]]
        new = [str(i["value"]) for i in sides["added"]]
        if not old:
            raise _refuse(zone, what, "it lists values the run added (%s) but nothing it removed there; a run "
                          "adds only in the same change that removes mxHero's" % "; ".join(new))
        if len(set(old)) != len(old) or len(set(new)) != len(new):
            raise _refuse(zone, what, "it lists a value twice")
        recorded = [i.get("rrset") for i in sides["removed"]]
        if any(not isinstance(r, list) for r in recorded) or any(sorted(r) != sorted(recorded[0]) for r in recorded):
            raise _refuse(zone, what, "its removed entries do not all carry the one RRset the run read (rrset)")
        before = [str(v) for v in recorded[0]]
        missing = [v for v in old if v not in before]
        if missing:
            raise _refuse(zone, what, "it says the run removed %s, which is not in the RRset the run read (%s)"
                          % ("; ".join(missing), "; ".join(sorted(before)) or "nothing"))
        there = [v for v in new if v in before]
        if there:
            raise _refuse(zone, what, "it says the run added %s, which the RRset already held before the run: "
                          "taking it out would delete the domain's own record" % "; ".join(there))
        ttl = _ttl(zone, what, sides["removed"])
        if rdtype == "MX":
            _check_mx(zone, what, old, new, before, fp, wanted)
        elif rdtype == "TXT":
            _check_spf(zone, what, old, new, fp)
        else:
            raise _refuse(zone, what, "a run changes only MX and TXT RRsets")
        plans.append(RRsetPlan(name, rdtype, before, old, new, ttl))
    return plans


def _ttl(zone, what, items):
    ttls = set(i.get("ttl") for i in items)
    ttl = ttls.pop() if len(ttls) == 1 else None
    if ttl is not None and (isinstance(ttl, bool) or not isinstance(ttl, int) or not 0 <= ttl <= 2147483647):
        raise _refuse(zone, what, "its TTL %r is not a TTL (RFC 2181 8)" % (ttl,))
    return ttl


def _check_mx(zone, what, old, new, before, fp, wanted):
    for value in old + new:
        # One preference and one host name, nothing else: a second word would ride along unchecked.
        if not _MX.fullmatch(value):
            raise _refuse(zone, what, "%r is not an MX value (preference and one host name)" % value)
    foreign = [v for v in old if not fp.host(parse_mx(v)[1])]
    if foreign:
        raise _refuse(zone, what, "it would put back %s, which the fingerprint does not match: a run removes "
                      "only mxHero's records" % "; ".join(foreign))
    ours = [v for v in new if fp.host(parse_mx(v)[1])]
    if ours:
        raise _refuse(zone, what, "it says the run added %s, an mxHero host: a run never adds one" % "; ".join(ours))
    # The replacement comes from the inventory, not the record: without one, the run added no MX.
    other = [v for v in new if mx_value(*parse_mx(v)) not in wanted]
    if other:
        raise _refuse(zone, what, "it says the run added %s, which is not the replacement this restore is given "
                      "(%s): taking it out could delete the domain's own mail server"
                      % ("; ".join(other), "; ".join(sorted(wanted)) or "none"))
    if not (set(before) - set(old)) | set(new):
        raise _refuse(zone, what, "it says the run left no MX record there; a run refuses to")


def _check_spf(zone, what, old, new, fp):
    from ansible_collections.mxhero.unroute.plugins.module_utils._dns.engine import txt_policy
    if len(old) != 1 or len(new) != 1:
        raise _refuse(zone, what, "a run replaces one SPF record with one rewritten record, not %d with %d"
                      % (len(old), len(new)))
    try:
        policy, rewritten = txt_policy(old[0]), txt_policy(new[0])
    except Exception:  # noqa: B902 - dnspython raises many types for bad text; all mean the same here
        raise _refuse(zone, what, "a value is not TXT presentation text")
    if not spf_codec.is_spf(policy) or not spf_codec.is_spf(rewritten):
        raise _refuse(zone, what, "a run changes only SPF (v=spf1) TXT records")
    rewrite = spf_codec.SpfRewrite(policy, fp)
    if not rewrite.changed or rewrite.after != rewritten:
        raise _refuse(zone, what, "the SPF record it would put back (%r) differs from the one it would take out "
                      "(%r) by more than the fingerprint's terms: a run removes only mxHero's" % (policy, rewritten))


def restore(provider, zone, removed, added, fp, names, replacement=None, check_mode=False, done=None,
            zone_scan=False):
    """Check the whole record, read every RRset, and only then write; returns the module outcome."""
    plans = check(zone, removed, added, fp, names, replacement, zone_scan)
    reads = []
    for plan in plans:
        current = provider.read(plan.name, plan.rdtype)
        now = sorted(current.values)
        what = "%s %s" % (plan.name, plan.rdtype)
        if now != plan.after and now != plan.before:
            raise UnrouteError(zone, what, "changed since the run, so it is not put back: it holds %s, the run left %s"
                               % ("; ".join(now) or "nothing", "; ".join(plan.after) or "nothing"),
                               "compare the RRset with the run record and restore it by hand; nothing was written")
        reads.append((plan, current))
    findings, put_back, taken_out, before, after = [], [], [], [], []
    for plan, current in reads:
        what = "%s %s" % (plan.name, plan.rdtype)
        before.append(current.as_dict())
        if sorted(current.values) == plan.before:
            after.append(current.as_dict())
            continue  # already as before the run
        # The RRset keeps the TTL it has (the run did not change it); the record's TTL only when it has none.
        ttl = current.ttl or plan.ttl or 3600
        if not check_mode:
            try:
                provider.change(current, plan.take_out, plan.put_back, ttl)
            except PrerequisiteFailed:
                raise UnrouteError(zone, what, "changed between our read and our write; nothing was written there",
                                   "run the restore again")
            if done:
                done("restored %s" % what)
        kind = _KINDS.get(plan.rdtype, "dns_record")
        for value in plan.put_back:
            findings.append(finding("dns", kind, "%s %s" % (what, value), ["in the run record as removed"],
                                    planned("added", check_mode), before=None,
                                    after={"record": plan.name, "type": plan.rdtype, "ttl": ttl, "value": value}))
            put_back.append({"record": plan.name, "type": plan.rdtype, "ttl": ttl, "value": value})
        for value in plan.take_out:
            findings.append(finding("dns", kind, "%s %s" % (what, value), ["in the run record as added"],
                                    planned("removed", check_mode), before={"record": plan.name, "type": plan.rdtype,
                                                                            "value": value}, after=None))
            taken_out.append({"record": plan.name, "type": plan.rdtype, "ttl": current.ttl, "value": value})
        # What the write leaves: the RRset as read, without what is taken out, with what is put back.
        left = (set(current.values) - set(plan.take_out)) | set(plan.put_back)
        after.append({"record": plan.name, "type": plan.rdtype, "ttl": ttl, "values": sorted(left)})
    return dict(changed=bool(findings), findings=findings, added=put_back, removed=taken_out,
                before={"rrsets": before}, after={"rrsets": after})
