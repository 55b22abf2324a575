# Copyright (c) mxhero-unroute developers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""What every platform's preflight shares: the check record, the statuses and how an error maps to one."""

from __future__ import annotations

from ansible_collections.mxhero.unroute.plugins.module_utils._errors import UnrouteError

READY = "ready"
# Most serious first: a domain's status is the first of these that one of its checks names.
STATUSES = ("unreachable", "needs_credentials", "needs_consent", "needs_role", "needs_delegation", "unproven")
ALL_STATUSES = STATUSES + (READY,)

_UNREACHABLE = ("cannot reach", "did not answer", "did not accept a connection", "timed out", "timeout",
                "connection refused", "unreachable", "name or service not known", "no route to host",
                "tls verification", "certificate verify failed", "could not be verified", "ssl")
_CREDENTIALS = ("badkey", "badsig", "badtime", "tsig", "refused the api token", "refused the credentials",
                "http 401", "401", "invalid_client", "invalid jwt", "invalid_grant", "authentication",
                "unauthorized", "password", "secret", "certificate_path", "no credentials", "not a valid email")
_ROLE = ("403", "forbidden", "not authorized", "access denied", "accessdenied", "refused access", "may not",
         "permission", "role", "no zone", "cannot see", "not recognized", "is not recognised")


def check(platform, obj, name, ok, proven=True, detail="", fix=None, status=None):
    """One check. ``status`` is what the domain needs when the check failed (ignored when it passed)."""
    return {"platform": platform, "object": obj, "check": name, "ok": bool(ok), "proven": bool(proven),
            "detail": detail or "", "fix": fix or "", "status": READY if ok else (status or "unproven")}


def classify(text, default="unproven"):
    """The status an error's text points at: the network, the credentials, or a missing permission."""
    low = str(text).lower()
    for status, words in (("unreachable", _UNREACHABLE), ("needs_credentials", _CREDENTIALS),
                          ("needs_role", _ROLE)):
        if any(word in low for word in words):
            return status
    return default


def failed(platform, obj, name, err, status=None):
    """A check that failed on ``err`` (an UnrouteError or any exception), its cause and fix kept apart."""
    if isinstance(err, UnrouteError):
        cause, fix = err.cause, err.fix
    else:
        cause, fix = "%s: %s" % (type(err).__name__, err), None
    status = status or classify("%s %s" % (cause, type(err).__name__))
    return check(platform, obj, name, False, True, str(cause), fix or _DEFAULT_FIX[status], status)


_DEFAULT_FIX = {
    "unreachable": "check the address, the port, the firewall and ca_path, then run the preflight again",
    "needs_credentials": "check the credentials given for this domain",
    "needs_consent": "an administrator of the customer must consent to the app",
    "needs_role": "give the identity the role or permission named",
    "needs_delegation": "a super admin must add the client ID and scopes under domain-wide delegation",
    "unproven": "look at the detail; run the preflight again once it is understood",
}


def status_of(checks):
    """The domain's status: the most serious need among its failed checks, ``ready`` when none failed."""
    needs = set(c["status"] for c in checks if not c["ok"])
    for status in STATUSES:
        if status in needs:
            return status
    return READY


def line(domain, item):
    """A failed or unproven check as one line: domain, object, what is missing, the fix."""
    text = "%s: %s" % (item["check"], item["detail"]) if item["detail"] else item["check"]
    return UnrouteError(domain, "%s %s" % (item["platform"], item["object"]), text, item["fix"] or None).message()


def options(domain, platform, argspec, given, ctx):
    """``given`` checked against the platform modules' own argument spec: (params, None) or (None, failed check).

    Secrets among them are declared to the runner, which scrubs them from everything the preflight returns."""
    result = argspec.validate(dict(given or {}))
    for value in result._no_log_values:
        ctx.secret(value)
    if result.error_messages:
        return None, check(platform, "options", "connection options", False, True,
                           "; ".join(result.error_messages), "set the inventory variables the run needs for %s"
                           % platform, "needs_credentials")
    return result.validated_parameters, None
