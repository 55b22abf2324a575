#!/usr/bin/python
# Copyright (c) mxhero-unroute developers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
module: exo_restore
short_description: Put back what a run disabled in Exchange Online
version_added: 0.2.0
description:
  - Takes one tenant's findings from a run record and, in the reverse order of the run, adds the removed entries
    back to the connection filter's IP allow list, enables the connectors, then enables the mail flow rules the run
    disabled (Exchange refuses to enable a rule whose connector is disabled).
  - The findings are checked whole before anything is read or written (docs/report.md, "What a restore accepts") -
    a rule or connector is enabled only when its finding says the run disabled it, its C(before) shows it enabled
    and its C(after) disabled, and it is still mxHero's by the fingerprint as it reads now; an allow-list entry
    goes back only when it is an mxHero address the finding shows the run removing. Anything else refuses the whole
    task in one line, nothing written. Check mode computes the same plan.
  - An object is changed only while it reads as the run left it; one already enabled is left alone, so a second
    restore changes nothing. Each change is read back like a forward change.
  - In tenants created after 2023 Exchange Online may hold an inbound connector disabled until the customer asks
    Microsoft to allow it (the cmdlet warns "Contact Support to enable it"). Such a connector comes back as a
    C(manual) finding saying so and what to ask for; every restored or re-created inbound connector carries that
    note.
  - Rules and connectors the run removed (C(state=absent)) are not recreated; M(mxhero.unroute.restore_steps)
    returns them as manual steps that point at the properties kept in the run record.
  - C(playbooks/restore.yml) runs it for every Microsoft 365 domain of a run record.
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
    details:
      - Returns the same findings as a real run; actions read C(would_enable) and C(would_add).
  diff_mode:
    support: full
  idempotent:
    support: full
options:
  findings:
    description: The domain's findings from the run record (those of the exo_* modules with action disabled or removed count).
    type: list
    elements: dict
    default: []
"""

EXAMPLES = r"""
- name: Put back what the run disabled in this tenant
  mxhero.unroute.exo_restore:
    tenant_id: "{{ m365_tenant_id }}"
    client_id: "{{ m365_client_id }}"
    certificate_path: /etc/unroute/exo-app.pem
    findings: "{{ (record.domains | selectattr('domain', '==', 'example.com') | first).findings }}"
"""

RETURN = r"""
changed:
  description: Whether something was (or, in check mode, would be) enabled or added back.
  returned: always
  type: bool
findings:
  description: One per object put back (C(enabled)/C(would_enable), C(added)/C(would_add)) or left to a person (C(manual)).
  returned: always
  type: list
  elements: dict
diff:
  description: The objects before and after.
  returned: when diff mode is on
  type: dict
"""

from ansible_collections.mxhero.unroute.plugins.module_utils import _runner
from ansible_collections.mxhero.unroute.plugins.module_utils._exo import module as exo_module
from ansible_collections.mxhero.unroute.plugins.module_utils._exo.restore import restore

OPERATION = _runner.Operation(lambda engine, params, ctx: restore(engine, params["findings"], ctx.check_mode))


def execute(params, ctx):
    return exo_module.run(OPERATION, params, ctx)


ARGSPEC = exo_module.ARGSPEC.extend(dict(findings=dict(type="list", elements="dict", default=[])))


def main():
    _runner.main(ARGSPEC, execute, name="mxhero.unroute.exo_restore")


if __name__ == "__main__":
    main()
