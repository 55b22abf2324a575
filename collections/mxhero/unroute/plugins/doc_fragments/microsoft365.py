# Copyright (c) mxhero-unroute developers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations


class ModuleDocFragment(object):
    # App-only connection to one Exchange Online tenant (shared by every exo_* module).
    DOCUMENTATION = r"""
options:
  tenant_id:
    description:
      - Directory (tenant) ID of the Microsoft 365 organisation, a GUID (its initial V(*.onmicrosoft.com) name also works).
      - When left out, the tenant of O(domain) is looked up in Entra ID's public OpenID configuration for the domain
        (partner mode, one multi-tenant app for many customer tenants, see docs/partner.md). A given O(tenant_id)
        always wins. One of O(tenant_id) and O(domain) is required.
    type: str
  client_id:
    description:
      - Application (client) ID of the Entra app registration.
      - The app needs the application permission C(Exchange.ManageAsApp) on C(Office 365 Exchange Online) with admin
        consent, and an Entra role such as C(Exchange Administrator).
    type: str
    required: true
  certificate_path:
    description:
      - Certificate credential of the app, the recommended form. Either a PEM file holding the private key and the
        certificate, or a PFX/PKCS#12 file.
      - The SHA-1 thumbprint sent to Entra ID is computed from the certificate.
      - Mutually exclusive with O(client_secret).
    type: path
  certificate_password:
    description:
      - Password of an encrypted PEM key or of the PFX file in O(certificate_path). Never shown in results or errors.
    type: str
  client_secret:
    description:
      - Client secret of the app, when it has no certificate. Never shown in results or errors.
      - Mutually exclusive with O(certificate_path).
    type: str
  domain:
    description:
      - Domain the task works for; names it in messages (defaults to O(tenant_id)) and, without O(tenant_id), finds
        its tenant.
    type: str
  authority_host:
    description:
      - Entra ID authority, without the tenant. Change it for sovereign clouds (for example
        V(https://login.microsoftonline.us)) or a lab.
    type: str
    default: https://login.microsoftonline.com
  api_endpoint:
    description:
      - Exchange Online endpoint; the token is requested for O(api_endpoint)V(/.default). Change it for sovereign
        clouds (for example V(https://outlook.office365.us)) or a lab.
    type: str
    default: https://outlook.office365.com
  ca_path:
    description:
      - CA bundle (PEM) to verify O(authority_host) and O(api_endpoint) with, instead of the system store.
    type: path
  validate_certs:
    description:
      - Verify TLS certificates. Turn off only for a throw-away test endpoint.
    type: bool
    default: true
  timeout:
    description:
      - Seconds to wait for each HTTP answer.
    type: float
    default: 60
requirements:
  - msal >= 1.30
  - requests
  - cryptography (for O(certificate_path))
notes:
  - Uses the Exchange admin REST endpoint C(/adminapi/beta/{tenant}/InvokeCommand) that the ExchangeOnlineManagement
    v3 PowerShell module calls. Microsoft does not document it as a public contract.
  - Throttling (HTTP 429) and server errors (5xx) are retried with exponential backoff, honouring C(Retry-After).
  - An authentication or authorisation refusal names the tenant and the app, and says what to fix for its cause
    (wrong or expired client secret, expired or unregistered certificate, unknown tenant or app, missing
    C(Exchange.ManageAsApp) consent, missing Exchange role); a tenant that never consented to a multi-tenant app
    gets the admin-consent URL for that tenant and app.
  - Access tokens are fetched once per tenant, app and credential in a controller process and reused by every
    task of that process until shortly before they expire.
"""

    ACTIONGROUP = r"""
options: {}
attributes:
  action_group:
    description: Use C(group/mxhero.unroute.microsoft365) in C(module_defaults) to set defaults for this module.
    support: full
    membership:
      - mxhero.unroute.microsoft365
"""
