"""Google engine and client logic without a lab: matching policy values, planning, error wording, retries."""

from __future__ import annotations

import json

import httplib2
import pytest
from googleapiclient.errors import HttpError

from ansible_collections.mxhero.unroute.plugins.module_utils import _runner
from ansible_collections.mxhero.unroute.plugins.module_utils._errors import UnrouteError
from ansible_collections.mxhero.unroute.plugins.module_utils._fingerprint import Fingerprint
from ansible_collections.mxhero.unroute.plugins.module_utils._google import client as client_mod
from ansible_collections.mxhero.unroute.plugins.module_utils._google import engine
from ansible_collections.mxhero.unroute.plugins.module_utils._retry import RetryPolicy

FP = Fingerprint()
ALLOW = "settings/gmail.email_spam_filter_ip_allowlist"


def policy(value, setting_type=ALLOW, kind="ADMIN", name="policies/p1"):
    return {"name": name, "customer": "customers/C01", "type": kind,
            "policyQuery": {"orgUnit": "orgUnits/root"}, "setting": {"type": setting_type, "value": value}}


def test_only_mxhero_entries_leave_a_list_in_order():
    plan = engine.plan_policy(policy({"allowedIpAddresses": ["192.0.2.1", "54.208.111.28", "10.0.0.0/8",
                                                             "3.211.77.148"]}), FP, {"gmail.email_spam_filter_ip_allowlist"})
    assert plan["mode"] == "change"
    assert plan["new_value"] == {"allowedIpAddresses": ["192.0.2.1", "10.0.0.0/8"]}
    assert plan["removed_values"] == ["54.208.111.28", "3.211.77.148"]


@pytest.mark.parametrize("value", [
    {"allowedIpAddresses": ["54.208.111.29", "192.0.2.1"]},
    {"hosts": ["notmxhero.com", "mxhero.com.evil.example", "smtp.mxhero.co"]},
    {"enableImapAccess": True},
])
def test_lookalikes_and_clean_values_are_not_matched(value):
    assert engine.plan_policy(policy(value), FP, {"gmail.email_spam_filter_ip_allowlist"}) is None


def test_reference_inside_a_rule_is_manual():
    value = {"spamOverride": [{"description": "relay", "approvedSenderHosts": ["smtp.mxhero.com"]}]}
    plan = engine.plan_policy(policy(value, "settings/gmail.spam_override_lists"), FP,
                              {"gmail.spam_override_lists"})
    assert plan["mode"] == "manual" and "rule" in plan["why"]
    assert plan["new_value"] == value


def test_not_mutable_and_system_policies_are_manual():
    value = {"allowedIpAddresses": ["54.208.111.28"]}
    assert engine.plan_policy(policy(value), FP, set())["mode"] == "manual"
    system = engine.plan_policy(policy(value, kind="SYSTEM"), FP, {"gmail.email_spam_filter_ip_allowlist"})
    assert system["mode"] == "manual" and "SYSTEM" in system["why"]


def test_wide_network_is_reported_unless_cidrs_match():
    value = {"allowedIpAddresses": ["54.0.0.0/8"]}
    assert engine.plan_policy(policy(value), FP, {"gmail.email_spam_filter_ip_allowlist"})["mode"] == "reported"
    wide = Fingerprint(match_cidrs=True)
    assert engine.plan_policy(policy(value), wide, {"gmail.email_spam_filter_ip_allowlist"})["mode"] == "change"


def test_manual_steps_name_the_console_path_and_entries():
    plan = engine.plan_policy(policy({"allowedIpAddresses": ["54.208.111.28"]}), FP, set())
    steps = engine._manual_steps(plan, "org unit /Sales [orgUnits/root]")
    assert "Gmail > Spam, Phishing and Malware > Email allowlist" in steps and "54.208.111.28" in steps
    assert "select org unit /Sales [orgUnits/root]" in steps


def test_a_wider_network_next_to_exact_ips_is_reported_in_the_same_plan():
    value = {"allowedIpAddresses": ["54.208.111.28", "54.165.0.0/16", "192.0.2.1"]}
    plan = engine.plan_policy(policy(value), FP, {"gmail.email_spam_filter_ip_allowlist"})
    assert plan["mode"] == "change" and plan["removed_values"] == ["54.208.111.28"]
    assert plan["new_value"] == {"allowedIpAddresses": ["54.165.0.0/16", "192.0.2.1"]}
    assert [r["evidence"] for r in plan["also_reported"]] == [
        ["cidr 54.165.0.0/16 contains 54.165.252.128 at allowedIpAddresses[1]"]]


@pytest.mark.parametrize("setting_type, value", [
    ("settings/gmail.blocked_sender_lists", {"blockedSenders": ["smtp.mxhero.com", "spam.example"]}),
    ("settings/gmail.spam_override_lists", {"blockedSenderHosts": ["54.208.111.28"]}),
    ("settings/gmail.content_compliance", {"denyList": ["relay.mxhero.com"]}),
])
def test_block_and_deny_lists_are_only_reported_even_when_mutable(setting_type, value):
    plan = engine.plan_policy(policy(value, setting_type), FP, {engine.settings.bare(setting_type)})
    assert plan["mode"] == "reported" and plan["new_value"] == value and plan["removed_values"] == []
    assert "unblocking mxHero is not unrouting it" in plan["why"]


class FakeClient(object):
    def __init__(self, policies, refuse=False):
        self.policies = {p["name"]: p for p in policies}
        self.refuse = refuse
        self.patches = []

    def list_org_units(self, customer):
        return [{"orgUnitPath": "/", "orgUnitId": "id:root", "name": "X Inc"}]

    def list_admin_activities(self, customer, event_name):
        return []

    def list_policies(self, customer, setting_filter):
        return [json.loads(json.dumps(p)) for p in self.policies.values()]

    def get_policy(self, name):
        return json.loads(json.dumps(self.policies[name]))

    def patch_policy(self, name, setting):
        if self.refuse:
            raise client_mod.MutateUnsupported("UNIMPLEMENTED")
        self.patches.append((name, setting))
        self.policies[name]["setting"] = setting
        return {"done": True}


PARAMS = dict(domain="x.test", api="policy", mutable_setting_types=[ALLOW], mxhero_domains=[], mxhero_ips=[],
              mxhero_name_patterns=[], match_cidrs=False)


def _through_runner(check_mode, client, diff_mode=True):
    """The engine as a module runs it: the runner makes the diff of the engine's before/after."""
    return _runner.run(lambda params, ctx: engine.run(params, ctx.check_mode, ctx.diff_mode, client=client),
                       PARAMS, check_mode=check_mode, diff_mode=diff_mode)


def test_check_mode_and_real_run_agree_except_action():
    data = [policy({"allowedIpAddresses": ["54.208.111.28", "192.0.2.1"]})]
    check = _through_runner(True, FakeClient(data))
    fake = FakeClient(data)
    real = _through_runner(False, fake)
    assert [f["action"] for f in check["findings"]] == ["would_change", "manual"]
    assert [f["action"] for f in real["findings"]] == ["changed", "manual"]
    assert check["diff"] == real["diff"] and check["manual_actions"] == real["manual_actions"]
    assert fake.patches == [("policies/p1", {"type": ALLOW, "value": {"allowedIpAddresses": ["192.0.2.1"]}})]
    again = engine.run(PARAMS, client=fake)
    assert again["changed"] is False


def test_the_digest_covers_every_policy_read_with_mxhero_in_it_whatever_the_diff_flag():
    rule = {"spamOverride": [{"approvedSenderHosts": ["smtp-relay.mxhero.com"], "description": "mxHero relay"}]}
    data = [policy({"allowedIpAddresses": ["54.208.111.28", "192.0.2.1"]}),
            policy(rule, "settings/gmail.spam_override_lists", name="policies/p2"),
            policy({"blockedIpAddresses": ["54.208.111.28"]}, "settings/gmail.email_spam_filter_ip_blocklist",
                   name="policies/p3")]
    plain = engine.run(PARAMS, check_mode=True, diff_mode=False, client=FakeClient(data))
    diffed = engine.run(PARAMS, check_mode=True, diff_mode=True, client=FakeClient(data))
    assert "diff" not in plain and "diff" not in diffed, "the runner makes the diff, never the engine"
    assert plain["before"] == diffed["before"] and sorted(plain["before"]) == ["policies/p1", "policies/p2",
                                                                              "policies/p3"]
    digest = _through_runner(True, FakeClient(data), diff_mode=False)["plan_digest"]
    assert digest == _through_runner(True, FakeClient(data), diff_mode=True)["plan_digest"]
    # A person edits the rule that is only a manual action: the plan's one change is the same, the state is not.
    edited = json.loads(json.dumps(data))
    edited[1]["setting"]["value"]["spamOverride"][0]["approvedSenderHosts"].append("relay.x.example")
    assert _through_runner(True, FakeClient(edited), diff_mode=False)["plan_digest"] != digest


def test_refused_mutation_becomes_manual_and_nothing_is_claimed():
    data = [policy({"allowedIpAddresses": ["54.208.111.28"]})]
    result = engine.run(dict(PARAMS, gateway_verified=True), client=FakeClient(data, refuse=True))
    assert result["changed"] is False and result["removed"] == []
    assert [f["action"] for f in result["findings"]] == ["manual"]


def test_manual_failure_message_lists_pending_and_done():
    data = [policy({"allowedIpAddresses": ["54.208.111.28"]})]
    result = engine.run(PARAMS, client=FakeClient(data))
    msg = engine.manual_failure(result, "x.test")
    assert msg.startswith("x.test: 1 manual action(s) still pending") and "already changed" in msg


def _http_error(status, body, headers=None):
    resp = httplib2.Response(dict({"status": str(status)}, **(headers or {})))
    return HttpError(resp, json.dumps(body).encode())


def _client():
    return client_mod.GoogleClient("x.test", access_token="ya29.secret-token", scopes=[client_mod.SCOPE_POLICIES],
                                   subject="admin@x.test",
                                   retry=RetryPolicy(attempts=3, sleep=lambda s: None, rand=lambda: 0.0))


@pytest.mark.parametrize("status, reason, text", [
    (403, "ACCESS_TOKEN_SCOPE_INSUFFICIENT", "lacks the scope"),
    (403, None, "admin@x.test is not a super administrator"),
    (401, None, "access token was refused"),
])
def test_http_errors_say_what_is_missing(status, reason, text):
    body = {"error": {"code": status, "message": "nope", "status": "PERMISSION_DENIED"}}
    if reason:
        body["error"]["details"] = [{"reason": reason}]
    err = _client()._http_error("list Gmail policies", _http_error(status, body))
    assert isinstance(err, UnrouteError) and text in str(err) and str(err).startswith("x.test: ")


def test_501_is_mutate_unsupported():
    err = _client()._http_error("patch", _http_error(501, {"error": {"code": 501, "status": "UNIMPLEMENTED"}}))
    assert isinstance(err, client_mod.MutateUnsupported)


class Request(object):
    def __init__(self, answers):
        self.answers = list(answers)
        self.calls = 0

    def execute(self, num_retries=0):
        assert num_retries == 0
        self.calls += 1
        answer = self.answers.pop(0)
        if isinstance(answer, Exception):
            raise answer
        return answer


def test_reads_are_retried_on_429_with_retry_after():
    waits = []
    client = _client()
    client.retry = RetryPolicy(attempts=3, sleep=waits.append, rand=lambda: 0.0)
    req = Request([_http_error(429, {"error": {"code": 429}}, {"retry-after": "2"}), {"policies": []}])
    assert client._execute("list", req) == {"policies": []}
    assert req.calls == 2 and waits == [2.0]


def test_a_write_with_unknown_outcome_is_not_repeated():
    req = Request([_http_error(503, {"error": {"code": 503}}), {"done": True}])
    with pytest.raises(UnrouteError) as info:
        _client()._execute("patch policies/p1", req, write=True)
    assert req.calls == 1 and "may or may not have been applied" in str(info.value)


def test_gives_up_with_the_attempt_count():
    req = Request([_http_error(500, {"error": {"code": 500}})] * 3)
    with pytest.raises(UnrouteError) as info:
        _client()._execute("list", req)
    assert req.calls == 3 and "3 attempts" in str(info.value)


class FailsOnSecond(FakeClient):
    """Google answers the first policy, then fails reading the second one."""

    def get_policy(self, name):
        if name == "policies/p2":
            raise UnrouteError("x.test", "policy policies/p2", "HTTP 500: backend error", "try again later")
        return super(FailsOnSecond, self).get_policy(name)


def test_a_failure_after_a_change_carries_partial():
    data = [policy({"allowedIpAddresses": ["54.208.111.28", "192.0.2.1"]}, name="policies/p1"),
            policy({"allowedIpAddresses": ["3.211.77.148"]}, name="policies/p2")]
    fake = FailsOnSecond(data)
    with pytest.raises(UnrouteError) as info:
        engine.run(PARAMS, client=fake)
    assert info.value.partial == ["policy policies/p1: removed 54.208.111.28"]
    assert "already done before this error: policy policies/p1" in str(info.value)
    assert fake.patches and fake.patches[0][0] == "policies/p1"


def test_org_unit_read_refused_falls_back_to_the_id_with_one_note():
    class NoDirectory(FakeClient):
        def list_org_units(self, customer):
            raise client_mod.NotPermitted("the token lacks %s" % client_mod.SCOPE_ORGUNIT_RO)

    data = [policy({"allowedIpAddresses": ["54.208.111.28"]}, name="policies/p1"),
            policy({"allowedIpAddresses": ["3.211.77.148"]}, name="policies/p2")]
    result = engine.run(dict(PARAMS, mutable_setting_types=[], gateway_verified=True), client=NoDirectory(data))
    assert [m["steps"].count("the org unit whose id is orgUnits/root") for m in result["manual_actions"]] == [1, 1]
    notes = [w for w in result["warnings"] if "named by id only" in w]
    assert len(notes) == 1 and client_mod.SCOPE_ORGUNIT_RO in notes[0]


@pytest.mark.parametrize("status, reason, kind, text", [
    (403, "ACCESS_TOKEN_SCOPE_INSUFFICIENT", client_mod.NotPermitted, "the token lacks"),
    (403, None, client_mod.NotPermitted, "HTTP 403"),
    (500, None, UnrouteError, "HTTP 500"),
])
def test_directory_errors(status, reason, kind, text):
    body = {"error": {"code": status, "message": "Not Authorized to access this resource/api"}}
    if reason:
        body["error"]["details"] = [{"reason": reason}]
    err = _client()._directory_error("organisational units", _http_error(status, body))
    assert isinstance(err, kind) and text in str(err)
