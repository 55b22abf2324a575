# Copyright (c) mxhero-unroute developers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Pushing a multi-tenant app's consent into a customer tenant through Partner Center (GDAP partners).

Partner Center REST (Control Panel Vendor APIs): ``POST /v1/customers/{customer-tenant-id}/applicationconsents``
with ``applicationId``, ``applicationGrants`` [{``enterpriseApplicationId``, ``scope``}] and ``displayName``;
``GET`` lists them, ``DELETE .../applicationconsents/{application-id}`` removes one. The caller's token is for
the audience ``https://api.partnercenter.microsoft.com``. Knows nothing of Ansible.
"""

from __future__ import annotations

import functools

from ansible_collections.mxhero.unroute.plugins.module_utils._errors import UnrouteError
from ansible_collections.mxhero.unroute.plugins.module_utils._exo import client as exo_client
from ansible_collections.mxhero.unroute.plugins.module_utils._exo import partner

DEFAULT_PARTNER_CENTER = "https://api.partnercenter.microsoft.com"


def _pc_text(resp):
    try:
        body = resp.json()
    except ValueError:
        body = None
    if isinstance(body, dict) and (body.get("description") or body.get("message")):
        return "%s%s" % (body.get("description") or body.get("message"),
                         " (%s)" % body["errorName"] if body.get("errorName") else "")
    return (resp.text or "").strip().splitlines()[0][:300] if resp.text else "(empty reply)"


class ConsentRun(object):
    """One customer tenant: read its readiness, push the consent when it lacks it, read again."""

    def __init__(self, params, client, check_mode, warn):
        self.params = params
        self.client = client
        self.check_mode = check_mode
        self.warn = warn
        self.label = params.get("domain") or client.tenant_id
        self.endpoint = str(params["partner_center_endpoint"]).rstrip("/")
        self.secrets = []

    def _fail(self, cause, fix):
        return UnrouteError(self.label, "tenant %s, app %s" % (self.client.tenant_id, self.client.client_id),
                            cause, fix)

    def _refused(self, what, resp):
        url = partner.admin_consent_url(self.client.tenant_id, self.client.client_id, self.client.authority_host)
        return self._fail("Partner Center refused to %s (HTTP %d): %s" % (what, resp.status_code, _pc_text(resp)),
                          "without a GDAP relationship that allows it, a Global Administrator of the tenant "
                          "consents at %s" % url)

    def _partner_token(self):
        token = self.params.get("partner_access_token")
        if token:
            return token
        if not self.params.get("partner_tenant_id"):
            raise self._fail("neither partner_access_token nor partner_tenant_id was given",
                             "set partner_tenant_id (the partner's own tenant) or partner_access_token")
        home = exo_client.ExoClient(
            self.params["partner_tenant_id"], self.client.client_id,
            certificate_path=self.params.get("certificate_path"),
            certificate_password=self.params.get("certificate_password"),
            client_secret=self.params.get("client_secret"), authority_host=self.params["authority_host"],
            api_endpoint=self.params["partner_center_resource"], ca_path=self.params.get("ca_path"),
            validate_certs=self.params["validate_certs"], timeout=self.params["timeout"])
        try:
            token = home._access_token()  # pylint: disable=protected-access
        except exo_client.ExoAuthError as err:
            raise self._fail("no Partner Center token from the partner tenant %s: %s"
                             % (self.params["partner_tenant_id"], err),
                             "check partner_tenant_id and the app's credential, or give partner_access_token")
        self.secrets.extend(home.secret_values())
        return token

    def _request(self, method, path, body=None):
        token = self._partner_token()
        url = "%s/v1/customers/%s/applicationconsents%s" % (self.endpoint, self.client.tenant_id, path)
        # pylint: disable=protected-access  # the session already carries verify and timeout
        send = functools.partial(self.client._session.request, method, url, json=body,
                                 headers={"Authorization": "Bearer %s" % token, "Accept": "application/json"})
        try:
            return send()
        except exo_client.requests.RequestException as err:
            raise self._fail("cannot reach Partner Center at %s: %s" % (self.endpoint, str(err).splitlines()[0]),
                             "check partner_center_endpoint, the network path and ca_path")

    def run(self):
        before = partner.tenant_status(self.client, self.label, check_role=False)
        result = {"tenant_id": self.client.tenant_id, "status_before": before["status"], "changed": False,
                  "consent": None}
        if before["status"] not in ("no_consent",):
            if before["status"] == "no_permission":
                raise self._fail(before["cause"], "the app's consent in this tenant lacks %s: remove it (Partner "
                                 "Center DELETE .../applicationconsents/%s, or Entra admin center > Enterprise "
                                 "applications) and run consent.yml again, or %s"
                                 % (partner.MANAGE_AS_APP, self.client.client_id,
                                    partner.consent_fix(self.client.tenant_id, self.client.client_id,
                                                        self.client.authority_host)))
            if before["status"] not in ("ready",):
                raise self._fail(before["cause"], before["fix"])
            result["status"] = self._role_status()
            return result
        body = {"applicationId": self.client.client_id, "displayName": self.params["display_name"],
                "applicationGrants": [{"enterpriseApplicationId": partner.EXCHANGE_APP_ID,
                                       "scope": ",".join(self.params["scopes"])}]}
        # A read, so check mode too learns which tenants Partner Center will not consent for.
        listing = self._request("GET", "")
        if listing.status_code != 200:
            raise self._refused("read the tenant's application consents", listing)
        result.update(changed=True, consent=body)
        if self.check_mode:
            result["status"] = "would_consent"
            return result
        resp = self._request("POST", "", body)
        if resp.status_code not in (200, 201):
            raise self._refused("consent", resp)
        try:
            result["consent"] = resp.json()
        except ValueError:
            pass
        # The service principal the consent created is new: forget any token taken before it.
        partner.forget_token(self.client._cache_key())  # pylint: disable=protected-access
        self.client._token = None  # pylint: disable=protected-access
        result["status"] = self._role_status()
        return result

    def _role_status(self):
        after = partner.tenant_status(self.client, self.label, check_role=True)
        if not after["ready"]:
            # Consent is done; what is left (an Exchange role) is the customer's or the GDAP roles' business.
            self.warn(partner.status_line(after))
        return after["status"]
