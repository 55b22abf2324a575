"""Issue 26 (1, 7): Gmail settings a run changed through the Cloud Identity Policy API come back through it, with
the run's guards; an edited run record is refused whole, one line, nothing written."""

from __future__ import annotations

import copy

import pytest

from google_lab_helpers import customer_state, google_estate, module_args, module_lab  # noqa: F401 (fixture)
from helpers import run_module

pytestmark = pytest.mark.lab

ALLOW = "gmail.email_spam_filter_ip_allowlist"
BLOCK = "gmail.blocked_sender_lists"
MIXED = ["198.51.100.25", "54.208.111.28", "203.0.113.0/28", "3.211.77.148"]
ESTATE = google_estate({
    "g-restore.test": {"mutate_supported": [ALLOW],
                       "policies": [{"setting": ALLOW, "value": {"allowedIpAddresses": list(MIXED)}}]},
})


def _policies(lab, domain):
    return [p["setting"] for p in customer_state(lab, domain)["policies"]]


def test_google_restore_puts_back_through_the_policy_api_and_refuses_an_edited_record(module_lab):
    lab, domain = module_lab, "g-restore.test"
    args = module_args(lab, domain)
    before = _policies(lab, domain)
    run = run_module("google_gateway", args)
    assert not run.get("failed"), run.get("msg")
    left = _policies(lab, domain)
    assert left != before
    removed = run["removed"]
    (entry,) = [r for r in removed if r["kind"] == "gmail_policy_entries"]

    def forged(change):
        record = copy.deepcopy(removed)
        change(next(r for r in record if r["kind"] == "gmail_policy_entries"))
        return record

    def foreign_entry(item):
        item["entries"] = item["entries"] + ["192.0.2.99"]
        item["policy"]["setting"]["value"]["allowedIpAddresses"].append("192.0.2.99")

    def block_list(item):
        item["policy"]["setting"]["type"] = "settings/" + BLOCK

    def not_the_runs(item):
        item["entries"] = ["54.208.111.28"]

    for label, change in (("foreign", foreign_entry), ("block", block_list), ("partial", not_the_runs)):
        for check_mode in (True, False):
            result = run_module("google_restore", dict(args, removed=forged(change)), check_mode=check_mode)
            assert result.get("failed"), (label, result)
            assert "the run record is refused" in result["msg"], result["msg"]
            assert _policies(lab, domain) == left
    # The same guard as the run: a type the inventory does not call mutable is not written either.
    result = run_module("google_restore", dict(args, removed=removed, mutable_setting_types=[]))
    assert result.get("failed") and "the run record is refused" in result["msg"]

    planned = run_module("google_restore", dict(args, removed=removed), check_mode=True, diff=True)
    assert [f["action"] for f in planned["findings"]] == ["would_add"]
    assert _policies(lab, domain) == left
    done = run_module("google_restore", dict(args, removed=removed), diff=True)
    assert not done.get("failed"), done.get("msg")
    assert [f["action"] for f in done["findings"]] == ["added"]
    assert done["diff"] == planned["diff"]
    assert _policies(lab, domain) == before
    assert entry["entries"] == ["54.208.111.28", "3.211.77.148"]
    assert run_module("google_restore", dict(args, removed=removed))["changed"] is False

    steps = run_module("restore_steps", dict(domain=domain, findings=run["findings"], removed=removed))
    assert not [f for f in steps["findings"] if f["kind"] == "gmail_policy"], "the API put it back, not a person"
