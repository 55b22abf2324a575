"""One Exchange Online tenant's mail-flow objects and the cmdlets the emulator answers.

The objects start from the estate's ``microsoft365`` section and change only
through cmdlets. Errors are raised as :class:`CmdletError`, which the HTTP layer
turns into Exchange's error body (``code|exception type|text`` in details).
"""

from __future__ import annotations

import copy
import ipaddress
import time
import uuid
import zlib

_SERVER = "EMULATED01.PROD.OUTLOOK.COM"

_RULE_DEFAULTS = {
    "State": "Enabled", "Mode": "Enforce", "Description": "", "Comments": "",
    "RouteMessageOutboundConnector": None, "SenderIpRanges": None, "ExceptIfSenderIpRanges": None,
    "HeaderContainsMessageHeader": None, "HeaderContainsWords": None, "HeaderMatchesMessageHeader": None,
    "HeaderMatchesPatterns": None, "SetHeaderName": None, "SetHeaderValue": None, "SetSCL": None,
    "RedirectMessageTo": None, "BlindCopyTo": None, "FromScope": None, "SentToScope": None,
    "RecipientDomainIs": None, "SenderDomainIs": None, "StopRuleProcessing": False,
}
_OUTBOUND_DEFAULTS = {
    "Enabled": True, "ConnectorType": "Partner", "ConnectorSource": "Default", "Comment": None,
    "SmartHosts": [], "UseMXRecord": None, "IsTransportRuleScoped": False, "RecipientDomains": [],
    "TlsSettings": None, "TlsDomain": None, "RouteAllMessagesViaOnPremises": False, "CloudServicesMailEnabled": False,
    "TestMode": False,
}
_INBOUND_DEFAULTS = {
    "Enabled": True, "ConnectorType": "Partner", "ConnectorSource": "Default", "Comment": None,
    "SenderDomains": [], "SenderIPAddresses": [], "TlsSenderCertificateName": None, "RequireTls": False,
    "RestrictDomainsToIPAddresses": False, "RestrictDomainsToCertificate": False, "EFSkipIPs": [],
    "EFSkipLastIP": False, "CloudServicesMailEnabled": False, "TestMode": False,
}
_JOURNAL_DEFAULTS = {"Enabled": True, "Scope": "Global", "Recipient": None, "JournalEmailAddress": None}

# cmdlet -> (collection, verb, accepted parameters). "Confirm" is accepted everywhere, as in PowerShell.
CMDLETS = {
    "Get-TransportRule": ("rules", "get", {"Identity", "ResultSize", "State"}),
    "Enable-TransportRule": ("rules", "enable", {"Identity", "Mode"}),
    "Disable-TransportRule": ("rules", "disable", {"Identity"}),
    "Remove-TransportRule": ("rules", "remove", {"Identity"}),
    # A subset of Set-TransportRule's parameters: renaming (-Name) and -Comments, what an admin does by hand.
    "Set-TransportRule": ("rules", "set", {"Identity", "Name", "Comments"}),
    "Get-OutboundConnector": ("outbound", "get", {"Identity", "IncludeTestModeConnectors"}),
    "Set-OutboundConnector": ("outbound", "set", {"Identity", "Enabled", "Comment"}),
    "Remove-OutboundConnector": ("outbound", "remove", {"Identity"}),
    "Get-InboundConnector": ("inbound", "get", {"Identity", "ResultSize", "IncludeTestModeConnectors"}),
    "Set-InboundConnector": ("inbound", "set", {"Identity", "Enabled", "Comment"}),
    "Remove-InboundConnector": ("inbound", "remove", {"Identity"}),
    "Get-ArcConfig": ("arc", "get", {"Identity"}),
    "Get-HostedConnectionFilterPolicy": ("connection_filter", "get", {"Identity"}),
    "Set-HostedConnectionFilterPolicy": ("connection_filter", "set", {"Identity", "IPAllowList", "IPBlockList",
                                                                      "EnableSafeList"}),
    "Get-JournalRule": ("journal", "get", {"Identity"}),
}
_BOOL_PARAMS = {"Enabled", "Confirm", "IncludeTestModeConnectors", "EnableSafeList"}
# Multi-valued properties: a list replaces the value; {"Add": [...], "Remove": [...]} (PowerShell's @{Add=..;
# Remove=..}) edits it in place.
_MULTI_VALUED = {"IPAllowList", "IPBlockList"}
_KIND_NOUN = {"rules": "TransportRule", "outbound": "OutboundConnector", "inbound": "InboundConnector",
              "journal": "JournalRule", "connection_filter": "HostedConnectionFilterPolicy", "arc": "ArcConfig"}


class CmdletError(Exception):
    def __init__(self, status, code, exception_type, text):
        super().__init__(text)
        self.status = status
        self.code = code
        self.exception_type = exception_type
        self.text = text

    def body(self):
        return {"error": {
            "code": self.code, "message": "Error executing cmdlet",
            "details": [{"code": "Context", "target": "",
                         "message": "Ex%06X|%s|%s" % (zlib.crc32(self.exception_type.encode()) & 0xFFFFFF,
                                                      self.exception_type, self.text)}],
            "innererror": {"message": "Error executing cmdlet", "type": self.exception_type,
                           "@Microsoft.Exchange.Admin.OData.Core.ODataServiceError.Cmdlet": "True"}}}


def _not_found(identity):
    return CmdletError(404, "NotFound", "Microsoft.Exchange.Configuration.Tasks.ManagementObjectNotFoundException",
                       "The operation couldn't be performed because object '%s' couldn't be found on '%s'."
                       % (identity, _SERVER))


def _bad(text, exception_type="System.Management.Automation.ParameterBindingException"):
    return CmdletError(400, "BadRequest", exception_type, text)


class Tenant:
    """State of one tenant (one estate domain with a ``microsoft365`` section)."""

    def __init__(self, domain, section, tenant_id):
        section = section or {}
        self.domain = domain
        self.tenant_id = tenant_id
        self.page_size = int(section.get("page_size") or 1000)
        app = section.get("app") or {}
        self.exchange_role = bool(app.get("exchange_role", True))
        self.collections = {"rules": [], "outbound": [], "inbound": [], "journal": [], "connection_filter": [],
                            "arc": []}
        for index, item in enumerate(section.get("transport_rules") or []):
            self._add("rules", item, _RULE_DEFAULTS, Priority=index)
        for item in section.get("outbound_connectors") or []:
            obj = self._add("outbound", item, _OUTBOUND_DEFAULTS)
            if obj["UseMXRecord"] is None:
                obj["UseMXRecord"] = not obj["SmartHosts"]
        for item in section.get("inbound_connectors") or []:
            self._add("inbound", item, _INBOUND_DEFAULTS)
        for item in section.get("journal_rules") or []:
            self._add("journal", item, _JOURNAL_DEFAULTS)
        self._add("connection_filter", {"Name": "Default", "IsDefault": True, "EnableSafeList": False,
                                        "IPAllowList": list(section.get("connection_filter_ip_allow_list") or []),
                                        "IPBlockList": []}, {})
        self._add("arc", {"Name": "Default",
                          "ArcTrustedSealers": ",".join(section.get("arc_trusted_sealers") or []) or None}, {})
        # (collection, lower-case name) -> {"reads": n, "mode": "stale"|"missing", "old": object or None}
        self.lag = {}
        self.warnings = []
        self.hold = None

    def _add(self, kind, item, defaults, **extra):
        obj = copy.deepcopy(defaults)
        obj.update(copy.deepcopy(item))
        obj.update(extra)
        if "Name" not in obj:
            raise ValueError("%s: every microsoft365 object needs a Name" % self.domain)
        obj.setdefault("Identity", obj["Name"])
        obj.setdefault("Guid", str(uuid.uuid5(uuid.UUID(self.tenant_id), "%s/%s" % (kind, obj["Name"]))))
        obj.setdefault("WhenChanged", _now())
        self.collections[kind].append(obj)
        return obj

    # -- lookup ----------------------------------------------------------------
    def _find(self, kind, identity):
        wanted = str(identity).strip().lower()
        for obj in self.collections[kind]:
            if wanted in (str(obj["Name"]).lower(), str(obj["Identity"]).lower(), str(obj["Guid"]).lower()):
                return obj
        return None

    def _view(self, kind):
        """What a read sees now: current objects, with replication lag applied (and consumed)."""
        out = []
        present = set()
        for obj in self.collections[kind]:
            key = (kind, obj["Name"].lower())
            present.add(key)
            lag = self._consume_lag(key)
            if lag is None:
                out.append(copy.deepcopy(obj))
            elif lag["mode"] == "stale" and lag["old"] is not None:
                out.append(copy.deepcopy(lag["old"]))
        for key in list(self.lag):
            if key[0] == kind and key not in present:
                lag = self._consume_lag(key)
                if lag and lag["mode"] == "stale" and lag["old"] is not None:
                    out.append(copy.deepcopy(lag["old"]))
        return out

    def _consume_lag(self, key):
        lag = self.lag.get(key)
        if lag is None:
            return None
        lag["reads"] -= 1
        if lag["reads"] <= 0:
            del self.lag[key]
        return lag

    # -- cmdlets ---------------------------------------------------------------
    def take_warnings(self):
        out, self.warnings = self.warnings, []
        return out

    def run(self, name, params, lag=None, hold=None):
        """Run cmdlet ``name``; return a list of objects (empty for writes). ``lag``: fault spec or None;
        ``hold``: the inbound_hold fault when armed (Microsoft keeps the connector disabled)."""
        self.warnings = []
        self.hold = hold
        if name not in CMDLETS:
            raise _bad("The term '%s' is not recognized as a name of a cmdlet, function, script file, or "
                       "executable program." % name, "System.Management.Automation.CommandNotFoundException")
        kind, verb, accepted = CMDLETS[name]
        if not isinstance(params, dict):
            raise _bad("Parameters must be a JSON object.")
        for key, value in params.items():
            if key not in accepted and key != "Confirm":
                raise _bad("A parameter cannot be found that matches parameter name '%s'." % key)
            if key in _BOOL_PARAMS and not isinstance(value, bool):
                raise _bad("Cannot process argument transformation on parameter '%s'. Cannot convert value "
                           "\"%s\" to type \"System.Boolean\"." % (key, value),
                           "System.Management.Automation.ParameterBindingArgumentTransformationException")
        identity = params.get("Identity")
        if verb == "get":
            items = self._view(kind)
            if kind in ("outbound", "inbound") and params.get("IncludeTestModeConnectors") is not True:
                items = [o for o in items if not o.get("TestMode")]
            if identity is not None:
                wanted = str(identity).strip().lower()
                items = [o for o in items
                         if wanted in (str(o["Name"]).lower(), str(o["Identity"]).lower(), str(o["Guid"]).lower())]
                if not items:
                    raise _not_found(identity)
            if kind == "rules":
                if params.get("State"):
                    items = [o for o in items if o["State"].lower() == str(params["State"]).lower()]
                items.sort(key=lambda o: o["Priority"])
            return items
        if identity is None or not str(identity).strip():
            raise _bad("Cannot process command because of one or more missing mandatory parameters: Identity.",
                       "System.Management.Automation.ParameterBindingException")
        obj = self._find(kind, identity)
        if obj is None:
            raise _not_found(identity)
        before = copy.deepcopy(obj)
        getattr(self, "_%s_%s" % (kind, verb))(obj, params)
        if lag:
            self.lag[(kind, obj["Name"].lower())] = {"reads": int(lag.get("reads", 2)),
                                                     "mode": lag.get("mode", "stale"), "old": before}
        return []

    # -- writes ----------------------------------------------------------------
    def _rules_disable(self, obj, params):
        obj["State"] = "Disabled"
        obj["WhenChanged"] = _now()

    def _rules_enable(self, obj, params):
        connector = obj.get("RouteMessageOutboundConnector")
        if connector:
            target = self._find("outbound", connector)
            if target is None or not target["Enabled"]:
                raise _bad("The outbound connector '%s' that this rule routes messages through is disabled or "
                           "doesn't exist. Enable the connector before the rule." % connector,
                           "Microsoft.Exchange.MessagingPolicies.Rules.Tasks.InvalidOutboundConnectorException")
        obj["State"] = "Enabled"
        if params.get("Mode"):
            obj["Mode"] = params["Mode"]
        obj["WhenChanged"] = _now()

    def _rules_set(self, obj, params):
        name = params.get("Name")
        if name is not None:
            name = str(name).strip()
            clash = self._find("rules", name)
            if not name or (clash is not None and clash is not obj):
                raise _bad("A transport rule with the name '%s' already exists." % name,
                           "Microsoft.Exchange.Configuration.Tasks.ManagementObjectAlreadyExistsException")
            # Exchange Online names a rule by its Name: Identity follows a rename, the Guid does not change.
            obj["Name"] = obj["Identity"] = name
        if "Comments" in params:
            obj["Comments"] = params["Comments"]
        obj["WhenChanged"] = _now()

    def _rules_remove(self, obj, params):
        self.collections["rules"].remove(obj)
        for index, rule in enumerate(self.collections["rules"]):
            rule["Priority"] = index

    def _routing_rules(self, connector):
        return [r["Name"] for r in self.collections["rules"]
                if r["State"] == "Enabled"
                and str(r.get("RouteMessageOutboundConnector") or "").lower() == connector["Name"].lower()]

    def _outbound_set(self, obj, params):
        if params.get("Enabled") is False and obj["Enabled"]:
            rules = self._routing_rules(obj)
            if rules:
                raise _bad("The connector '%s' can't be disabled because it's used by enabled transport rule(s) "
                           "%s. Disable those rules first." % (obj["Name"], ", ".join("'%s'" % r for r in rules)),
                           "Microsoft.Exchange.Management.Tasks.ConnectorInUseByTransportRuleException")
        self._set(obj, params)

    def _outbound_remove(self, obj, params):
        rules = self._routing_rules(obj)
        if rules:
            raise _bad("The connector '%s' can't be removed because it's used by enabled transport rule(s) %s. "
                       "Disable or remove those rules first." % (obj["Name"], ", ".join("'%s'" % r for r in rules)),
                       "Microsoft.Exchange.Management.Tasks.ConnectorInUseByTransportRuleException")
        self.collections["outbound"].remove(obj)

    def _inbound_set(self, obj, params):
        hold = getattr(self, "hold", None)
        types = [str(t).lower() for t in (hold or {}).get("connector_types") or ["OnPremises"]]
        if hold and params.get("Enabled") is True and not obj["Enabled"] \
                and str(obj.get("ConnectorType")).lower() in types:
            # Microsoft's Inbound connector FAQ (learn.microsoft.com, "Inbound connector: FAQ"): for some service
            # offerings (tenants created after 2023) an OnPremises inbound connector stays disabled until the
            # customer asks Support; the cmdlet succeeds with this warning and the connector stays off.
            self.warnings.append("For this service offering, you can't enable an inbound connector. Contact "
                                 "Support to enable it.")
            params = dict(params, Enabled=False)
        self._set(obj, params)

    def _inbound_remove(self, obj, params):
        self.collections["inbound"].remove(obj)

    def _connection_filter_set(self, obj, params):
        for key in _MULTI_VALUED & set(params):
            obj[key] = _multi_valued(key, obj.get(key), params[key])
        if "EnableSafeList" in params:
            obj["EnableSafeList"] = params["EnableSafeList"]
        obj["WhenChanged"] = _now()

    @staticmethod
    def _set(obj, params):
        for key, value in params.items():
            if key not in ("Identity", "Confirm"):
                obj[key] = value
        obj["WhenChanged"] = _now()

    def state(self):
        return {"tenant_id": self.tenant_id, "page_size": self.page_size,
                "transport_rules": copy.deepcopy(self.collections["rules"]),
                "outbound_connectors": copy.deepcopy(self.collections["outbound"]),
                "inbound_connectors": copy.deepcopy(self.collections["inbound"]),
                "journal_rules": copy.deepcopy(self.collections["journal"]),
                "connection_filter": copy.deepcopy(self.collections["connection_filter"]),
                "arc_config": copy.deepcopy(self.collections["arc"])}


def _ip_entry(key, value):
    """IP allow/block lists take an address, a CIDR from /24 to /32, or an a-b range, as Exchange documents."""
    text = str(value).strip()
    try:
        if "-" in text:
            low, high = (ipaddress.ip_address(p.strip()) for p in text.split("-", 1))
            if low.version == high.version and low <= high:
                return text
        elif "/" in text:
            net = ipaddress.ip_network(text, strict=False)
            if net.version == 6 or net.prefixlen >= 24:
                return text
        else:
            ipaddress.ip_address(text)
            return text
    except ValueError:
        pass
    raise _bad("Cannot process argument transformation on parameter '%s'. '%s' is not a valid IP address, CIDR "
               "range (/24 to /32) or IP address range." % (key, text),
               "System.Management.Automation.ParameterBindingArgumentTransformationException")


def _multi_valued(key, current, value):
    current = list(current or [])
    if value is None:
        return []
    if isinstance(value, list):
        return [_ip_entry(key, v) for v in value]
    if not isinstance(value, dict) or not set(value) <= {"Add", "Remove", "@odata.type"}:
        raise _bad("Cannot convert the value of parameter '%s' to MultiValuedProperty: use a list or a hashtable "
                   "with Add and/or Remove." % key,
                   "System.Management.Automation.ParameterBindingArgumentTransformationException")
    drop = set(str(v).strip().lower() for v in _values(value.get("Remove")))
    out = [v for v in current if str(v).strip().lower() not in drop]
    for item in _values(value.get("Add")):
        entry = _ip_entry(key, item)
        if entry.lower() not in (str(v).strip().lower() for v in out):
            out.append(entry)
    return out


def _values(value):
    if value is None:
        return []
    return value if isinstance(value, list) else [value]


def _now():
    return time.strftime("%Y-%m-%dT%H:%M:%S+00:00", time.gmtime())
