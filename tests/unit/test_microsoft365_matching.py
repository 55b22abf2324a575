"""Which Exchange Online objects are mxHero's, and what the engine decides, without a lab."""

from __future__ import annotations

import pytest

from ansible_collections.mxhero.unroute.plugins.module_utils._exo.engine import ExoEngine
from ansible_collections.mxhero.unroute.plugins.module_utils._exo.client import ExoUnknownOutcome
from ansible_collections.mxhero.unroute.plugins.module_utils._exo.matching import (
    match_inbound, match_outbound, match_rule, other_actions)
from ansible_collections.mxhero.unroute.plugins.module_utils._fingerprint import Fingerprint

FP = Fingerprint()


@pytest.mark.parametrize("hosts, decision", [
    (["smtp.mxhero.com"], "act"),
    (["[SMTP-RELAY.MXHERO.COM]:25"], "act"),
    (["54.208.111.28"], "act"),
    (["smtp.mxhero.com", "mail.partner.example"], "manual"),
    (["notmxhero.com", "mxhero.com.evil.example", "smtp.mxhero.co"], None),
    ([], None),
])
def test_outbound_smart_hosts(hosts, decision):
    assert match_outbound(FP, {"Name": "c", "SmartHosts": hosts}).decision == decision


def test_outbound_name_alone_is_only_reported():
    match = match_outbound(FP, {"Name": "Old MXHERO relay", "SmartHosts": ["relay.example"]})
    assert match.decision == "reported" and match.evidence == ["name contains mxhero"]


@pytest.mark.parametrize("conn, decision", [
    ({"SenderIPAddresses": ["54.208.111.28", "3.211.77.148"]}, "act"),
    ({"SenderIPAddresses": ["54.208.111.28", "198.51.100.7"]}, "manual"),
    ({"SenderIPAddresses": ["54.208.111.29"]}, None),
    ({"SenderIPAddresses": ["54.208.0.0/16"]}, "reported"),
    ({"TlsSenderCertificateName": "*.mxhero.com"}, "act"),
    ({"TlsSenderCertificateName": "mail.notmxhero.com"}, None),
    ({"SenderIPAddresses": ["198.51.100.7"], "EFSkipIPs": ["54.208.111.28"]}, "manual"),
])
def test_inbound(conn, decision):
    assert match_inbound(FP, dict(conn, Name="c")).decision == decision


def test_inbound_cidr_counts_when_asked():
    wide = Fingerprint(match_cidrs=True)
    assert match_inbound(wide, {"Name": "c", "SenderIPAddresses": ["54.208.0.0/16"]}).decision == "act"


@pytest.mark.parametrize("rule, decision", [
    ({"RouteMessageOutboundConnector": "MX OUT"}, "act"),
    ({"RouteMessageOutboundConnector": "partner"}, None),
    ({"HeaderContainsMessageHeader": "X-mxHero-Id"}, "act"),
    ({"HeaderContainsMessageHeader": "X-Mxhero-Actions"}, "act"),
    ({"HeaderContainsMessageHeader": "X-Not-mxHero"}, None),
    ({"SenderIpRanges": ["54.236.184.32"], "SetSCL": -1}, "act"),
    ({"SenderIpRanges": ["54.236.184.32", "192.0.2.1"], "SetSCL": -1}, "manual"),
    ({"ExceptIfSenderIpRanges": ["54.236.184.32"]}, "manual"),
    ({"RedirectMessageTo": ["archive@vault.mxhero.com"]}, "act"),
    ({"Description": "If the message comes from smtp.mxhero.com"}, None),
    ({"RouteMessageOutboundConnector": "mx out", "ExceptIfSenderIpRanges": ["192.0.2.1"]}, "act"),
])
def test_rules(rule, decision):
    assert match_rule(FP, dict(rule, Name="r"), {"mx out": "SmartHosts: host smtp.mxhero.com"}).decision == decision


def test_a_rule_through_a_partner_shared_connector_is_manual():
    shared = {"shared": ("SmartHosts: host smtp.mxhero.com", ["relay.partner-a.example"])}
    match = match_rule(FP, {"Name": "r", "RouteMessageOutboundConnector": "Shared",
                            "RecipientDomainIs": ["partner-a.example"]}, {}, shared)
    assert match.decision == "manual" and match.shared == "Shared"
    assert "relay.partner-a.example" in match.evidence[0]


@pytest.mark.parametrize("rule, expected", [
    ({"RouteMessageOutboundConnector": "mx out", "ApplyHtmlDisclaimerText": "Be nice", "SetSCL": 0},
     ["ApplyHtmlDisclaimerText 'Be nice'", "SetSCL 0"]),
    ({"RouteMessageOutboundConnector": "mx out", "SetHeaderName": "X-Corp", "SetHeaderValue": "1",
      "StopRuleProcessing": True, "DeleteMessage": False, "BlindCopyTo": []}, ["SetHeaderName X-Corp: 1"]),
    ({"RouteMessageOutboundConnector": "mx out", "Quarantine": True}, ["Quarantine"]),
    # the mxHero evidence is a condition: the rule only ever acted on mail from mxHero
    ({"SenderIpRanges": ["54.236.184.32"], "SetSCL": -1, "PrependSubject": "[ext]"}, []),
    ({"RouteMessageOutboundConnector": "mx out", "ExceptIfHeaderContainsMessageHeader": "X-mxHero-Actions",
      "PrependSubject": "x" * 80}, ["PrependSubject '%s...'" % ("x" * 57)]),
])
def test_other_actions(rule, expected):
    match = match_rule(FP, dict(rule, Name="r"), {"mx out": "SmartHosts: host smtp.mxhero.com"})
    assert other_actions(rule, match) == expected


class FakeClient(object):
    """Tenant in memory; records writes; can pretend a write's outcome was unknown."""

    def __init__(self, rules, outbound=(), unknown=0, applies=True):
        self.objects = {"TransportRule": {r["Name"]: dict(r) for r in rules},
                        "OutboundConnector": {c["Name"]: dict(c) for c in outbound}, "InboundConnector": {}}
        self.writes = []
        self.unknown = unknown
        self.applies = applies

    def list(self, noun):
        return [dict(o) for o in self.objects[noun].values()]

    def get(self, noun, name):
        obj = self.objects[noun].get(name)
        return dict(obj) if obj else None

    def disable_rule(self, name):
        self.writes.append(("Disable-TransportRule", name))
        if self.applies or len(self.writes) > 1:
            self.objects["TransportRule"][name]["State"] = "Disabled"
        if self.unknown:
            self.unknown -= 1
            raise ExoUnknownOutcome("Disable-TransportRule: outcome unknown (HTTP 504)")

    def set_enabled(self, noun, name, enabled):
        self.writes.append(("Set-" + noun, name))
        self.objects[noun][name]["Enabled"] = enabled

    def remove(self, noun, name):
        self.writes.append(("Remove-" + noun, name))
        del self.objects[noun][name]


RULES = [{"Name": "via mx", "State": "Enabled", "Priority": 0, "RouteMessageOutboundConnector": "mx out"},
         {"Name": "partner", "State": "Enabled", "Priority": 1, "RouteMessageOutboundConnector": "p"}]
OUT = [{"Name": "mx out", "Enabled": True, "SmartHosts": ["smtp.mxhero.com"]},
       {"Name": "p", "Enabled": True, "SmartHosts": ["mail.partner.example"]}]


def engine(client, check_mode=False):
    return ExoEngine(client, FP, "example.test", check_mode=check_mode, confirm_delays=(0, 0), sleep=lambda s: None)


def test_check_mode_writes_nothing_and_plans_the_same():
    client = FakeClient(RULES, OUT)
    planned = engine(client, check_mode=True).connectors("outbound", "disabled")
    assert client.writes == []
    done = engine(client).connectors("outbound", "disabled")
    assert client.writes == [("Disable-TransportRule", "via mx"), ("Set-OutboundConnector", "mx out")]
    assert [f["action"] for f in planned["findings"]] == ["would_disable", "would_disable"]
    assert [f["action"] for f in done["findings"]] == ["disabled", "disabled"]
    assert planned["before"] == done["before"] and planned["after"] == done["after"]


def test_unknown_outcome_that_happened_is_not_repeated():
    client = FakeClient(RULES, OUT, unknown=1)
    result = engine(client).transport_rules("disabled")
    assert result["changed"] and client.writes == [("Disable-TransportRule", "via mx")]


def test_unknown_outcome_that_did_not_happen_is_repeated_once_after_reading():
    client = FakeClient(RULES, OUT, unknown=1, applies=False)
    engine(client).transport_rules("disabled")
    assert client.writes == [("Disable-TransportRule", "via mx"), ("Disable-TransportRule", "via mx")]
    assert client.objects["TransportRule"]["via mx"]["State"] == "Disabled"
