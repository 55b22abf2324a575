"""exo_* modules against the Exchange Online emulator: what changes, in which order, and what must not."""

from __future__ import annotations

import json

import pytest
from cryptography.hazmat.primitives import serialization

from helpers import run_module
from microsoft365_fixtures import by_name, exo_args, requests_log, start_lab, stop_lab, tenant, tenant_state

from ansible_collections.mxhero.unroute.plugins.module_utils._exo import partner as exo_partner
from unroute_lab.pki import cert_pem, key_pem, self_signed

pytestmark = pytest.mark.lab

MX_OUT = {"Name": "mxHERO Outbound", "SmartHosts": ["smtp.mxhero.com"], "IsTransportRuleScoped": True,
          "RecipientDomains": ["*"]}
MX_IN = {"Name": "mxHERO Inbound", "SenderDomains": ["*"], "SenderIPAddresses": ["54.208.111.28", "54.236.184.32"]}
PARTNER_OUT = {"Name": "Partner Contoso", "SmartHosts": ["mail.contoso.example"], "RecipientDomains": ["contoso.example"]}
PARTNER_IN = {"Name": "Partner Contoso inbound", "SenderDomains": ["contoso.example"],
              "SenderIPAddresses": ["198.51.100.25"]}
ROUTE = {"Name": "Route through mxHERO", "RouteMessageOutboundConnector": "mxHERO Outbound",
         "ExceptIfHeaderContainsMessageHeader": "X-mxHero-Actions"}
PARTNER_RULE = {"Name": "Route Contoso", "RouteMessageOutboundConnector": "Partner Contoso",
                "RecipientDomainIs": ["contoso.example"]}


def standard(name, **extra):
    section = dict(outbound_connectors=[MX_OUT, PARTNER_OUT], inbound_connectors=[MX_IN, PARTNER_IN],
                   transport_rules=[ROUTE, PARTNER_RULE])
    section.update(extra)
    return tenant(name, **section)


@pytest.fixture(scope="module")
def lab(tmp_path_factory):
    many_rules = [{"Name": "Customer rule %d" % i, "SentToScope": "NotInOrganization"} for i in range(6)]
    domains = [
        standard("flow.test"),
        standard("order.test"),
        standard("absent.test"),
        standard("pfx.test"),
        standard("secret.test"),
        standard("retry.test"),
        standard("unknown.test"),
        standard("lag.test"),
        standard("stuck.test"),
        standard("expired.test"),
        standard("noright.test", app={"exchange_role": False}),
        standard("partial.test"),
        tenant("paging.test", page_size=2,
               outbound_connectors=[PARTNER_OUT] + [{"Name": "Other %d" % i, "SmartHosts": ["relay%d.example" % i]}
                                                    for i in range(3)] + [MX_OUT],
               transport_rules=many_rules + [ROUTE, {"Name": "Last: skip spam for mxHero",
                                                    "SenderIpRanges": ["54.208.111.28"], "SetSCL": -1}]),
        tenant("mixed.test",
               outbound_connectors=[{"Name": "Shared relay", "SmartHosts": ["smtp.mxhero.com", "mail.partner.example"]}],
               inbound_connectors=[{"Name": "Wide", "SenderIPAddresses": ["54.208.0.0/16"]}],
               transport_rules=[{"Name": "Disclaimer except mxHero", "ExceptIfSenderIpRanges": ["54.208.111.28"]},
                                {"Name": "Bypass for mxHero and partner",
                                 "SenderIpRanges": ["54.208.111.28", "198.51.100.25"], "SetSCL": -1}]),
        tenant("foreign.test", page_size=1, transport_rules=[ROUTE, PARTNER_RULE]),
    ]
    lab = start_lab(tmp_path_factory.mktemp("exo-modules"), domains)
    yield lab
    stop_lab(lab)


def without_action(findings):
    return [{k: v for k, v in f.items() if k != "action"} for f in findings]


def test_check_mode_real_run_and_second_run(lab):
    domain = "flow.test"
    before = tenant_state(lab, domain)
    check_rules = run_module("exo_transport_rule", exo_args(lab, domain), check_mode=True, diff=True)
    assert tenant_state(lab, domain) == before, "check mode changed the tenant"
    real_rules = run_module("exo_transport_rule", exo_args(lab, domain), diff=True)
    between = tenant_state(lab, domain)
    check_conns = run_module("exo_connector", exo_args(lab, domain), check_mode=True, diff=True)
    assert tenant_state(lab, domain) == between, "check mode changed the tenant"
    real_conns = run_module("exo_connector", exo_args(lab, domain), diff=True)
    for check, real in ((check_rules, real_rules), (check_conns, real_conns)):
        assert check["changed"] and real["changed"], (check, real)
        assert without_action(check["findings"]) == without_action(real["findings"])
        assert check["diff"] == real["diff"]
        assert {f["action"] for f in check["findings"]} == {"would_disable"}
        assert {f["action"] for f in real["findings"]} == {"disabled"}
    assert [f["object"] for f in real_rules["findings"]] == ["Route through mxHERO"]
    assert real_rules["diff"] == {"before": {"transport_rules": [{"Name": "Route through mxHERO", "State": "Enabled"}]},
                                  "after": {"transport_rules": [{"Name": "Route through mxHERO", "State": "Disabled"}]}}
    assert [(f["kind"], f["object"]) for f in real_conns["findings"]] == [
        ("outbound_connector", "mxHERO Outbound"), ("inbound_connector", "mxHERO Inbound")]
    after = tenant_state(lab, domain)
    rules, outbound, inbound = (by_name(after[k]) for k in ("transport_rules", "outbound_connectors",
                                                              "inbound_connectors"))
    assert rules["Route through mxHERO"]["State"] == "Disabled"
    assert rules["Route Contoso"]["State"] == "Enabled"
    assert outbound["mxHERO Outbound"]["Enabled"] is False and inbound["mxHERO Inbound"]["Enabled"] is False
    assert outbound["Partner Contoso"]["Enabled"] is True and inbound["Partner Contoso inbound"]["Enabled"] is True
    assert outbound["Partner Contoso"] == by_name(before["outbound_connectors"])["Partner Contoso"]
    for module in ("exo_transport_rule", "exo_connector"):
        again = run_module(module, exo_args(lab, domain), diff=True)
        assert again["changed"] is False, again
        assert {f["action"] for f in again["findings"]} == {"kept"}
        assert again["diff"]["before"] == again["diff"]["after"]
    assert tenant_state(lab, domain) == after


def test_connector_task_disables_the_routing_rule_first(lab):
    domain = "order.test"
    log_start = len(requests_log(lab))
    result = run_module("exo_connector", exo_args(lab, domain, direction="outbound"))
    assert result["changed"], result
    assert [(f["kind"], f["object"], f["action"]) for f in result["findings"]] == [
        ("outbound_connector", "mxHERO Outbound", "disabled"),
        ("transport_rule", "Route through mxHERO", "disabled")]
    writes = [r["cmdlet"] for r in requests_log(lab)[log_start:]
              if r["cmdlet"] and not r["cmdlet"].startswith("Get-")]
    assert writes == ["Disable-TransportRule", "Set-OutboundConnector"]
    state = tenant_state(lab, domain)
    assert by_name(state["inbound_connectors"])["mxHERO Inbound"]["Enabled"] is True, "direction=outbound only"
    assert by_name(state["transport_rules"])["Route Contoso"]["State"] == "Enabled"


def test_absent_removes_and_returns_what_it_removed(lab):
    domain = "absent.test"
    before = tenant_state(lab, domain)
    rules = run_module("exo_transport_rule", exo_args(lab, domain, state="absent"))
    conns = run_module("exo_connector", exo_args(lab, domain, state="absent"))
    assert {f["action"] for f in rules["findings"] + conns["findings"]} == {"removed"}
    original = dict(by_name(before["transport_rules"]), **by_name(before["outbound_connectors"]))
    original.update(by_name(before["inbound_connectors"]))
    removed = {r["object"]: r for r in rules["removed"] + conns["removed"]}
    assert set(removed) == {"Route through mxHERO", "mxHERO Outbound", "mxHERO Inbound"}
    for name, entry in removed.items():
        for key in ("SmartHosts", "SenderIPAddresses", "RouteMessageOutboundConnector", "Priority"):
            if key in original[name]:
                assert entry["properties"][key] == original[name][key], (name, key)
    after = tenant_state(lab, domain)
    assert sorted(by_name(after["transport_rules"])) == ["Route Contoso"]
    assert sorted(by_name(after["outbound_connectors"])) == ["Partner Contoso"]
    assert sorted(by_name(after["inbound_connectors"])) == ["Partner Contoso inbound"]
    for module in ("exo_transport_rule", "exo_connector"):
        again = run_module(module, exo_args(lab, domain, state="absent"))
        assert again["changed"] is False and again["findings"] == [] and again["removed"] == []


def test_paging_is_followed_to_the_last_page(lab):
    domain = "paging.test"
    log_start = len(requests_log(lab))
    info = run_module("exo_info", exo_args(lab, domain))
    assert len(info["transport_rules"]) == 8 and len(info["outbound_connectors"]) == 5
    pages = [r for r in requests_log(lab)[log_start:] if r["cmdlet"] == "Get-TransportRule"]
    assert len(pages) == 4 and sum(r["page"] for r in pages) == 3
    result = run_module("exo_transport_rule", exo_args(lab, domain))
    # both mxHero rules sit on the last page; the connector they route through on the last page too
    assert sorted(f["object"] for f in result["findings"]) == ["Last: skip spam for mxHero", "Route through mxHERO"]
    rules = by_name(tenant_state(lab, domain)["transport_rules"])
    assert [n for n, r in rules.items() if r["State"] == "Disabled"] == ["Route through mxHERO",
                                                                         "Last: skip spam for mxHero"]


def test_a_nextlink_to_another_host_fails_instead_of_returning_a_partial_list(lab):
    lab.fault("exo", kind="foreign_nextlink", tenant="foreign.test")
    result = run_module("exo_transport_rule", exo_args(lab, "foreign.test"))
    assert result.get("failed") and "another host" in result["msg"] and "partial" in result["msg"]
    assert result["msg"].startswith("foreign.test: ")
    assert by_name(tenant_state(lab, "foreign.test")["transport_rules"])["Route through mxHERO"]["State"] == "Enabled"


def test_mixed_objects_are_left_for_a_person(lab):
    domain = "mixed.test"
    before = tenant_state(lab, domain)
    rules = run_module("exo_transport_rule", exo_args(lab, domain))
    conns = run_module("exo_connector", exo_args(lab, domain))
    assert rules["changed"] is False and conns["changed"] is False
    actions = {f["object"]: f["action"] for f in rules["findings"] + conns["findings"]}
    assert actions == {"Disclaimer except mxHero": "manual", "Bypass for mxHero and partner": "manual",
                       "Shared relay": "manual", "Wide": "reported"}
    assert all(f.get("manual_steps") for f in rules["findings"] + conns["findings"] if f["action"] == "manual")
    assert tenant_state(lab, domain) == before
    widened = run_module("exo_connector", exo_args(lab, domain, match_cidrs=True), check_mode=True)
    assert {f["object"]: f["action"] for f in widened["findings"]}["Wide"] == "would_disable"


def test_pfx_certificate_with_password(lab):
    args = exo_args(lab, "pfx.test", credential="pfx")
    result = run_module("exo_transport_rule", args)
    assert result["changed"] and not result.get("failed"), result
    assert args["certificate_password"] not in json.dumps(result)
    wrong = run_module("exo_transport_rule", dict(args, certificate_password="not-the-password"))
    assert wrong["failed"] and "certificate_password" in wrong["msg"] and "not-the-password" not in wrong["msg"]


def test_client_secret_never_appears_in_output(lab):
    args = exo_args(lab, "secret.test", credential="secret")
    secret = args["client_secret"]
    ok = run_module("exo_connector", args, check_mode=True, diff=True)
    assert ok["changed"] and secret not in json.dumps(ok)
    wrong = run_module("exo_connector", dict(args, client_secret=secret[:-3] + "zzz"))
    assert wrong["failed"] and "AADSTS7000215" in wrong["msg"]
    assert secret[:-3] not in json.dumps(wrong) and "Traceback" not in json.dumps(wrong)
    assert "\n" not in wrong["msg"]


def test_wrong_certificate_is_refused_with_one_line(lab, tmp_path):
    key, cert = self_signed("not registered")
    path = tmp_path / "other.pem"
    path.write_bytes(key_pem(key) + cert_pem(cert))
    result = run_module("exo_info", exo_args(lab, "flow.test", certificate_path=str(path)))
    assert result["failed"] and "\n" not in result["msg"]
    assert result["msg"].startswith("flow.test: ") and "AADSTS700027" in result["msg"]
    assert key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                             serialization.NoEncryption()).decode().splitlines()[1] not in json.dumps(result)


def test_missing_exchange_role_names_the_fix(lab):
    result = run_module("exo_info", exo_args(lab, "noright.test"))
    assert result["failed"] and "403" in result["msg"] and "Exchange Administrator" in result["msg"]


def test_wrong_ca_fails_tls(lab, tmp_path):
    _key, cert = self_signed("some other CA", ca=True)
    path = tmp_path / "ca.pem"
    path.write_bytes(cert_pem(cert))
    result = run_module("exo_info", exo_args(lab, "flow.test", ca_path=str(path)))
    assert result["failed"] and "\n" not in result["msg"] and "Traceback" not in result["msg"]


def test_throttling_and_server_errors_are_retried(lab):
    domain = "retry.test"
    lab.fault("exo", kind="429", retry_after=1, count=1, tenant=domain, cmdlet="Get-TransportRule")
    lab.fault("exo", kind="429", count=1, tenant=domain, cmdlet="Get-OutboundConnector")
    lab.fault("exo", kind="5xx", status=503, count=1, tenant=domain, cmdlet="Disable-TransportRule")
    lab.fault("exo", kind="concurrency", count=1, tenant=domain, cmdlet="Get-TransportRule")
    result = run_module("exo_transport_rule", exo_args(lab, domain))
    assert result["changed"] and not result.get("failed"), result
    assert by_name(tenant_state(lab, domain)["transport_rules"])["Route through mxHERO"]["State"] == "Disabled"
    assert lab.state()["exo"]["faults"] == []
    lab.fault("exo", kind="5xx", status=503, count=-1, tenant=domain)
    try:
        failed = run_module("exo_connector", exo_args(lab, domain))
    finally:
        lab.clear_faults("exo")
    assert failed["failed"] and "attempts" in failed["msg"] and "retry" in failed["msg"].lower()


def test_unknown_outcome_is_read_back_not_repeated(lab):
    domain = "unknown.test"
    lab.fault("exo", kind="5xx", status=504, after_write=True, tenant=domain, cmdlet="Disable-TransportRule")
    log_start = len(requests_log(lab))
    result = run_module("exo_transport_rule", exo_args(lab, domain))
    assert result["changed"] and not result.get("failed"), result
    writes = [r for r in requests_log(lab)[log_start:] if r["cmdlet"] == "Disable-TransportRule"]
    assert [w["status"] for w in writes] == [504], "the write was repeated although it had happened"


def test_replication_lag_is_tolerated(lab):
    domain = "lag.test"
    lab.fault("exo", kind="lag", reads=3, mode="stale", tenant=domain)
    lab.fault("exo", kind="lag", reads=2, mode="missing", tenant=domain)
    rules = run_module("exo_transport_rule", exo_args(lab, domain))
    conns = run_module("exo_connector", exo_args(lab, domain, direction="outbound"))
    assert rules["changed"] and conns["changed"] and not rules.get("failed") and not conns.get("failed")
    state = tenant_state(lab, domain)
    assert by_name(state["outbound_connectors"])["mxHERO Outbound"]["Enabled"] is False


def test_a_change_that_never_shows_is_not_reported_done(lab):
    domain = "stuck.test"
    lab.fault("exo", kind="lag", reads=50, mode="stale", tenant=domain)
    result = run_module("exo_transport_rule", exo_args(lab, domain))
    lab.clear_faults("exo")
    assert result["failed"] and "still reads as before" in result["msg"] and "re-run" in result["msg"]


def test_expired_token_is_renewed_once(lab):
    domain = "expired.test"
    # Tokens are cached per process (partner mode, issue 25): start from none, as a fresh task process does.
    exo_partner.clear_caches()
    lab.fault("exo", kind="expired_token", count=1, tenant=domain)
    log_start = len(requests_log(lab))
    result = run_module("exo_info", exo_args(lab, domain))
    assert not result.get("failed"), result
    tokens = [r for r in requests_log(lab)[log_start:] if r["path"].endswith("/oauth2/v2.0/token")]
    assert len(tokens) == 2
    lab.fault("exo", kind="expired_token", count=-1, tenant=domain)
    exo_partner.clear_caches()
    try:
        failed = run_module("exo_info", exo_args(lab, domain))
    finally:
        lab.clear_faults("exo")
    assert failed["failed"] and "401" in failed["msg"] and "expired" in failed["msg"]


def test_info_reports_the_read_only_leftovers(default_lab):
    result = run_module("exo_info", exo_args(default_lab, "m365-both.test"))
    assert result["changed"] is False
    kinds = {(f["kind"], f["object"]): f for f in result["findings"]}
    assert ("arc_trusted_sealer", "mxhero.com") in kinds
    assert ("connection_filter_allow_ip", "Default: 54.208.111.28") in kinds
    assert ("journal_rule", "Archive to mxHero") in kinds
    assert ("journal_rule", "Archive to compliance vault") not in kinds
    assert all(kinds[k]["manual_steps"] for k in kinds if k[0] in ("arc_trusted_sealer", "journal_rule"))
    only = run_module("exo_info", exo_args(default_lab, "m365-both.test", checks=["arc", "journal"]))
    assert sorted(f["kind"] for f in only["findings"]) == ["arc_trusted_sealer", "journal_rule"]
    assert only["transport_rules"] == [] and only["outbound_connectors"] == []
    partner = run_module("exo_info", exo_args(default_lab, "m365-partner.test"))
    assert partner["findings"] == [] and len(partner["outbound_connectors"]) == 1


def test_a_failure_after_some_writes_says_what_was_done(lab):
    domain = "partial.test"
    lab.fault("exo", kind="429", retry_after=0, count=-1, tenant=domain, cmdlet="Set-OutboundConnector")
    try:
        result = run_module("exo_connector", exo_args(lab, domain))
    finally:
        lab.clear_faults("exo")
    assert result["failed"] and "\n" not in result["msg"]
    assert "OutboundConnector" in result["msg"] or "Set-OutboundConnector" in result["msg"]
    assert "already done before this failure: disabled rule 'Route through mxHERO'" in result["msg"]
    state = tenant_state(lab, domain)
    assert by_name(state["transport_rules"])["Route through mxHERO"]["State"] == "Disabled"
    assert by_name(state["outbound_connectors"])["mxHERO Outbound"]["Enabled"] is True
    assert by_name(state["inbound_connectors"])["mxHERO Inbound"]["Enabled"] is True, "stopped at the failure"
