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
  - Stops at the domain's first error as a task of its own would - C(failed), with that error's one line as
    C(msg) - and still returns C(entry), which carries the error and whatever ran before it; the role runs the
    task with C(ignore_errors) so that the run goes on with the other domains and the report shows the domain in
    error.
  - In diff mode returns each step's C(diff), headed by the step, for the callback to show (C(--diff)).
  - A domain whose platform steps run on its mail servers over SSH (platform C(mta), or C(other) with
    C(unroute_mta_hosts)) is skipped, never cleaned in DNS alone; the role runs that domain's steps as tasks,
    and the preflight (C(unroute_preflight)) too.
  - The role (the per-host engine, C(-e unroute_engine=per_host)) runs this action once per domain; the estate
    engine (M(mxhero.unroute.estate), the playbooks' default) runs the same steps for every domain from one task.
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
      - The reviewed plan's entry for this domain (C(None) when it is not in the plan, and the domain is left
        alone).
      - Leave out when no reviewed plan is applied.
    type: raw
  restoring:
    description:
      - The run record's entry for this domain (C(None) when it is not in the record, and the domain is left
        alone).
      - Leave out unless this is a restore.
    type: raw
"""

EXAMPLES = r"""
- name: Platform and DNS
  mxhero.unroute.domain:
  register: unroute_domain_run
  # The domain's error is in its entry: go on with the other domains, report it at the end.
  ignore_errors: true

- name: Hand this domain's record to the report
  ansible.builtin.set_fact:
    unroute_report_entry: "{{ unroute_domain_run.entry }}"
"""

RETURN = r"""
msg:
  description: The domain's first error, in one line.
  returned: when the domain ended in error
  type: str
entry:
  description: The domain's report entry.
  returned: unless the domain was skipped (its steps run on its mail servers)
  type: dict
  contains:
    domain:
      description: The domain.
      type: str
    platform:
      description: Its platform.
      type: str
    dns_provider:
      description: Where its zone is hosted.
      type: str
    results:
      description: Each step's module result by C(unroute_result_<step>).
      type: dict
    errors:
      description: The first error (task, msg, drifted), or empty.
      type: list
      elements: dict
    dry_run_only:
      description: Whether the domain is always audited, never changed (C(unroute_dry_run_only)).
      type: bool
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
