"""Evidence for the Gmail outbound gateway from the admin audit log (issue 17, item 2): the emulated
Reports API ``activities.list`` on the wire, then the gateway's manual action saying what the log shows
(set / cleared / nothing / unreadable), the same in check mode, and the report ranking by it."""

from __future__ import annotations

import copy

import pytest
import requests
from google.auth.transport.requests import Request
from google.oauth2 import service_account

from google_lab_helpers import google_estate, module_args, module_lab  # noqa: F401 (fixture)
from helpers import run_module

from ansible_collections.mxhero.unroute.plugins.module_utils import _report

pytestmark = pytest.mark.lab

AUDIT_RO = "https://www.googleapis.com/auth/admin.reports.audit.readonly"
POLICY_SCOPES = ["https://www.googleapis.com/auth/cloud-identity.policies",
                 "https://www.googleapis.com/auth/cloud-identity.policies.readonly"]


def change(days_ago, old, new, setting="OUTBOUND_GATEWAY", actor=None, name="CHANGE_EMAIL_SETTING"):
    item = {"name": name, "days_ago": days_ago, "parameters": {"SETTING_NAME": setting, "OLD_VALUE": old,
                                                              "NEW_VALUE": new}}
    if actor:
        item["actor"] = actor
    return item


ESTATE = google_estate({
    "e-set.test": {"audit_events": [change(40, "", "gmail-out.mxhero.com", actor="ops@e-set.test")],
                   "directory_users": ["ops@e-set.test"]},
    # Set, then cleared; one event a page, and unrelated email settings changes around them.
    "e-cleared.test": {"audit_page_size": 1, "audit_events": [
        change(120, "", "gmail.mxhero.com"), change(60, "false", "true", setting="ENABLE_IMAP_ACCESS"),
        change(20, "gmail.mxhero.com", ""), change(5, "1", "2", setting="SPAM_LEVEL")]},
    # Cleared, then set again: the latest event wins.
    "e-reset.test": {"audit_events": [change(90, "", "smtp.mxhero.com"), change(60, "smtp.mxhero.com", ""),
                                      change(30, "", "54.208.111.28")]},
    # mxHero set outside the retention window: the log shows nothing, which proves nothing.
    "e-old.test": {"audit_events": [change(200, "", "gmail-out.mxhero.com"),
                                    change(10, "", "smtp.archive-relay.example")]},
    "e-denied.test": {"delegated_scopes": POLICY_SCOPES, "audit_events": [change(10, "", "gmail-out.mxhero.com")]},
    "e-rule.test": {"audit_events": [
        {"name": "CREATE_GMAIL_SETTING", "days_ago": 15, "parameters": {
            "SETTING_NAME": "EMAIL_ROUTE", "USER_DEFINED_SETTING_NAME": "relay via smtp.mxhero.com"}}]},
})


def _auth(lab, domain, scopes):
    v = lab.manifest["domains"][domain]["vars"]
    creds = service_account.Credentials.from_service_account_file(
        v["unroute_google_service_account_file"], scopes=scopes, subject=v["unroute_google_subject"])
    session = requests.Session()
    session.verify, session.trust_env = v["unroute_google_ca_path"], False
    creds.refresh(Request(session))
    return {"Authorization": "Bearer " + creds.token}


def _gateway(result):
    return [f for f in result["findings"] if f["kind"] == "outbound_gateway"][0]


def test_activities_list_newest_first_with_paging_filters_retention_and_scope(module_lab):
    lab = module_lab
    http = requests.Session()
    http.verify, http.trust_env = lab.manifest["ca"], False
    url = lab.service("google")["url"] + "admin/reports/v1/activity/users/all/applications/admin"
    auth = _auth(lab, "e-cleared.test", [AUDIT_RO])
    times, token, pages = [], None, 0
    while True:
        params = {"eventName": "CHANGE_EMAIL_SETTING"}
        if token:
            params["pageToken"] = token
        body = http.get(url, headers=auth, params=params).json()
        pages += 1
        assert body["kind"] == "admin#reports#activities"
        item = body["items"][0]
        assert item["kind"] == "admin#reports#activity" and item["id"]["applicationName"] == "admin"
        assert item["events"][0]["type"] == "EMAIL_SETTINGS" and item["events"][0]["name"] == "CHANGE_EMAIL_SETTING"
        assert {p["name"] for p in item["events"][0]["parameters"]} == {"SETTING_NAME", "OLD_VALUE", "NEW_VALUE"}
        times.append(item["id"]["time"])
        token = body.get("nextPageToken")
        if not token:
            break
    assert pages == 4 and times == sorted(times, reverse=True), "one event a page, newest first"
    other = http.get(url, headers=auth, params={"eventName": "DELETE_GMAIL_SETTING"}).json()
    assert "items" not in other

    old = http.get(url, headers=_auth(lab, "e-old.test", [AUDIT_RO])).json()
    new_values = [{p["name"]: p["value"] for p in i["events"][0]["parameters"]}["NEW_VALUE"] for i in old["items"]]
    assert new_values == ["smtp.archive-relay.example"], \
        "an event older than the retention window is not returned"

    denied = http.get(url, headers=_auth(lab, "e-old.test", POLICY_SCOPES[1:]))
    assert denied.status_code == 403
    assert denied.json()["error"]["details"][0]["reason"] == "ACCESS_TOKEN_SCOPE_INSUFFICIENT"
    assert http.get(url[:-len("admin")] + "nosuchapp", headers=auth).status_code == 400


def test_set_in_the_log_is_said_with_who_and_when_and_the_same_in_check_mode(module_lab):
    lab, domain = module_lab, "e-set.test"
    check = run_module("google_gateway", module_args(lab, domain), check_mode=True)
    real = run_module("google_gateway", module_args(lab, domain))
    assert not real.get("failed"), real
    assert check["findings"] == real["findings"], "nothing to change: check mode and real run say the same"
    gateway = _gateway(real)
    assert gateway["action"] == "manual"
    assert gateway["audit_log"]["state"] == "set" and gateway["audit_log"]["rank"] == 0
    steps = gateway["manual_steps"]
    assert steps.startswith("Admin audit log: OUTBOUND_GATEWAY set to gmail-out.mxhero.com by ops@e-set.test on 20")
    assert "most likely still set" in steps and "Routing > Outbound gateway" in steps
    assert real["gateway_evidence"]["events"][0]["actor"] == "ops@e-set.test"
    assert real["manual_actions"][0]["audit_log"] == "set"


def test_cleared_after_set_across_pages_is_still_manual_and_says_why(module_lab):
    result = run_module("google_gateway", module_args(module_lab, "e-cleared.test"))
    gateway = _gateway(result)
    assert gateway["action"] == "manual", "an event is not the setting's current value"
    assert gateway["audit_log"]["state"] == "cleared" and gateway["audit_log"]["rank"] == 2
    text = result["gateway_evidence"]["text"]
    assert text.startswith("OUTBOUND_GATEWAY cleared by admin@e-cleared.test on ")
    assert "was gmail.mxhero.com" in text and "after it was set on" in text and "confirm it" in text
    assert [e["change"] for e in gateway["audit_log"]["events"]] == ["set", "cleared"], \
        "events on other settings are not evidence"


def test_set_again_after_a_clear_counts_as_set(module_lab):
    result = run_module("google_info", module_args(module_lab, "e-reset.test"))
    assert result["gateway_evidence"]["state"] == "set"
    assert "set to 54.208.111.28" in result["gateway_evidence"]["text"], "an mxHero address counts like a host"


def test_no_event_in_the_window_proves_nothing(module_lab):
    result = run_module("google_gateway", module_args(module_lab, "e-old.test"))
    evidence = result["gateway_evidence"]
    assert evidence["state"] == "none" and evidence["events"] == []
    assert "that proves nothing either way" in _gateway(result)["manual_steps"]
    assert _gateway(result)["action"] == "manual"


def test_routing_rule_naming_mxhero_is_evidence(module_lab):
    evidence = run_module("google_info", module_args(module_lab, "e-rule.test"))["gateway_evidence"]
    assert evidence["state"] == "set"
    assert "EMAIL_ROUTE \"relay via smtp.mxhero.com\"" in evidence["text"]


def test_unreadable_log_is_a_caution_not_a_failure_and_audit_log_off_reads_nothing(module_lab):
    lab, domain = module_lab, "e-denied.test"
    result = run_module("google_gateway", module_args(lab, domain))
    assert not result.get("failed"), result
    assert result["gateway_evidence"]["state"] == "unreadable"
    assert any(c.startswith("e-denied.test: the outbound gateway's manual action carries no audit-log evidence")
               and AUDIT_RO in c for c in result["cautions"])
    assert "could not be read, so nothing is known" in _gateway(result)["manual_steps"]

    off = run_module("google_gateway", module_args(lab, domain, audit_log=False))
    assert "gateway_evidence" not in off and "audit_log" not in _gateway(off) and off["cautions"] == []


def test_report_ranks_positive_evidence_first_within_a_status(module_lab):
    entries = []
    for domain in ("e-cleared.test", "e-old.test", "e-set.test"):
        result = run_module("google_gateway", module_args(module_lab, domain), check_mode=True)
        entries.append({"domain": domain, "platform": "google",
                        "results": {"unroute_result_google_gateway": copy.deepcopy(result)}})
    record = _report.build_record(entries, "audit", "s", "f", True)
    assert [d["domain"] for d in record["domains"]] == ["e-set.test", "e-old.test", "e-cleared.test"]
    assert {d["status"] for d in record["domains"]} == {"manual"}


def test_throttled_log_is_retried_and_a_log_that_keeps_failing_is_unreadable(module_lab):
    lab, domain = module_lab, "e-set.test"
    lab.fault("google", kind="429", count=2, retry_after=0, api="reports")
    retried = run_module("google_gateway", module_args(lab, domain))
    assert retried["gateway_evidence"]["state"] == "set", "429 with Retry-After is retried"
    lab.fault("google", kind="503", count=-1, api="reports")
    try:
        down = run_module("google_gateway", module_args(lab, domain))
    finally:
        lab.clear_faults("google")
    assert not down.get("failed"), down
    assert down["gateway_evidence"]["state"] == "unreadable"
    assert any("Google kept failing" in c and "attempts" in c for c in down["cautions"])
