# Copyright (c) mxhero-unroute developers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Google Workspace: a token for each scope the run will ask for, each asked for alone, so that a missing
scope under domain-wide delegation is named by itself (``unauthorized_client`` from Google's token endpoint)."""

from __future__ import annotations

from ansible_collections.mxhero.unroute.plugins.module_utils._errors import UnrouteError
from ansible_collections.mxhero.unroute.plugins.module_utils._google import client as client_mod
from ansible_collections.mxhero.unroute.plugins.module_utils._google import engine
from ansible_collections.mxhero.unroute.plugins.module_utils._google import module as google_module
from ansible_collections.mxhero.unroute.plugins.module_utils._preflight.common import check, classify, failed, options

P = "google"


def scopes(params, features):
    """The scopes of the modules the role runs for the domain, in the order they ask for them."""
    out = list(engine.scopes_for(params.get("api") or "policy", True))
    out.append(client_mod.SCOPE_ORGUNIT_RO)
    if features.get("audit_log", True):
        out.append(client_mod.SCOPE_AUDIT_RO)
    if features.get("app_grants", True):
        out.extend([client_mod.SCOPE_USER_RO, client_mod.SCOPE_USER_SECURITY])
    if features.get("send_as", False):
        out.extend([client_mod.SCOPE_USER_RO, client_mod.SCOPE_GMAIL_SETTINGS])
    seen = []
    for scope in out:
        if scope not in seen:
            seen.append(scope)
    return seen


def probe(domain, given, ctx, features):
    params, bad = options(domain, P, google_module.ARGSPEC, given, ctx)
    if bad:
        return [bad]
    if client_mod.IMPORT_ERROR is not None:
        return [check(P, "libraries", "Python libraries", False, True, "google-api-python-client, google-auth and "
                      "google-auth-httplib2 are not importable (%s)" % client_mod.IMPORT_ERROR,
                      "install them on the controller", "unproven")]
    wanted = scopes(params, features)
    obj = "subject %s" % (params.get("subject") or "(the credentials' own user)")
    try:
        client = engine.make_client(params, wanted)
    except UnrouteError as err:
        return [failed(P, obj, "credentials", err, "needs_credentials")]
    try:
        return _prove(domain, client, wanted, obj)
    finally:
        # Keys read and tokens issued while proving the scopes (the platform contract: only through ctx.secret).
        for value in client.secret_values():
            ctx.secret(value)


def _prove(domain, client, wanted, obj):
    client_id = client.delegation_client_id
    out = []
    for scope in wanted:
        try:
            proven = client.prove_scope(scope)
        except client_mod.NotPermitted as err:
            if client_id:
                fix = ("a super admin of %s must add client ID %s with these scopes (comma-separated, as the Admin "
                       "console takes them): %s in %s" % (domain, client_id, ",".join(wanted), client_mod.DWD_PATH))
                status = "needs_delegation"
            else:
                fix = "sign in again as a super admin of %s consenting to: %s" % (domain, " ".join(wanted))
                status = "needs_consent"
            out.append(check(P, obj, "scope %s" % scope, False, True, str(err).split(";", 1)[0], fix, status))
            continue
        except UnrouteError as err:
            out.append(failed(P, obj, "scope %s" % scope, err, classify(err.cause, "needs_credentials")))
            # The same credentials fail the same way for every scope: one line is enough.
            break
        if proven:
            out.append(check(P, obj, "scope %s" % scope, True, True, "Google issued a token for this scope"))
        else:
            out.append(check(P, obj, "scope %s" % scope, True, False, "not proven: an access token's scopes were "
                             "fixed when it was issued and cannot be asked for one by one",
                             "use a service-account key with domain-wide delegation to have each scope proven"))
    return out
