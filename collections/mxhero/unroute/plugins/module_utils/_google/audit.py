# Copyright (c) mxhero-unroute developers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""What the admin audit log (Reports API, ``applicationName=admin``) says about mxHero in Gmail's settings.

No API reads the outbound gateway, but an administrator's change to an email setting is logged
(type ``EMAIL_SETTINGS``): ``CHANGE_EMAIL_SETTING`` with ``SETTING_NAME``/``OLD_VALUE``/``NEW_VALUE``/
``ORG_UNIT_NAME``, and ``CREATE``/``CHANGE``/``DELETE_GMAIL_SETTING`` with ``SETTING_NAME`` and
``USER_DEFINED_SETTING_NAME`` (Google's "Admin Audit Activity Events - Email Settings"). Google does not
publish the ``SETTING_NAME`` of the outbound gateway, so every email-settings event whose values name an
mxHero host or address counts, and the setting is reported as Google names it.

The log is kept about six months: an event is evidence, its absence is not.
"""

from __future__ import annotations

EVENT_NAMES = ("CHANGE_EMAIL_SETTING", "CREATE_GMAIL_SETTING", "CHANGE_GMAIL_SETTING", "DELETE_GMAIL_SETTING")
# How the report orders domains of the same status: positive evidence of an mxHero gateway first, then
# the unknown, then those whose log shows it cleared (most likely done already).
RANK = {"set": 0, "none": 1, "unreadable": 1, "cleared": 2}
NOT_VERIFIED = ("an audit event records a change at one moment, not the setting's current value; Google does not "
                "publish which SETTING_NAME the outbound gateway is logged under, and changes made outside the "
                "console (the seed's GWFIX used an API) need not appear - so a person still confirms it")


def _params(event):
    out = {}
    for item in event.get("parameters") or []:
        if "value" in item:
            out[item.get("name")] = str(item["value"])
        elif "multiValue" in item:
            out[item.get("name")] = ", ".join(str(v) for v in item["multiValue"])
        elif "boolValue" in item or "intValue" in item:
            out[item.get("name")] = str(item.get("boolValue", item.get("intValue")))
    return out


def _hits(fp, text):
    return fp.scan_text(text) if text else []


def classify(activity, fp):
    """The mxHero-relevant records of one activity (one per event), each with ``change`` set or cleared."""
    out = []
    actor = (activity.get("actor") or {}).get("email") or "an administrator"
    when = (activity.get("id") or {}).get("time") or ""
    for event in activity.get("events") or []:
        if event.get("type") not in (None, "EMAIL_SETTINGS") or event.get("name") not in EVENT_NAMES:
            continue
        params = _params(event)
        old, new = params.get("OLD_VALUE", ""), params.get("NEW_VALUE", "")
        rule = params.get("USER_DEFINED_SETTING_NAME", "")
        record = {"time": when, "date": when[:10], "actor": actor, "event": event.get("name"),
                  "setting": params.get("SETTING_NAME") or "(unnamed setting)", "org_unit": params.get("ORG_UNIT_NAME"),
                  "old_value": old, "new_value": new, "rule": rule or None}
        if event["name"] == "CHANGE_EMAIL_SETTING":
            if _hits(fp, new):
                record.update(change="set", evidence=_hits(fp, new))
            elif _hits(fp, old):
                record.update(change="cleared", evidence=_hits(fp, old))
            else:
                continue
        else:
            hits = _hits(fp, rule) + _hits(fp, new) + _hits(fp, old)
            if not hits:
                continue
            record.update(change="cleared" if event["name"] == "DELETE_GMAIL_SETTING" else "set", evidence=hits)
        out.append(record)
    return out


def evidence(events, fp):
    """``{"state", "events", "text", "rank"}`` from the activities read (any order)."""
    records = []
    for activity in events:
        records.extend(classify(activity, fp))
    records.sort(key=lambda r: r["time"])
    latest = {}
    for record in records:
        latest[(record["setting"], record["org_unit"], record["rule"])] = record
    still_set = [r for r in latest.values() if r["change"] == "set"]
    cleared = [r for r in latest.values() if r["change"] == "cleared"]
    if still_set:
        state, text = "set", "; ".join(_set_text(r) for r in sorted(still_set, key=lambda r: r["time"]))
    elif cleared:
        state, text = "cleared", "; ".join(_cleared_text(r, records) for r in sorted(cleared, key=lambda r: r["time"]))
    else:
        state, text = "none", ("no change naming mxHero is recorded in the admin audit log's retention window "
                               "(about six months; Reports API); that proves nothing either way")
    return {"state": state, "events": records, "text": text, "rank": RANK[state]}


def unreadable(why):
    return {"state": "unreadable", "events": [], "rank": RANK["unreadable"],
            "text": "the admin audit log (Reports API) could not be read, so nothing is known: %s" % why}


def _where(record):
    where = record["setting"]
    if record.get("rule"):
        where += " \"%s\"" % record["rule"]
    if record.get("org_unit"):
        where += " (%s)" % record["org_unit"]
    return where


def _set_text(record):
    value = record["new_value"] or record.get("rule") or ", ".join(record["evidence"])
    return ("%s set to %s by %s on %s (Reports API, %s), and no later event clears it: most likely still set"
            % (_where(record), value, record["actor"], record["date"], record["event"]))


def _cleared_text(record, records):
    earlier = [r for r in records if r["change"] == "set" and r["setting"] == record["setting"]
               and r["time"] < record["time"]]
    was = record["old_value"] or ", ".join(record["evidence"])
    text = "%s cleared by %s on %s (Reports API, %s; was %s" % (
        _where(record), record["actor"], record["date"], record["event"], was)
    if record["new_value"]:
        text += ", now %s" % record["new_value"]
    text += ")"
    if earlier:
        text += ", after it was set on %s" % earlier[-1]["date"]
    return text + "; no later event sets it again - probably done, but confirm it: " + NOT_VERIFIED
