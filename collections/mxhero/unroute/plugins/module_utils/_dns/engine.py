# Copyright (c) mxhero-unroute developers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""DNS engine: read, match against the fingerprint, plan, and apply with compare-and-swap."""

from __future__ import annotations

import time

from ansible_collections.mxhero.unroute.plugins.module_utils._errors import UnrouteError
from ansible_collections.mxhero.unroute.plugins.module_utils._findings import finding, planned
from ansible_collections.mxhero.unroute.plugins.module_utils._dns.mx import MxPlan, mx_value, parse_mx
from ansible_collections.mxhero.unroute.plugins.module_utils._dns.provider import OutcomeUnknown, PrerequisiteFailed
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
    def mx(self, record=None, replacement=None, check_mode=False, records=None):
        names = validate.check_records(self.zone, record or None, records)
        # The option each name came from (its first place in records), to name it in a refusal.
        options = ["record"] if records is None else [
            "records[%d]" % next(i for i, r in enumerate(records) if validate.fqdn(r) == name) for name in names]
        validate.check_replacement(self.zone, replacement, self.fp)
        self._prepare(names, options)

        def plan_fn(name, current):
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
        return _combine(parts, error, keyed=records is not None)

    # -- SPF -------------------------------------------------------------------
    def spf(self, record=None, check_mode=False):
        names = validate.check_records(self.zone, record or None)
        self._prepare(names, ["record"])

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

        parts, error = self._apply("TXT", names, plan_fn, describe, check_mode)
        return _combine(parts, error, keyed=False)

    # -- read-only -------------------------------------------------------------
    def info(self, record=None, dkim_selectors=DEFAULT_DKIM_SELECTORS, checks=("mx", "spf", "dkim")):
        name = record_name(self.zone, record)
        # What lies below a zone cut belongs to another zone: reporting it under this one would mislead.
        self._prepare([name], ["record"], authoritative=False)
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
            self.warn("%s has %d SPF records (permerror): merge them" % (name, len(spf_policies)))
        records["spf"] = spf_policies
        return findings

    def _info_dkim(self, name, dkim_selectors):
        findings = []
        owners = ["%s._domainkey.%s" % (selector, name) for selector in dkim_selectors]
        found = self.provider.read_many(owners, "CNAME") if owners else {}
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
