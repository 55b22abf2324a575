"""What counts as mxHero in Gmail, and what may be changed (issue 10, items 7-9): a wider network next to
exact mxHero IPs shows in the first audit, a gateway set to an mxHero IP is mxHero's, and a block list is
never loosened. Each case: a lab estate, the module run in check mode and for real, the lab's state."""

from __future__ import annotations

import copy

import pytest

from google_lab_helpers import customer_state, google_estate, module_args, module_lab  # noqa: F401 (fixture)
from helpers import run_module

pytestmark = pytest.mark.lab

ALLOW = "gmail.email_spam_filter_ip_allowlist"
BLOCK = "gmail.blocked_sender_lists"
WIDE = ["54.208.111.28", "54.165.0.0/16", "192.0.2.1", "3.211.77.148"]
BLOCKED = ["smtp.mxhero.com", "54.208.111.28", "spam.example"]

ESTATE = google_estate({
    "n-net.test": {"mutate_supported": [ALLOW],
                   "policies": [{"setting": ALLOW, "value": {"allowedIpAddresses": list(WIDE)}}]},
    "n-gwip.test": {"outbound_gateway": {"smart_host": "54.208.111.28", "smtp_mode": "SMTP_TLS"}},
    "n-gwipport.test": {"outbound_gateway": {"smart_host": "[3.211.77.148]:25", "smtp_mode": "SMTP"}},
    "n-gwother.test": {"outbound_gateway": {"smart_host": "54.208.111.29", "smtp_mode": "SMTP"}},
    "n-block.test": {"mutate_supported": [BLOCK, ALLOW],
                     "policies": [{"setting": BLOCK, "value": {"blockedSenders": list(BLOCKED)}},
                                  {"setting": ALLOW, "value": {"allowedIpAddresses": ["52.22.51.97", "192.0.2.2"]}}]},
})


def _value(lab, domain, setting):
    rows = [p for p in customer_state(lab, domain)["policies"] if p["setting"]["type"] == "settings/" + setting]
    return rows[0]["setting"]["value"]


def _without_action(findings):
    out = copy.deepcopy(findings)
    for item in out:
        item.pop("action")
    return out


def _policy_findings(result):
    return sorted(((f["action"], tuple(f["evidence"])) for f in result["findings"] if f["kind"] == "gmail_policy"))


def test_first_audit_shows_the_wider_network_next_to_the_exact_ips(module_lab):
    lab, domain = module_lab, "n-net.test"
    args = module_args(lab, domain, gateway_verified=True)
    network = ("reported", ("cidr 54.165.0.0/16 contains 54.165.252.128 at allowedIpAddresses[1]",))
    exact = ("would_change", ("ip 54.208.111.28 at allowedIpAddresses[0]", "ip 3.211.77.148 at allowedIpAddresses[3]"))

    audit = run_module("google_info", args)
    assert not audit.get("failed"), audit
    assert _policy_findings(audit) == sorted([network, exact])
    reported = [f for f in audit["findings"] if f["action"] == "reported"][0]
    assert "match_cidrs" in reported["why"]

    check = run_module("google_gateway", args, check_mode=True, diff=True)
    assert _policy_findings(check) == _policy_findings(audit)
    assert _value(lab, domain, ALLOW)["allowedIpAddresses"] == WIDE, "check mode must not write"

    real = run_module("google_gateway", args, diff=True)
    assert not real.get("failed"), real
    assert _without_action(real["findings"]) == _without_action(check["findings"])
    assert real["diff"] == check["diff"]
    assert _value(lab, domain, ALLOW)["allowedIpAddresses"] == ["54.165.0.0/16", "192.0.2.1"]

    again = run_module("google_info", args)
    # the same network, now first in the list; nothing new appears on the second run
    assert _policy_findings(again) == [("reported", ("cidr 54.165.0.0/16 contains 54.165.252.128 at "
                                                     "allowedIpAddresses[0]",))]
    assert [f["why"] for f in again["findings"]] == [reported["why"]]


@pytest.mark.parametrize("domain, host, evidence", [
    ("n-gwip.test", "54.208.111.28", "ip 54.208.111.28"),
    ("n-gwipport.test", "[3.211.77.148]:25", "ip 3.211.77.148"),
])
def test_a_gateway_set_to_an_mxhero_ip_is_mxhero(module_lab, domain, host, evidence):
    lab = module_lab
    args = module_args(lab, domain, api="admin_settings")
    check = run_module("google_gateway", args, check_mode=True, diff=True)
    assert not check.get("failed"), check
    assert [(f["action"], f["evidence"]) for f in check["findings"]] == [("would_remove", [evidence])]
    assert customer_state(lab, domain)["outbound_gateway"]["smartHost"] == host

    real = run_module("google_gateway", args, diff=True)
    assert [(f["action"], f["evidence"]) for f in real["findings"]] == [("removed", [evidence])]
    assert real["diff"] == check["diff"] and real["changed"] is True
    assert customer_state(lab, domain)["outbound_gateway"] == {"smartHost": "", "smtpMode": "SMTP"}
    assert run_module("google_gateway", args)["changed"] is False


def test_a_gateway_on_another_address_is_kept_and_steps_name_mxhero_addresses(module_lab):
    lab, domain = module_lab, "n-gwother.test"
    kept = run_module("google_gateway", module_args(lab, domain, api="admin_settings"))
    assert [f["action"] for f in kept["findings"]] == ["kept"]
    assert customer_state(lab, domain)["outbound_gateway"]["smartHost"] == "54.208.111.29"
    # With the Policy API the gateway is a manual step; it must name the addresses too.
    policy = run_module("google_info", module_args(lab, domain))
    steps = [m["steps"] for m in policy["manual_actions"] if m["where"].endswith("Outbound gateway")][0]
    assert "54.208.111.28" in steps and "gmail-out.mxhero.com" in steps


def test_a_block_list_is_never_loosened_even_when_declared_mutable(module_lab):
    lab, domain = module_lab, "n-block.test"
    args = module_args(lab, domain, gateway_verified=True,
                       mutable_setting_types=["settings/" + BLOCK, "settings/" + ALLOW])
    check = run_module("google_gateway", args, check_mode=True, diff=True)
    real = run_module("google_gateway", args, diff=True)
    assert not real.get("failed"), real
    for result in (check, real):
        blocked = [f for f in result["findings"] if BLOCK in f["object"]]
        assert [f["action"] for f in blocked] == ["reported"]
        assert blocked[0]["evidence"] == ["host smtp.mxhero.com at blockedSenders[0]",
                                          "ip 54.208.111.28 at blockedSenders[1]"]
        assert "block list" in blocked[0]["why"] and "not unrouting" in blocked[0]["why"]
        assert not [m for m in result["manual_actions"] if BLOCK in m["object"]]
    assert _without_action(real["findings"]) == _without_action(check["findings"])
    assert _value(lab, domain, BLOCK)["blockedSenders"] == BLOCKED
    # the allow list next to it is still cleaned
    assert _value(lab, domain, ALLOW)["allowedIpAddresses"] == ["192.0.2.2"]
    assert [e["entries"] for e in real["removed"]] == [["52.22.51.97"]]
