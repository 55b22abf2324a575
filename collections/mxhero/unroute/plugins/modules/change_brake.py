#!/usr/bin/python
# Copyright (c) mxhero-unroute developers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
module: change_brake
short_description: Stop a real run before its first change when it would change more domains than allowed
version_added: 0.3.0
description:
  - Counts the domains whose check-mode plan would change something (any finding with a planned action), and
    fails with one line naming that count, the limit and how to proceed when the count exceeds O(limit) and
    O(force) is not set.
  - C(playbooks/unroute.yml) runs it once on the controller after planning every target domain in check mode,
    before the play that changes anything; a reviewed plan (C(unroute_plan)) carries its own count and skips it.
  - Domains marked dry run only (C(unroute_dry_run_only)) are never changed, so they are not counted.
  - Changes nothing itself.
author:
  - mxhero-unroute developers (@mxhero-unroute)
extends_documentation_fragment:
  - mxhero.unroute.attributes
attributes:
  check_mode:
    support: full
  diff_mode:
    support: none
  idempotent:
    support: full
options:
  domains:
    description:
      - Each target domain's record from the check-mode pass, as the role hands it to the report
        (C(unroute_report_entry) - C(domain), C(results), C(errors), C(dry_run_only)).
    type: list
    elements: dict
    required: true
  total:
    description: How many domains the run holds (the percentage in O(limit) is of this).
    type: int
    required: true
  limit:
    description:
      - The most domains the run may change - a whole number (V(50)) or a percentage of O(total) (V(30%)).
    type: raw
    default: 50
  force:
    description: Go ahead even when the count exceeds O(limit) (C(-e unroute_force=true)); the result says so.
    type: bool
    default: false
"""

EXAMPLES = r"""
- name: Brake - stop before the first change when the plan changes too many domains
  mxhero.unroute.change_brake:
    domains: "{{ groups['all'] | map('extract', hostvars) | selectattr('unroute_brake_entry', 'defined')
                 | map(attribute='unroute_brake_entry') | list }}"
    total: 80
    limit: 30%
"""

RETURN = r"""
count:
  description: How many domains the plan would change.
  returned: always
  type: int
total:
  description: The run's domains (O(total)).
  returned: always
  type: int
allowed:
  description: The most domains the run may change (O(limit) applied to O(total), a percentage rounded down).
  returned: always
  type: int
exceeded:
  description: Whether RV(count) is above RV(allowed) (the task fails unless O(force)).
  returned: always
  type: bool
domains:
  description: The domains the plan would change, sorted.
  returned: always
  type: list
  elements: str
brake:
  description: One line saying the count, the limit and what was decided.
  returned: always
  type: str
"""

from ansible_collections.mxhero.unroute.plugins.module_utils import _runner
from ansible_collections.mxhero.unroute.plugins.module_utils._brake import check_brake
from ansible_collections.mxhero.unroute.plugins.module_utils._errors import UnrouteError
from ansible_collections.mxhero.unroute.plugins.module_utils._report import would_change

ARGSPEC = _runner.ArgSpec(dict(
    domains=dict(type="list", elements="dict", required=True),
    total=dict(type="int", required=True),
    limit=dict(type="raw", default=50),
    force=dict(type="bool", default=False),
))


def execute(params, ctx):
    planned = [str(entry.get("domain")) for entry in params["domains"] if would_change(entry)]
    try:
        decision = check_brake(planned, params["total"], params["limit"], params["force"])
    except ValueError as err:
        raise UnrouteError(None, "option unroute_max_changed_domains %r" % (params["limit"],), str(err),
                           "give a whole number of domains (such as 50) or a percentage of the run's domains "
                           "(such as 30%)")
    result = dict(changed=False, count=decision["count"], total=decision["total"], allowed=decision["allowed"],
                  exceeded=decision["exceeded"], domains=decision["domains"], brake=decision["msg"])
    if decision["stop"]:
        result.update(failed=True, msg=decision["msg"])
    elif decision["exceeded"]:
        ctx.warn(decision["msg"])
    return result


def main():
    _runner.main(ARGSPEC, execute, name="mxhero.unroute.change_brake")


if __name__ == "__main__":
    main()
