#!/usr/bin/python
# Copyright (c) mxhero-unroute developers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
module: restore_steps
short_description: Say exactly how to put back what a run changed where no module restores it
version_added: 0.2.0
description:
  - For one domain of a run record, returns a C(manual) finding with the exact step for every Google Workspace,
    Exchange Server and mail server (Postfix C(postconf -e), map lines) change the run made - C(New-SendConnector)
    or C(Install-TransportAgent) built from the recorded properties, C(Set-SendConnector -Enabled $true), the
    outbound gateway value, and the C(New-*) step for an Exchange Online rule or connector the run removed.
  - In tenants created after 2023 Exchange Online may create an inbound connector disabled until the customer asks
    Microsoft to allow it; the step to re-create one says so and what to ask for.
  - Gmail settings the run changed through the Policy API are put back through it by
    M(mxhero.unroute.google_restore), not here.
  - Every command is built from the recorded properties with each argument quoted for the shell the step names
    (POSIX sh for mail servers, PowerShell single quotes for Exchange); a command string in the record is never
    passed on. The value a step puts back must be one the fingerprint matches; otherwise the record is refused in
    one line.
  - What cannot be put back at all (a revoked OAuth grant, which needs the user's consent again) is C(reported) with why.
  - Changes nothing; C(playbooks/restore.yml) runs it after M(mxhero.unroute.dns_restore) and M(mxhero.unroute.exo_restore).
author:
  - mxhero-unroute developers (@mxhero-unroute)
extends_documentation_fragment:
  - mxhero.unroute.fingerprint
  - mxhero.unroute.attributes
attributes:
  check_mode:
    support: full
  diff_mode:
    support: none
  idempotent:
    support: full
options:
  domain:
    description: The customer domain.
    type: str
    required: true
  findings:
    description: The domain's findings from the run record.
    type: list
    elements: dict
    default: []
  removed:
    description: The domain's C(removed) list from the run record (recreate and reinstall commands, policies as read).
    type: list
    elements: dict
    default: []
"""

EXAMPLES = r"""
- name: What a person must do to put back the Exchange and Google changes of this domain
  mxhero.unroute.restore_steps:
    domain: example.com
    findings: "{{ entry.findings }}"
    removed: "{{ entry.removed }}"
"""

RETURN = r"""
findings:
  description: One C(manual) finding (with C(manual_steps)) or C(reported) finding (not restorable, with C(why)) per change.
  returned: always
  type: list
  elements: dict
"""

from ansible_collections.mxhero.unroute.plugins.module_utils import _runner
from ansible_collections.mxhero.unroute.plugins.module_utils._errors import UnrouteError
from ansible_collections.mxhero.unroute.plugins.module_utils._fingerprint import (
    fingerprint_argument_spec, fingerprint_from_params)
from ansible_collections.mxhero.unroute.plugins.module_utils._restore_steps import steps

ARGSPEC = _runner.ArgSpec(dict(
    fingerprint_argument_spec(),
    domain=dict(type="str", required=True),
    findings=dict(type="list", elements="dict", default=[]),
    removed=dict(type="list", elements="dict", default=[]),
))


def execute(params, ctx):
    try:
        fp = fingerprint_from_params(params)
    except ValueError as err:
        raise UnrouteError(params["domain"], None, str(err), "fix the fingerprint options")
    return dict(changed=False, findings=steps(params["findings"], params["removed"], fp, params["domain"]))


def main():
    _runner.main(ARGSPEC, execute, name="mxhero.unroute.restore_steps")


if __name__ == "__main__":
    main()
