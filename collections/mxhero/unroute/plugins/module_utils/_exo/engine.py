# Copyright (c) mxhero-unroute developers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Exchange Online: read rules and connectors, match them, plan, apply in a safe order, confirm.

Order: a transport rule that routes through a connector is disabled before the
connector (Exchange refuses the reverse), outbound connectors before inbound
ones (stop sending to mxHero before refusing what comes back).
"""

from __future__ import annotations

import time

from ansible_collections.mxhero.unroute.plugins.module_utils._errors import UnrouteError
from ansible_collections.mxhero.unroute.plugins.module_utils._exo.auth_advice import auth_fix
from ansible_collections.mxhero.unroute.plugins.module_utils._exo.client import (
    ExoAuthError, ExoError, ExoNotFound, ExoUnknownOutcome)
from ansible_collections.mxhero.unroute.plugins.module_utils._exo.matching import (
    INBOUND_SUMMARY, OUTBOUND_SUMMARY, RULE_ACTIONS, RULE_SUMMARY, as_list, match_inbound, match_outbound, match_rule,
    other_actions, summary)
from ansible_collections.mxhero.unroute.plugins.module_utils._findings import GONE, finding, planned

PLATFORM = "microsoft365"
RULE = "TransportRule"
NOUNS = {"outbound": "OutboundConnector", "inbound": "InboundConnector"}
KINDS = {"outbound": "outbound_connector", "inbound": "inbound_connector", "rule": "transport_rule",
         "filter": "connection_filter_allow_ip"}
FILTER = "HostedConnectionFilterPolicy"
_NOUN_KINDS = {RULE: KINDS["rule"], NOUNS["outbound"]: KINDS["outbound"], NOUNS["inbound"]: KINDS["inbound"],
               FILTER: KINDS["filter"]}
# Re-reads after a write: Exchange replicates for seconds before every reader sees a change.
CONFIRM_DELAYS = (0.25, 0.5, 1.0, 2.0, 2.0, 3.0)

INFO_CHECKS = ("rules", "connectors", "arc", "connection_filter", "journal")

_EAC = "Exchange admin center (admin.exchange.microsoft.com) > Mail flow"


class ExoEngine(object):
    def __init__(self, client, fingerprint, label, check_mode=False, confirm_delays=CONFIRM_DELAYS,
                 sleep=time.sleep, warn=None):
        self.client = client
        self.fp = fingerprint
        self.label = label
        self.check_mode = check_mode
        self.confirm_delays = tuple(confirm_delays)
        self._sleep = sleep
        self.done = []
        # The runner's warn callback; without one (unit tests) warnings are kept here.
        self.warnings = []
        self.warn = warn or self.warnings.append

    # -- errors ----------------------------------------------------------------
    def _fail(self, obj, err):
        cause = str(err)
        if self.done:
            cause += "; already done before this failure: %s" % ", ".join(self.done)
        if isinstance(err, ExoAuthError):
            # Whatever was being read, it is the tenant and the app that were refused.
            obj = "tenant %s, app %s" % (self.client.tenant_id, self.client.client_id)
            fix = auth_fix(err, self.client)
        elif isinstance(err, ExoUnknownOutcome) or err.transient:
            fix = "Exchange Online is throttling or unavailable; re-run later (the task re-reads state first)"
        elif err.status == 400:
            fix = "Exchange refused the command; fix the cause above in the tenant and re-run"
        else:
            fix = "check api_endpoint, authority_host and ca_path, then re-run"
        return UnrouteError(self.label, obj, cause, fix, partial=list(self.done))

    def _read(self, what, func, *args):
        try:
            return func(*args)
        except ExoError as err:
            raise self._fail(what, err)

    # -- reading and matching --------------------------------------------------
    def _mx_outbound(self, connectors):
        """Outbound connectors that send to mxHero: (only to mxHero, also to partners), by lower-case name."""
        only, shared = {}, {}
        for conn in connectors:
            match = match_outbound(self.fp, conn)
            if not match.strong:
                continue
            name = str(conn.get("Name")).lower()
            if match.decision == "act":
                only[name] = "; ".join(match.strong)
            else:
                partners = [o.replace("smart host ", "", 1) for o in match.others]
                shared[name] = ("; ".join(match.strong), partners)
        return only, shared

    def _rule_finding(self, rule, match, action, after=None, why=None, manual_steps=None, extra=()):
        return finding(PLATFORM, KINDS["rule"], rule.get("Name"), match.evidence, action,
                       before=summary(rule, RULE_SUMMARY, tuple(match.fields) + tuple(extra)), after=after,
                       why=why, manual_steps=manual_steps)

    def _acted_rule(self, rule, match, action, state, after=None, why=None):
        """Finding for a rule switched off or removed; names, and warns about, the other actions it stops."""
        others = other_actions(rule, match)
        if others:
            verb = "removing" if state == "absent" else "disabling"
            lost = ("%s it also stops its other actions for all the mail it matches: %s; re-create them in a rule "
                    "of their own if they are still wanted" % (verb, "; ".join(others)))
            why = "%s; %s" % (why, lost) if why else lost
            self.warn("%s: rule '%s': %s" % (self.label, rule.get("Name"), lost))
        extra = [a for a in RULE_ACTIONS if rule.get(a) is not None and rule.get(a) is not False
                 and rule.get(a) not in ("", [])] if others else []
        return self._rule_finding(rule, match, action, after=after, why=why, extra=extra)

    def _conn_finding(self, direction, conn, match, action, after=None, why=None, manual_steps=None):
        keys = OUTBOUND_SUMMARY if direction == "outbound" else INBOUND_SUMMARY
        return finding(PLATFORM, KINDS[direction], conn.get("Name"), match.evidence, action,
                       before=summary(conn, keys), after=after, why=why, manual_steps=manual_steps)

    @staticmethod
    def _manual_rule(rule, match):
        if match.shared:
            return ("%s > Connectors > '%s': it sends to mxHero and to %s; remove the mxHero smart hosts there "
                    "(see the connector's own finding) and rule '%s' can stay as it is. Disable the rule only if "
                    "nothing but mxHero needs it (it routes: %s)"
                    % (_EAC, match.shared, ", ".join(match.partners), rule.get("Name"),
                       "; ".join("%s %s" % (k, ", ".join(str(v) for v in as_list(rule[k]))) for k in sorted(rule)
                                 if k.lower().startswith(("recipient", "sentto", "from", "sender"))
                                 and as_list(rule[k])) or "all mail"))
        return ("%s > Rules > '%s': remove the mxHero values (%s) from its conditions and exceptions, keep the "
                "others (%s), or disable the rule if nothing else needs it"
                % (_EAC, rule.get("Name"), "; ".join(match.strong + match.secondary),
                   ", ".join(match.others) or "none"))

    @staticmethod
    def _manual_connector(conn, match):
        return ("%s > Connectors > '%s': remove the mxHero entries (%s) and keep %s; or disable the connector "
                "once no partner needs it"
                % (_EAC, conn.get("Name"), "; ".join(match.strong + match.secondary),
                   ", ".join(match.others) or "the rest"))

    # -- writing ---------------------------------------------------------------
    def _confirm(self, noun, name, removal, check):
        for delay in (0.0,) + self.confirm_delays:
            if delay:
                self._sleep(delay)
            obj = self.client.get(noun, name)
            if removal and obj is None:
                return True
            if not removal and obj is not None and check(obj):
                return True
        return False

    def _write(self, noun, name, what, func, removal=False, check=None):
        """Apply one change, tolerate an unknown outcome and replication lag, never report it done unseen.

        False when the object was gone before our write reached it (someone else took it out): not done by us.
        """
        try:
            try:
                func()
            except ExoUnknownOutcome:
                # Re-read before repeating: the write may have happened.
                if not self._confirm(noun, name, removal, check):
                    try:
                        func()
                    except ExoNotFound:
                        if not removal:
                            raise
            except ExoNotFound:
                # Not a permissions problem: the object vanished between our read and this write.
                return False
            if not self._confirm(noun, name, removal, check):
                raise UnrouteError(
                    self.label, "%s '%s'" % (noun, name),
                    "Exchange accepted the change but it still reads as before after %.0fs (replication lag?)%s"
                    % (sum(self.confirm_delays), "; already done: %s" % ", ".join(self.done) if self.done else ""),
                    "re-run the task in a few minutes; it re-reads state and finishes the job", partial=list(self.done))
        except ExoError as err:
            raise self._fail("%s '%s'" % (noun, name), err)
        self.done.append(what)
        return True

    def _gone(self, noun, name, findings, removed):
        """Our record of an object someone else took out first: left alone by this run, nothing to restore."""
        kind = _NOUN_KINDS.get(noun)

        def mine(item):
            return item.get("kind") == kind and (item.get("object") == name or (
                noun == FILTER and str(item.get("object")).startswith("%s: " % name)))

        for item in findings:
            if mine(item) and item.get("action") in ("removed", "disabled"):
                item.update(action="kept", after=None, why=GONE)
        removed[:] = [r for r in removed if not mine(r)]
        self.warn("%s: %s '%s': %s" % (self.label, noun, name, GONE))

    def _disable_rule(self, name):
        return self._write(RULE, name, "disabled rule '%s'" % name, lambda: self.client.disable_rule(name),
                           check=lambda o: str(o.get("State")).lower() == "disabled")

    def _remove(self, noun, name):
        return self._write(noun, name, "removed %s '%s'" % (noun, name), lambda: self.client.remove(noun, name),
                           removal=True)

    def _disable_connector(self, noun, name):
        return self._write(noun, name, "disabled %s '%s'" % (noun, name),
                           lambda: self.client.set_enabled(noun, name, False),
                           check=lambda o: o.get("Enabled") is False)

    # -- transport rules -------------------------------------------------------
    def transport_rules(self, state):
        connectors = self._read("outbound connectors", self.client.list, NOUNS["outbound"])
        rules = self._read("transport rules", self.client.list, RULE)
        mx, shared = self._mx_outbound(connectors)
        findings, removed, writes = [], [], []
        before, after = [], []
        for rule in sorted(rules, key=lambda r: r.get("Priority", 0)):
            match = match_rule(self.fp, rule, mx, shared)
            decision = match.decision
            name = rule.get("Name")
            if decision is None:
                continue
            if decision == "manual":
                findings.append(self._rule_finding(rule, match, "manual", manual_steps=self._manual_rule(rule, match)))
                continue
            if decision == "reported":
                findings.append(self._rule_finding(rule, match, "reported", why=_why_reported(match)))
                continue
            enabled = str(rule.get("State")).lower() != "disabled"
            if state == "disabled" and not enabled:
                findings.append(self._rule_finding(rule, match, "kept", after={"State": "Disabled"},
                                                   why="already disabled"))
                before.append({"Name": name, "State": "Disabled"})
                after.append({"Name": name, "State": "Disabled"})
                continue
            before.append({"Name": name, "State": rule.get("State")})
            if state == "absent":
                findings.append(self._acted_rule(rule, match, planned("removed", self.check_mode), state))
                removed.append({"kind": KINDS["rule"], "object": name, "properties": rule})
                writes.append(("remove", name))
            else:
                findings.append(self._acted_rule(rule, match, planned("disabled", self.check_mode), state,
                                                 after={"State": "Disabled"}))
                after.append({"Name": name, "State": "Disabled"})
                writes.append(("disable", name))
        changed = bool(writes)
        if not self.check_mode:
            changed = False
            for verb, name in writes:
                if (self._remove(RULE, name) if verb == "remove" else self._disable_rule(name)):
                    changed = True
                else:
                    self._gone(RULE, name, findings, removed)
        return dict(findings=findings, removed=removed, changed=changed,
                    before={"transport_rules": before}, after={"transport_rules": after})

    # -- connectors ------------------------------------------------------------
    def connectors(self, direction, state):
        directions = ["outbound", "inbound"] if direction == "both" else [direction]
        findings, removed, steps = [], [], []
        before = {"outbound_connectors": [], "inbound_connectors": [], "transport_rules": []}
        after = {"outbound_connectors": [], "inbound_connectors": [], "transport_rules": []}
        if "inbound" in directions:
            before["connection_filter"], after["connection_filter"] = [], []
        for side in directions:
            noun = NOUNS[side]
            items = self._read("%s connectors" % side, self.client.list, noun)
            matcher = match_outbound if side == "outbound" else match_inbound
            targets = []
            for conn in items:
                match = matcher(self.fp, conn)
                decision = match.decision
                name = conn.get("Name")
                if decision is None:
                    continue
                if decision == "manual":
                    findings.append(self._conn_finding(side, conn, match, "manual",
                                                       manual_steps=self._manual_connector(conn, match)))
                    continue
                if decision == "reported":
                    findings.append(self._conn_finding(side, conn, match, "reported", why=_why_reported(match)))
                    continue
                enabled = conn.get("Enabled") is not False
                key = "%s_connectors" % side
                if state == "disabled" and not enabled:
                    findings.append(self._conn_finding(side, conn, match, "kept", after={"Enabled": False},
                                                       why="already disabled"))
                    before[key].append({"Name": name, "Enabled": False})
                    after[key].append({"Name": name, "Enabled": False})
                    continue
                before[key].append({"Name": name, "Enabled": conn.get("Enabled")})
                targets.append(conn)
                if state == "absent":
                    findings.append(self._conn_finding(side, conn, match, planned("removed", self.check_mode)))
                    removed.append({"kind": KINDS[side], "object": name, "properties": conn})
                    steps.append(("remove", noun, name))
                else:
                    findings.append(self._conn_finding(side, conn, match, planned("disabled", self.check_mode),
                                                       after={"Enabled": False}))
                    after[key].append({"Name": name, "Enabled": False})
                    steps.append(("disable", noun, name))
            if side == "outbound" and targets:
                rule_steps = self._rules_through(targets, findings, before, after)
                # Rules go first: Exchange refuses to disable or remove a connector an enabled rule routes through.
                steps = rule_steps + steps
        if "inbound" in directions:
            # Last: while mxHero still relays mail in, its allow list entry keeps that mail out of spam filtering.
            steps.extend(self._optional("connection filter policies", self._allow_list,
                                        findings, removed, before, after))
        changed = bool(steps)
        if not self.check_mode:
            changed = False
            for step in steps:
                verb, noun, name = step[:3]
                if noun == RULE:
                    done = self._disable_rule(name)
                elif noun == FILTER:
                    done = self._remove_allowed(name, step[3])
                elif verb == "remove":
                    done = self._remove(noun, name)
                else:
                    done = self._disable_connector(noun, name)
                if done:
                    changed = True
                else:
                    self._gone(noun, name, findings, removed)
        return dict(findings=findings, removed=removed, changed=changed, before=before, after=after)

    def _allow_list(self, findings, removed, before, after):
        """Plan removing mxHero's own addresses from every connection filter policy's IP allow list.

        Only entries that are mxHero addresses go (a wider network that merely contains one stays, reported,
        unless match_cidrs); everything else in the list is left as it is.
        """
        steps = []
        for policy in self.client.list(FILTER):
            name = policy.get("Name")
            entries = as_list(policy.get("IPAllowList"))
            gone = [e for e in entries if self.fp.ip(e)]
            keep = [e for e in entries if e not in gone]
            for entry in entries:
                obj = "%s: %s" % (name, entry)
                if entry in gone:
                    findings.append(finding(
                        PLATFORM, KINDS["filter"], obj, ["IPAllowList: %s" % self.fp.ip(entry)],
                        planned("removed", self.check_mode), before={"Identity": name, "IPAllowList": entries},
                        after={"Identity": name, "IPAllowList": keep}))
                    removed.append({"kind": KINDS["filter"], "object": obj,
                                    "properties": {"Identity": name, "IPAllowList": [entry]}})
                elif self.fp.ip_overlap(entry):
                    findings.append(finding(
                        PLATFORM, KINDS["filter"], obj, ["IPAllowList: %s" % self.fp.ip_overlap(entry)], "reported",
                        before={"Identity": name, "IPAllowList": entries},
                        why=_why_reported_overlap(), manual_steps=_manual_allow(name, entry)))
            if gone:
                before["connection_filter"].append({"Name": name, "IPAllowList": entries})
                after["connection_filter"].append({"Name": name, "IPAllowList": keep})
                steps.append(("remove", FILTER, name, gone))
        return steps

    def _remove_allowed(self, name, entries):
        wanted = set(e.strip().lower() for e in entries)
        return self._write(FILTER, name, "removed %s from the IP allow list of %s '%s'"
                           % (", ".join(entries), FILTER, name),
                           lambda: self.client.remove_values(FILTER, name, "IPAllowList", entries),
                           check=lambda o: not wanted & set(str(e).strip().lower()
                                                            for e in as_list(o.get("IPAllowList"))))

    def _rules_through(self, connectors, findings, before, after):
        """Disable enabled rules that route through connectors about to go (they route to mxHero too)."""
        names = dict((str(c.get("Name")).lower(), "; ".join(match_outbound(self.fp, c).strong)) for c in connectors)
        rules = self._read("transport rules", self.client.list, RULE)
        steps = []
        for rule in sorted(rules, key=lambda r: r.get("Priority", 0)):
            target = str(rule.get("RouteMessageOutboundConnector") or "").lower()
            if target not in names or str(rule.get("State")).lower() == "disabled":
                continue
            match = match_rule(self.fp, rule, names)
            findings.append(self._acted_rule(
                rule, match, planned("disabled", self.check_mode), "disabled", after={"State": "Disabled"},
                why="routes through connector '%s', which this task changes; Exchange refuses to disable or "
                    "remove a connector that an enabled rule routes through" % rule.get("RouteMessageOutboundConnector")))
            before["transport_rules"].append({"Name": rule.get("Name"), "State": rule.get("State")})
            after["transport_rules"].append({"Name": rule.get("Name"), "State": "Disabled"})
            steps.append(("disable", RULE, rule.get("Name")))
        return steps

    # -- read-only inventory ---------------------------------------------------
    def info(self, checks=INFO_CHECKS):
        findings = []
        outbound = inbound = rules = []
        if "connectors" in checks or "rules" in checks:
            outbound = self._read("outbound connectors", self.client.list, NOUNS["outbound"])
        if "connectors" in checks:
            inbound = self._read("inbound connectors", self.client.list, NOUNS["inbound"])
            for conn in outbound:
                self._info_finding(findings, "outbound", conn, match_outbound(self.fp, conn))
            for conn in inbound:
                self._info_finding(findings, "inbound", conn, match_inbound(self.fp, conn))
        if "rules" in checks:
            rules = self._read("transport rules", self.client.list, RULE)
            mx, shared = self._mx_outbound(outbound)
            for rule in sorted(rules, key=lambda r: r.get("Priority", 0)):
                match = match_rule(self.fp, rule, mx, shared)
                if match.decision == "manual":
                    findings.append(self._rule_finding(rule, match, "manual",
                                                       manual_steps=self._manual_rule(rule, match)))
                elif match.decision:
                    findings.append(self._rule_finding(rule, match, "reported", why=_why_info(match, rule, "rule")))
        if "arc" in checks:
            findings.extend(self._optional("ARC configuration", self._arc_findings))
        if "connection_filter" in checks:
            findings.extend(self._optional("connection filter policies", self._filter_findings))
        if "journal" in checks:
            findings.extend(self._optional("journal rules", self._journal_findings))
        return dict(findings=findings, transport_rules=rules, outbound_connectors=outbound,
                    inbound_connectors=inbound, changed=False)

    def _info_finding(self, findings, side, conn, match):
        if match.decision == "manual":
            findings.append(self._conn_finding(side, conn, match, "manual",
                                               manual_steps=self._manual_connector(conn, match)))
        elif match.decision:
            findings.append(self._conn_finding(side, conn, match, "reported", why=_why_info(match, conn, side)))

    def _optional(self, what, func, *args):
        """Reading these needs more roles than the rest; a refusal is a warning, not a failure."""
        try:
            return func(*args)
        except ExoAuthError as err:
            if err.status == 403:
                self.warn("%s: cannot read %s: %s" % (self.label, what, err))
                return []
            raise self._fail(what, err)
        except ExoError as err:
            if err.transient:
                raise self._fail(what, err)
            self.warn("%s: cannot read %s: %s" % (self.label, what, err))
            return []

    def _arc_findings(self):
        out = []
        for config in self.client.list("ArcConfig"):
            sealers = [s.strip() for s in str(config.get("ArcTrustedSealers") or "").split(",") if s.strip()]
            for sealer in sealers:
                evidence = self.fp.host(sealer)
                if evidence:
                    rest = [s for s in sealers if s != sealer]
                    out.append(finding(
                        PLATFORM, "arc_trusted_sealer", sealer, ["ArcTrustedSealers: %s" % evidence], "reported",
                        before={"ArcTrustedSealers": sealers}, after={"ArcTrustedSealers": rest},
                        why="read only: ARC trust does not route mail",
                        manual_steps="Microsoft Defender portal > Email & collaboration > Policies & rules > Threat "
                                     "policies > Email authentication settings > ARC: remove '%s' (or "
                                     "Set-ArcConfig -Identity Default -ArcTrustedSealers '%s')"
                                     % (sealer, ",".join(rest))))
        return out

    def _filter_findings(self):
        out = []
        for policy in self.client.list(FILTER):
            for entry in as_list(policy.get("IPAllowList")):
                exact = self.fp.ip(entry)
                evidence = exact or self.fp.ip_overlap(entry)
                if evidence:
                    out.append(finding(
                        PLATFORM, KINDS["filter"], "%s: %s" % (policy.get("Name"), entry),
                        ["IPAllowList: %s" % evidence], "reported",
                        before={"Identity": policy.get("Name"), "IPAllowList": policy.get("IPAllowList")},
                        why="exo_connector (direction inbound or both) removes it" if exact
                        else _why_reported_overlap(),
                        manual_steps=_manual_allow(policy.get("Name"), entry)))
        return out

    def _journal_findings(self):
        out = []
        for rule in self.client.list("JournalRule"):
            hits = self.fp.scan_text(rule.get("JournalEmailAddress"))
            if hits:
                out.append(finding(
                    PLATFORM, "journal_rule", rule.get("Name"), ["JournalEmailAddress: %s" % h for h in hits],
                    "reported", before=summary(rule, ("Name", "Enabled", "Scope", "JournalEmailAddress")),
                    why="read only: journal copies may be needed for compliance",
                    manual_steps="Microsoft Purview portal > Data lifecycle management > Exchange (legacy) > Journal "
                                 "rules > '%s': point it at another address or turn it off" % rule.get("Name")))
        return out


def _why_reported_overlap():
    return ("a network wider than one mxHero address; it may hold other senders too (set match_cidrs to treat "
            "it as mxHero's)")


def _manual_allow(policy, entry):
    return ("Microsoft Defender portal > Policies & rules > Threat policies > Anti-spam > Connection filter policy "
            "(%s) > Always allow messages from these IP addresses: remove %s (or Set-HostedConnectionFilterPolicy "
            "-Identity '%s' -IPAllowList @{Remove='%s'})" % (policy, entry, policy, entry))


def _why_reported(match):
    if match.overlap:
        return _why_reported_overlap()
    return "only the name matches; its content does not reference mxHero"


def _why_info(match, obj, what):
    if match.decision != "act":
        return _why_reported(match)
    if what == "rule":
        off = str(obj.get("State")).lower() == "disabled"
        module = "exo_transport_rule"
    else:
        off = obj.get("Enabled") is False
        module = "exo_connector"
    if off:
        return "disabled already; %s with state=absent would remove it" % module
    return "%s would disable it (or remove it with state=absent)" % module
