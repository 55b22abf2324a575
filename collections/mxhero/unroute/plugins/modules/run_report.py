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
    from the artifacts of an AWX job (which runs in a throw-away container). The record's MAC must verify; it is
    kept as it is, never made again.
  - The record carries C(mac), an HMAC-SHA256 over its canonical JSON (sorted keys, no whitespace, C(mac) left
    out) under a key kept apart from the reports (O(record_key)); M(mxhero.unroute.run_record) checks it before a
    reviewed plan or a restore uses the record.
  - "Files are named C(<mode>-<YYYYMMDDTHHMMSSZ>-<run id>.json) and C(.html): each is written (mode 0600) under
    a temporary name and then linked to its own name, which never replaces an existing file or follows a
    symbolic link, so concurrent runs each keep their record. O(dest) is created with mode 0700."
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
      - Every run writes a new pair of files named after its start time and a run id of its own.
extends_documentation_fragment:
  - mxhero.unroute.attributes
options:
  domains:
    description:
      - One entry per domain, with keys C(domain), C(platform), C(results) (the registered results of the role's
        module tasks) and C(errors) (task name and message of a failure).
      - Since 0.3.0 also C(dns_provider) (the role's C(unroute_dns_provider)), which the report filters by.
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
    choices: [audit, unroute, restore, preflight]
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
  record_key:
    description:
      - The key the record's MAC is made (or, with O(record), checked) with, for example from ansible-vault or an
        AWX credential (C(unroute_record_key)).
      - When omitted, the key file C(mxhero-unroute/record.key) under C($XDG_CONFIG_HOME) (default C(~/.config))
        of the user running Ansible on the controller; it is created (mode 0600, folder 0700) on first use.
    type: str
    version_added: 0.3.0
  trust_unsigned:
    description:
      - With O(record), accept a record that carries no MAC (written before 0.3.0). Its files are written again
        as they are, still without a MAC.
    type: bool
    default: false
    version_added: 0.3.0
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
drifted_domains:
  description: Domains left alone because they drifted since the reviewed audit (status C(drifted)).
  returned: always
  type: list
  elements: str
  version_added: 0.3.0
run_id:
  description: The run's id (C(run.id) of the record, also in the file names).
  returned: always
  type: str
  version_added: 0.3.0
record:
  description: The run record as written to RV(json_path) (C(format), C(run), C(summary), C(domains), C(mac)).
  returned: always
  type: dict
"""

import datetime

from ansible_collections.mxhero.unroute.plugins.module_utils._errors import UnrouteError
from ansible_collections.mxhero.unroute.plugins.module_utils import _record, _runner
from ansible_collections.mxhero.unroute.plugins.module_utils._report import build_record, to_html, to_json


ARGSPEC = _runner.ArgSpec(dict(
    domains=dict(type="list", elements="dict"),
    record=dict(type="dict"),
    mode=dict(type="str", choices=list(_record.MODES)),
    dest=dict(type="path", required=True),
    started=dict(type="str"),
    check_mode_run=dict(type="bool", default=False),
    record_key=dict(type="str", no_log=True),
    trust_unsigned=dict(type="bool", default=False),
), required_one_of=[("domains", "record")], mutually_exclusive=[("domains", "record")],
    required_by={"domains": ("mode",)})


def execute(params, ctx):
    now = datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")
    run_id = _record.new_run_id()
    if params["record"] is not None:
        record = _record.check_shape(params["record"], "the given run record", use="report")
        if params["mode"] and params["mode"] != record["run"]["mode"]:
            raise UnrouteError(None, "the given run record", "it is the record of a run of mode %s, not %s"
                               % (record["run"]["mode"], params["mode"]), "leave mode out to use the record's own")
        # Never re-signed: a record rewritten from artifacts keeps the MAC its run gave it, so one that does not
        # verify is refused here rather than laundered into a fresh signature.
        key = None if record.get("mac") is None else _record.load_key(params["record_key"], create=False)
        _record.verify(record, key, "the given run record", params["trust_unsigned"])
        mode = record["run"]["mode"]
        # The file name is built from this run's clock and id, never from the record's fields.
        when = _record.stamp(now)
    else:
        mode = params["mode"]
        started = params["started"] or now
        record = build_record(params["domains"], mode, started, now, params["check_mode_run"], extra={"id": run_id})
        record = _record.sign(record, _record.load_key(params["record_key"]))
        when = _record.stamp(started)
    dest = params["dest"]
    try:
        paths = _record.write_run_files(dest, mode, when, run_id, [(".json", to_json(record)),
                                                                   (".html", to_html(record))])
    except OSError as err:
        raise UnrouteError(None, "report", "cannot write to %s: %s" % (dest, err.strerror or err),
                           "choose a writable folder (UNROUTE_REPORT_DIR or unroute_report_dir); a file already "
                           "there under the new name is never overwritten")
    return dict(changed=False, json_path=paths[".json"], html_path=paths[".html"], summary=record["summary"],
                failed_domains=[d["domain"] for d in record["domains"] if d["status"] == "error"],
                drifted_domains=[d["domain"] for d in record["domains"] if d["status"] == "drifted"],
                run_id=record["run"].get("id"), record=record)


def main():
    _runner.main(ARGSPEC, execute, name="mxhero.unroute.run_report")


if __name__ == "__main__":
    main()
