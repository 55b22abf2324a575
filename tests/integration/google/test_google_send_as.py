"""Gmail send-as addresses relaying through mxHero (issue 17, item 3): the emulated Gmail API
``users.settings.sendAs`` on the wire (a token acts for one mailbox), then google_send_as - findings with the
user, the address and the manual step, never a change, check mode alike, scope and credential errors."""

from __future__ import annotations

import pytest
import requests
from google.auth.transport.requests import Request
from google.oauth2 import service_account

from google_lab_helpers import customer_state, google_estate, module_args, module_lab  # noqa: F401 (fixture)
from helpers import run_module

pytestmark = pytest.mark.lab

SETTINGS = "https://www.googleapis.com/auth/gmail.settings.basic"
USER_RO = "https://www.googleapis.com/auth/admin.directory.user.readonly"
POLICIES_RO = "https://www.googleapis.com/auth/cloud-identity.policies.readonly"


def relay(email, host, port=587, mode="starttls"):
    return {"email": email, "smtp_msa": {"host": host, "port": port, "security_mode": mode}}


ESTATE = google_estate({
    "s-relay.test": {
        "generated_users": 3, "user_page_size": 2,
        "directory_users": [
            {"email": "it@s-relay.test", "send_as": [relay("it@branch.example", "smtp.mxhero.com"),
                                                     relay("it@archive.example", "smtp.archive-relay.example", 465,
                                                           "ssl"),
                                                     "plain@s-relay.test"]},
            {"email": "ops@s-relay.test", "send_as": [relay("ops@old.example", "[54.208.111.28]", 25, "none")]},
            {"email": "lookalike@s-relay.test", "send_as": [relay("x@y.example", "smtp.notmxhero.com")]},
            {"email": "gone@s-relay.test", "suspended": True,
             "send_as": [relay("gone@old.example", "smtp.mxhero.com")]},
        ],
    },
    "s-noscope.test": {"delegated_scopes": [POLICIES_RO, USER_RO],
                       "directory_users": [{"email": "it@s-noscope.test",
                                            "send_as": [relay("it@b.example", "smtp.mxhero.com")]}]},
})


def _token(lab, domain, scopes, subject):
    v = lab.manifest["domains"][domain]["vars"]
    creds = service_account.Credentials.from_service_account_file(
        v["unroute_google_service_account_file"], scopes=scopes, subject=subject)
    session = requests.Session()
    session.verify, session.trust_env = v["unroute_google_ca_path"], False
    creds.refresh(Request(session))
    return {"Authorization": "Bearer " + creds.token}


def test_send_as_list_acts_for_one_mailbox_and_never_returns_credentials(module_lab):
    lab = module_lab
    http = requests.Session()
    http.verify, http.trust_env = lab.manifest["ca"], False
    base = lab.service("google")["url"] + "gmail/v1/users/%s/settings/sendAs"
    auth = _token(lab, "s-relay.test", [SETTINGS], "it@s-relay.test")
    body = http.get(base % "me", headers=auth).json()
    addresses = [a["sendAsEmail"] for a in body["sendAs"]]
    assert addresses == ["it@s-relay.test", "it@branch.example", "it@archive.example", "plain@s-relay.test"]
    assert body["sendAs"][0]["isPrimary"] is True and "verificationStatus" not in body["sendAs"][0]
    assert body["sendAs"][1]["smtpMsa"] == {"host": "smtp.mxhero.com", "port": 587, "securityMode": "starttls"}
    assert http.get(base % "it@s-relay.test", headers=auth).status_code == 200
    assert http.get((base % "me") + "/it@branch.example", headers=auth).json()["sendAsEmail"] == "it@branch.example"
    other = http.get(base % "ops@s-relay.test", headers=auth)
    assert other.status_code == 403 and "Delegation denied" in other.json()["error"]["message"]
    suspended = http.get(base % "me", headers=_token(lab, "s-relay.test", [SETTINGS], "gone@s-relay.test"))
    assert suspended.status_code == 400
    wrong = http.get(base % "me", headers=_token(lab, "s-relay.test", [USER_RO], "it@s-relay.test"))
    assert wrong.status_code == 403


def test_relays_through_mxhero_are_manual_findings_and_nothing_changes(module_lab):
    lab, domain = module_lab, "s-relay.test"
    before = customer_state(lab, domain)["send_as"]
    check = run_module("google_send_as", module_args(lab, domain), check_mode=True)
    real = run_module("google_send_as", module_args(lab, domain))
    assert not real.get("failed"), real
    assert real["changed"] is False and check["findings"] == real["findings"]
    assert customer_state(lab, domain)["send_as"] == before, "a relay is never changed"
    assert real["users_read"] == 9, "every page of users.list"
    assert [(f["before"]["user"], f["before"]["sendAsEmail"], f["evidence"]) for f in real["findings"]] == [
        ("it@s-relay.test", "it@branch.example", ["host smtp.mxhero.com"]),
        ("ops@s-relay.test", "ops@old.example", ["ip 54.208.111.28"])]
    assert all(f["kind"] == "send_as_relay" and f["action"] == "manual" for f in real["findings"])
    steps = real["findings"][0]["manual_steps"]
    assert "it@s-relay.test" in steps and "it@branch.example" in steps and "Send mail as" in steps
    assert "Allow per-user outbound gateways" in steps
    assert [m["object"] for m in real["manual_actions"]] == [f["object"] for f in real["findings"]]
    assert real["users_skipped"] == 1
    assert any("gone@s-relay.test" in c for c in real["cautions"]), "a suspended user is named, not silently skipped"


def test_missing_scope_and_wrong_credentials_are_one_line(module_lab):
    lab = module_lab
    denied = run_module("google_send_as", module_args(lab, "s-noscope.test"))
    assert denied["failed"] is True and "\n" not in denied["msg"]
    assert denied["msg"].startswith("s-noscope.test: send-as addresses (Gmail API): reading the send-as addresses of ")
    assert SETTINGS in denied["msg"]

    v = lab.manifest["domains"]["s-relay.test"]["vars"]
    args = module_args(lab, "s-relay.test", credentials_file=v["unroute_google_authorized_user_file"],
                       token_uri=v["unroute_google_token_uri"])
    args.pop("subject")
    user_file = run_module("google_send_as", args)
    assert user_file["failed"] is True
    assert "needs a service-account key with domain-wide delegation" in user_file["msg"]
