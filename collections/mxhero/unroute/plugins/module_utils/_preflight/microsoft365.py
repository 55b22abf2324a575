# Copyright (c) mxhero-unroute developers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Microsoft 365: a token for the app (the exo client's own acquisition, partner mode included), the
Exchange.ManageAsApp application permission in its ``roles`` claim, and a read-only cmdlet that answers."""

from __future__ import annotations

from ansible_collections.mxhero.unroute.plugins.module_utils._errors import UnrouteError
from ansible_collections.mxhero.unroute.plugins.module_utils._exo import client as exo_client
from ansible_collections.mxhero.unroute.plugins.module_utils._exo import module as exo_module
from ansible_collections.mxhero.unroute.plugins.module_utils._exo.auth_advice import aadsts_code, auth_fix
from ansible_collections.mxhero.unroute.plugins.module_utils._preflight.common import check, classify, failed, options

P = "microsoft365"
ROLE = "Exchange.ManageAsApp"
# The first cmdlet the run calls (exo_transport_rule reads the outbound connectors first); read-only.
CMDLET = "Get-OutboundConnector"
# Entra's codes for a permission nobody consented to in this tenant.
_CONSENT_CODES = (65001, 650051, 650052, 650057, 7000229)


def probe(domain, given, ctx):
    params, bad = options(domain, P, exo_module.ARGSPEC, given, ctx)
    if bad:
        return [bad]
    obj = "tenant %s, app %s" % (params.get("tenant_id"), params.get("client_id"))
    try:
        client = exo_module.build_engine(params, True, warn=ctx.warn).client
    except UnrouteError as err:
        return [failed(P, obj, "app credentials", err, "needs_credentials")]
    try:
        return _checks(client, obj)
    finally:
        for value in client.secret_values():
            ctx.secret(value)


def _checks(client, obj):
    out = []
    try:
        claims = client.token_claims()
    except exo_client.ExoError as err:
        code = aadsts_code(err)
        status = "needs_consent" if code in _CONSENT_CODES else classify(err, "needs_credentials")
        if status == "needs_role":
            status = "needs_credentials"
        return [check(P, obj, "token", False, True, str(err), auth_fix(err, client), status)]
    out.append(check(P, obj, "token", True, True, "the token endpoint issued a token for Exchange Online"))
    roles = claims.get("roles") if claims else None
    if roles is None:
        out.append(check(P, obj, ROLE, True, False, "not proven: the token's claims cannot be read (not a JWT)",
                         "nothing to do; the cmdlet check below tries it"))
    elif ROLE in roles:
        out.append(check(P, obj, ROLE, True, True, "the token's roles claim holds %s" % ROLE))
    else:
        out.append(check(P, obj, ROLE, False, True, "the token's roles claim lacks %s (admin consent for the "
                         "application permission is missing)" % ROLE,
                         "grant app %s the application permission %s of Office 365 Exchange Online and grant admin "
                         "consent in tenant %s (Entra admin center > App registrations > %s > API permissions)"
                         % (client.client_id, ROLE, client.tenant_id, client.client_id), "needs_consent"))
        # Exchange answers 403 for the same reason: the cmdlet check would only repeat it.
        return out
    try:
        client.invoke(CMDLET)
    except exo_client.ExoAuthError as err:
        status = "needs_role" if getattr(err, "status", None) == 403 else "needs_credentials"
        out.append(check(P, obj, "Exchange role (%s)" % CMDLET, False, True, str(err),
                         auth_fix(err, client), status))
        return out
    except exo_client.ExoError as err:
        out.append(check(P, obj, "Exchange role (%s)" % CMDLET, False, True, str(err),
                         "check api_endpoint and the network path to it", classify(err)))
        return out
    out.append(check(P, obj, "Exchange role (%s)" % CMDLET, True, True, "Exchange Online answered %s" % CMDLET))
    return out
