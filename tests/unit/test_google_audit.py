"""What the admin audit log's email-settings events say about mxHero (module_utils/_google/audit.py)."""

from __future__ import annotations

from ansible_collections.mxhero.unroute.plugins.module_utils._fingerprint import Fingerprint
from ansible_collections.mxhero.unroute.plugins.module_utils._google import audit

FP = Fingerprint()


def activity(time, name="CHANGE_EMAIL_SETTING", actor="admin@x.test", **params):
    return {"id": {"time": time}, "actor": {"email": actor},
            "events": [{"type": "EMAIL_SETTINGS", "name": name,
                        "parameters": [{"name": k, "value": v} for k, v in params.items()]}]}


def test_lookalikes_and_other_types_are_not_evidence():
    events = [activity("2026-10-01T00:00:00.000Z", SETTING_NAME="OUTBOUND_GATEWAY", OLD_VALUE="",
                       NEW_VALUE="smtp.notmxhero.com"),
              activity("2026-10-02T00:00:00.000Z", SETTING_NAME="OUTBOUND_GATEWAY", OLD_VALUE="",
                       NEW_VALUE="mxhero.com.evil.example"),
              {"id": {"time": "2026-10-03T00:00:00.000Z"}, "actor": {"email": "a@x.test"},
               "events": [{"type": "SECURITY_SETTINGS", "name": "CHANGE_EMAIL_SETTING",
                           "parameters": [{"name": "NEW_VALUE", "value": "smtp.mxhero.com"}]}]}]
    result = audit.evidence(events, FP)
    assert result["state"] == "none" and result["events"] == []


def test_latest_event_per_setting_decides_in_any_order_read():
    events = [activity("2026-10-05T00:00:00.000Z", SETTING_NAME="OUTBOUND_GATEWAY", OLD_VALUE="gmail.mxhero.com",
                       NEW_VALUE="relay.example.net"),
              activity("2026-09-01T00:00:00.000Z", SETTING_NAME="OUTBOUND_GATEWAY", OLD_VALUE="",
                       NEW_VALUE="gmail.mxhero.com")]
    result = audit.evidence(events, FP)
    assert result["state"] == "cleared" and result["rank"] == audit.RANK["cleared"]
    assert "now relay.example.net" in result["text"] and "after it was set on 2026-09-01" in result["text"]
    # A second setting still naming mxHero makes the domain "set", whatever the first one says.
    events.append(activity("2026-08-01T00:00:00.000Z", SETTING_NAME="SMART_HOST", ORG_UNIT_NAME="/Sales",
                           OLD_VALUE="", NEW_VALUE="54.208.111.28:25"))
    assert audit.evidence(events, FP)["state"] == "set"
    assert "SMART_HOST (/Sales) set to 54.208.111.28:25" in audit.evidence(events, FP)["text"]


def test_unreadable_ranks_with_the_unknown():
    assert audit.unreadable("HTTP 403")["rank"] == audit.RANK["none"]
