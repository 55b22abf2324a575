# Copyright (c) mxhero-unroute developers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations


class ModuleDocFragment(object):
    DOCUMENTATION = r"""
options:
  domain:
    description:
      - The Google Workspace domain to work on, for example V(example.com).
      - Names the legacy Admin Settings API resource and every message; the Policy API works per O(customer).
    type: str
    required: true
  api:
    description:
      - V(policy) uses the Cloud Identity Policy API v1. It reads every Gmail policy of O(customer) and changes
        what O(mutable_setting_types) allows. It cannot read the outbound gateway (Google publishes no setting
        type for it), so that gateway is always returned as a manual action unless O(gateway_verified=true).
      - V(admin_settings) is the seed's legacy mechanism (mxHero's GWFIX), the Admin Settings API resource
        C(email/gateway), read and, when the smart host is an mxHero host, set to C(smartHost="") and
        C(smtpMode=SMTP). Google deprecated that API in 2016 and turned it off on 2018-10-31; it is offered
        only for environments that still answer it (and for the lab). It checks only the outbound gateway.
    type: str
    default: policy
    choices: [policy, admin_settings]
  customer:
    description:
      - The Workspace customer whose policies are read (Policy API). V(my_customer) is the caller's own.
    type: str
    default: my_customer
  credentials_file:
    description:
      - Path to a service-account key file (JSON, C(type=service_account)) with domain-wide delegation, used
        with O(subject); or to an authorized-user file (C(type=authorized_user)) of a super admin who consented
        interactively (the seed's "Legacy Free Edition" path).
      - Exactly one of O(credentials_file), O(credentials_data) and O(access_token) is required.
    type: path
  credentials_data:
    description:
      - The content of such a file, for example from a vault.
    type: str
  subject:
    description:
      - The super administrator a service account acts for (domain-wide delegation). Required with a
        service-account key. The Policy API answers only super admins.
      - V({domain}) in it is replaced by O(domain), so one value (V(admin@{domain})) serves every customer of a
        shared service account.
      - A customer that has not authorised the service account's client ID fails with one line giving the client ID
        and the comma-separated scope list to paste into its domain-wide delegation.
    type: str
  access_token:
    description:
      - An OAuth 2.0 access token of a super admin, for a one-off run. It is not refreshed.
    type: str
  api_endpoint:
    description:
      - Base URL of the Cloud Identity API (with a trailing slash); defaults to Google's. For tests and the lab.
    type: str
  admin_settings_endpoint:
    description:
      - Base URL of the legacy Admin Settings API; defaults to V(https://apps-apis.google.com/).
    type: str
  ca_path:
    description:
      - CA bundle to verify the endpoints' and the token endpoint's TLS certificates with (TLS is always verified).
      - Called O(ca_path) as on every other platform; C(ca_file), its name before 0.3.0, still works.
    type: path
    aliases: [ca_file]
    version_added: 0.3.0
  token_uri:
    description:
      - OAuth 2.0 token endpoint for an authorized-user file; defaults to Google's. google-auth ignores the
        file's own C(token_uri) on purpose, so the refresh token goes only where this option says.
      - A service-account key's C(token_uri) is always used as written in the key.
    type: str
  timeout:
    description:
      - Seconds to wait for each HTTP answer.
    type: float
    default: 30
  mutable_setting_types:
    description:
      - Gmail setting types (V(settings/gmail.x) or V(gmail.x)) that Google's page "Policy API supported settings"
        marks "Mutate supported". mxHero entries in other types are returned as manual actions.
      - Empty by default, because the Gmail rows of that column could not be confirmed when this collection
        was written (see docs/google.md). If Google refuses a listed type, the entry becomes a manual action.
    type: list
    elements: str
    default: []
  gateway_verified:
    description:
      - Set to V(true) once a person has checked the outbound gateway in the Admin console; the Policy API
        backend then stops returning it as a manual action.
    type: bool
    default: false
requirements:
  - google-api-python-client >= 2.197
  - google-auth
  - google-auth-httplib2
  - requests
notes:
  - Scopes requested are the narrowest that work; V(https://www.googleapis.com/auth/cloud-identity.policies.readonly)
    for reads and check mode, V(https://www.googleapis.com/auth/cloud-identity.policies) to change policies,
    V(https://apps-apis.google.com/a/feeds/domain/) for O(api=admin_settings).
  - To name organisational units by path in manual steps, the module also asks, in a token of its own, for
    V(https://www.googleapis.com/auth/admin.directory.orgunit.readonly) (Directory API C(orgunits.list)). Add it
    to the domain-wide delegation (or the consent) next to the Policy API scope; without it units are named by
    id and a caution says so, nothing fails.
"""

    ACTIONGROUP = r"""
options: {}
attributes:
  action_group:
    description: Use C(group/mxhero.unroute.google) in C(module_defaults) to set defaults for this module.
    support: full
    membership:
      - mxhero.unroute.google
"""
