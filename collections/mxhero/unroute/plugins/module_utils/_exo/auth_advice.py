# Copyright (c) mxhero-unroute developers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""What to do about an authentication or authorisation refusal, by its cause (Entra AADSTS code or HTTP status).

One generic "check tenant, client and certificate" sends people hunting in three places; the code Entra ID
returns, or the reason Exchange Online gives, says which one it is.
"""

from __future__ import annotations

import re

_AADSTS = re.compile(r"AADSTS(\d+)")
_PORTAL = "Entra admin center > App registrations > %s"


def admin_consent_url(tenant, client_id, authority_host):
    """Where a tenant's Global Administrator consents to a multi-tenant app (Entra ID's admin-consent endpoint)."""
    return "%s/%s/adminconsent?client_id=%s" % (str(authority_host).rstrip("/"), tenant, client_id)


def aadsts_code(text):
    found = _AADSTS.search(str(text or ""))
    return int(found.group(1)) if found else None


def auth_fix(err, client):
    """One sentence of advice for ``err`` (an ExoAuthError) raised by ``client``."""
    text = str(err)
    low = text.lower()
    code = aadsts_code(text)
    app, tenant = client.client_id, client.tenant_id
    portal = _PORTAL % app
    certificate = "certificate" if isinstance(getattr(client, "_credential", None), dict) else "secret"
    if code == 7000215:
        return ("client_secret is not a secret of app %s: pass the secret's Value (not its Secret ID), or add a new "
                "client secret under %s > Certificates & secrets" % (app, portal))
    if code == 7000222:
        return ("the client secret of app %s has expired: add a new client secret under %s > Certificates & "
                "secrets and pass it as client_secret" % (app, portal))
    if code == 700027 and "expired" in low:
        return ("the certificate of app %s has expired: create a new one, upload its public part under %s > "
                "Certificates & secrets and point certificate_path at it" % (app, portal))
    if code in (700027, 700023):
        return ("the certificate in certificate_path is not one registered on app %s: upload its public part (.cer "
                "or .crt) under %s > Certificates & secrets, or point certificate_path at the registered one"
                % (app, portal))
    if code == 700024:
        return "the client assertion's time was refused: set this controller's clock right (NTP) and re-run"
    if code in (90002, 900023, 90023, 900022) or "tenant discovery" in low or "invalid_tenant" in low:
        return ("tenant_id %s is not a tenant at %s: use the Directory (tenant) ID from Entra admin center > "
                "Overview, or its *.onmicrosoft.com name, and the authority_host of that tenant's cloud"
                % (tenant, client.authority_host))
    consent = admin_consent_url(tenant, app, client.authority_host)
    if code == 7000229:
        return ("app %s has no service principal in tenant %s (never consented there): have a Global Administrator "
                "of the tenant consent at %s, or push the consent with playbooks/consent.yml where a GDAP "
                "relationship exists" % (app, tenant, consent))
    if code in (700016, 7000112):
        return ("app %s is not an enabled application in tenant %s: check client_id, and that the app is registered "
                "in this tenant or, if multitenant, consented to by its administrator (%s)" % (app, tenant, consent))
    if code in (500011, 500014):
        return ("tenant %s has no Office 365 Exchange Online for %s: authority_host and api_endpoint must be the same "
                "cloud (for example both .us for GCC High)" % (tenant, client.api_endpoint))
    if code in (65001, 650057):
        return ("app %s lacks admin consent in tenant %s: grant admin consent for the Exchange.ManageAsApp "
                "application permission (%s > API permissions, or %s)" % (app, tenant, portal, consent))
    if "cannot reach" in low:
        return "check authority_host, the network path (proxy, firewall) to it and ca_path, then re-run"
    if "cannot sign" in low or "certificate_path" in low:
        return "check certificate_path and certificate_password"
    if getattr(err, "status", None) == 403 or "http 403" in low:
        if "manageasapp" in low:
            return ("grant app %s the application permission Exchange.ManageAsApp of Office 365 Exchange Online with "
                    "admin consent in tenant %s (%s > API permissions; a customer tenant consents at %s)"
                    % (app, tenant, portal, consent))
        return ("assign app %s's service principal an Entra role such as Exchange Administrator in tenant %s "
                "(Entra admin center > Roles and administrators); the application permission Exchange.ManageAsApp "
                "with admin consent is needed too" % (app, tenant))
    if getattr(err, "status", None) == 401 and "expired" in low:
        return ("Exchange Online still read a freshly issued token as expired: check that authority_host and "
                "api_endpoint belong to the same cloud and that no proxy replays old tokens; re-run later if it "
                "persists")
    if getattr(err, "status", None) == 401:
        return ("Exchange Online at %s refused the token from %s: both must be the same cloud, and tenant_id the "
                "tenant that holds the mailboxes" % (client.api_endpoint, client.authority_host))
    return ("check tenant_id, client_id and the %s given for app %s (%s > Certificates & secrets)"
            % (certificate, app, portal))
