"""google_gateway and google_info against the Google lab: both backends, check mode, diff,
idempotence, manual actions, faults, wrong credentials, paging, no secret in any output."""

from __future__ import annotations

import copy
import json

import pytest
from cryptography.hazmat.primitives.asymmetric import rsa

from google_lab_helpers import customer_state, google_estate, module_args, module_lab  # noqa: F401 (fixture)
from helpers import run_module

pytestmark = pytest.mark.lab

ALLOW = "gmail.email_spam_filter_ip_allowlist"
MIXED = ["198.51.100.25", "54.208.111.28", "203.0.113.0/28", "3.211.77.148"]


def allowlist(ips):
    return {"setting": ALLOW, "value": {"allowedIpAddresses": list(ips)}}


ESTATE = google_estate({
    "m-allow.test": {
        "outbound_gateway": {"smart_host": "gmail-out.mxhero.com", "smtp_mode": "SMTP_TLS"},
        "mutate_supported": [ALLOW],
        "policies": [allowlist(MIXED),
                     {"setting": "gmail.spam_override_lists", "value": {"spamOverride": [
                         {"description": "mxHero", "approvedSenderHosts": ["smtp-relay.mxhero.com"]}]}},
                     {"setting": "gmail.imap_access", "value": {"enableImapAccess": True}}],
    },
    "m-legacy.test": {"outbound_gateway": {"smart_host": "gmail.mxhero.com", "smtp_mode": "SMTP_TLS"}},
    "m-other.test": {"outbound_gateway": {"smart_host": "smtp.archive-relay.example", "smtp_mode": "SMTP"},
                     "mutate_supported": [ALLOW], "policies": [allowlist(["192.0.2.25"])]},
    "m-page.test": {"mutate_supported": [ALLOW], "page_size": 2,
                    "policies": [{"setting": "gmail.imap_access", "value": {"enableImapAccess": True}},
                                 {"setting": "gmail.pop_access", "value": {"enablePopAccess": False}},
                                 {"setting": "gmail.auto_forwarding", "value": {"enableAutoForwarding": False}},
                                 {"setting": "gmail.mail_delegation", "value": {"enableMailDelegation": True}},
                                 {"setting": "gmail.confidential_mode", "value": {"enableConfidentialMode": True}},
                                 {"setting": "gmail.workspace_sync_for_outlook",
                                  "value": {"enableGoogleWorkspaceSyncForMicrosoftOutlook": True}},
                                 allowlist(["54.236.184.32", "192.0.2.7"])]},
    "m-refuse.test": {"policies": [allowlist(["54.165.252.128", "192.0.2.8"])]},
    "m-cidr.test": {"mutate_supported": [ALLOW], "policies": [allowlist(["54.208.0.0/16", "192.0.2.9"])]},
    "m-retired.test": {"admin_settings_api": False,
                       "outbound_gateway": {"smart_host": "gmail-out.mxhero.com", "smtp_mode": "SMTP"}},
    "m-fault.test": {"mutate_supported": [ALLOW], "policies": [allowlist(["52.22.51.97", "192.0.2.10"])]},
})


def _allow_ips(lab, domain):
    rows = [p for p in customer_state(lab, domain)["policies"] if p["setting"]["type"] == "settings/" + ALLOW]
    return rows[0]["setting"]["value"]["allowedIpAddresses"]


def _strip_action(findings):
    out = copy.deepcopy(findings)
    for item in out:
        item.pop("action")
    return out


def test_policy_backend_check_mode_real_run_and_idempotence(module_lab):
    lab, domain = module_lab, "m-allow.test"
    args = module_args(lab, domain)
    before = customer_state(lab, domain)

    check = run_module("google_gateway", args, check_mode=True, diff=True)
    assert not check.get("failed"), check
    assert check["changed"] is True
    assert customer_state(lab, domain) == before, "check mode must not write"
    actions = sorted((f["kind"], f["action"]) for f in check["findings"])
    assert actions == [("gmail_policy", "manual"), ("gmail_policy", "would_change"), ("outbound_gateway", "manual")]

    real = run_module("google_gateway", args, diff=True)
    assert real["changed"] is True and not real.get("failed")
    assert _strip_action(real["findings"]) == _strip_action(check["findings"])
    assert real["diff"] == check["diff"]
    assert sorted(f["action"] for f in real["findings"]) == ["changed", "manual", "manual"]
    # only the mxHero entries left the list, order of the others kept
    assert _allow_ips(lab, domain) == ["198.51.100.25", "203.0.113.0/28"]
    after = customer_state(lab, domain)
    spam = [p for p in after["policies"] if p["setting"]["type"].endswith("spam_override_lists")][0]
    assert "smtp-relay.mxhero.com" in json.dumps(spam), "a rule is a manual action, never edited"
    assert after["outbound_gateway"]["smartHost"] == "gmail-out.mxhero.com", "the Policy API cannot touch it"
    removed = real["removed"][0]
    assert removed["entries"] == ["54.208.111.28", "3.211.77.148"]
    assert removed["policy"]["setting"]["value"]["allowedIpAddresses"] == MIXED

    wheres = [m["where"] for m in real["manual_actions"]]
    assert "Admin console > Apps > Google Workspace > Gmail > Routing > Outbound gateway" in wheres
    assert any("Spam, Phishing and Malware > Spam" in w for w in wheres)
    assert all(m["steps"] for m in real["manual_actions"])

    again = run_module("google_gateway", args, diff=True)
    assert again["changed"] is False
    assert sorted(f["action"] for f in again["findings"]) == ["manual", "manual"], "manual work is never 'done'"
    assert _allow_ips(lab, domain) == ["198.51.100.25", "203.0.113.0/28"]


def test_on_manual_fail_and_gateway_verified(module_lab):
    lab, domain = module_lab, "m-other.test"
    args = module_args(lab, domain)
    failed = run_module("google_gateway", dict(args, on_manual="fail"))
    assert failed["failed"] is True
    assert "m-other.test: 1 manual action(s) still pending" in failed["msg"]
    assert "outbound gateway" in failed["msg"]
    assert failed["manual_actions"][0]["where"].endswith("Routing > Outbound gateway")

    verified = run_module("google_gateway", dict(args, on_manual="fail", gateway_verified=True))
    assert not verified.get("failed"), verified
    assert verified["changed"] is False and verified["findings"] == [] and verified["manual_actions"] == []
    assert _allow_ips(lab, domain) == ["192.0.2.25"]


def test_admin_settings_backend_sends_the_seed_change(module_lab):
    lab, domain = module_lab, "m-legacy.test"
    args = module_args(lab, domain, api="admin_settings")
    check = run_module("google_gateway", args, check_mode=True, diff=True)
    assert [f["action"] for f in check["findings"]] == ["would_remove"]
    assert check["diff"] == {"before": {"outbound_gateway": {"smartHost": "gmail.mxhero.com", "smtpMode": "SMTP_TLS"}},
                             "after": {"outbound_gateway": {"smartHost": "", "smtpMode": "SMTP"}}}
    assert customer_state(lab, domain)["outbound_gateway"]["smartHost"] == "gmail.mxhero.com"

    real = run_module("google_gateway", args, diff=True)
    assert real["changed"] is True and real["diff"] == check["diff"]
    assert [f["action"] for f in real["findings"]] == ["removed"]
    assert real["removed"] == [{"kind": "outbound_gateway", "domain": domain, "smartHost": "gmail.mxhero.com",
                                "smtpMode": "SMTP_TLS"}]
    assert customer_state(lab, domain)["outbound_gateway"] == {"smartHost": "", "smtpMode": "SMTP"}
    assert any("2018-10-31" in w for w in real.get("warnings", []))

    again = run_module("google_gateway", args)
    assert again["changed"] is False and again["findings"] == []


def test_admin_settings_keeps_a_gateway_that_is_not_mxhero(module_lab):
    lab, domain = module_lab, "m-other.test"
    result = run_module("google_gateway", module_args(lab, domain, api="admin_settings"))
    assert result["changed"] is False
    assert [(f["kind"], f["action"]) for f in result["findings"]] == [("outbound_gateway", "kept")]
    assert customer_state(lab, domain)["outbound_gateway"]["smartHost"] == "smtp.archive-relay.example"


def test_admin_settings_where_google_turned_it_off(module_lab):
    lab, domain = module_lab, "m-retired.test"
    result = run_module("google_gateway", module_args(lab, domain, api="admin_settings"))
    assert result["failed"] is True
    assert "turned it off on 2018-10-31" in result["msg"] and "api: policy" in result["msg"]
    assert customer_state(lab, domain)["outbound_gateway"]["smartHost"] == "gmail-out.mxhero.com"
    # the default backend still tells a person what to do
    policy = run_module("google_gateway", module_args(lab, domain))
    assert [m["where"] for m in policy["manual_actions"]] == [
        "Admin console > Apps > Google Workspace > Gmail > Routing > Outbound gateway"]
    assert "gmail-out.mxhero.com" in policy["manual_actions"][0]["steps"]


def test_paging_reaches_the_last_page(module_lab):
    lab, domain = module_lab, "m-page.test"
    result = run_module("google_gateway", module_args(lab, domain, gateway_verified=True))
    assert result["policies_read"] == 8  # 7 from the estate + Google's SYSTEM policy, 2 per page
    assert result["changed"] is True
    assert _allow_ips(lab, domain) == ["192.0.2.7"]


def test_google_refuses_a_type_the_user_called_mutable(module_lab):
    lab, domain = module_lab, "m-refuse.test"
    result = run_module("google_gateway", module_args(lab, domain, gateway_verified=True,
                                                      mutable_setting_types=["settings/" + ALLOW]))
    assert not result.get("failed"), result
    assert result["changed"] is False
    assert [f["action"] for f in result["findings"]] == ["manual"]
    assert "cannot be changed through the API" in result["findings"][0]["why"]
    assert any("refused the change" in w for w in result["warnings"])
    assert _allow_ips(lab, domain) == ["54.165.252.128", "192.0.2.8"]


def test_wide_network_is_reported_unless_match_cidrs(module_lab):
    lab, domain = module_lab, "m-cidr.test"
    args = module_args(lab, domain, gateway_verified=True)
    reported = run_module("google_gateway", args)
    assert reported["changed"] is False
    assert [f["action"] for f in reported["findings"]] == ["reported"]
    assert _allow_ips(lab, domain) == ["54.208.0.0/16", "192.0.2.9"]
    matched = run_module("google_gateway", dict(args, match_cidrs=True))
    assert matched["changed"] is True
    assert _allow_ips(lab, domain) == ["192.0.2.9"]


def test_transient_429_is_retried_and_unknown_write_is_not_repeated(module_lab):
    lab, domain = module_lab, "m-fault.test"
    args = module_args(lab, domain, gateway_verified=True)
    lab.fault("google", kind="429", count=2, retry_after=0, api="policy", method="GET")
    info = run_module("google_info", args)
    assert not info.get("failed"), info
    assert [f["action"] for f in info["findings"]] == ["would_change"]

    lab.fault("google", kind="503", count=1, api="policy", method="PATCH")
    failed = run_module("google_gateway", args)
    assert failed["failed"] is True
    assert "may or may not have been applied" in failed["msg"] and "m-fault.test" in failed["msg"]
    assert "1 attempt" in failed["msg"], "a write with unknown outcome is never repeated blindly"
    # the next run reads again and finishes the job
    done = run_module("google_gateway", args)
    assert done["changed"] is True and _allow_ips(lab, domain) == ["192.0.2.10"]


def test_wrong_key_says_so_without_the_key(module_lab, tmp_path):
    lab, domain = module_lab, "m-allow.test"
    from cryptography.hazmat.primitives import serialization
    info = json.loads(open(lab.service("google")["service_account_file"]).read())
    other = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    info["private_key"] = other.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                              serialization.NoEncryption()).decode()
    data = json.dumps(info)
    args = module_args(lab, domain)
    args.pop("credentials_file")
    result = run_module("google_gateway", dict(args, credentials_data=data))
    assert result["failed"] is True
    assert result["msg"].startswith("m-allow.test: service account ")
    assert "Invalid JWT Signature" in result["msg"] and "new key" in result["msg"]
    text = json.dumps(result)
    assert info["private_key"] not in text and "PRIVATE KEY" not in text


def test_not_a_super_admin_is_named(module_lab):
    lab, domain = module_lab, "m-allow.test"
    user = lab.manifest["domains"][domain]["vars"]["unroute_google_user"]
    result = run_module("google_info", module_args(lab, domain, subject=user))
    assert result["failed"] is True
    assert "HTTP 403" in result["msg"] and "%s is not a super administrator" % user in result["msg"]


def test_subject_outside_the_domain_is_refused(module_lab):
    result = run_module("google_info", module_args(module_lab, "m-allow.test", subject="ghost@nowhere.example"))
    assert result["failed"] is True and "no such user" in result["msg"]


def test_authorized_user_file_and_access_token_paths(module_lab):
    lab, domain = module_lab, "m-other.test"
    v = lab.manifest["domains"][domain]["vars"]
    args = module_args(lab, domain, credentials_file=v["unroute_google_authorized_user_file"],
                       token_uri=v["unroute_google_token_uri"])
    args.pop("subject")
    via_file = run_module("google_info", args)
    assert not via_file.get("failed"), via_file
    assert via_file["policies_read"] == 2

    import requests
    from google.auth.transport.requests import Request
    from google.oauth2 import credentials
    creds = credentials.Credentials.from_authorized_user_file(
        v["unroute_google_authorized_user_file"],
        # An access token is used for every call, the admin audit log's too (issue 17), so it carries both scopes.
        scopes=["https://www.googleapis.com/auth/cloud-identity.policies.readonly",
                "https://www.googleapis.com/auth/admin.reports.audit.readonly"]).with_token_uri(
        v["unroute_google_token_uri"])
    session = requests.Session()
    session.verify, session.trust_env = v["unroute_google_ca_path"], False
    creds.refresh(Request(session))
    args.pop("credentials_file")
    args.pop("token_uri")
    via_token = run_module("google_info", dict(args, access_token=creds.token))
    assert not via_token.get("failed"), via_token
    assert via_token["findings"] == via_file["findings"]
    assert creds.token not in json.dumps(via_token)


def test_info_changes_nothing_and_lists_policies(module_lab):
    lab, domain = module_lab, "m-refuse.test"
    before = customer_state(lab, domain)
    result = run_module("google_info", module_args(lab, domain))
    assert result["changed"] is False
    assert {p["setting"]["type"] for p in result["policies"]} == {"settings/" + ALLOW,
                                                                 "settings/gmail.per_user_outbound_gateway"}
    assert [m["where"] for m in result["manual_actions"]][-1].endswith("Outbound gateway")
    assert customer_state(lab, domain) == before


def test_unknown_ca_fails_clearly_and_tls_stays_on(module_lab):
    args = module_args(module_lab, "m-allow.test")
    args.pop("ca_file")
    result = run_module("google_info", args)
    assert result["failed"] is True
    assert "TLS certificate could not be verified" in result["msg"] and "ca_file" in result["msg"]
    assert result["msg"].startswith("m-allow.test: token endpoint ")
    # the same for the Policy API itself (a token that needs no refresh)
    import requests
    from google.auth.transport.requests import Request
    from google.oauth2 import service_account
    v = module_lab.manifest["domains"]["m-allow.test"]["vars"]
    creds = service_account.Credentials.from_service_account_file(
        v["unroute_google_service_account_file"], subject=v["unroute_google_subject"],
        scopes=["https://www.googleapis.com/auth/cloud-identity.policies.readonly"])
    session = requests.Session()
    session.verify, session.trust_env = v["unroute_google_ca_path"], False
    creds.refresh(Request(session))
    args.pop("credentials_file")
    result = run_module("google_info", dict(args, access_token=creds.token))
    assert result["failed"] is True and "list Gmail policies" in result["msg"]
    assert "TLS certificate could not be verified" in result["msg"]
