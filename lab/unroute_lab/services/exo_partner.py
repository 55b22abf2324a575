"""Partner side of the Exchange Online emulator: one multi-tenant app for many customer tenants, and Partner
Center's application-consents API that pushes its consent into customer tenants under GDAP.

Estate (a domain's ``microsoft365`` section)::

    partner:
      consent: false        # the partner app has no service principal in this tenant yet (default true)
      manage_as_app: true   # the consent covers Exchange.ManageAsApp (default true)
      gdap: true            # a GDAP relationship lets Partner Center push consent here (default true)
    app: {exchange_role: false}   # as for any tenant: no Exchange role for the app

References (public): Entra ID's client-credentials errors AADSTS7000229 ("The client application {app} is
missing service principal in the tenant {tenant}") and AADSTS700016; Partner Center REST, Control Panel
Vendor APIs: ``POST /v1/customers/{customer-tenant-id}/applicationconsents`` with ``applicationId``,
``applicationGrants`` [{``enterpriseApplicationId``, ``scope`` (comma-separated)}] and ``displayName``
(201 Created, 409 when the consent exists), ``DELETE .../applicationconsents/{application-id}`` (204); the
caller's token is for the audience ``https://api.partnercenter.microsoft.com``.
"""

from __future__ import annotations

import json
import time
import uuid

from .exo_auth import EXCHANGE_APP_ID, EXCHANGE_ROLE, AppRegistration, AuthError

PARTNER_CENTER = "https://api.partnercenter.microsoft.com"
HOME_DOMAIN = "partner-msp.test"


def _pc_error(status, code, name, text):
    """A Partner Center error body (code, description, errorName, isRetryable, data, source)."""
    return status, {"code": code, "description": text, "errorName": name, "isRetryable": False, "data": [],
                    "source": "PartnerFD"}


class PartnerLab:
    """The partner's app and home tenant, and which customer tenants consented to the app."""

    def __init__(self, directory):
        self.dir = directory
        self.app = None
        self.home_tenant = str(uuid.uuid5(uuid.NAMESPACE_DNS, "tenant." + HOME_DOMAIN))
        self.customers = {}    # tenant GUID -> {"domain", "consent", "manage_as_app", "gdap", "consents": {...}}

    @property
    def enabled(self):
        return self.app is not None

    def load(self, tenant_id, domain, section):
        spec = section.get("partner")
        if spec is None:
            return False
        spec = spec if isinstance(spec, dict) else {}
        if self.app is None:
            client_id = str(uuid.uuid5(uuid.NAMESPACE_DNS, "app." + HOME_DOMAIN))
            self.app = AppRegistration(self.dir, HOME_DOMAIN, client_id, display_name="mxhero-unroute partner")
        consented = bool(spec.get("consent", True))
        self.customers[tenant_id] = {
            "domain": domain, "gdap": bool(spec.get("gdap", True)),
            # What the tenant's Global Administrator (or an earlier Partner Center call) consented to.
            "consents": ({self.app.client_id: {"displayName": "mxhero-unroute",
                                               "scopes": [EXCHANGE_ROLE] if spec.get("manage_as_app", True) else []}}
                         if consented else {}),
        }
        return True

    def manifest(self):
        if not self.enabled:
            return None
        return dict(self.app.manifest(), home_tenant_id=self.home_tenant, home_domain=HOME_DOMAIN,
                    partner_center_resource=PARTNER_CENTER,
                    customers={c["domain"]: tid for tid, c in self.customers.items()})

    def state(self):
        return {c["domain"]: {"tenant_id": tid, "gdap": c["gdap"],
                              "consents": {k: dict(v) for k, v in c["consents"].items()}}
                for tid, c in self.customers.items()}

    def resources(self, tid):
        """Extra token audiences a tenant serves: Partner Center, for the partner's home tenant."""
        return (PARTNER_CENTER,) if self.enabled and tid == self.home_tenant else ()

    # -- Entra ID --------------------------------------------------------------
    def app_for(self, tid, client_id, tenant_name):
        """(app, roles) when ``client_id`` is the partner app; None for any other app; AuthError when the
        partner app has no service principal in ``tid``."""
        if not self.enabled or client_id != self.app.client_id:
            return None
        if tid == self.home_tenant:
            return self.app, []
        customer = self.customers.get(tid)
        consent = (customer or {}).get("consents", {}).get(client_id)
        if consent is None:
            raise AuthError(401, "invalid_client", 7000229,
                            "The client application %s is missing service principal in the tenant %s. See "
                            "instructions here: https://go.microsoft.com/fwlink/?linkid=2225119"
                            % (client_id, tid))
        # Entra puts only the application permissions an admin consented to in the roles claim.
        return self.app, [EXCHANGE_ROLE] if EXCHANGE_ROLE in consent["scopes"] else []

    # -- Partner Center ----------------------------------------------------------
    def handle(self, method, parts, headers, raw, signer):
        """(status, body) for ``/v1/customers/{tid}/applicationconsents[/{appId}]``."""
        if not self.enabled:
            return _pc_error(404, 600001, "NotFound", "Partner Center is not emulated in this lab.")
        auth = headers.get("Authorization") or ""
        try:
            claims = signer.check(auth[len("Bearer "):].strip()) if auth.startswith("Bearer ") else None
        except ValueError:
            claims = None
        if not claims or claims.get("aud") != PARTNER_CENTER or claims.get("tid") != self.home_tenant:
            return _pc_error(401, 900401, "Unauthorized", "The access token is missing, expired or not for "
                                                          "audience %s of the partner tenant." % PARTNER_CENTER)
        if len(parts) not in (4, 5) or parts[3] != "applicationconsents":
            return _pc_error(404, 600001, "NotFound", "No such resource.")
        customer = self.customers.get(parts[2].lower())
        if customer is None:
            return _pc_error(404, 600026, "CustomerNotFound", "Customer %s was not found for this partner."
                             % parts[2])
        if not customer["gdap"]:
            return _pc_error(403, 600050, "Forbidden", "The partner has no active GDAP relationship with customer "
                             "%s that allows application consent." % parts[2])
        app_id = parts[4] if len(parts) == 5 else None
        if method == "GET":
            items = [self._consent(parts[2], k, v) for k, v in sorted(customer["consents"].items())
                     if app_id in (None, k)]
            if app_id:
                return (200, items[0]) if items else _pc_error(404, 600001, "NotFound", "No consent for "
                                                                                         "application %s." % app_id)
            return 200, {"totalCount": len(items), "items": items, "attributes": {"objectType": "Collection"}}
        if method == "DELETE" and app_id:
            if customer["consents"].pop(app_id, None) is None:
                return _pc_error(404, 600001, "NotFound", "No consent for application %s." % app_id)
            return 204, None
        if method == "POST" and app_id is None:
            return self._create(parts[2], customer, raw)
        return _pc_error(405, 600002, "MethodNotAllowed", "%s is not allowed here." % method)

    def _consent(self, tid, app_id, consent):
        return {"applicationId": app_id, "displayName": consent["displayName"], "customerId": tid,
                "applicationGrants": [{"enterpriseApplicationId": EXCHANGE_APP_ID,
                                       "scope": ",".join(consent["scopes"])}]}

    def _create(self, tid, customer, raw):
        try:
            body = json.loads(raw or b"{}")
            app_id = str(body["applicationId"])
            grants = list(body["applicationGrants"])
            display = str(body.get("displayName") or "")
        except (ValueError, KeyError, TypeError):
            return _pc_error(400, 600003, "BadRequest", "The body must hold applicationId, applicationGrants and "
                                                        "displayName.")
        if app_id != self.app.client_id:
            return _pc_error(400, 600004, "BadRequest", "Application %s is not an application of this partner."
                             % app_id)
        if app_id in customer["consents"]:
            return _pc_error(409, 600005, "Conflict", "Permission entry already exists.")
        scopes = []
        for grant in grants:
            if not isinstance(grant, dict) or not grant.get("enterpriseApplicationId") or not grant.get("scope"):
                return _pc_error(400, 600003, "BadRequest", "Each application grant needs enterpriseApplicationId "
                                                            "and scope.")
            if str(grant["enterpriseApplicationId"]).lower() == EXCHANGE_APP_ID:
                scopes.extend(s.strip() for s in str(grant["scope"]).split(",") if s.strip())
        customer["consents"][app_id] = {"displayName": display, "scopes": scopes, "created": time.time()}
        return 201, self._consent(tid, app_id, customer["consents"][app_id])
