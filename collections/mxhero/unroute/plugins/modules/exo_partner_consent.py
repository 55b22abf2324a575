#!/usr/bin/python
# Copyright (c) mxhero-unroute developers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
module: exo_partner_consent
short_description: Push a partner app's consent into a customer's Microsoft 365 tenant through Partner Center
version_added: 0.3.0
description:
  - For managed-service providers with a GDAP relationship, grants the multi-tenant app O(client_id) the
    application permission C(Exchange.ManageAsApp) of Office 365 Exchange Online in the customer tenant of
    O(domain) (or O(tenant_id)), through Partner Center's application-consents API
    (C(POST /v1/customers/{customer-tenant-id}/applicationconsents)).
  - Reads first; a tenant where the app already gets a token with C(Exchange.ManageAsApp) is left alone
    (C(changed=false)). In check mode nothing is sent to Partner Center.
  - A tenant where Partner Center refuses (no GDAP relationship that allows it) fails with one line giving the
    admin-consent URL for that tenant and app. A consent that lacks C(Exchange.ManageAsApp) is not replaced.
  - After the consent, the app still needs an Exchange role in the tenant; when it has none, a warning says which
    role to assign.
author:
  - mxhero-unroute developers (@mxhero-unroute)
extends_documentation_fragment:
  - mxhero.unroute.microsoft365
  - mxhero.unroute.fingerprint
  - mxhero.unroute.attributes
  - mxhero.unroute.microsoft365.ACTIONGROUP
attributes:
  check_mode:
    support: full
  diff_mode:
    support: none
  idempotent:
    support: full
options:
  partner_tenant_id:
    description:
      - The partner's own tenant, where the app is registered. The Partner Center token is requested there with
        the app's credential (O(certificate_path) or O(client_secret)).
      - Not needed with O(partner_access_token).
    type: str
    version_added: 0.3.0
  partner_access_token:
    description:
      - An access token for the audience V(https://api.partnercenter.microsoft.com) obtained elsewhere (Partner
        Center asks App+User tokens of the partner's admin agents for some calls). Never shown in results.
    type: str
    version_added: 0.3.0
  partner_center_endpoint:
    description:
      - Partner Center REST endpoint; change it for a lab.
    type: str
    default: https://api.partnercenter.microsoft.com
    version_added: 0.3.0
  partner_center_resource:
    description:
      - Audience of the Partner Center token.
    type: str
    default: https://api.partnercenter.microsoft.com
    version_added: 0.3.0
  display_name:
    description:
      - Name the consent is given under.
    type: str
    default: mxhero-unroute
    version_added: 0.3.0
  scopes:
    description:
      - Application permissions of Office 365 Exchange Online to grant.
    type: list
    elements: str
    default: [Exchange.ManageAsApp]
    version_added: 0.3.0
"""

EXAMPLES = r"""
- name: Consent the partner app in a customer's tenant (found from the domain)
  mxhero.unroute.exo_partner_consent:
    domain: customer.example
    client_id: 5e6f7a8b-0000-4000-8000-000000000002
    certificate_path: /etc/mxhero-unroute/exo/partner-app.pem
    partner_tenant_id: 0c1d2e3f-0000-4000-8000-000000000009
"""

RETURN = r"""
tenant_id:
  description: The customer tenant.
  returned: always
  type: str
status_before:
  description: The tenant's readiness before, C(ready), C(no_consent), C(no_permission), C(no_role)...
  returned: always
  type: str
status:
  description: The tenant's readiness after (C(would_consent) in check mode when consent would be pushed).
  returned: always
  type: str
consent:
  description: The application consent sent (check mode) or created; null when none was needed.
  returned: always
  type: dict
"""

from ansible_collections.mxhero.unroute.plugins.module_utils import _runner
from ansible_collections.mxhero.unroute.plugins.module_utils._exo import consent as consent_mod
from ansible_collections.mxhero.unroute.plugins.module_utils._exo import module as exo_module

ARGSPEC = exo_module.ARGSPEC.extend(dict(
    partner_tenant_id=dict(type="str"),
    partner_access_token=dict(type="str", no_log=True),
    partner_center_endpoint=dict(type="str", default=consent_mod.DEFAULT_PARTNER_CENTER),
    partner_center_resource=dict(type="str", default=consent_mod.DEFAULT_PARTNER_CENTER),
    display_name=dict(type="str", default="mxhero-unroute"),
    scopes=dict(type="list", elements="str", default=["Exchange.ManageAsApp"]),
))


def _consent(engine, params, ctx):
    run = consent_mod.ConsentRun(params, engine.client, ctx.check_mode, ctx.warn)
    try:
        return run.run()
    finally:
        for value in run.secrets:
            ctx.secret(value)


OPERATION = _runner.Operation(_consent)


def execute(params, ctx):
    return exo_module.run(OPERATION, params, ctx)


def main():
    _runner.main(ARGSPEC, execute, name="mxhero.unroute.exo_partner_consent")


if __name__ == "__main__":
    main()
