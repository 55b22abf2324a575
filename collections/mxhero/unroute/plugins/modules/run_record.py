#!/usr/bin/python
# Copyright (c) mxhero-unroute developers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
module: run_record
short_description: Read a run record (or an AWX job's artifacts) and check that it is the one its run wrote
version_added: 0.3.0
description:
  - Reads the JSON run record that M(mxhero.unroute.run_report) wrote, or an AWX job's artifacts holding it under
    C(unroute_run), checks its MAC with the record key, and checks that it holds what the use at hand needs.
  - The playbooks read every record through it before using it - C(unroute.yml -e unroute_plan=...),
    C(restore.yml -e unroute_record=...) and C(report.yml -e unroute_artifacts=...) - so a record, plan or artifact
    changed after its run changes nothing anywhere, and the error says which file and why.
  - Every refusal is one line naming the file and what is wrong or missing.
  - Runs on the controller and changes nothing.
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
  path:
    description:
      - The run record or artifacts file. A relative path is taken from the current folder (where
        ansible-playbook was started), not from the playbook's folder. A symbolic link is refused.
    type: path
    required: true
  purpose:
    description:
      - What the record is read for. V(plan) needs the record of an audit (a reviewed plan), V(restore) the record
        of a real run, V(report) any run record (to write its report again).
    type: str
    choices: [plan, restore, report]
    required: true
  record_key:
    description:
      - The key the record was signed with (C(unroute_record_key), from ansible-vault or an AWX credential).
      - When omitted, the key file C(mxhero-unroute/record.key) under C($XDG_CONFIG_HOME) (default C(~/.config)).
    type: str
  trust_unsigned:
    description:
      - Accept a record without a MAC (written before 0.3.0). A record whose MAC does not verify is refused
        whatever this says.
    type: bool
    default: false
"""

EXAMPLES = r"""
- name: Read the reviewed audit
  mxhero.unroute.run_record:
    path: reports/audit-20260101T090000Z-3f2a9c1b7d4e.json
    purpose: plan
  register: audit
"""

RETURN = r"""
record:
  description: The run record (C(format), C(run), C(summary), C(domains), C(mac)).
  returned: success
  type: dict
domains:
  description: The record's domain entries by domain name.
  returned: success
  type: dict
mac:
  description: C(signed) when the MAC verified, C(unsigned) when there was none and O(trust_unsigned) allowed it.
  returned: success
  type: str
"""

from ansible_collections.mxhero.unroute.plugins.module_utils import _record, _runner

ARGSPEC = _runner.ArgSpec(dict(
    path=dict(type="path", required=True),
    purpose=dict(type="str", required=True, choices=["plan", "restore", "report"]),
    record_key=dict(type="str", no_log=True),
    trust_unsigned=dict(type="bool", default=False),
))
_MODE = {"plan": "audit", "restore": "unroute", "report": None}


def execute(params, ctx):
    path = params["path"]
    record = _record.unwrap(_record.read_file(path))
    _record.check_shape(record, path, mode=_MODE[params["purpose"]], use=params["purpose"])
    key = None
    if record.get("mac") is not None:
        key = _record.load_key(params["record_key"], create=False)
    state = _record.verify(record, key, path, params["trust_unsigned"])
    if state == "unsigned":
        ctx.warn("%s carries no MAC and was trusted because unroute_trust_unsigned is set" % path)
    return dict(changed=False, record=record, mac=state, domains=dict((d["domain"], d) for d in record["domains"]))


def main():
    _runner.main(ARGSPEC, execute, name="mxhero.unroute.run_record")


if __name__ == "__main__":
    main()
