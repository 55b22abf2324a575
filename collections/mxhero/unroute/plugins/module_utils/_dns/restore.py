# Copyright (c) mxhero-unroute developers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Put back what a run removed from DNS and take out what it added, RRset by RRset.

Each RRset is changed only while it is as the run left it (the values the run added
present, the values it removed absent); the write carries the RRset as read as its
prerequisite, like a forward change. An RRset already back as it was is left alone, so a
second restore changes nothing. Values travel exactly as recorded (the old TXT with its
strings split as they were), with the TTL they had.
"""

from __future__ import annotations

from ansible_collections.mxhero.unroute.plugins.module_utils._errors import UnrouteError
from ansible_collections.mxhero.unroute.plugins.module_utils._findings import finding, planned
from ansible_collections.mxhero.unroute.plugins.module_utils._dns.provider import PrerequisiteFailed

_KINDS = {"MX": "mx_record", "TXT": "spf_record"}


def _fqdn(name):
    return str(name).rstrip(".").lower() + "."


def groups(removed, added):
    """(name, type) -> {"removed": [...], "added": [...]} in the order the record lists them."""
    out = {}
    for side, items in (("removed", removed), ("added", added)):
        for item in items or []:
            key = (_fqdn(item["record"]), str(item["type"]).upper())
            out.setdefault(key, {"removed": [], "added": []})[side].append(item)
    return out


def restore(provider, zone, removed, added, check_mode=False, done=None):
    """Restore every RRset the record touched; returns the module outcome (findings, diff before/after)."""
    findings, put_back, taken_out, before, after = [], [], [], [], []
    for (name, rdtype), sides in groups(removed, added).items():
        old = [i["value"] for i in sides["removed"]]
        new = [i["value"] for i in sides["added"]]
        current = provider.read(name, rdtype)
        now = set(current.values)
        what = "%s %s" % (name, rdtype)
        recorded = next((i.get("rrset") for i in sides["removed"] if i.get("rrset") is not None), None)
        if recorded is not None:
            # The whole RRset as the run read it: exactly that is put back, and only from exactly what it left.
            original = set(recorded)
            left = (original - set(old)) | set(new)
        else:  # a record written before `rrset` was kept: judge by the values the run touched
            original = (now - set(new)) | set(old)
            left = (original - set(old)) | set(new)
        before.append(current.as_dict())
        if now == original:
            after.append(current.as_dict())
            continue  # already as before the run
        if now != left:
            raise UnrouteError(zone, what, "changed since the run, so it is not put back: it holds %s, the run left %s"
                               % ("; ".join(sorted(now)) or "nothing", "; ".join(sorted(left)) or "nothing"),
                               "compare the RRset with the run record and restore it by hand")
        ttl = next((i.get("ttl") for i in sides["removed"] if i.get("ttl")), None) or current.ttl or 3600
        if not check_mode:
            try:
                provider.change(current, new, old, ttl)
            except PrerequisiteFailed:
                raise UnrouteError(zone, what, "changed between our read and our write; nothing was written",
                                   "run the restore again")
            if done:
                done("restored %s" % what)
        kind = _KINDS.get(rdtype, "dns_record")
        for value in old:
            findings.append(finding("dns", kind, "%s %s" % (what, value), ["in the run record as removed"],
                                    planned("added", check_mode), before=None,
                                    after={"record": name, "type": rdtype, "ttl": ttl, "value": value}))
            put_back.append({"record": name, "type": rdtype, "ttl": ttl, "value": value})
        for value in new:
            findings.append(finding("dns", kind, "%s %s" % (what, value), ["in the run record as added"],
                                    planned("removed", check_mode), before={"record": name, "type": rdtype,
                                                                            "value": value}, after=None))
            taken_out.append({"record": name, "type": rdtype, "ttl": current.ttl, "value": value})
        after.append({"record": name, "type": rdtype, "ttl": ttl, "values": sorted(original)})
    return dict(changed=bool(findings), findings=findings, added=put_back, removed=taken_out,
                before={"rrsets": before}, after={"rrsets": after})
