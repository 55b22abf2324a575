# Copyright (c) mxhero-unroute developers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""One Google service account for every customer (partner mode): the subject per domain, and what a customer's
super admin pastes into domain-wide delegation.

Google's token endpoint answers ``unauthorized_client`` ("Client is unauthorized to retrieve access tokens using
this method, or client not authorized for any of the scopes requested.") when the subject's domain has not
authorised the service account's client ID for every scope asked; the fix is always the same screen, the
client ID and a comma-separated scope list, so the line gives exactly those.
"""

from __future__ import annotations

# Everything the role's Google steps may ask for, so that one paste covers every later run: the Policy API (read
# and write), organisational-unit names, users and their OAuth grants, the admin audit log, send-as addresses.
ESTATE_SCOPES = (
    "https://www.googleapis.com/auth/cloud-identity.policies",
    "https://www.googleapis.com/auth/cloud-identity.policies.readonly",
    "https://www.googleapis.com/auth/admin.directory.orgunit.readonly",
    "https://www.googleapis.com/auth/admin.directory.user.readonly",
    "https://www.googleapis.com/auth/admin.directory.user.security",
    "https://www.googleapis.com/auth/admin.reports.audit.readonly",
    "https://www.googleapis.com/auth/gmail.settings.basic",
)
# Where the Admin console keeps it today (older help pages say "Security > API controls > Domain-wide delegation").
DWD_SCREEN = "Admin console > Security > Access and data control > API controls > Manage domain wide delegation"


def subject_for(domain, subject):
    """The subject for ``domain``: ``subject`` with ``{domain}`` replaced (an estate-wide pattern such as
    ``admin@{domain}``), or None."""
    if not subject:
        return subject
    return str(subject).replace("{domain}", str(domain).strip().rstrip(".").lower())


def paste_list(scopes=None):
    """The scopes as the delegation screen takes them: comma-separated, no spaces, every needed one once."""
    wanted = list(ESTATE_SCOPES)
    for scope in scopes or ():
        if scope not in wanted:
            wanted.append(scope)
    return ",".join(wanted)


def delegation_fix(domain, client_id, scopes=None):
    """What a customer's super admin does so that the shared service account may act in ``domain``."""
    return ("a super admin of %s must authorise the service account in %s: Add new, Client ID %s, OAuth scopes "
            "(paste as is) %s" % (domain, DWD_SCREEN, client_id, paste_list(scopes)))


def delegation_status(domain, client_id, asked, error_text):
    """(status, cause, fix) for a token refusal, for the preflight: ``no_delegation`` when Google refused the
    client ID for the scopes asked, else None."""
    if str(error_text).startswith("unauthorized_client"):
        return ("no_delegation", "%s has not authorised client ID %s for %s" % (domain, client_id, ", ".join(asked)),
                delegation_fix(domain, client_id, asked))
    return None


def customer_status(domain, credentials_file=None, subject=None, scopes=None, token_uri=None, ca_path=None,
                    timeout=30.0, credentials_data=None):
    """Whether the shared service account may act in ``domain``: one token request for ``scopes`` (every scope
    the estate needs unless told otherwise), nothing else. A dict with ``ready`` and, when not, ``status``
    (``no_delegation``, ``no_subject``, ``credential``), ``cause``, ``fix`` and ``line`` (the one line)."""
    # pylint: disable=import-outside-toplevel  # client imports this module
    from ansible_collections.mxhero.unroute.plugins.module_utils._errors import UnrouteError
    from ansible_collections.mxhero.unroute.plugins.module_utils._google import client as client_mod
    asked = list(scopes or ESTATE_SCOPES)
    out = {"domain": domain, "subject": subject_for(domain, subject), "client_id": None, "ready": False,
           "status": None, "cause": None, "fix": None, "line": None}
    try:
        client = client_mod.GoogleClient(domain, credentials_file=credentials_file, credentials_data=credentials_data,
                                         subject=subject, scopes=asked, ca_file=ca_path, timeout=timeout,
                                         token_uri=token_uri)
        client.credentials()
    except UnrouteError as err:
        cause = str(err.cause)
        if "domain-wide delegation" in cause:
            status = "no_delegation"
        elif "no such user" in cause or "needs a subject" in cause:
            status = "no_subject"
        else:
            status = "credential"
        out.update(status=status, cause=cause, fix=err.fix, line=err.message())
        return out
    out["client_id"] = (client._info or {}).get("client_id")  # pylint: disable=protected-access
    out.update(ready=True, status="ready")
    return out
