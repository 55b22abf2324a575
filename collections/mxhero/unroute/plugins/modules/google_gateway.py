#!/usr/bin/python
# Copyright (c) mxhero-unroute developers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
module: google_gateway
short_description: Take mxHero out of a Google Workspace domain's Gmail settings
version_added: 0.2.0
description:
  - With O(api=policy) (default), lists every Gmail policy of the customer through the Cloud Identity Policy API
    and finds every mxHero host or address in any setting value. Where the policy's setting type is in
    O(mutable_setting_types) and the mxHero entries are plain list entries, it patches the policy to remove
    only those entries (every other entry stays). Everything else is returned in RV(manual_actions) with the
    Admin console path and what to clear; nothing is ever reported as done that was not done.
  - The Gmail outbound gateway (Apps > Google Workspace > Gmail > Routing > Outbound gateway), the seed's
    first case, is B(not exposed by the Policy API today); with O(api=policy) it is always a manual action
    unless O(gateway_verified=true).
  - With O(api=admin_settings), the seed's legacy mechanism (GWFIX), reads the Admin Settings API resource
    C(email/gateway) and, only when its smart host is an mxHero host, sends exactly the seed's change
    (C(smartHost=""), C(smtpMode=SMTP)). Google turned that API off on 2018-10-31.
  - Policies are patched, not deleted - deleting an org unit's policy makes it inherit its parent's value,
    which is a different change than removing the mxHero entries.
  - A block or deny list (for example C(gmail.blocked_sender_lists)) is never changed, even when its type is
    in O(mutable_setting_types); mxHero in it is only reported, because unblocking mxHero is not unrouting it.
  - The smart host counts as mxHero's when it is an mxHero host name or one of the fingerprint's addresses.
  - With O(audit_log=true) (default) the outbound gateway's manual action says what the admin audit log
    (Reports API, C(applicationName=admin), C(EMAIL_SETTINGS) events) shows - set to an mxHero host by whom and
    when, cleared when, or no change recorded in the log's retention window (about six months) - and the
    report ranks domains with an mxHero gateway in the log first. It stays a manual action even when the log
    shows it cleared, because an event is not the setting's current value (see docs/google.md).
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
      - Returns the same findings, manual actions and diff as a real run; actions read C(would_change) and
        C(would_remove). Check mode requests only the read-only Policy API scope.
  diff_mode:
    support: full
  idempotent:
    support: full
options:
  state:
    description:
      - V(absent) removes mxHero from the Gmail settings. It is the only state.
    type: str
    default: absent
    choices: [absent]
  audit_log:
    description:
      - Read the admin audit log (Reports API) for changes to email settings that name mxHero, and put what it
        shows into the outbound gateway's manual action. Needs
        V(https://www.googleapis.com/auth/admin.reports.audit.readonly), asked for in a token of its own; when it
        is not granted the manual action says the log could not be read and a caution says what to grant.
      - The absence of events is never taken to mean the gateway is clean.
    type: bool
    default: true
  on_manual:
    description:
      - What pending manual actions do to the task. V(warn) returns them (and warns); V(fail) fails the task
        after any API changes were made, listing them.
    type: str
    default: warn
    choices: [warn, fail]
"""

EXAMPLES = r"""
- name: Remove mxHero from Gmail (Policy API), with a service account acting for a super admin
  mxhero.unroute.google_gateway:
    domain: example.com
    credentials_file: /etc/unroute/google-sa.json
    subject: admin@example.com
    mutable_setting_types:
      - settings/gmail.email_spam_filter_ip_allowlist
  register: gmail

- name: Show what a person must still do
  ansible.builtin.debug:
    var: gmail.manual_actions

- name: After a person cleared the outbound gateway in the Admin console, fail on anything left
  mxhero.unroute.google_gateway:
    domain: example.com
    credentials_file: /etc/unroute/google-sa.json
    subject: admin@example.com
    gateway_verified: true
    on_manual: fail

- name: The seed's legacy GWFIX path (Admin Settings API, turned off by Google in 2018)
  mxhero.unroute.google_gateway:
    domain: example.com
    api: admin_settings
    credentials_file: /etc/unroute/authorized-user.json
"""

RETURN = r"""
cautions:
  description:
    - What a mail administrator must hear about besides the manual actions (for example that the legacy
      backend checks only the gateway). Shown as Ansible warnings too, with one warning per manual action.
  returned: always
  type: list
  elements: str
changed:
  description: Whether a policy or the gateway was (or, in check mode, would be) changed.
  returned: always
  type: bool
api:
  description: The backend used, V(policy) or V(admin_settings).
  returned: always
  type: str
findings:
  description:
    - One entry per policy holding mxHero (kind C(gmail_policy), action C(changed)/C(would_change),
      C(manual) or C(reported)) and for the outbound gateway (kind C(outbound_gateway), action
      C(manual) with the Policy API; C(removed)/C(would_remove) or C(kept) with the Admin Settings API).
    - A policy may also have C(reported) entries next to its main one, in the same run - for a wider network
      that contains an mxHero address, or for mxHero in a block list.
    - The object names the policy, its setting type and where it applies - an org unit by path with its id in
      brackets (V(org unit /Sales [orgUnits/03ph8a2z1abc])), or by id alone when the Directory API read is
      not permitted (a caution says why).
  returned: always
  type: list
  elements: dict
  sample:
    - platform: google
      kind: outbound_gateway
      object: Gmail outbound gateway of example.com (top-level organisation)
      evidence: ["not readable: the Cloud Identity Policy API publishes no setting type ..."]
      action: manual
      before: null
      after: null
      manual_steps: "Sign in to the Google Admin console as a super admin of example.com; ..."
manual_actions:
  description:
    - What a person must still do, each with the object, the Admin console path (C(where)), the steps
      (C(steps), what to clear) and why the API could not do it.
  returned: always
  type: list
  elements: dict
  sample:
    - object: Gmail outbound gateway of example.com (top-level organisation)
      where: Admin console > Apps > Google Workspace > Gmail > Routing > Outbound gateway
      steps: "Sign in to the Google Admin console ...; clear the field; save."
      why: the Cloud Identity Policy API publishes no setting type for the domain's outbound gateway ...
removed:
  description:
    - What was removed, complete enough to put it back; for a policy the whole policy as read (name, customer,
      policyQuery, setting) and the entries removed; for the gateway its smartHost and smtpMode.
  returned: always
  type: list
  elements: dict
added:
  description: Always empty; nothing is added.
  returned: always
  type: list
  elements: dict
gateway_evidence:
  description:
    - What the admin audit log shows about mxHero in email settings. C(state) is V(set) (an event set an mxHero
      host and none cleared it later), V(cleared) (the latest such event cleared it), V(none) (no event names
      mxHero in the retention window - no evidence either way) or V(unreadable); C(text) is the sentence in the
      manual action; C(events) lists the events (time, actor, event, setting, org_unit, old_value, new_value,
      change); C(rank) orders domains in the report (set first, cleared last).
    - The outbound gateway finding carries the same as C(audit_log).
  returned: when O(api=policy), O(audit_log=true) and the gateway is not O(gateway_verified)
  type: dict
  sample:
    state: set
    rank: 0
    text: >-
      OUTBOUND_GATEWAY (example.com) set to gmail-out.mxhero.com by admin@example.com on 2026-05-02
      (Reports API, CHANGE_EMAIL_SETTING), and no later event clears it: most likely still set
gateway_readable:
  description: Whether the backend could read the outbound gateway (false with the Policy API).
  returned: always
  type: bool
outbound_gateway:
  description: The gateway as read (and as left) by the Admin Settings API.
  returned: when O(api=admin_settings)
  type: dict
  sample: {smartHost: "", smtpMode: SMTP}
policies_read:
  description: How many Gmail policies the Policy API returned (all pages).
  returned: when O(api=policy)
  type: int
diff:
  description:
    - Every policy holding an mxHero reference (name -> type and value), changed, left to a person or only
      reported, or the gateway, before and after.
    - The plan digest covers the same C(before) whether diff mode is on or not.
  returned: when diff mode is on
  type: dict
msg:
  description: With O(on_manual=fail) and manual actions pending, why the task failed (the other keys stay).
  returned: on failure
  type: str
partial:
  description: On failure, what had already been changed before the error.
  returned: on failure after a change
  type: list
  elements: str
"""

from ansible_collections.mxhero.unroute.plugins.module_utils import _runner
from ansible_collections.mxhero.unroute.plugins.module_utils._google import module as google_module

OPERATION = _runner.Operation(google_module.gateway)


def execute(params, ctx):
    return google_module.run(OPERATION, params, ctx)


ARGSPEC = google_module.ARGSPEC.extend(dict(
    google_module.AUDIT_OPTIONS,
    state=dict(type="str", default="absent", choices=["absent"]),
    on_manual=dict(type="str", default="warn", choices=["warn", "fail"]),
))


def main():
    _runner.main(ARGSPEC, execute, name="mxhero.unroute.google_gateway")


if __name__ == "__main__":
    main()
