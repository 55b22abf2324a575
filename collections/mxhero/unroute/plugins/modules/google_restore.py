#!/usr/bin/python
# Copyright (c) mxhero-unroute developers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
module: google_restore
short_description: Put back the Gmail list entries a run removed through the Cloud Identity Policy API
version_added: 0.3.0
description:
  - Takes one domain's C(removed) list from a run record and, for every Gmail policy M(mxhero.unroute.google_gateway)
    changed through the Cloud Identity Policy API (entries of kind C(gmail_policy_entries)), patches the policy back
    to its value before the run through the same API.
  - The record is checked whole before anything is read (docs/report.md, "What a restore accepts"). Planning the
    recorded policy again with the fingerprint must give exactly the recorded entries - mxHero's own hosts or
    addresses, in a list a run may change (never a block list or a SYSTEM policy), of a type in
    O(mutable_setting_types) - or the record is refused in one line and nothing is written.
  - A policy is patched only while it holds exactly what the run left (its recorded value without those
    entries); one already back is left alone, so a second restore changes nothing. The patch is read back.
  - A setting Google answers it cannot change comes back as a C(manual) finding with the Admin console step. What no
    API changes (the outbound gateway, a revoked OAuth grant) stays with M(mxhero.unroute.restore_steps).
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
      - Returns the same findings and diff as a real run; actions read C(would_add).
  diff_mode:
    support: full
  idempotent:
    support: full
options:
  removed:
    description: The domain's C(removed) list from the run record; entries of other kinds are left to other modules.
    type: list
    elements: dict
    default: []
  findings:
    description: The domain's findings from the run record; only used to name each policy as the run did.
    type: list
    elements: dict
    default: []
"""

EXAMPLES = r"""
- name: Put back the Gmail allow-list entries the run removed
  mxhero.unroute.google_restore:
    domain: example.com
    credentials_file: /etc/unroute/google-sa.json
    subject: admin@example.com
    mutable_setting_types: [gmail.email_spam_filter_ip_allowlist]
    removed: "{{ entry.removed }}"
    findings: "{{ entry.findings }}"
"""

RETURN = r"""
changed:
  description: Whether a policy was (or, in check mode, would be) patched back.
  returned: always
  type: bool
findings:
  description: One per policy put back (C(added)/C(would_add)) or left to a person (C(manual)).
  returned: always
  type: list
  elements: dict
diff:
  description: Every patched policy's setting before and after, by policy name.
  returned: when diff mode is on
  type: dict
"""

from ansible_collections.mxhero.unroute.plugins.module_utils import _runner
from ansible_collections.mxhero.unroute.plugins.module_utils._errors import UnrouteError
from ansible_collections.mxhero.unroute.plugins.module_utils._fingerprint import fingerprint_from_params
from ansible_collections.mxhero.unroute.plugins.module_utils._google import module as google_module
from ansible_collections.mxhero.unroute.plugins.module_utils._google.engine import scopes_for
from ansible_collections.mxhero.unroute.plugins.module_utils._google import settings
from ansible_collections.mxhero.unroute.plugins.module_utils._google.restore import check, restore


def restore_removed(google, params, ctx):
    domain = params["domain"]
    try:
        fp = fingerprint_from_params(params)
    except ValueError as err:
        raise UnrouteError(domain, None, str(err), "fix the fingerprint options")
    mutable = params.get("mutable_setting_types") or []
    # Refused before any credential is used: a forged record costs no API call.
    if not check(domain, params["removed"], fp, set(settings.bare(t) for t in mutable)):
        return dict(changed=False, findings=[], before={}, after={})
    if params.get("api") != "policy":
        raise UnrouteError(domain, "option api", "the run changed these policies through the Policy API",
                           "restore them with api: policy")
    client = google.client(scopes_for("policy", not ctx.check_mode))
    return restore(client, domain, params["removed"], fp, mutable, check_mode=ctx.check_mode, done=ctx.done,
                   warn=ctx.warn, findings=params["findings"])


OPERATION = _runner.Operation(restore_removed)


def execute(params, ctx):
    return google_module.run(OPERATION, params, ctx)


ARGSPEC = google_module.ARGSPEC.extend(dict(
    removed=dict(type="list", elements="dict", default=[]),
    findings=dict(type="list", elements="dict", default=[]),
))


def main():
    _runner.main(ARGSPEC, execute, name="mxhero.unroute.google_restore")


if __name__ == "__main__":
    main()
