"""exo_* modules on what a new user's estates showed was missed: partner-shared connectors, IP ranges, test-mode
connectors, the connection filter allow list, rules with other actions (issue 10, items 1-5)."""

from __future__ import annotations

import pytest

from helpers import run_module
from microsoft365_fixtures import by_name, exo_args, start_lab, stop_lab, tenant, tenant_state

pytestmark = pytest.mark.lab

MX_OUT = {"Name": "mxHERO Outbound", "SmartHosts": ["smtp.mxhero.com"], "IsTransportRuleScoped": True,
          "RecipientDomains": ["*"]}
MX_IN = {"Name": "mxHERO Inbound", "SenderDomains": ["*"], "SenderIPAddresses": ["54.208.111.28"]}
SHARED = {"Name": "Shared relay", "SmartHosts": ["smtp.mxhero.com", "relay.partner-a.example"],
          "IsTransportRuleScoped": True}
PARTNER_A_RULE = {"Name": "Route partner A", "RouteMessageOutboundConnector": "Shared relay",
                  "RecipientDomainIs": ["partner-a.example"]}
RANGE_RULE = {"Name": "Skip spam for the gateway", "SenderIpRanges": ["52.22.51.90-52.22.51.100"], "SetSCL": -1}
ALLOW = ["54.208.111.28", "198.51.100.7", "52.22.51.97/32", "54.165.0.0/16", "52.22.51.90-52.22.51.100"]
DISCLAIMER = "Confidential: this message is meant for its addressees only."
ROUTE_WITH_ACTIONS = {"Name": "Route and stamp", "RouteMessageOutboundConnector": "mxHERO Outbound",
                      "SentToScope": "NotInOrganization", "ApplyHtmlDisclaimerText": DISCLAIMER,
                      "ApplyHtmlDisclaimerLocation": "Append", "SetHeaderName": "X-Corp-Scanned",
                      "SetHeaderValue": "yes"}
BYPASS = {"Name": "Bypass spam filter for mxHero", "SenderIpRanges": ["54.208.111.28"], "SetSCL": -1}


@pytest.fixture(scope="module")
def lab(tmp_path_factory):
    domains = [
        tenant("shared.test", outbound_connectors=[SHARED], transport_rules=[PARTNER_A_RULE]),
        tenant("range.test", transport_rules=[RANGE_RULE]),
        tenant("testmode.test", outbound_connectors=[dict(MX_OUT, TestMode=True)],
               inbound_connectors=[dict(MX_IN, TestMode=True)]),
        tenant("allow.test", connection_filter_ip_allow_list=ALLOW),
        tenant("allowwide.test", connection_filter_ip_allow_list=ALLOW),
        tenant("actions.test", outbound_connectors=[MX_OUT], transport_rules=[ROUTE_WITH_ACTIONS, BYPASS]),
        tenant("actions-conn.test", outbound_connectors=[MX_OUT], transport_rules=[ROUTE_WITH_ACTIONS]),
    ]
    lab = start_lab(tmp_path_factory.mktemp("exo-leftovers"), domains)
    yield lab
    stop_lab(lab)


def without_action(findings):
    return [{k: v for k, v in f.items() if k != "action"} for f in findings]


# -- item 1 --------------------------------------------------------------------
def test_a_rule_through_a_partner_shared_connector_is_left_to_a_person(lab):
    domain = "shared.test"
    before = tenant_state(lab, domain)
    rules = run_module("exo_transport_rule", exo_args(lab, domain))
    conns = run_module("exo_connector", exo_args(lab, domain))
    assert not rules.get("failed") and not conns.get("failed"), (rules, conns)
    assert rules["changed"] is False and conns["changed"] is False
    rule = by_name([dict(f, Name=f["object"]) for f in rules["findings"]])["Route partner A"]
    assert rule["action"] == "manual"
    assert "relay.partner-a.example" in rule["evidence"][0] and "Shared relay" in rule["manual_steps"]
    assert "RecipientDomainIs" in rule["manual_steps"]
    assert {f["object"]: f["action"] for f in conns["findings"]} == {"Shared relay": "manual"}
    assert tenant_state(lab, domain) == before
    info = run_module("exo_info", exo_args(lab, domain, checks=["rules"]))
    assert {f["object"]: f["action"] for f in info["findings"]} == {"Route partner A": "manual"}


# -- item 2 --------------------------------------------------------------------
def test_an_a_b_range_holding_an_mxhero_ip_is_reported_like_a_cidr(lab):
    domain = "range.test"
    before = tenant_state(lab, domain)
    result = run_module("exo_transport_rule", exo_args(lab, domain))
    assert [(f["object"], f["action"]) for f in result["findings"]] == [("Skip spam for the gateway", "reported")]
    assert result["findings"][0]["evidence"] == [
        "SenderIpRanges: range 52.22.51.90-52.22.51.100 contains 52.22.51.97"]
    assert "match_cidrs" in result["findings"][0]["why"]
    assert tenant_state(lab, domain) == before
    acted = run_module("exo_transport_rule", exo_args(lab, domain, match_cidrs=True))
    assert [(f["object"], f["action"]) for f in acted["findings"]] == [("Skip spam for the gateway", "disabled")]
    assert by_name(tenant_state(lab, domain)["transport_rules"])["Skip spam for the gateway"]["State"] == "Disabled"


# -- item 3 --------------------------------------------------------------------
def test_test_mode_connectors_are_seen_and_disabled(lab):
    domain = "testmode.test"
    info = run_module("exo_info", exo_args(lab, domain, checks=["connectors"]))
    assert sorted(c["Name"] for c in info["outbound_connectors"] + info["inbound_connectors"]) == [
        "mxHERO Inbound", "mxHERO Outbound"]
    result = run_module("exo_connector", exo_args(lab, domain))
    assert [(f["object"], f["action"]) for f in result["findings"]] == [
        ("mxHERO Outbound", "disabled"), ("mxHERO Inbound", "disabled")]
    state = tenant_state(lab, domain)
    assert by_name(state["outbound_connectors"])["mxHERO Outbound"]["Enabled"] is False
    assert by_name(state["inbound_connectors"])["mxHERO Inbound"]["Enabled"] is False


# -- item 4 --------------------------------------------------------------------
def test_exact_mxhero_ips_leave_the_connection_filter_allow_list(lab):
    domain = "allow.test"
    before = tenant_state(lab, domain)
    check = run_module("exo_connector", exo_args(lab, domain), check_mode=True, diff=True)
    assert tenant_state(lab, domain) == before, "check mode changed the tenant"
    real = run_module("exo_connector", exo_args(lab, domain), diff=True)
    assert check["changed"] and real["changed"], (check, real)
    assert without_action(check["findings"]) == without_action(real["findings"])
    assert check["diff"] == real["diff"] and check["removed"] == real["removed"]
    actions = {f["object"]: f["action"] for f in real["findings"]}
    assert actions == {"Default: 54.208.111.28": "removed", "Default: 52.22.51.97/32": "removed",
                       "Default: 54.165.0.0/16": "reported", "Default: 52.22.51.90-52.22.51.100": "reported"}
    assert {f["action"] for f in check["findings"] if f["object"] in ("Default: 54.208.111.28",)} == {"would_remove"}
    kept = ["198.51.100.7", "54.165.0.0/16", "52.22.51.90-52.22.51.100"]
    assert by_name(tenant_state(lab, domain)["connection_filter"])["Default"]["IPAllowList"] == kept
    removed = [f for f in real["findings"] if f["action"] == "removed"]
    assert all(f["before"] == {"Identity": "Default", "IPAllowList": ALLOW} for f in removed), "restorable"
    assert real["diff"]["before"]["connection_filter"] == [{"Name": "Default", "IPAllowList": ALLOW}]
    assert real["diff"]["after"]["connection_filter"] == [{"Name": "Default", "IPAllowList": kept}]
    assert sorted(r["properties"]["IPAllowList"][0] for r in real["removed"]) == ["52.22.51.97/32", "54.208.111.28"]
    again = run_module("exo_connector", exo_args(lab, domain), diff=True)
    assert again["changed"] is False and {f["action"] for f in again["findings"]} == {"reported"}
    assert by_name(tenant_state(lab, domain)["connection_filter"])["Default"]["IPAllowList"] == kept


def test_networks_holding_an_mxhero_ip_go_only_with_match_cidrs(lab):
    domain = "allowwide.test"
    outbound_only = run_module("exo_connector", exo_args(lab, domain, direction="outbound"))
    assert outbound_only["findings"] == [] and outbound_only["changed"] is False
    assert by_name(tenant_state(lab, domain)["connection_filter"])["Default"]["IPAllowList"] == ALLOW
    result = run_module("exo_connector", exo_args(lab, domain, match_cidrs=True))
    assert {f["action"] for f in result["findings"]} == {"removed"} and len(result["findings"]) == 4
    assert by_name(tenant_state(lab, domain)["connection_filter"])["Default"]["IPAllowList"] == ["198.51.100.7"]


# -- item 5 --------------------------------------------------------------------
def test_disabling_a_rule_names_the_other_actions_it_stops(lab):
    domain = "actions.test"
    check = run_module("exo_transport_rule", exo_args(lab, domain), check_mode=True)
    real = run_module("exo_transport_rule", exo_args(lab, domain))
    assert without_action(check["findings"]) == without_action(real["findings"])
    found = {f["object"]: f for f in real["findings"]}
    assert {name: f["action"] for name, f in found.items()} == {"Route and stamp": "disabled",
                                                                "Bypass spam filter for mxHero": "disabled"}
    why = found["Route and stamp"]["why"]
    assert "ApplyHtmlDisclaimerText 'Confidential" in why and "SetHeaderName X-Corp-Scanned: yes" in why
    assert found["Route and stamp"]["before"]["ApplyHtmlDisclaimerText"] == DISCLAIMER
    # a rule that only ever acts on mail from mxHero loses nothing else: no warning
    assert "why" not in found["Bypass spam filter for mxHero"]
    for result in (check, real):
        warned = [w for w in result["warnings"] if "Route and stamp" in w]
        assert len(warned) == 1 and "ApplyHtmlDisclaimerText" in warned[0] and "X-Corp-Scanned" in warned[0]
        assert not [w for w in result["warnings"] if "Bypass spam filter" in w]
    rules = by_name(tenant_state(lab, domain)["transport_rules"])
    assert rules["Route and stamp"]["State"] == "Disabled"


def test_the_connector_task_warns_too_when_it_disables_such_a_rule_first(lab):
    domain = "actions-conn.test"
    result = run_module("exo_connector", exo_args(lab, domain, direction="outbound"))
    rule = by_name([dict(f, Name=f["object"]) for f in result["findings"]])["Route and stamp"]
    assert rule["action"] == "disabled" and "ApplyHtmlDisclaimerText" in rule["why"]
    assert "routes through connector" in rule["why"]
    assert any("Route and stamp" in w and "SetHeaderName" in w for w in result["warnings"])
    assert by_name(tenant_state(lab, domain)["transport_rules"])["Route and stamp"]["State"] == "Disabled"
