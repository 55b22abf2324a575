# Copyright (c) mxhero-unroute developers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""DNS engine: read, match against the fingerprint, plan, and apply with compare-and-swap."""

from __future__ import annotations

import time

from ansible_collections.mxhero.unroute.plugins.module_utils._errors import UnrouteError
from ansible_collections.mxhero.unroute.plugins.module_utils._findings import finding, planned
from ansible_collections.mxhero.unroute.plugins.module_utils._dns.mx import MxPlan, mx_value, parse_mx
from ansible_collections.mxhero.unroute.plugins.module_utils._dns.provider import (
    OutcomeUnknown, PrerequisiteFailed, RRset, ZoneListRefused)
from ansible_collections.mxhero.unroute.plugins.module_utils._dns.zone import (
    Chains, Outside, ZoneIndex, chain_text, in_zone)
from ansible_collections.mxhero.unroute.plugins.module_utils._dns import validate
from ansible_collections.mxhero.unroute.plugins.module_utils._dns import spf as spf_codec

# How often a write is re-planned after someone else changed the RRset between our read and our write.
CAS_ATTEMPTS = 4
# After a lost answer the server may still be committing the update: read again a few times before saying unknown.
SETTLE_READS = 3
SETTLE_PAUSE = 0.5
DEFAULT_DKIM_SELECTORS = ("mxhero", "mxh", "mxh1", "mxh2", "default", "selector1", "selector2", "google", "s1", "s2")


def fqdn(name):
    return name.rstrip(".").lower() + "."


def record_name(zone, record):
    """The absolute owner name to work on (the apex when ``record`` is not given); must lie inside ``zone``."""
    return validate.check_record(zone, "record", record or None)


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
    def __init__(self, provider, zone, fingerprint, warn=None, manual=None, explain=None):
        self.provider = provider
        self.zone = zone.rstrip(".").lower()
        self.fp = fingerprint
        # ``warn(text)``: the module's ctx.warn (prefixed with the domain); nothing is collected here.
        self.warn = warn or _ignore
        # Test hook: called between the read and the write (simulates a concurrent change).
        self.before_write = None
        # Given when nobody can write the zone through an API: the plan becomes steps for a person,
        # ``manual(finding, part) -> text``; nothing is written.
        self.manual = manual
        # ``explain(err) -> err``: the module layer's wording of a provider's typed error (which option to fix).
        self.explain = explain or _same_error
        # The whole zone, read once per engine (None: not read yet; False: the service would not list it).
        self._index = None
        self._index_finding = None
        # Where SPF names outside the zone are asked (the module sets the zone's server when it has one).
        self.outside_server = None
        self.outside_port = 53
        self._outside = None

    # -- the whole zone ------------------------------------------------------------
    def scan(self):
        """The zone's RRsets of interest, read in one pass; None when the service will not hand the zone out
        (a finding then says that only the named records were checked)."""
        if self._index is None:
            started = time.monotonic()
            try:
                rrsets = self.provider.read_zone()
            except ZoneListRefused as err:
                self._index = False
                self._index_finding = finding(
                    "dns", "zone_read", "zone %s" % self.zone, [str(err)], "reported",
                    why="the whole zone could not be read, so only the apex and the named records "
                        "(unroute_dns_records, dkim_selectors) were checked; allow this key to transfer the zone "
                        "(allow-transfer) or list every name that sends or receives mail in unroute_dns_records")
                self.warn("zone %s could not be read whole (%s): only the named records were checked"
                          % (self.zone, err))
            else:
                self._index = ZoneIndex(self.zone, rrsets, time.monotonic() - started)
        return self._index or None

    def scan_result(self):
        """What the result says about the whole-zone read (the figures go in the run's note)."""
        if self._index is None:
            return {"read": False, "reason": "not asked (zone_scan: false)"}
        if self._index is False:
            return {"read": False, "reason": self._index_finding["evidence"][0]}
        return {"read": True, "records": self._index.records, "seconds": round(self._index.seconds, 3),
                "names": len(set(n for n, dummy in self._index.rrsets)), "note": self._index.note()}

    def _scan_findings(self):
        return [dict(self._index_finding)] if self._index is False else []

    def outside(self):
        if self._outside is None:
            self._outside = Outside(self.outside_server, self.outside_port)
        return self._outside

    def _spf_now(self, name, index):
        """The one SPF policy at an in-zone name as it is now (None: none, or two, which is a permerror)."""
        if index is not None:
            policies = index.spf(name)
        else:
            policies = [p for p in (txt_policy(v) for v in self.provider.read(name, "TXT").values)
                        if spf_codec.is_spf(p)]
        return policies[0] if len(policies) == 1 else None

    def _lookup_check(self, names, index):
        """RFC 7208 4.6.4 for every SPF record the plan touches, before any write: a record already over the
        limit (10 lookups, 2 void) is reported; a plan that would make one worse is refused."""
        current = {}
        for name in names:
            policy = self._spf_now(name, index)
            if policy is not None:
                current[name] = policy
        after = dict((name, spf_codec.SpfRewrite(policy, self.fp).after) for name, policy in current.items())
        touched = [name for name in names if name in current and after[name] != current[name]]
        if not touched:
            return []
        read = {}

        def fetch_now(name):
            if in_zone(name, self.zone + ".") and not (index is not None and index.below_cut(name)):
                if name not in read:
                    read[name] = current.get(name) or self._spf_now(name, index)
                return read[name]
            return self.outside()(name)

        def fetch_after(name):
            return after[name] if name in after else fetch_now(name)

        findings = []
        for name in touched:
            before = spf_codec.count_lookups(name, current[name], fetch_now, skip=self.fp.host)
            later = spf_codec.count_lookups(name, after[name], fetch_after, skip=self.fp.host)
            if later.lookups > before.lookups or later.voids > before.voids or len(later.loops) > len(before.loops):
                raise UnrouteError(self.zone, "%s TXT" % name,
                                   "the rewritten SPF record would cost more DNS lookups than today (%s, was %s): "
                                   "nothing was changed" % (later.text(), before.text()),
                                   "edit the SPF record by hand")
            if before.over:
                if later.over:
                    still = "after the change it still needs %s" % later.text()
                else:
                    still = "the change brings it within the limit (%s)" % later.text()
                findings.append(finding("dns", "spf_lookups", "%s TXT" % name, [before.text()], "reported",
                                        before={"record": name, "policy": current[name]},
                                        why="the SPF record is already over RFC 7208's limits (4.6.4): receivers "
                                            "give permerror; %s" % still))
        return findings

    def _chain_findings(self, chains):
        """Loops, and mxHero in a record another zone holds, found by following the zone's SPF chains."""
        findings = []
        for loop in chains.loops:
            findings.append(finding("dns", "spf_loop", "%s TXT" % loop[0], ["SPF chain %s" % chain_text(loop)],
                                    "reported", why="an include/redirect loop is a permerror (RFC 7208 4.6.4): "
                                    "receivers fail every message; break the loop by hand"))
        for chain, zone, evidence in chains.foreign:
            target = chain[-1]
            obj = "%s TXT (through %s)" % (chain[0], chain_text(chain))
            if zone:
                findings.append(finding("dns", "spf_chain", obj, [evidence, "SPF chain %s" % chain_text(chain)],
                                        "reported", before={"record": target, "chain": list(chain)},
                                        why="%s lies in %s, another of the customer's zones: the run of that "
                                            "zone removes the term" % (target.rstrip("."), zone.rstrip("."))))
            else:
                findings.append(finding("dns", "spf_chain", obj, [evidence, "SPF chain %s" % chain_text(chain)],
                                        "manual", before={"record": target, "chain": list(chain)},
                                        manual_steps="%s is a third-party SPF service (included at %s) that "
                                                     "authorises mxHero: ask that service to remove it, or "
                                                     "replace the include with the service's entries that are "
                                                     "not mxHero's" % (target.rstrip("."), chain[-2].rstrip("."))))
        for chain, why in chains.unread:
            self.warn("SPF chain %s: %s; whether it authorises mxHero is unknown" % (chain_text(chain), why))
        return findings

    def _chained(self, part, chains):
        """A finding at a name reached through an SPF chain shows the chain."""
        if chains is None:
            return part
        for item in part["findings"]:
            name = (item.get("before") or item.get("after") or {}).get("record")
            chain = chains.via.get(name)
            if chain:
                item["chain"] = list(chain)
                item["evidence"] = list(item["evidence"]) + ["SPF chain %s" % chain_text(chain)]
        return part

    # -- the shared path of every change -----------------------------------------------
    def _prepare(self, names, options, authoritative=True):
        """Reads only, before any write: the server serves the zone, and no name lies below a zone cut
        (an update for such a name would go to a zone that does not hold it)."""
        if authoritative:
            self.provider.check_zone()
        for name, option in zip(names, options):
            child = self.provider.find_cut(name)
            if child:
                raise UnrouteError(self.zone, "option %s '%s'" % (option, name.rstrip(".")),
                                   "%s is below a zone cut: %s is delegated to its own zone, which zone %s does not "
                                   "hold; nothing was read or changed there" % (name, child, self.zone),
                                   "target zone %s instead (zone: %s, record: %s)"
                                   % (child.rstrip("."), child.rstrip("."), name.rstrip(".")))

    def _apply(self, rdtype, names, plan_fn, describe, check_mode):
        """Plan every name first (a refusal stops the domain before its first write), then write them in
        order; the first error stops the rest and the result keeps what was already done."""
        describe = self._stamped(describe)
        planned = [(name, self.provider.read(name, rdtype)) for name in names]
        planned = [(name, current, plan_fn(name, current)) for name, current in planned]
        if check_mode or self.manual:
            parts = [describe(name, current, plan, None) for name, current, plan in planned]
            return [self._by_hand(part) for part in parts] if self.manual else parts, None
        parts = []
        for name, dummy, dummy in planned:
            try:
                current, plan, lost = self._cas(rdtype, name, lambda cur, name=name: plan_fn(name, cur))
            except Exception as err:  # noqa: B902 - the domain stops here, whatever the cause
                err = self.explain(as_unroute_error(self.zone, "%s %s" % (name, rdtype), err))
                if not _done(parts):
                    raise err
                return parts, err
            parts.append(describe(name, current, plan, lost))
            if lost and lost["outcome"] == "unknown":
                return parts, UnrouteError(self.zone, "%s %s" % (name, rdtype), lost["cause"], lost["fix"])
        return parts, None

    def _by_hand(self, part):
        """A planned change as manual findings: the same objects and evidence, the steps instead of a write."""
        for item in part["findings"]:
            if item["action"] in ("removed", "would_remove", "added", "would_add"):
                item["action"] = "manual"
                item.pop("guarantee", None)
                item["manual_steps"] = self.manual(item, part)
        return dict(part, changed=False, removed=[], added=[])

    def _stamped(self, describe):
        """Every planned write says what the provider's write promises (``atomic_cas``/``read_verify``), so a
        reader of the run record knows how a concurrent change would have been met."""
        guarantee = getattr(self.provider, "guarantee", None)

        def wrapped(*args):
            part = describe(*args)
            for item in part["findings"]:
                if guarantee and item["action"] not in ("reported", "kept", "manual"):
                    item["guarantee"] = guarantee
            return part
        return wrapped

    def _cas(self, rdtype, name, plan_fn):
        """Read, plan, write with the read as prerequisite; on NXRRSET re-read and re-plan."""
        for dummy in range(CAS_ATTEMPTS):
            current = self.provider.read(name, rdtype)
            plan = plan_fn(current)
            if not plan.changed:
                return current, plan, None
            if self.before_write:
                self.before_write()
            try:
                self.provider.change(current, plan.delete_values, plan.add_values, current.ttl or 3600)
                return current, plan, None
            except PrerequisiteFailed:
                continue
            except OutcomeUnknown as err:
                return current, plan, self._settle(name, rdtype, current, plan, str(err))
        raise UnrouteError(self.zone, "%s %s" % (name, rdtype),
                           "the RRset changed under us %d times between read and write; nothing was written"
                           % CAS_ATTEMPTS, "someone else is editing this name: run again once they are done")

    def _settle(self, name, rdtype, current, plan, cause):
        """The answer to an update was lost: read again (never re-send blindly) and say what happened."""
        wanted = [v for v in current.values if v not in plan.delete_values] + list(plan.add_values)
        seen = None
        reread = None
        for attempt in range(SETTLE_READS):
            if attempt:
                time.sleep(SETTLE_PAUSE)
            try:
                seen = self.provider.read(name, rdtype).values
            except Exception as err:  # noqa: B902 - a failed re-read leaves the outcome unknown
                seen = None
                reread = "the re-read failed too (%s)" % as_unroute_error(self.zone, None, err).cause
                continue
            if _same(rdtype, seen, wanted):
                self.warn("%s %s: the answer to the update was lost (%s); a re-read shows the change "
                          "took effect" % (name, rdtype, cause))
                return {"outcome": "done", "cause": cause}
            if not _same(rdtype, seen, current.values):
                break
        if seen is None:
            state = reread
        elif _same(rdtype, seen, current.values):
            state = "a re-read shows the RRset as before, so the change has not taken effect (yet)"
        else:
            state = "a re-read shows neither the old nor the intended RRset (%s): someone else changed it" % (
                "; ".join(sorted(seen)) or "empty")
        return {"outcome": "unknown",
                "cause": "the update was sent but its answer never came (%s); %s; whether it took effect is "
                         "unknown" % (cause, state),
                "fix": "look at the zone (dig or dns_info), then run again: a second run only removes what is "
                       "still there"}

    # -- MX --------------------------------------------------------------------
    def mx(self, record=None, replacement=None, check_mode=False, records=None, zone_scan=False):
        names = validate.check_records(self.zone, record or None, records)
        # The option each name came from (its first place in records), to name it in a refusal.
        options = ["record"] if records is None else [
            "records[%d]" % next(i for i, r in enumerate(records) if validate.fqdn(r) == name) for name in names]
        validate.check_replacement(self.zone, replacement, self.fp)
        named = set(names)
        index = self.scan() if zone_scan else None
        if index is not None:
            found = [name for name in index.mx_names(self.fp) if name not in named]
            names, options = names + found, options + ["zone_scan"] * len(found)
        self._prepare(names, options)

        def plan_fn(name, current):
            # The replacement is the inventory's for the names it gives; a name the zone scan found keeps its
            # other MX, and with none left it is refused like any other name.
            plan = MxPlan(current.values, self.fp, replacement if name in named else None)
            if plan.leaves_no_mx:
                raise UnrouteError(self.zone, "%s MX" % name,
                                   "removing %s would leave the domain without MX records (mail would fall back "
                                   "to its A record); nothing was changed" % ", ".join(v for v, dummy in plan.remove),
                                   "give replacement (e.g. Google '1 smtp.google.com.' or Microsoft 365 "
                                   "'0 <domain-with-dashes>.mail.protection.outlook.com.')")
            plan.delete_values = [v for v, dummy in plan.remove]
            plan.add_values = plan.add
            return plan

        def describe(name, current, plan, lost):
            ttl = current.ttl
            findings = [finding("dns", "mx_record", "%s MX %s" % (name, value), evidence,
                                planned("removed", check_mode),
                                before={"record": name, "type": "MX", "ttl": ttl, "value": value}, after=None)
                        for value, evidence in plan.remove]
            # `rrset`: the whole RRset as read, so a restore can tell "as the run left it" from anything else.
            removed = [{"record": name, "type": "MX", "ttl": ttl, "value": v, "rrset": sorted(current.values)}
                       for v, dummy in plan.remove]
            added = [{"record": name, "type": "MX", "ttl": ttl or 3600, "value": v} for v in plan.add]
            for item in added:
                findings.append(finding("dns", "mx_record", "%s MX %s" % (name, item["value"]), ["replacement"],
                                        planned("added", check_mode), before=None, after=item))
            before = {"record": name, "type": "MX", "ttl": ttl, "values": sorted(current.values, key=_mx_key)}
            after = dict(before, values=sorted(plan.after, key=_mx_key))
            return _mark(dict(changed=plan.changed, findings=findings, removed=removed, added=added,
                              before=before, after=after), lost)

        parts, error = self._apply("MX", names, plan_fn, describe, check_mode)
        result = _combine(parts, error, keyed=records is not None or len(names) > 1)
        result["findings"].extend(self._scan_findings())
        if zone_scan:
            result["zone_scan"] = self.scan_result()
        return result

    # -- SPF -------------------------------------------------------------------
    def spf(self, record=None, check_mode=False, zone_scan=False, customer_zones=None):
        names = validate.check_records(self.zone, record or None)
        options = ["record"] * len(names)
        index = self.scan() if zone_scan else None
        chains = None
        if index is not None:
            found = [name for name in index.spf_names(self.fp) if name not in names]
            names, options = names + found, options + ["zone_scan"] * len(found)
            chains = Chains(index, self.fp, customer_zones, self.outside()).follow()
        self._prepare(names, options)
        extra = self._lookup_check(names, index) + (self._chain_findings(chains) if chains else [])

        def plan_fn(name, current):
            spf_values = [v for v in current.values if spf_codec.is_spf(txt_policy(v))]
            if len(spf_values) > 1:
                raise UnrouteError(self.zone, "%s TXT" % name,
                                   "%d SPF records (v=spf1) at this name is a permerror (RFC 7208 4.5); "
                                   "refusing to guess which to edit: %s" % (len(spf_values), "; ".join(spf_values)),
                                   "merge them into one SPF record by hand, then run again")
            plan = _Plan()
            if spf_values:
                plan.rewrite = spf_codec.SpfRewrite(txt_policy(spf_values[0]), self.fp)
                plan.old = spf_values[0]
                if plan.rewrite.changed:
                    plan.new = txt_value(spf_codec.split_strings(plan.rewrite.after))
                    plan.delete_values = [plan.old]
                    plan.add_values = [plan.new]
            return plan

        def describe(name, current, plan, lost):
            rewrite = plan.rewrite
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
                    removed.append({"record": name, "type": "TXT", "ttl": ttl, "value": plan.old,
                                    "terms": [t.raw for t, dummy in rewrite.removed],
                                    "rrset": sorted(current.values)})
                    added.append({"record": name, "type": "TXT", "ttl": ttl, "value": plan.new})
                    for text in rewrite.warnings():
                        self.warn(text)
            before = {"record": name, "type": "TXT", "ttl": ttl, "values": sorted(current.values)}
            after_values = [v for v in current.values if v not in plan.delete_values] + plan.add_values
            after = dict(before, values=sorted(after_values))
            return _mark(dict(changed=plan.changed, findings=findings, removed=removed, added=added, before=before,
                              after=after, spf_before=rewrite.before if rewrite else None,
                              spf_after=rewrite.after if rewrite else None), lost)

        parts, error = self._apply("TXT", names, plan_fn,
                                   lambda *args: self._chained(describe(*args), chains), check_mode)
        result = _combine(parts, error, keyed=len(names) > 1)
        result["findings"].extend(extra + self._scan_findings())
        if zone_scan:
            result["zone_scan"] = self.scan_result()
        return result

    # -- read-only -------------------------------------------------------------
    def info(self, record=None, dkim_selectors=DEFAULT_DKIM_SELECTORS, checks=("mx", "spf", "dkim"),
             zone_scan=False, customer_zones=None):
        name = record_name(self.zone, record)
        # What lies below a zone cut belongs to another zone: reporting it under this one would mislead.
        self._prepare([name], ["record"], authoritative=False)
        findings = []
        records = {"mx": [], "spf": []}
        index = self.scan() if zone_scan else None
        if "mx" in checks:
            findings.extend(self._info_mx(name, records))
            for other in (index.mx_names(self.fp) if index is not None else []):
                if other != name:
                    findings.extend(self._info_mx(other, {}, index.rrsets[(other, "MX")]))
        if "spf" in checks:
            findings.extend(self._info_spf(name, records))
            if index is not None:
                chains = Chains(index, self.fp, customer_zones, self.outside()).follow()
                for other in index.spf_names(self.fp):
                    if other != name:
                        findings.extend(self._info_spf(other, {}, index.rrsets[(other, "TXT")]))
                findings = [self._chained({"findings": [f]}, chains)["findings"][0] for f in findings]
                findings.extend(self._chain_findings(chains))
        if "dkim" in checks:
            findings.extend(self._info_dkim(name, dkim_selectors, index))
            if index is not None:
                listed = set(f["before"]["record"] for f in findings if f["kind"] == "dkim_cname")
                for owner in index.cname_names(self.fp):
                    if owner not in listed:
                        findings.extend(self._info_cname(owner, index.values(owner, "CNAME")))
        findings.extend(self._scan_findings())
        result = dict(changed=False, findings=findings, records=records)
        if zone_scan:
            result["zone_scan"] = self.scan_result()
        return result

    def _info_cname(self, owner, targets):
        """A CNAME into mxHero at a name nobody listed (a DKIM selector under _domainkey, or any other)."""
        findings = []
        dkim = "._domainkey." in owner
        for target in targets:
            evidence = self.fp.host(target)
            if evidence:
                findings.append(finding(
                    "dns", "dkim_cname" if dkim else "cname_record", "%s CNAME %s" % (owner, target), evidence,
                    "reported", before={"record": owner, "type": "CNAME", "value": target},
                    why="DKIM signing by mxHero ends with the subscription; remove once nothing signs with this "
                        "selector" if dkim else "a name of the zone that points into mxHero: remove or repoint it "
                                                "once nothing uses it"))
        return findings

    def _info_mx(self, name, records, mx=None):
        findings = []
        mx = mx or self.provider.read(name, "MX")
        for value in sorted(mx.values, key=_mx_key):
            evidence = self.fp.host(parse_mx(value)[1])
            if evidence:
                findings.append(finding("dns", "mx_record", "%s MX %s" % (name, value), evidence, "reported",
                                        before={"record": name, "type": "MX", "ttl": mx.ttl, "value": value}))
        records["mx"] = sorted(mx.values, key=_mx_key)
        return findings

    def _info_spf(self, name, records, txt=None):
        findings = []
        txt = txt or self.provider.read(name, "TXT")
        policies = [txt_policy(v) for v in txt.values]
        spf_policies = [p for p in policies if spf_codec.is_spf(p)]
        for policy in spf_policies:
            rewrite = spf_codec.SpfRewrite(policy, self.fp)
            for term, evidence in rewrite.removed + rewrite.reported:
                findings.append(finding("dns", "spf_term", "%s TXT %s" % (name, term.raw), evidence, "reported",
                                        before={"record": name, "policy": policy}))
        if len(spf_policies) > 1:
            self.warn("%s has %d SPF records (permerror): merge them" % (name, len(spf_policies)))
        records["spf"] = spf_policies
        return findings

    def _info_dkim(self, name, dkim_selectors, index=None):
        findings = []
        owners = ["%s._domainkey.%s" % (selector, name) for selector in dkim_selectors]
        # The zone as just read whole answers for every selector it holds (a query per selector was most of a
        # domain's DNS time, and API calls spend the account's budget); a selector below a zone cut is asked.
        found = dict((owner, RRset(owner, "CNAME", None, index.values(owner, "CNAME")))
                     for owner in owners if index is not None and not index.below_cut(owner))
        asked = [owner for owner in owners if owner not in found]
        if asked:
            found.update(self.provider.read_many(asked, "CNAME"))
        for owner in owners:
            cname = found[owner]
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
        self.rewrite = None
        self.old = self.new = None

    @property
    def changed(self):
        return bool(self.delete_values or self.add_values)


def _ignore(text):
    return None


def _same_error(err):
    return err


def as_unroute_error(zone, obj, err):
    """Any failure as the one-line error: a library's message never reaches the user alone."""
    if isinstance(err, UnrouteError):
        return err
    return UnrouteError(zone, obj, "unexpected %s: %s" % (type(err).__name__, str(err) or "(no message)"),
                        "nothing after this point was changed; run again with -vvv and report it if it persists")


def _done(parts):
    return any(f["action"] in ("removed", "added", "unknown") for part in parts for f in part["findings"])


def _mark(part, lost):
    """An update whose answer was lost: every object it carried says what became of it."""
    if not lost:
        return part
    known = lost["outcome"] == "done"
    for item in part["findings"]:
        if item["action"] in ("removed", "added"):
            item["outcome"] = item["action"] if known else "unknown"
            item["action"] = item["action"] if known else "unknown"
            item["why"] = lost["cause"] if not known else ("the answer to the update was lost; a re-read shows "
                                                           "the change took effect")
    for item in part["removed"]:
        item["outcome"] = "removed" if known else "unknown"
    for item in part["added"]:
        item["outcome"] = "added" if known else "unknown"
    return part


def _combine(parts, error, keyed):
    """One module result from the per-name parts; a failure keeps what was done before it."""
    if keyed:
        result = dict(changed=any(p["changed"] for p in parts), findings=[], removed=[], added=[],
                      before={p["before"]["record"]: p["before"] for p in parts},
                      after={p["after"]["record"]: p["after"] for p in parts})
        for part in parts:
            for key in ("findings", "removed", "added"):
                result[key].extend(part[key])
    else:
        result = dict(parts[0]) if parts else dict(changed=False, findings=[], removed=[], added=[])
    if error is not None:
        done = [("%s %s" % (f["action"], f["object"])) if f["action"] != "unknown" else
                "%s (outcome unknown)" % f["object"] for p in parts for f in p["findings"]
                if f["action"] in ("removed", "added", "unknown")]
        msg = str(error)
        known = [item for item in done if not item.endswith("(outcome unknown)")]
        if known and "already done" not in msg:
            msg += " (already done before this error: %s)" % "; ".join(known)
        result.update(failed=True, msg=msg, partial=done)
    return result


def _same(rdtype, values_a, values_b):
    """Whether two RRsets hold the same records (compared as rdata: case of names and spacing do not matter)."""
    return _rdatas(rdtype, values_a) == _rdatas(rdtype, values_b)


def _rdatas(rdtype, values):
    import dns.rdata
    import dns.rdataclass
    import dns.rdatatype
    return set(dns.rdata.from_text(dns.rdataclass.IN, dns.rdatatype.from_text(rdtype), v) for v in values)


def _mx_key(value):
    pref, exchange = parse_mx(value)
    return (pref, exchange)


__all__ = ["DnsEngine", "record_name", "mx_value", "txt_value", "txt_policy"]
