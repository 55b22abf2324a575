#!/usr/bin/python
# Copyright (c) mxhero-unroute developers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
module: google_send_as
short_description: Find Gmail send-as addresses that relay mail through mxHero
version_added: 0.2.0
description:
  - Lists every user of the customer (Directory API C(users.list), all pages) and, acting as each user through
    domain-wide delegation, reads their "send mail as" addresses (Gmail API C(users.settings.sendAs.list)).
  - An address whose SMTP relay (C(smtpMsa.host)) is an mxHero host or one of the fingerprint's addresses is
    returned as a C(send_as_relay) finding with action C(manual), naming the user and the address, and a manual
    action with the steps. Nothing is ever changed - pointing the address at another server needs that
    server's credentials, which only the user has.
  - Suspended users and users without Gmail are skipped, and a caution lists them.
  - O(max_users) stops a run on a larger tenant before it reads any mailbox.
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
      - This module never changes anything; check mode returns the same.
  diff_mode:
    support: none
  idempotent:
    support: full
options:
  max_users:
    description:
      - The most users a run goes through (each costs a token request and a C(sendAs.list) call). When the
        customer has more, the task fails before reading any mailbox and says so.
    type: int
    default: 5000
notes:
  - Needs a service-account key (O(credentials_file) or O(credentials_data) with O(subject)) with domain-wide
    delegation of V(https://www.googleapis.com/auth/admin.directory.user.readonly) (C(users.list)) and
    V(https://www.googleapis.com/auth/gmail.settings.basic) (C(sendAs.list), acting as each user; the narrowest
    scope that reads send-as addresses without opening mail). An access token or authorized-user file acts for
    one mailbox only and fails with a line saying so.
"""

EXAMPLES = r"""
- name: Which users still send some of their mail through mxHero?
  mxhero.unroute.google_send_as:
    domain: example.com
    credentials_file: /etc/unroute/google-sa.json
    subject: admin@example.com
  register: send_as

- name: Tell them
  ansible.builtin.debug:
    var: send_as.manual_actions
"""

RETURN = r"""
cautions:
  description: What a mail administrator must hear about besides the manual actions (users not checked).
  returned: always
  type: list
  elements: str
changed:
  description: Always false.
  returned: always
  type: bool
findings:
  description:
    - One C(send_as_relay) finding (action C(manual)) per send-as address relaying through mxHero; C(before)
      holds the user, the address, its C(smtpMsa) (host, port, securityMode) and C(verificationStatus).
  returned: always
  type: list
  elements: dict
  sample:
    - platform: google
      kind: send_as_relay
      object: send-as address sales@branch.example of it@example.com (SMTP relay smtp.mxhero.com:587)
      evidence: [host smtp.mxhero.com]
      action: manual
manual_actions:
  description: What a person must do (object, where, steps, why), one per address.
  returned: always
  type: list
  elements: dict
send_as:
  description: The send-as addresses relaying through mxHero (user, sendAsEmail, smtpMsa, verificationStatus).
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
users_read:
  description: How many users were listed (all pages).
  returned: always
  type: int
users_skipped:
  description: How many users had no mailbox to read (suspended or no Gmail).
  returned: always
  type: int
msg:
  description: Why the task failed.
  returned: on failure
  type: str
"""

from ansible_collections.mxhero.unroute.plugins.module_utils import _runner
from ansible_collections.mxhero.unroute.plugins.module_utils._google import module as google_module

OPERATION = _runner.Operation(google_module.send_as_relays)


def execute(params, ctx):
    return google_module.run(OPERATION, params, ctx)


ARGSPEC = google_module.ARGSPEC.extend(dict(max_users=google_module.GRANT_OPTIONS["max_users"]))


def main():
    _runner.main(ARGSPEC, execute, name="mxhero.unroute.google_send_as")


if __name__ == "__main__":
    main()
