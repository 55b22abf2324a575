#!/usr/bin/python
# Copyright (c) mxhero-unroute developers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
module: plan_check
short_description: Hold a domain's real run to the plan a reviewed audit approved
version_added: 0.2.0
description:
  - Compares a domain's fresh plan (the results of its modules run in check mode just before the real run) with
    the plan the reviewed audit recorded for it, by plan digest - the intended changes and the whole state they
    were computed from (each touched RRset or object as read).
  - Fails with one line naming what differs when they are not the same, so that nothing is changed on a domain
    whose state drifted since the audit (a value added to a touched RRset, a renamed rule, another mxHero record).
  - The approved digest is computed again from the audit record's own findings (what its report showed) and the
    state each module recorded, never taken from the record's digest fields; a record whose findings and digests
    do not agree is refused like drift. Records from before 0.3.0, which kept no state, are held to their
    findings and stored digest.
  - The role M(mxhero.unroute.unroute) runs it when C(playbooks/unroute.yml) is given C(-e unroute_plan=<audit>.json).
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
  domain:
    description: The customer domain.
    type: str
    required: true
  results:
    description: The domain's module results from the check-mode pass, keyed by registered variable name.
    type: dict
    required: true
  approved:
    description: The domain's entry in the audit's run record (C(plan_digest), C(findings), C(modules)).
    type: dict
    required: true
"""

EXAMPLES = r"""
- name: Proceed only if the fresh plan is the audit's
  mxhero.unroute.plan_check:
    domain: example.com
    results: "{{ dict(steps | zip(query('ansible.builtin.vars', *steps))) }}"
    approved: "{{ audit.domains | selectattr('domain', '==', 'example.com') | first }}"
  vars:
    steps: "{{ query('ansible.builtin.varnames', '^unroute_result_') }}"
"""

RETURN = r"""
fresh_digest:
  description: The digest of the fresh plan.
  returned: always
  type: str
approved_digest:
  description:
    - The digest the audit approved, computed again from the audit record's own findings and recorded state
      (not read from its C(plan_digest) field). None when the record does not add up.
  returned: always
  type: str
drifted:
  description: Whether the fresh plan differs from the approved one (the task then fails).
  returned: always
  type: bool
differences:
  description: What differs, one line each (new, gone or changed changes, or a module whose state read changed).
  returned: always
  type: list
  elements: str
"""

from ansible_collections.mxhero.unroute.plugins.module_utils import _runner
from ansible_collections.mxhero.unroute.plugins.module_utils._plan import EMPTY, changes, differences, recorded_digest
from ansible_collections.mxhero.unroute.plugins.module_utils._report import domain_record

ARGSPEC = _runner.ArgSpec(dict(
    domain=dict(type="str", required=True),
    results=dict(type="dict", required=True),
    approved=dict(type="dict", required=True),
))


def execute(params, ctx):
    domain, approved = params["domain"], params["approved"]
    now = domain_record({"domain": domain, "results": params["results"]})
    if now["errors"]:
        return dict(failed=True, msg="%s: the check before the real run failed: %s" % (domain, now["errors"][0]["msg"]),
                    fresh_digest=None, approved_digest=approved.get("plan_digest"), drifted=False, differences=[])
    # What was approved is what the report showed: the digest is computed again from the audit record's own
    # findings and recorded state, never taken from its digest field.
    digest, problems = recorded_digest(approved)
    if approved.get("errors"):
        problems = ["the audit of this domain ended in error, so it approved nothing"]
    if problems:
        return dict(failed=True, drifted=True, fresh_digest=now["plan_digest"], approved_digest=None,
                    differences=problems,
                    msg="%s: the audit record does not add up: %s; nothing was changed on this domain: run a new "
                        "audit, review it and apply that" % (domain, "; ".join(problems[:3])))
    if digest is None:
        # A record from before plan states were kept: its stored digest, and its findings must be the plan.
        digest = approved.get("plan_digest")
    words = differences(changes(approved.get("findings")), changes(now["findings"]))
    if now["plan_digest"] != digest and not words:
        then = [m.get("plan_digest") for m in approved.get("modules") or []]
        words = ["the state %s read around its changes differs (e.g. a value added to or taken from a touched "
                 "RRset or object)" % m["module"] for m in now["modules"]
                 if m.get("plan_digest") not in (None, EMPTY) and m["plan_digest"] not in then] or [
            "the plan differs from the audit's"]
    result = dict(changed=False, fresh_digest=now["plan_digest"], approved_digest=digest,
                  drifted=bool(words), differences=words)
    if words:
        result.update(failed=True, msg="%s: drifted since the audit: %s; nothing was changed on this domain: run a "
                      "new audit, review it and apply that" % (domain, "; ".join(words[:5])))
    return result


def main():
    _runner.main(ARGSPEC, execute, name="mxhero.unroute.plan_check")


if __name__ == "__main__":
    main()
