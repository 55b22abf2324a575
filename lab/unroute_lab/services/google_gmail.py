"""Gmail API v1 ``users.settings.sendAs`` (read side) for the emulated Google Workspace.

Wire format from Google's reference (developers.google.com/workspace/gmail/api/reference/rest/v1/
users.settings.sendAs) and the ``gmail v1`` discovery document shipped with google-api-python-client:

- ``GET gmail/v1/users/{userId}/settings/sendAs`` -> ``{"sendAs": [SendAs]}`` (no paging);
  ``GET .../sendAs/{sendAsEmail}`` -> SendAs;
- SendAs: ``sendAsEmail``, ``displayName``, ``replyToAddress``, ``signature``, ``isPrimary``, ``isDefault``,
  ``treatAsAlias``, ``smtpMsa`` {``host``, ``port``, ``securityMode``} (``username`` and ``password`` are
  write-only, never returned), ``verificationStatus`` (not on the primary address);
- a token acts for one mailbox: ``userId`` is ``me`` or that user's address, anything else is 403 "Delegation
  denied for <caller>"; scopes ``mail.google.com``, ``gmail.modify``, ``gmail.readonly`` or
  ``gmail.settings.basic``. A service account reads another user's aliases by impersonating them
  (domain-wide delegation). A suspended user's mailbox answers 400 ``failedPrecondition`` "Mail service not
  enabled" (the lab's approximation).
"""

from __future__ import annotations

from urllib.parse import unquote

from .google_directory import DirectoryError, read_only

SCOPE_SETTINGS_BASIC = "https://www.googleapis.com/auth/gmail.settings.basic"
READ_SCOPES = {"https://mail.google.com/", "https://www.googleapis.com/auth/gmail.modify",
               "https://www.googleapis.com/auth/gmail.readonly", SCOPE_SETTINGS_BASIC}
PREFIX = "/gmail/v1/users/"
SECURITY_MODES = ("securityModeUnspecified", "none", "ssl", "starttls")


def route(path):
    """(userId, sendAsEmail or None) for a sendAs URL path, else None."""
    if not path.startswith(PREFIX):
        return None
    user, sep, rest = path[len(PREFIX):].partition("/settings/sendAs")
    if not sep or not user:
        return None
    if rest == "":
        return unquote(user), None
    if rest.startswith("/") and "/" not in rest[1:]:
        return unquote(user), unquote(rest[1:])
    return None


def alias_from_estate(item):
    item = {"email": item} if isinstance(item, str) else dict(item)
    alias = {"sendAsEmail": str(item["email"]), "displayName": str(item.get("display_name") or ""),
             "replyToAddress": str(item.get("reply_to") or ""), "signature": "", "isPrimary": False,
             "isDefault": False, "treatAsAlias": bool(item.get("treat_as_alias", False)),
             "verificationStatus": str(item.get("verification_status") or "accepted")}
    smtp = item.get("smtp_msa")
    if smtp:
        mode = str(smtp.get("security_mode") or "starttls")
        if mode not in SECURITY_MODES:
            raise ValueError("send_as %s: security_mode must be one of %s" % (item["email"], ", ".join(SECURITY_MODES)))
        alias["smtpMsa"] = {"host": str(smtp["host"]), "port": int(smtp.get("port") or 587), "securityMode": mode}
    return alias


def send_as_list(user):
    primary = {"sendAsEmail": user["primaryEmail"], "displayName": user["name"]["fullName"], "replyToAddress": "",
               "signature": "", "isPrimary": True, "isDefault": not any(a.get("isDefault") for a in user["send_as"]),
               "treatAsAlias": False}
    return [primary] + [dict(a) for a in user["send_as"]]


def caller_user(tokens, customers, header, user_id):
    """The Directory user whose mailbox the token may read, or DirectoryError as Gmail answers it."""
    grant = tokens.lookup(header)
    if grant is None:
        raise DirectoryError(401, "Request had invalid authentication credentials.", "authError",
                             status="UNAUTHENTICATED")
    if not grant["scopes"] & READ_SCOPES:
        raise DirectoryError(403, "Request had insufficient authentication scopes.", "insufficientPermissions",
                             status="PERMISSION_DENIED", scope_info=True)
    if user_id not in ("me", grant["email"]):
        raise DirectoryError(403, "Delegation denied for %s" % grant["email"], "forbidden",
                             status="PERMISSION_DENIED")
    customer = customers[grant["customer"]]
    user = customer["directory_users"].get(grant["email"])
    if user is None:
        raise DirectoryError(400, "Mail service not enabled", "failedPrecondition", status="FAILED_PRECONDITION")
    if user["suspended"]:
        raise DirectoryError(400, "Mail service not enabled", "failedPrecondition", status="FAILED_PRECONDITION")
    return user


def get(user, address):
    for alias in send_as_list(user):
        if alias["sendAsEmail"].lower() == address.lower():
            return alias
    raise DirectoryError(404, "Requested entity was not found.", "notFound", status="NOT_FOUND")


def call(svc, header, method, arg, query_text=None):
    """One sendAs request (``arg`` from route())."""
    user_id, address = arg
    user = caller_user(svc.tokens, svc.customers, header, user_id)
    read_only(method, "Method not allowed in the lab (sendAs is read only here)")
    with svc.lock:
        if address is None:
            return {"sendAs": send_as_list(user)}
        return get(user, address)
