#!/usr/bin/python
# Copyright (c) mxhero-unroute developers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
module: run_report
short_description: Write the run record (JSON) and the report (HTML) of an audit or unroute run
version_added: 0.1.0
description:
  - Folds the module results the role collected per domain into one run record - every domain, every finding
    with its evidence, what was done, planned or left as a manual action, what was removed (enough to put it
    back), warnings and errors - and writes it as JSON plus a self-contained HTML page.
  - Runs on the controller. It writes its files even in check mode, because the audit is a check-mode run and
    its report is the point; nothing on any customer estate is touched.
  - Module arguments echoed by Ansible (where secrets were masked) are dropped from the record.
  - With O(record) instead of O(domains), writes the files of an existing run record again, for example one taken
    from the artifacts of an AWX job (which runs in a throw-away container).
author:
  - mxhero-unroute developers (@mxhero-unroute)
attributes:
  check_mode:
    support: full
    details:
      - Writes the report in check mode too; it changes nothing on the estate.
  diff_mode:
    support: none
  idempotent:
    support: none
    details:
      - Every run writes a new pair of files named after its start time.
extends_documentation_fragment:
  - mxhero.unroute.attributes
options:
  domains:
    description:
      - One entry per domain, with keys C(domain), C(platform), C(results) (the registered results of the role's
        module tasks) and C(errors) (task name and message of a failure).
      - Exactly one of O(domains) and O(record) is required.
    type: list
    elements: dict
  record:
    description:
      - A run record as this module wrote it (format C(mxhero-unroute-run/1)), to write its files again.
    type: dict
  mode:
    description:
      - What kind of run this was; used in file names.
      - Required with O(domains); with O(record) the record's own mode is used when omitted.
    type: str
    choices: [audit, unroute, restore]
  dest:
    description: Folder to write the files to; created when missing.
    type: path
    required: true
  started:
    description: When the run started (ISO 8601); defaults to now.
    type: str
  check_mode_run:
    description: Whether the run was in check mode (the audit).
    type: bool
    default: false
"""

EXAMPLES = r"""
- name: Write the report of this run
  mxhero.unroute.run_report:
    domains: "{{ groups['all'] | map('extract', hostvars) | map(attribute='unroute_report_entry') | list }}"
    mode: audit
    check_mode_run: true
    dest: reports/
  check_mode: false
"""

RETURN = r"""
json_path:
  description: Path of the run record.
  returned: always
  type: str
html_path:
  description: Path of the HTML report.
  returned: always
  type: str
summary:
  description: Counts per status (error, manual, would_change, changed, reported, clean) and totals.
  returned: always
  type: dict
failed_domains:
  description: Domains whose run ended with an error.
  returned: always
  type: list
  elements: str
record:
  description: The run record as written to RV(json_path) (C(format), C(run), C(summary), C(domains)).
  returned: always
  type: dict
"""

import datetime
import os

from ansible_collections.mxhero.unroute.plugins.module_utils._errors import UnrouteError
from ansible_collections.mxhero.unroute.plugins.module_utils import _runner
from ansible_collections.mxhero.unroute.plugins.module_utils._report import FORMAT, build_record, to_html, to_json


ARGSPEC = _runner.ArgSpec(dict(
    domains=dict(type="list", elements="dict"),
    record=dict(type="dict"),
    mode=dict(type="str", choices=["audit", "unroute", "restore"]),
    dest=dict(type="path", required=True),
    started=dict(type="str"),
    check_mode_run=dict(type="bool", default=False),
), required_one_of=[("domains", "record")], mutually_exclusive=[("domains", "record")],
    required_by={"domains": ("mode",)})


def execute(params, ctx):
    now = datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")
    if params["record"] is not None:
        record = params["record"]
        if record.get("format") != FORMAT or not isinstance(record.get("domains"), list):
            raise UnrouteError(None, "record", "this is not a run record of mxhero.unroute (format %s expected, got %r)"
                               % (FORMAT, record.get("format")), "give the JSON run record or the job's "
                               "unroute_run artifact")
        mode = params["mode"] or record.get("run", {}).get("mode") or "audit"
        started = record.get("run", {}).get("started") or now
    else:
        mode = params["mode"]
        started = params["started"] or now
        record = build_record(params["domains"], mode, started, now, params["check_mode_run"])
    dest = params["dest"]
    base = os.path.join(dest, "%s-%s" % (mode, started.replace(":", "").replace("-", "")))
    try:
        os.makedirs(dest, exist_ok=True)
        with open(base + ".json", "w") as handle:
            handle.write(to_json(record))
        with open(base + ".html", "w") as handle:
            handle.write(to_html(record))
    except OSError as err:
        raise UnrouteError(None, "report", "cannot write to %s: %s" % (dest, err),
                           "choose a writable folder (UNROUTE_REPORT_DIR or unroute_report_dir)")
    return dict(changed=False, json_path=base + ".json", html_path=base + ".html", summary=record["summary"],
                failed_domains=[d["domain"] for d in record["domains"] if d["status"] == "error"], record=record)


def main():
    _runner.main(ARGSPEC, execute, name="mxhero.unroute.run_report")


if __name__ == "__main__":
    main()
