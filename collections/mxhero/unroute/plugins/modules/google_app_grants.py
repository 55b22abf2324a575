#!/usr/bin/python
# Copyright (c) mxhero-unroute developers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
module: google_app_grants
short_description: Revoke the OAuth grants users of a Google Workspace domain gave mxHero's apps
version_added: 0.2.0
description:
  - Lists every user of the customer (Directory API C(users.list), all pages), reads each user's OAuth grants to
    third-party apps (C(tokens.list)) and revokes (C(tokens.delete)) those whose client ID is mxHero's GWFIX app
    (V(966519150562-uhu01pdic1gpe3vvmff0ga91bvhd7ub5.apps.googleusercontent.com)) or one listed in
    O(client_ids). Every other grant stays.
  - This is the seed's last GWFIX step ("you can revoke the access to the application"), for every user at once.
  - Google has no bulk call, so a run costs one C(tokens.list) call per user; O(max_users) stops a run on a
    larger tenant before it reads or changes anything.
  - A revoked grant cannot be recreated by any API - the user signs in to the app and consents again. Each
    RV(removed) record says so (C(restorable=false)).
  - What no API can do - blocking the app in API controls so that nobody grants it again, and deleting
    domain-wide delegation entries for its client ID - is returned in RV(manual_actions) with the Admin console
    path (see O(app_access_steps)).
  - Options O(api), O(mutable_setting_types) and O(gateway_verified) are accepted (the C(mxhero.unroute.google)
    action group sets them) and not used.
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
      - Lists the same grants a real run revokes, with action C(would_remove). It needs the same scopes, because
        Google offers no read-only scope for C(tokens.list).
  diff_mode:
    support: full
  idempotent:
    support: full
options:
  client_ids:
    description:
      - OAuth client IDs whose grants to revoke besides mxHero's GWFIX client, which is always included.
    type: list
    elements: str
    default: []
  max_users:
    description:
      - The most users a run goes through. When the customer has more, the task fails before any change and
        says so; raise it to go on.
    type: int
    default: 5000
  app_access_steps:
    description:
      - When to return the manual action to block the app in API controls and delete its domain-wide
        delegation entries. V(when_found) only when this run found a grant of it (the app was used here);
        V(always); V(never).
    type: str
    default: when_found
    choices: [when_found, always, never]
notes:
  - Scopes, each in a token of its own, V(https://www.googleapis.com/auth/admin.directory.user.readonly)
    (C(users.list)) and V(https://www.googleapis.com/auth/admin.directory.user.security) (C(tokens.list) and
    C(tokens.delete)); add both to the service account's domain-wide delegation. A missing one fails the task with
    one line naming the domain and the scope to grant.
"""

EXAMPLES = r"""
- name: Revoke mxHero's GWFIX grants in a domain
  mxhero.unroute.google_app_grants:
    domain: example.com
    credentials_file: /etc/unroute/google-sa.json
    subject: admin@example.com
  register: grants

- name: Audit only, including another mxHero client ID, on a large tenant
  mxhero.unroute.google_app_grants:
    domain: example.com
    credentials_file: /etc/unroute/google-sa.json
    subject: admin@example.com
    client_ids: [123456789012-abcdef.apps.googleusercontent.com]
    max_users: 50000
  check_mode: true
"""

RETURN = r"""
cautions:
  description: What a mail administrator must hear about besides the manual actions.
  returned: always
  type: list
  elements: str
changed:
  description: Whether a grant was (or, in check mode, would be) revoked.
  returned: always
  type: bool
findings:
  description:
    - One C(oauth_grant) finding per mxHero grant (action C(removed), or C(would_remove) in check mode), with
      the user, client ID, app name and scopes in C(before); and one C(oauth_app) finding (action C(manual)) for
      API controls and domain-wide delegation (see O(app_access_steps)).
  returned: always
  type: list
  elements: dict
  sample:
    - platform: google
      kind: oauth_grant
      object: OAuth grant of it@example.com to mxHero (client ID 966519150562-uhu01pdic1gpe3vvmff0ga91bvhd7ub5.apps.googleusercontent.com)
      evidence: ["client ID 966519150562-uhu01pdic1gpe3vvmff0ga91bvhd7ub5.apps.googleusercontent.com is mxHero's GWFIX app"]
      action: removed
      before: {user: it@example.com, clientId: "966519150562-...", displayText: mxHero, scopes: ["https://apps-apis.google.com/a/feeds/domain/"]}
      after: null
manual_actions:
  description: What a person must still do (object, where, steps, why).
  returned: always
  type: list
  elements: dict
removed:
  description:
    - Every grant revoked - user, user ID, client ID, app name, scopes - with C(restorable=false) and C(restore)
      saying how access comes back (the user consents again).
  returned: always
  type: list
  elements: dict
added:
  description: Always empty.
  returned: always
  type: list
  elements: dict
users_read:
  description: How many users were listed (all pages).
  returned: always
  type: int
client_ids:
  description: The client IDs whose grants are revoked (mxHero's GWFIX client first).
  returned: always
  type: list
  elements: str
diff:
  description: Per affected user, the client IDs of their grants before and after.
  returned: when diff mode is on
  type: dict
msg:
  description: Why the task failed.
  returned: on failure
  type: str
partial:
  description: On failure, the grants already revoked before the error.
  returned: on failure after a change
  type: list
  elements: str
"""

from ansible_collections.mxhero.unroute.plugins.module_utils import _runner
from ansible_collections.mxhero.unroute.plugins.module_utils._google import module as google_module

OPERATION = _runner.Operation(google_module.app_grants)


def execute(params, ctx):
    return google_module.run(OPERATION, params, ctx)


ARGSPEC = google_module.ARGSPEC.extend(google_module.GRANT_OPTIONS)


def main():
    _runner.main(ARGSPEC, execute, name="mxhero.unroute.google_app_grants")


if __name__ == "__main__":
    main()
