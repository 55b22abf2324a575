# Copyright (c) mxhero-unroute developers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""DNS engine: read, match against the fingerprint, plan, and apply with compare-and-swap."""

from __future__ import annotations

from ansible_collections.mxhero.unroute.plugins.module_utils._errors import UnrouteError
from ansible_collections.mxhero.unroute.plugins.module_utils._findings import finding, planned
from ansible_collections.mxhero.unroute.plugins.module_utils._dns.mx import MxPlan, mx_value, parse_mx
from ansible_collections.mxhero.unroute.plugins.module_utils._dns.provider import PrerequisiteFailed
from ansible_collections.mxhero.unroute.plugins.module_utils._dns import spf as spf_codec

# How often a write is re-planned after someone else changed the RRset between our read and our write.
CAS_ATTEMPTS = 4
DEFAULT_DKIM_SELECTORS = ("mxhero", "mxh", "mxh1", "mxh2", "default", "selector1", "selector2", "google", "s1", "s2")


def fqdn(name):
    return name.rstrip(".").lower() + "."


def record_name(zone, record):
    """The absolute owner name to work on; must lie inside ``zone``."""
    zone_fq = fqdn(zone)
    if not record:
        return zone_fq
    name = fqdn(record)
    if name != zone_fq and not name.endswith("." + zone_fq):
        raise UnrouteError(zone.rstrip("."), "record %s" % record,
                           "the record is not inside zone %s" % zone.rstrip("."),
                           "give record as a fully qualified name inside the zone (or omit it for the apex)")
    return name


def txt_value(chunks):
    """Presentation form of a TXT rdata from its byte strings (dnspython does the escaping)."""
    return " ".join('"%s"' % _escape(c) for c in chunks)


def _escape(chunk):
    out = []
    for byte in bytearray(chunk):
        char = chr(byte)
        if char in '"\\':
            out.append("\\" + char)
        elif 0x20 <= byte < 0x7F:
            out.append(char)
        else:
            out.append("\\%03d" % byte)
    return "".join(out)


def txt_policy(value):
    """The text of a TXT rdata: its strings concatenated (RFC 7208 3.3)."""
    import dns.rdata
    import dns.rdataclass
    import dns.rdatatype
    rdata = dns.rdata.from_text(dns.rdataclass.IN, dns.rdatatype.TXT, value)
    return b"".join(rdata.strings).decode("utf-8", "replace")


class DnsEngine(object):
    def __init__(self, provider, zone, fingerprint):
        self.provider = provider
        self.zone = zone.rstrip(".").lower()
        self.fp = fingerprint
        self.warnings = []
        # Test hook: called between the read and the write (simulates a concurrent change).
        self.before_write = None

    def _cas(self, rdtype, name, plan_fn, check_mode):
        """Read, plan, write with the read as prerequisite; on NXRRSET re-read and re-plan."""
        for dummy in range(CAS_ATTEMPTS):
            current = self.provider.read(name, rdtype)
            plan = plan_fn(current)
            if check_mode or not plan.changed:
                return current, plan
            if self.before_write:
                self.before_write()
            try:
                self.provider.change(current, plan.delete_values, plan.add_values, current.ttl or 3600)
                return current, plan
            except PrerequisiteFailed:
                continue
        raise UnrouteError(self.zone, "%s %s" % (name, rdtype),
                           "the RRset changed under us %d times between read and write; nothing was written"
                           % CAS_ATTEMPTS, "someone else is editing this name: run again once they are done")

    # -- MX --------------------------------------------------------------------
    def mx(self, record=None, replacement=None, check_mode=False):
        name = record_name(self.zone, record)
        for item in replacement or []:
            if self.fp.host(item["exchange"]):
                raise UnrouteError(self.zone, "replacement %s" % item["exchange"],
                                   "a replacement MX may not itself be an mxHero host",
                                   "give the domain's real mail service as replacement")
        self.provider.check_zone(self.zone)

        def plan_fn(current):
            plan = MxPlan(current.values, self.fp, replacement)
            if plan.leaves_no_mx:
                raise UnrouteError(self.zone, "%s MX" % name,
                                   "removing %s would leave the domain without MX records (mail would fall back "
                                   "to its A record); nothing was changed" % ", ".join(v for v, dummy in plan.remove),
                                   "give replacement (e.g. Google '1 smtp.google.com.' or Microsoft 365 "
                                   "'0 <domain-with-dashes>.mail.protection.outlook.com.')")
            plan.delete_values = [v for v, dummy in plan.remove]
            plan.add_values = plan.add
            return plan

        current, plan = self._cas("MX", name, plan_fn, check_mode)
        ttl = current.ttl
        verb = planned("removed", check_mode)
        findings = [finding("dns", "mx_record", "%s MX %s" % (name, value), evidence, verb,
                            before={"record": name, "type": "MX", "ttl": ttl, "value": value}, after=None)
                    for value, evidence in plan.remove]
        removed = [{"record": name, "type": "MX", "ttl": ttl, "value": v} for v, dummy in plan.remove]
        added = [{"record": name, "type": "MX", "ttl": ttl or 3600, "value": v} for v in plan.add]
        for item in added:
            findings.append(finding("dns", "mx_record", "%s MX %s" % (name, item["value"]), ["replacement"],
                                    planned("added", check_mode), before=None, after=item))
        before = {"record": name, "type": "MX", "ttl": ttl, "values": sorted(current.values, key=_mx_key)}
        after = dict(before, values=sorted(plan.after, key=_mx_key))
        return dict(changed=plan.changed, findings=findings, removed=removed, added=added, before=before, after=after)

    # -- SPF -------------------------------------------------------------------
    def spf(self, record=None, check_mode=False):
        name = record_name(self.zone, record)
        self.provider.check_zone(self.zone)
        outcome = {}

        def plan_fn(current):
            spf_values = [v for v in current.values if spf_codec.is_spf(txt_policy(v))]
            if len(spf_values) > 1:
                raise UnrouteError(self.zone, "%s TXT" % name,
                                   "%d SPF records (v=spf1) at this name is a permerror (RFC 7208 4.5); "
                                   "refusing to guess which to edit: %s" % (len(spf_values), "; ".join(spf_values)),
                                   "merge them into one SPF record by hand, then run again")
            plan = _Plan()
            if not spf_values:
                outcome["rewrite"] = None
                return plan
            rewrite = spf_codec.SpfRewrite(txt_policy(spf_values[0]), self.fp)
            outcome["rewrite"] = rewrite
            outcome["old"] = spf_values[0]
            if rewrite.changed:
                new_value = txt_value(spf_codec.split_strings(rewrite.after))
                outcome["new"] = new_value
                plan.delete_values = [spf_values[0]]
                plan.add_values = [new_value]
            return plan

        current, plan = self._cas("TXT", name, plan_fn, check_mode)
        rewrite = outcome.get("rewrite")
        ttl = current.ttl
        findings, removed, added = [], [], []
        if rewrite is not None:
            verb = planned("removed", check_mode)
            for term, evidence in rewrite.removed:
                findings.append(finding("dns", "spf_term", "%s TXT %s" % (name, term.raw), evidence, verb,
                                        before={"record": name, "policy": rewrite.before},
                                        after={"record": name, "policy": rewrite.after}))
            for term, evidence in rewrite.reported:
                findings.append(finding("dns", "spf_term", "%s TXT %s" % (name, term.raw), evidence, "reported",
                                        before={"record": name, "policy": rewrite.before},
                                        why="a network wider than one mxHero address: set match_cidrs to remove"))
            if rewrite.changed:
                removed.append({"record": name, "type": "TXT", "ttl": ttl, "value": outcome["old"],
                                "terms": [t.raw for t, dummy in rewrite.removed]})
                added.append({"record": name, "type": "TXT", "ttl": ttl, "value": outcome["new"]})
                self.warnings.extend(rewrite.warnings())
        before = {"record": name, "type": "TXT", "ttl": ttl, "values": sorted(current.values)}
        after_values = [v for v in current.values if v not in plan.delete_values] + plan.add_values
        after = dict(before, values=sorted(after_values))
        return dict(changed=plan.changed, findings=findings, removed=removed, added=added, before=before, after=after,
                    spf_before=rewrite.before if rewrite else None, spf_after=rewrite.after if rewrite else None)

    # -- read-only -------------------------------------------------------------
    def info(self, record=None, dkim_selectors=DEFAULT_DKIM_SELECTORS, checks=("mx", "spf", "dkim")):
        name = record_name(self.zone, record)
        findings = []
        records = {"mx": [], "spf": []}
        if "mx" in checks:
            findings.extend(self._info_mx(name, records))
        if "spf" in checks:
            findings.extend(self._info_spf(name, records))
        if "dkim" in checks:
            findings.extend(self._info_dkim(name, dkim_selectors))
        return dict(changed=False, findings=findings, records=records)

    def _info_mx(self, name, records):
        findings = []
        mx = self.provider.read(name, "MX")
        for value in sorted(mx.values, key=_mx_key):
            evidence = self.fp.host(parse_mx(value)[1])
            if evidence:
                findings.append(finding("dns", "mx_record", "%s MX %s" % (name, value), evidence, "reported",
                                        before={"record": name, "type": "MX", "ttl": mx.ttl, "value": value}))
        records["mx"] = sorted(mx.values, key=_mx_key)
        return findings

    def _info_spf(self, name, records):
        findings = []
        txt = self.provider.read(name, "TXT")
        policies = [txt_policy(v) for v in txt.values]
        spf_policies = [p for p in policies if spf_codec.is_spf(p)]
        for policy in spf_policies:
            rewrite = spf_codec.SpfRewrite(policy, self.fp)
            for term, evidence in rewrite.removed + rewrite.reported:
                findings.append(finding("dns", "spf_term", "%s TXT %s" % (name, term.raw), evidence, "reported",
                                        before={"record": name, "policy": policy}))
        if len(spf_policies) > 1:
            self.warnings.append("%s has %d SPF records (permerror): merge them" % (name, len(spf_policies)))
        records["spf"] = spf_policies
        return findings

    def _info_dkim(self, name, dkim_selectors):
        findings = []
        for selector in dkim_selectors:
            owner = "%s._domainkey.%s" % (selector, name)
            cname = self.provider.read(owner, "CNAME")
            for target in cname.values:
                evidence = self.fp.host(target)
                if evidence:
                    findings.append(finding("dns", "dkim_cname", "%s CNAME %s" % (owner, target), evidence,
                                            "reported", before={"record": owner, "type": "CNAME", "value": target},
                                            why="DKIM signing by mxHero ends with the subscription; "
                                                "remove once nothing signs with this selector"))
        return findings


class _Plan(object):
    def __init__(self):
        self.delete_values = []
        self.add_values = []

    @property
    def changed(self):
        return bool(self.delete_values or self.add_values)


def _mx_key(value):
    pref, exchange = parse_mx(value)
    return (pref, exchange)


__all__ = ["DnsEngine", "record_name", "mx_value", "txt_value", "txt_policy"]
