"""Admin SDK Reports API v1 ``activities.list`` for the emulated Google Workspace (admin audit log).

Wire format from Google's reference (developers.google.com/workspace/admin/reports/reference/rest/v1/activities/list)
and the ``admin reports_v1`` discovery document shipped with google-api-python-client:

- ``GET admin/reports/v1/activity/users/{userKey|all}/applications/{applicationName}?eventName=&startTime=&endTime=
  &maxResults=1..1000 (default 1000)&pageToken=&customerId=`` -> ``{"kind": "admin#reports#activities", "etag",
  "items": [Activity], "nextPageToken"}``, newest first;
- Activity: ``kind admin#reports#activity``, ``id`` {``time`` RFC 3339, ``uniqueQualifier``, ``applicationName``,
  ``customerId``}, ``etag``, ``actor`` {``callerType``, ``email``, ``profileId``}, ``ipAddress``, ``events``
  [{``type``, ``name``, ``parameters`` [{``name``, ``value``}]}];
- Scope ``admin.reports.audit.readonly``; the caller must be an administrator.

Email settings events (``type=EMAIL_SETTINGS``; Google's "Admin Audit Activity Events - Email Settings" page):
``CHANGE_EMAIL_SETTING`` with ``SETTING_NAME``, ``OLD_VALUE``, ``NEW_VALUE``, ``ORG_UNIT_NAME`` (console text
"{SETTING_NAME} for email service in your organization changed from {OLD_VALUE} to {NEW_VALUE}"), and
``CREATE_GMAIL_SETTING`` / ``CHANGE_GMAIL_SETTING`` / ``DELETE_GMAIL_SETTING`` with ``SETTING_NAME`` and
``USER_DEFINED_SETTING_NAME``. Google does not publish which ``SETTING_NAME`` the outbound gateway is logged
under: the default estate's ``OUTBOUND_GATEWAY`` is the lab's assumption, and the collection does not rely on it.

Admin log events are kept about six months (Google's "Data retention and lag times"): events older than
``RETENTION_DAYS`` are not returned, and a report reaches back 180 days at most (the admin activity report
guide): a ``startTime`` further back is refused with 400. Google's wording for that refusal is not published;
the one public capture (google-api-python-client#148) reads "Invalid request: Start time is after end time.",
which the lab repeats. ``userKey`` is a path parameter: an email address arrives percent-encoded
(``admin%40example.com``) and is decoded like every other path segment.
"""

from __future__ import annotations

import datetime
import hashlib

from urllib.parse import parse_qs, unquote

from .google_directory import DirectoryError, _etag, caller, page_offset, page_token, profile_id, read_only

SCOPE_AUDIT_RO = "https://www.googleapis.com/auth/admin.reports.audit.readonly"
PREFIX = "/admin/reports/v1/activity/users/"
RETENTION_DAYS = 180
PAGE_DEFAULT = PAGE_MAX = 1000
# From the discovery document's enum of activities.list applicationName (the part the lab serves is "admin").
APPLICATIONS = ("access_transparency", "admin", "calendar", "chat", "drive", "gcp", "gmail", "groups",
                "groups_enterprise", "jamboard", "login", "meet", "mobile", "rules", "saml", "token",
                "user_accounts", "context_aware_access", "chrome", "data_studio", "keep", "vault")


def route(path):
    """(userKey, applicationName) for an activities.list URL path, else None."""
    if not path.startswith(PREFIX):
        return None
    user, sep, rest = path[len(PREFIX):].partition("/applications/")
    if not sep or not user or not rest or "/" in rest:
        return None
    return unquote(user), unquote(rest)


def _rfc3339(moment):
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + "%03dZ" % (moment.microsecond // 1000)


def _parse_time(text, what):
    try:
        value = datetime.datetime.fromisoformat(str(text).strip().replace("Z", "+00:00").replace("z", "+00:00"))
    except ValueError:
        raise DirectoryError(400, "Invalid value for %s: %s" % (what, text), "invalid", status="INVALID_ARGUMENT")
    if value.tzinfo is None:
        raise DirectoryError(400, "Invalid value for %s: %s" % (what, text), "invalid", status="INVALID_ARGUMENT")
    return value.astimezone(datetime.timezone.utc)


def event_from_estate(customer, index, item, now=None):
    """One estate ``audit_events`` entry -> the stored event (``time`` absolute, or ``days_ago`` from now)."""
    now = now or datetime.datetime.now(datetime.timezone.utc)
    if item.get("time"):
        moment = _parse_time(str(item["time"]), "time")
    else:
        moment = now - datetime.timedelta(days=float(item.get("days_ago", 1)))
    actor = str(item.get("actor") or customer["super_admins"][0])
    params = item.get("parameters") or {}
    return {"time": moment, "actor": actor, "name": str(item.get("name") or "CHANGE_EMAIL_SETTING"),
            "type": str(item.get("type") or "EMAIL_SETTINGS"), "ip": str(item.get("ip") or "203.0.113.10"),
            "parameters": [{"name": str(k), "value": "" if v is None else str(v)} for k, v in params.items()],
            "qualifier": "-" + str(int(hashlib.sha1(("%s/%d" % (customer["id"], index)).encode()).hexdigest()[:15],
                                       16))}


def activity(customer, event, profile_id):
    return {"kind": "admin#reports#activity",
            "id": {"time": _rfc3339(event["time"]), "uniqueQualifier": event["qualifier"], "applicationName": "admin",
                   "customerId": customer["id"]},
            "etag": _etag(customer["id"], event["qualifier"]),
            "actor": {"callerType": "USER", "email": event["actor"], "profileId": profile_id},
            "ipAddress": event["ip"],
            "events": [{"type": event["type"], "name": event["name"], "parameters": [dict(p) for p in
                                                                                      event["parameters"]]}]}


def list_activities(customer, user_key, application, query, profile_of, now=None):
    """activities.list over the customer's admin log; ``profile_of(email)`` gives the actor's profile id."""
    now = now or datetime.datetime.now(datetime.timezone.utc)
    if application not in APPLICATIONS:
        raise DirectoryError(400, "Invalid value '%s'. Values must match the following regular expression: '%s'"
                             % (application, "|".join(APPLICATIONS)), "invalidParameter", status="INVALID_ARGUMENT")
    if query.get("customerId") and query["customerId"] != customer["id"]:
        raise DirectoryError(403, "Caller does not have access to the customers reporting data.", "forbidden")
    text = query.get("maxResults")
    try:
        size = PAGE_DEFAULT if text in (None, "") else int(text)
    except ValueError:
        size = 0
    if size < 1 or size > PAGE_MAX:
        raise DirectoryError(400, "Invalid value '%s'. Values must be within the range: [1, %d]" % (text, PAGE_MAX),
                             "invalidParameter", status="INVALID_ARGUMENT")
    if customer.get("audit_page_size"):
        size = min(size, int(customer["audit_page_size"]))
    start = _parse_time(query["startTime"], "startTime") if query.get("startTime") else None
    end = _parse_time(query["endTime"], "endTime") if query.get("endTime") else now
    if start is not None and (start > now or start > end):
        raise DirectoryError(400, "Start time must be less than end time and the current time.", "invalid",
                             status="INVALID_ARGUMENT")
    oldest = now - datetime.timedelta(days=RETENTION_DAYS)
    if start is not None and start < oldest:
        raise DirectoryError(400, "Invalid request: Start time is after end time.", "invalid",
                             status="INVALID_ARGUMENT")
    names = set(n for n in (query.get("eventName") or "").split(",") if n)
    rows = [e for e in customer["audit_events"] if application == "admin"
            and e["time"] >= oldest and e["time"] <= end and (start is None or e["time"] >= start)
            and (not names or e["name"] in names)
            and (user_key == "all" or e["actor"].lower() == user_key.lower())]
    rows.sort(key=lambda e: (e["time"], e["qualifier"]), reverse=True)
    binding = _etag(customer["id"], user_key, application, ",".join(sorted(names)), query.get("startTime") or "",
                    query.get("endTime") or "")[1:13]
    offset = page_offset(query.get("pageToken"), binding)
    body = {"kind": "admin#reports#activities", "etag": _etag(customer["id"], "activities", str(offset))}
    page = rows[offset:offset + size]
    if page:
        body["items"] = [activity(customer, e, profile_of(e["actor"])) for e in page]
    if offset + size < len(rows):
        body["nextPageToken"] = page_token(binding, offset + size)
    return body


def call(svc, header, method, arg, query_text):
    """One activities.list request (``arg`` from route())."""
    user_key, application = arg
    customer = caller(svc.tokens, svc.customers, header, None, {SCOPE_AUDIT_RO})
    read_only(method)
    query = {k: v[0] for k, v in parse_qs(query_text, keep_blank_values=True).items()}
    with svc.lock:
        return list_activities(customer, user_key, application, query, lambda email: profile_id(customer, email))
