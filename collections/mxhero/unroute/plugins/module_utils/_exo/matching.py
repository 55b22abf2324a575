# Copyright (c) mxhero-unroute developers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Which Exchange Online rules and connectors are mxHero's, and how sure we are.

Only the shared fingerprint decides "is this mxHero?"; this file only knows
where, in Exchange's objects, hosts, IPs and headers live, and turns what it
finds into a decision:

- ``act``      content points at mxHero and nothing else: disable / remove it;
- ``manual``   mxHero sits next to other partners in the same list, or only in an
               exception: changing the object would hurt them, so a person edits it;
- ``reported`` only the name matches, or only a wide CIDR contains an mxHero IP.
"""

from __future__ import annotations

# Keys that describe rather than configure (Exchange regenerates Description from the conditions).
_RULE_SKIP = frozenset(("name", "identity", "guid", "description", "comments", "whenchanged", "distinguishedname",
                        "immutableid", "state", "mode", "priority", "ruleversion", "exchangeversion"))

RULE_SUMMARY = ("Name", "State", "Mode", "Priority", "RouteMessageOutboundConnector")
OUTBOUND_SUMMARY = ("Name", "Enabled", "ConnectorType", "SmartHosts", "UseMXRecord", "IsTransportRuleScoped",
                    "RecipientDomains", "TlsSettings", "TlsDomain")
INBOUND_SUMMARY = ("Name", "Enabled", "ConnectorType", "SenderDomains", "SenderIPAddresses",
                   "TlsSenderCertificateName", "RequireTls", "RestrictDomainsToIPAddresses", "EFSkipIPs")


# Transport rule actions (New-TransportRule); the rest of a rule's keys are conditions, exceptions or bookkeeping.
RULE_ACTIONS = ("AddManagerAsRecipientType", "AddToRecipients", "ApplyClassification", "ApplyHtmlDisclaimerText",
                "ApplyOME", "ApplyRightsProtectionTemplate", "BlindCopyTo", "CopyTo", "DeleteMessage",
                "GenerateIncidentReport", "GenerateNotification", "ModerateMessageByManager", "ModerateMessageByUser",
                "NotifySender", "PrependSubject", "Quarantine", "RedirectMessageTo", "RejectMessageReasonText",
                "RemoveHeader", "RemoveOME", "RemoveOMEv2", "RemoveRMSAttachmentEncryption",
                "RouteMessageOutboundConnector", "SetHeaderName", "SetSCL", "SmtpRejectMessageRejectText")
# Settings of an action above, shown with it rather than as actions of their own.
_ACTION_DETAILS = frozenset(("applyhtmldisclaimerlocation", "applyhtmldisclaimerfallbackaction", "setheadervalue",
                             "routemessageoutboundrequiretls", "incidentreportcontent",
                             "rejectmessageenhancedstatuscode", "smtprejectmessagerejectstatuscode",
                             "applyrightsprotectioncustomizationtemplate", "setauditseverity", "stopruleprocessing"))
_ACTION_KEYS = frozenset(a.lower() for a in RULE_ACTIONS) | _ACTION_DETAILS


class Match(object):
    def __init__(self):
        self.strong = []      # content evidence that makes the object mxHero's
        self.secondary = []   # content evidence that alone does not (exceptions, skip lists)
        self.overlap = []     # wide networks that contain an mxHero address
        self.weak = []        # name only
        self.others = []      # non-mxHero values sharing a list with mxHero ones
        self.fields = []      # keys that held evidence (for the finding's "before")
        self.shared = None    # name of a partner-shared connector the rule routes through
        self.partners = []    # that connector's other smart hosts

    def add(self, bucket, key, evidence):
        target = getattr(self, bucket)
        if evidence not in target:
            target.append(evidence)
        if key and key not in self.fields:
            self.fields.append(key)

    @property
    def evidence(self):
        return self.strong + self.secondary + self.overlap + self.weak

    @property
    def decision(self):
        if self.strong and not self.others:
            return "act"
        if self.strong or self.secondary:
            return "manual"
        if self.overlap or self.weak:
            return "reported"
        return None


def as_list(value):
    if value is None or isinstance(value, bool):
        return []
    if isinstance(value, (list, tuple)):
        return [v for v in value if v not in (None, "")]
    if isinstance(value, (int, float)):
        return []
    return [value] if str(value).strip() else []


def _ips(match, fp, key, values, bucket="strong", count_others=True):
    for value in as_list(values):
        evidence = fp.ip(value)
        if evidence:
            match.add(bucket, key, "%s: %s" % (key, evidence))
            continue
        overlap = fp.ip_overlap(value)
        if overlap:
            match.add("overlap", key, "%s: %s" % (key, overlap))
        elif count_others:
            match.others.append("%s %s" % (key, value))


def match_outbound(fp, conn):
    match = Match()
    for host in as_list(conn.get("SmartHosts")):
        evidence = fp.host(host) or fp.ip(host)
        if evidence:
            match.add("strong", "SmartHosts", "SmartHosts: %s" % evidence)
        else:
            match.others.append("smart host %s" % host)
    tls = fp.host(str(conn.get("TlsDomain") or "").lstrip("*."))
    if tls:
        match.add("strong", "TlsDomain", "TlsDomain: %s" % tls)
    if fp.name(conn.get("Name")):
        match.add("weak", None, fp.name(conn.get("Name")))
    return match


def match_inbound(fp, conn):
    match = Match()
    _ips(match, fp, "SenderIPAddresses", conn.get("SenderIPAddresses"))
    cert = conn.get("TlsSenderCertificateName")
    if cert and fp.host(str(cert).lstrip("*.")):
        match.add("strong", "TlsSenderCertificateName", "TlsSenderCertificateName: %s" % fp.host(
            str(cert).lstrip("*.")))
    # Enhanced-filtering skip lists only tell where mail came from, not that the connector is mxHero's.
    _ips(match, fp, "EFSkipIPs", conn.get("EFSkipIPs"), bucket="secondary", count_others=False)
    if fp.name(conn.get("Name")):
        match.add("weak", None, fp.name(conn.get("Name")))
    return match


def match_rule(fp, rule, mx_connectors, shared_connectors=None):
    """``mx_connectors``: lower-case outbound connector name -> evidence, for connectors that are mxHero's.

    ``shared_connectors``: lower-case name -> (evidence, partner smart hosts) for connectors that send to
    mxHero *and* to partners. A rule routing through one is left to a person, like the connector itself:
    switching it off would stop the partner's mail too.
    """
    match = Match()
    shared = shared_connectors or {}
    for key, value in sorted(rule.items()):
        low = key.lower()
        if low in _RULE_SKIP:
            continue
        # A customer's rule that merely exempts mxHero traffic must be edited, not switched off.
        bucket = "secondary" if low.startswith("exceptif") else "strong"
        if low == "routemessageoutboundconnector":
            target = str(value or "").lower()
            if target and target in mx_connectors:
                match.add("strong", key, "routes through connector '%s' (%s)" % (value, mx_connectors[target]))
            elif target and target in shared:
                evidence, partners = shared[target]
                match.add("strong", key, "routes through connector '%s' (%s), which also sends to %s"
                          % (value, evidence, ", ".join(partners)))
                match.others.append("connector '%s' also sends to %s" % (value, ", ".join(partners)))
                match.shared = value
                match.partners = list(partners)
            continue
        if "header" in low:
            for item in as_list(value):
                evidence = fp.header(item)
                if evidence:
                    match.add(bucket, key, "%s: %s" % (key, evidence))
            continue
        if "iprange" in low or "ipaddress" in low:
            _ips(match, fp, key, value, bucket=bucket, count_others=bucket == "strong")
            continue
        for item in as_list(value):
            for evidence in fp.scan_text(item):
                match.add(bucket, key, "%s: %s" % (key, evidence))
    if fp.name(rule.get("Name")):
        match.add("weak", None, fp.name(rule.get("Name")))
    return match


def other_actions(rule, match):
    """The rule's actions that are not mxHero's, when switching the rule off would stop them for other mail.

    When mxHero evidence sits in a condition (mxHero IPs, an X-mxHero- header), the rule only ever acts on
    mail that passed through mxHero, which unrouting ends anyway: nothing else is lost.
    """
    fields = set(f.lower() for f in match.fields)
    if any(f not in _ACTION_KEYS and not f.startswith("exceptif") for f in fields):
        return []
    out = []
    for name in RULE_ACTIONS:
        value = rule.get(name)
        # SetSCL 0 is an action; False, None and empty values are not.
        if name.lower() in fields or value is None or value is False or value in ("", []):
            continue
        if name == "SetHeaderName":
            out.append("SetHeaderName %s: %s" % (value, rule.get("SetHeaderValue") or ""))
        elif value is True:
            out.append(name)
        elif isinstance(value, (int, float)):
            out.append("%s %s" % (name, value))
        else:
            shown = ", ".join(str(v) for v in value) if isinstance(value, (list, tuple)) else str(value)
            out.append("%s %s" % (name, _short(shown)))
    return out


def _short(text, limit=60):
    text = " ".join(str(text).split())
    return "'%s'" % (text if len(text) <= limit else text[:limit - 3] + "...")


def summary(obj, keys, extra=()):
    out = {}
    for key in tuple(keys) + tuple(extra):
        if key in obj and obj[key] is not None and key not in out:
            out[key] = obj[key]
    return out
