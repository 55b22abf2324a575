#!/usr/bin/python
# Copyright (c) mxhero-unroute developers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
module: estate
short_description: Run every target domain's steps from one task on the controller, concurrently
version_added: 0.3.0
description:
  - For each host of O(hosts), builds and runs exactly what M(mxhero.unroute.domain) runs for it, O(concurrency)
    domains at a time in threads of one controller process (clients and token caches are shared), and returns
    every domain's report entry for M(mxhero.unroute.run_report).
  - Domains whose steps run on their mail servers over SSH (platform C(mta), or C(other) with C(unroute_mta_hosts))
    are not run here; they are returned in C(per_host) for the role.
  - Prints plain progress lines (domains done of total, changed, errors, time left), never one line per task and
    domain; a domain's error is one line.
  - The engine C(playbooks/audit.yml), C(unroute.yml) and C(restore.yml) run by default (C(-e unroute_engine=per_host)
    runs the role on every host instead); C(unroute.yml)'s estate brake runs it in check mode to plan the run.
  - Every API call spends the budget of its account (provider and credential); the play's C(unroute_budgets) and
    the slice count (O(slices)) set those budgets while the task runs, as for a module run alone.
  - Runs only as an action on the controller.
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
  hosts:
    description: Inventory hosts (one per domain) whose variables describe the domains.
    type: list
    elements: str
    required: true
  plan:
    description: The reviewed plan's domains by name (see M(mxhero.unroute.run_record)); leave out without a plan.
    type: dict
  restore:
    description: The run record's domains by name, for a restore; leave out otherwise.
    type: dict
  concurrency:
    description: How many domains run at once.
    type: int
    default: 8
  slices:
    description:
      - How many AWX job slices share the estate (C(job_slice_count)); each slice takes its share of each
        account's request budget.
      - The playbooks pass C(unroute_job_slices) (or C(unroute_slice_count), its first name); left out, the play's
        C(unroute_job_slices) is used, else V(1).
    type: int
  progress_interval:
    description: Seconds between progress lines at most (a line is also printed every tenth of the estate).
    type: float
    default: 15
"""

EXAMPLES = r"""
- name: All target domains
  mxhero.unroute.estate:
    hosts: "{{ query('ansible.builtin.inventory_hostnames', 'all:!unroute_mail_servers') }}"
    concurrency: "{{ unroute_concurrency | default(omit) }}"
  register: unroute_estate
"""

RETURN = r"""
entries:
  description: Every domain's report entry (see M(mxhero.unroute.domain)), by domain name.
  returned: always
  type: list
  elements: dict
per_host:
  description: Hosts left to the role because their steps run on mail servers over SSH.
  returned: always
  type: list
  elements: str
summary:
  description: Counts of domains, changed, errors and per_host, and the slice count.
  returned: always
  type: dict
"""

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.mxhero.unroute.plugins.module_utils import _runner

# One spec object, as every module of the collection has (tests/unit/test_platform_contract.py reads it).
ARGSPEC = _runner.ArgSpec(dict(hosts=dict(type="list", elements="str", required=True),
                               plan=dict(type="dict"), restore=dict(type="dict"),
                               concurrency=dict(type="int", default=8),
                               progress_interval=dict(type="float", default=15),
                               slices=dict(type="int")))


def main():
    module = AnsibleModule(argument_spec=ARGSPEC.options, supports_check_mode=True)
    module.fail_json(msg="mxhero.unroute.estate runs as an action on the controller; run it from a play on "
                         "localhost")


if __name__ == "__main__":
    main()
