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


class Match(object):
    def __init__(self):
        self.strong = []      # content evidence that makes the object mxHero's
        self.secondary = []   # content evidence that alone does not (exceptions, skip lists)
        self.overlap = []     # wide networks that contain an mxHero address
        self.weak = []        # name only
        self.others = []      # non-mxHero values sharing a list with mxHero ones
        self.fields = []      # keys that held evidence (for the finding's "before")

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


def match_rule(fp, rule, mx_connectors):
    """``mx_connectors``: lower-case outbound connector name -> evidence, for connectors that are mxHero's."""
    match = Match()
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


def summary(obj, keys, extra=()):
    out = {}
    for key in tuple(keys) + tuple(extra):
        if key in obj and obj[key] is not None and key not in out:
            out[key] = obj[key]
    return out
