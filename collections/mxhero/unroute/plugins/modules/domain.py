#!/usr/bin/python
# Copyright (c) mxhero-unroute developers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
module: domain
short_description: Run one domain's platform and DNS steps in one call and return its report entry
version_added: 0.3.0
description:
  - Builds the domain's steps from the host's C(unroute_*) variables (the role's variables, documented in the role's
    argument specification) - its platform's modules, then DNS - and runs them in order through the collection's
    runner on the controller, stopping at the first error (Google's app grants and send-as reports excepted, as in
    the role).
  - With O(planned), first re-plans the domain in check mode and changes it only if the plan is the audit's
    (M(mxhero.unroute.plan_check)). With O(restoring), puts back what a run changed instead (check pass first).
  - Each module's result keeps its name (C(unroute_result_<module>)) in the returned C(entry), the shape
    M(mxhero.unroute.run_report) takes.
  - Platform C(mta) steps run on the mail servers over SSH and are not part of this action (the role runs them).
  - Used by the estate engine (M(mxhero.unroute.estate), the playbooks' default); the role (the per-host engine,
    C(-e unroute_engine=per_host)) still runs its own tasks. The preflight is not in this action.
  - Runs only as an action on the controller; there is no module to run on a remote host.
author:
  - mxhero-unroute developers (@mxhero-unroute)
attributes:
  check_mode:
    support: full
  diff_mode:
    support: full
  idempotent:
    support: full
extends_documentation_fragment:
  - mxhero.unroute.attributes
options:
  planned:
    description:
      - The reviewed plan's entry for this domain (C(None) when it is not in the plan - the domain is left alone).
      - Leave out when no reviewed plan is applied.
    type: raw
  restoring:
    description:
      - The run record's entry for this domain (C(None) when it is not in the record - the domain is left alone).
      - Leave out unless this is a restore.
    type: raw
"""

EXAMPLES = r"""
- name: Platform and DNS
  mxhero.unroute.domain:
  register: unroute_domain_run

- name: Hand this domain's record to the report
  ansible.builtin.set_fact:
    unroute_report_entry: "{{ unroute_domain_run.entry }}"
"""

RETURN = r"""
entry:
  description: The domain's report entry.
  returned: always
  type: dict
  contains:
    domain:
      description: The domain.
      type: str
    platform:
      description: Its platform.
      type: str
    results:
      description: Each step's module result by C(unroute_result_<step>).
      type: dict
    errors:
      description: The first error (task, msg, drifted), or empty.
      type: list
      elements: dict
    skipped:
      description: Whether the domain was left alone (not in the reviewed plan or the run record).
      type: bool
"""

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.mxhero.unroute.plugins.module_utils import _runner

# One spec object, as every module of the collection has (tests/unit/test_platform_contract.py reads it).
ARGSPEC = _runner.ArgSpec(dict(planned=dict(type="raw"), restoring=dict(type="raw")))


def main():
    module = AnsibleModule(argument_spec=ARGSPEC.options, supports_check_mode=True)
    module.fail_json(msg="mxhero.unroute.domain runs as an action on the controller; run it from a play, "
                         "not as a module on a remote host")


if __name__ == "__main__":
    main()
