#!/usr/bin/python
# Copyright (c) mxhero-unroute developers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
module: google_info
short_description: Report mxHero leftovers in a Google Workspace domain's Gmail settings
version_added: 0.2.0
description:
  - Reads what M(mxhero.unroute.google_gateway) would read and returns its findings and manual actions,
    changing nothing. Actions read as in check mode (C(would_change), C(would_remove), C(manual)).
  - With O(api=policy) also returns every Gmail policy read; with O(api=admin_settings) the outbound gateway.
  - The outbound gateway is not exposed by the Cloud Identity Policy API; see M(mxhero.unroute.google_gateway).
    With O(audit_log=true) its manual action carries what the admin audit log shows.
  - With O(app_grants=true) also lists the OAuth grants users gave mxHero's apps, as
    M(mxhero.unroute.google_app_grants) would revoke them (C(would_remove)); a refused read is a caution.
author:
  - mxhero-unroute developers (@mxhero-unroute)
extends_documentation_fragment:
  - mxhero.unroute.google
  - mxhero.unroute.fingerprint
  - mxhero.unroute.attributes
  - mxhero.unroute.google.ACTIONGROUP
attributes:
  check_mode:
    support: full
    details:
      - This module never changes anything.
  diff_mode:
    support: none
  idempotent:
    support: full
options:
  audit_log:
    description:
      - Read the admin audit log (Reports API) for evidence about the outbound gateway, as
        M(mxhero.unroute.google_gateway) does.
    type: bool
    default: true
  app_grants:
    description:
      - Also list mxHero's OAuth grants (Directory API C(users.list) and C(tokens.list), scopes
        V(https://www.googleapis.com/auth/admin.directory.user.readonly) and
        V(https://www.googleapis.com/auth/admin.directory.user.security)). Off by default because it costs one
        call per user.
    type: bool
    default: false
  client_ids:
    description:
      - With O(app_grants=true), client IDs to look for besides mxHero's GWFIX client.
    type: list
    elements: str
    default: []
  max_users:
    description:
      - With O(app_grants=true), the most users to go through; with more, the grants are not read (a caution says so).
    type: int
    default: 5000
  app_access_steps:
    description:
      - With O(app_grants=true), when to return the manual action for API controls and domain-wide delegation
        (see M(mxhero.unroute.google_app_grants)).
    type: str
    default: when_found
    choices: [when_found, always, never]
"""

EXAMPLES = r"""
- name: What is left of mxHero in Gmail?
  mxhero.unroute.google_info:
    domain: example.com
    credentials_file: /etc/unroute/google-sa.json
    subject: admin@example.com
  register: gmail

- name: Print the manual actions
  ansible.builtin.debug:
    var: gmail.manual_actions
"""

RETURN = r"""
cautions:
  description:
    - What a mail administrator must hear about besides the manual actions (for example that the legacy
      backend checks only the gateway). Shown as Ansible warnings too, with one warning per manual action.
  returned: always
  type: list
  elements: str
findings:
  description: As M(mxhero.unroute.google_gateway) returns them in check mode.
  returned: always
  type: list
  elements: dict
manual_actions:
  description: What a person must do (object, where, steps, why).
  returned: always
  type: list
  elements: dict
removed:
  description: Always empty.
  returned: always
  type: list
  elements: dict
added:
  description: Always empty.
  returned: always
  type: list
  elements: dict
api:
  description: The backend used.
  returned: always
  type: str
gateway_readable:
  description: Whether the backend could read the outbound gateway.
  returned: always
  type: bool
outbound_gateway:
  description: The gateway as read by the Admin Settings API.
  returned: when O(api=admin_settings)
  type: dict
policies:
  description: Every Gmail policy read (Policy API resources as Google returns them).
  returned: always
  type: list
  elements: dict
policies_read:
  description: How many Gmail policies were read.
  returned: when O(api=policy)
  type: int
gateway_evidence:
  description: What the admin audit log shows about the outbound gateway (see M(mxhero.unroute.google_gateway)).
  returned: when O(api=policy) and O(audit_log=true)
  type: dict
oauth_grants:
  description: The mxHero grants found (as M(mxhero.unroute.google_app_grants) returns them in RV(removed)).
  returned: when O(app_grants=true) and the grants could be read
  type: list
  elements: dict
users_read:
  description: How many users were listed for O(app_grants).
  returned: when O(app_grants=true) and the grants could be read
  type: int
"""

from ansible_collections.mxhero.unroute.plugins.module_utils import _runner
from ansible_collections.mxhero.unroute.plugins.module_utils._google import module as google_module

OPERATION = _runner.Operation(google_module.info)


def execute(params, ctx):
    return google_module.run(OPERATION, params, ctx)


ARGSPEC = google_module.ARGSPEC.extend(dict(google_module.AUDIT_OPTIONS, app_grants=dict(type="bool", default=False),
                                            **google_module.GRANT_OPTIONS))


def main():
    _runner.main(ARGSPEC, execute, name="mxhero.unroute.google_info")


if __name__ == "__main__":
    main()
